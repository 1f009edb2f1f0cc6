"""Part 1 of issue 6: every spending step under the campaign's faults, for five seeds.

Faults: throttling 20 %, server faults 10 %, dropped connections 5 %, answers lost after the work
was done 10 % (`helpers.FAULTS`), on every requester call of the in-process local MTurk. The end
state is read back without faults through boto3 and from the ledger file.
Default sizes are reduced so the folder runs in CI; `pytest --full` runs the issue's sizes.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from .conftest import until_done
from .helpers import (
    SEEDS,
    START_BALANCE,
    assignments,
    balance,
    bonuses,
    client,
    hits,
    ledger_rows,
    write_bonus_file,
)

CENT = Decimal("0.01")
REWARD_AND_FEE = Decimal("0.60")  # $0.50 reward + MTurk's 20 % fee (HITs of fewer than 10)


def post(babe, n: int) -> list[str]:
    run = babe("create", "--assignments", str(n), "--json")
    assert run.code == 0, run
    return [h["hit_id"] for h in run.json["hits"]]


def work(state_path, hit_ids: list[str], seed: int) -> None:
    from babe_tasks.localturk.service import LocalTurk
    from babe_tasks.localturk.workers import simulate

    turk = LocalTurk(str(state_path))
    try:
        simulate(turk, hit_ids=hit_ids, seed=seed)
    finally:
        turk.store.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_create_60_posts_exactly_7_hits(seed, babe, experiment, faults, state_path, record_property):
    faults.on(seed)
    runs = until_done(babe, "create", "--assignments", "60", "--json", faults=faults)
    record_property("exit_codes", [r.code for r in runs])
    assert runs[-1].code == 0, runs
    counts = faults.counts()
    assert counts["lost"] + counts["drop"] + counts["throttle"] + counts["fault"] > 0

    found = hits(client(state_path))
    assert len(found) == 7
    assert sum(h["MaxAssignments"] for h in found) == 60
    recorded = ledger_rows(experiment, "SELECT hit_id, max_assignments FROM hits")
    assert {r["hit_id"]: r["max_assignments"] for r in recorded} == {h["HITId"]: h["MaxAssignments"] for h in found}
    assert [p["status"] for p in ledger_rows(experiment, "SELECT status FROM plans")] == ["done"]


@pytest.mark.parametrize("seed", SEEDS)
def test_approve_pays_each_assignment_once(seed, babe, experiment, faults, state_path, full_size, record_property):
    n = 1000 if full_size else 120
    hit_ids = post(babe, n)
    work(state_path, hit_ids, seed)
    faults.on(seed)
    # The issue allows at most one re-run, and only after an exit 1 (some failed, the rest done).
    # This held only once the client's retry budget refilled on success (F1 in docs/reliability.md):
    # botocore's per-client quota ran dry after ~100 faulted calls and a run needed 3-5 re-runs.
    runs = until_done(babe, "approve", "--json", reruns=1, faults=faults)
    record_property("exit_codes", [r.code for r in runs])
    assert [r.code for r in runs] in ([0], [1, 0]), runs
    # An approval whose answer was lost on the last attempt is done on MTurk but failed here: the
    # re-run finds it Approved ("already approved"), so the runs' "approved" add up to at most n.
    assert sum(r.json.get("approved", 0) for r in runs) <= n  # a run may stop at the listing
    assert runs[-1].json["approved"] + runs[-1].json["already_approved"] == n
    assert sum(faults.counts().values()) > 0

    mturk = client(state_path)
    statuses = [a["AssignmentStatus"] for h in hit_ids for a in assignments(mturk, h)]
    assert statuses == ["Approved"] * n
    assert balance(mturk) == START_BALANCE - n * REWARD_AND_FEE
    paid = ledger_rows(experiment, "SELECT kind, COUNT(*) n, COUNT(DISTINCT assignment_id) d FROM payments GROUP BY kind")
    assert {r["kind"]: (r["n"], r["d"]) for r in paid} == {"reward": (n, n), "fee": (n, n)}

    faults.off()
    again = babe("approve", "--json")  # nothing left: pays nothing
    assert again.code == 0 and again.json["approved"] == 0, again
    assert balance(mturk) == START_BALANCE - n * REWARD_AND_FEE


@pytest.mark.parametrize("seed", SEEDS)
def test_bonus_csv_pays_each_row_once(seed, babe, experiment, faults, state_path, full_size, record_property):
    n = 200 if full_size else 45
    hit_ids = post(babe, n)
    work(state_path, hit_ids, seed)
    assert babe("approve").code == 0
    mturk = client(state_path)
    before = balance(mturk)
    rows = [a for h in hit_ids for a in assignments(mturk, h)]
    amounts = [Decimal("0.01") * (1 + i % 150) for i in range(n)]
    write_bonus_file(experiment, rows, amounts, "thank you")

    faults.on(seed)
    first = until_done(babe, "bonus", "--csv", "bonus.csv", "--json", faults=faults)
    record_property("exit_codes", [r.code for r in first])
    assert first[-1].code == 0, first
    second = babe("bonus", "--csv", "bonus.csv", "--json")  # the same command, run twice
    assert second.code == 0, second
    assert sum(faults.counts().values()) > 0

    paid = [b for h in hit_ids for b in bonuses(mturk, h)]
    assert len(paid) == n
    assert sorted(b["AssignmentId"] for b in paid) == sorted(a["AssignmentId"] for a in rows)
    total = sum(amounts, Decimal("0.00"))
    # MTurk's fee per bonus: 20 %, at least $0.01, rounded half up to the cent (reference/mturk-api.md).
    fees = sum((max(CENT, (amt * Decimal("0.20")).quantize(CENT, ROUND_HALF_UP)) for amt in amounts), Decimal(0))
    assert balance(mturk) == before - total - fees
    recorded = ledger_rows(experiment, "SELECT status, COUNT(*) n FROM bonuses GROUP BY status")
    assert {r["status"]: r["n"] for r in recorded} == {"paid": n}


@pytest.mark.parametrize("seed", SEEDS)
def test_expire_and_extend_reach_the_intended_state(seed, babe, experiment, faults, state_path, record_property):
    hit_ids = post(babe, 20)  # sizes are read back from the platform, whatever the split
    mturk = client(state_path)
    sizes = {h["HITId"]: h["MaxAssignments"] for h in hits(mturk)}
    faults.on(seed)
    extended = until_done(babe, "extend", "--assignments", "3", "--lifetime", "2d", "--json", faults=faults)
    assert extended[-1].code == 0, extended
    after = {h["HITId"]: h for h in hits(mturk)}
    assert sum(h["MaxAssignments"] for h in after.values()) == sum(sizes.values()) + 3
    assert set(after) == set(hit_ids)

    expired = until_done(babe, "expire", "--json", faults=faults)
    record_property("exit_codes", [[r.code for r in extended], [r.code for r in expired]])
    assert expired[-1].code == 0, expired
    faults.off()
    assert sum(faults.counts().values()) > 0
    for hit in hits(mturk):  # expired now: no worker can take them, nothing was pending
        assert hit["HITStatus"] == "Reviewable", hit
        assert hit["NumberOfAssignmentsAvailable"] == hit["MaxAssignments"]
    status = babe("status", "--json")
    assert status.code == 0, status
