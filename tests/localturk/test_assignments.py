"""Assignments through boto3 and the worker side: accepting, submitting, returning, approving,
rejecting, listing, and the events each transition emits."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from babe_mturk.local import assignments, errors, ids, notifications

from .helpers import ANSWER, DAY, make_hit, turk_code, work, worker_side

NOT_SUBMITTED = "This operation can be called with a status of: Submitted"


def refused(fn, *args) -> errors.RequestError:
    with pytest.raises(errors.RequestError) as excinfo:
        fn(*args)
    return excinfo.value


# -- the worker side -----------------------------------------------------------------------------
def test_accept_refusals(turk, mturk):
    full = make_hit(mturk, MaxAssignments=1)["HITId"]
    work(turk, full, submit=False)
    expired = make_hit(mturk)["HITId"]
    mturk.update_expiration_for_hit(HITId=expired, ExpireAt=0)
    open_hit = make_hit(mturk)["HITId"]
    taken_by = work(turk, open_hit, worker_id="AREPEATWORKER1", submit=False)
    mturk.create_worker_block(WorkerId="ABLOCKEDWORKER1", Reason="spam")
    qual = mturk.create_qualification_type(
        Name="trained", Description="passed training", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    needs_qual = make_hit(mturk, QualificationRequirements=[{"QualificationTypeId": qual, "Comparator": "Exists"}])["HITId"]
    cases = [
        (ids.new_id(), ids.new_worker_id(), "AWS.MechanicalTurk.HITDoesNotExist"),
        (full, ids.new_worker_id(), "AWS.MechanicalTurk.HITNotAssignable"),
        (expired, ids.new_worker_id(), "AWS.MechanicalTurk.HITNotAssignable"),
        (open_hit, "AREPEATWORKER1", "AWS.MechanicalTurk.DuplicateAssignment"),
        (open_hit, "ABLOCKEDWORKER1", "AWS.MechanicalTurk.WorkerBlocked"),
        (needs_qual, "AUNTRAINED0001", "AWS.MechanicalTurk.QualificationRequirementNotMet"),
        (open_hit, "not-a-worker", "AWS.MechanicalTurk.ValidationError"),
    ]
    for hit_id, worker_id, code in cases:
        with worker_side(turk) as ctx:
            assert refused(assignments.accept, ctx, hit_id, worker_id).turk_code == code
    mturk.associate_qualification_with_worker(QualificationTypeId=qual, WorkerId="AUNTRAINED0001", IntegerValue=1)
    assert work(turk, needs_qual, worker_id="AUNTRAINED0001")
    # a worker who returned the HIT may take it again
    with worker_side(turk) as ctx:
        assignments.return_assignment(ctx, taken_by)
    again = work(turk, open_hit, worker_id="AREPEATWORKER1")
    assert again != taken_by


def test_submit_and_return_refusals(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=3, AssignmentDurationInSeconds=60)["HITId"]
    submitted = work(turk, hit)
    late = work(turk, hit, submit=False)
    with worker_side(turk) as ctx:
        assert refused(assignments.submit, ctx, submitted, ANSWER).turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"
        assert refused(assignments.return_assignment, ctx, submitted).turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"
        assert refused(assignments.submit, ctx, ids.new_id(), ANSWER).turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    turk.store.advance_clock(61)
    with worker_side(turk) as ctx:  # before the settler has run, the deadline still holds
        assert refused(assignments.submit, ctx, late, ANSWER).turk_code == "AWS.MechanicalTurk.AssignmentDeadlinePassed"


def test_get_assignment_shape_and_visibility(turk, mturk):
    hit = make_hit(mturk, AutoApprovalDelayInSeconds=3600)
    accepted = work(turk, hit["HITId"], submit=False)
    with pytest.raises(ClientError) as excinfo:  # never submitted: the requester cannot see it
        mturk.get_assignment(AssignmentId=accepted)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assignment_id = work(turk, hit["HITId"], worker_id="AWORKER0000001")
    got = mturk.get_assignment(AssignmentId=assignment_id)
    a = got["Assignment"]
    assert re.fullmatch(r"[A-Z0-9]{30}", assignment_id)
    assert (a["AssignmentId"], a["WorkerId"], a["HITId"], a["AssignmentStatus"]) == (assignment_id, "AWORKER0000001", hit["HITId"], "Submitted")
    assert a["Answer"] == ANSWER
    assert (a["AutoApprovalTime"] - a["SubmitTime"]).total_seconds() == pytest.approx(3600)
    assert (a["Deadline"] - a["AcceptTime"]).total_seconds() == pytest.approx(600)
    assert "ApprovalTime" not in a and "RejectionTime" not in a and "RequesterFeedback" not in a
    assert got["HIT"]["HITId"] == hit["HITId"]
    assert got["HIT"]["NumberOfAssignmentsPending"] == 1


def test_approve_and_reject_transitions(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=3)["HITId"]
    good, bad, late = (work(turk, hit) for _ in range(3))
    mturk.approve_assignment(AssignmentId=good, RequesterFeedback="thanks")
    mturk.reject_assignment(AssignmentId=bad, RequesterFeedback="no data arrived")
    a = mturk.get_assignment(AssignmentId=good)["Assignment"]
    assert (a["AssignmentStatus"], a["RequesterFeedback"]) == ("Approved", "thanks")
    assert "ApprovalTime" in a and "RejectionTime" not in a
    r = mturk.get_assignment(AssignmentId=bad)["Assignment"]
    assert (r["AssignmentStatus"], r["RequesterFeedback"]) == ("Rejected", "no data arrived")
    assert "RejectionTime" in r
    assert mturk.get_hit(HITId=hit)["HIT"]["NumberOfAssignmentsCompleted"] == 2
    for call in (
        lambda: mturk.approve_assignment(AssignmentId=good),
        lambda: mturk.reject_assignment(AssignmentId=good, RequesterFeedback="x"),
        lambda: mturk.approve_assignment(AssignmentId=bad),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert turk_code(excinfo) == "AWS.MechanicalTurk.InvalidAssignmentState"
        assert excinfo.value.response["Error"]["Message"].startswith(NOT_SUBMITTED)
    # OverrideRejection approves a rejected assignment; it was counted as completed already
    balance = mturk.get_account_balance()["AvailableBalance"]
    mturk.approve_assignment(AssignmentId=bad, OverrideRejection=True)
    r = mturk.get_assignment(AssignmentId=bad)["Assignment"]
    assert r["AssignmentStatus"] == "Approved" and "RejectionTime" not in r
    assert mturk.get_hit(HITId=hit)["HIT"]["NumberOfAssignmentsCompleted"] == 2
    assert mturk.get_account_balance()["AvailableBalance"] == f"{float(balance) - 0.60:.2f}"
    mturk.reject_assignment(AssignmentId=late, RequesterFeedback="late")
    turk.store.advance_clock(31 * DAY)
    with pytest.raises(ClientError) as excinfo:
        mturk.approve_assignment(AssignmentId=late, OverrideRejection=True)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InvalidAssignmentState"


def test_reject_takes_empty_feedback_as_amazon_does(turk, mturk):
    """RequesterFeedback is required, but Amazon accepts it empty: psiTurk always sends ''."""
    hit = make_hit(mturk, MaxAssignments=3)["HITId"]
    empty, blank, long = (work(turk, hit) for _ in range(3))
    mturk.reject_assignment(AssignmentId=empty, RequesterFeedback="")
    mturk.reject_assignment(AssignmentId=blank, RequesterFeedback="   ")
    for assignment_id in (empty, blank):
        assert mturk.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"] == "Rejected"
    with pytest.raises(ClientError) as excinfo:
        mturk.reject_assignment(AssignmentId=long, RequesterFeedback="x" * 1025)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.ValidationError"
    assert mturk.get_assignment(AssignmentId=long)["Assignment"]["AssignmentStatus"] == "Submitted"


# -- listing -------------------------------------------------------------------------------------
def test_list_assignments_filters_statuses_and_hides_unsubmitted(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=5)["HITId"]
    approved, rejected, submitted = (work(turk, hit) for _ in range(3))
    work(turk, hit, submit=False)
    returned = work(turk, hit, submit=False)
    with worker_side(turk) as ctx:
        assignments.return_assignment(ctx, returned)
    mturk.approve_assignment(AssignmentId=approved)
    mturk.reject_assignment(AssignmentId=rejected, RequesterFeedback="no")

    def listed(**kw):
        return [a["AssignmentId"] for a in mturk.list_assignments_for_hit(HITId=hit, **kw)["Assignments"]]

    assert listed() == [approved, rejected, submitted]
    assert listed(AssignmentStatuses=["Submitted"]) == [submitted]
    assert listed(AssignmentStatuses=["Approved", "Rejected"]) == [approved, rejected]


def test_list_assignments_pages_are_stable_while_work_arrives(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=400)["HITId"]
    with worker_side(turk) as ctx:
        made = []
        for _ in range(260):
            a = assignments.accept(ctx, hit, ids.new_worker_id())
            assignments.submit(ctx, a, ANSWER)
            made.append(a)
    seen, token, pages = [], None, 0
    while True:
        answer = mturk.list_assignments_for_hit(HITId=hit, MaxResults=100, **({"NextToken": token} if token else {}))
        assert answer["NumResults"] == len(answer["Assignments"])
        seen += [a["AssignmentId"] for a in answer["Assignments"]]
        pages += 1
        if pages == 1:
            made.append(work(turk, hit))
            mturk.approve_assignment(AssignmentId=made[3])  # a status change moves nothing
        token = answer.get("NextToken")
        if not token:
            break
    assert (pages, seen) == (3, made)
    paginated = mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit, PaginationConfig={"PageSize": 100})
    assert [a["AssignmentId"] for page in paginated for a in page["Assignments"]] == made


# -- events --------------------------------------------------------------------------------------
def test_each_transition_emits_its_event(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=2, AssignmentDurationInSeconds=60)
    mturk.update_notification_settings(
        HITTypeId=hit["HITTypeId"],
        Notification={
            "Destination": "https://sqs.us-east-1.amazonaws.com/123456789012/babe-events",
            "Transport": "SQS",
            "Version": "2014-08-15",
            "EventTypes": [
                "AssignmentAccepted", "AssignmentSubmitted", "AssignmentReturned", "AssignmentAbandoned",
                "AssignmentApproved", "AssignmentRejected", "HITReviewable", "HITExpired",
            ],
        },
        Active=True,
    )
    hit_id = hit["HITId"]
    first = work(turk, hit_id)
    returned = work(turk, hit_id, submit=False)
    with worker_side(turk) as ctx:
        assignments.return_assignment(ctx, returned)
    abandoned = work(turk, hit_id, submit=False)
    turk.store.advance_clock(61)
    second = work(turk, hit_id)
    mturk.approve_assignment(AssignmentId=first)
    mturk.reject_assignment(AssignmentId=second, RequesterFeedback="no")
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    events = [
        (e["EventType"], e.get("AssignmentId"))
        for message in notifications.pending_events(turk, limit=100)
        for e in message["message"]["Events"]
        if e["HITId"] == hit_id
    ]
    assert events == [
        ("AssignmentAccepted", first),
        ("AssignmentSubmitted", first),
        ("AssignmentAccepted", returned),
        ("AssignmentReturned", returned),
        ("AssignmentAccepted", abandoned),
        ("AssignmentAbandoned", abandoned),
        ("AssignmentAccepted", second),
        ("AssignmentSubmitted", second),
        ("HITReviewable", None),
        ("AssignmentApproved", first),
        ("AssignmentRejected", second),
        ("HITExpired", None),
    ]


# -- refusals ------------------------------------------------------------------------------------
def test_refused_requests_answer_mturk_error_codes(turk, mturk):
    hit = make_hit(mturk)["HITId"]
    accepted = work(turk, hit, submit=False)
    missing = ids.new_id()
    cases = [
        ("get_assignment", dict(AssignmentId=missing), "AWS.MechanicalTurk.AssignmentDoesNotExist"),
        ("list_assignments_for_hit", dict(HITId=missing), "AWS.MechanicalTurk.HITDoesNotExist"),
        ("list_assignments_for_hit", dict(HITId=hit, AssignmentStatuses=["Accepted"]), "AWS.MechanicalTurk.ValidationError"),
        ("approve_assignment", dict(AssignmentId=missing), "AWS.MechanicalTurk.AssignmentDoesNotExist"),
        ("approve_assignment", dict(AssignmentId=accepted), "AWS.MechanicalTurk.InvalidAssignmentState"),
        ("reject_assignment", dict(AssignmentId=missing, RequesterFeedback="x"), "AWS.MechanicalTurk.AssignmentDoesNotExist"),
        ("reject_assignment", dict(AssignmentId=accepted, RequesterFeedback="x"), "AWS.MechanicalTurk.InvalidAssignmentState"),
    ]
    for operation, params, code in cases:
        with pytest.raises(ClientError) as excinfo:
            getattr(mturk, operation)(**params)
        assert (operation, turk_code(excinfo)) == (operation, code)
