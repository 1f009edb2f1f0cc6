"""`babe wait` on the local MTurk: each condition, the timeout's exit code 5, bad input, and the
queue of MTurk's notifications as a wake-up. Time moves through the clock seam (`watch.default_sleep`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def created(babe, experiment):
    run = babe("create", "--assignments", "12", "--batch-size", "6", "--json")
    assert run.code == 0, run
    return run.json


def test_wait_returns_once_enough_work_has_arrived(babe, created, clock, workers):
    clock.during(lambda: workers(2), lambda: workers(3))
    run = babe("wait", "--submitted", "5", "--interval", "10m", "--json")
    assert run.code == 0, run
    assert run.json["reached"] is True and run.json["arrived"] == 5
    assert clock.waits == pytest.approx([600, 600], abs=5)  # polled on the platform's clock, once per interval
    assert run.json["totals"]["approved"] == 0  # a wait changes nothing


def test_wait_that_times_out_exits_5_with_its_document(babe, created, clock, workers):
    clock.during(lambda: workers(2))
    run = babe("wait", "--submitted", "12", "--interval", "30m", "--timeout", "2h", "--json")
    assert run.code == 5, run
    assert run.json["reached"] is False and run.json["reason"] == "deadline" and run.json["arrived"] == 2
    assert sum(clock.waits) == pytest.approx(7200, abs=5)  # the platform's clock also runs
    assert "error: not reached by the timeout (12 submitted; 2 arrived)" in run.err
    assert run.err.count("error:") == 1 and "Traceback" not in run.err


def test_reviewed_and_closed(babe, created, clock, workers):
    workers(12)
    assert babe("wait", "--closed", "--timeout", "1m", "--interval", "30s").code == 0  # all taken: closed
    clock.during(lambda: babe("approve"))
    run = babe("wait", "--reviewed", "--interval", "1m", "--json")
    assert run.code == 0, run
    assert run.json["totals"]["submitted"] == 0 and run.json["totals"]["approved"] == 12
    assert clock.waits == pytest.approx([60], abs=5)


def test_closed_waits_for_the_expiry(babe, created, clock):
    clock.during(lambda: None, lambda: babe("expire"))
    run = babe("wait", "--closed", "--interval", "5m", "--json")
    assert run.code == 0, run
    assert clock.waits == pytest.approx([300, 300], abs=5)  # open until the expire in the second wait


def test_until_a_time_has_passed(babe, created, clock):
    run = babe("wait", "--until", "45m", "--interval", "30m", "--json")
    assert run.code == 0, run
    assert clock.waits == pytest.approx([1800, 900], abs=5)  # woken at the time itself, not an interval later
    assert babe("wait", "--until", "3h", "--timeout", "1h", "--interval", "30m").code == 5


def test_until_and_submitted_together_wait_for_both(babe, created, clock, workers):
    clock.during(lambda: None, lambda: None, lambda: workers(4))
    run = babe("wait", "--until", "10m", "--submitted", "4", "--interval", "10m", "--timeout", "1h", "--json")
    assert run.code == 0, run
    assert run.json["arrived"] == 4 and clock.waits == pytest.approx([600, 600, 600], abs=5)


@pytest.mark.parametrize(
    "args, words",
    [
        ((), "wait for what?"),
        (("--submitted", "0"), "--submitted '0' is not a positive whole number"),
        (("--submitted", "3", "--timeout", "soon"), "--timeout"),
        (("--reviewed", "--until", "tomorrow"), "--until 'tomorrow' is neither a duration nor a time"),
        (("--closed", "--interval", "0s"), "--interval"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(babe, created, args, words):
    run = babe("wait", *args)
    assert run.code == 2, run
    assert words in run.err and run.err.count("\n") == 1 and "Traceback" not in run.err


def test_wait_without_hits_says_to_create(babe, experiment):
    run = babe("wait", "--submitted", "1")
    assert run.code == 2 and "run babe create first" in run.err


def test_events_on_mturk_are_refused_like_watch(babe, created):
    run = babe("wait", "--submitted", "1", "--events")
    assert run.code == 2 and "--queue" in run.err


def test_the_queue_wakes_the_wait_at_once(babe, created, turk, monkeypatch):
    """MTurk's notifications through SQS (moto) wake the wait long before its 10-minute interval."""
    import boto3
    from moto import mock_aws

    from babe_mturk.local import workers as sim

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="babe-events")["QueueUrl"]
        slept: list[float] = []

        def sleep(seconds):  # only the fallback polls sleep; the queue's long poll does not
            slept.append(seconds)
            if len(slept) == 1:
                sim.simulate(turk, workers=3)

        from babe_tasks.steps import watch as step

        monkeypatch.setattr(step, "default_sleep", sleep)
        monkeypatch.setattr(step, "LONG_POLL", 0)
        run = babe("wait", "--submitted", "3", "--interval", "10m", "--queue", queue, "--json")
    assert run.code == 0, run
    assert run.json["events"]["received"] >= 1
    assert sum(slept) < 600  # woken by the event, not by the interval
