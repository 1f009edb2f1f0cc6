"""The payment tasks: `reject`, `bonus`, `cost`.

Thin like the lifecycle tasks: flags → `Settings`, the step (`babe_tasks.steps.reject`, `.bonus`,
`.cost`), then one JSON document with `--json`, else text. Heavy imports stay inside the bodies:
`babe --list` imports this module.
"""

from __future__ import annotations

from pathlib import Path

from .. import inputfiles
from ..taskkit import babe_task
from .lifecycle import _ids, _money, _start, render_held_and_failed


# -- reject ----------------------------------------------------------------------------------------
@babe_task(
    common=True,
    spending=True,
    iterable=["assignment"],
    help={
        "assignment": "an assignment to reject (repeat the flag, or separate ids with commas)",
        "from": "a file of assignment ids: one per line (# comments), or a CSV with an assignment_id column",
        "reason": "required: why, shown to the workers (at most 1024 characters)",
    },
)
def reject(
    c,
    assignment=None,
    from_=None,
    reason=None,
    **common,
):
    """Reject Submitted assignments with a reason the workers read (irreversible: checks first)."""
    from .. import output
    from ..errors import PartialFailure
    from ..steps import nouns_for
    from ..steps import reject as step

    settings, pm = _start(c, **common)
    ids = _ids(assignment) + (ids_from_file(from_) if from_ else [])
    shown = output.stderr_console() if settings.json else output.console()

    def review(todo) -> bool:
        if settings.target != "live":
            return True
        shown.print(f"About to reject {len(todo)} assignment(s) on live: {', '.join(a.assignment_id for a in todo)}")
        return output.confirm(settings, f"Reject {len(todo)} assignments on live (workers read: {step.check_reason(reason)})?")

    try:
        result = step.run(settings, pm, assignment_ids=ids, reason=reason, review=review)
    except PartialFailure as failure:
        if not settings.json:
            render_rejected(output.console(), failure.result, reason, nouns_for(settings, pm)[0])
        raise
    output.emit(
        settings, result.as_json(), lambda console: render_rejected(console, result.as_json(), result.reason, result.nouns[0])
    )


def ids_from_file(path: str) -> list[str]:
    """Assignment ids from a file: one per line (blank lines and # comments skipped, commas split),
    or a CSV whose header has an assignment_id column (e.g. the bonus file, or a results export)."""
    import csv
    import io

    from ..errors import UsageError

    file = Path(path)
    try:
        text = inputfiles.read_text(file)  # size-capped: babe_tasks/inputfiles.py
    except FileNotFoundError:
        raise UsageError(f"--from {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--from {path} cannot be read as text: {exc}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        raise UsageError(f"--from {path} holds no assignment ids: write one per line")
    header = [cell.strip().lower() for cell in next(csv.reader([lines[0]]))]
    if "assignment_id" in header:
        column = header.index("assignment_id")
        rows = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
        return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]
    return [part.strip() for line in lines for part in line.split(",") if part.strip()]


def render_rejected(console, document: dict, reason: str | None, noun: str = "HIT") -> None:
    """What reject did; `noun` is what the platform calls a HIT ("study" on Prolific)."""
    rejected = document["rejected"]
    if document.get("dry_run"):
        console.print(f"Dry run: would reject {len(rejected)} assignment(s) with the reason {reason!r}.")
    else:
        console.print(f"Rejected {len(rejected)} assignment(s)" + (f" with the reason {reason!r}." if rejected else "."))
    for item in rejected:
        console.print(f"  {item['assignment_id']}  worker {item['worker_id']}  {noun} {item['hit_id']}")
    if document["already_rejected"]:
        console.print(f"Already rejected: {', '.join(document['already_rejected'])}")
    render_held_and_failed(console, document)


# -- bonus -----------------------------------------------------------------------------------------
@babe_task(
    common=True,
    spending=True,
    help={
        "csv": "a file of payments with the header worker_id,assignment_id,amount,reason",
        "assignment": "the assignment the bonus is for (one payment; with --worker, --amount, --reason)",
        "worker": "the worker who did the assignment",
        "amount": "the bonus in dollars, e.g. 1.50 (no currency sign, at most two decimals)",
        "reason": "why, shown to the worker (at most 1024 characters)",
        "pay-again": "pay payments the ledger shows as paid once more (deliberately; each time it is given)",
    },
)
def bonus(
    c,
    csv=None,
    assignment=None,
    worker=None,
    amount=None,
    reason=None,
    pay_again=False,
    **common,
):
    """Pay bonuses (one, or a CSV file), each exactly once; shows the total with fees first."""
    from .. import output
    from ..errors import PartialFailure, UsageError
    from ..steps import bonus as step

    settings, pm = _start(c, **common)
    single = [flag for flag, value in (("--assignment", assignment), ("--worker", worker), ("--amount", amount), ("--reason", reason)) if value is not None]
    if csv is not None and single:
        raise UsageError(f"give either --csv FILE or --worker, --assignment, --amount and --reason, not both ({single[0]} with --csv)")
    from ..platform import capabilities_for

    capabilities = capabilities_for(settings, pm)
    rows = (
        step.read_csv(csv, capabilities)
        if csv is not None
        else step.row_from_flags(worker, assignment, amount, reason, capabilities)
    )
    rows = rows if isinstance(rows, list) else [rows]
    shown = output.stderr_console() if settings.json else output.console()

    seen: dict = {}

    def review(todo, total, pricing=None) -> bool:
        seen["pricing"] = pricing
        render_payments_plan(shown, todo, settings, pricing)
        if settings.target != "live" or settings.dry_run:
            return True
        return output.confirm(settings, f"Pay {len(todo)} bonuses on live for {_money(total, pricing)}?")

    try:
        result = step.run(settings, pm, rows=rows, pay_again=pay_again, review=review)
    except PartialFailure as failure:
        if not settings.json:
            render_bonus(output.console(), failure.result, _symbol(seen.get("pricing")))
        raise
    output.emit(settings, result.as_json(), lambda console: render_bonus(console, result.as_json(), result.pricing.symbol))


def _mturk_rules(pricing) -> bool:
    """Whether the money was priced by MTurk's rules (`money.MTurkPricing`), whose fees have names."""
    from ..money import MTurkPricing

    return pricing is None or isinstance(pricing, MTurkPricing)


def _symbol(pricing) -> str:
    return pricing.symbol if pricing is not None else "$"


def render_payments_plan(console, todo, settings, pricing=None) -> None:
    """What is about to be paid and its total with fees, shown before paying."""
    from decimal import Decimal

    amounts = sum((p.amount for p in todo), Decimal("0.00"))
    fees = sum((p.fee for p in todo), Decimal("0.00"))
    console.print(f"Bonuses for experiment {settings.experiment} on {settings.target}: {len(todo)} payment(s)")
    _bonus_lines(console, settings, amounts, fees, amounts + fees, lambda value: _money(value, pricing), pricing)


def _bonus_lines(console, settings, bonuses, fees, total, money, pricing=None) -> None:
    """A bonus payment's money as the platform bills it (the review before paying, `cost --bonus`)."""
    console.print(f"  bonuses     {money(bonuses)}")
    if _mturk_rules(pricing):
        console.print(f"  MTurk fee   20%, at least $0.01 per payment = {money(fees)}")
    else:
        console.print(f"  fees        {settings.platform}'s fee on bonuses = {money(fees)}")
    console.print(f"  total       {money(total)}")


def render_bonus(console, document: dict, symbol: str = "$") -> None:
    paid = document["paid"]
    if document.get("dry_run"):
        console.print(f"Dry run: would pay {len(paid)} bonus(es), {symbol}{document['total']} with fees; nothing was paid.")
    elif paid:
        console.print(f"Paid {len(paid)} bonus(es): {symbol}{document['total']} with fees.")
    else:
        console.print("Paid nothing now.")
    for item in paid:
        console.print(
            f"  {item['worker_id']}  {item['assignment_id']}  {symbol}{item['amount']} + {symbol}{item['fee']} fee  {item['reason']}"
        )
    if document["already_paid"]:
        console.print(
            f"Already paid {len(document['already_paid'])} (the ledger has them; --pay-again pays them once more)."
        )
    for item in document.get("held", []):
        console.print(f"Held by a plugin: {item['worker_id']}  {item['assignment_id']}  {symbol}{item['amount']}")
    for item in document["failed"]:
        console.print(f"Failed {item['worker_id']}  {item['assignment_id']}  {symbol}{item['amount']}: {item['error']}")


# -- cost ------------------------------------------------------------------------------------------
@babe_task(
    common=True,
    settings=True,
    iterable=["hit"],
    help={
        "create": "cost what create would post with the settings (implied by --reward, --assignments, "
        "--batch-size, --masters)",
        "assignments": "with --create: total assignments; with --extend: assignments to add",
        "bonus-csv": "cost a bonus file (header worker_id,assignment_id,amount,reason)",
        "extend": "cost an extension (with --assignments, --hit, --lifetime, --split)",
        "hit": "with --extend: only this HIT, or study on Prolific (repeat the flag, or separate ids with commas)",
        "lifetime": "with --extend: keep the HITs open this much longer, e.g. 2d (not on Prolific)",
        "split": "with --extend, on MTurk: post new HITs instead of raising HITs past 9 assignments",
    },
)
def cost(
    c,
    create=False,
    assignments=None,
    bonus_csv=None,
    extend=False,
    hit=None,
    lifetime=None,
    split=False,
    **common,
):
    """The exact cost of a create, an extension or a bonus file; else what the experiment spent and committed."""
    from .. import output
    from ..errors import UsageError
    from ..steps import cost as step

    create_flags = [f"--{name.replace('_', '-')}" for name in ("reward", "batch_size", "masters") if common.get(name) is not None]
    extend_flags = [f for f, v in (("--hit", hit or None), ("--lifetime", lifetime), ("--split", split or None)) if v is not None]
    if extend and (create or create_flags or bonus_csv is not None):
        other = "--create" if create else (create_flags[0] if create_flags else "--bonus-csv")
        raise UsageError(f"--extend cannot be combined with {other}: cost one thing at a time")
    if bonus_csv is not None and (create or create_flags or assignments is not None):
        other = "--create" if create else (create_flags[0] if create_flags else "--assignments")
        raise UsageError(f"--bonus-csv cannot be combined with {other}: cost one thing at a time")
    if extend_flags and not extend:
        raise UsageError(f"{extend_flags[0]} costs an extension: add --extend")
    settings, pm = _start(c, assignments=None if extend else assignments, **common)
    if extend:
        report = step.of_extend(settings, pm, **_extension(assignments, hit, lifetime, split))
    elif bonus_csv is not None:
        report = step.of_bonus_file(settings, bonus_csv, pm)
    elif create or create_flags or assignments is not None:
        report = step.of_create(settings, pm)
    else:
        report = step.of_experiment(settings, pm)
    step.with_plugins(settings, pm, report)
    output.emit(settings, report.as_json(), lambda console: render_cost(console, report, settings, bonus_csv))


def _extension(assignments, hit, lifetime, split) -> dict:
    """The arguments of `steps.extend.plan` from the cost task's flags (it checks them itself)."""
    return {"hit_ids": _ids(hit), "assignments": assignments, "lifetime": lifetime, "split": bool(split)}


def render_cost(console, report, settings, bonus_csv=None) -> None:
    from ..output import count

    parts = report.parts

    def money(value) -> str:
        return _money(value, report.pricing)

    if report.kind in ("create", "extend"):
        if report.kind == "create":
            sizes = ", ".join(str(n) for n in parts["hits"])
            hits = len(parts["hits"])
            n = parts["assignments"]
            console.print(
                f"Cost of creating {n} assignment{'s' if n != 1 else ''} in {count(hits, report.nouns, hedged=False)} ({sizes}) "
                f"for experiment {settings.experiment} on {settings.target}"
            )
            console.print(f"  rewards     {money(parts['reward'])} x {parts['assignments']} = {money(parts['rewards'])}")
        else:
            n, changed, new = parts["assignments"], len(parts["hits"]), parts["new_hits"]
            posted = f" and {len(new)} new HIT(s) ({', '.join(str(size) for size in new)})" if new else ""
            console.print(
                f"Cost of extending experiment {settings.experiment} on {settings.target}: {n} more "
                f"assignment{'s' if n != 1 else ''} over {count(changed, report.nouns)}{posted}"
            )
            console.print(f"  rewards     {money(parts['rewards'])}")
        if _mturk_rules(report.pricing):
            console.print(f"  MTurk fee   20%, at least $0.01 per assignment = {money(parts['commission'])}")
            if parts["surcharge"]:
                console.print(f"  surcharge   20% for HITs of 10 or more assignments = {money(parts['surcharge'])}")
            if parts["masters"]:
                console.print(f"  Masters     5% = {money(parts['masters'])}")
        else:
            console.print(f"  fees        {settings.platform}'s fee = {money(parts['fees'] - parts.get('vat', 0))}")
            if parts.get("vat"):
                console.print(f"  VAT         on the fees = {money(parts['vat'])}")
        console.print(f"  total       {money(report.total)}")
    elif report.kind == "bonus":
        console.print(f"Cost of {bonus_csv}: {parts['payments']} payment(s) for experiment {settings.experiment} on {settings.target}")
        _bonus_lines(console, settings, parts["bonuses"], parts["fees"], report.total, money, report.pricing)
        if parts["already_paid"]:
            console.print(
                f"  already paid: {parts['already_paid']} payment(s), {money(parts['already_paid_total'])} "
                "with fees (not paid again)"
            )
    else:
        hits = parts["hits"]
        console.print(f"Cost of experiment {settings.experiment} on {settings.target} ({count(hits, report.nouns, hedged=False)})")
        console.print(
            f"  spent       {money(report.spent)}  (rewards {money(parts['rewards_paid'])}, fees {money(parts['fees_paid'])}, "
            f"bonuses {money(parts['bonuses_paid'])}, bonus fees {money(parts['bonus_fees_paid'])})"
        )
        unconfirmed = f", unconfirmed bonuses {money(parts['bonuses_unconfirmed'])}" if parts["bonuses_unconfirmed"] else ""
        console.print(
            f"  committed   {money(report.committed)}  may still be spent (rewards {money(parts['rewards_committed'])}, "
            f"fees {money(parts['fees_committed'])}{unconfirmed})"
        )
        console.print(f"  total       {money(report.total)}")
    for key, value in report.extra.items():
        console.print(f"{key}: {_plain(value, report.pricing)}")


def _plain(value, pricing=None) -> str:
    from decimal import Decimal

    return _money(value, pricing) if isinstance(value, Decimal) else str(value)
