"""`babe local.*` as a person runs them: subprocesses, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import sys

import pytest

from babe_mturk.local import client
from babe_tasks.simulation.statefile import read_token
from babe_mturk.local.service import LocalTurk
from babe_tasks.testing import BabeRun
from babe_tasks.testing.processes import run_command, start_command

QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://example.org/exp</ExternalURL>'
    "<FrameHeight>0</FrameHeight></ExternalQuestion>"
)


def babe(*args: str, timeout: float = 60, env: dict | None = None) -> BabeRun:
    """The installed `babe` console script, as a person runs it, in the working directory."""
    return run_command(["babe", *args], os.getcwd(), extra_env=env, timeout=timeout)


def assert_one_line_error(result: BabeRun, code: int, *fragments: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    for fragment in fragments:
        assert fragment in lines[0]


def create_hit(state, assignments: int = 3) -> str:
    turk = LocalTurk(str(state))
    try:
        return client(turk=turk).create_hit(
            Title="Task test",
            Description="A HIT for the local tasks",
            Reward="0.40",
            MaxAssignments=assignments,
            LifetimeInSeconds=3600,
            AssignmentDurationInSeconds=600,
            Question=QUESTION,
        )["HIT"]["HITId"]
    finally:
        turk.store.close()


class Served:
    """`babe local.serve` (or another serving task) as a subprocess on a port of its choosing."""

    def __init__(self, *args: str, task: str = "local.serve", env: dict | None = None):
        self.proc = start_command(["babe", task, "--port", "0", *args], os.getcwd(), env)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready, f"{task} printed nothing within 30 s"
        self.line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", self.line)
        assert match, self.line
        self.url = match.group(0)

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, self.line + out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def served(state_path):
    server = Served("--state", str(state_path))
    yield server
    server.kill()


# -- demo ----------------------------------------------------------------------------------------------
def test_demo_walks_a_hit_through_its_life():
    result = babe("local.demo")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    out = result.out
    for n, title in enumerate(
        ["The requester account", "Post the experiment", "Workers take part", "Watch it fill",
         "Review the submissions", "Pay the workers", "Close the HIT", "Clean up"], start=1):
        assert f"{n}. {title}" in out
    assert "GetAccountBalance → $10000.00" in out
    assert "3 workers accepted the HIT and submitted 3 assignments" in out
    assert "GetHIT → status Reviewable" in out
    assert out.count("Submitted") == 3
    assert "paid $1.80" in out and "balance $9998.20" in out
    assert "ListHITs now shows 0 HITs" in out


def test_demo_as_a_function_reports_what_happened(tmp_path):
    from io import StringIO

    from rich.console import Console

    from babe_mturk.local.demo import run

    outcome = run(Console(file=StringIO(), width=100), state=tmp_path / "demo.sqlite")
    assert outcome["submitted"] == outcome["approved"] == 3
    assert str(outcome["spent"]) == "1.80"
    assert outcome["status_after_work"] == "Reviewable"
    assert outcome["listed_after_delete"] == 0
    assert (tmp_path / "demo.sqlite").exists()


# -- clock -----------------------------------------------------------------------------------------------
def test_clock_shows_and_moves_the_shared_clock(state_path):
    shown = babe("local.clock", "--state", str(state_path), "--json")
    assert shown.code == 0, shown.err
    document = json.loads(shown.out)
    assert document["offset_seconds"] == 0 and document["now"].endswith("Z")

    moved = babe("local.clock", "--state", str(state_path), "--advance", "25h")
    assert moved.code == 0, moved.err
    assert "moved forward 1d 1h" in moved.out and "1d 1h ahead of this machine" in moved.out

    turk = LocalTurk(str(state_path))
    try:
        assert turk.store.clock_offset() == 90000
    finally:
        turk.store.close()
    # BABE_LOCAL_STATE (set by the hermetic environment to this state) is the default.
    again = json.loads(babe("local.clock", "--json").out)
    assert again["offset_seconds"] == 90000


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["local.clock", "--advance", "soon"], ["--advance", "soon"]),
        (["local.clock", "--advance", "-1h"], ["--advance"]),
        (["local.clock", "--advance", "3000000d"], ["--advance 3000000d", "10 years"]),
        (["local.clock", "--endpoint-url", "ftp://x", "--state", "s"], ["not both"]),
        (["local.clock", "--endpoint-url", "localhost:8044"], ["not an http"]),
        (["local.work", "--workers", "2", "--worker-ids", "A1B2C3"], ["not both"]),
        (["local.work", "--workers", "many"], ["--workers", "whole number"]),
        (["local.work", "--workers", "0"], ["--workers"]),
        (["local.work", "--return-rate", "1.5"], ["--return-rate", "between 0.0 and 1.0"]),
        (["local.work", "--worker-ids", "B123,A456"], ["B123"]),
        (["local.work", "--post-to", "backend.example"], ["--post-to"]),
        (["local.work", "--locale", "Narnia", "--all"], ["Narnia"]),
        (["local.work", "--hit", "3NOSUCHHIT000000000000000000000"], ["3NOSUCHHIT000000000000000000000"]),
        (["local.serve", "--faults", "throttle=lots"], ["throttle"]),
        (["local.serve", "--port", "99999"], ["--port"]),
        (["local.faults", "chaos=1", "--endpoint-url", "http://127.0.0.1:9"], ["chaos"]),
        (["local.reset"], ["--yes"]),
        (["local.backend", "--experiment", "twelve"], ["twelve", "experimentID"]),
        (["local.backend", "--password-env", "BABE_TEST_UNSET_PASSWORD"], ["BABE_TEST_UNSET_PASSWORD", "is not set"]),
        (["local.backend", "--port", "-1"], ["--port"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragments):
    assert_one_line_error(babe(*args), 2, *fragments)


def test_json_errors_are_a_document_on_stdout():
    result = babe("local.clock", "--advance", "soon", "--json")
    assert result.code == 2
    assert result.err.startswith("error: ")  # one line, like every other task's errors
    assert json.loads(result.out) == {"error": {"exit_code": 2, "message": result.err.strip().removeprefix("error: "), "plugin": None}}


def test_an_unreachable_server_is_exit_4():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for args in (["local.stats"], ["local.work", "--workers", "1", "--all"], ["local.clock"], ["local.faults", "throttle=0.1"]):
        result = babe(*args, "--endpoint-url", f"http://127.0.0.1:{port}")
        assert_one_line_error(result, 4, "cannot reach the local MTurk", str(port))


# -- work ------------------------------------------------------------------------------------------------
def test_work_on_the_state_file(state_path):
    hit_id = create_hit(state_path)
    result = babe("local.work", "--hit", hit_id, "--workers", "2", "--seed", "3", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert len(document["workers"]) == 2 and len(document["submitted"]) == 2
    listed = client(state=str(state_path)).list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert sorted(a["AssignmentId"] for a in listed) == sorted(document["submitted"])

    human = babe("local.work", "--hit", hit_id, "--worker-ids", "A1TASKTEST0001,A1TASKTEST0002", "--return-rate", "0.5")
    assert human.code == 0, human.err
    # One slot was left: the first worker took and returned it, the second found nothing.
    assert human.out.strip() == "2 simulated workers looked for work: 0 submitted, 1 returned, 0 abandoned."


# -- serve, and the tasks that talk to it ----------------------------------------------------------------
def test_serve_answers_until_ctrl_c(served, state_path):
    assert str(state_path) in served.line
    hit_id = create_hit(state_path, assignments=2)

    work = babe("local.work", "--endpoint-url", served.url, "--hit", hit_id, "--workers", "2", "--json")
    assert work.code == 0, work.err
    assert len(json.loads(work.out)["submitted"]) == 2

    clock = babe("local.clock", "--endpoint-url", served.url, "--advance", "2d", "--json")
    assert clock.code == 0, clock.err
    assert json.loads(clock.out)["offset_seconds"] == 172800

    faults = babe("local.faults", "throttle=0.5,seed=1", "--endpoint-url", served.url)
    assert faults.code == 0 and "throttle=0.5,seed=1" in faults.out

    stats = babe("local.stats", "--endpoint-url", served.url, "--json")
    assert stats.code == 0, stats.err
    document = json.loads(stats.out)
    assert document["fault_spec"] == "throttle=0.5,seed=1"
    # The HIT was made on the file; local.work checked it exists (GetHIT), then used /_local/work.
    assert document["requests"] == {"GetHIT": 1}

    table = babe("local.stats", "--endpoint-url", served.url, "--reset")
    assert table.code == 0 and "faults: throttle=0.5,seed=1" in table.out
    cleared = babe("local.faults", "off", "--endpoint-url", served.url, "--json")
    assert json.loads(cleared.out) == {"spec": None, "counts": None}

    code, out, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err and err.strip() == ""


def test_serve_prints_its_token_and_the_tasks_send_it(served, state_path):
    """The private routes ask for the state file's token: `local.serve` prints it, babe's own tasks
    read it from the state file they share with the server, a wrong one is a clear exit 2."""
    token = read_token(state_path)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # the line may sit in the pipe's buffer already: read it, but never hang
        second = pool.submit(served.proc.stdout.readline)
        try:
            line = second.result(timeout=10)
        except TimeoutError:
            served.kill()  # ends the read
            pytest.fail("local.serve printed no token line")
    assert f"token: {token} (header X-Babe-Local-Token" in line
    moved = babe("local.clock", "--endpoint-url", served.url, "--advance", "1h", "--json")
    assert moved.code == 0, moved.err
    wrong = babe("local.clock", "--endpoint-url", served.url, "--advance", "1h", env={"BABE_LOCAL_TOKEN": "guessed"})
    assert_one_line_error(wrong, 2, "a wrong X-Babe-Local-Token", "BABE_LOCAL_TOKEN")
    bricking = babe("local.clock", "--endpoint-url", served.url, "--advance", "3000000d")
    assert_one_line_error(bricking, 2, "10 years")
    assert json.loads(babe("local.clock", "--json").out)["offset_seconds"] == 3600
    code, _, err = served.stop()
    assert code == 0, err


def test_serve_refuses_a_port_in_use(state_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = babe("local.serve", "--port", str(port), "--state", str(state_path))
    assert_one_line_error(result, 2, str(port), "in use")


def test_serve_stops_cleanly_on_sigterm_too(state_path):
    server = Served("--state", str(state_path), "--faults", "latency_ms=1")
    try:
        assert "with faults latency_ms=1" in server.line
        server.proc.send_signal(signal.SIGTERM)
        _, err = server.proc.communicate(timeout=20)
        assert server.proc.returncode == 0 and "Traceback" not in err
    finally:
        server.kill()


# -- backend ---------------------------------------------------------------------------------------------
def test_backend_takes_trials_and_serves_them_until_stopped():
    """`babe local.backend`: the fake _babe backend in the foreground, for trying the lifecycle with data."""
    import httpx

    password = "backend-secret-81f3"
    env = {**os.environ, "LAB_BACKEND_PASSWORD": password}
    server = Served("--experiment", "12,13", "--password-env", "LAB_BACKEND_PASSWORD", task="local.backend", env=env)
    try:
        assert f"{server.url}/api/submit_experiment/12" in server.line and password not in server.line
        trials = [{"trial_number": 1, "response": "yes", "prolific_id": "P1"}, {"trial_number": 2, "response": "no", "prolific_id": "P1"}]
        assert httpx.post(f"{server.url}/api/submit_experiment/13", json=trials).status_code == 201
        assert httpx.get(f"{server.url}/api/check_experiment/12").status_code == 200
        assert httpx.get(f"{server.url}/api/check_experiment/14").status_code == 404
        assert httpx.get(f"{server.url}/experiments/13/retrieve").status_code == 401  # the password guards results
        csv = httpx.get(f"{server.url}/experiments/13/retrieve", auth=("admin", password))
        assert csv.status_code == 200 and csv.text.splitlines()[1:] == ["1,1,yes,P1", "1,2,no,P1"], csv.text
        server.proc.send_signal(signal.SIGTERM)
        out, err = server.proc.communicate(timeout=20)
        assert server.proc.returncode == 0 and "Traceback" not in err and password not in out + err
    finally:
        server.kill()


# -- reset -----------------------------------------------------------------------------------------------
def test_reset_deletes_the_state_only_with_yes(tmp_path):
    state = tmp_path / "doomed.sqlite"
    create_hit(state)
    refused = babe("local.reset", "--state", str(state))
    assert_one_line_error(refused, 2, str(state), "--yes")
    assert state.exists()
    done = babe("local.reset", "--state", str(state), "--yes")
    assert done.code == 0 and f"deleted {state}" in done.out
    assert not state.exists() and not (tmp_path / "doomed.sqlite-wal").exists()
    again = babe("local.reset", "--state", str(state), "--yes")
    assert again.code == 0 and "nothing to delete" in again.out
    as_json = babe("local.reset", "--state", str(state), "--yes", "--json")
    assert json.loads(as_json.out) == {"state": str(state), "deleted": False}


# -- staying light ---------------------------------------------------------------------------------------
def test_the_task_module_imports_nothing_heavy():
    code = (
        "import sys, babe_mturk.tasks, babe_tasks.program\n"
        "heavy = sorted(m for m in ('boto3', 'botocore', 'httpx', 'sqlite3', 'rich', 'babe_mturk.local.service') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    result = run_command([sys.executable, "-c", code], os.getcwd(), timeout=60)
    assert result.code == 0, result.err
    assert result.out.strip() == ""
    listed = babe("--list")
    assert listed.code == 0
    for name in ("local.serve", "local.work", "local.clock", "local.stats", "local.faults", "local.reset", "local.demo"):
        assert name in listed.out
