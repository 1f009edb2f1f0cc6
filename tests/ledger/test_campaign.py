"""The lab's concurrency campaign (issue 16, item 6): eight `babe` processes on one PostgreSQL ledger at once.

Real throughout: child processes of the `babe` program (`babe_tasks.testing.processes`), one local
MTurk state file they all share (`BABE_LOCAL_STATE`), one PostgreSQL ledger (`babe_postgres`). Started
together:

- two `babe create` of one plan in one folder: one batch is posted;
- two `babe approve` of one experiment: each assignment approved and paid once;
- two `babe bonus --csv` of one file: each bonus paid once;
- two members' creates against one monthly cap, which counts the whole lab — the six others too:
  exactly one of them fits, and the cap is never exceeded by a cent.

The end state is checked exactly, to the cent, two ways: on the local MTurk through boto3 (HITs,
assignments, bonuses, balance) and in the ledger, read with plain SQL. Small by default (CI time);
`pytest --full` runs the campaign at the issue's sizes.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

from babe_mturk.local import client as local_client
from babe_mturk.local.service import LocalTurk
from babe_mturk.local.workers import simulate

from babe_tasks.testing.experiment import ExperimentFolder
from babe_tasks.testing.processes import babe_process, child_env, run_babe_process

D = Decimal
#: What one assignment commits at the suite's reward: $0.50 and its 20% fee (HITs stay under 10).
PER_ASSIGNMENT = D("0.60")
#: A bonus of $0.50 with its 20% fee.
BONUS, BONUS_COMMITS = D("0.50"), D("0.60")


def sizes(full: bool) -> dict[str, int]:
    """Assignments per part: the one plan, the approvals, the bonuses."""
    return {"plan": 45, "approve": 120, "bonus": 60} if full else {"plan": 5, "approve": 12, "bonus": 6}


def env_of(state: Path, member: str) -> dict[str, str]:
    return child_env(state, BABE_MEMBER=member, BABE_PLUGINS="payment-cap")


def mturk_of(state: Path):
    return local_client(state=str(state), faults="")


def pages(mturk, operation: str, key: str, **params) -> list[dict]:
    return [item for page in mturk.get_paginator(operation).paginate(**params) for item in page[key]]


def worked(folder: Path, state: Path, member: str, n: int, seed: int) -> list[str]:
    """`create` n assignments as `member`; simulated workers submit them all; the HIT ids."""
    run = run_babe_process(["create", "--assignments", str(n), "--json"], folder, env_of(state, member))
    assert run.code == 0, run
    hit_ids = [h["hit_id"] for h in run.json["hits"]]
    turk = LocalTurk(str(state))
    try:
        simulate(turk, hit_ids=hit_ids, seed=seed)
    finally:
        turk.store.close()
    return hit_ids


def rows(sql: str, database, params: tuple = ()) -> list[tuple]:
    with database.connect() as conn:
        return conn.execute(sql, params).fetchall()


def test_eight_processes_on_one_lab_ledger_end_exactly(babe_env, babe_postgres, state_path, tmp_path, full_size):
    babe_env.use_ledger(babe_postgres.url)
    n = sizes(full_size)
    folders = {
        name: ExperimentFolder(tmp_path / member / name).path
        for member, name in (("alice", "plan"), ("alice", "approvals"), ("bob", "bonuses"), ("alice", "capped"), ("bob", "rival"))
    }

    # -- before: work to approve, approved work to pay bonuses on --------------------------------
    approve_hits = worked(folders["approvals"], state_path, "alice", n["approve"], seed=5)
    bonus_hits = worked(folders["bonuses"], state_path, "bob", n["bonus"], seed=6)
    assert run_babe_process(["approve"], folders["bonuses"], env_of(state_path, "bob")).code == 0
    mturk = mturk_of(state_path)
    bonus_rows = [a for h in bonus_hits for a in pages(mturk, "list_assignments_for_hit", "Assignments", HITId=h)]
    lines = ["worker_id,assignment_id,amount,reason"] + [f"{a['WorkerId']},{a['AssignmentId']},{BONUS},thanks" for a in bonus_rows]
    (folders["bonuses"] / "bonus.csv").write_text("\n".join(lines) + "\n")
    balance_before = D(mturk.get_account_balance()["AvailableBalance"])

    # The monthly cap (set only where the two members race) counts everything the lab commits this
    # month: what is posted now, the one plan, the bonuses — and room for exactly one of the two.
    posted_before = (n["approve"] + n["bonus"]) * PER_ASSIGNMENT
    others = n["plan"] * PER_ASSIGNMENT + n["bonus"] * BONUS_COMMITS
    each = math.floor(others / PER_ASSIGNMENT) + 1  # each member's create commits more than all the others
    room = each * PER_ASSIGNMENT
    cap = posted_before + others + room
    for name in ("capped", "rival"):
        ExperimentFolder(folders[name]).configure(plugins={"payment-cap": {"monthly": str(cap)}})

    # -- eight at once ---------------------------------------------------------------------------
    runs = [
        ("plan", "alice", ["create", "--assignments", str(n["plan"])]),
        ("plan", "bob", ["create", "--assignments", str(n["plan"])]),
        ("approvals", "alice", ["approve"]),
        ("approvals", "bob", ["approve"]),
        ("bonuses", "alice", ["bonus", "--csv", "bonus.csv"]),
        ("bonuses", "bob", ["bonus", "--csv", "bonus.csv"]),
        ("capped", "alice", ["create", "--assignments", str(each)]),
        ("rival", "bob", ["create", "--assignments", str(each)]),
    ]
    started = [babe_process(args, folders[name], env_of(state_path, member)) for name, member, args in runs]
    outputs = [p.communicate(timeout=300) for p in started]
    outcomes = {f"{name}/{member}": (p.returncode, err) for (name, member, _), p, (_, err) in zip(runs, started, outputs)}
    for key, (code, err) in outcomes.items():
        assert "Traceback" not in err and "internal error" not in err, (key, err)
    codes = {key: code for key, (code, _) in outcomes.items()}
    assert [codes[k] for k in ("plan/alice", "plan/bob", "approvals/alice", "approvals/bob", "bonuses/alice", "bonuses/bob")] == [0] * 6, outcomes
    assert sorted((codes["capped/alice"], codes["rival/bob"])) == [0, 3], outcomes
    winner = "capped" if codes["capped/alice"] == 0 else "rival"

    # -- the platform: what happened ---------------------------------------------------------------
    mturk = mturk_of(state_path)
    hits = pages(mturk, "list_hits", "HITs")
    ledger_hits = dict(rows("SELECT hit_id, experiment FROM hits WHERE hit_id IS NOT NULL", babe_postgres))
    assert sorted(h["HITId"] for h in hits) == sorted(ledger_hits), "every HIT the platform has, the ledger has, and no other"
    per_experiment: dict[str, int] = {}
    for hit in hits:
        experiment = ledger_hits[hit["HITId"]]
        per_experiment[experiment] = per_experiment.get(experiment, 0) + hit["MaxAssignments"]
    assert per_experiment == {"approvals": n["approve"], "bonuses": n["bonus"], "plan": n["plan"], winner: each}
    approved = [a for h in approve_hits for a in pages(mturk, "list_assignments_for_hit", "Assignments", HITId=h)]
    assert [a["AssignmentStatus"] for a in approved] == ["Approved"] * n["approve"]
    paid = [b for h in bonus_hits for b in pages(mturk, "list_bonus_payments", "BonusPayments", HITId=h)]
    assert sorted(b["AssignmentId"] for b in paid) == sorted(a["AssignmentId"] for a in bonus_rows)
    assert {D(b["BonusAmount"]) for b in paid} == {BONUS}
    spent = n["approve"] * PER_ASSIGNMENT + n["bonus"] * BONUS_COMMITS
    assert D(mturk.get_account_balance()["AvailableBalance"]) == balance_before - spent

    # -- the ledger: what it says ------------------------------------------------------------------
    plans = rows("SELECT experiment, status, COUNT(*) FROM plans GROUP BY experiment, status ORDER BY experiment", babe_postgres)
    assert plans == sorted([("approvals", "done", 1), ("bonuses", "done", 1), ("plan", "done", 1), (winner, "done", 1)])
    payments = rows(
        "SELECT kind, COUNT(*), COUNT(DISTINCT assignment_id), SUM(CAST(amount AS NUMERIC)) FROM payments"
        " WHERE experiment = 'approvals' GROUP BY kind ORDER BY kind",
        babe_postgres,
    )
    assert payments == [
        ("fee", n["approve"], n["approve"], n["approve"] * D("0.10")),
        ("reward", n["approve"], n["approve"], n["approve"] * D("0.50")),
    ]
    bonuses = rows("SELECT status, COUNT(*), COUNT(DISTINCT assignment_id) FROM bonuses GROUP BY status", babe_postgres)
    assert bonuses == [("paid", n["bonus"], n["bonus"])]
    members = dict(rows("SELECT experiment, member FROM plans", babe_postgres))
    assert members[winner] == ("alice" if winner == "capped" else "bob")

    # The cap: everything the lab committed this month, from the ledger's own rows, never above it.
    posted = rows("SELECT reward, max_assignments FROM hits WHERE hit_id IS NOT NULL", babe_postgres)
    assert all(D(reward) == D("0.50") and size < 10 for reward, size in posted)
    committed = sum(size for _, size in posted) * PER_ASSIGNMENT
    committed += sum((D(a) + D(f) for a, f in rows("SELECT amount, fee FROM bonuses", babe_postgres)), D("0.00"))
    assert committed == cap, (committed, cap)  # exactly at the cap: the loser's create would have crossed it
