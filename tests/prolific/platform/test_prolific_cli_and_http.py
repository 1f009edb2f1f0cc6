"""`babe-prolific` and the Prolific platform over real HTTP (a `babe-prolific serve` server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from babe_prolific.cli import main as babe_prolific


@pytest.fixture
def server(state):
    from babe_prolific.local import serve_in_thread

    url, stop = serve_in_thread(state, port=0)
    yield url
    stop()


def test_the_whole_lifecycle_over_http(babe, experiment, server, local):
    run = babe("create", "--endpoint-url", server, "--json")
    assert run.code == 0, run
    study = run.json["hits"][0]["hit_id"]
    assert babe_prolific(["participants", "--endpoint-url", server, "--study", study, "--count", "3"]) == 0
    status = babe("status", "--endpoint-url", server, "--json")
    assert status.code == 0 and status.json["hits"][0]["submitted"] == 3
    approve = babe("approve", "--endpoint-url", server, "--json")
    assert approve.code == 0 and approve.json["approved"] == 3
    expire = babe("expire", "--endpoint-url", server, "--json")
    assert expire.code == 0 and expire.json["expired"] == [study]
    assert [s["status"] for s in local.studies()] == ["COMPLETED"]


def test_the_local_clock_is_the_platforms_clock(babe, experiment, server, capsys):
    assert babe_prolific(["clock", "--endpoint-url", server, "--advance", "2d", "--json"]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert moved["offset"] == pytest.approx(172800)
    run = babe("create", "--endpoint-url", server, "--json")
    assert run.code == 0, run
    assert run.json["hits"][0]["expires_at"] is None  # a study has no expiry time
    assert babe("expire", "--endpoint-url", server).code == 0
    stopped = babe("status", "--endpoint-url", server, "--json").json["hits"][0]["expires_at"]
    # It stopped on the moved clock: two days after the machine's now.
    ahead = datetime.fromisoformat(stopped) - datetime.now(UTC)
    assert timedelta(days=2) - timedelta(minutes=1) < ahead <= timedelta(days=2)


def test_participants_and_clock_on_the_experiments_state_file(babe, experiment, study_id, capsys, local):
    assert babe_prolific(["participants", "--study", study_id, "--count", "4", "--return-rate", "0.25", "--json"]) == 0
    visits = json.loads(capsys.readouterr().out)["participants"]
    assert sorted(v["outcome"] for v in visits) == ["return", "submit", "submit", "submit"]
    assert len(local.submissions()) == 4
    assert babe_prolific(["clock", "--advance", "22d"]) == 0
    assert "offset 1.9008e+06 s" in capsys.readouterr().out
    # 21 days on, Prolific approved the unreviewed submissions by itself
    assert babe("status", "--json").json["hits"][0]["approved"] == 3


def test_code_prints_the_prolific_url_for_config_deploy(experiment, capsys):
    """The code is the experiment's kept random one (tests/prolific/platform/test_prolific_codes.py)."""
    assert babe_prolific(["code", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    code = answer["completion_code"]
    assert answer == {
        "experiment": "exp1",
        "completion_code": code,
        "completion_url": f"https://app.prolific.com/submissions/complete?cc={code}",
        "origin": "random",
    }


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["participants", "--study", "nosuchstudy", "--count", "2"], "nosuchstudy"),
        (["participants", "--study", "x", "--count", "2", "--return-rate", "2"], "return_rate must be between 0 and 1"),
        (["clock", "--advance", "soon"], "--advance"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(experiment, capsys, argv, words):
    assert babe_prolific(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_serve_answers_until_stopped(state, monkeypatch):
    """`babe-prolific serve` in a thread: the API answers, then SIGTERM-less stop via KeyboardInterrupt."""
    import socket

    from babe_prolific.local import server as server_module

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = threading.Event()
    servers = []
    real = server_module.make_server

    def remember(*args, **kwargs):
        made = real(*args, **kwargs)
        servers.append(made)
        started.set()
        return made

    monkeypatch.setattr(server_module, "make_server", remember)
    codes = []
    thread = threading.Thread(
        target=lambda: codes.append(babe_prolific(["serve", "--port", str(port), "--state", str(state)])), daemon=True
    )
    thread.start()
    assert started.wait(10)
    answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/users/me/", headers={"Authorization": "Token t"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["currency_code"] == "USD"
    servers[0].shutdown()
    thread.join(10)
    assert codes == [0]


def test_a_port_in_use_is_one_line_exit_2(state, capsys):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert babe_prolific(["serve", "--port", str(port), "--state", str(state)]) == 2
    assert "pick another --port" in capsys.readouterr().err


def test_the_token_is_never_in_any_output_or_file_even_with_babe_debug(babe, experiment, server, local, tmp_path, monkeypatch):
    """Issue 6's secrets rule on the second platform: every task over HTTP with the token set and
    BABE_DEBUG=1; no stdout, stderr, ledger, bonus journal, report or state file holds the token."""
    secret = "prolific-secret-token-3f9a1c7e5b"
    monkeypatch.setenv("PROLIFIC_TOKEN", secret)
    monkeypatch.setenv("BABE_DEBUG", "1")
    where = ("--endpoint-url", server)
    created = babe("create", *where, "--json")
    assert created.code == 0, created
    study = created.json["hits"][0]["hit_id"]
    assert babe_prolific(["participants", "--endpoint-url", server, "--study", study, "--count", "3"]) == 0
    submission = next(iter(local.submissions().values()))
    runs = [
        created,
        babe("status", *where),
        babe("status", *where, "--json"),
        babe("cost", *where),
        babe("approve", *where, "--yes"),
        babe("bonus", *where, "--worker", submission["participant_id"], "--assignment", submission["id"],
             "--amount", "0.50", "--reason", "thanks", "--yes"),
        babe("extend", *where, "--assignments", "2", "--yes"),
        babe("expire", *where),
        babe("report"),  # reads the ledger only
        babe("status", *where, "--sync"),
        babe("doctor", *where),
    ]
    for run in runs:
        assert secret not in run.out + run.err, run
    assert [run.code for run in runs[:-1]] == [0] * (len(runs) - 1), [(run.code, run.err[-300:]) for run in runs]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "ledger.sqlite" for path in files), files
    assert any(path.suffix == ".html" for path in files), files
    for path in files:
        assert secret.encode() not in path.read_bytes(), path
