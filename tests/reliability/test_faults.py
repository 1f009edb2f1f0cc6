"""Issues 6 and 14: every spending step under the campaign's faults, for five seeds, in ONE run.

Faults: throttling 20 %, server faults 10 %, dropped connections 5 %, answers lost after the work
was done 10 % (`helpers.FAULTS`), on every requester call of the in-process local MTurk. The retry
settings are the shipped defaults (no AWS_RETRY_MODE, no AWS_MAX_ATTEMPTS; only the clock retries
sleep on is shortened, `conftest.ShortClock`): create, approve and bonus must each finish in one
run, exit 0, exactly once. The end state is read back without faults through boto3 and from the
ledger file. Default sizes are reduced so the folder runs in CI (create 60, approve 200, bonus 50);
`pytest --full` runs the issue's sizes (200, 1,000, 200).
"""

from __future__ import annotations

import math
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
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    turk = LocalTurk(str(state_path))
    try:
        simulate(turk, hit_ids=hit_ids, seed=seed)
    finally:
        turk.store.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_create_posts_each_hit_once_in_one_run(seed, babe, experiment, faults, state_path, full_size, record_property):
    n = 200 if full_size else 60
    faults.on(seed)
    run = babe("create", "--assignments", str(n), "--json")
    record_property("exit_codes", [run.code])
    assert run.code == 0, run
    counts = faults.counts()
    assert counts["lost"] + counts["drop"] + counts["throttle"] + counts["fault"] > 0

    found = hits(client(state_path))
    assert len(found) == math.ceil(n / 9)  # HITs of at most 9 assignments (MTurk's fee step)
    assert sum(h["MaxAssignments"] for h in found) == n
    recorded = ledger_rows(experiment, "SELECT hit_id, max_assignments FROM hits")
    assert {r["hit_id"]: r["max_assignments"] for r in recorded} == {h["HITId"]: h["MaxAssignments"] for h in found}
    assert [p["status"] for p in ledger_rows(experiment, "SELECT status FROM plans")] == ["done"]


@pytest.mark.parametrize("seed", SEEDS)
def test_approve_pays_each_assignment_once_in_one_run(seed, babe, experiment, faults, state_path, full_size, record_property):
    n = 1000 if full_size else 200
    hit_ids = post(babe, n)
    work(state_path, hit_ids, seed)
    faults.on(seed)
    run = babe("approve", "--json")
    record_property("exit_codes", [run.code])
    assert run.code == 0, run
    # An approval whose answer was lost on its last attempt is found Approved by the next pass
    # ("already approved"): the two add up to n, each assignment counted once.
    assert run.json["approved"] + run.json["already_approved"] == n, run.json
    assert run.json["failed"] == [] and "unlisted" not in run.json
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
def test_bonus_csv_pays_each_row_once_in_one_run(seed, babe, experiment, faults, state_path, full_size, record_property):
    n = 200 if full_size else 50
    hit_ids = post(babe, n)
    work(state_path, hit_ids, seed)
    assert babe("approve").code == 0
    mturk = client(state_path)
    before = balance(mturk)
    rows = [a for h in hit_ids for a in assignments(mturk, h)]
    amounts = [Decimal("0.01") * (1 + i % 150) for i in range(n)]
    write_bonus_file(experiment, rows, amounts, "thank you")

    faults.on(seed)
    first = babe("bonus", "--csv", "bonus.csv", "--json")
    record_property("exit_codes", [first.code])
    assert first.code == 0, first
    second = babe("bonus", "--csv", "bonus.csv", "--json")  # the same command, run twice
    assert second.code == 0, second
    assert sum(faults.counts().values()) > 0

    paid = [b for h in hit_ids for b in bonuses(mturk, h)]
    assert len(paid) == n
    assert sorted(b["AssignmentId"] for b in paid) == sorted(a["AssignmentId"] for a in rows)
    by_assignment = {b["AssignmentId"]: Decimal(b["BonusAmount"]) for b in paid}
    assert by_assignment == {a["AssignmentId"]: amt for a, amt in zip(rows, amounts)}  # exact to the cent
    total = sum(amounts, Decimal("0.00"))
    # MTurk's fee per bonus: 20 %, at least $0.01, rounded half up to the cent (docs/payments.md).
    fees = sum((max(CENT, (amt * Decimal("0.20")).quantize(CENT, ROUND_HALF_UP)) for amt in amounts), Decimal(0))
    assert balance(mturk) == before - total - fees
    recorded = ledger_rows(experiment, "SELECT status, COUNT(*) n FROM bonuses GROUP BY status")
    assert {r["status"]: r["n"] for r in recorded} == {"paid": n}


def test_one_hit_that_cannot_be_listed_leaves_the_others_approved_and_is_named(babe, experiment, faults, state_path, monkeypatch):
    """One HIT's listing failing on every attempt of every pass: the rest approved, exit 1, the HIT named."""
    import botocore.exceptions as bx

    from babe_mturk.platform import MTurkPlatform

    hit_ids = post(babe, 45)
    work(state_path, hit_ids, 3)
    victim = hit_ids[2]
    listing = MTurkPlatform.iter_assignments
    tried = []

    def iter_assignments(platform, hit_id, statuses=None):
        if hit_id == victim:
            tried.append(hit_id)
            answer = {"Error": {"Code": "ServiceUnavailable", "Message": "Service is unavailable"},
                      "ResponseMetadata": {"HTTPStatusCode": 503}}
            raise platform.translate(bx.ClientError(answer, "ListAssignmentsForHIT"), "ListAssignmentsForHIT", {"HITId": hit_id})
        return listing(platform, hit_id, statuses)

    monkeypatch.setattr(MTurkPlatform, "iter_assignments", iter_assignments)
    run = babe("approve", "--json")
    assert run.code == 1, run
    assert len(tried) == 3  # one try per pass: the first and two more
    mturk = client(state_path)
    others = [a["AssignmentStatus"] for h in hit_ids if h != victim for a in assignments(mturk, h)]
    assert others == ["Approved"] * len(others) and len(others) == 45 - len(assignments(mturk, victim))
    assert {a["AssignmentStatus"] for a in assignments(mturk, victim)} == {"Submitted"}
    assert run.json["unlisted"] == [{"hit_id": victim, "error": "ListAssignmentsForHIT: Service is unavailable"}]
    line = run.err.strip().splitlines()
    assert len(line) == 1 and victim in line[0] and f"babe approve --hit {victim}" in line[0], run

    monkeypatch.setattr(MTurkPlatform, "iter_assignments", listing)
    again = babe("approve", "--json")
    assert again.code == 0 and again.json["approved"] == len(assignments(mturk, victim)), again
    assert balance(mturk) == START_BALANCE - 45 * REWARD_AND_FEE


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
