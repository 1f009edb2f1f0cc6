"""Request validation: botocore's model plus MTurk's rules, seen through a real boto3 client.

botocore checks required members, types and minimums before sending, so requests that break those
go through a client with `parameter_validation=False`; everything else (patterns, maximums,
enums, MTurk's limits, the Question document) goes through the ordinary client, as a lab's
mistakes would. Every rejected request is also checked through `LocalTurk.call`, where the
`ValidationError` keeps the member path and the rule apart.
"""

from __future__ import annotations

import copy
import json
import os
import re
import timeit

import botocore.exceptions
import pytest
from botocore import xform_name

from babe_mturk.local import client, inprocess, questions, service, validation
from babe_mturk.local.errors import RequestError, ValidationError

H = "3KG2UQJ0MJN3LQXWXWXGJ8B6Y0NQMK"  # a HITId as MTurk writes them
A = "3A7Y0R2P2ONTR6DR9Q28LNS1Y0JXJO"
T = "3ZLW647WALVGE8EBR50EGUBPU4P32A"
Q = "3MJ28H2Y1E4BPBSPKUPQXRHG0XNHQR"
W = "A2QDYWWQ1EG8ZH"

EQ_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
HQ_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
QF_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"


def external(url: str, height: str = "600", extra: str = "") -> str:
    return f'<ExternalQuestion xmlns="{EQ_NS}"><ExternalURL>{url}</ExternalURL><FrameHeight>{height}</FrameHeight>{extra}</ExternalQuestion>'


EXTERNAL = external("https://example.org/experiment/")
NOTIFICATION = {
    "Destination": "https://sqs.us-east-1.amazonaws.com/123456789012/babe",
    "Transport": "SQS",
    "Version": "2014-08-15",
    "EventTypes": ["AssignmentSubmitted", "HITReviewable"],
}
REQUIREMENTS = [
    {"QualificationTypeId": "00000000000000000071", "Comparator": "In", "LocaleValues": [{"Country": "US"}, {"Country": "CA"}]},
    {"QualificationTypeId": "000000000000000000L0", "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]},
    {"QualificationTypeId": Q, "Comparator": "DoesNotExist", "ActionsGuarded": "DiscoverPreviewAndAccept"},
]
HIT_TYPE = {
    "AssignmentDurationInSeconds": 3600,
    "AutoApprovalDelayInSeconds": 259200,
    "Reward": "0.50",
    "Title": "A short psychology experiment",
    "Keywords": "psychology, experiment",
    "Description": "Read sentences and answer questions about them.",
    "QualificationRequirements": REQUIREMENTS,
}

#: One valid request per operation of the model.
VALID: dict[str, dict] = {
    "AcceptQualificationRequest": {"QualificationRequestId": "3QRQRQRQRQ", "IntegerValue": 1},
    "ApproveAssignment": {"AssignmentId": A, "RequesterFeedback": "Thank you", "OverrideRejection": False},
    "AssociateQualificationWithWorker": {"QualificationTypeId": Q, "WorkerId": W, "IntegerValue": 1, "SendNotification": False},
    "CreateAdditionalAssignmentsForHIT": {"HITId": H, "NumberOfAdditionalAssignments": 3, "UniqueRequestToken": "plan-1-hit-0-extend-1"},
    "CreateHIT": {
        **HIT_TYPE,
        "MaxAssignments": 9,
        "LifetimeInSeconds": 86400,
        "Question": EXTERNAL,
        "RequesterAnnotation": "babe:my-experiment",
        "UniqueRequestToken": "plan-1-hit-0",
    },
    "CreateHITType": HIT_TYPE,
    "CreateHITWithHITType": {
        "HITTypeId": T,
        "MaxAssignments": 9,
        "LifetimeInSeconds": 86400,
        "Question": EXTERNAL,
        "RequesterAnnotation": "babe:my-experiment",
        "UniqueRequestToken": "plan-1-hit-1",
    },
    "CreateQualificationType": {
        "Name": "took part in my-experiment",
        "Description": "Granted to every worker seen in my-experiment",
        "QualificationTypeStatus": "Active",
        "Keywords": "babe",
        "AutoGranted": False,
    },
    "CreateWorkerBlock": {"WorkerId": W, "Reason": "Submitted the same answer to every question"},
    "DeleteHIT": {"HITId": H},
    "DeleteQualificationType": {"QualificationTypeId": Q},
    "DeleteWorkerBlock": {"WorkerId": W, "Reason": "Blocked by mistake"},
    "DisassociateQualificationFromWorker": {"WorkerId": W, "QualificationTypeId": Q, "Reason": "Granted by mistake"},
    "GetAccountBalance": {},
    "GetAssignment": {"AssignmentId": A},
    "GetFileUploadURL": {"AssignmentId": A, "QuestionIdentifier": "upload"},
    "GetHIT": {"HITId": H},
    "GetQualificationScore": {"QualificationTypeId": Q, "WorkerId": W},
    "GetQualificationType": {"QualificationTypeId": Q},
    "ListAssignmentsForHIT": {"HITId": H, "NextToken": "page-2", "MaxResults": 100, "AssignmentStatuses": ["Submitted", "Approved"]},
    "ListBonusPayments": {"AssignmentId": A, "MaxResults": 10},
    "ListHITs": {"MaxResults": 1},
    "ListHITsForQualificationType": {"QualificationTypeId": Q, "MaxResults": 50},
    "ListQualificationRequests": {"QualificationTypeId": Q},
    "ListQualificationTypes": {"MustBeRequestable": False, "MustBeOwnedByCaller": True, "Query": "experiment"},
    "ListReviewPolicyResultsForHIT": {"HITId": H, "PolicyLevels": ["Assignment", "HIT"], "RetrieveActions": True, "RetrieveResults": True},
    "ListReviewableHITs": {"HITTypeId": T, "Status": "Reviewable"},
    "ListWorkerBlocks": {},
    "ListWorkersWithQualificationType": {"QualificationTypeId": Q, "Status": "Granted"},
    "NotifyWorkers": {"Subject": "A new experiment", "MessageText": "Our next study is online.", "WorkerIds": [W, "A1B2C3D4E5F6G7"]},
    "RejectAssignment": {"AssignmentId": A, "RequesterFeedback": "No data reached our server"},
    "RejectQualificationRequest": {"QualificationRequestId": "3QRQRQRQRQ", "Reason": "Test failed"},
    "SendBonus": {"WorkerId": W, "BonusAmount": "0.25", "AssignmentId": A, "Reason": "Fast and careful", "UniqueRequestToken": "bonus-1"},
    "SendTestEventNotification": {"Notification": NOTIFICATION, "TestEventType": "AssignmentSubmitted"},
    "UpdateExpirationForHIT": {"HITId": H, "ExpireAt": 0},
    "UpdateHITReviewStatus": {"HITId": H, "Revert": False},
    "UpdateHITTypeOfHIT": {"HITId": H, "HITTypeId": T},
    "UpdateNotificationSettings": {"HITTypeId": T, "Notification": NOTIFICATION, "Active": True},
    "UpdateQualificationType": {"QualificationTypeId": Q, "Description": "Updated", "QualificationTypeStatus": "Inactive"},
}


def with_(op: str, **changes) -> dict:
    """VALID[op] with members changed (a value of `...` removes the member)."""
    params = copy.deepcopy(VALID[op])
    for key, value in changes.items():
        if value is ...:
            params.pop(key, None)
        else:
            params[key] = value
    return params


def enum_text(shape_name: str) -> str:
    return ", ".join(validation.service_model().shape_for(shape_name).enum)


#: At least one rejected request per operation: (operation, params, member, rule, way in).
#: The way in is "boto3" (the ordinary client sends it), "unchecked" (botocore itself would refuse
#: it before sending, so a client with parameter validation switched off sends it) or "wire" (boto3
#: cannot even serialise it, e.g. an unknown member: the JSON body goes to the transport as is).
REJECTED = [
    ("AcceptQualificationRequest", with_("AcceptQualificationRequest", IntegerValue="1"), "IntegerValue", "must be an integer", "unchecked"),
    ("ApproveAssignment", {"AssignmentId": "3a7y-0r2p"}, "AssignmentId", "must match ^[A-Z0-9]+$", "boto3"),
    ("AssociateQualificationWithWorker", with_("AssociateQualificationWithWorker", WorkerId="B2QDYWWQ1EG8ZH"), "WorkerId", "must match ^A[A-Z0-9]+$", "boto3"),
    ("CreateAdditionalAssignmentsForHIT", with_("CreateAdditionalAssignmentsForHIT", NumberOfAdditionalAssignments=0), "NumberOfAdditionalAssignments", "must be between 1 and 1000000", "boto3"),
    ("CreateHIT", with_("CreateHIT", Title="x" * 129), "Title", "must be at most 128 characters", "boto3"),
    ("CreateHITType", with_("CreateHITType", Reward="0.00"), "Reward", "must be at least 0.01", "boto3"),
    ("CreateHITWithHITType", with_("CreateHITWithHITType", Question=...), "Question", "is required (the page, as an ExternalQuestion, HTMLQuestion or QuestionForm)", "boto3"),
    ("CreateQualificationType", with_("CreateQualificationType", QualificationTypeStatus="Disposed"), "QualificationTypeStatus", "must be one of Active, Inactive", "boto3"),
    ("CreateWorkerBlock", with_("CreateWorkerBlock", Reason=""), "Reason", "must not be empty", "boto3"),
    ("DeleteHIT", {"HITId": "A" * 65}, "HITId", "must be at most 64 characters", "boto3"),
    ("DeleteQualificationType", {}, "QualificationTypeId", "is required", "unchecked"),
    ("DeleteWorkerBlock", with_("DeleteWorkerBlock", Reason="r" * 1025), "Reason", "must be at most 1024 characters", "boto3"),
    ("DisassociateQualificationFromWorker", with_("DisassociateQualificationFromWorker", QualificationTypeId="3mj28h2y"), "QualificationTypeId", "must match ^[A-Z0-9]+$", "boto3"),
    ("GetAccountBalance", {"Verbose": True}, "Verbose", "is not a member of GetAccountBalance (it takes no members)", "wire"),
    ("GetAssignment", {"AssignmentId": ""}, "AssignmentId", "must not be empty", "unchecked"),
    ("GetFileUploadURL", {"AssignmentId": A}, "QuestionIdentifier", "is required", "unchecked"),
    ("GetHIT", {"HITId": "abc"}, "HITId", "must match ^[A-Z0-9]+$", "boto3"),
    ("GetQualificationScore", with_("GetQualificationScore", WorkerId="A"), "WorkerId", "must match ^A[A-Z0-9]+$", "boto3"),
    ("GetQualificationType", {"QualificationTypeId": 123}, "QualificationTypeId", "must be a string", "unchecked"),
    ("ListAssignmentsForHIT", with_("ListAssignmentsForHIT", AssignmentStatuses=["Pending"]), "AssignmentStatuses[0]", "must be one of Submitted, Approved, Rejected", "boto3"),
    ("ListBonusPayments", {"HITId": H, "AssignmentId": A}, "AssignmentId", "cannot be used together with HITId: give one of them", "boto3"),
    ("ListHITs", {"MaxResults": 101}, "MaxResults", "must be between 1 and 100", "boto3"),
    ("ListHITsForQualificationType", with_("ListHITsForQualificationType", NextToken=""), "NextToken", "must not be empty", "unchecked"),
    ("ListQualificationRequests", {"MaxResults": 0}, "MaxResults", "must be between 1 and 100", "unchecked"),
    ("ListQualificationTypes", {"Query": "x"}, "MustBeRequestable", "is required", "unchecked"),
    ("ListReviewPolicyResultsForHIT", with_("ListReviewPolicyResultsForHIT", PolicyLevels=["Worker"]), "PolicyLevels[0]", "must be one of Assignment, HIT", "boto3"),
    ("ListReviewableHITs", {"Status": "Assignable"}, "Status", "must be one of Reviewable, Reviewing", "boto3"),
    ("ListWorkerBlocks", {"NextToken": "n" * 256}, "NextToken", "must be at most 255 characters", "boto3"),
    ("ListWorkersWithQualificationType", with_("ListWorkersWithQualificationType", Status="Pending"), "Status", "must be one of Granted, Revoked", "boto3"),
    ("NotifyWorkers", with_("NotifyWorkers", WorkerIds=[f"A{i:05d}" for i in range(101)]), "WorkerIds", "must hold at most 100 items", "boto3"),
    ("RejectAssignment", with_("RejectAssignment", RequesterFeedback="f" * 1025), "RequesterFeedback", "must be at most 1024 characters", "boto3"),
    ("RejectQualificationRequest", {"Reason": "no"}, "QualificationRequestId", "is required", "unchecked"),
    ("SendBonus", with_("SendBonus", BonusAmount="0"), "BonusAmount", "must be at least 0.01", "boto3"),
    ("SendTestEventNotification", with_("SendTestEventNotification", Notification={**NOTIFICATION, "Transport": "HTTP"}), "Notification.Transport", "must be one of Email, SQS, SNS", "boto3"),
    ("UpdateExpirationForHIT", with_("UpdateExpirationForHIT", ExpireAt=-1), "ExpireAt", "must be at least 0", "boto3"),
    ("UpdateHITReviewStatus", with_("UpdateHITReviewStatus", Revert="false"), "Revert", "must be a boolean (true or false)", "unchecked"),
    ("UpdateHITTypeOfHIT", with_("UpdateHITTypeOfHIT", HITTypeId="x"), "HITTypeId", "must match ^[A-Z0-9]+$", "boto3"),
    ("UpdateNotificationSettings", with_("UpdateNotificationSettings", Notification={**NOTIFICATION, "EventTypes": ["Nope"]}), "Notification.EventTypes[0]", f"must be one of {enum_text('EventType')}", "boto3"),
    ("UpdateQualificationType", with_("UpdateQualificationType", QualificationTypeStatus="Disposed"), "QualificationTypeStatus", "must be one of Active, Inactive", False),
]


@pytest.fixture
def unreachable_handlers(monkeypatch):
    """Replace every handler by one that fails the test: validation must refuse first.

    This also makes the rejection tests independent of which operation handlers exist yet.
    """

    def unreachable(ctx, params):
        raise AssertionError("validation let an invalid request through to the handler")

    for name in validation.operations():
        monkeypatch.setitem(service._OPERATIONS, name, service.Operation(name, unreachable, False))


@pytest.fixture(scope="module")
def shared_turk(tmp_path_factory):
    """One local MTurk and two boto3 clients for the module's rejection tests.

    No request here reaches a handler, so no test leaves state for another, and building a boto3
    client costs a fifth of a second. The environment is made hermetic while the clients are built,
    as `babe_env` (tests/conftest.py) does for each test.
    """
    from types import SimpleNamespace

    from babe_mturk.local.service import LocalTurk

    folder = tmp_path_factory.mktemp("validation")
    with pytest.MonkeyPatch.context() as env:
        for key in list(os.environ):
            if key.startswith(("AWS_", "BABE_")):
                env.delenv(key)
        env.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        turk = LocalTurk(str(folder / "localturk.sqlite"))
        shared = SimpleNamespace(
            turk=turk,
            checked=client(turk=turk),  # the ordinary client, with botocore's own validation
            unchecked=client(turk=turk, parameter_validation=False),  # like a client that checks nothing
        )
    yield shared
    turk.store.close()


@pytest.fixture
def local(shared_turk, unreachable_handlers):
    return shared_turk


def refusal(exc_info) -> tuple[str, str | None, str]:
    """(error code, TurkErrorCode, message without MTurk's trailing timestamp) of a ClientError."""
    response = exc_info.value.response
    message = re.sub(r" \(\d+\)$", "", response["Error"]["Message"])
    return response["Error"]["Code"], response.get("TurkErrorCode"), message


def refused(op: str, params: dict) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validation.validate(op, params)
    return info.value


# -- the tables cover the model --------------------------------------------------------------


def test_tables_cover_every_operation_of_the_model():
    model_ops = set(validation.service_model().operation_names)
    assert len(model_ops) == 39
    assert set(VALID) == model_ops
    assert {row[0] for row in REJECTED} == model_ops
    assert set(validation.operations()) == model_ops


@pytest.mark.parametrize("op", sorted(VALID))
def test_valid_requests_pass(op):
    validation.validate(op, copy.deepcopy(VALID[op]))


@pytest.mark.parametrize("op, params, member, rule, way", REJECTED, ids=[row[0] for row in REJECTED])
def test_rejected_request_through_the_service(local, op, params, member, rule, way):
    with pytest.raises(ValidationError) as info:
        local.turk.call(op, copy.deepcopy(params))
    err = info.value
    assert (err.member, err.rule) == (member, rule)
    assert err.message == f"{member}: {rule}"
    assert err.turk_code == "AWS.MechanicalTurk.ValidationError" and err.status == 400


@pytest.mark.parametrize("op, params, member, rule, way", REJECTED, ids=[row[0] for row in REJECTED])
def test_rejected_request_on_the_wire(local, op, params, member, rule, way):
    if way == "wire":
        status, body = inprocess.answer(local.turk, inprocess.TARGET_PREFIX + op, json.dumps(params).encode())
        answer = json.loads(body)
        assert status == 400
        assert answer["__type"] == "RequestError" and answer["TurkErrorCode"] == "AWS.MechanicalTurk.ValidationError"
        assert re.sub(r" \(\d+\)$", "", answer["Message"]) == f"{member}: {rule}"
        return
    mturk = local.unchecked if way == "unchecked" else local.checked
    with pytest.raises(botocore.exceptions.ClientError) as info:
        getattr(mturk, xform_name(op))(**copy.deepcopy(params))
    assert refusal(info) == ("RequestError", "AWS.MechanicalTurk.ValidationError", f"{member}: {rule}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("op, params, member, rule, way", [row for row in REJECTED if row[4] != "wire"], ids=[row[0] for row in REJECTED if row[4] != "wire"])
def test_the_way_in_is_the_ordinary_client_when_botocore_lets_it_through(op, params, member, rule, way):
    """The table's "unchecked" rows are exactly those botocore's own validation refuses."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(copy.deepcopy(params), validation.service_model().operation_model(op).input_shape)
    assert report.has_errors() == (way == "unchecked")


@pytest.mark.parametrize("op", sorted(VALID))
def test_every_required_member_is_required(local, op):
    required = validation.service_model().operation_model(op).input_shape.required_members
    for name in required:
        with pytest.raises(ValidationError) as info:
            local.turk.call(op, with_(op, **{name: ...}))
        assert info.value.message == f"{name}: is required"


def test_botocore_checks_only_what_it_checks(mturk, unreachable_handlers):
    """The reason the local MTurk validates at all: the ordinary client sends these as they are."""
    with pytest.raises(botocore.exceptions.ParamValidationError):
        mturk.get_hit()  # required: botocore refuses before sending
    with pytest.raises(botocore.exceptions.ClientError) as info:
        mturk.get_hit(HITId="not-an-id")  # patterns: the server refuses
    assert refusal(info)[2] == "HITId: must match ^[A-Z0-9]+$"


# -- the model's types, recursively ----------------------------------------------------------

WRONG_VALUES = {
    "string": [None, 7, True, [], {}],
    "integer": [None, "7", 7.5, 7.0, True, [], {}, 2**31],
    "long": [None, "7", 7.5, True, [], {}, 2**63],
    "boolean": [None, "true", 1, 0, [], {}],
    "timestamp": [None, "2026-11-28", True, [], {}, float("inf"), float("nan")],
    "list": [None, "x", 7, {}, [None]],
    "structure": [None, "x", 7, [], [{}], {"NotAMember": 1}],
}


@pytest.mark.parametrize("op", sorted(VALID))
def test_wrong_types_are_refused_naming_the_member(op):
    """Whatever is sent in place of a member, the answer is a ValidationError naming it (never a 500)."""
    shape = validation.service_model().operation_model(op).input_shape
    checked = 0
    for name, member in shape.members.items():
        for wrong in WRONG_VALUES[member.type_name]:
            params = with_(op, **{name: wrong})
            if name == "HITLayoutParameters" or name == "HITLayoutId":
                continue  # refused whatever their value: see test_hit_layouts_are_refused
            err = refused(op, params)
            assert err.member == name or err.member.startswith((f"{name}[", f"{name}.")), (name, wrong, err.message)
            checked += 1
    assert checked >= len(shape.members) - 2 * ("HITLayoutId" in shape.members)


@pytest.mark.parametrize(
    "params, member, rule",
    [
        ({"QualificationRequirements": [REQUIREMENTS[0], {"QualificationTypeId": Q, "Comparator": "Above"}]},
         "QualificationRequirements[1].Comparator", f"must be one of {enum_text('Comparator')}"),
        ({"QualificationRequirements": [{"QualificationTypeId": Q, "Comparator": "Exists", "RequiredToPreview": "yes"}]},
         "QualificationRequirements[0].RequiredToPreview", "must be a boolean (true or false)"),
        ({"QualificationRequirements": [{"QualificationTypeId": Q, "Comparator": "Exists", "ActionsGuarded": "Preview"}]},
         "QualificationRequirements[0].ActionsGuarded", "must be one of Accept, PreviewAndAccept, DiscoverPreviewAndAccept"),
        ({"QualificationRequirements": [{"Comparator": "Exists"}]}, "QualificationRequirements[0].QualificationTypeId", "is required"),
        ({"QualificationRequirements": [{"QualificationTypeId": "q-1", "Comparator": "Exists"}]},
         "QualificationRequirements[0].QualificationTypeId", "must match ^[A-Z0-9]+$"),
        ({"QualificationRequirements": [{"QualificationTypeId": Q, "Comparator": "In", "IntegerValues": [1, "2"]}]},
         "QualificationRequirements[0].IntegerValues[1]", "must be an integer"),
        ({"QualificationRequirements": [{"QualificationTypeId": Q, "Comparator": "In", "LocaleValues": [{"Country": "USA"}]}]},
         "QualificationRequirements[0].LocaleValues[0].Country", "must be at most 2 characters"),
        ({"QualificationRequirements": [{"QualificationTypeId": Q, "Comparator": "In", "LocaleValues": [{"Subdivision": "NY"}]}]},
         "QualificationRequirements[0].LocaleValues[0].Country", "is required"),
        ({"QualificationRequirements": [{"QualificationTypeId": Q, "Comparator": "Exists", "Extra": 1}]},
         "QualificationRequirements[0].Extra",
         "is not a member of QualificationRequirement (its members: QualificationTypeId, Comparator, IntegerValues, "
         "LocaleValues, RequiredToPreview, ActionsGuarded)"),
    ],
)
def test_nested_members_are_named_by_path(params, member, rule):
    err = refused("CreateHITType", with_("CreateHITType", **params))
    assert (err.member, err.rule) == (member, rule)


def test_a_trailing_newline_does_not_sneak_past_a_pattern():
    assert refused("GetHIT", {"HITId": H + "\n"}).rule == "must match ^[A-Z0-9]+$"


def test_the_body_must_be_an_object():
    err = refused("GetHIT", ["HITId", H])
    assert (err.member, err.rule) == ("Request", "must be an object")


def test_lone_surrogates_are_refused_in_free_text():
    assert refused("CreateHITType", with_("CreateHITType", Title="broken \ud800")).message == (
        "Title: must be valid Unicode text (it holds a lone surrogate)"
    )
    validation.validate("CreateHITType", with_("CreateHITType", Title="Expérience 🧪"))


def test_an_operation_outside_the_model_is_not_validated_into_a_500():
    with pytest.raises(RequestError) as info:
        validation.validate("GetHITs", {})
    assert info.value.turk_code == "AWS.MechanicalTurk.UnknownOperation"


def test_enum_messages_come_from_the_installed_model():
    values = validation.service_model().shape_for("Comparator").enum
    err = refused("CreateHITType", with_("CreateHITType", QualificationRequirements=[{"QualificationTypeId": Q, "Comparator": "Between"}]))
    assert err.rule == "must be one of " + ", ".join(values)


# -- MTurk's own rules -----------------------------------------------------------------------

DAY = 86400


@pytest.mark.parametrize(
    "op, member, value, rule",
    [
        ("CreateHIT", "Title", "", "must not be empty"),
        ("CreateHIT", "Title", "t" * 129, "must be at most 128 characters"),
        ("CreateHITType", "Description", "", "must not be empty"),
        ("CreateHITType", "Description", "d" * 2001, "must be at most 2000 characters"),
        ("CreateHIT", "Keywords", "k" * 1001, "must be at most 1000 characters"),
        ("CreateHITWithHITType", "RequesterAnnotation", "a" * 256, "must be at most 255 characters"),
        ("CreateHIT", "LifetimeInSeconds", 29, "must be between 30 and 31536000 (30 seconds to 365 days)"),
        ("CreateHITWithHITType", "LifetimeInSeconds", 365 * DAY + 1, "must be between 30 and 31536000 (30 seconds to 365 days)"),
        ("CreateHITType", "AssignmentDurationInSeconds", 29, "must be between 30 and 31536000 (30 seconds to 365 days)"),
        ("CreateHIT", "AssignmentDurationInSeconds", 365 * DAY + 1, "must be between 30 and 31536000 (30 seconds to 365 days)"),
        ("CreateHITType", "AutoApprovalDelayInSeconds", -1, "must be between 0 and 2592000 (0 to 30 days)"),
        ("CreateHIT", "AutoApprovalDelayInSeconds", 30 * DAY + 1, "must be between 0 and 2592000 (0 to 30 days)"),
        ("CreateHIT", "MaxAssignments", 0, "must be between 1 and 1000000"),
        ("CreateHITWithHITType", "MaxAssignments", 1_000_001, "must be between 1 and 1000000"),
        ("CreateHIT", "Reward", "0", "must be at least 0.01"),
        ("CreateHIT", "Reward", "0.001", "must match ^[0-9]+(\\.)?[0-9]{0,2}$"),
        ("CreateHIT", "Reward", "$0.50", "must match ^[0-9]+(\\.)?[0-9]{0,2}$"),
        ("CreateHIT", "Reward", "-1", "must match ^[0-9]+(\\.)?[0-9]{0,2}$"),
        ("CreateHIT", "Reward", 0.5, "must be a string"),
        ("SendBonus", "BonusAmount", "0.00", "must be at least 0.01"),
        ("SendBonus", "BonusAmount", "1e3", "must match ^[0-9]+(\\.)?[0-9]{0,2}$"),
        ("SendBonus", "Reason", "", "must not be empty"),
        ("SendBonus", "Reason", "r" * 1025, "must be at most 1024 characters"),
        ("SendBonus", "UniqueRequestToken", "t" * 65, "must be at most 64 characters"),
        ("CreateHIT", "UniqueRequestToken", "t" * 65, "must be at most 64 characters"),
        ("ApproveAssignment", "RequesterFeedback", "f" * 1025, "must be at most 1024 characters"),
        ("NotifyWorkers", "WorkerIds", [], "must hold at least 1 item"),
        ("NotifyWorkers", "Subject", "", "must not be empty"),
        ("NotifyWorkers", "Subject", "s" * 201, "must be at most 200 characters"),
        ("NotifyWorkers", "MessageText", "", "must not be empty"),
        ("NotifyWorkers", "MessageText", "m" * 4097, "must be at most 4096 characters"),
        ("UpdateExpirationForHIT", "ExpireAt", -0.5, "must be at least 0"),
        ("CreateHIT", "QualificationRequirements", REQUIREMENTS * 3 + [REQUIREMENTS[0], REQUIREMENTS[1]], "must hold at most 10 items"),
    ],
)
def test_mturk_limits(op, member, value, rule):
    err = refused(op, with_(op, **{member: value}))
    assert (err.member, err.rule) == (member, rule)


@pytest.mark.parametrize(
    "op, member, value",
    [
        ("CreateHIT", "Title", "t" * 128),
        ("CreateHIT", "Description", "d" * 2000),
        ("CreateHIT", "Keywords", "k" * 1000),
        ("CreateHIT", "Keywords", ""),
        ("CreateHIT", "RequesterAnnotation", "a" * 255),
        ("CreateHIT", "LifetimeInSeconds", 30),
        ("CreateHIT", "LifetimeInSeconds", 365 * DAY),
        ("CreateHIT", "AssignmentDurationInSeconds", 30),
        ("CreateHIT", "AutoApprovalDelayInSeconds", 0),
        ("CreateHIT", "AutoApprovalDelayInSeconds", 30 * DAY),
        ("CreateHIT", "MaxAssignments", 1),
        ("CreateHIT", "MaxAssignments", 1_000_000),
        ("CreateHIT", "Reward", "0.01"),
        ("CreateHIT", "Reward", "5"),
        ("CreateHIT", "Reward", "5."),
        ("CreateHIT", "QualificationRequirements", REQUIREMENTS * 3 + [REQUIREMENTS[0]]),
        ("CreateHIT", "QualificationRequirements", []),
        ("SendBonus", "BonusAmount", "0.01"),
        ("SendBonus", "Reason", "r" * 1024),
        ("SendBonus", "UniqueRequestToken", "t" * 64),
        ("ApproveAssignment", "RequesterFeedback", ""),
        ("NotifyWorkers", "WorkerIds", [f"A{i:05d}" for i in range(100)]),
        ("NotifyWorkers", "MessageText", "m" * 4096),
        ("UpdateExpirationForHIT", "ExpireAt", 1795880018.25),
    ],
)
def test_values_at_the_limits_pass(op, member, value):
    validation.validate(op, with_(op, **{member: value}))


def requirement(comparator, **values):
    return {"QualificationTypeId": Q, "Comparator": comparator, **values}


US, CA = {"Country": "US"}, {"Country": "CA", "Subdivision": "QC"}


@pytest.mark.parametrize(
    "req, member, rule",
    [
        (requirement("Exists", IntegerValues=[1]), "IntegerValues", "must be empty for Comparator Exists"),
        (requirement("DoesNotExist", LocaleValues=[US]), "LocaleValues", "must be empty for Comparator DoesNotExist"),
        (requirement("GreaterThan"), "IntegerValues", "must hold exactly one value for Comparator GreaterThan"),
        (requirement("LessThanOrEqualTo", IntegerValues=[1, 2]), "IntegerValues", "must hold exactly one value for Comparator LessThanOrEqualTo"),
        (requirement("LessThan", LocaleValues=[US]), "LocaleValues", "cannot be used with Comparator LessThan (it compares one IntegerValue)"),
        (requirement("EqualTo"), "IntegerValues", "must hold exactly one value for Comparator EqualTo (one IntegerValue or one LocaleValue)"),
        (requirement("NotEqualTo", LocaleValues=[US, CA]), "LocaleValues", "must hold exactly one value for Comparator NotEqualTo (one IntegerValue or one LocaleValue)"),
        (requirement("In"), "IntegerValues", "must hold 1 to 15 values for Comparator In"),
        (requirement("NotIn", IntegerValues=list(range(16))), "IntegerValues", "must hold 1 to 15 values for Comparator NotIn"),
        (requirement("In", LocaleValues=[US] * 31), "LocaleValues", "must hold 1 to 30 values for Comparator In"),
        (requirement("In", IntegerValues=[1], LocaleValues=[US]), "LocaleValues", "cannot be used together with IntegerValues"),
        (requirement("In", LocaleValues=[{"Country": "us"}]), "LocaleValues[0].Country", "must match ^[A-Z]{2}$ (an ISO 3166-1 alpha-2 code in capitals, e.g. US)"),
        (requirement("In", LocaleValues=[{"Country": "US", "Subdivision": "ny"}]), "LocaleValues[0].Subdivision", "must match ^[A-Z]{2}$ (an ISO 3166-2 subdivision code in capitals, e.g. WA)"),
    ],
)
def test_comparators_take_the_values_mturk_allows(req, member, rule):
    err = refused("CreateHIT", with_("CreateHIT", QualificationRequirements=[REQUIREMENTS[0], req]))
    assert (err.member, err.rule) == (f"QualificationRequirements[1].{member}", rule)


@pytest.mark.parametrize(
    "req",
    [
        requirement("Exists"),
        requirement("DoesNotExist", IntegerValues=[]),
        requirement("GreaterThanOrEqualTo", IntegerValues=[95]),
        requirement("EqualTo", IntegerValues=[1]),
        requirement("EqualTo", LocaleValues=[CA]),
        requirement("NotEqualTo", LocaleValues=[US]),
        requirement("In", IntegerValues=list(range(15))),
        requirement("NotIn", LocaleValues=[US, CA]),
    ],
)
def test_comparators_accept_their_values(req):
    validation.validate("CreateHITType", with_("CreateHITType", QualificationRequirements=[req]))


def test_create_hit_needs_a_question(local):
    params = with_("CreateHIT", Question=...)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        local.checked.create_hit(**params)
    assert refusal(info)[2] == "Question: is required (the page, as an ExternalQuestion, HTMLQuestion or QuestionForm)"


@pytest.mark.parametrize("op", ["CreateHIT", "CreateHITWithHITType"])
def test_hit_layouts_are_refused_with_the_reason(op):
    err = refused(op, with_(op, Question=..., HITLayoutId="3LAYOUT"))
    assert err.member == "HITLayoutId"
    assert "not supported by the local MTurk" in err.rule and "Question" in err.rule
    err = refused(op, with_(op, HITLayoutParameters=[{"Name": "url", "Value": "https://example.org"}]))
    assert (err.member, err.rule) == ("HITLayoutParameters", "can only be used with HITLayoutId, which the local MTurk does not support")


def test_list_bonus_payments_needs_exactly_one_of_hit_or_assignment():
    assert refused("ListBonusPayments", {}).message == "HITId: is required (ListBonusPayments needs a HITId or an AssignmentId)"
    assert refused("ListBonusPayments", {"HITId": H, "AssignmentId": A}).member == "AssignmentId"
    validation.validate("ListBonusPayments", {"HITId": H})


def test_mturk_limits_through_boto3(local):
    """A sample of MTurk's rules as a lab meets them: the ordinary client sends, the server refuses."""
    mturk = local.checked
    cases = [
        (lambda: mturk.create_hit(**with_("CreateHIT", Title="t" * 129)), "Title: must be at most 128 characters"),
        (lambda: mturk.create_hit(**with_("CreateHIT", LifetimeInSeconds=10)), "LifetimeInSeconds: must be between 30 and 31536000 (30 seconds to 365 days)"),
        (lambda: mturk.send_bonus(**with_("SendBonus", BonusAmount="0.00")), "BonusAmount: must be at least 0.01"),
        (lambda: mturk.notify_workers(**with_("NotifyWorkers", WorkerIds=["worker-1"])), "WorkerIds[0]: must match ^A[A-Z0-9]+$"),
        (lambda: mturk.create_hit_type(**with_("CreateHITType", QualificationRequirements=[requirement("GreaterThan", IntegerValues=[1, 2])])),
         "QualificationRequirements[0].IntegerValues: must hold exactly one value for Comparator GreaterThan"),
        (lambda: mturk.list_bonus_payments(), "HITId: is required (ListBonusPayments needs a HITId or an AssignmentId)"),
    ]
    for call, message in cases:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            call()
        assert refusal(info) == ("RequestError", "AWS.MechanicalTurk.ValidationError", message)


# -- Question documents ----------------------------------------------------------------------

HTTPS_ONLY = "Question: ExternalURL must use https:// (http:// only on localhost)"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/experiment/",
        "https://example.org/exp?condition=a&amp;list=2",
        "HTTPS://Example.org/exp",
        "https://[2001:db8::1]/exp",
        "  https://example.org/exp\n  ",
        "http://localhost/exp",
        "http://localhost:8080/experiment/index.html",
        "http://LOCALHOST:8080/",
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000/exp?x=1",
        "http://127.5.6.7/",
        "http://[::1]:8000/exp",
    ],
)
def test_external_urls_accepted(url):
    validation.validate("CreateHIT", with_("CreateHIT", Question=external(url)))


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://example.org/exp", HTTPS_ONLY),
        ("http://10.0.0.5:8000/exp", HTTPS_ONLY),
        ("http://0.0.0.0:8000/", HTTPS_ONLY),
        ("http://[::2]/", HTTPS_ONLY),
        ("http://localhost.example.org/", HTTPS_ONLY),
        ("http://127.0.0.1.nip.io/", HTTPS_ONLY),
        ("http://localhost@example.org/", HTTPS_ONLY),
        ("ftp://example.org/exp", HTTPS_ONLY),
        ("javascript:alert(1)", HTTPS_ONLY),
        ("file:///etc/passwd", HTTPS_ONLY),
        ("data:text/html,hello", HTTPS_ONLY),
        ("//example.org/exp", HTTPS_ONLY),
        ("/experiment/index.html", HTTPS_ONLY),
        ("https://", "Question: ExternalURL must be an absolute URL with a host (https://host/path)"),
        ("https://example.org:port/", "Question: ExternalURL is not a valid URL"),
        ("https://exam ple.org/", "Question: ExternalURL must not contain spaces or control characters (encode them)"),
        ("", "Question: ExternalURL must not be empty"),
        ("https://example.org/" + "x" * 2030, "Question: ExternalURL must be at most 2048 characters"),
    ],
)
def test_external_urls_refused(url, message):
    assert refused("CreateHIT", with_("CreateHIT", Question=external(url))).message == message


def test_external_url_exception_through_boto3(local):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        local.checked.create_hit(**with_("CreateHIT", Question=external("http://example.org/exp")))
    assert refusal(info) == ("RequestError", "AWS.MechanicalTurk.ValidationError", HTTPS_ONLY)


def test_a_lone_surrogate_never_reaches_the_xml_parser_as_an_error():
    with pytest.raises(questions.QuestionError, match="is not valid Unicode text"):
        questions.check_question("<ExternalQuestion \ud800/>")


def test_external_url_is_available_to_others():
    assert questions.external_url(external("https://example.org/exp?a=1&amp;b=2")) == "https://example.org/exp?a=1&b=2"
    assert questions.external_url(external(" http://127.0.0.1:8000/ ")) == "http://127.0.0.1:8000/"
    html = f'<HTMLQuestion xmlns="{HQ_NS}"><HTMLContent><![CDATA[<p>hi</p>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>'
    assert questions.external_url(html) is None
    with pytest.raises(questions.QuestionError):
        questions.external_url("<ExternalQuestion")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ExternalQuestion xmlns="%s"><ExternalURL>https://example.org/&lol9;</ExternalURL><FrameHeight>600</FrameHeight></ExternalQuestion>""" % EQ_NS
NO_DTD = "Question: must not contain a DOCTYPE or entity declarations"


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ExternalQuestion xmlns="{EQ_NS}"><ExternalURL>https://e.org/&e;</ExternalURL><FrameHeight>1</FrameHeight></ExternalQuestion>',
        f'<!DOCTYPE ExternalQuestion SYSTEM "https://example.org/evil.dtd">{EXTERNAL}',
        f'<!DOCTYPE x [<!ENTITY % p SYSTEM "https://example.org/p.dtd"> %p;]>{EXTERNAL}',
        f'<!DOCTYPE x [<!ENTITY a "{"x" * 1000}">]>{EXTERNAL}',
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity", "quadratic-blowup"],
)
def test_xml_bombs_are_refused(document, local):
    assert refused("CreateHIT", with_("CreateHIT", Question=document)).message == NO_DTD
    with pytest.raises(botocore.exceptions.ClientError) as info:
        local.checked.create_hit(**with_("CreateHIT", Question=document))
    assert refusal(info)[2] == NO_DTD


def test_question_size_is_counted_in_utf8_bytes(local):
    head, tail = EXTERNAL.split("<FrameHeight>")
    def padded(total_bytes, char=" "):
        room = total_bytes - len(EXTERNAL.encode())
        return head + char * (room // len(char.encode())) + "<FrameHeight>" + tail

    validation.validate("CreateHIT", with_("CreateHIT", Question=padded(65_535)))
    assert len(padded(65_535).encode()) == 65_535
    err = refused("CreateHIT", with_("CreateHIT", Question=padded(65_536)))
    assert err.message == "Question: must be at most 65535 bytes (UTF-8), got 65536"
    comment = EXTERNAL + "<!--" + "é" * 33_000 + "-->"  # 33,000 characters, 66,000 bytes
    assert refused("CreateHIT", with_("CreateHIT", Question=comment)).rule.startswith("must be at most 65535 bytes (UTF-8)")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        local.checked.create_hit(**with_("CreateHIT", Question=padded(70_000)))
    assert refusal(info)[2] == "Question: must be at most 65535 bytes (UTF-8), got 70000"


HTML_OK = (
    f'<HTMLQuestion xmlns="{HQ_NS}"><HTMLContent><![CDATA[<!DOCTYPE html><html><body>'
    '<form name="mturk_form" method="post" action="https://www.mturk.com/mturk/externalSubmit">'
    "</form></body></html>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"
)
FORM_OK = (
    f'<QuestionForm xmlns="{QF_NS}"><Overview><Text>Hello</Text></Overview><Question><QuestionIdentifier>q1</QuestionIdentifier>'
    "<QuestionContent><Text>Age?</Text></QuestionContent><AnswerSpecification><FreeTextAnswer/></AnswerSpecification>"
    "</Question></QuestionForm>"
)


@pytest.mark.parametrize(
    "document",
    [
        HTML_OK,
        FORM_OK,
        FORM_OK.replace("2017-11-06", "2005-10-01"),
        f'<?xml version="1.0" encoding="UTF-8"?>\n{EXTERNAL}',
        external("https://example.org/", height="0"),
        external("https://example.org/", height=" 10000 "),
        f'<eq:ExternalQuestion xmlns:eq="{EQ_NS}"><eq:ExternalURL>https://e.org/</eq:ExternalURL><eq:FrameHeight>5</eq:FrameHeight></eq:ExternalQuestion>',
    ],
    ids=["html-with-doctype-in-cdata", "question-form", "question-form-2005", "xml-declaration", "height-0", "height-max", "prefixed"],
)
def test_question_documents_accepted(document):
    validation.validate("CreateHITWithHITType", with_("CreateHITWithHITType", Question=document))


@pytest.mark.parametrize(
    "document, rule",
    [
        ("", "must not be empty"),
        ("<Survey/>", "the root element must be ExternalQuestion, HTMLQuestion or QuestionForm, not Survey"),
        ("<ExternalQuestion><ExternalURL>https://e.org/</ExternalURL><FrameHeight>5</FrameHeight></ExternalQuestion>",
         f"ExternalQuestion must be in the namespace {EQ_NS}"),
        (EXTERNAL.replace("2006-07-14", "2011-11-11"), f"ExternalQuestion must be in the namespace {EQ_NS}"),
        (external("https://e.org/", extra="<Title>x</Title>"), "ExternalQuestion may contain only ExternalURL and FrameHeight, not Title"),
        (external("https://e.org/", extra="<FrameHeight>5</FrameHeight>"), "ExternalQuestion must contain FrameHeight only once"),
        (f'<ExternalQuestion xmlns="{EQ_NS}"><ExternalURL>https://e.org/</ExternalURL></ExternalQuestion>', "ExternalQuestion must contain FrameHeight"),
        (external("https://e.org/", height="tall"), "FrameHeight must be a whole number of pixels from 0 to 10000 (0 fits the window)"),
        (external("https://e.org/", height="-1"), "FrameHeight must be a whole number of pixels from 0 to 10000 (0 fits the window)"),
        (external("https://e.org/", height="10001"), "FrameHeight must be a whole number of pixels from 0 to 10000 (0 fits the window)"),
        (HTML_OK.replace("<FrameHeight>0</FrameHeight>", ""), "HTMLQuestion must contain FrameHeight"),
        (f'<HTMLQuestion xmlns="{HQ_NS}"><HTMLContent>  </HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>', "HTMLContent must not be empty"),
        (f'<QuestionForm xmlns="{QF_NS}"><Overview><Text>Hi</Text></Overview></QuestionForm>', "QuestionForm must contain at least one Question"),
        (FORM_OK.replace("</QuestionForm>", FORM_OK[FORM_OK.index("<Question>"):]), "QuestionIdentifier q1 is used twice"),
        (FORM_OK.replace("<QuestionIdentifier>q1</QuestionIdentifier>", ""), "every Question of a QuestionForm needs a QuestionIdentifier"),
        (FORM_OK.replace("<AnswerSpecification><FreeTextAnswer/></AnswerSpecification>", ""), "Question q1 must contain AnswerSpecification"),
        (FORM_OK.replace("<Overview>", "<Intro>").replace("</Overview>", "</Intro>"), "QuestionForm may contain only Overview and Question, not Intro"),
        ("<ExternalQuestion \ud800/>", "must be valid Unicode text (it holds a lone surrogate)"),
    ],
)
def test_question_documents_refused(document, rule):
    err = refused("CreateHIT", with_("CreateHIT", Question=document))
    assert (err.member, err.rule) == ("Question", rule)


@pytest.mark.parametrize(
    "document, where",
    [
        ("<ExternalQuestion>", "line 1, column 18"),
        (f'<ExternalQuestion xmlns="{EQ_NS}">\n<ExternalURL>https://e.org/?a=1&b=2</ExternalURL>', "line 2, column 33"),
        ("<x>&e;</x>", "line 1, column 3"),
    ],
)
def test_malformed_xml_is_refused_with_its_position(document, where):
    """The position lets a lab find the mistake (an unescaped `&` in a URL is the usual one)."""
    err = refused("CreateHIT", with_("CreateHIT", Question=document))
    assert err.member == "Question"
    assert err.rule.startswith("is not well-formed XML (") and err.rule.endswith(f": {where})")


# -- speed -------------------------------------------------------------------------------------


def test_validation_costs_microseconds():
    """The local MTurk's whole request budget is 0.3 ms; validation must be a tiny part of it.

    Measured around 1 µs for GetHIT and ApproveAssignment; the bound leaves room for a busy machine.
    """
    validation.compile_all()
    body = {"HITId": H}
    approve = {"AssignmentId": A, "RequesterFeedback": "Thanks"}
    runs = 2000
    get_hit = min(timeit.repeat(lambda: validation.validate("GetHIT", body), number=runs, repeat=3)) / runs
    approve_s = min(timeit.repeat(lambda: validation.validate("ApproveAssignment", approve), number=runs, repeat=3)) / runs
    create = with_("CreateHIT")
    create_s = min(timeit.repeat(lambda: validation.validate("CreateHIT", create), number=200, repeat=3)) / 200
    assert get_hit < 20e-6 and approve_s < 20e-6, (get_hit, approve_s)
    assert create_s < 100e-6, create_s
