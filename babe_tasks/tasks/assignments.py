"""`babe assignments`: who did which assignment (submission on Prolific), for reject and bonus.

Thin on purpose, like the lifecycle tasks: flags → Settings → plugin manager → step → output.
Imported by `babe --list`, so nothing heavy at import time.
"""

from __future__ import annotations

from ..taskkit import babe_task


@babe_task(
    common=True,
    iterable=["hit", "status"],
    help={
        "hit": "only this HIT, or study on Prolific (repeat the flag, or separate ids with commas); default: all of the experiment",
        "status": "only assignments in this status: Submitted, Approved or Rejected (repeat the flag for several)",
        "json": 'print one JSON document: {"assignments": [{"hit_id", "assignment_id", "worker_id", "status", '
        '"accept_time", "submit_time"}]} (MTurk\'s names on every platform)',
    },
)
def assignments(c, hit=None, status=None, **common):
    """Who did which assignment (submission on Prolific): HIT, assignment, worker, status, submit time."""
    from .. import output
    from ..errors import PartialFailure
    from ..steps import assignments as step
    from .lifecycle import _ids, _start

    settings, pm = _start(c, **common)
    statuses = [part for value in status or [] for part in str(value).split(",") if part.strip()]
    try:
        result = step.run(settings, pm, hit_ids=_ids(hit), statuses=statuses)
    except PartialFailure as failure:
        if not settings.json:
            from ..steps import nouns_for

            render(output.console(), failure.result, nouns_for(settings, pm), settings)
        raise
    output.emit(settings, result.as_json(), lambda console: render(console, result.as_json(), result.nouns, settings))


def render(console, document: dict, nouns: tuple[str, str], settings) -> None:
    """A table with the platform's words: HIT / assignment / worker on MTurk, study / submission /
    participant elsewhere (the JSON keeps MTurk's names, as every document does)."""
    from .. import output
    from .lifecycle import _table

    mturk = tuple(nouns) == output.MTURK_NOUNS
    unit, work, person = (nouns[0], "assignment", "worker") if mturk else (nouns[0], "submission", "participant")
    rows = document["assignments"]
    if not rows:
        console.print(f"No {work}s submitted yet for experiment {settings.experiment} on {settings.target}.")
        return
    table = _table(f"{output.capitalised(work)}s of {settings.experiment} on {settings.target}")
    for heading in (unit, work, person, "status", "submitted"):
        table.add_column(heading, no_wrap=True)
    for row in rows:
        submitted = row["submit_time"].replace("T", " ")[:16] + "Z" if row["submit_time"] else "-"
        table.add_row(row["hit_id"], row["assignment_id"], row["worker_id"], row["status"], submitted)
    console.print(table)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("Submitted", "Approved", "Rejected")}
    console.print(
        f"{len(rows)} {work}(s): {counts['Submitted']} submitted, {counts['Approved']} approved, {counts['Rejected']} rejected."
    )
