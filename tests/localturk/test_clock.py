"""Clock-driven events through boto3: HIT expiry, abandoned assignments and auto-approval, seen by
reads without any write from the requester, and reads that take no write lock when nothing is due."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from babe_mturk.local import assignments, client

from .helpers import ANSWER, DAY, make_hit, turk_code, work, worker_side


def test_a_hit_expires_when_its_lifetime_ends(turk, mturk):
    hit = make_hit(mturk, LifetimeInSeconds=60)["HITId"]
    turk.store.advance_clock(59)
    assert mturk.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Assignable"
    turk.store.advance_clock(2)
    assert mturk.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"
    assert [h["HITId"] for h in mturk.list_reviewable_hits()["HITs"]] == [hit]


def test_an_expired_hit_waits_for_the_workers_still_on_it(turk, mturk):
    hit = make_hit(mturk, LifetimeInSeconds=60, AssignmentDurationInSeconds=600)["HITId"]
    working = work(turk, hit, submit=False)
    turk.store.advance_clock(120)
    got = mturk.get_hit(HITId=hit)["HIT"]
    assert (got["HITStatus"], got["NumberOfAssignmentsPending"]) == ("Unassignable", 1)
    with worker_side(turk) as ctx:
        assignments.submit(ctx, working, ANSWER)
    assert mturk.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"


def test_an_assignment_past_its_deadline_is_abandoned_and_frees_its_slot(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=1, AssignmentDurationInSeconds=60)["HITId"]
    gone = work(turk, hit, submit=False)
    assert mturk.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Unassignable"
    turk.store.advance_clock(61)
    got = mturk.get_hit(HITId=hit)["HIT"]
    assert (got["HITStatus"], got["NumberOfAssignmentsAvailable"], got["NumberOfAssignmentsPending"]) == ("Assignable", 1, 0)
    assert mturk.list_assignments_for_hit(HITId=hit)["Assignments"] == []
    with worker_side(turk) as ctx:
        with pytest.raises(Exception) as excinfo:
            assignments.submit(ctx, gone, ANSWER)
    assert excinfo.value.turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert work(turk, hit)  # someone else takes the slot


def test_submitted_work_is_approved_and_paid_when_the_delay_ends(turk, mturk):
    hit = make_hit(mturk, Reward="0.33", AutoApprovalDelayInSeconds=3600)["HITId"]
    assignment = work(turk, hit)
    turk.store.advance_clock(3599)
    assert mturk.get_assignment(AssignmentId=assignment)["Assignment"]["AssignmentStatus"] == "Submitted"
    assert mturk.get_account_balance()["AvailableBalance"] == "10000.00"
    turk.store.advance_clock(2)
    got = mturk.get_assignment(AssignmentId=assignment)
    a = got["Assignment"]
    assert a["AssignmentStatus"] == "Approved"
    assert a["ApprovalTime"] == a["AutoApprovalTime"]
    assert got["HIT"]["NumberOfAssignmentsCompleted"] == 1
    assert mturk.get_account_balance()["AvailableBalance"] == "9999.60"
    with pytest.raises(ClientError) as excinfo:  # what a late ApproveAssignment meets
        mturk.approve_assignment(AssignmentId=assignment)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InvalidAssignmentState"


def test_default_delay_is_thirty_days_and_zero_approves_at_once(turk, mturk):
    slow = make_hit(mturk, AutoApprovalDelayInSeconds=None, LifetimeInSeconds=40 * DAY)["HITId"]
    instant = make_hit(mturk, Reward="1.00", AutoApprovalDelayInSeconds=0)["HITId"]
    waiting = work(turk, slow)
    paid = work(turk, instant)
    assert mturk.get_assignment(AssignmentId=paid)["Assignment"]["AssignmentStatus"] == "Approved"
    assert Decimal(mturk.get_account_balance()["AvailableBalance"]) == Decimal("10000.00") - Decimal("1.20")
    turk.store.advance_clock(30 * DAY - 10)
    assert mturk.get_assignment(AssignmentId=waiting)["Assignment"]["AssignmentStatus"] == "Submitted"
    turk.store.advance_clock(20)
    assert mturk.get_assignment(AssignmentId=waiting)["Assignment"]["AssignmentStatus"] == "Approved"


def test_every_process_sharing_the_state_sees_the_same_clock(turk, mturk, state_path):
    hit = make_hit(mturk, LifetimeInSeconds=60)["HITId"]
    other = client(state=str(state_path))
    try:
        other.localturk.store.advance_clock(61)
        assert mturk.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"
    finally:
        other.localturk.store.close()


def test_reads_settle_only_when_something_is_due(turk, mturk):
    hit = make_hit(mturk, LifetimeInSeconds=60, AutoApprovalDelayInSeconds=30)["HITId"]
    work(turk, hit)
    assert turk.settle_if_due() is False
    turk.store.advance_clock(31)
    assert turk.settle_if_due() is True  # the auto-approval
    assert turk.settle_if_due() is False
    turk.store.advance_clock(30)
    assert turk.settle_if_due() is True  # the expiry
    assert turk.settle_if_due() is False


def test_reads_need_no_write_lock_when_nothing_is_due(turk, mturk, state_path):
    hit = make_hit(mturk)["HITId"]
    holder = sqlite3.connect(state_path, isolation_level=None, timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
    try:
        started = time.monotonic()
        assert mturk.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Assignable"
        assert mturk.list_hits()["NumResults"] == 1
        # Waiting for the lock would take the store's 60 s busy timeout; a margin for a loaded machine.
        assert time.monotonic() - started < 20
    finally:
        holder.execute("ROLLBACK")
        holder.close()
