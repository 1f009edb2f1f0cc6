"""Part 2 of issue 6: `kill -9` at random moments during create, approve and bonus, then re-run.

Each command runs as a real child process (the `babe` console script's code) on one state file and
one experiment folder; a seeded schedule kills it 10 times at random moments, then the same command
is re-run until it exits 0. The end state is read back through boto3 and from the ledger: no
duplicate HIT, every assignment approved once, every bonus paid once, the balance exact to the cent.
Every call carries a small latency, and each kill waits for a random amount of progress in the
ledger, so the kills land in the middle of the work.
"""

from __future__ import annotations

import random
import signal
import time
from decimal import ROUND_HALF_UP, Decimal

from .helpers import (
    START_BALANCE,
    assignments,
    babe_process,
    balance,
    bonuses,
    client,
    hits,
    ledger_errors,
    ledger_rows,
    posted_and_worked,
    run_babe,
    write_bonus_file,
)
from .helpers import subprocess_env as env_for

KILLS = 10
CENT = Decimal("0.01")


def progress_of(folder, sql: str):
    """A counter read from the ledger (0 while it does not exist yet): how far the work has got."""

    def read() -> int:
        try:
            return int(ledger_rows(folder, sql)[0][0])
        except ledger_errors():
            return 0

    return read


def kill_and_finish(
    args: list[str], cwd, env, seed: int, progress, max_step: int, *, stop_when_done: bool = False
) -> dict:
    """Kill `babe args` KILLS times (in at most KILLS + 6 runs), then re-run it until it exits 0.

    Each kill lands at a seeded random point of the work: once `progress()` has advanced by a
    random 1..`max_step` since the run started (so every kill interrupts work in flight, whatever
    the machine's speed). With `stop_when_done`, a run that ends by itself has finished the job
    and no further run is made (running a finished `create` again is a new batch, by design);
    otherwise (approve, bonus: running them again must pay nothing) the kills go on.
    """
    rng = random.Random(seed)
    killed = attempts = 0
    while killed < KILLS and attempts < KILLS + 6:
        attempts += 1
        target = progress() + rng.randint(1, max_step)
        proc = babe_process(args, cwd, env)
        deadline = time.monotonic() + 30
        while proc.poll() is None and progress() < target and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=60)
        if proc.returncode == 0 and stop_when_done:
            return {"killed": killed, "finishing_runs": 0}
    finishing = [run_babe(args, cwd, env)]
    while finishing[-1].code != 0 and len(finishing) < 4:
        finishing.append(run_babe(args, cwd, env))
    assert finishing[-1].code == 0, finishing
    return {"killed": killed, "finishing_runs": len(finishing)}


def slow_env(state):
    # 40 ms per requester call, 4 in flight: a run of a few hundred calls lasts seconds, long enough
    # for the test to see its progress in the ledger and kill it in the middle of the work.
    return env_for(state, BABE_LOCAL_FAULTS="latency_ms=40,seed=1", BABE_MAX_CONCURRENCY="4")


def test_create_killed_ten_times_posts_each_hit_once(experiment, state_path):
    env = slow_env(state_path)
    posted = progress_of(experiment, "SELECT COUNT(hit_id) FROM hits")
    outcome = kill_and_finish(["create", "--assignments", "1350"], experiment, env, 11, posted, 10, stop_when_done=True)
    assert outcome["killed"] == KILLS, outcome  # every kill landed while the process was working

    found = hits(client(state_path))
    assert len(found) == 150 and sum(h["MaxAssignments"] for h in found) == 1350
    assert len({h["RequesterAnnotation"] for h in found}) == 150  # no HIT index posted twice
    recorded = ledger_rows(experiment, "SELECT hit_id, max_assignments FROM hits")
    assert {r["hit_id"]: r["max_assignments"] for r in recorded} == {h["HITId"]: h["MaxAssignments"] for h in found}
    plans = ledger_rows(experiment, "SELECT status FROM plans")
    assert [p["status"] for p in plans].count("done") == 1 and len(plans) == 1, [tuple(p) for p in plans]


def test_approve_killed_ten_times_pays_each_assignment_once(experiment, state_path):
    n = 450
    hit_ids = posted_and_worked(experiment, state_path, n, seed=3)
    approved = progress_of(experiment, "SELECT COUNT(*) FROM payments WHERE kind = 'reward'")
    outcome = kill_and_finish(["approve"], experiment, slow_env(state_path), 12, approved, 30)
    assert outcome["killed"] == KILLS, outcome

    mturk = client(state_path)
    statuses = [a["AssignmentStatus"] for h in hit_ids for a in assignments(mturk, h)]
    assert statuses == ["Approved"] * n
    assert balance(mturk) == START_BALANCE - n * Decimal("0.60")
    # The ledger knows every assignment as approved; its payment rows are never duplicated.
    rows = ledger_rows(experiment, "SELECT status, COUNT(*) n FROM assignments GROUP BY status")
    assert {r["status"]: r["n"] for r in rows} == {"Approved": n}
    paid = ledger_rows(experiment, "SELECT kind, COUNT(*) n, COUNT(DISTINCT assignment_id) d FROM payments GROUP BY kind")
    for row in paid:
        assert row["n"] == row["d"], tuple(row)


def test_bonus_killed_ten_times_pays_each_row_once(experiment, state_path):
    n = 240
    hit_ids = posted_and_worked(experiment, state_path, n, seed=3)
    assert run_babe(["approve"], experiment, env_for(state_path)).code == 0
    mturk = client(state_path)
    before = balance(mturk)
    rows = [a for h in hit_ids for a in assignments(mturk, h)]
    amounts = [CENT * (5 + i) for i in range(n)]
    write_bonus_file(experiment, rows, amounts)

    sent = progress_of(experiment, "SELECT COUNT(*) FROM bonuses")
    outcome = kill_and_finish(["bonus", "--csv", "bonus.csv"], experiment, slow_env(state_path), 13, sent, 15)
    assert outcome["killed"] == KILLS, outcome
    again = run_babe(["bonus", "--csv", "bonus.csv", "--json"], experiment, env_for(state_path))
    assert again.code == 0, again

    paid = [b for h in hit_ids for b in bonuses(mturk, h)]
    assert sorted(b["AssignmentId"] for b in paid) == sorted(a["AssignmentId"] for a in rows)
    total = sum(amounts, Decimal("0.00"))
    fees = sum((max(CENT, (amt * Decimal("0.20")).quantize(CENT, ROUND_HALF_UP)) for amt in amounts), Decimal(0))
    assert balance(mturk) == before - total - fees
    recorded = ledger_rows(experiment, "SELECT status, COUNT(*) n FROM bonuses GROUP BY status")
    assert {r["status"]: r["n"] for r in recorded} == {"paid": n}
