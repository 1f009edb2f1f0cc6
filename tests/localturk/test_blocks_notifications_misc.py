"""Worker blocks, notification settings and the event outbox, NotifyWorkers and GetFileUploadURL."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ParamValidationError

from babe_mturk.local import assignments, notifications, workers
from babe_mturk.local.misc import messages
from babe_mturk.local.service import Context
from babe_mturk.local.store import Store

QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/'
    'ExternalQuestion.xsd"><ExternalURL>https://example.org/exp</ExternalURL><FrameHeight>600</FrameHeight>'
    "</ExternalQuestion>"
)
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/babe-events"
TOPIC = "arn:aws:sns:us-east-1:123456789012:babe-events"


def code(exc_info) -> str:
    return exc_info.value.response["TurkErrorCode"]


def create_hit(mturk, **extra) -> dict:
    params = {
        "Title": "Rate sentences",
        "Description": "A short linguistics experiment",
        "Reward": "0.50",
        "MaxAssignments": 5,
        "LifetimeInSeconds": 3600,
        "AssignmentDurationInSeconds": 600,
        "Question": QUESTION,
        **extra,
    }
    return mturk.create_hit(**params)["HIT"]


def work(turk, fn):
    with turk.store.write() as tx:
        return fn(Context(tx, Store.now(tx), turk))


def spec(destination=QUEUE, transport="SQS", events=("AssignmentSubmitted",), version="2014-08-15") -> dict:
    return {"Destination": destination, "Transport": transport, "Version": version, "EventTypes": list(events)}


# -- worker blocks ----------------------------------------------------------------------------------
def test_block_list_reblock_and_unblock(mturk, turk):
    mturk.create_worker_block(WorkerId="ASPAMMER", Reason="Random answers")
    mturk.create_worker_block(WorkerId="ABOT", Reason="Bot")
    mturk.create_worker_block(WorkerId="ASPAMMER", Reason="Random answers, twice")
    listed = mturk.list_worker_blocks()
    assert listed["NumResults"] == 2 and "NextToken" not in listed
    assert listed["WorkerBlocks"] == [
        {"WorkerId": "ASPAMMER", "Reason": "Random answers, twice"},
        {"WorkerId": "ABOT", "Reason": "Bot"},
    ]
    from babe_mturk.local import blocks

    assert work(turk, lambda ctx: (blocks.is_blocked(ctx, "ABOT"), blocks.is_blocked(ctx, "AOTHER"))) == (True, False)
    mturk.delete_worker_block(WorkerId="ABOT", Reason="Appealed")
    assert [b["WorkerId"] for b in mturk.list_worker_blocks()["WorkerBlocks"]] == ["ASPAMMER"]
    assert work(turk, lambda ctx: blocks.is_blocked(ctx, "ABOT")) is False


@pytest.mark.parametrize(
    "call, params, turk_code",
    [
        ("create_worker_block", {"WorkerId": "AWORKER", "Reason": ""}, "AWS.MechanicalTurk.ValidationError"),
        ("create_worker_block", {"WorkerId": "AWORKER", "Reason": "   "}, "AWS.MechanicalTurk.ValidationError"),
        ("delete_worker_block", {"WorkerId": "ANEVERBLOCKED"}, "AWS.MechanicalTurk.WorkerNotBlocked"),
        ("list_worker_blocks", {"NextToken": "garbage"}, "AWS.MechanicalTurk.ValidationError"),
    ],
)
def test_block_requests_refused(mturk, call, params, turk_code):
    with pytest.raises(mturk.exceptions.RequestError) as err:
        getattr(mturk, call)(**params)
    assert code(err) == turk_code


def test_reason_is_required_by_the_model(mturk):
    with pytest.raises(ParamValidationError):
        mturk.create_worker_block(WorkerId="AWORKER")


def test_blocks_paginate_over_250_with_inserts_between_pages(mturk):
    blocked = [f"AB{i:04}" for i in range(255)]
    for worker in blocked:
        mturk.create_worker_block(WorkerId=worker, Reason="low quality")
    seen = []
    for number, page in enumerate(mturk.get_paginator("list_worker_blocks").paginate(PaginationConfig={"PageSize": 100})):
        seen += [b["WorkerId"] for b in page["WorkerBlocks"]]
        if number == 0:
            mturk.create_worker_block(WorkerId="ALATE", Reason="late")
            mturk.delete_worker_block(WorkerId="AB0001")  # already seen: must not shift the next page
    assert seen == blocked + ["ALATE"]


def test_a_blocked_worker_cannot_accept(mturk, turk):
    hit = create_hit(mturk)
    workers.add_workers(turk, worker_ids=["ABLOCKED"])
    mturk.create_worker_block(WorkerId="ABLOCKED", Reason="spam")
    from babe_mturk.local.errors import RequestError

    with pytest.raises(RequestError):
        work(turk, lambda ctx: assignments.accept(ctx, hit["HITId"], "ABLOCKED"))


# -- notification settings and events -------------------------------------------------------------------
def test_settings_are_stored_per_hit_type(mturk, turk):
    hit = create_hit(mturk)
    type_id = hit["HITTypeId"]
    mturk.update_notification_settings(HITTypeId=type_id, Notification=spec(events=["HITReviewable", "AssignmentSubmitted"]))
    assert notifications.notification_settings(turk, type_id) == {
        "Destination": QUEUE,
        "Transport": "SQS",
        "Version": "2014-08-15",
        "EventTypes": ["AssignmentSubmitted", "HITReviewable"],
        "Active": True,
    }
    mturk.update_notification_settings(HITTypeId=type_id, Active=False)
    assert notifications.notification_settings(turk, type_id)["Active"] is False
    mturk.update_notification_settings(HITTypeId=type_id, Notification=spec(TOPIC, "SNS"), Active=True)
    assert notifications.notification_settings(turk, type_id)["Transport"] == "SNS"
    mturk.update_notification_settings(HITTypeId=type_id, Notification=spec("lab@example.org", "Email"))
    assert notifications.notification_settings(turk, type_id)["Destination"] == "lab@example.org"


@pytest.mark.parametrize(
    "notification, words",
    [
        (spec(version="2006-05-05"), "Version"),
        (spec(events=[]), "EventTypes"),
        (spec("https://example.org/queue"), "SQS queue URL"),
        (spec(TOPIC, "SQS"), "SQS queue URL"),
        (spec(QUEUE, "SNS"), "SNS topic ARN"),
        (spec("not-an-address", "Email"), "e-mail"),
    ],
)
def test_settings_refuse_bad_specifications(mturk, notification, words):
    type_id = create_hit(mturk)["HITTypeId"]
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.update_notification_settings(HITTypeId=type_id, Notification=notification)
    assert code(err) == "AWS.MechanicalTurk.ValidationError"
    assert words in err.value.response["Error"]["Message"]


def test_settings_refused_without_a_hit_type_or_anything_to_set(mturk):
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.update_notification_settings(HITTypeId="NOSUCHHITTYPE", Notification=spec())
    assert code(err) == "AWS.MechanicalTurk.HITTypeDoesNotExist"
    type_id = create_hit(mturk)["HITTypeId"]
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.update_notification_settings(HITTypeId=type_id)
    assert code(err) == "AWS.MechanicalTurk.ValidationError"
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.update_notification_settings(HITTypeId=type_id, Active=True)
    assert code(err) == "AWS.MechanicalTurk.NotificationSettingsDoNotExist"


def test_events_land_in_the_outbox_in_mturks_format(mturk, turk):
    hit = create_hit(mturk, MaxAssignments=2)
    other = create_hit(mturk, Title="Another HIT type")
    mturk.update_notification_settings(
        HITTypeId=hit["HITTypeId"], Notification=spec(events=["AssignmentAccepted", "AssignmentSubmitted"])
    )
    done = workers.simulate(turk, hit_ids=[hit["HITId"], other["HITId"]], workers=2, seed=3)
    assert len(done["submitted"]) == 4  # two on the subscribed HIT, two on the other
    pending = notifications.pending_events(turk)
    assert [p["message"]["Events"][0]["EventType"] for p in pending] == [
        "AssignmentAccepted",
        "AssignmentAccepted",
        "AssignmentSubmitted",
        "AssignmentSubmitted",
    ]
    message = pending[-1]["message"]
    assert json.loads(pending[-1]["body"]) == message
    assert set(message) == {"EventDocId", "EventDocVersion", "CustomerId", "Events"}
    assert message["EventDocVersion"] == "2014-08-15"
    assert re.fullmatch(r"A[A-Z0-9]+", message["CustomerId"])
    assert len({p["event_doc_id"] for p in pending}) == 4
    assert {p["message"]["CustomerId"] for p in pending} == {message["CustomerId"]}
    event = message["Events"][0]
    assert event["HITId"] == hit["HITId"] and event["HITTypeId"] == hit["HITTypeId"]
    assert event["AssignmentId"] in done["submitted"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["EventTimestamp"])
    assert {(p["transport"], p["destination"], p["test"]) for p in pending} == {("SQS", QUEUE, False)}

    assert notifications.mark_delivered(turk, [p["id"] for p in pending[:3]]) == 3
    assert notifications.mark_delivered(turk, [pending[0]["id"]]) == 0  # already delivered
    assert [p["id"] for p in notifications.pending_events(turk)] == [pending[3]["id"]]
    assert len(notifications.pending_events(turk, limit=0)) == 0


def test_inactive_settings_send_nothing(mturk, turk):
    hit = create_hit(mturk)
    mturk.update_notification_settings(HITTypeId=hit["HITTypeId"], Notification=spec(), Active=False)
    workers.simulate(turk, workers=2, seed=1)
    assert notifications.pending_events(turk) == []
    mturk.update_notification_settings(HITTypeId=hit["HITTypeId"], Active=True)
    workers.simulate(turk, workers=1, seed=1)
    assert len(notifications.pending_events(turk)) == 1


def test_test_events_go_to_the_given_destination(mturk, turk):
    mturk.send_test_event_notification(Notification=spec(TOPIC, "SNS", ["Ping"]), TestEventType="Ping")
    (event,) = notifications.pending_events(turk)
    assert (event["transport"], event["destination"], event["test"]) == ("SNS", TOPIC, True)
    assert event["message"]["Events"][0]["EventType"] == "Ping"
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.send_test_event_notification(Notification=spec(version="1"), TestEventType="Ping")
    assert code(err) == "AWS.MechanicalTurk.ValidationError"


# -- NotifyWorkers ---------------------------------------------------------------------------------------
def test_notify_workers_reaches_only_our_workers(mturk, turk):
    create_hit(mturk)
    done = workers.simulate(turk, workers=2, seed=5)
    ours = done["workers"]
    answer = mturk.notify_workers(Subject="Thanks", MessageText="A bonus is on its way.", WorkerIds=[*ours, "ASTRANGER"])
    assert answer["NotifyWorkersFailureStatuses"] == [
        {
            "NotifyWorkersFailureCode": "HardFailure",
            "NotifyWorkersFailureMessage": "Cannot send notification because the worker has not worked for you",
            "WorkerId": "ASTRANGER",
        }
    ]
    for worker in ours:
        assert [(m["Subject"], m["MessageText"]) for m in messages(turk, worker)] == [("Thanks", "A bonus is on its way.")]
    assert messages(turk, "ASTRANGER") == []


@pytest.mark.parametrize(
    "params, member",
    [
        ({"Subject": "s" * 201}, "Subject"),
        ({"MessageText": "m" * 4097}, "MessageText"),
        ({"WorkerIds": [f"AW{i}" for i in range(101)]}, "WorkerIds"),
        ({"WorkerIds": []}, "WorkerIds"),
        ({"Subject": ""}, "Subject"),
    ],
)
def test_notify_workers_limits(mturk, params, member):
    base = {"Subject": "Hello", "MessageText": "Text", "WorkerIds": ["AWORKER"]}
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.notify_workers(**{**base, **params})
    assert code(err) == "AWS.MechanicalTurk.ValidationError"
    assert member in err.value.response["Error"]["Message"]


def test_notify_workers_takes_exactly_100(mturk):
    answer = mturk.notify_workers(Subject="Hi", MessageText="Text", WorkerIds=[f"AW{i}" for i in range(100)])
    assert len(answer["NotifyWorkersFailureStatuses"]) == 100


# -- GetFileUploadURL ---------------------------------------------------------------------------------------
UPLOAD_ANSWER = (
    '<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>recording'
    "</QuestionIdentifier><UploadedFileSizeInBytes>2048</UploadedFileSizeInBytes><UploadedFileKey>FILEKEY123"
    "</UploadedFileKey></Answer><Answer><QuestionIdentifier>comment</QuestionIdentifier><FreeText>ok</FreeText>"
    "</Answer></QuestionFormAnswers>"
)


def test_file_upload_url_only_for_uploaded_files(mturk, turk):
    hit = create_hit(mturk)
    (worker,) = workers.add_workers(turk, 1)
    assignment = work(turk, lambda ctx: assignments.accept(ctx, hit["HITId"], worker))
    work(turk, lambda ctx: assignments.submit(ctx, assignment, UPLOAD_ANSWER))
    url = mturk.get_file_upload_url(AssignmentId=assignment, QuestionIdentifier="recording")["FileUploadURL"]
    assert url.startswith("https://") and "FILEKEY123" in url and assignment in url
    for question in ("comment", "nosuchquestion"):
        with pytest.raises(mturk.exceptions.RequestError) as err:
            mturk.get_file_upload_url(AssignmentId=assignment, QuestionIdentifier=question)
        assert code(err) == "AWS.MechanicalTurk.FileUploadNotFound"


def test_external_hits_have_no_uploads(mturk, turk):
    create_hit(mturk)
    (submitted,) = workers.simulate(turk, workers=1, seed=2)["submitted"]
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.get_file_upload_url(AssignmentId=submitted, QuestionIdentifier="trials")
    assert code(err) == "AWS.MechanicalTurk.FileUploadNotFound"
    with pytest.raises(mturk.exceptions.RequestError) as err:
        mturk.get_file_upload_url(AssignmentId="NOSUCHASSIGNMENT", QuestionIdentifier="trials")
    assert code(err) == "AWS.MechanicalTurk.AssignmentDoesNotExist"
