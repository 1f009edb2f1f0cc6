"""The Makefile of `babe init --makefile`, run by GNU make against the local MTurk with simulated
workers: pilot → launch → wait → pay → close → data, then all of it again — and the second run
posts nothing and pays nothing (the local MTurk's HITs, approvals and ListBonusPayments say so)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from babe_tasks.testing import BabeRun
from babe_tasks.testing.processes import run_command

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(
    MAKE is None, reason="GNU make is not installed here (.ci/run installs it): the Makefile cannot be run"
)
BABE = str(Path(sys.executable).with_name("babe"))


def make(folder: Path, *targets: str, **variables: str) -> BabeRun:
    args = [MAKE, "--no-print-directory", f"BABE={BABE}", *(f"{k}={v}" for k, v in variables.items()), *targets]
    return run_command(args, folder, extra_env={"COLUMNS": "120"}, timeout=300)


def babe(folder: Path, *args: str, experiment: str | None = None) -> BabeRun:
    return run_command([BABE, *args], folder, extra_env={"BABE_EXPERIMENT": experiment} if experiment else None, timeout=120)


def account(mturk) -> dict:
    """What the local MTurk holds: HITs, assignments by status, and every bonus paid."""
    hits = mturk.list_hits(MaxResults=100)["HITs"]
    statuses: dict[str, int] = {}
    bonuses = []
    for hit in hits:
        for a in mturk.list_assignments_for_hit(HITId=hit["HITId"], MaxResults=100)["Assignments"]:
            statuses[a["AssignmentStatus"]] = statuses.get(a["AssignmentStatus"], 0) + 1
        bonuses += mturk.list_bonus_payments(HITId=hit["HITId"], MaxResults=100)["BonusPayments"]
    return {
        "hits": sorted(h["HITId"] for h in hits),
        "max_assignments": sum(h["MaxAssignments"] for h in hits),
        "assignments": statuses,
        "bonuses": sorted((b["AssignmentId"], b["BonusAmount"]) for b in bonuses),
    }


PASSWORD = "lab-backend-password"


@pytest.fixture
def backend(experiment, monkeypatch):
    """A fake _babe backend on 127.0.0.1 that the study's workers post to, and `babe results` reads."""
    from babe_tasks.testing import serve_backend, write_deploy_config

    server, url = serve_backend(password=PASSWORD)
    server.backend.add_experiment(12, name="ratings")
    write_deploy_config(experiment, experiment_id=12, server_app_url=f"{url}/api/submit_experiment/")
    config = experiment / "invoke.yaml"
    config.write_text(config.read_text() + "  plugins:\n    babe-backend: {}\n")
    monkeypatch.setenv("BABE_PLUGINS", "babe-backend")
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    yield f"{url}/api/submit_experiment/12"
    server.shutdown()


def test_the_makefile_runs_a_study_and_runs_again_without_posting_or_paying_twice(experiment, mturk, backend):
    init = babe(experiment, "init", "--makefile")
    assert init.code == 0, init.err
    assert "wrote Makefile" in init.out and (experiment / "Makefile").is_file()

    pilot = make(experiment, "pilot", PILOT="3")
    assert pilot.code == 0, pilot.err
    assert babe(experiment, "local.work", "--post-to", backend, experiment="exp1-pilot").code == 0

    launch = make(experiment, "launch", ASSIGNMENTS="6")
    assert launch.code == 0, launch.err
    assert babe(experiment, "local.work", "--post-to", backend).code == 0
    work = {a["WorkerId"] for h in mturk.list_hits()["HITs"] for a in mturk.list_assignments_for_hit(HITId=h["HITId"])["Assignments"]}
    assert len(work) == 9  # the pilot's workers were kept out of the study

    # A bonus for one of the study's workers, from the CSV the pay target looks for.
    (study_hit,) = [h for h in mturk.list_hits()["HITs"] if h["MaxAssignments"] == 6]
    first = mturk.list_assignments_for_hit(HITId=study_hit["HITId"])["Assignments"][0]
    (experiment / "bonuses.csv").write_text(
        f"worker_id,assignment_id,amount,reason\n{first['WorkerId']},{first['AssignmentId']},0.25,thank you\n"
    )

    rest = ("wait", "pay", "close", "data")
    run = make(experiment, *rest, ASSIGNMENTS="6", TIMEOUT="1m")
    assert run.code == 0, run.err
    once = account(mturk)
    assert once["max_assignments"] == 9 and once["assignments"] == {"Approved": 9}
    assert once["bonuses"] == [(first["AssignmentId"], "0.25")]
    assert len(list((experiment / "results").glob("exp1-*.csv"))) == 1

    again = make(experiment, "pilot", "launch", *rest, PILOT="3", ASSIGNMENTS="6", TIMEOUT="1m")
    assert again.code == 0, again.err
    assert "Posted nothing now" in again.out
    assert account(mturk) == once  # nothing posted, approved or paid a second time


def test_a_failing_step_stops_make_with_its_one_line(experiment, mturk):
    assert babe(experiment, "init", "--makefile").code == 0
    assert make(experiment, "pilot", "launch", PILOT="1", ASSIGNMENTS="2").code == 0
    run = make(experiment, "wait", "pay", ASSIGNMENTS="2", TIMEOUT="1s")
    assert run.code != 0
    assert "error: not reached by the timeout (2 submitted; 0 arrived)" in run.err
    assert "Error 5" in run.err  # make names babe's exit code, and goes no further
    assert "Approved" not in run.out
    bad = make(experiment, "launch", ASSIGNMENTS="many")
    assert bad.code != 0 and "Error 2" in bad.err and "error: " in bad.err
