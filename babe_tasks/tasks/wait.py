"""`babe wait`: block until a condition holds, for Makefiles and scripts (docs/automation.md).

Thin like the other tasks: flags → `steps.wait.run` → output. Exit 0 when the condition holds,
5 when `--timeout` passed first (`steps.wait.NOT_REACHED`), 1 when interrupted; one stderr line
per refresh that changed the counts, so a make log shows it is alive.
"""

from __future__ import annotations

from typing import Any

from ..taskkit import REFRESH_FLAGS, babe_task, take

WAIT_HELP = {
    "submitted": "wait until at least this many assignments have arrived (submitted, approved or rejected)",
    "reviewed": "wait until no arrived work is waiting for approve or reject",
    "closed": "wait until no HIT (study on Prolific) takes workers any more",
    "until": "wait until this passes: a duration from now (2h) or a time (2026-12-01T12:00Z)",
    "timeout": "give up after this long, with exit code 5 (default 24h)",
    # In wait's words; --interval, --events-url and --hit as taskkit.REFRESH_HELP says them.
    "queue": "SQS queue URL to receive MTurk's notifications: look as soon as something happens",
    "events": "on Prolific: subscribe to its webhook events and look as soon as a study or submission changes",
    "listen": "with --events: the local host:port that receives events",
}


@babe_task(common=True, refresh=True, help=WAIT_HELP, iterable=["hit"])
def wait(
    c,
    submitted=None,
    reviewed=False,
    closed=False,
    until=None,
    timeout=None,
    **common,
):
    """Block until N submitted, all reviewed, all closed and/or a time passed; exit 5 at --timeout."""
    from .. import output
    from ..steps import wait as step
    from ..steps import watch as watch_step
    from .lifecycle import _ids, _start

    refresh = take(common, REFRESH_FLAGS)
    hit = refresh.pop("hit")
    condition = step.parse_condition(submitted, reviewed, closed, until)
    seconds = step.parse_timeout(timeout)
    pause, wanted_events = watch_step.parse_refresh(**refresh)
    settings, pm = _start(c, **common)
    result = step.run(
        settings,
        pm,
        condition=condition,
        timeout=seconds,
        interval=pause,
        hit_ids=_ids(hit),
        events=wanted_events,
        on_refresh=_Lines(output.stderr_console(), condition),
    )
    output.emit(settings, result.as_json(), lambda console: render(console, result.as_json()))


class _Lines:
    """One stderr line whenever the counts change: a make log shows the wait is alive, not stuck."""

    def __init__(self, console: Any, condition: Any):
        self.console, self.condition, self.last = console, condition, None

    def __call__(self, tick) -> None:
        from ..steps.wait import arrived

        totals = tick.status.totals
        seen = (arrived(tick.status), totals["submitted"], totals["pending"], totals["available"])
        if seen == self.last:
            return
        self.last = seen
        self.console.print(
            f"{tick.at.strftime('%H:%MZ')} waiting for {self.condition.describe()}: {seen[0]} arrived, "
            f"{seen[1]} to review, {seen[2]} working, {seen[3]} open",
            highlight=False,
        )


def render(console, document: dict) -> None:
    console.print(
        f"Reached after {document['refreshes']} refresh(es): {document['arrived']} arrived, "
        f"{document['totals'].get('submitted', 0)} to review, {document['totals'].get('available', 0)} open."
    )
