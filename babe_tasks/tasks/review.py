"""`babe review`: a page on 127.0.0.1 to look at each submission and approve, reject or bonus it.

Thin like the other tasks: flags → Settings → `babe_tasks.review.server.Review` (queue, server,
decisions) → one line of what was decided. The URL goes to stdout at once (flushed: a script or a
test reads it while the server runs); with `--json` the lines go to stderr and the summary is the
JSON document. Werkzeug is imported in the body: `babe --list` imports this module.
"""

from __future__ import annotations

from ..taskkit import babe_task

REVIEW_HELP = {
    "browser": "open the page in the browser (--no-browser: only print its URL)",
    "port": "the port on 127.0.0.1 to serve the page on (default 0: any free port)",
    "print": "print the submissions awaiting a decision (time taken, pay per hour, holds, data) and exit: no page",
}


@babe_task(common=True, settings=True, help=REVIEW_HELP)
def review(c, browser=True, port=0, print_=False, **common):
    """Serve a page on 127.0.0.1 to review submissions and approve, reject or bonus them; Ctrl-C ends."""
    import sys

    from .. import output
    from .lifecycle import _start

    settings, pm = _start(c, **common)
    if print_:
        _print_queue(settings, pm)
        return
    from ..review.server import Review

    session = Review(settings, pm, port=int(port))
    stream = sys.stderr if settings.json else sys.stdout
    counts = session.queue.counts()
    held = f" ({counts['held']} held by a rule)" if counts["held"] else ""
    print(f"Review page: {session.url}", file=stream, flush=True)
    print(
        f"{counts['awaiting'] + counts['held']} submission(s) of {settings.experiment} on {settings.target} await a "
        f"decision{held}. Ctrl-C ends the review.",
        file=stream,
        flush=True,
    )
    if browser:
        opened = _open(session.url)
        if not opened:
            print("No browser to open here: open the URL above in one.", file=stream, flush=True)
    session.serve()
    tally = session.decisions.tally
    pricing = session.queue.pricing
    output.emit(
        settings,
        {
            "approved": tally.approved,
            "rejected": tally.rejected,
            "bonuses": tally.bonuses,
            "bonus_total": tally.bonus_total,
        },
        lambda console: print(f"Review ended: {tally.line(pricing)}.", flush=True),
    )


def _open(url: str) -> bool:
    """Open the page in a graphical browser; False where there is none.

    On Linux without a display Python's `webbrowser` would pick a text browser that takes over the
    terminal the server prints to, so it is not asked there.
    """
    import os
    import sys
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


def _print_queue(settings, pm) -> None:
    """What the page would list, for a terminal or a script: the same queue, read once, nothing served."""
    from .. import output
    from ..review.queue import ReviewQueue

    queue = ReviewQueue(settings, pm)
    queue.load()
    summary = queue.summary()
    counts = summary["counts"]
    everything = queue.page(0, counts["awaiting"] + counts["held"], "awaiting")
    document = {**summary, "items": everything["items"]}
    output.emit(settings, document, lambda console: _render_queue(console, document, queue.pricing))


def _render_queue(console, document: dict, pricing) -> None:
    from rich.markup import escape

    from .. import output
    from ..durations import format_duration
    from .lifecycle import _money, _table

    for warning in document["warnings"]:
        output.warn(warning)
    items = document["items"]
    where = f"{document['experiment']} on {document['target']}"
    if not items:
        console.print(f"Nothing awaits a decision in {escape(where)}.")
        return
    mturk = tuple(document["nouns"]) == output.MTURK_NOUNS
    work, person = ("assignment", "worker") if mturk else ("submission", "participant")
    table = _table(f"Awaiting a decision: {escape(where)}")
    for heading in (work, person, "took", "per hour", "data", "held because"):
        table.add_column(heading, no_wrap=heading != "held because")
    for item in items:
        took = format_duration(item["seconds_taken"]) if item["seconds_taken"] is not None else "-"
        per_hour = _money(item["pay_per_hour"], pricing) if item["pay_per_hour"] is not None else "-"
        checks = item["checks"]
        data = "yes" if item["has_data"] else "none"
        if checks:
            data += f", checks {checks['passed']}/{checks['passed'] + checks['failed']}"
        cells = (item["assignment_id"], item["worker_id"], took, per_hour, data, "; ".join(item["holds"]) or "-")
        table.add_row(*(escape(cell) for cell in cells))  # a plugin's hold reason is text, never rich markup
    console.print(table)
    counts = document["counts"]
    console.print(
        f"{counts['awaiting'] + counts['held']} awaiting ({counts['held']} held by a rule). "
        "`babe review` opens them in a page to decide."
    )
