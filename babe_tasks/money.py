"""MTurk's fee rules, in one place, in Decimal.

Both sides use this module: the local MTurk charges its balance with it, and the task collection
prints costs and checks caps with it, so the two can never disagree about a cent.
Rules (MTurk's, as docs/payments.md states them): 20% of every reward and bonus, at least $0.01 per
assignment and per bonus payment, rounded half up to the cent; another 20% of the reward for HITs
with 10 or more assignments; another 5% of the reward when the HIT requires Masters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

CENT = Decimal("0.01")
BASE_RATE = Decimal("0.20")
LARGE_HIT_RATE = Decimal("0.20")
MASTERS_RATE = Decimal("0.05")
MIN_FEE = Decimal("0.01")
LARGE_HIT_ASSIGNMENTS = 10

#: MTurk's wire pattern for amounts (Reward, BonusAmount).
AMOUNT_PATTERN = re.compile(r"^[0-9]+(\.)?[0-9]{0,2}$")


class MoneyError(ValueError):
    """An amount that is not a plain, positive dollar figure with at most two decimals."""


def parse_amount(text: str | Decimal | int, *, what: str = "amount", allow_zero: bool = False) -> Decimal:
    """Parse a dollar amount as a lab types it (`0.50`, `5`), refusing floats' and humans' mistakes.

    `$0.50`, `-1`, `0.123`, `1e3` and `nan` are refused with a message that says what to type.
    """
    if isinstance(text, Decimal):
        value = text
        shown = str(text)
    else:
        shown = str(text).strip()
        if not AMOUNT_PATTERN.match(shown):
            raise MoneyError(
                f"{what} {shown!r} is not a dollar amount: write digits with at most two decimals, "
                "without a currency sign (for example 0.50)"
            )
        try:
            value = Decimal(shown)
        except InvalidOperation:  # pragma: no cover - the pattern already excludes this
            raise MoneyError(f"{what} {shown!r} is not a number") from None
    try:
        whole_cents = value.is_finite() and value == value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than Decimal's precision (28): no amount anyone pays
        raise MoneyError(f"{what} of {len(shown):,} characters is not an amount anyone pays: check it") from None
    if not whole_cents:
        raise MoneyError(f"{what} {shown!r} has more than two decimals: MTurk pays whole cents")
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError(f"{what} {shown!r} must be more than 0.00")
    return value.quantize(CENT)


def fmt(value: Decimal) -> str:
    """Money as MTurk and our JSON write it: two decimals, no sign, no symbol (`"12.00"`)."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fee_rate(max_assignments: int, masters: bool = False) -> Decimal:
    rate = BASE_RATE
    if max_assignments >= LARGE_HIT_ASSIGNMENTS:
        rate += LARGE_HIT_RATE
    if masters:
        rate += MASTERS_RATE
    return rate


def assignment_fee(reward: Decimal, max_assignments: int, masters: bool = False) -> Decimal:
    """The fee MTurk charges when one assignment of a HIT with this reward is approved."""
    return max(MIN_FEE, round_cents(Decimal(reward) * fee_rate(max_assignments, masters)))


def bonus_fee(amount: Decimal) -> Decimal:
    """The fee on one bonus payment (never the large-HIT surcharge)."""
    return max(MIN_FEE, round_cents(Decimal(amount) * BASE_RATE))


# -- a platform's fee rules ------------------------------------------------------------------------
@runtime_checkable
class Pricing(Protocol):
    """What a recruiting platform charges, and in which currency: what every step prices through.

    A platform offers it as `platform.pricing` (`platform.base.pricing_of` falls back to
    `MTURK_PRICING`), so `create`, `cost`, `status`, `approve`, `bonus` and `extend` never apply
    MTurk's rules to another platform's money.
    """

    #: ISO 4217 code ("USD") and the sign text output puts before amounts ("$", "£").
    currency: str
    symbol: str
    #: True: a plan is one HIT holding all its assignments (batch_size is ignored).
    single_batch: bool
    #: The HIT size from which MTurk adds its surcharge and below which a HIT can never grow to
    #: it (`extend`'s rule, `--split`); None: the platform has no such rule.
    large_hit_assignments: int | None

    def assignment_fee(self, reward: Decimal, hit_size: int, masters: bool = False) -> Decimal:
        """The fee (VAT included) charged when one assignment of such a HIT is approved."""

    def assignments_cost(self, reward: Decimal, hit_size: int, count: int, masters: bool = False) -> Any:
        """What `count` approved assignments of a HIT of `hit_size` cost, as a `planning.Cost`."""

    def bonus_fee(self, amount: Decimal) -> Decimal:
        """The fee (VAT included) on one bonus payment of `amount`."""


@dataclass(frozen=True)
class MTurkPricing:
    """MTurk's rules (this module's functions) as a `Pricing`."""

    currency: str = "USD"
    symbol: str = "$"
    single_batch: bool = False
    large_hit_assignments: int | None = LARGE_HIT_ASSIGNMENTS

    def assignment_fee(self, reward: Decimal, hit_size: int, masters: bool = False) -> Decimal:
        return assignment_fee(reward, hit_size, masters)

    def assignments_cost(self, reward: Decimal, hit_size: int, count: int, masters: bool = False):
        """The cost split as MTurk bills it: commission, large-HIT surcharge, Masters fee."""
        from .planning import Cost

        commission = assignment_fee(reward, 1, False)
        plain = assignment_fee(reward, hit_size, False)
        full = assignment_fee(reward, hit_size, masters)
        n = count
        return Cost(n, reward * n, commission * n, (plain - commission) * n, (full - plain) * n)

    def bonus_fee(self, amount: Decimal) -> Decimal:
        return bonus_fee(amount)


MTURK_PRICING = MTurkPricing()


def shown(value: Decimal, pricing: Any = None) -> str:
    """Money for text output: the pricing's symbol and two decimals (`$12.00`; MTurk's by default)."""
    return f"{pricing.symbol if pricing is not None else '$'}{fmt(value)}"
