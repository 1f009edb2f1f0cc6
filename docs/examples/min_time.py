"""min_time: hold back assignments submitted faster than a minimum time.

Somebody who "finishes" a ten-minute experiment in forty seconds has clicked through it. Paying
them is the lab's decision, not the approve step's: this plugin holds such assignments back with
the time they took, and `babe approve` lists them for review instead of paying them. (Approve
them by hand with `babe approve --assignment ID`, or reject them with `babe reject`.)

Use it by copying this file to the experiment's `plugins/` folder and setting a minimum:

    babe:
      plugins:
        min_time:
          minimum: 3m

Without a `minimum` it holds nothing back.
"""

from __future__ import annotations

from babe_tasks import hookimpl
from babe_tasks.durations import DurationError, format_duration, parse_duration
from babe_tasks.errors import UsageError

#: The plugin's name: the file's name in plugins/, and its settings section babe.plugins.min_time.
NAME = "min_time"


def minimum_seconds(settings) -> int | None:
    """The configured minimum in seconds, None when not set; a bad value is the lab's error (exit 2)."""
    value = settings.plugin_settings(NAME).get("minimum")
    if value is None:
        return None
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise UsageError(f"babe.plugins.{NAME}.minimum {exc}") from None


@hookimpl
def babe_configure(settings):
    """Check the setting when the run starts, so a typo stops it before anything is done."""
    minimum_seconds(settings)


@hookimpl
def babe_before_approve(settings, assignments):
    """Return (assignment_id, reason) for each assignment done faster than the minimum."""
    minimum = minimum_seconds(settings)
    if minimum is None:
        return None
    held = []
    for assignment in assignments:
        if assignment.accept_time is None or assignment.submit_time is None:
            continue  # a platform that does not say when: nothing to judge by
        took = int((assignment.submit_time - assignment.accept_time).total_seconds())
        if took < minimum:
            reason = f"submitted {format_duration(took)} after accepting, faster than the {format_duration(minimum)} minimum"
            held.append((assignment.assignment_id, reason))
    return held
