"""Money committed and spent: the arithmetic of what posted HITs, extensions and bonuses may cost.

Committed is the most that what was posted and paid can cost, with each platform's fees: every
assignment of every posted HIT at its reward plus its fee (on MTurk 20%, at least $0.01, 40% on
HITs of 10 or more, +5% with Masters; another platform's rules come from its `money.Pricing`),
plus every bonus and its fee, including bonuses whose call went out but whose answer is not
confirmed yet. A HIT counts in full even once it expired half-filled: `extend` can reopen its
slots. Spent is what was actually paid (the ledger's payments, as the steps booked them).

Pure functions, no I/O: `ledger.LedgerView.money` feeds them the ledger's rows, and a payment cap
uses the same rules for what a step is about to commit. Only amounts in one currency are ever
added: dollars and pounds cannot be summed without a rate nobody agreed on, so what other
currencies committed is kept apart (`Money.elsewhere`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from . import money

ZERO = Decimal("0.00")
#: The scopes money is summed over: the run's experiment, the calendar day, everything on the target.
SCOPES = ("experiment", "daily", "total")


@dataclass(frozen=True)
class Entry:
    """One commitment or payment: whose, when (epoch seconds), how much it commits and is paid, in which currency."""

    experiment: str
    at: float
    committed: Decimal = ZERO
    spent: Decimal = ZERO
    currency: str = "USD"


@dataclass(frozen=True)
class Money:
    """Committed and spent per scope (`experiment`, `daily`, `total`) on one target and day, in one currency."""

    experiment: str
    target: str
    day: date
    committed: dict[str, Decimal] = field(default_factory=dict)
    spent: dict[str, Decimal] = field(default_factory=dict)
    #: The pricing the sums are in: their currency, and the symbol messages show amounts with.
    pricing: Any = field(default=money.MTURK_PRICING, compare=False, repr=False)
    #: Committed in other currencies (every experiment, ever), counted in no scope.
    elsewhere: dict[str, Decimal] = field(default_factory=dict)


def hit_commitment(reward: Decimal, max_assignments: int, masters: bool = False, pricing: Any = money.MTURK_PRICING) -> Decimal:
    """What a HIT commits: each assignment's reward and fee (the fee rounded per assignment, as platforms bill)."""
    return (reward + pricing.assignment_fee(reward, max_assignments, masters)) * max_assignments


def bonus_commitment(amount: Decimal, pricing: Any = money.MTURK_PRICING) -> Decimal:
    """What a bonus commits: its amount and the platform's fee on it."""
    return amount + pricing.bonus_fee(amount)


def added_commitment(
    reward: Decimal, size_after: int, added: int, masters: bool = False, pricing: Any = money.MTURK_PRICING
) -> Decimal:
    """What `added` assignments commit on a HIT that now has `size_after`: the fee is the new size's."""
    return (reward + pricing.assignment_fee(reward, size_after, masters)) * added


def tally(
    entries: Iterable[Entry], experiment: str, target: str, day: date, zone: tzinfo, pricing: Any = money.MTURK_PRICING
) -> Money:
    """Sum the entries in `pricing`'s currency into the experiment's, the day's (in `zone`) and the
    overall committed and spent; what other currencies committed is kept apart."""
    committed = dict.fromkeys(SCOPES, ZERO)
    spent = dict(committed)
    elsewhere: dict[str, Decimal] = {}
    for entry in entries:
        if entry.currency != pricing.currency:
            if entry.committed:
                elsewhere[entry.currency] = elsewhere.get(entry.currency, ZERO) + entry.committed
            continue
        scopes = ["total"]
        if entry.experiment == experiment:
            scopes.append("experiment")
        if datetime.fromtimestamp(entry.at, zone).date() == day:
            scopes.append("daily")
        for scope in scopes:
            committed[scope] += entry.committed
            spent[scope] += entry.spent
    return Money(experiment, target, day, committed, spent, pricing, elsewhere)
