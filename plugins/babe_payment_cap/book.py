"""Money committed and spent, as the ledger tells it: per experiment, per calendar day and month, in total.

Committed is the most that what was posted and paid can cost, with each platform's fees: every
assignment of every posted HIT at its reward plus its fee, plus every bonus and its fee, including
bonuses whose call went out but whose answer is not confirmed yet (`babe_tasks.commitments` has
the rules). A HIT counts in full even once it expired half-filled: `extend` can reopen its slots,
and a cap is a promise about what can be spent. Spent is what was actually paid.

Every row is priced by the platform it was posted on (`prices.Prices`) and carries that
platform's currency. A cap is an amount in the run's currency: only commitments in that currency
count towards it — dollars and pounds cannot be added without a rate nobody agreed on.

The plugin never opens the ledger: it asks `context.ledger` (`babe_tasks.ledger.LedgerView`,
read-only) — or, at the moment a step writes its commitment down, the view `babe_before_commit`
hands it, bound to that write's transaction — for every commitment on the run's target: on a
folder's SQLite ledger all that folder's experiments, on a lab's PostgreSQL every experiment of
every member. Only the run's target counts: sandbox and local money is not live money. The
month, like the day, is the calendar one in the caps' time zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, tzinfo
from typing import Any

from babe_tasks.commitments import (
    ZERO,
    Entry,
    Money,
    added_commitment,
    bonus_commitment,
    hit_commitment,
    tally,
)

from .prices import Prices

__all__ = ["Book", "Entry", "added_commitment", "already_posted", "bonus_commitment", "book", "hit_commitment", "tally"]

#: The caps' view of the money: committed and spent per scope, in the run's currency.
Book = Money


def book(context: Any, zone: tzinfo, prices: Prices | None = None, now: datetime | None = None, ledger: Any = None) -> Book:
    """The run's book: its experiment, target and currency (`prices.run`), today and this month in
    `zone` (or those of `now`), read from `ledger` (default: the context's)."""
    settings = context.settings
    prices = prices or Prices(context)
    day = (now or datetime.now(zone)).astimezone(zone).date()
    entries = (ledger if ledger is not None else context.ledger).commitments(settings.target, prices)
    base = tally(entries, settings.experiment, settings.target, day, zone, prices.run)
    committed, spent = month_of(entries, day, zone, prices.run.currency)
    return replace(base, committed={**base.committed, "monthly": committed}, spent={**base.spent, "monthly": spent})


def month_of(entries: list[Entry], day: date, zone: tzinfo, currency: str) -> tuple[Any, Any]:
    """Committed and spent in `currency` during the calendar month of `day` in `zone`."""
    committed = spent = ZERO
    for entry in entries:
        when = datetime.fromtimestamp(entry.at, zone).date()
        if entry.currency == currency and (when.year, when.month) == (day.year, day.month):
            committed += entry.committed
            spent += entry.spent
    return committed, spent


def already_posted(context: Any, plan: Any) -> set[int]:
    """Indexes of the plan's HITs an earlier `create` with the same parameters already posted.

    Those are in the book already — an unfinished plan's HITs all are, from the moment the plan was
    written, so resuming one commits nothing new; neither does running a finished one again without
    `--again` — the same lookup `create` makes right after the plugins.
    """
    earlier = context.ledger.open_plan(plan.experiment, plan.target, plan.fingerprint(), finished_too=not context.settings.again)
    if earlier is None:
        return set()
    if earlier.finished_at is None:  # an unfinished plan's HITs are all committed, posted or not
        return {hit.index for hit in plan.hits}
    return set(earlier.posted)
