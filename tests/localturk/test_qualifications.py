"""Qualification types, scores, requests and requirements, through a real boto3 client."""

from __future__ import annotations

import pytest
from botocore.exceptions import ParamValidationError

from babe_mturk.local import qualifications as quals
from babe_mturk.local import workers
from babe_mturk.local.misc import messages
from babe_mturk.local.qualifications import (
    ADULT,
    LOCALE,
    MASTERS_LIVE,
    MASTERS_SANDBOX,
    NUMBER_HITS_APPROVED,
    PERCENT_APPROVED,
)
from babe_mturk.local.service import Context
from babe_mturk.local.store import Store

SYSTEM_IDS = [MASTERS_LIVE, MASTERS_SANDBOX, NUMBER_HITS_APPROVED, LOCALE, ADULT, PERCENT_APPROVED]
QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/'
    'ExternalQuestion.xsd"><ExternalURL>https://example.org/exp</ExternalURL><FrameHeight>600</FrameHeight>'
    "</ExternalQuestion>"
)


def code(exc_info) -> str:
    return exc_info.value.response["TurkErrorCode"]


def new_type(mturk, name="Took part in exp1", **extra) -> str:
    params = {"Name": name, "Description": "Workers who took part", "QualificationTypeStatus": "Active", **extra}
    return mturk.create_qualification_type(**params)["QualificationType"]["QualificationTypeId"]


def create_hit(mturk, requirements):
    return mturk.create_hit(
        Title="Rate sentences",
        Description="A short linguistics experiment",
        Reward="0.50",
        MaxAssignments=3,
        LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600,
        Question=QUESTION,
        QualificationRequirements=requirements,
    )["HIT"]


def in_tx(turk, fn):
    with turk.store.write() as tx:
        return fn(Context(tx, Store.now(tx), turk))


# -- qualification types ----------------------------------------------------------------------------
def test_create_and_get_round_trip_every_field(mturk):
    created = mturk.create_qualification_type(
        Name="Speaks Dutch",
        Keywords="dutch,language",
        Description="Passed the Dutch test",
        QualificationTypeStatus="Active",
        RetryDelayInSeconds=3600,
        Test="<QuestionForm/>",
        AnswerKey="<AnswerKey/>",
        TestDurationInSeconds=600,
    )["QualificationType"]
    got = mturk.get_qualification_type(QualificationTypeId=created["QualificationTypeId"])["QualificationType"]
    assert got == created
    assert len(got["QualificationTypeId"]) == 30 and got["QualificationTypeId"].isalnum()
    assert got["QualificationTypeId"] == got["QualificationTypeId"].upper()
    expected = {
        "Name": "Speaks Dutch",
        "Keywords": "dutch,language",
        "Description": "Passed the Dutch test",
        "QualificationTypeStatus": "Active",
        "RetryDelayInSeconds": 3600,
        "Test": "<QuestionForm/>",
        "AnswerKey": "<AnswerKey/>",
        "TestDurationInSeconds": 600,
        "IsRequestable": True,
        "AutoGranted": False,
    }
    assert {k: got[k] for k in expected} == expected
    assert "AutoGrantedValue" not in got


def test_auto_granted_value_defaults_to_one(mturk):
    type_id = new_type(mturk, AutoGranted=True)
    got = mturk.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    assert (got["AutoGranted"], got["AutoGrantedValue"]) == (True, 1)


@pytest.mark.parametrize(
    "params, turk_code, words",
    [
        ({"Name": "  "}, "AWS.MechanicalTurk.ValidationError", "Name"),
        ({"Description": "x" * 2001}, "AWS.MechanicalTurk.ValidationError", "Description"),
        ({"Keywords": "k" * 1001}, "AWS.MechanicalTurk.ValidationError", "Keywords"),
        ({"Test": "<QuestionForm/>"}, "AWS.MechanicalTurk.ValidationError", "TestDurationInSeconds"),
        (
            {"Test": "<QuestionForm/>", "TestDurationInSeconds": 60, "AutoGranted": True},
            "AWS.MechanicalTurk.ValidationError",
            "AutoGranted",
        ),
        ({"RetryDelayInSeconds": -1}, "AWS.MechanicalTurk.ValidationError", "RetryDelayInSeconds"),
    ],
)
def test_create_refuses_what_mturk_refuses(mturk, params, turk_code, words):
    base = {"Name": "q", "Description": "d", "QualificationTypeStatus": "Active"}
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.create_qualification_type(**{**base, **params})
    assert code(err) == turk_code
    assert words in err.value.response["Error"]["Message"]


def test_names_are_unique_until_a_deleted_type_is_disposed(mturk, turk):
    first = new_type(mturk, "Took part")
    with pytest.raises(mturk.exceptions.RequestError) as err:
        new_type(mturk, "Took part")
    assert code(err) == "AWS.MechanicalTurk.QualificationTypeAlreadyExists"
    assert first in err.value.response["Error"]["Message"]
    mturk.delete_qualification_type(QualificationTypeId=first)
    with pytest.raises(mturk.exceptions.RequestError):
        new_type(mturk, "Took part")  # MTurk keeps the name for up to 48 hours
    turk.store.advance_clock(48 * 3600 + 1)
    assert new_type(mturk, "Took part") != first


@pytest.mark.parametrize("type_id", SYSTEM_IDS)
def test_system_types_are_answered_but_not_owned(mturk, type_id):
    got = mturk.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    assert got["QualificationTypeId"] == type_id
    assert got["QualificationTypeStatus"] == "Active"
    assert got["IsRequestable"] is False
    owned = mturk.list_qualification_types(MustBeRequestable=False, MustBeOwnedByCaller=True)["QualificationTypes"]
    assert type_id not in {t["QualificationTypeId"] for t in owned}
    for call, extra in [
        (mturk.update_qualification_type, {"Description": "mine now"}),
        (mturk.delete_qualification_type, {}),
        (mturk.associate_qualification_with_worker, {"WorkerId": "AWORKER1"}),
        (mturk.list_workers_with_qualification_type, {}),
    ]:
        with pytest.raises(mturk.exceptions.RequestError) as err:
            call(QualificationTypeId=type_id, **extra)
        assert code(err) == "AWS.MechanicalTurk.QualificationTypeNotOwned"


@pytest.mark.parametrize(
    "operation, extra",
    [
        ("get_qualification_type", {}),
        ("update_qualification_type", {"Description": "x"}),
        ("delete_qualification_type", {}),
        ("associate_qualification_with_worker", {"WorkerId": "AWORKER1"}),
        ("disassociate_qualification_from_worker", {"WorkerId": "AWORKER1"}),
        ("get_qualification_score", {"WorkerId": "AWORKER1"}),
        ("list_workers_with_qualification_type", {}),
        ("list_qualification_requests", {}),
    ],
)
def test_unknown_types_are_refused_everywhere(mturk, operation, extra):
    with pytest.raises(mturk.exceptions.RequestError) as err:
        getattr(mturk, operation)(QualificationTypeId="NOSUCHTYPE0000000000000000000", **extra)
    assert code(err) == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"


def test_update_changes_what_it_is_given_and_keeps_the_rest(mturk):
    type_id = new_type(mturk, Keywords="a,b")
    updated = mturk.update_qualification_type(
        QualificationTypeId=type_id,
        Description="New text",
        QualificationTypeStatus="Inactive",
        RetryDelayInSeconds=60,
        AutoGranted=True,
        AutoGrantedValue=7,
    )["QualificationType"]
    assert (updated["Description"], updated["QualificationTypeStatus"], updated["RetryDelayInSeconds"]) == (
        "New text",
        "Inactive",
        60,
    )
    assert (updated["AutoGranted"], updated["AutoGrantedValue"], updated["IsRequestable"]) == (True, 7, False)
    assert (updated["Name"], updated["Keywords"]) == ("Took part in exp1", "a,b")
    assert mturk.get_qualification_type(QualificationTypeId=type_id)["QualificationType"] == updated
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.update_qualification_type(QualificationTypeId=type_id, Test="<QuestionForm/>", TestDurationInSeconds=5)
    assert code(err) == "AWS.MechanicalTurk.ValidationError"  # an auto-granted type cannot have a test


def test_deleted_types_vanish_and_cannot_be_required(mturk):
    keep, gone = new_type(mturk, "keep"), new_type(mturk, "gone")
    assert mturk.delete_qualification_type(QualificationTypeId=gone)["ResponseMetadata"]["HTTPStatusCode"] == 200
    listed = mturk.list_qualification_types(MustBeRequestable=False, MustBeOwnedByCaller=True)["QualificationTypes"]
    assert [t["QualificationTypeId"] for t in listed] == [keep]
    for call in (mturk.get_qualification_type, mturk.delete_qualification_type):
        with pytest.raises(mturk.exceptions.RequestError) as err:
            call(QualificationTypeId=gone)
        assert code(err) == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    with pytest.raises(mturk.exceptions.RequestError) as err:
        create_hit(mturk, [{"QualificationTypeId": gone, "Comparator": "DoesNotExist"}])
    assert code(err) == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    assert create_hit(mturk, [{"QualificationTypeId": keep, "Comparator": "DoesNotExist"}])["HITId"]


def test_list_filters_owned_requestable_and_query(mturk):
    active = new_type(mturk, "Dutch speakers", Keywords="language")
    inactive = new_type(mturk, "Old pool", QualificationTypeStatus="Inactive")

    def ids(**params):
        return [t["QualificationTypeId"] for t in mturk.list_qualification_types(**params)["QualificationTypes"]]

    assert ids(MustBeRequestable=False, MustBeOwnedByCaller=True) == [active, inactive]
    assert ids(MustBeRequestable=True) == [active]
    everything = ids(MustBeRequestable=False)
    assert set(SYSTEM_IDS) | {active, inactive} == set(everything)
    assert ids(MustBeRequestable=False, Query="LANGUAGE") == [active]  # keywords, case-insensitive
    assert ids(MustBeRequestable=False, Query="pool") == [inactive]  # name
    assert ids(MustBeRequestable=False, Query="locale") == [LOCALE]  # system types are searchable
    top = new_type(mturk, "Top 1000 workers")
    sure = new_type(mturk, "100% sure")
    assert ids(MustBeRequestable=False, Query="100%") == [sure]  # LIKE wildcards are literal
    assert ids(MustBeRequestable=False, Query="1_00") == []
    assert ids(MustBeRequestable=True, Query="1000") == [top]
    with pytest.raises(ParamValidationError):
        mturk.list_qualification_types()  # MustBeRequestable is required


def test_list_types_paginates_over_250_stably(mturk):
    made = [new_type(mturk, f"type {i:03}") for i in range(260)]
    pages = mturk.get_paginator("list_qualification_types").paginate(
        MustBeRequestable=False, MustBeOwnedByCaller=True, PaginationConfig={"PageSize": 100}
    )
    seen, sizes = [], []
    for number, page in enumerate(pages):
        sizes.append(page["NumResults"])
        seen += [t["QualificationTypeId"] for t in page["QualificationTypes"]]
        if number == 0:
            made.append(new_type(mturk, "made while paging"))
    assert seen == made and sizes == [100, 100, 61]


def test_a_foreign_next_token_is_refused(mturk):
    mturk.create_worker_block(WorkerId="AONE", Reason="spam")
    mturk.create_worker_block(WorkerId="ATWO", Reason="spam")
    token = mturk.list_worker_blocks(MaxResults=1)["NextToken"]
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.list_qualification_types(MustBeRequestable=False, NextToken=token)
    assert code(err) == "AWS.MechanicalTurk.ValidationError"
    with pytest.raises(mturk.exceptions.RequestError):
        mturk.list_qualification_types(MustBeRequestable=False, NextToken="not-a-token")


# -- scores ------------------------------------------------------------------------------------------
def test_associate_score_revoke_and_regrant(mturk, turk):
    type_id = new_type(mturk)
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="AWORKER1")
    mturk.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId="AWORKER2", IntegerValue=42, SendNotification=True
    )
    score = mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="AWORKER2")["Qualification"]
    assert {k: score[k] for k in ("QualificationTypeId", "WorkerId", "IntegerValue", "Status")} == {
        "QualificationTypeId": type_id,
        "WorkerId": "AWORKER2",
        "IntegerValue": 42,
        "Status": "Granted",
    }
    assert "LocaleValue" not in score and score["GrantTime"].year >= 2025
    assert mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="AWORKER1")["Qualification"][
        "IntegerValue"
    ] == 1
    assert [m["Subject"] for m in messages(turk, "AWORKER2")] == ["You have been granted the qualification Took part in exp1"]
    assert messages(turk, "AWORKER1") == []

    mturk.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId="AWORKER1", Reason="oops")
    # Amazon refuses the score of a revoked qualification (Dallinger and Mephisto match the message).
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="AWORKER1")
    assert "This operation can be called with a status of: Granted" in err.value.response["Error"]["Message"]
    granted = mturk.list_workers_with_qualification_type(QualificationTypeId=type_id)["Qualifications"]
    revoked = mturk.list_workers_with_qualification_type(QualificationTypeId=type_id, Status="Revoked")
    assert [q["WorkerId"] for q in granted] == ["AWORKER2"]
    assert [(q["WorkerId"], q["Status"]) for q in revoked["Qualifications"]] == [("AWORKER1", "Revoked")]
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId="AWORKER1")
    assert code(err) == "AWS.MechanicalTurk.QualificationDoesNotExist"

    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="AWORKER1", IntegerValue=3)
    again = mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="AWORKER1")["Qualification"]
    assert (again["Status"], again["IntegerValue"]) == ("Granted", 3)


def test_score_of_a_worker_without_one_is_refused(mturk):
    type_id = new_type(mturk)
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="ANOBODY")
    assert code(err) == "AWS.MechanicalTurk.QualificationDoesNotExist"


def test_system_scores_come_from_the_simulated_worker(mturk, turk):
    plain, master = workers.add_workers(
        turk, 2, locale="US-NY,DE", profile={"percent_approved": 97, "number_approved": 1234}
    )
    workers.add_workers(turk, worker_ids=["AMASTER"], profile={"masters": True, "adult": False})

    def score(type_id, worker):
        return mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker)["Qualification"]

    assert score(LOCALE, plain)["LocaleValue"] == {"Country": "US", "Subdivision": "NY"}
    assert score(LOCALE, master)["LocaleValue"] == {"Country": "DE"}
    assert "IntegerValue" not in score(LOCALE, plain)
    assert score(PERCENT_APPROVED, plain)["IntegerValue"] == 97
    assert score(NUMBER_HITS_APPROVED, plain)["IntegerValue"] == 1234
    assert score(ADULT, plain)["IntegerValue"] == 1
    assert score(ADULT, "AMASTER")["IntegerValue"] == 0
    assert score(MASTERS_LIVE, "AMASTER")["IntegerValue"] == 1
    assert score(MASTERS_SANDBOX, "AMASTER")["Status"] == "Granted"
    for worker, type_id in [(plain, MASTERS_LIVE), ("ANEVERSEEN", LOCALE)]:
        with pytest.raises(mturk.exceptions.RequestError) as err:
            score(type_id, worker)
        assert code(err) == "AWS.MechanicalTurk.QualificationDoesNotExist"


def test_list_workers_paginates_over_250(mturk):
    type_id = new_type(mturk)
    granted = [f"AW{i:04}" for i in range(255)]
    for worker in granted:
        mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker, IntegerValue=5)
    pages = list(
        mturk.get_paginator("list_workers_with_qualification_type").paginate(
            QualificationTypeId=type_id, PaginationConfig={"PageSize": 100}
        )
    )
    assert [p["NumResults"] for p in pages] == [100, 100, 55]
    assert [q["WorkerId"] for p in pages for q in p["Qualifications"]] == granted
    assert {q["IntegerValue"] for p in pages for q in p["Qualifications"]} == {5}
    assert "NextToken" not in pages[-1]


# -- qualification requests -----------------------------------------------------------------------------
def test_requests_are_listed_accepted_and_rejected(mturk, turk):
    type_id = new_type(mturk, Test="<QuestionForm/>", TestDurationInSeconds=300)
    other = new_type(mturk, "other")
    first = workers.request_qualification(turk, "AFIRST", type_id, answer="<QuestionFormAnswers/>")
    second = workers.request_qualification(turk, "ASECOND", type_id, answer="<QuestionFormAnswers/>")
    workers.request_qualification(turk, "ATHIRD", other)
    listed = mturk.list_qualification_requests(QualificationTypeId=type_id)["QualificationRequests"]
    assert [(r["QualificationRequestId"], r["WorkerId"], r["Test"], r["Answer"]) for r in listed] == [
        (first, "AFIRST", "<QuestionForm/>", "<QuestionFormAnswers/>"),
        (second, "ASECOND", "<QuestionForm/>", "<QuestionFormAnswers/>"),
    ]
    assert mturk.list_qualification_requests()["NumResults"] == 3

    mturk.accept_qualification_request(QualificationRequestId=first, IntegerValue=80)
    assert mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="AFIRST")["Qualification"][
        "IntegerValue"
    ] == 80
    mturk.reject_qualification_request(QualificationRequestId=second, Reason="Too many errors in the test")
    assert quals.qualification_request(turk, second)["Status"] == "Rejected"
    assert quals.qualification_request(turk, second)["Reason"] == "Too many errors in the test"
    assert messages(turk, "ASECOND")[-1]["MessageText"] == "Too many errors in the test"
    assert mturk.list_qualification_requests(QualificationTypeId=type_id)["NumResults"] == 0
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="ASECOND")
    assert code(err) == "AWS.MechanicalTurk.QualificationDoesNotExist"

    for call in (mturk.accept_qualification_request, mturk.reject_qualification_request):
        with pytest.raises(mturk.exceptions.RequestError) as err:
            call(QualificationRequestId=first)
        assert code(err) == "AWS.MechanicalTurk.InvalidQualificationRequestState"
        with pytest.raises(mturk.exceptions.RequestError) as err:
            call(QualificationRequestId="NOSUCHREQUEST")
        assert code(err) == "AWS.MechanicalTurk.QualificationRequestDoesNotExist"


def test_list_requests_paginates(mturk, turk):
    type_id = new_type(mturk)
    made = [workers.request_qualification(turk, f"AREQ{i:03}", type_id) for i in range(7)]
    pages = mturk.get_paginator("list_qualification_requests").paginate(PaginationConfig={"PageSize": 3})
    assert [r["QualificationRequestId"] for p in pages for r in p["QualificationRequests"]] == made


def test_auto_granted_types_grant_at_once(mturk, turk):
    type_id = new_type(mturk, AutoGranted=True, AutoGrantedValue=9)
    assert workers.request_qualification(turk, "AEAGER", type_id) is None
    assert mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="AEAGER")["Qualification"][
        "IntegerValue"
    ] == 9
    assert mturk.list_qualification_requests()["NumResults"] == 0


def request_code(turk, worker, type_id, answer=None) -> str:
    from babe_mturk.local.errors import RequestError

    with pytest.raises(RequestError) as err:
        workers.request_qualification(turk, worker, type_id, answer)
    return err.value.turk_code


def test_retry_delay_is_honoured(mturk, turk):
    once = new_type(mturk, "once")
    hourly = new_type(mturk, "hourly", RetryDelayInSeconds=3600)
    for type_id in (once, hourly):
        request = workers.request_qualification(turk, "AWORKER", type_id)
        assert request_code(turk, "AWORKER", type_id) == "AWS.MechanicalTurk.QualificationRequestPending"
        mturk.reject_qualification_request(QualificationRequestId=request)
    assert request_code(turk, "AWORKER", once) == "AWS.MechanicalTurk.QualificationRequestNotAllowed"
    assert request_code(turk, "AWORKER", hourly) == "AWS.MechanicalTurk.QualificationRequestNotAllowed"
    turk.store.advance_clock(3601)
    assert workers.request_qualification(turk, "AWORKER", hourly)
    assert request_code(turk, "AWORKER", once) == "AWS.MechanicalTurk.QualificationRequestNotAllowed"


def test_requests_that_cannot_be_made(mturk, turk):
    inactive = new_type(mturk, "inactive", QualificationTypeStatus="Inactive")
    tested = new_type(mturk, "tested", Test="<QuestionForm/>", TestDurationInSeconds=60)
    held = new_type(mturk, "held")
    mturk.associate_qualification_with_worker(QualificationTypeId=held, WorkerId="AWORKER")
    assert request_code(turk, "AWORKER", inactive) == "AWS.MechanicalTurk.QualificationTypeNotRequestable"
    assert request_code(turk, "AWORKER", LOCALE) == "AWS.MechanicalTurk.QualificationTypeNotRequestable"
    assert request_code(turk, "AWORKER", tested) == "AWS.MechanicalTurk.QualificationTestRequired"
    assert request_code(turk, "AWORKER", held) == "AWS.MechanicalTurk.QualificationAlreadyGranted"


def test_granting_settles_a_pending_request_and_deleting_rejects_the_rest(mturk, turk):
    type_id = new_type(mturk)
    granted = workers.request_qualification(turk, "AONE", type_id)
    dropped = workers.request_qualification(turk, "ATWO", type_id)
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="AONE")
    assert quals.qualification_request(turk, granted)["Status"] == "Granted"
    mturk.delete_qualification_type(QualificationTypeId=type_id)
    assert quals.qualification_request(turk, dropped)["Status"] == "Rejected"
    assert mturk.list_qualification_requests()["NumResults"] == 0


# -- requirements ----------------------------------------------------------------------------------------
def req(type_id, comparator, ints=None, locales=None):
    out = {"QualificationTypeId": type_id, "Comparator": comparator}
    if ints is not None:
        out["IntegerValues"] = ints
    if locales is not None:
        out["LocaleValues"] = [dict(zip(("Country", "Subdivision"), loc.split("-"))) for loc in locales]
    return out


CUSTOM = "CUSTOMTYPE"  # replaced by the real id in the test
MEETS = [
    # (requirement, worker's score on the custom type or None, meets?)
    (req(CUSTOM, "LessThan", [5]), 4, True),
    (req(CUSTOM, "LessThan", [5]), 5, False),
    (req(CUSTOM, "LessThanOrEqualTo", [5]), 5, True),
    (req(CUSTOM, "LessThanOrEqualTo", [5]), 6, False),
    (req(CUSTOM, "GreaterThan", [5]), 6, True),
    (req(CUSTOM, "GreaterThan", [5]), 5, False),
    (req(CUSTOM, "GreaterThanOrEqualTo", [5]), 5, True),
    (req(CUSTOM, "GreaterThanOrEqualTo", [5]), 4, False),
    (req(CUSTOM, "EqualTo", [5]), 5, True),
    (req(CUSTOM, "EqualTo", [5]), 4, False),
    (req(CUSTOM, "NotEqualTo", [5]), 4, True),
    (req(CUSTOM, "NotEqualTo", [5]), 5, False),
    (req(CUSTOM, "In", [1, 2, 3]), 2, True),
    (req(CUSTOM, "In", [1, 2, 3]), 4, False),
    (req(CUSTOM, "NotIn", [1, 2, 3]), 4, True),
    (req(CUSTOM, "NotIn", [1, 2, 3]), 3, False),
    (req(CUSTOM, "Exists"), 0, True),
    (req(CUSTOM, "Exists"), None, False),
    (req(CUSTOM, "DoesNotExist"), None, True),
    (req(CUSTOM, "DoesNotExist"), 1, False),
    # without a score only DoesNotExist holds: NotEqualTo and NotIn need a value too
    (req(CUSTOM, "NotEqualTo", [5]), None, False),
    (req(CUSTOM, "NotIn", [5]), None, False),
    (req(CUSTOM, "LessThan", [5]), None, False),
]


@pytest.mark.parametrize("requirement, value, meets", MEETS)
def test_worker_meets_every_comparator(mturk, turk, requirement, value, meets):
    type_id = new_type(mturk)
    if value is not None:
        mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="AWORKER", IntegerValue=value)
    requirement = {**requirement, "QualificationTypeId": type_id}
    ok, reason = in_tx(turk, lambda ctx: quals.worker_meets(ctx, "AWORKER", [requirement]))
    assert ok is meets
    assert (reason is None) is meets
    if not meets:
        assert type_id in reason and requirement["Comparator"] in reason


LOCALE_CASES = [
    # (requirement, worker's locale, meets?)
    (req(LOCALE, "EqualTo", locales=["US"]), "US-NY", True),
    (req(LOCALE, "EqualTo", locales=["US"]), "US", True),
    (req(LOCALE, "EqualTo", locales=["US-NY"]), "US-NY", True),
    (req(LOCALE, "EqualTo", locales=["US-NY"]), "US-CA", False),
    (req(LOCALE, "EqualTo", locales=["US-NY"]), "US", False),
    (req(LOCALE, "EqualTo", locales=["US"]), "DE", False),
    (req(LOCALE, "NotEqualTo", locales=["US"]), "US-NY", False),
    (req(LOCALE, "NotEqualTo", locales=["US-NY"]), "US-CA", True),
    (req(LOCALE, "In", locales=["US", "CA", "GB"]), "GB", True),
    (req(LOCALE, "In", locales=["US", "CA", "GB"]), "DE", False),
    (req(LOCALE, "NotIn", locales=["US", "CA"]), "DE", True),
    (req(LOCALE, "NotIn", locales=["US", "CA"]), "CA-QC", False),
    (req(LOCALE, "Exists"), "DE", True),
]


@pytest.mark.parametrize("requirement, locale, meets", LOCALE_CASES)
def test_locale_requirements_match_countries_and_subdivisions(turk, requirement, locale, meets):
    (worker,) = workers.add_workers(turk, 1, locale=locale)
    assert in_tx(turk, lambda ctx: quals.worker_meets(ctx, worker, [requirement]))[0] is meets


def test_system_integer_requirements_and_masters(turk):
    (good,) = workers.add_workers(turk, 1, profile={"percent_approved": 99, "number_approved": 5000, "masters": True})
    (weak,) = workers.add_workers(turk, 1, profile={"percent_approved": 90, "number_approved": 50})
    lab = [
        req(PERCENT_APPROVED, "GreaterThanOrEqualTo", [95]),
        req(NUMBER_HITS_APPROVED, "GreaterThan", [1000]),
        req(ADULT, "EqualTo", [1]),
    ]
    assert in_tx(turk, lambda ctx: quals.worker_meets(ctx, good, lab + [req(MASTERS_LIVE, "Exists")])) == (True, None)
    ok, reason = in_tx(turk, lambda ctx: quals.worker_meets(ctx, weak, lab))
    assert not ok and PERCENT_APPROVED in reason
    assert in_tx(turk, lambda ctx: quals.worker_meets(ctx, weak, [req(MASTERS_SANDBOX, "Exists")]))[0] is False
    assert in_tx(turk, lambda ctx: quals.worker_meets(ctx, weak, []))[0] is True


def test_is_masters():
    assert quals.is_masters([req(MASTERS_LIVE, "Exists")])
    assert quals.is_masters([req(LOCALE, "EqualTo", locales=["US"]), req(MASTERS_SANDBOX, "Exists")])
    assert not quals.is_masters([req(LOCALE, "EqualTo", locales=["US"])])
    assert not quals.is_masters(None)


@pytest.mark.parametrize(
    "requirement, words",
    [
        (req(LOCALE, "GreaterThan", locales=["US"]), "Comparator"),
        (req(LOCALE, "EqualTo", ints=[1]), "LocaleValues"),
        (req(PERCENT_APPROVED, "EqualTo", locales=["US"]), "IntegerValues"),
        (req(PERCENT_APPROVED, "In", ints=list(range(16))), "1 to 15"),
        (req(PERCENT_APPROVED, "Exists", ints=[1]), "Exists"),
    ],
)
def test_create_hit_refuses_requirements_mturk_refuses(mturk, requirement, words):
    with pytest.raises(mturk.exceptions.RequestError) as err:
        create_hit(mturk, [requirement])
    assert code(err) == "AWS.MechanicalTurk.ValidationError"
    assert words in err.value.response["Error"]["Message"]


def test_check_requirements_accepts_30_locales_and_system_ids(turk):
    many = [f"{a}{b}" for a in "ABCDEF" for b in "VWXYZ"]
    good = [
        req(LOCALE, "In", locales=many),
        req(MASTERS_LIVE, "Exists"),
        req(NUMBER_HITS_APPROVED, "GreaterThan", [100]),
    ]
    assert in_tx(turk, lambda ctx: quals.check_requirements(ctx, good)) is None
    with pytest.raises(Exception) as err:
        in_tx(turk, lambda ctx: quals.check_requirements(ctx, [req(LOCALE, "In", locales=many + ["ZZ"])]))
    assert "1 to 30" in str(err.value)
