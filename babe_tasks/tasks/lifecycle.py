"""The lifecycle tasks: `create`, `status`, `approve`, `expire`, `extend`.

Thin on purpose: each task turns its flags into `Settings`, builds the plugin manager, calls its
step (`babe_tasks.steps`), and prints the outcome — one JSON document with `--json`, else text.
No MTurk call and no business rule lives here. Heavy imports stay inside the bodies: this module
is imported by `babe --list`.
"""

from __future__ import annotations

import time
from typing import Any

from ..taskkit import babe_task

TARGET_FLAGS = ("target", "endpoint_url", "profile", "platform")
STATUS_FIELDS = ("available", "pending", "submitted", "approved", "rejected")


def _ids(values: list[str] | None) -> list[str]:
    """Repeated flags, each of which may also hold a comma-separated list (`--hit A,B`)."""
    return [part.strip() for value in values or [] for part in str(value).split(",") if part.strip()]


def _start(c, **flags: Any):
    """Settings from the task's flags (None = not given; `babe_task` made them so) and a fresh plugin manager."""
    from ..plugins import plugin_manager
    from ..settings import Settings

    settings = Settings.build(c, **flags)
    return settings, plugin_manager(settings)


def _money(value, pricing=None) -> str:
    """Money for people: the platform's currency symbol (`pricing`; MTurk's $ by default), two decimals."""
    from ..money import shown

    return shown(value, pricing)


def _when(value) -> str:
    """A time for people: UTC to the minute (JSON keeps full ISO-8601)."""
    return value.strftime("%Y-%m-%d %H:%MZ") if value is not None else "-"


#: The expiry column's heading: MTurk's HITs expire; elsewhere (Prolific) a HIT is open until it
#: is stopped or full, and the column says which, or when it stopped.
EXPIRY_HEADING = {True: "expires", False: "open until"}


def _expiry(hit, expires_by_time: bool = True) -> str:
    """A status HIT's expiry for people, completing its column's heading (`EXPIRY_HEADING`).

    On MTurk the time it expires (or expired). Where HITs do not expire by time the step left only
    real times (`base.shown_expiry`): "stopped <time>" for a stopped one; "stopped or full" for one
    still open; "full" for one closed by filling up; "-" when nothing is known (a deleted one)."""
    if expires_by_time:
        return _when(hit.expires_at)
    if hit.expires_at is not None:
        return f"stopped {_when(hit.expires_at)}"
    if hit.open:
        return "stopped or full"
    return "full" if hit.available == 0 and hit.source != "ledger" else "-"


def _table(title: str):
    """A plain table (a rule under the header only): a 30-character id and five counts fit 120 columns."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True
    )


# -- create ----------------------------------------------------------------------------------------
@babe_task(common=True, spending=True, settings=True)
def create(c, **common):
    """Post the experiment URL as ExternalQuestion HITs, or a study on Prolific (batched, costed, idempotent)."""
    from .. import output
    from ..steps import create as step

    settings, pm = _start(c, **common)

    def review(plan, excluded) -> bool:
        # The plan goes where people read: stdout, unless stdout carries the JSON document.
        render_plan(output.stderr_console() if settings.json else output.console(), plan, settings, excluded)
        if settings.target != "live" or settings.dry_run:
            return True
        posting = output.count(len(plan.hits), plan.nouns, hedged=False)
        return output.confirm(settings, f"Post {posting} on live for {_money(plan.cost.total, plan.pricing)}?")

    result = step.run(settings, pm, review=review)
    output.emit(settings, result.as_json(), lambda console: render_created(console, result, settings))


def render_plan(console, plan, settings, excluded=None) -> None:
    """The plan, who may work on it, and its exact cost, line by line as MTurk bills it."""
    from .. import output
    from ..durations import format_duration
    from ..output import count
    from ..qualifications import describe

    cost = plan.cost
    sizes = ", ".join(str(h.assignments) for h in plan.hits)
    if plan.platform_lines:  # the platform's own lines say how it holds the assignments
        console.print(f"Plan for experiment {plan.experiment} on {plan.platform} ({plan.target}): {plan.assignments} assignments")
    else:
        console.print(
            f"Plan for experiment {plan.experiment} on {plan.target}: {plan.assignments} assignments in "
            f"{count(len(plan.hits), plan.nouns, hedged=False)} ({sizes})"
            + (" of one HIT type" if plan.nouns == output.MTURK_NOUNS else "")
        )
    console.print(f"  url {plan.url}")
    if not plan.platform_lines:
        console.print(
            f"  open for {format_duration(plan.lifetime)}, {format_duration(plan.duration)} per assignment, "
            f"auto-approved after {format_duration(plan.auto_approve)}"
        )
    who = [describe(r) for r in plan.qualification_requirements] + (["Masters"] if plan.masters else [])
    if who:
        console.print(f"  workers     {'; '.join(who)}")
    for line in plan.platform_lines:
        console.print(f"  {line}")
    if plan.unique_workers and not plan.platform_lines:
        console.print("  unique      one HIT per worker in the whole experiment (--allow-repeat-workers to allow more)")
    if excluded is not None:
        names = ", ".join(excluded.experiments) or "no earlier experiment"
        console.print(f"  keeps out   {len(excluded.workers)} worker(s) of {names}")
    if plan.blocklist_hits:
        earlier = (f"earlier {plan.nouns[0]}", f"earlier {plan.nouns[1]}")
        console.print(f"  blocks      the workers of {count(len(plan.blocklist_hits), earlier)}, through {settings.platform}")
    if plan.existing:
        from ..steps.create import describe_existing

        console.print(f"  beside      {describe_existing(plan.existing, plan.nouns)} (--again: a second batch)")
    pricing = plan.pricing
    console.print(f"  rewards     {_money(plan.reward, pricing)} x {cost.assignments} = {_money(cost.rewards, pricing)}")
    _fee_lines(console, cost, settings, pricing)
    if plan.resumed:
        done = sum(h.hit_id is not None for h in plan.hits)
        console.print(
            f"Resuming unfinished plan {plan.plan_id}: {done} of {count(len(plan.hits), plan.nouns, hedged=False)} "
            f"{'was' if len(plan.hits) == 1 and plan.nouns != output.MTURK_NOUNS else 'were'} already posted."
        )


def _fee_lines(console, cost, settings, pricing, *, total: bool = True) -> None:
    """The fees as the platform bills them: MTurk's three rules by name, another platform's fee and VAT."""
    from ..money import MTurkPricing

    if pricing is None or isinstance(pricing, MTurkPricing):
        console.print(f"  MTurk fee   20%, at least $0.01 per assignment = {_money(cost.commission, pricing)}")
        if cost.surcharge:
            console.print(f"  surcharge   20% for HITs of 10 or more assignments = {_money(cost.surcharge, pricing)}")
        if cost.masters:
            console.print(f"  Masters     5% = {_money(cost.masters, pricing)}")
    else:
        console.print(f"  fees        {settings.platform}'s fee = {_money(cost.fees - cost.vat, pricing)}")
        if cost.vat:
            console.print(f"  VAT         on the fees = {_money(cost.vat, pricing)}")
    if total:
        console.print(f"  total       {_money(cost.total, pricing)}")


def _posted_line(result, settings) -> str:
    """What this create posted: N now (the rest earlier), or nothing because the batch exists."""
    from datetime import UTC, datetime

    from .. import output

    plan = result.plan
    if plan.posted_before is None:
        posted = output.count(result.posted_now, result.nouns, hedged=bool(plan.platform_lines))
        return f"Posted {posted} now" + (", the rest earlier." if result.resumed else ".")
    when = _when(datetime.fromtimestamp(plan.posted_before, UTC))
    return (
        f"Posted nothing now: the same create of {plan.experiment} on {settings.target} finished at {when} "
        f"(plan {plan.plan_id}). For more participants: babe extend --assignments N; to post this batch "
        "a second time: add --again."
    )


def render_created(console, result, settings) -> None:
    from .. import output

    if result.dry_run:
        console.print("Dry run: nothing was posted.")
        if result.plan.posted_before is not None:
            console.print(_posted_line(result, settings))
        return
    if result.plan.platform_lines:
        # Another platform: its own words were in the plan review; no HIT lifetime to show.
        table = _table(f"Posted on {result.plan.platform} ({settings.target}) for {result.plan.experiment}")
        for column in (result.nouns[0], "assignments"):
            table.add_column(column, no_wrap=True)
        for hit in result.hits:
            table.add_row(hit.hit_id or "-", str(hit.assignments))
        console.print(table)
        console.print(_posted_line(result, settings))
    else:
        # No expiry column where the platform's HITs have none (`PostedHit.expires_at` None).
        expiring = any(hit.expires_at is not None for hit in result.hits)
        table = _table(f"{output.capitalised(result.nouns[1])} of {result.plan.experiment} on {settings.target}")
        for column in (result.nouns[0], "assignments", *(("expires",) if expiring else ())):
            table.add_column(column, no_wrap=True)
        for hit in result.hits:
            table.add_row(hit.hit_id or "-", str(hit.assignments), *((_when(hit.expires_at),) if expiring else ()))
        console.print(table)
        console.print(_posted_line(result, settings))
    previews = sorted({h.preview_url for h in result.hits if h.preview_url})
    if previews:
        for url in previews:
            console.print(f"Workers preview it at {url}")
    elif result.no_preview:
        console.print(result.no_preview)
    for line in result.platform_lines:
        console.print(line)


# -- status ----------------------------------------------------------------------------------------
@babe_task(
    common=True,
    iterable=["hit"],
    help={
        "hit": "only this HIT, or study on Prolific (repeat the flag, or separate ids with commas); default: all of the experiment",
        "watch": "refresh until all assignments are in or the HITs (studies) close",
        "interval": "seconds between refreshes with --watch, e.g. 30s, 2m (default 30s)",
        "sync": "first rebuild the ledger from the platform (HITs or studies found by their annotation, assignments, bonuses)",
    },
)
def status(
    c,
    hit=None,
    watch=False,
    interval="30s",
    sync=False,
    **common,
):
    """Counts per HIT (study on Prolific) and in total, money spent and committed, repeat workers."""
    from .. import output
    from ..durations import DurationError, parse_duration
    from ..errors import UsageError
    from ..steps import status as step

    settings, pm = _start(c, **common)
    try:
        pause = parse_duration(interval)
    except DurationError as exc:
        raise UsageError(f"--interval {exc}") from None
    hit_ids = _ids(hit)
    if sync:
        from ..steps import sync as syncing

        output.stderr_console().print(syncing.run(settings, pm).summary(settings))
    result = step.run(settings, pm, hit_ids=hit_ids)
    if watch and not result.finished:
        with output.progress("assignments in", total=_expected(result)) as bar:
            while not result.finished:
                bar.update(completed=_arrived(result), total=_expected(result))
                time.sleep(pause)
                result = step.run(settings, pm, hit_ids=hit_ids)
    output.emit(settings, result.as_json(), lambda console: render_status(console, result, settings))


def _expected(result) -> int:
    return sum(h.max_assignments for h in result.hits)


def _arrived(result) -> int:
    return sum(h.submitted + h.approved + h.rejected for h in result.hits)


#: The width the status table needs; narrower consoles get one block per HIT instead of squeezed columns.
STATUS_TABLE_WIDTH = 114


def render_status(console, result, settings) -> None:
    from .. import output

    if not result.hits:
        console.print(f"No {result.nouns[1]} of experiment {settings.experiment} on {settings.target} yet: run babe create.")
        return
    totals = result.totals
    by_time = bool(getattr(result, "expires_by_time", True))
    heading = EXPIRY_HEADING[by_time]
    # A plugin's extra field keyed by HIT id (e.g. the backend's data rows per HIT) is a column.
    ids = {hit.hit_id for hit in result.hits}
    per_hit = {k: v for k, v in result.extra.items() if isinstance(v, dict) and v and set(v) <= ids}
    if console.width >= STATUS_TABLE_WIDTH + 14 * len(per_hit):
        table = _table(f"{output.capitalised(result.nouns[1])} of {settings.experiment} on {settings.target}")
        table.add_column(result.nouns[0], no_wrap=True)
        table.add_column("status", no_wrap=True)
        for name in STATUS_FIELDS:
            table.add_column(name, justify="right")
        for key in per_hit:
            table.add_column(key.replace("_", " "), justify="right")
        table.add_column(heading, no_wrap=True)
        for hit in result.hits:
            extra_cells = (str(values.get(hit.hit_id, "-")) for values in per_hit.values())
            table.add_row(
                hit.hit_id, hit.status, *(str(getattr(hit, n)) for n in STATUS_FIELDS), *extra_cells, _expiry(hit, by_time)
            )
        extra_totals = (_column_total(values) for values in per_hit.values())
        table.add_row("total", "", *(str(totals[n]) for n in STATUS_FIELDS), *extra_totals, "", style="bold")
        console.print(table)
    else:
        console.print(f"{output.capitalised(result.nouns[1])} of {settings.experiment} on {settings.target}")
        for hit in result.hits:
            console.print(f"{hit.hit_id}  {hit.status}  {heading} {_expiry(hit, by_time)}")
            cells = [f"{n} {getattr(hit, n)}" for n in STATUS_FIELDS]
            cells += [f"{key.replace('_', ' ')} {values.get(hit.hit_id, '-')}" for key, values in per_hit.items()]
            console.print("  " + "  ".join(cells))
        console.print("total  " + "  ".join(f"{n} {totals[n]}" for n in STATUS_FIELDS))
    pricing = result.pricing
    console.print(
        f"Spent {_money(result.spent, pricing)}; committed {_money(result.committed, pricing)} more if all open work is approved."
    )
    if result.work_time is not None:
        from ..durations import format_duration

        work = result.work_time
        rate = f", {_money(work.hourly, pricing)}/h at that pace" if work.hourly is not None else ""
        console.print(f"Median time to submit: {format_duration(work.median_seconds)} over {work.submissions} submission(s){rate}.")
    for worker, ids_of_worker in sorted(result.repeat_workers.items()):
        console.print(
            f"Repeat worker {worker}: {len(ids_of_worker)} assignments ({', '.join(ids_of_worker)}); approve holds all but the first."
        )
    for key, value in result.extra.items():
        if key not in per_hit:
            console.print(f"{key}: {value}")


def _column_total(values: dict) -> str:
    numbers = [v for v in values.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return str(sum(numbers)) if len(numbers) == len(values) else ""


# -- approve ---------------------------------------------------------------------------------------
@babe_task(
    common=True,
    spending=True,
    settings=True,
    iterable=["hit", "assignment"],
    help={
        "hit": "only the assignments of this HIT, or study on Prolific (repeat the flag, or separate ids with commas)",
        "assignment": "only this assignment (repeat the flag, or separate ids with commas)",
        "approve-without-data": "approve even assignments whose data is not in the _babe backend (babe-backend plugin)",
    },
)
def approve(
    c,
    hit=None,
    assignment=None,
    approve_without_data=False,
    **common,
):
    """Approve every Submitted assignment (repeat workers and plugin holds excepted)."""
    from .. import output
    from ..errors import PartialFailure
    from ..steps import approve as step
    from ..steps import nouns_for

    settings, pm = _start(c, **common)
    if approve_without_data:
        # The babe-backend plugin's own setting, set for this run: the plugin stays the one that
        # decides what "data arrived" means, the flag only tells it to let the rest through.
        backend = {**settings.plugin_settings("babe-backend"), "approve_without_data": True}
        settings = settings.replace(plugins={**settings.plugins, "babe-backend": backend})

    def review(todo, total, pricing=None) -> bool:
        if settings.target != "live":
            return True
        return output.confirm(settings, f"Approve {len(todo)} assignments on live for {_money(total, pricing)}?")

    try:
        result = step.run(
            settings,
            pm,
            hit_ids=_ids(hit),
            assignment_ids=_ids(assignment),
            review=review,
        )
    except PartialFailure as failure:
        if not settings.json:
            render_approved(output.console(), failure.result, settings)
        raise
    # Only a dry run's lines name the HIT of each assignment: only then is the platform asked its word.
    noun = nouns_for(settings, pm)[0] if settings.dry_run and not settings.json else "HIT"
    output.emit(settings, result.as_json(), lambda console: render_approved(console, result.as_json(), settings, noun))


def render_approved(console, document: dict, settings, noun: str = "HIT") -> None:
    """What approve did (or, on a dry run, would do); `noun` is what the platform calls a HIT."""
    if document.get("dry_run"):
        console.print(f"Dry run: would approve {document['approved']} assignment(s).")
        for item in document["would_approve"]:
            console.print(f"  {item['assignment_id']}  worker {item['worker_id']}  {noun} {item['hit_id']}")
    else:
        console.print(f"Approved {document['approved']}; already approved {document['already_approved']}.")
    render_held_and_failed(console, document)


def render_held_and_failed(console, document: dict) -> None:
    """The assignments a step held back (with the reason) and those whose call failed (with the error)."""
    for held in document["held"]:
        console.print(f"Held {held['assignment_id']}: {held['reason']}")
    for failed in document["failed"]:
        console.print(f"Failed {failed['assignment_id']}: {failed['error']}")


# -- expire ----------------------------------------------------------------------------------------
@babe_task(
    common=True,
    iterable=["hit"],
    help={
        "hit": "only this HIT, or study on Prolific (repeat the flag, or separate ids with commas); default: all of the experiment",
        "delete": "then delete the HITs (studies) whose work is all reviewed, and say why the others cannot be yet",
    },
)
def expire(
    c,
    hit=None,
    delete=False,
    **common,
):
    """Stop the experiment's open HITs (studies on Prolific) now; with --delete, remove the finished ones."""
    from .. import output
    from ..errors import PartialFailure
    from ..steps import expire as step
    from ..steps import nouns_for

    settings, pm = _start(c, **common)
    try:
        result = step.run(settings, pm, hit_ids=_ids(hit), delete=delete)
    except PartialFailure as failure:
        if not settings.json:
            render_expired(output.console(), failure.result, delete, nouns=nouns_for(settings, pm))
        raise
    output.emit(settings, result.as_json(), lambda console: render_expired(console, result.as_json(), delete, result))


def render_expired(console, document: dict, delete: bool, result=None, nouns=None) -> None:
    """What expire did; `nouns` (else the result's, else MTurk's) is what the platform calls a HIT."""
    from ..output import MTURK_NOUNS, count

    expired = document["expired"]
    nouns = nouns or (result.nouns if result is not None else MTURK_NOUNS)
    console.print(f"Expired {count(len(expired), nouns)} now" + (f": {', '.join(expired)}" if expired else "."))
    if result is not None and result.already_closed:
        closed = len(result.already_closed)
        verb = "was" if closed == 1 and nouns != MTURK_NOUNS else "were"
        console.print(f"{count(closed, nouns)} {verb} closed already (full, or expired earlier).")
    if delete:
        deleted = document["deleted"]
        console.print(f"Deleted {count(len(deleted), nouns)}" + (f": {', '.join(deleted)}" if deleted else "."))
        for item in document["not_deleted"]:
            console.print(f"Not deleted {item['hit_id']}: {item['reason']}")
    for item in document.get("failed", []):
        console.print(f"Failed {item['hit_id']}: {item['error']}")


# -- extend ----------------------------------------------------------------------------------------
@babe_task(
    common=True,
    spending=True,
    iterable=["hit"],
    help={
        "hit": "only this HIT, or study on Prolific (repeat the flag, or separate ids with commas); default: all of the experiment",
        "assignments": "this many more assignments in all, spread evenly over the HITs (a HIT below 10 stays below 10; "
        "on Prolific the study's places)",
        "lifetime": "keep the HITs open this much longer, e.g. 2d (an expired HIT reopens for that long; not on Prolific)",
        "split": "MTurk: post what does not fit into the HITs as new HIT(s) of the same HIT type (same group)",
    },
)
def extend(
    c,
    hit=None,
    assignments=None,
    lifetime=None,
    split=False,
    **common,
):
    """More assignments and/or more time for the experiment's HITs (studies), never what the platform would refuse."""
    from .. import output
    from ..errors import PartialFailure
    from ..steps import extend as step
    from ..steps import nouns_for

    settings, pm = _start(c, **common)

    def review(plan) -> bool:
        render_extension(output.stderr_console() if settings.json else output.console(), plan, settings)
        if settings.target != "live" or settings.dry_run:
            return True
        return output.confirm(settings, f"Extend on live for {_money(plan.cost.total, plan.pricing)}?")

    try:
        result = step.run(
            settings, pm, hit_ids=_ids(hit), assignments=assignments, lifetime=lifetime, split=split, review=review
        )
    except PartialFailure as failure:
        if not settings.json and isinstance(failure.result, dict):
            render_extended(output.console(), failure.result, settings, nouns=nouns_for(settings, pm))
        raise
    output.emit(
        settings,
        result.as_json(),
        lambda console: render_extended(console, result.as_json(), settings, result),
    )


def render_extension(console, plan, settings) -> None:
    """The extension HIT by HIT, the new HITs, and the exact cost."""
    from ..durations import format_duration

    cost = plan.cost
    wants = []
    if plan.assignments:
        wants.append(f"{plan.assignments} more assignment{'s' if plan.assignments != 1 else ''}")
    if plan.lifetime:
        wants.append(f"{format_duration(plan.lifetime)} more time")
    console.print(f"Extension of experiment {plan.experiment} on {plan.target}: {' and '.join(wants)}")
    for hit in plan.hits:
        parts = []
        if hit.add:
            done = " (added already)" if hit.done else ""
            parts.append(f"{hit.assignments_before} -> {hit.assignments_after} assignments{done}")
        if hit.expires_at is not None:
            parts.append(f"expires {_when(hit.expires_before)} -> {_when(hit.expires_at)}")
        console.print(f"  {plan.nouns[0]} {hit.hit_id}  {'; '.join(parts)}")
    if plan.new_hits is not None:
        sizes = ", ".join(str(h.assignments) for h in plan.new_hits.hits)
        count = len(plan.new_hits.hits)
        console.print(
            f"  new HIT{'s' if count != 1 else ''} ({sizes}) of the same HIT type {plan.new_hits.hit_type_id}, open until "
            f"{_when(plan.new_hits_until)}"
        )
    pricing = plan.pricing
    if cost.assignments:
        console.print(f"  rewards     {cost.assignments} assignment(s) = {_money(cost.rewards, pricing)}")
        _fee_lines(console, cost, settings, pricing, total=False)
    console.print(f"  total       {_money(cost.total, pricing)}")
    if plan.resumed:
        console.print(f"Resuming unfinished extension {plan.extension_id}: what it did already is not done again.")


def render_extended(console, document: dict, settings, result=None, nouns=None) -> None:
    """What extend did; `nouns` (else the plan's, else MTurk's) is what the platform calls a HIT.

    A HIT's expiry is shown where the document has one: none where HITs do not expire by time (a
    Prolific study runs until stopped or full, and extend cannot change that). New HITs and their failures exist
    only with `--split`, which only MTurk has: those lines say HIT."""
    from ..output import MTURK_NOUNS, count

    if document.get("dry_run"):
        console.print("Dry run: nothing was extended.")
        return
    hits = document["hits"]
    nouns = nouns or (result.plan.nouns if result is not None else MTURK_NOUNS)
    console.print(f"Extended {count(len(hits), nouns)}" + (":" if hits else "."))
    for hit in hits:
        expiry = f", expires {_when(_parse_time(hit['expires_at']))}" if hit["expires_at"] else ""
        console.print(f"  {hit['hit_id']}  {hit['assignments']} assignments (+{hit['assignments_added']}){expiry}")
    new = [h for h in document["new_hits"] if h["hit_id"]]
    if new:
        console.print(f"Posted {len(new)} new HIT(s) in the same group:")
        for hit in new:
            console.print(f"  {hit['hit_id']}  {hit['assignments']} assignments, expires {_when(_parse_time(hit['expires_at']))}")
    for failed in document.get("failed", []):
        console.print(f"Failed {failed['hit_id'] or 'new HIT'}: {failed['error']}")


def _parse_time(value):
    """A result's time back from the JSON document (datetime, ISO text, or None)."""
    from datetime import datetime

    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
