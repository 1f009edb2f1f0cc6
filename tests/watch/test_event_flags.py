"""`--events` is a platform's capability: MTurk has none (its events come through `--queue`), so
it is refused there before anything is read, and the flags are checked before anything runs."""

from __future__ import annotations


def test_events_on_mturk_are_refused_before_anything_is_watched(babe, created):
    run = babe("watch", "--events", "--interval", "1m")
    assert run.code == 2, run
    assert "on MTurk use --queue" in run.err
    assert "refresh 1:" not in run.err and run.out == ""  # refused before the first refresh


def test_event_flags_are_checked_before_anything_runs(babe, created):
    both = babe("watch", "--events", "--queue", "https://sqs.us-east-1.amazonaws.com/123456789012/q")
    assert both.code == 2 and "give one" in both.err
    assert babe("watch", "--events-url", "lab.example.org").code == 2
    listen = babe("watch", "--listen", "127.0.0.1:port")
    assert listen.code == 2 and "host:port" in listen.err
