"""Part 5 of issue 6: secrets in the environment never reach an output or a file.

Fake AWS keys, a Slack webhook URL (a real receiver on 127.0.0.1, its secret in the path) and a
_babe backend password (a real fake backend on 127.0.0.1) are in the environment, BABE_DEBUG=1
too, and the lab plugins that use them (slack, babe-backend) are loaded by their entry points.
Every task runs — the whole lifecycle, the checks, an error path with a debug traceback — and then
every stdout and stderr, every file under the test's folder (the experiment: ledger, results,
reports; the local MTurk's state) is searched for each secret, as text and as bytes.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from babe_tasks.testing import BabeRun

from .helpers import client, ledger_rows

REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY = "AKIA" + secrets.token_hex(8).upper()
SECRET_KEY = "sk" + secrets.token_urlsafe(30)
SESSION_TOKEN = "st" + secrets.token_urlsafe(40)
WEBHOOK_SECRET = secrets.token_hex(16)
PASSWORD = "pw-" + secrets.token_hex(10)
# `babe` in-process captures file descriptors, not just sys.stdout/err: anything logged reaches the search.
pytestmark = pytest.mark.usefixtures("capfd")


@pytest.fixture
def receiver(httpserver):
    """A Slack-like webhook receiver on 127.0.0.1 (pytest-httpserver): its URL, and the messages it got."""
    from werkzeug import Response

    posts: list[str] = []
    path = f"/services/T0LAB/B0BABE/{WEBHOOK_SECRET}"

    def hook(request) -> Response:
        posts.append(request.get_data(as_text=True))
        return Response("ok")

    httpserver.expect_request(path, method="POST").respond_with_handler(hook)
    return httpserver.url_for(path), posts


@pytest.fixture
def backend():
    from babe_tasks.testing import serve_backend

    server, _ = serve_backend(password=PASSWORD)
    server.backend.add_experiment(12, name="ratings")
    yield server
    server.shutdown()


@pytest.fixture
def lab(tmp_path, monkeypatch, receiver, backend):
    """An experiment using both lab plugins, with every secret in the environment."""
    from babe_tasks.testing import write_deploy_config

    folder = tmp_path / "exp1"
    folder.mkdir()
    (folder / "invoke.yaml").write_text(
        "babe:\n"
        "  url: https://example.org/experiment/\n"
        "  title: A short language study\n"
        "  description: Read sentences and rate them.\n"
        '  reward: "0.50"\n'
        "  plugins:\n"
        "    slack: {timeout: 2}\n"
        "    babe-backend: {}\n"
    )
    write_deploy_config(folder, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/")
    monkeypatch.syspath_prepend(str(REPO / "plugins"))
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "slack,babe-backend")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver[0])
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_DEBUG", "1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.chdir(folder)
    return folder


def test_no_secret_in_any_output_or_file(babe, lab, tmp_path, state_path, receiver, backend, ledger_engine):
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    runs: list[BabeRun] = []

    def run(*args: str, codes=(0,)) -> BabeRun:
        result = babe(*args)
        runs.append(result)
        assert result.code in codes, (args, result)
        return result

    run("plugins")
    run("doctor", codes=(0, 2))
    created = run("create", "--assignments", "6", "--json")
    turk = LocalTurk(str(state_path))
    try:
        simulate(turk, seed=1, post_to=f"{backend.url}/api/submit_experiment/12")
    finally:
        turk.store.close()
    run("status")
    run("status", "--json")
    mturk = client(state_path)
    hit_id = created.json["hits"][0]["hit_id"]
    work = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    run("reject", "--assignment", work[0]["AssignmentId"], "--reason", "The answers were random.", "--yes")
    run("approve", "--json")
    run("bonus", "--worker", work[1]["WorkerId"], "--assignment", work[1]["AssignmentId"], "--amount", "0.25",
        "--reason", "Thank you")
    run("cost")
    run("extend", "--assignments", "1", "--lifetime", "1d")
    run("results")
    run("report")
    run("watch", "--until", "1s", "--interval", "1s", codes=(0, 1))
    run("expire")
    run("expire", "--delete")
    run("local.clock", "--advance", "1h")
    # An error with BABE_DEBUG=1 (a traceback may be printed): a platform that does not answer.
    run("create", "--assignments", "1", "--target", "sandbox", "--endpoint-url", "http://127.0.0.1:1", "--yes", codes=(4,))
    run("init", "--folder", str(tmp_path / "fresh"))
    assert receiver[1], "the slack plugin posted nothing: the test would not prove anything"

    needles = [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, WEBHOOK_SECRET, receiver[0], PASSWORD]
    for result in runs:
        for needle in needles:
            assert needle not in result.out and needle not in result.err, (needle[:6], result)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files)
    if ledger_engine == "sqlite":
        assert any(p.name == "ledger.sqlite" for p in files)
    else:  # the ledger is the test's PostgreSQL database: every row of every table is searched too
        listed = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        tables = [table for (table,) in ledger_rows(tmp_path / "exp1", listed)]
        assert "plans" in tables and "payments" in tables, tables
        for table in tables:
            text = repr([tuple(row) for row in ledger_rows(tmp_path / "exp1", f'SELECT * FROM "{table}"')])
            for needle in needles:
                assert needle not in text, (needle[:6], table)
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, (needle[:6], path)
