"""The babe-backend plugin end to end: real `babe` commands, the local MTurk, a fake backend over HTTP.

Data really flows page → backend → babe: simulated workers (`babe local.work --post-to`) POST their
trials to the fake backend on 127.0.0.1 before submitting, some of them lose that POST
(`--lose-rate`), and `approve` must hold back exactly those. The plugin is loaded the way a lab
gets it — through its `babe_tasks` entry point — and only it (`BABE_PLUGINS=babe-backend`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from babe_tasks.testing import serve_backend, write_deploy_config

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
KEYS = ["assignment_id", "worker_id", "hit_id", "response", "RT"]
HOLD = "no data in backend"


@pytest.fixture(autouse=True)
def backend_plugin(monkeypatch):
    """babe-backend from its entry point, as installed (the repository's plugins/ is its import root)."""
    monkeypatch.syspath_prepend(str(REPO / "plugins"))
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "babe-backend")
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture
def backend():
    server, _ = serve_backend(password=PASSWORD)
    server.backend.add_experiment(12, name="ratings", retrieval_keys=KEYS)
    yield server
    server.shutdown()


def configure(folder: Path, section: str = "{}", **extra: str) -> None:
    """invoke.yaml with the HIT texts and a `babe.plugins.babe-backend` section (YAML flow text)."""
    lines = [
        "babe:",
        "  url: https://example.org/experiment/",
        "  title: A short language study",
        "  description: Read sentences and rate them.",
        '  reward: "0.50"',
        *(f"  {key}: {value}" for key, value in extra.items()),
    ]
    if section is not None:
        lines += ["  plugins:", f"    babe-backend: {section}"]
    (folder / "invoke.yaml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def experiment(tmp_path, monkeypatch, backend):
    folder = tmp_path / "exp1"
    folder.mkdir()
    configure(folder)
    write_deploy_config(folder, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/")
    monkeypatch.chdir(folder)
    return folder


def submit_url(backend) -> str:
    return f"{backend.url}/api/submit_experiment/12"


def plugin_rows(run) -> list[dict]:
    return [check for check in run.json["checks"] if check["plugin"] == "babe-backend"]


# -- loading ----------------------------------------------------------------------------------------
def test_the_entry_point_loads_the_plugin_with_its_hooks(babe, experiment):
    run = babe("plugins", "--json")
    assert run.code == 0, run
    (info,) = [p for p in run.json["plugins"] if p["name"] == "babe-backend"]
    assert (info["source"], info["status"]) == ("entry point", "loaded")
    assert "(babe_backend)" in info["origin"]
    assert set(info["hooks"]) == {
        "babe_configure", "babe_preflight", "babe_before_create", "babe_before_approve", "babe_status",
        "babe_fetch_results", "babe_review_data",
    }


def test_it_does_nothing_until_configured(babe, experiment, backend):
    configure(experiment, section=None)
    assert babe("create", "--assignments", "4", "--json").code == 0
    assert babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.5", "--json").code == 0
    status = babe("status", "--json")
    assert status.code == 0 and "backend_rows" not in status.json
    approve = babe("approve", "--json")
    assert (approve.code, approve.json["approved"], approve.json["held"]) == (0, 4, [])
    doctor = babe("doctor", "--json")
    assert doctor.code == 0 and plugin_rows(doctor) == []
    results = babe("results")
    assert results.code == 2 and "no plugin fetches results" in results.err
    assert [r for r in backend.backend.requests if r[0] == "GET"] == []  # not one request from babe


def test_approve_without_data_alone_does_not_turn_it_on(babe, experiment, backend):
    configure(experiment, section="{approve_without_data: true}")
    assert babe("status", "--json").code == 0
    assert "backend_rows" not in babe("status", "--json").json
    assert backend.backend.requests == []


# -- approve: the data must be there ----------------------------------------------------------------
def test_approve_holds_back_exactly_the_assignments_whose_data_was_lost(babe, experiment, backend):
    assert babe("create", "--assignments", "12", "--json").code == 0
    work = babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.25", "--seed", "7", "--json").json
    assert (len(work["posted"]), len(work["lost"])) == (9, 3)
    in_backend = {t["assignment_id"] for _, trials in backend.backend.submissions("12") for t in trials}
    assert in_backend == set(work["posted"])

    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 9
    assert sorted(h["assignment_id"] for h in run.json["held"]) == sorted(work["lost"])
    assert {h["reason"] for h in run.json["held"]} == {HOLD}
    totals = babe("status", "--json").json["totals"]
    assert (totals["approved"], totals["submitted"]) == (9, 3)  # held ones stay Submitted for review

    text = babe("approve")
    assert text.code == 0
    for assignment_id in work["lost"]:
        assert f"Held {assignment_id}: {HOLD}" in text.out


def test_approve_without_data_setting_pays_the_held_ones(babe, experiment, backend):
    assert babe("create", "--assignments", "8", "--json").code == 0
    work = babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.5", "--seed", "3", "--json").json
    assert len(babe("approve", "--json").json["held"]) == 4
    configure(experiment, section="{approve_without_data: true}")
    run = babe("approve", "--json")
    assert (run.code, run.json["approved"], run.json["held"]) == (0, 4, [])
    assert len(work["lost"]) == 4
    assert babe("status", "--json").json["totals"]["approved"] == 8


def test_approve_without_data_flag_pays_the_held_ones_for_this_run_only(babe, experiment, backend):
    assert babe("create", "--assignments", "6", "--json").code == 0
    babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.5", "--seed", "3", "--json")
    dry = babe("approve", "--dry-run", "--json").json
    assert len(dry["held"]) == 3
    run = babe("approve", "--approve-without-data", "--json")
    assert (run.code, run.json["approved"], run.json["held"]) == (0, 6, [])


def test_approve_without_data_from_the_environment(babe, experiment, backend, monkeypatch):
    assert babe("create", "--assignments", "4", "--json").code == 0
    babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.5", "--json")
    monkeypatch.setenv("BABE_APPROVE_WITHOUT_DATA", "1")
    run = babe("approve", "--json")
    assert (run.code, run.json["approved"], run.json["held"]) == (0, 4, [])


def test_approve_uses_the_csv_route_when_a_password_is_set(babe, experiment, backend, monkeypatch):
    backend.backend.experiments["12"].retrieval_keys = []  # the JSON API would answer 403
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    assert babe("create", "--assignments", "4", "--json").code == 0
    work = babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.25", "--json").json
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert [h["assignment_id"] for h in run.json["held"]] == work["lost"]
    assert any(path == "/experiments/12/retrieve" and status == 200 for _, path, status in backend.backend.requests)


def test_data_without_assignment_ids_approves_nothing(babe, experiment, backend):
    backend.backend.experiments["12"].retrieval_keys = ["response", "RT"]
    assert babe("create", "--assignments", "3", "--json").code == 0
    babe("local.work", "--post-to", submit_url(backend), "--json")
    run = babe("approve", "--json")
    assert run.code == 2
    assert "no assignment_id column" in run.json["error"]["message"]
    assert run.json["error"]["plugin"] == "babe-backend"
    assert babe("status", "--json").json["totals"]["approved"] == 0


@pytest.mark.parametrize(
    "change, code, words",
    [
        (lambda b: setattr(b.experiments["12"], "retrieval_keys", []), 2, "has no dynamic retrieval keys (403)"),
        (lambda b: setattr(b, "status_override", 503), 4, "answered /api/retrieve_experiment/{id} with HTTP 503"),
        (lambda b: b.experiments.pop("12"), 2, "does not exist on"),
    ],
    ids=["no-retrieval-keys", "server-error", "unknown-experiment"],
)
def test_a_backend_that_cannot_say_approves_nothing(babe, experiment, backend, change, code, words):
    assert babe("create", "--assignments", "3", "--json").code == 0
    babe("local.work", "--post-to", submit_url(backend), "--json")
    change(backend.backend)
    run = babe("approve")
    assert run.code == code, run
    assert words in run.err and len(run.err.strip().splitlines()) == 1
    backend.backend.status_override = None
    assert babe("status", "--json").json["totals"]["approved"] == 0


def test_an_unreachable_backend_approves_nothing(babe, experiment, backend):
    assert babe("create", "--assignments", "3", "--json").code == 0
    babe("local.work", "--post-to", submit_url(backend), "--json")
    backend.shutdown()
    run = babe("approve", "--json")
    assert run.code == 4
    assert run.json["error"]["message"].startswith("cannot reach the backend http://127.0.0.1:")
    assert babe("status", "--json").json["totals"]["approved"] == 0


# -- status ------------------------------------------------------------------------------------------
def test_status_shows_the_backend_rows_of_each_hit(babe, experiment, backend, monkeypatch):
    created = babe("create", "--assignments", "12", "--json").json
    babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.25", "--seed", "11", "--json")
    per_hit = Counter(t["hit_id"] for _, trials in backend.backend.submissions("12") for t in trials)
    run = babe("status", "--json")
    assert run.code == 0, run
    assert run.json["backend_rows"] == {h["hit_id"]: per_hit[h["hit_id"]] for h in created["hits"]}
    assert sum(run.json["backend_rows"].values()) == backend.backend.rows("12") > 0
    assert run.json["backend_submissions"] == 9
    monkeypatch.setenv("COLUMNS", "200")  # wide: a table with a "backend rows" column
    wide = babe("status").out.splitlines()
    assert "backend rows" in wide[1]
    for hit in created["hits"]:
        row = next(line for line in wide if line.startswith(hit["hit_id"]))
        assert str(per_hit[hit["hit_id"]]) in row.split()
    monkeypatch.setenv("COLUMNS", "120")
    text = babe("status").out.splitlines()  # 120 columns: one block of lines per HIT
    for hit in created["hits"]:
        at = next(i for i, line in enumerate(text) if line.startswith(hit["hit_id"]))
        assert f"backend rows {per_hit[hit['hit_id']]}" in text[at + 1]


def test_status_survives_a_broken_backend_with_a_warning(babe, experiment, backend):
    assert babe("create", "--assignments", "2", "--json").code == 0
    backend.backend.status_override = 500
    run = babe("status", "--json")
    assert run.code == 0 and "backend_rows" not in run.json
    assert "warning: plugin babe-backend failed in babe_status" in run.err


# -- config_deploy.js as real _babe templates write it ----------------------------------------------
VARIANTS = {
    "template": None,  # write_deploy_config: double quotes and // comments
    "single-quotes-trailing-commas": (
        "config/config_deploy.js",
        (
            "/* deployment: see the _babe docs\n   for the methods */\n"
            "const config_deploy = {\n"
            "    experimentID: '12',            // the backend's id\n"
            "    serverAppURL: '{url}/api/submit_experiment/', // a // inside the string is not a comment\n"
            "    deployMethod: 'MTurk',\n"
            "    contact_email: 'lab@example.org',\n"
            "};\n"
        ),
    ),
    "numeric-id": (
        "config/config_deploy.js",
        (
            'var config_deploy = {"experimentID": 12, "serverAppURL": "{url}/api/submit_experiment/", '
            '"deployMethod": "MTurk", "prolificURL": "https://app.prolific.ac/submissions/complete?cc=X"};\n'
        ),
    ),
    "babeInit-deploy": (
        "js/main.js",
        (
            "// main.js of a _babe 0.1 experiment\n"
            '$("document").ready(function() {\n'
            "    window.babe_monitor = babeInit({\n"
            "        views_seq: [intro, main, thanks],\n"
            "        deploy: {\n"
            '            experimentID: "12",\n'
            '            serverAppURL: "{url}/api/submit_experiment/",\n'
            '            deployMethod: "MTurk",\n'
            '            contact_email: "lab@example.org",\n'
            '            prolificURL: "https://app.prolific.ac/submissions/complete?cc=SAMPLE1234"\n'
            "        },\n"
            '        progress_bar: { in: ["main"], style: "separate", width: 100 }\n'
            "    });\n"
            "});\n"
        ),
    ),
    "magpieInit-quoted-deploy": (
        "scripts/main.js",
        (
            "window.magpie_monitor = magpieInit({\n"
            "  views_seq: [intro, trials, thanks],\n"
            "  'deploy': {\n"
            "    'experimentID': '12',\n"
            "    'serverAppURL': '{url}/api/submit_experiment/',\n"
            "    'deployMethod': 'MTurk',\n"
            "  },\n"
            "});\n"
        ),
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_config_deploy_variants_are_read(babe, experiment, backend, variant):
    (experiment / "config" / "config_deploy.js").unlink()
    if VARIANTS[variant] is None:
        write_deploy_config(experiment, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/", deploy_method="MTurk")
    else:
        name, text = VARIANTS[variant]
        path = experiment / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{url}", backend.url))
    run = babe("doctor", "--json")
    assert plugin_rows(run) == [{"check": "babe-backend", "status": "ok", "detail": "no problems found", "plugin": "babe-backend"}]
    assert ("GET", "/api/check_experiment/12", 200) in backend.backend.requests  # id and URL were read
    sandbox = babe("doctor", "--target", "sandbox", "--json")
    (row,) = plugin_rows(sandbox)
    assert row["detail"].startswith("deployMethod is MTurk (") and "but target is sandbox" in row["detail"]


def test_settings_override_each_deploy_field(babe, experiment, backend):
    write_deploy_config(experiment, experiment_id=99, server_app_url="http://127.0.0.1:9/api/submit_experiment/", deploy_method="debug")
    configure(
        experiment,
        section=f"{{experiment_id: '12', server_app_url: '{backend.url}/api/submit_experiment/', deploy_method: MTurkSandbox}}",
    )
    run = babe("doctor", "--json")
    assert run.code == 0, run
    assert [row["status"] for row in plugin_rows(run)] == ["ok"]
    row = plugin_rows(babe("doctor", "--target", "live", "--json"))[0]
    assert row["detail"].startswith("deployMethod is MTurkSandbox (babe.plugins.babe-backend.deploy_method) but target is live")


# -- preflight before create ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["debug", "directLink", "Prolific", "localServer"])
def test_create_refuses_a_page_that_would_never_submit(babe, experiment, backend, method):
    write_deploy_config(experiment, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/", deploy_method=method)
    for args in (("--dry-run",), ()):
        run = babe("create", "--assignments", "3", *args)
        assert run.code == 3, run
        assert run.err.startswith("error: stopped by plugin babe-backend: not posting, 1 problem")
        assert f"deployMethod is {method} (config/config_deploy.js): on MTurk the page would never submit" in run.err
        assert len(run.err.strip().splitlines()) == 1
    assert babe("status", "--json").json["hits"] == []


@pytest.mark.parametrize(
    "target, method, fragment",
    [
        ("sandbox", "MTurk", "deployMethod is MTurk (config/config_deploy.js) but target is sandbox: the page would submit to MTurk's live"),
        ("live", "MTurkSandbox", "deployMethod is MTurkSandbox (config/config_deploy.js) but target is live: the page would submit to MTurk's sandbox"),
        ("live", "Prolific", "deployMethod is Prolific (config/config_deploy.js): on MTurk the page would never submit the assignment; set it to MTurk"),
        ("local", "Mturk", "deployMethod 'Mturk' (config/config_deploy.js) is not a _babe deployMethod: set it to MTurk or MTurkSandbox"),
    ],
)
def test_doctor_names_a_deploy_method_that_does_not_fit_the_target(babe, experiment, backend, target, method, fragment):
    write_deploy_config(experiment, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/", deploy_method=method)
    run = babe("doctor", "--target", target, "--json")
    assert run.code == 2, run
    (row,) = plugin_rows(run)
    assert row["status"] == "failed" and row["detail"].startswith(fragment)


@pytest.mark.parametrize(
    "setup, fragment",
    [
        (lambda exp, b: write_deploy_config(exp, experiment_id=12, server_app_url=f"{b.url}/api/"),
         "/api/ (config/config_deploy.js) does not end in /api/submit_experiment/"),
        (lambda exp, b: setattr(b.backend.experiments["12"], "active", False),
         "experiment 12 is inactive on http://127.0.0.1:"),
        (lambda exp, b: write_deploy_config(exp, experiment_id=77, server_app_url=f"{b.url}/api/submit_experiment/"),
         "experiment 77 does not exist on http://127.0.0.1:"),
        (lambda exp, b: b.shutdown(), "cannot reach the backend http://127.0.0.1:"),
        (lambda exp, b: (exp / "config" / "config_deploy.js").unlink(),
         "no config/config_deploy.js (nor a deploy: {...} passed to babeInit/magpieInit)"),
    ],
    ids=["submit-suffix", "inactive", "unknown", "unreachable", "no-config"],
)
def test_create_refuses_when_the_backend_would_lose_the_data(babe, experiment, backend, setup, fragment):
    setup(experiment, backend)
    run = babe("create", "--assignments", "3", "--json")
    assert run.code == 3, run
    assert run.json["error"]["plugin"] == "babe-backend"
    assert fragment in run.json["error"]["message"]
    assert babe("status", "--json").json["hits"] == []
    doctor = babe("doctor", "--json")
    assert doctor.code == 2
    assert any(fragment in row["detail"] for row in plugin_rows(doctor))


def test_inactive_message_says_how_to_activate(babe, experiment, backend):
    backend.backend.experiments["12"].active = False
    run = babe("create", "--assignments", "3")
    assert f"activate it in the backend ({backend.url}/experiments/12/toggle)" in run.err


# -- settings of the plugin -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "section, words",
    [
        ("{experiment_idd: '12'}", "unknown setting babe.plugins.babe-backend.experiment_idd: did you mean experiment_id?"),
        ("{deploy_method: mturk}", "babe.plugins.babe-backend.deploy_method 'mturk' is not a _babe deployMethod"),
        ("{timeout: 0}", "babe.plugins.babe-backend.timeout is 0: it must be more than 0 and at most 600 seconds"),
        ("{experiment_id: abc}", "experiment_id 'abc' is not a backend experiment id"),
        ("{approve_without_data: maybe}", "approve_without_data 'maybe' is not true or false"),
    ],
)
def test_bad_settings_stop_every_command_with_exit_2(babe, experiment, section, words):
    configure(experiment, section=section)
    run = babe("status")
    assert run.code == 2, run
    assert words in run.err and "babe-backend" in run.err


def test_a_password_in_invoke_yaml_is_refused_without_showing_it(babe, experiment):
    configure(experiment, section="{password: hunter2-in-the-repo}")
    run = babe("status", "--json")
    assert run.code == 2
    assert "secrets never go in invoke.yaml" in run.json["error"]["message"]
    assert "BABE_BACKEND_PASSWORD" in run.json["error"]["message"]
    assert "hunter2" not in run.out + run.err


# -- secrets -----------------------------------------------------------------------------------------
def test_the_backend_password_never_appears_anywhere(babe, experiment, backend, monkeypatch):
    """Not on stdout or stderr (even with BABE_DEBUG=1 tracebacks), not in the results, not in the ledger."""
    monkeypatch.setenv("BABE_DEBUG", "1")
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    runs = [
        babe("doctor", "--json"),
        babe("create", "--assignments", "6", "--json"),
        babe("local.work", "--post-to", submit_url(backend), "--lose-rate", "0.5", "--json"),
        babe("status", "--json"),
        babe("status"),
        babe("approve", "--json"),
        babe("results", "--json"),
        babe("results"),
        babe("plugins", "--json"),
    ]
    assert [run.code for run in runs] == [0] * len(runs), runs
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD + "-wrong")
    refused = babe("results", "--json")
    assert refused.code == 4 and "refused user 'admin' with the password in BABE_BACKEND_PASSWORD" in refused.err
    assert "Traceback" in refused.err  # BABE_DEBUG=1 really showed the traceback
    backend.backend.delay = 1.0
    configure(experiment, section="{timeout: 0.2}")
    timed_out = babe("results")
    assert timed_out.code == 4 and "did not answer" in timed_out.err
    runs += [refused, timed_out]
    for run in runs:
        assert PASSWORD not in run.out and PASSWORD not in run.err
    stored = list((experiment / "results").iterdir()) + list((experiment / ".babe").iterdir())
    assert any(p.suffix == ".csv" for p in stored) and any(p.name.startswith("ledger.sqlite") for p in stored)
    for path in stored:
        assert PASSWORD.encode() not in path.read_bytes(), path
