"""`babe doctor`: the checklist, its exit codes, and each built-in check against a real counterpart.

Credentials are checked with STS GetCallerIdentity (moto's STS, or a 127.0.0.1 server answering
as STS does when it refuses a key); the platform with GetAccountBalance against the local MTurk
(in-process and over HTTP). Sandbox and live cannot be reached here, as after MTurk's closure:
doctor must say so in one line naming 2026-09-30 and exit 4 — the endpoints are pointed at a
closed port on 127.0.0.1, so no test leaves the machine.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from babe_tasks.testing.experiment import write_plugin

from babe_tasks.ledgerdb_migrations import SCHEMA_VERSION


READY = (
    "babe:\n"
    "  url: https://example.org/experiment/\n"
    "  title: A short language study\n"
    "  description: Read sentences and rate them.\n"
    '  reward: "0.50"\n'
    "  assignments: 20\n"
)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """One attempt per AWS call: an unreachable endpoint fails at once instead of after backoff."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("COLUMNS", "160")


@pytest.fixture
def experiment(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "exp1"
    folder.mkdir()
    (folder / "invoke.yaml").write_text(READY)
    monkeypatch.chdir(folder)
    return folder


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checks(run) -> dict[str, tuple[str, str]]:
    return {c["check"]: (c["status"], c["detail"]) for c in run.json["checks"]}




# -- local -------------------------------------------------------------------------------------------
def test_a_ready_local_experiment_passes_every_check(babe, experiment, state_path):
    run = babe("doctor", "--json")
    assert run.code == 0, run
    assert (run.json["ok"], run.json["experiment"], run.json["target"]) == (True, "exp1", "local")
    assert "error" not in run.json
    assert checks(run) == {
        "settings": ("ok", "experiment exp1, target local, platform mturk"),
        "create settings": ("ok", "20 assignments in 3 HITs (7, 7, 6) at $0.50: $12.00 with MTurk's fees"),
        "plugins": ("ok", "1 loaded: mturk"),
        "credentials": ("skipped", "no AWS credentials needed for target local"),
        "platform": ("ok", f"mturk on local answered GetAccountBalance (local:{state_path})"),
        "balance": ("ok", "$10000.00 available, enough for create's $12.00"),
        "ledger": ("ok", f"none yet: the first create makes {experiment / '.babe' / 'ledger.sqlite'} (schema version {SCHEMA_VERSION})"),
    }
    text = babe("doctor")
    assert text.code == 0 and text.err == ""
    lines = text.out.splitlines()
    assert lines[0] == f"Doctor for experiment exp1 on local ({experiment})"
    assert lines[2] == "  ok    create settings  20 assignments in 3 HITs (7, 7, 6) at $0.50: $12.00 with MTurk's fees"
    assert lines[4] == "  skip  credentials      no AWS credentials needed for target local"
    assert lines[-1] == "All 7 checks passed."


def test_missing_create_settings_fail_with_exit_2(babe, experiment):
    (experiment / "invoke.yaml").write_text("babe:\n  title: A study\n")
    run = babe("doctor", "--json")
    assert run.code == 2
    status, detail = checks(run)["create settings"]
    assert status == "failed" and detail.startswith("url is not set: pass --url")
    assert run.json["error"] == {"exit_code": 2, "message": f"create settings: {detail}", "plugin": None}
    assert checks(run)["platform"][0] == "ok"  # the other checks still ran
    text = babe("doctor")
    assert text.err == f"error: create settings: {detail}\n"
    assert "  FAIL  create settings  url is not set" in text.out and text.out.endswith("1 of 7 checks failed.\n")


def test_a_balance_below_the_cost_fails(babe, experiment):
    run = babe("doctor", "--json")
    assert run.code == 0
    (experiment / "invoke.yaml").write_text(READY.replace('"0.50"', '"100.00"').replace("20\n", "200\n"))
    run = babe("doctor", "--json")
    assert run.code == 2
    assert checks(run)["balance"] == (
        "failed",
        "$10000.00 available, less than the $24000.00 create would cost: add funds, or post fewer assignments",
    )


def test_a_plugin_that_fails_to_import_fails_the_plugins_check(babe, experiment):
    write_plugin(experiment, "broken", "import no_such_module_anywhere\n")
    run = babe("doctor", "--json")
    assert run.code == 2
    status, detail = checks(run)["plugins"]
    assert status == "failed"
    assert "plugin broken" in detail and "ModuleNotFoundError: No module named 'no_such_module_anywhere'" in detail


def test_each_preflight_problem_is_a_check_and_a_crash_fails_only_its_plugin(babe, experiment):
    write_plugin(experiment, "checker", "def babe_preflight(settings):\n    return ['first problem: fix A', 'second problem: fix B']\n")
    write_plugin(experiment, "crasher", "def babe_preflight(settings):\n    raise RuntimeError('boom')\n")
    write_plugin(experiment, "content", "def babe_preflight(settings):\n    return []\n")
    write_plugin(experiment, "silent", "def babe_preflight(settings):\n    return None\n")
    run = babe("doctor", "--json")
    assert run.code == 2, run
    rows = [(c["check"], c["status"], c["detail"]) for c in run.json["checks"] if c["plugin"]]
    assert sorted(rows) == sorted([
        ("checker", "failed", "first problem: fix A"),
        ("checker", "failed", "second problem: fix B"),
        ("content", "ok", "no problems found"),
        ("crasher", "failed", "plugin crasher failed in babe_preflight: RuntimeError: boom"),
    ])
    assert "warning" not in run.err  # a crash is a failed check here, not a warning


def test_the_local_mturk_over_http(babe, experiment, state_path):
    from babe_mturk.local.server import serve_in_thread

    server, url = serve_in_thread(str(state_path))
    try:
        run = babe("doctor", "--endpoint-url", url, "--json")
    finally:
        server.shutdown()
    assert run.code == 0, run
    assert checks(run)["platform"] == ("ok", f"mturk on local answered GetAccountBalance ({url})")
    gone = babe("doctor", "--endpoint-url", url, "--json")
    assert gone.code == 4
    status, detail = checks(gone)["platform"]
    assert status == "failed" and detail.startswith(f"cannot reach the MTurk endpoint {url} (is `babe local.serve` running there?)")
    assert checks(gone)["balance"] == ("skipped", "unknown: the platform did not answer")


# -- sandbox and live ------------------------------------------------------------------------------------
@pytest.fixture
def moto_sts():
    """moto answers STS; MTurk requests pass through to the (closed) endpoint, as moto has no MTurk."""
    from moto import mock_aws

    with mock_aws(config={"core": {"passthrough": {"services": ["mturk"]}}}):
        yield


@pytest.mark.parametrize("target", ["sandbox", "live"])
def test_mturk_closed_credentials_accepted_is_exit_4_naming_the_closure(babe, experiment, moto_sts, monkeypatch, target):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setitem(__import__("babe_mturk.platform", fromlist=["ENDPOINTS"]).ENDPOINTS, target, endpoint)
    run = babe("doctor", "--target", target, "--json")
    assert run.code == 4, run
    found = checks(run)
    assert found["credentials"] == ("ok", "accepted by AWS STS: account 123456789012, arn:aws:sts::123456789012:user/moto")
    status, detail = found["platform"]
    assert status == "failed" and detail.startswith(f"cannot reach the MTurk endpoint {endpoint}:")
    assert "Amazon closed Mechanical Turk on 2026-09-30" in detail
    assert run.json["error"]["exit_code"] == 4 and run.json["error"]["message"] == f"platform: {detail}"
    text = babe("doctor", "--target", target)
    assert text.code == 4
    assert text.err == f"error: platform: {detail}\n"  # one line, naming the closure


def test_an_endpoint_url_on_sandbox_uses_the_same_credentials_check(babe, experiment, moto_sts):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    run = babe("doctor", "--target", "sandbox", "--endpoint-url", endpoint, "--json")
    assert run.code == 4
    assert checks(run)["credentials"][0] == "ok"
    assert "2026-09-30" in checks(run)["platform"][1]


def test_sandbox_without_credentials_is_exit_2_without_a_call(babe, experiment):
    run = babe("doctor", "--target", "sandbox", "--json")
    assert run.code == 2, run
    status, detail = checks(run)["credentials"]
    assert status == "failed" and detail.startswith("no AWS credentials for sandbox: set AWS_PROFILE or pass --profile")
    assert checks(run)["platform"][0] == "failed"


def test_a_missing_profile_is_named(babe, experiment):
    run = babe("doctor", "--target", "live", "--profile", "nosuchlab", "--json")
    assert run.code == 2
    assert checks(run)["credentials"] == ("failed", "AWS profile 'nosuchlab' is not configured (see ~/.aws/config)")


#: How STS answers every call made with a key it does not know.
REFUSED_BY_STS = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
    "</Message></Error><RequestId>4e1a</RequestId></ErrorResponse>"
)


def test_credentials_refused_by_sts_are_exit_4(babe, experiment, monkeypatch, httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data(REFUSED_BY_STS, status=403, content_type="text/xml")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-key")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_MTURK", f"http://127.0.0.1:{closed_port()}")
    run = babe("doctor", "--target", "sandbox", "--endpoint-url", f"http://127.0.0.1:{closed_port()}", "--json")
    assert run.code == 4
    assert checks(run)["credentials"] == (
        "failed",
        "AWS STS refused the credentials (InvalidClientTokenId: The security token included in the request is invalid.)",
    )
    assert "not-a-real-secret-key" not in run.out + run.err


def test_sts_unreachable_is_exit_4(babe, experiment, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-key")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{closed_port()}")
    run = babe("doctor", "--target", "sandbox", "--endpoint-url", f"http://127.0.0.1:{closed_port()}", "--json")
    assert run.code == 4
    status, detail = checks(run)["credentials"]
    assert status == "failed" and detail.startswith("cannot reach AWS STS to check the credentials: Could not connect")


# -- the plugins' own checks (babe_doctor) -------------------------------------------------------------
def test_a_plugins_own_checks_come_before_the_platform_check_and_a_crash_fails_only_its_plugin(babe, experiment):
    write_plugin(experiment, "vpn", (
        "from babe_tasks.steps.doctor import FAILED, OK, Check\n"
        "def babe_doctor(settings):\n"
        "    return [Check('vpn', OK, 'connected'), Check('lab token', FAILED, 'no token: set lab.token', exit_code=4)]\n"
    ))
    write_plugin(experiment, "wobbly", "def babe_doctor(settings):\n    raise RuntimeError('boom')\n")
    write_plugin(experiment, "sloppy", "def babe_doctor(settings):\n    return ['not a check']\n")
    run = babe("doctor", "--json")
    assert run.code == 4, run  # the failed check's own exit code
    names = [c["check"] for c in run.json["checks"]]
    assert names.index("plugins") < names.index("credentials") < names.index("platform")
    assert names.index("vpn") < names.index("platform") and names.index("lab token") < names.index("platform")
    found = checks(run)
    assert found["credentials"] == ("skipped", "no AWS credentials needed for target local")  # the MTurk plugin's
    assert found["vpn"] == ("ok", "connected")
    assert found["lab token"] == ("failed", "no token: set lab.token")
    assert found["wobbly"] == ("failed", "plugin wobbly failed in babe_doctor: RuntimeError: boom")
    assert found["sloppy"] == ("failed", "babe_doctor returned str, not a Check")
    assert run.json["error"]["message"].startswith("lab token: no token: set lab.token")
