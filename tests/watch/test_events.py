"""MTurk notifications: the local MTurk delivers its events to SQS (and SNS), `babe watch --queue`
reacts to them at once and ignores repeats (EventDocId).

SQS and SNS are moto's: `mock_aws` in-process, and moto's server on 127.0.0.1 where a separate
process (a real `babe watch`) or a loopback queue URL needs a real endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import boto3
import pytest
from moto import mock_aws

from babe_mturk import notifications as queue_events
from babe_mturk.local import delivery, notifications
from babe_tasks.steps import watch as step

from .helpers_events import QUEUE_NAME, hit_type_of, notify, spec


@pytest.fixture
def aws():
    """moto's AWS in this process: SQS and SNS clients, and a queue for MTurk's events."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        yield sqs, queue


@pytest.fixture
def moto_server():
    """moto as a real server on 127.0.0.1 (a random port); its base URL."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:  # a free port (moto 5.0, our lower bound, cannot report port 0's)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def local_client(service: str, endpoint: str):
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="y"
    )


def receive_all(sqs, queue: str) -> list[dict]:
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


# -- delivery ----------------------------------------------------------------------------------------
def test_the_local_mturk_delivers_its_events_to_sqs_in_mturks_format(aws, turk, mturk, workers):
    sqs, queue = aws
    hit_type = hit_type_of(mturk)
    notify(mturk, hit_type, queue, ["AssignmentSubmitted", "HITReviewable"])
    workers(3)

    report = delivery.deliver(turk)

    messages = receive_all(sqs, queue)
    documents = [json.loads(m["Body"]) for m in messages]
    assert len(report.delivered) == len(documents) == 4  # 3 submitted, then the HIT is full: reviewable
    assert sorted(report.delivered) == sorted(d["EventDocId"] for d in documents)
    assert {d["EventDocVersion"] for d in documents} == {"2014-08-15"}
    events = [e for d in documents for e in d["Events"]]
    assert sorted(e["EventType"] for e in events) == ["AssignmentSubmitted"] * 3 + ["HITReviewable"]
    assert {e["HITTypeId"] for e in events} == {hit_type}
    assert all(e["EventTimestamp"].endswith("Z") for e in events)
    # Delivered once: the outbox is empty, a second pass sends nothing.
    assert notifications.pending_events(turk) == []
    assert delivery.deliver(turk).delivered == []


def test_sns_topics_get_the_document_as_the_notification_message(aws, turk, mturk, workers):
    sqs, queue = aws
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="babe-events")["TopicArn"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    notify(mturk, hit_type_of(mturk), topic, ["AssignmentSubmitted"], transport="SNS")
    workers(1)

    assert len(delivery.deliver(turk).delivered) == 1

    [message] = receive_all(sqs, queue)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    document = queue_events.mturk_document(message["Body"])
    assert document["Events"][0]["EventType"] == "AssignmentSubmitted"


def test_an_unreachable_queue_keeps_its_messages_and_does_not_hold_up_the_others(aws, turk, mturk, workers):
    sqs, queue = aws
    gone = queue.rsplit("/", 1)[0] + "/no-such-queue"
    first = hit_type_of(mturk)
    second = hit_type_of(mturk, Title="Another study")
    notify(mturk, first, gone, ["AssignmentSubmitted"])
    notify(mturk, second, queue, ["AssignmentSubmitted"])
    workers(2)  # each worker takes one HIT of each type: 2 messages per queue

    report = delivery.deliver(turk)

    assert len(report.delivered) == 2 and len(report.failed) == 2
    assert {f["destination"] for f in report.failed} == {gone}
    assert "NonExistentQueue" in report.failed[0]["error"] or "QueueDoesNotExist" in report.failed[0]["error"]
    assert len(receive_all(sqs, queue)) == 2
    assert [p["destination"] for p in notifications.pending_events(turk)] == [gone, gone]

    sqs.create_queue(QueueName="no-such-queue")
    assert len(delivery.deliver(turk).delivered) == 2
    assert notifications.pending_events(turk) == []


def test_email_notifications_are_dropped_not_sent(turk, mturk, workers):
    notify(mturk, hit_type_of(mturk), "lab@example.org", ["AssignmentSubmitted"], transport="Email")
    workers(1)

    report = delivery.deliver(turk)

    assert (len(report.dropped), report.delivered, report.failed) == (1, [], [])
    assert notifications.pending_events(turk) == []


def test_a_loopback_queue_is_reached_over_http_and_the_courier_delivers_in_the_background(moto_server, turk, mturk, workers):
    sqs = local_client("sqs", moto_server)
    queue = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    assert queue.startswith("http://127.0.0.1:")
    notify(mturk, hit_type_of(mturk), queue, ["AssignmentSubmitted"])

    with delivery.Courier(turk, every=0.05) as courier:
        workers(2)
        deadline = time.monotonic() + 10
        while len(notifications.pending_events(turk)) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert courier.passes > 0 and courier.errors == []
    assert len(receive_all(sqs, queue)) == 2


def test_an_sns_topic_on_a_local_server_is_reached_through_its_endpoint(moto_server, turk, mturk, workers):
    sqs, sns = local_client("sqs", moto_server), local_client("sns", moto_server)
    queue = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="babe-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    notify(mturk, hit_type_of(mturk), topic, ["AssignmentSubmitted"], transport="SNS")
    workers(1)

    report = delivery.deliver(turk, clients=delivery.Clients(sns_endpoint_url=moto_server))

    assert len(report.delivered) == 1 and report.failed == []
    [message] = receive_all(sqs, queue)
    assert queue_events.mturk_document(message["Body"])["EventDocId"] == report.delivered[0]


@pytest.mark.parametrize(
    "url, where",
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", ("eu-west-1", None)),
        ("https://queue.amazonaws.com/123456789012/q", ("us-east-1", None)),
        ("http://127.0.0.1:5123/123456789012/q", ("us-east-1", "http://127.0.0.1:5123")),
        ("http://localhost:9324/000000000000/q", ("us-east-1", "http://localhost:9324")),
    ],
)
def test_where_a_queue_url_is_reached(url, where):
    assert delivery.queue_location(url) == where


def test_test_events_are_delivered_too(aws, turk, mturk):
    sqs, queue = aws
    mturk.send_test_event_notification(Notification=spec(queue, events=["Ping"]), TestEventType="Ping")

    assert len(delivery.deliver(turk).delivered) == 1
    [message] = receive_all(sqs, queue)
    assert json.loads(message["Body"])["Events"][0]["EventType"] == "Ping"


# -- babe watch --queue ----------------------------------------------------------------------------
def test_watch_subscribes_the_hit_type_and_refreshes_as_soon_as_events_arrive(aws, babe, created, clock, workers, turk, monkeypatch):
    _, queue = aws
    monkeypatch.setattr(step, "LONG_POLL", 0)
    clock.during(lambda: workers(12))

    run = babe("watch", "--queue", queue, "--interval", "1h", "--json")

    assert run.code == 0, run
    doc = run.json
    assert doc["reason"] == "complete" and doc["approved"] == 12
    # The work came during the first 5-second poll step: the refresh followed at once, not an hour later.
    assert clock.waits == [step.POLL_STEP]
    assert doc["events"]["queue"] == queue
    assert doc["events"]["received"] >= 12 and doc["events"]["duplicates"] == 0
    settings = notifications.notification_settings(turk, created["hits"][0]["hit_type_id"])
    assert settings["Destination"] == queue and settings["Transport"] == "SQS" and settings["Active"] is True
    assert set(settings["EventTypes"]) == set(queue_events.EVENT_TYPES)
    assert "refresh 2: 12/12 approved" in run.err and "approved 12 now" in run.err


def test_repeated_deliveries_are_ignored_by_event_doc_id(aws, babe, created, clock, workers, turk, monkeypatch):
    sqs, queue = aws
    monkeypatch.setattr(step, "LONG_POLL", 0)
    monkeypatch.setattr(queue_events, "COURIER_EVERY", 3600)  # deliveries only right before each poll: no race with this test
    bodies = []

    def work_and_repeat():
        workers(1)
        [pending] = notifications.pending_events(turk)
        bodies.append(pending["body"])
        for _ in range(3):  # MTurk may deliver a message more than once: three extra copies
            sqs.send_message(QueueUrl=queue, MessageBody=pending["body"])

    clock.during(work_and_repeat)

    run = babe("watch", "--queue", queue, "--interval", "1h", "--until", "1h", "--json")

    assert run.code == 0, run
    events = run.json["events"]
    assert (events["received"], events["duplicates"]) == (1, 3)
    # One refresh for the event, then none for the repeats: the rest of the hour was waited out.
    assert run.json["refreshes"] == 3  # start, the event, the deadline
    assert 3500 < sum(clock.waits) <= 3600  # the refreshes' own (real) seconds count too
    assert "refresh 2:" in run.err and "1 event(s)" in run.err

    # The same message once more, to a later watch: the EventDocIds seen are kept, still a repeat.
    sqs.send_message(QueueUrl=queue, MessageBody=bodies[0])
    clock.during(lambda: None)
    again = babe("watch", "--queue", queue, "--interval", "1h", "--until", "10s", "--json")
    assert again.code == 0, again
    assert (again.json["events"]["received"], again.json["events"]["duplicates"]) == (0, 1)


def test_a_real_watch_process_wakes_up_on_events_from_a_moto_server(babe, created, experiment, state_path, moto_server, workers):
    """Across processes, in real time: this test's workers submit, the watch's courier delivers the
    events to moto's SQS over HTTP, the watch's long poll returns, and it approves — within seconds
    although its interval is an hour."""
    sqs = local_client("sqs", moto_server)
    queue = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BABE_"))}
    env.update(BABE_LOCAL_STATE=str(state_path), BABE_PLUGINS="", NO_COLOR="1", AWS_EC2_METADATA_DISABLED="true")
    process = subprocess.Popen(
        [sys.executable, "-c", "from babe_tasks.program import main; main()", "watch", "--queue", queue,
         "--interval", "1h", "--json"],
        cwd=experiment, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stderr.readline()
        assert "refresh 1:" in first, first
        started = time.monotonic()
        workers(12)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, (out, err)
    assert time.monotonic() - started < 30
    doc = json.loads(out)
    assert (doc["reason"], doc["approved"]) == ("complete", 12)
    assert doc["events"]["received"] >= 1  # it stops as soon as all is done, maybe before reading every event


def test_a_queue_mturk_refuses_is_exit_2(babe, created, clock):
    run = babe("watch", "--queue", "https://example.org/123456789012/q", "--json")

    assert run.code == 2, run
    assert "--queue https://example.org/123456789012/q: MTurk refused to notify it" in run.json["error"]["message"]


def test_a_local_serve_server_delivers_its_events_while_it_runs(moto_server, turk, mturk, workers):
    """`babe local.serve` is an MTurk too: notifications reach the queue with no courier of one's own."""
    from babe_mturk.local.server import serve_in_thread

    import uuid

    sqs = local_client("sqs", moto_server)
    # moto's state is one per process, shared by every moto server: a queue of this test's own
    queue = sqs.create_queue(QueueName=f"served-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    notify(mturk, hit_type_of(mturk), queue, ["AssignmentSubmitted"])
    server, _ = serve_in_thread(turk)
    try:
        workers(2)
        deadline = time.monotonic() + 10
        while notifications.pending_events(turk) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
    assert server.courier.errors == []
    assert len(receive_all(sqs, queue)) == 2


def test_the_mturk_event_source_is_reached_through_the_platform_and_uses_the_callers_dedup_store(aws, created, experiment, turk, workers):
    """`event_source(queue=..., first_sighting=...)`, as the watch calls it: the HIT types notify
    the queue once opened, a poll answers the new events, and ids the caller's store has seen
    (another watch's, here) wake nothing."""
    from babe_tasks.platform.base import capabilities_of
    from babe_tasks.plugins import get_platform, plugin_manager
    from babe_tasks.settings import Settings

    sqs, queue = aws
    settings = Settings.build(None, folder=experiment)
    platform = get_platform(plugin_manager(settings), settings)
    assert capabilities_of(platform).events == "queue"
    seen: set[str] = set()

    def first_sighting(event_doc_id: str) -> bool:
        new = event_doc_id not in seen
        seen.add(event_doc_id)
        return new

    source = platform.event_source(queue=queue, first_sighting=first_sighting)
    try:
        assert source.open([hit["hit_id"] for hit in created["hits"]]) == []  # local: no policy to read
        hit_type = created["hits"][0]["hit_type_id"]
        assert notifications.notification_settings(turk, hit_type)["Destination"] == queue
        workers(2)
        events = source.poll(wait=0)  # the courier delivers right before the poll
        assert events and {e["EventType"] for e in events} == {"AssignmentSubmitted"}
        assert (source.received, source.duplicates) == (len(seen), 0)
        again = platform.event_source(queue=queue, first_sighting=first_sighting)
        for body in [json.dumps({"EventDocId": doc_id, "Events": []}) for doc_id in sorted(seen)]:
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        again.open([created["hits"][0]["hit_id"]])
        assert again.poll(wait=0) == [] and (again.received, again.duplicates) == (0, len(seen))
        assert again.close() == []
    finally:
        assert source.close() == []
        platform.close()
