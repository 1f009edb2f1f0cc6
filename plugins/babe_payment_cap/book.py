"""Money committed and spent, as the hook context's ledger tells it: per experiment, per calendar day, in total.

Committed is the most that what was posted and paid can cost, with each platform's fees: every
assignment of every posted HIT at its reward plus its fee, plus every bonus and its fee, including
bonuses whose call went out but whose answer is not confirmed yet (`babe_tasks.commitments` has
the rules). A HIT counts in full even once it expired half-filled: `extend` can reopen its slots,
and a cap is a promise about what can be spent. Spent is what was actually paid.

Every row is priced by the platform it was posted on (`prices.Prices`) and carries that
platform's currency. A cap is an amount in the run's currency: only commitments in that currency
count towards it — dollars and pounds cannot be added without a rate nobody agreed on.

The plugin never opens the ledger file: it asks `context.ledger` (`babe_tasks.ledger.LedgerView`,
read-only), which sums the lab's whole record on the run's target ("all experiments" means all
that this folder's ledger holds). Only the run's target counts: sandbox and local money is not
live money.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from babe_tasks.commitments import (
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


def book(context: Any, zone: tzinfo, prices: Prices | None = None, now: datetime | None = None) -> Book:
    """The run's book: its experiment, target and currency (`prices.run`), today in `zone` (or the day of `now`)."""
    settings = context.settings
    prices = prices or Prices(context)
    day = (now or datetime.now(zone)).astimezone(zone).date()
    return context.ledger.money(settings.experiment, settings.target, day, zone, prices, prices.run)


def already_posted(context: Any, plan: Any) -> set[int]:
    """Indexes of the plan's HITs an earlier `create` with the same parameters already posted.

    Those are in the book already; a resumed create commits only the rest (and one that finished
    before, run again without `--again`, commits nothing) — the same lookup `create` makes right
    after the plugins.
    """
    earlier = context.ledger.open_plan(plan.experiment, plan.target, plan.fingerprint(), finished_too=not context.settings.again)
    return set(earlier.posted) if earlier is not None else set()
