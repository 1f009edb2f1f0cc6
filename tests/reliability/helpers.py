"""Shared tools of the reliability campaign: run `babe`, read the local MTurk and the ledger.

Every assertion of the campaign is about the *end state*, read two independent ways: through boto3
against the local MTurk's state file (what the platform did — HITs, assignments, bonuses, balance)
and through the ledger (what the lab's record says: its file, or its PostgreSQL database). Both must agree with the intended state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from babe_tasks.testing import BabeRun, postgres, processes
from babe_tasks.testing.experiment import ExperimentFolder

#: The campaign's faults (issues 6 and 14): throttling 20 %, server faults 10 %, dropped connections
#: 5 %, "done but the answer was lost" 10 %.
FAULTS = "throttle=0.2,fault=0.1,drop=0.05,lost=0.1"


def _seeds(text: str) -> tuple[int, ...]:
    """`RELIABILITY_SEEDS`: "1-25" or "3,7,9"; the issue's five seeds when unset."""
    if not text.strip():
        return (1, 2, 3, 4, 5)
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return tuple(range(first, last + 1))
    return tuple(int(part) for part in text.split(","))


#: The fault campaign's seeds; `RELIABILITY_SEEDS=1-25 pytest tests/reliability/test_faults.py` sweeps more.
SEEDS = _seeds(os.environ.get("RELIABILITY_SEEDS", ""))
START_BALANCE = Decimal("10000.00")


def make_experiment(parent: Path, name: str = "exp1") -> Path:
    """An experiment folder with the suite's settings (babe_tasks.testing.experiment.DEFAULT_SETTINGS)."""
    return ExperimentFolder(parent / name).path


def subprocess_env(state: Path, **extra: str) -> dict[str, str]:
    """The environment of a `babe` child process: the test's state file, no user configuration."""
    return processes.child_env(state, **extra)


#: The `babe` console script's code in a child process. With RELIABILITY_NO_BACKOFF=1 the clock
#: retries sleep on (`babe_tasks.sleeping.CLOCK`) sleeps ten times less than it is asked to
#: (every retry decision, attempt and delay stay the shipped ones), so campaigns with thousands of
#: faults run in seconds.
BABE = [
    sys.executable,
    "-c",
    "import os, sys, time\n"
    "if os.environ.get('RELIABILITY_NO_BACKOFF') == '1':\n"
    "    from babe_tasks import sleeping\n"
    "    sleeping.CLOCK.sleep = lambda seconds: time.sleep(max(0.0, seconds) / 10)\n"
    "from babe_tasks.program import main\n"
    "sys.exit(main())",
]


def babe_process(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """The real `babe` console script's code as a child process (killable with SIGKILL)."""
    return processes.babe_process(args, cwd, env, command=BABE)


def run_babe(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> BabeRun:
    return processes.run_babe_process(args, cwd, env, command=BABE, timeout=timeout)


def client(state: Path):
    """A boto3 client on the state file, without faults (the observer must not be disturbed)."""
    from babe_mturk.local import client as local_client

    return local_client(state=str(state), faults="")


def hits(mturk) -> list[dict]:
    return [h for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


def assignments(mturk, hit_id: str) -> list[dict]:
    pages = mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit_id)
    return [a for page in pages for a in page["Assignments"]]


def bonuses(mturk, hit_id: str) -> list[dict]:
    pages = mturk.get_paginator("list_bonus_payments").paginate(HITId=hit_id)
    return [b for page in pages for b in page["BonusPayments"]]


def balance(mturk) -> Decimal:
    return Decimal(mturk.get_account_balance()["AvailableBalance"])


def ledger_rows(folder: Path, sql: str, params: tuple = ()) -> list[Any]:
    """Rows of the experiment's ledger, read with the engine's own driver (not through the code under
    test): the folder's `.babe/ledger.sqlite`, or the test's PostgreSQL database (`--ledger=postgresql`)."""
    return postgres.ledger_rows(folder, sql, params)


def ledger_errors() -> tuple[type[Exception], ...]:
    """What reading a ledger that is not there yet raises: sqlite3's errors, and psycopg's when installed."""
    import sqlite3

    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def state_dump(mturk) -> dict:
    """Everything a bad input must leave untouched: HITs, their assignments and bonuses, the balance."""
    dump: dict[str, Any] = {"balance": str(balance(mturk)), "hits": {}}
    for hit in hits(mturk):
        dump["hits"][hit["HITId"]] = {
            "status": hit["HITStatus"],
            "max": hit["MaxAssignments"],
            "expiration": hit["Expiration"].isoformat(),
            "assignments": sorted((a["AssignmentId"], a["AssignmentStatus"]) for a in assignments(mturk, hit["HITId"])),
            "bonuses": len(bonuses(mturk, hit["HITId"])),
        }
    return dump


def posted_and_worked(folder: Path, state: Path, n: int, seed: int) -> list[str]:
    """`babe create --assignments n` in a subprocess, then simulated workers submit every assignment."""
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    run = run_babe(["create", "--assignments", str(n), "--json"], folder, subprocess_env(state))
    assert run.code == 0, run
    hit_ids = [h["hit_id"] for h in run.json["hits"]]
    turk = LocalTurk(str(state))
    try:
        simulate(turk, hit_ids=hit_ids, seed=seed)
    finally:
        turk.store.close()
    return hit_ids


def write_bonus_file(folder: Path, rows: list[dict], amounts: list[Decimal], reason: str = "thanks") -> None:
    """`folder/bonus.csv`: one bonus per assignment row (as ListAssignmentsForHIT gives them), in order."""
    lines = ["worker_id,assignment_id,amount,reason"]
    lines += [f"{a['WorkerId']},{a['AssignmentId']},{amount},{reason}" for a, amount in zip(rows, amounts)]
    (folder / "bonus.csv").write_text("\n".join(lines) + "\n")
