"""Many requesters at once on one state file: 16 threads, each with its own boto3 client and its
own LocalTurk (as separate processes would have), racing to approve the same assignments, to
create the same HIT and to pay the same bonus. Each thing happens exactly once and the balance is
exact to the cent."""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal

from botocore.exceptions import ClientError

from babe_mturk.local import assignments, client, ids

from .helpers import ANSWER, hit_params, make_hit, worker_side

THREADS = 16
#: Token races need fewer threads to collide; building a boto3 client costs ~0.15 s of CPU each.
TOKEN_THREADS = 8


def race(state_path, jobs_per_thread, call) -> Counter:
    """Run `call(mturk, job)` on one thread per job list, each on its own client; count outcomes."""
    outcomes: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(jobs_per_thread))

    def run(jobs):
        mturk = client(state=str(state_path))
        try:
            start.wait()
            for job in jobs:
                try:
                    call(mturk, job)
                    outcome = "ok"
                except ClientError as exc:
                    outcome = exc.response.get("TurkErrorCode") or exc.response["Error"]["Code"]
                with lock:
                    outcomes[outcome] += 1
        finally:
            mturk.localturk.store.close()

    threads = [threading.Thread(target=run, args=(jobs,)) for jobs in jobs_per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_each_assignment_is_approved_exactly_once(turk, mturk, state_path):
    hits = [make_hit(mturk, Reward="0.33", MaxAssignments=5)["HITId"] for _ in range(200)]
    made = []
    with worker_side(turk) as ctx:
        for hit in hits:
            for _ in range(5):
                assignment = assignments.accept(ctx, hit, ids.new_worker_id())
                assignments.submit(ctx, assignment, ANSWER)
                made.append(assignment)
    assert len(made) == 1000
    # every assignment is tried by two different threads, in a different order in each
    rng = random.Random(7)
    jobs = [[] for _ in range(THREADS)]
    for i, assignment in enumerate(made):
        jobs[i % THREADS].append(assignment)
        jobs[(i + 1 + i % (THREADS - 1)) % THREADS].append(assignment)
    for j in jobs:
        rng.shuffle(j)
    outcomes = race(state_path, jobs, lambda m, a: m.approve_assignment(AssignmentId=a))
    assert outcomes == Counter({"ok": 1000, "AWS.MechanicalTurk.InvalidAssignmentState": 1000})
    # 1000 x (0.33 + 0.07)
    assert mturk.get_account_balance()["AvailableBalance"] == str(Decimal("10000.00") - 1000 * Decimal("0.40"))
    for hit in hits[:: 37]:
        got = mturk.get_hit(HITId=hit)["HIT"]
        assert (got["HITStatus"], got["NumberOfAssignmentsCompleted"]) == ("Reviewable", 5)
        statuses = {a["AssignmentStatus"] for a in mturk.list_assignments_for_hit(HITId=hit)["Assignments"]}
        assert statuses == {"Approved"}


def test_one_token_makes_one_hit_whoever_sends_it(mturk, state_path):
    tokens = [f"plan-7-hit-{i}" for i in range(10)]
    jobs = [list(tokens) for _ in range(TOKEN_THREADS)]
    outcomes = race(state_path, jobs, lambda m, token: m.create_hit(**hit_params(UniqueRequestToken=token)))
    assert outcomes == Counter({"ok": 10, "AWS.MechanicalTurk.HitAlreadyExists": 10 * (TOKEN_THREADS - 1)})
    assert mturk.list_hits()["NumResults"] == 10


def test_one_bonus_token_pays_once(turk, mturk, state_path):
    hit = make_hit(mturk)["HITId"]
    with worker_side(turk) as ctx:
        assignment = assignments.accept(ctx, hit, "ALUCKYWORKER01")
        assignments.submit(ctx, assignment, ANSWER)
    jobs = [[f"bonus-{i}" for i in range(5)] for _ in range(TOKEN_THREADS)]
    outcomes = race(
        state_path,
        jobs,
        lambda m, token: m.send_bonus(
            WorkerId="ALUCKYWORKER01", AssignmentId=assignment, BonusAmount="0.04", Reason="thanks", UniqueRequestToken=token
        ),
    )
    assert outcomes == Counter({"ok": 5, "AWS.MechanicalTurk.DuplicateRequest": 5 * (TOKEN_THREADS - 1)})
    assert mturk.get_account_balance()["AvailableBalance"] == "9999.75"  # 5 x (0.04 + 0.01)
