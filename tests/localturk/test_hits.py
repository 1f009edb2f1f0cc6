"""HITs and HIT types through boto3: creation, identity of types, the status machine, expiry,
deletion, extra assignments, tokens and pagination.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from babe_mturk.local import assignments, hits, ids

from .helpers import ANSWER, DAY, QUESTION, hit_params, make_hit, status_of, turk_code, work, worker_side


def test_create_hit_answers_the_hit_shape_with_counts_and_expiration(mturk):
    hit = make_hit(mturk, RequesterAnnotation="exp-1")
    assert re.fullmatch(r"[A-Z0-9]{30}", hit["HITId"])
    assert re.fullmatch(r"[A-Z0-9]{30}", hit["HITTypeId"])
    assert hit["HITStatus"] == "Assignable"
    assert hit["HITReviewStatus"] == "NotReviewed"
    assert (hit["NumberOfAssignmentsAvailable"], hit["NumberOfAssignmentsPending"], hit["NumberOfAssignmentsCompleted"]) == (3, 0, 0)
    assert hit["Reward"] == "0.50"
    assert hit["RequesterAnnotation"] == "exp-1"
    assert hit["Question"] == QUESTION
    assert hit["QualificationRequirements"] == []
    assert isinstance(hit["CreationTime"], datetime)
    assert (hit["Expiration"] - hit["CreationTime"]).total_seconds() == pytest.approx(3600)
    assert mturk.get_hit(HITId=hit["HITId"])["HIT"] == hit


def test_identical_hit_type_values_share_one_type_and_group(mturk):
    values = dict(Title="T", Description="D", Reward="0.5", AssignmentDurationInSeconds=600)
    first = mturk.create_hit_type(**values)["HITTypeId"]
    assert mturk.create_hit_type(**{**values, "Reward": "0.50"})["HITTypeId"] == first
    assert mturk.create_hit_type(**values, AutoApprovalDelayInSeconds=2592000)["HITTypeId"] == first
    assert mturk.create_hit_type(**{**values, "Reward": "0.51"})["HITTypeId"] != first
    assert mturk.create_hit_type(**values, Keywords="k")["HITTypeId"] != first
    # CreateHIT with the same values reuses the type; HITs of one type share the group.
    a = mturk.create_hit(**values, LifetimeInSeconds=600, Question=QUESTION)["HIT"]
    b = mturk.create_hit_with_hit_type(HITTypeId=first, LifetimeInSeconds=600, Question=QUESTION)["HIT"]
    assert a["HITTypeId"] == b["HITTypeId"] == first
    assert a["HITGroupId"] == b["HITGroupId"]
    assert a["AutoApprovalDelayInSeconds"] == 2592000


def test_requirements_are_kept_and_listed_by_qualification_type(mturk):
    qual = mturk.create_qualification_type(
        Name="took part", Description="took part before", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    requirement = {"QualificationTypeId": qual, "Comparator": "DoesNotExist", "ActionsGuarded": "DiscoverPreviewAndAccept"}
    with_req = [make_hit(mturk, QualificationRequirements=[requirement])["HITId"] for _ in range(3)]
    make_hit(mturk)
    assert mturk.get_hit(HITId=with_req[0])["HIT"]["QualificationRequirements"] == [requirement]
    listed = mturk.list_hits_for_qualification_type(QualificationTypeId=qual, MaxResults=2)
    assert listed["NumResults"] == 2 and "NextToken" in listed
    rest = mturk.list_hits_for_qualification_type(QualificationTypeId=qual, NextToken=listed["NextToken"])
    assert [h["HITId"] for h in listed["HITs"] + rest["HITs"]] == with_req
    assert "NextToken" not in rest


# -- status transitions --------------------------------------------------------------------------
def test_status_follows_the_assignments(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=2)["HITId"]
    first = work(turk, hit, submit=False)
    got = mturk.get_hit(HITId=hit)["HIT"]
    assert (got["HITStatus"], got["NumberOfAssignmentsAvailable"], got["NumberOfAssignmentsPending"]) == ("Assignable", 1, 1)
    second = work(turk, hit, submit=False)
    assert status_of(mturk, hit) == "Unassignable"
    with worker_side(turk) as ctx:
        assignments.submit(ctx, first, ANSWER)
    got = mturk.get_hit(HITId=hit)["HIT"]
    # submitted-but-unreviewed work is in none of the three counts
    assert (got["HITStatus"], got["NumberOfAssignmentsAvailable"], got["NumberOfAssignmentsPending"], got["NumberOfAssignmentsCompleted"]) == ("Unassignable", 0, 1, 0)
    with worker_side(turk) as ctx:
        assignments.return_assignment(ctx, second)
    assert status_of(mturk, hit) == "Assignable"  # the returned slot is free again
    work(turk, hit)
    assert status_of(mturk, hit) == "Reviewable"
    mturk.update_hit_review_status(HITId=hit, Revert=False)
    assert status_of(mturk, hit) == "Reviewing"
    assert [h["HITId"] for h in mturk.list_reviewable_hits(Status="Reviewing")["HITs"]] == [hit]
    assert mturk.list_reviewable_hits()["HITs"] == []
    mturk.update_hit_review_status(HITId=hit, Revert=True)
    assert status_of(mturk, hit) == "Reviewable"
    for assignment in mturk.list_assignments_for_hit(HITId=hit)["Assignments"]:
        mturk.approve_assignment(AssignmentId=assignment["AssignmentId"])
    assert mturk.get_hit(HITId=hit)["HIT"]["NumberOfAssignmentsCompleted"] == 2
    mturk.delete_hit(HITId=hit)
    assert status_of(mturk, hit) == "Disposed"
    assert hit not in [h["HITId"] for h in mturk.list_hits()["HITs"]]


def test_expire_now_then_extend(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=2)["HITId"]
    working = work(turk, hit, submit=False)
    mturk.update_expiration_for_hit(HITId=hit, ExpireAt=datetime(2015, 1, 1, tzinfo=timezone.utc))
    got = mturk.get_hit(HITId=hit)["HIT"]
    assert got["HITStatus"] == "Unassignable"  # someone is still working
    assert got["Expiration"].timestamp() <= datetime.now(timezone.utc).timestamp() + 1
    with worker_side(turk) as ctx:  # they may still submit until their deadline
        assert hits.assignable_hits(ctx, [hit]) == []
        assignments.submit(ctx, working, ANSWER)
    assert status_of(mturk, hit) == "Reviewable"
    in_a_day = datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() + DAY, timezone.utc)
    mturk.update_expiration_for_hit(HITId=hit, ExpireAt=in_a_day)
    got = mturk.get_hit(HITId=hit)["HIT"]
    assert got["HITStatus"] == "Assignable"
    assert got["Expiration"].timestamp() == pytest.approx(in_a_day.timestamp())
    with worker_side(turk) as ctx:
        assert [h["hit_id"] for h in hits.assignable_hits(ctx, [hit])] == [hit]


def test_expiring_an_untouched_hit_makes_it_reviewable_and_deletable(mturk):
    hit = make_hit(mturk)["HITId"]
    mturk.update_expiration_for_hit(HITId=hit, ExpireAt=0)
    assert status_of(mturk, hit) == "Reviewable"
    assert [h["HITId"] for h in mturk.list_reviewable_hits()["HITs"]] == [hit]
    mturk.delete_hit(HITId=hit)
    assert status_of(mturk, hit) == "Disposed"


def test_delete_refused_until_every_submission_is_reviewed(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=1)["HITId"]
    with pytest.raises(ClientError) as excinfo:
        mturk.delete_hit(HITId=hit)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InvalidHITState"
    assert "This HIT is currently in the state 'Assignable'. This operation can be called with a status of: Reviewing, Reviewable" in excinfo.value.response["Error"]["Message"]
    assignment = work(turk, hit)
    with pytest.raises(ClientError) as excinfo:
        mturk.delete_hit(HITId=hit)
    assert "currently in the state 'Reviewable'" in excinfo.value.response["Error"]["Message"]
    mturk.reject_assignment(AssignmentId=assignment, RequesterFeedback="no data arrived")
    mturk.delete_hit(HITId=hit)
    # the assignments of a deleted HIT stay readable, as its results do
    assert mturk.get_assignment(AssignmentId=assignment)["HIT"]["HITStatus"] == "Disposed"


def test_hit_type_of_hit_can_change(turk, mturk):
    hit = make_hit(mturk)
    other = mturk.create_hit_type(Title="Other", Description="D", Reward="1.00", AssignmentDurationInSeconds=900)["HITTypeId"]
    mturk.update_hit_type_of_hit(HITId=hit["HITId"], HITTypeId=other)
    got = mturk.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["HITTypeId"], got["Title"], got["Reward"], got["AssignmentDurationInSeconds"]) == (other, "Other", "1.00", 900)
    assert got["HITGroupId"] != hit["HITGroupId"]


# -- additional assignments ----------------------------------------------------------------------
def test_additional_assignments_reopen_a_finished_hit(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=1)["HITId"]
    work(turk, hit)
    assert status_of(mturk, hit) == "Reviewable"
    mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=2, UniqueRequestToken="more-1")
    got = mturk.get_hit(HITId=hit)["HIT"]
    assert (got["HITStatus"], got["MaxAssignments"], got["NumberOfAssignmentsAvailable"]) == ("Assignable", 3, 2)


def test_a_hit_created_below_ten_never_reaches_ten(mturk):
    hit = make_hit(mturk, MaxAssignments=5)["HITId"]
    mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=4)
    with pytest.raises(ClientError) as excinfo:
        mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=1)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    big = make_hit(mturk, MaxAssignments=10)["HITId"]
    mturk.create_additional_assignments_for_hit(HITId=big, NumberOfAdditionalAssignments=5)
    assert mturk.get_hit(HITId=big)["HIT"]["MaxAssignments"] == 15


def test_additional_assignments_token_is_remembered_for_24_hours(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=2, LifetimeInSeconds=3 * DAY)["HITId"]
    mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=1, UniqueRequestToken="tok-A")
    with pytest.raises(ClientError) as excinfo:
        mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=1, UniqueRequestToken="tok-A")
    assert turk_code(excinfo) == "AWS.MechanicalTurk.DuplicateRequest"
    assert excinfo.value.response["Error"]["Message"].startswith('The idempotency token "tok-A" has already been processed.')
    assert mturk.get_hit(HITId=hit)["HIT"]["MaxAssignments"] == 3
    turk.store.advance_clock(25 * 3600)
    mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=1, UniqueRequestToken="tok-A")
    assert mturk.get_hit(HITId=hit)["HIT"]["MaxAssignments"] == 4


# -- UniqueRequestToken on CreateHIT -------------------------------------------------------------
def test_duplicate_create_hit_token_names_the_existing_hit(turk, mturk):
    first = make_hit(mturk, UniqueRequestToken="plan-1-hit-0")["HITId"]
    with pytest.raises(ClientError) as excinfo:
        make_hit(mturk, UniqueRequestToken="plan-1-hit-0")
    assert turk_code(excinfo) == "AWS.MechanicalTurk.HitAlreadyExists"
    assert re.search(r"HITId: ([A-Z0-9]+)", excinfo.value.response["Error"]["Message"]).group(1) == first
    # CreateHITWithHITType shares the token family with CreateHIT
    hit_type = mturk.get_hit(HITId=first)["HIT"]["HITTypeId"]
    with pytest.raises(ClientError) as excinfo:
        mturk.create_hit_with_hit_type(HITTypeId=hit_type, LifetimeInSeconds=600, Question=QUESTION, UniqueRequestToken="plan-1-hit-0")
    assert turk_code(excinfo) == "AWS.MechanicalTurk.HitAlreadyExists"
    assert len(mturk.list_hits()["HITs"]) == 1
    turk.store.advance_clock(25 * 3600)
    second = make_hit(mturk, UniqueRequestToken="plan-1-hit-0")["HITId"]
    assert second != first


def test_token_still_remembered_just_before_24_hours(turk, mturk):
    make_hit(mturk, UniqueRequestToken="t", LifetimeInSeconds=2 * DAY)
    turk.store.advance_clock(DAY - 60)
    with pytest.raises(ClientError) as excinfo:
        make_hit(mturk, UniqueRequestToken="t")
    assert turk_code(excinfo) == "AWS.MechanicalTurk.HitAlreadyExists"


# -- review policies -----------------------------------------------------------------------------
def test_review_policies_are_answered_back_with_empty_reports(mturk):
    policy = {"PolicyName": "ScoreMyKnownAnswers/2011-09-01", "Parameters": [{"Key": "AnswerKey", "MapEntries": [{"Key": "q1", "Values": ["a"]}]}]}
    hit = make_hit(mturk, AssignmentReviewPolicy=policy)["HITId"]
    answer = mturk.list_review_policy_results_for_hit(HITId=hit, PolicyLevels=["Assignment"])
    assert answer["HITId"] == hit
    assert answer["AssignmentReviewPolicy"] == policy
    assert "HITReviewPolicy" not in answer
    assert answer["AssignmentReviewReport"] == {"ReviewResults": [], "ReviewActions": []}
    assert "HITReviewReport" not in answer
    plain = mturk.list_review_policy_results_for_hit(HITId=make_hit(mturk)["HITId"])
    assert "AssignmentReviewPolicy" not in plain and plain["HITReviewReport"] == {"ReviewResults": [], "ReviewActions": []}


# -- pagination ----------------------------------------------------------------------------------
def test_list_hits_pages_are_stable_while_hits_are_added_and_deleted(mturk):
    created = [make_hit(mturk, MaxAssignments=1)["HITId"] for _ in range(260)]
    seen, token, pages = [], None, 0
    while True:
        answer = mturk.list_hits(MaxResults=100, **({"NextToken": token} if token else {}))
        assert answer["NumResults"] == len(answer["HITs"])
        seen += [h["HITId"] for h in answer["HITs"]]
        pages += 1
        if pages == 1:  # inserts between pages land at the end, never shift what follows
            created.append(make_hit(mturk)["HITId"])
            mturk.update_expiration_for_hit(HITId=created[5], ExpireAt=0)
            mturk.delete_hit(HITId=created[5])
        token = answer.get("NextToken")
        if not token:
            break
    # As Amazon answers: the last non-empty page (61 HITs) carries a NextToken too, and only the
    # empty page after it has none, so Mephisto's "until an empty page" and botocore's "until no
    # token" both end.
    assert pages == 4 and answer["NumResults"] == 0
    assert seen == created
    assert len(mturk.list_hits(MaxResults=100)["HITs"]) == 100
    assert created[5] not in [h["HITId"] for h in mturk.list_hits(MaxResults=10)["HITs"]]


def test_paginator_walks_reviewable_hits_of_one_type(mturk):
    reviewable = []
    for i in range(12):
        hit = make_hit(mturk, Title=f"type {i % 2}")
        if i % 3:
            mturk.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=0)
            if i % 2 == 0:
                reviewable.append(hit)
    hit_type = reviewable[0]["HITTypeId"]
    pages = mturk.get_paginator("list_reviewable_hits").paginate(HITTypeId=hit_type, PaginationConfig={"PageSize": 2})
    assert [h["HITId"] for page in pages for h in page["HITs"]] == [h["HITId"] for h in reviewable]


# -- refusals, one or more per operation ---------------------------------------------------------
def _refusals(mturk, turk):
    hit = make_hit(mturk)
    assignable = hit["HITId"]
    reviewable = make_hit(mturk)["HITId"]
    mturk.update_expiration_for_hit(HITId=reviewable, ExpireAt=0)
    disposed = make_hit(mturk)["HITId"]
    mturk.update_expiration_for_hit(HITId=disposed, ExpireAt=0)
    mturk.delete_hit(HITId=disposed)
    missing = ids.new_id()
    make_hit(mturk, UniqueRequestToken="seen")
    return [
        ("create_hit_type", dict(Title="T", Description="D", Reward="0.50", AssignmentDurationInSeconds=600,
                                 QualificationRequirements=[{"QualificationTypeId": missing, "Comparator": "Exists"}]),
         "AWS.MechanicalTurk.QualificationTypeDoesNotExist"),
        ("create_hit", hit_params(UniqueRequestToken="seen"), "AWS.MechanicalTurk.HitAlreadyExists"),
        ("create_hit_with_hit_type", dict(HITTypeId=missing, LifetimeInSeconds=600, Question=QUESTION),
         "AWS.MechanicalTurk.HITTypeDoesNotExist"),
        ("get_hit", dict(HITId=missing), "AWS.MechanicalTurk.HITDoesNotExist"),
        ("list_hits", dict(NextToken="bm90IGEgdG9rZW4"), "AWS.MechanicalTurk.ValidationError"),
        ("list_reviewable_hits", dict(Status="Assignable"), "AWS.MechanicalTurk.ValidationError"),
        ("list_hits_for_qualification_type", dict(QualificationTypeId=missing),
         "AWS.MechanicalTurk.QualificationTypeDoesNotExist"),
        ("update_expiration_for_hit", dict(HITId=missing, ExpireAt=0), "AWS.MechanicalTurk.HITDoesNotExist"),
        ("update_expiration_for_hit", dict(HITId=disposed, ExpireAt=4102444800), "AWS.MechanicalTurk.HITTooOldForExtension"),
        ("update_hit_review_status", dict(HITId=assignable, Revert=False), "AWS.MechanicalTurk.InvalidHITState"),
        ("update_hit_review_status", dict(HITId=reviewable, Revert=True), "AWS.MechanicalTurk.InvalidHITState"),
        ("update_hit_review_status", dict(HITId=missing), "AWS.MechanicalTurk.HITDoesNotExist"),
        ("update_hit_type_of_hit", dict(HITId=assignable, HITTypeId=missing), "AWS.MechanicalTurk.HITTypeDoesNotExist"),
        ("update_hit_type_of_hit", dict(HITId=disposed, HITTypeId=hit["HITTypeId"]), "AWS.MechanicalTurk.InvalidHITState"),
        ("delete_hit", dict(HITId=assignable), "AWS.MechanicalTurk.InvalidHITState"),
        ("delete_hit", dict(HITId=disposed), "AWS.MechanicalTurk.InvalidHITState"),
        ("delete_hit", dict(HITId=missing), "AWS.MechanicalTurk.HITDoesNotExist"),
        ("create_additional_assignments_for_hit", dict(HITId=missing, NumberOfAdditionalAssignments=1),
         "AWS.MechanicalTurk.HITDoesNotExist"),
        ("create_additional_assignments_for_hit", dict(HITId=disposed, NumberOfAdditionalAssignments=1),
         "AWS.MechanicalTurk.InvalidHITState"),
        ("list_review_policy_results_for_hit", dict(HITId=missing), "AWS.MechanicalTurk.HITDoesNotExist"),
    ]


def test_refused_requests_answer_mturk_error_codes(turk, mturk):
    for operation, params, code in _refusals(mturk, turk):
        with pytest.raises(ClientError) as excinfo:
            getattr(mturk, operation)(**params)
        assert (operation, turk_code(excinfo)) == (operation, code)
        assert excinfo.value.response["Error"]["Code"] == "RequestError"


def test_unknown_hit_message_is_mturks(mturk):
    with pytest.raises(ClientError) as excinfo:
        mturk.get_hit(HITId="3NOSUCHHIT")
    assert excinfo.value.response["Error"]["Message"].startswith("Hit 3NOSUCHHIT does not exist. (")


# -- output shapes -------------------------------------------------------------------------------
def conforms(shape, value, path="") -> list[str]:
    """Where `value` (a raw wire answer) strays from botocore's shape: unknown members, wrong types.

    botocore's parser silently drops members it does not know, so this is checked before parsing.
    """
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        problems = [f"{path}.{k}: not in {shape.name}" for k in value if k not in shape.members]
        for k, v in value.items():
            if k in shape.members:
                problems += conforms(shape.members[k], v, f"{path}.{k}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [p for i, item in enumerate(value) for p in conforms(shape.member, item, f"{path}[{i}]")]
    expected = {
        "string": str, "integer": int, "long": int, "boolean": bool, "timestamp": (int, float), "double": (int, float),
    }[kind]
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        return [f"{path}: {type(value).__name__} is not a {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []


def test_raw_answers_match_botocores_output_shapes(turk, mturk):
    model = mturk.meta.service_model
    policy = {"PolicyName": "ScoreMyKnownAnswers/2011-09-01", "Parameters": [{"Key": "k", "Values": ["v"]}]}
    hit = make_hit(mturk, AssignmentReviewPolicy=policy, MaxAssignments=2)
    done = work(turk, hit["HITId"], worker_id="ASHAPEWORKER01")
    rejected = work(turk, hit["HITId"])
    turk.call("RejectAssignment", {"AssignmentId": rejected, "RequesterFeedback": "no"})
    turk.call("SendBonus", {"WorkerId": "ASHAPEWORKER01", "AssignmentId": done, "BonusAmount": "0.10", "Reason": "r"})
    calls = [
        ("CreateHITType", dict(Title="T", Description="D", Reward="0.10", AssignmentDurationInSeconds=60)),
        ("CreateHIT", hit_params()),
        ("CreateHITWithHITType", dict(HITTypeId=hit["HITTypeId"], LifetimeInSeconds=600, Question=QUESTION)),
        ("GetHIT", dict(HITId=hit["HITId"])),
        ("ListHITs", dict(MaxResults=1)),
        ("ListReviewableHITs", dict()),
        ("ListReviewPolicyResultsForHIT", dict(HITId=hit["HITId"])),
        ("GetAssignment", dict(AssignmentId=done)),
        ("ListAssignmentsForHIT", dict(HITId=hit["HITId"])),
        ("ListBonusPayments", dict(AssignmentId=done)),
        ("GetAccountBalance", dict()),
        ("ApproveAssignment", dict(AssignmentId=done)),
        ("CreateAdditionalAssignmentsForHIT", dict(HITId=hit["HITId"], NumberOfAdditionalAssignments=1)),
        ("UpdateExpirationForHIT", dict(HITId=hit["HITId"], ExpireAt=0)),
        ("UpdateHITReviewStatus", dict(HITId=hit["HITId"])),
        ("UpdateHITTypeOfHIT", dict(HITId=hit["HITId"], HITTypeId=hit["HITTypeId"])),
    ]
    for operation, params in calls:
        answer = turk.call(operation, params)
        assert (operation, conforms(model.operation_model(operation).output_shape, answer)) == (operation, [])
    got = turk.call("GetAssignment", {"AssignmentId": done})["Assignment"]
    assert {"ApprovalTime", "Answer", "SubmitTime", "AutoApprovalTime"} <= set(got)
