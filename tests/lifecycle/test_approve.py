"""`babe approve`: every Submitted assignment, idempotent, concurrent, with holds and failures."""

from __future__ import annotations

from decimal import Decimal

from babe_tasks.ledger import Ledger
from babe_mturk.local.workers import simulate

from babe_tasks.testing.experiment import write_plugin


def statuses(mturk, hit_ids) -> dict[str, str]:
    found = {}
    for hit_id in hit_ids:
        for page in mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit_id):
            found.update({a["AssignmentId"]: a["AssignmentStatus"] for a in page["Assignments"]})
    return found


def ids_of(created) -> list[str]:
    return [h["hit_id"] for h in created["hits"]]


def test_approves_every_submitted_assignment_and_pays(babe, created, turk, mturk, experiment):
    simulate(turk, workers=20, seed=1)
    run = babe("approve", "--json", "--feedback", "Thanks!")
    assert run.code == 0, run
    assert run.json == {"approved": 20, "already_approved": 0, "held": [], "failed": []}
    found = statuses(mturk, ids_of(created))
    assert len(found) == 20 and set(found.values()) == {"Approved"}
    some = next(iter(found))
    assert mturk.get_assignment(AssignmentId=some)["Assignment"]["RequesterFeedback"] == "Thanks!"
    assert mturk.get_account_balance()["AvailableBalance"] == "9988.00"  # 20 × (0.50 + 0.10)
    with Ledger(experiment) as ledger:
        assert ledger.spent(ids_of(created)) == 12


def test_re_running_counts_approved_work_as_done(babe, created, turk):
    simulate(turk, workers=5, seed=2)
    assert babe("approve").code == 0
    run = babe("approve", "--json")
    assert run.code == 0
    assert run.json == {"approved": 0, "already_approved": 5, "held": [], "failed": []}
    assert "Approved 0; already approved 5." in babe("approve").out


def test_auto_approved_work_is_already_approved_not_an_error(babe, experiment, turk, mturk):
    assert babe("create", "--assignments", "3", "--auto-approve", "0s").code == 0
    simulate(turk, workers=3, seed=3)
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 0 and run.json["already_approved"] == 3
    assert mturk.get_account_balance()["AvailableBalance"] == "9998.20"  # paid once


def test_invalid_assignment_state_then_approved_counts_as_done(babe, created, turk, experiment, state_path):
    """Auto-approval lands between the listing and the approval: GetAssignment says Approved."""
    simulate(turk, workers=4, seed=4)
    write_plugin(
        experiment,
        "clock",
        "from babe_mturk.local.store import Store\n"
        "def babe_before_approve(settings, assignments):\n"
        f"    Store({str(state_path)!r}).advance_clock(4 * 86400)\n",
    )
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json == {"approved": 0, "already_approved": 4, "held": [], "failed": []}


def test_dry_run_lists_and_approves_nothing(babe, created, turk, mturk):
    simulate(turk, workers=3, seed=5)
    run = babe("approve", "--dry-run", "--json")
    assert run.code == 0
    document = run.json
    assert document["dry_run"] is True and document["approved"] == 3
    assert {a["hit_id"] for a in document["would_approve"]} == {created["hits"][0]["hit_id"]}
    assert set(statuses(mturk, ids_of(created)).values()) == {"Submitted"}
    human = babe("approve", "--dry-run")
    assert "Dry run: would approve 3 assignment(s)." in human.out


def test_hit_and_assignment_flags_narrow_the_scope(babe, created, turk, mturk):
    simulate(turk, workers=10, seed=6)
    first, second, _ = ids_of(created)
    run = babe("approve", "--hit", second, "--json")
    assert run.json["approved"] == 3
    one = next(a for a, s in statuses(mturk, [first]).items() if s == "Submitted")
    run = babe("approve", "--assignment", one, "--json")
    assert run.json["approved"] == 1
    assert sorted(statuses(mturk, [first]).values()).count("Approved") == 1


def test_unknown_assignment_exits_2_before_approving_anything(babe, created, turk, mturk):
    simulate(turk, workers=2, seed=7)
    real = next(iter(statuses(mturk, ids_of(created))))
    run = babe("approve", "--assignment", real, "--assignment", "NOSUCHASSIGNMENT00000000000000")
    assert run.code == 2
    assert "assignment NOSUCHASSIGNMENT00000000000000 does not exist on local" in run.err
    assert set(statuses(mturk, ids_of(created)).values()) == {"Submitted"}


def test_repeat_workers_are_held_but_their_first_assignment(babe, created, turk, mturk):
    first = simulate(turk, worker_ids=["AREPEATWORKER01"], seed=8)["submitted"][0]
    second = simulate(turk, worker_ids=["AREPEATWORKER01"], seed=9)["submitted"][0]
    simulate(turk, workers=3, seed=10)
    run = babe("approve", "--json")
    assert run.code == 0
    assert run.json["approved"] == 4
    assert run.json["held"] == [{"assignment_id": second, "reason": f"repeat worker (first assignment {first})"}]
    assert mturk.get_assignment(AssignmentId=second)["Assignment"]["AssignmentStatus"] == "Submitted"
    # held again on the next run (the first is approved by now), until the lab says otherwise
    assert babe("approve", "--json").json["held"][0]["assignment_id"] == second
    run = babe("approve", "--allow-repeat-workers", "--json")
    assert run.json["approved"] == 1 and run.json["held"] == []


def test_one_failure_never_stops_the_rest_and_a_rerun_finishes(babe, created, turk, mturk, experiment, state_path):
    simulate(turk, workers=6, seed=11)
    write_plugin(
        experiment,
        "rejecter",
        "from babe_mturk.local import client\n"
        "def babe_before_approve(settings, assignments):\n"
        f"    mturk = client({str(state_path)!r})\n"
        "    mturk.reject_assignment(AssignmentId=assignments[0].assignment_id, RequesterFeedback='no')\n",
    )
    run = babe("approve", "--json")
    assert run.code == 1, run
    document = run.json
    assert document["approved"] == 5
    assert len(document["failed"]) == 1
    assert document["failed"][0]["error"] == "assignment is Rejected, not Submitted"
    assert "1 of 6 approvals failed" in run.err
    (experiment / "plugins" / "rejecter.py").unlink()  # it would reject one more on every run
    run = babe("approve", "--json")
    assert run.code == 0 and run.json["failed"] == [] and run.json["already_approved"] == 5


def test_concurrent_approval_under_throttling_and_lost_answers(babe, experiment, turk, mturk, monkeypatch):
    assert babe("create", "--assignments", "20", "--reward", "0.10").code == 0
    simulate(turk, workers=20, seed=12)
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "throttle=0.1,lost=0.1,seed=3")
    monkeypatch.setenv("BABE_MAX_CONCURRENCY", "8")
    # the shipped retry defaults (plugins/babe_mturk/retries.py): no attempts or mode set here
    run = babe("approve", "--json")
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert run.code == 0, run
    assert run.json["approved"] + run.json["already_approved"] == 20
    assert run.json["failed"] == []
    # paid exactly once each: 20 × (0.10 + 0.02)
    assert mturk.get_account_balance()["AvailableBalance"] == "9997.60"


def test_a_campaign_is_approved_in_full_and_paid_to_the_cent(babe, experiment, turk, mturk, full_size):
    n = 2000 if full_size else 180  # 223 HITs at full size, 20 reduced
    created = babe("create", "--assignments", str(n), "--reward", "0.33", "--json")
    assert created.code == 0, created
    simulate(turk, workers=n, seed=13)
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == n and run.json["failed"] == []
    # 0.33 + 0.07 (20% of 0.33 = 0.066, rounded half up) per assignment
    assert mturk.get_account_balance()["AvailableBalance"] == str(Decimal("10000.00") - n * Decimal("0.40"))
    status = babe("status", "--json").json
    assert status["totals"]["approved"] == n and status["spent"] == f"{n * Decimal('0.40'):.2f}"
