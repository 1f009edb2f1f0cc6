"""`babe watch`: refresh, approve and expire until the experiment is complete, unattended.

Thin like the other tasks: flags → Settings → `steps.watch.run` → output. While it runs, one line
per refresh that changed something goes to stderr (with the milestones), and on a terminal a
progress bar shows what is approved while it waits; the result — one JSON document with `--json`,
else a table and a summary — goes to stdout at the end, also after Ctrl-C (exit 1).
"""

from __future__ import annotations

from typing import Any

from ..taskkit import REFRESH_FLAGS, babe_task, take

WATCH_HELP = {
    "goal": "approved assignments wanted; when reached, the open HITs (studies) are expired (default: all assignments posted)",
    "until": "stop when this passes: a duration from now (2d, 36h) or a time (2026-12-01T12:00Z)",
    "approve": "approve submitted work as it arrives (--no-approve: only refresh, announce and expire)",
}


@babe_task(common=True, refresh=True, help=WATCH_HELP, iterable=["hit"])
def watch(
    c,
    goal=None,
    until=None,
    approve=True,
    yes=False,
    **common,
):
    """Refresh, approve and expire until complete or --until passes; Ctrl-C stops cleanly."""
    from .. import output
    from ..errors import PartialFailure
    from ..steps import nouns_for
    from ..steps import watch as step
    from .lifecycle import _ids, _start

    refresh = take(common, REFRESH_FLAGS)
    hit = refresh.pop("hit")
    goal_n = step.parse_goal(goal)
    deadline = step.parse_until(until)
    pause, wanted_events = step.parse_refresh(**refresh)
    settings, pm = _start(
        c,
        yes=yes,
        **common,
    )
    lines = _Lines(output.stderr_console())
    try:
        result = step.run(
            settings,
            pm,
            goal=goal_n,
            until=deadline,
            interval=pause,
            hit_ids=_ids(hit),
            events=wanted_events,
            approve=approve,
            on_refresh=lines,
        )
    except PartialFailure as failure:
        if not settings.json and isinstance(failure.result, dict):
            render(output.console(), failure.result, settings, lines.nouns or nouns_for(settings, pm))
        raise
    output.emit(settings, result.as_json(), lambda console: render(console, result.as_json(), settings, result.nouns))


class _Lines:
    """One stderr line per refresh that changed something, and one per milestone (a log stays readable)."""

    def __init__(self, console: Any):
        self.console = console
        self.last: tuple | None = None
        #: What the platform calls a HIT, as the last refresh's status said (None before the first).
        self.nouns: tuple[str, str] | None = None

    def __call__(self, tick) -> None:
        from ..output import count

        self.nouns = tuple(tick.status.nouns)
        totals = tick.status.totals
        seen = (totals["approved"], totals["submitted"], totals["pending"], totals["available"], totals["rejected"])
        acted = tick.approved_now or tick.failed or tick.expired or tick.milestones
        if seen == self.last and not acted:
            return
        self.last = seen
        parts = [
            f"{totals['approved']}/{tick.goal} approved",
            f"{totals['submitted']} submitted",
            f"{totals['pending']} working",
            f"{totals['available']} open",
        ]
        if tick.approved_now:
            parts.append(f"approved {tick.approved_now} now")
        if tick.held:
            parts.append(f"{tick.held} held")
        if tick.failed:
            parts.append(f"{tick.failed} approval(s) failed")
        if tick.expired:
            parts.append(f"expired {count(len(tick.expired), self.nouns)}")
        if tick.events:
            parts.append(f"{tick.events} event(s)")
        when = tick.at.strftime("%H:%MZ")
        self.console.print(f"{when} refresh {tick.number}: " + ", ".join(parts), highlight=False)
        for milestone in tick.milestones:
            self.console.print(f"{when} [bold]milestone[/bold] {milestone.text}", highlight=False)


REASONS = {
    "complete": "complete",
    "deadline": "stopped at the deadline",
    "interrupted": "interrupted (run babe watch again to go on)",
}


def render(console, document: dict, settings, nouns: tuple[str, str] | None = None) -> None:
    """The HITs as the last refresh saw them, then what the watch did; `nouns` (MTurk's if None)
    is what the platform calls a HIT."""
    from rich import box
    from rich.table import Table

    from ..output import MTURK_NOUNS, capitalised, count
    from .lifecycle import STATUS_FIELDS, _money, _parse_time, _when

    nouns = nouns or MTURK_NOUNS
    status = document.get("status") or {"hits": [], "totals": {}}
    table = Table(
        title=f"{capitalised(nouns[1])} of {settings.experiment} on {settings.target}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column(nouns[0], no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in STATUS_FIELDS:
        table.add_column(name, justify="right")
    for hit in status["hits"]:
        table.add_row(hit["hit_id"], hit["status"], *(str(hit[n]) for n in STATUS_FIELDS))
    if status["hits"]:
        table.add_row("total", "", *(str(status["totals"].get(n, 0)) for n in STATUS_FIELDS), style="bold")
        console.print(table)
    started, ended = _parse_time(document.get("started_at")), _parse_time(document.get("ended_at"))
    console.print(
        f"Watch {REASONS.get(document['reason'], document['reason'])} after {document['refreshes']} refresh(es), "
        f"{_when(started)} to {_when(ended)}."
    )
    console.print(
        f"{document['approved']} of {document['goal']} wanted are approved ({document['approved_now']} by this watch); "
        f"spent {_money(status.get('spent', '0.00'))}, {_money(status.get('committed', '0.00'))} more committed."
    )
    if document.get("expired"):
        console.print(f"Expired {count(len(document['expired']), nouns)}: {', '.join(document['expired'])}")
    for milestone in document.get("milestones", []):
        console.print(f"Milestone {milestone['name']}: {milestone['text']}")
    for held in document.get("held", []):
        console.print(f"Held {held['assignment_id']}: {held['reason']}")
    for failed in document.get("failed", []):
        console.print(f"Failed {failed['assignment_id']}: {failed['error']}")
    events = document.get("events")
    if events and "queue" in events:
        console.print(
            f"Notifications from {events['queue']}: {events['received']} message(s), {events['duplicates']} repeat(s) ignored."
        )
    elif events:
        console.print(
            f"Events at {events['url']}: {events['received']} new, {events['duplicates']} repeat(s) and "
            f"{events['unrelated']} about other studies ignored, {events['forged']} unsigned or forged refused."
        )
