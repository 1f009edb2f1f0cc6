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


#: A lab's platform plugin: MTurk as it is, but saying it sends no events (capabilities data only).
NO_EVENTS = '''
from dataclasses import replace

from babe_mturk.platform import MTurkPlatform
from babe_tasks.plugins import hookimpl


class Quiet(MTurkPlatform):
    @property
    def capabilities(self):
        return replace(super().capabilities, events=None)


@hookimpl(tryfirst=True)
def babe_platform(settings):
    return Quiet(settings)
'''


def test_which_flag_wakes_the_watch_is_the_platforms_capabilities_data(babe, created, experiment):
    """The same platform without `events` in its capabilities: `--queue` and `--events` are both
    refused before the first refresh, in words that name no other platform's way."""
    from babe_tasks.testing.experiment import write_plugin

    write_plugin(experiment, "quiet", NO_EVENTS)
    queue = babe("watch", "--queue", "https://sqs.us-east-1.amazonaws.com/123456789012/q", "--interval", "1m")
    assert queue.code == 2, queue
    assert "platform mturk cannot send notifications to a queue: run babe watch without --queue" in queue.err
    events = babe("wait", "--submitted", "1", "--events")
    assert events.code == 2, events
    assert "mturk sends no events babe can receive: watch without --events" in events.err
    assert "refresh 1:" not in queue.err + events.err and "--queue (" not in events.err
