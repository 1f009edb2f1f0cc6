"""Prolific's fees as babe-tasks prices them: the account's service fee and VAT on that fee.

Prolific charges `fees_percentage` of every reward and bonus, and `vat_percentage` of that fee
(never VAT on rewards); the rates belong to the account (`GET /users/me/`), so they are read from
it — on first use, because `babe cost` prices a plan before anything else is asked of the platform.
Rounding is per place and per bonus row, half up to the minor unit (pence or cents), as the
account is charged: one place costs exactly `reward + fee(reward) + vat(fee)`, so `create`'s cost,
`approve`'s ledger and the balance agree to the cent.

There is no surcharge for large studies and no Masters: a plan is one study (`single_batch`), and
`large_hit_assignments` is None, so `extend` may grow a study to any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babe_tasks.planning import Cost

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}


def share(amount: Decimal, percentage: Decimal) -> Decimal:
    """`percentage` % of a major-unit amount, rounded half up to the minor unit."""
    return (Decimal(amount) * Decimal(percentage) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ProlificPricing:
    """One account's rates, as a `babe_tasks.money.Pricing`."""

    currency: str
    fees_percentage: Decimal
    vat_percentage: Decimal
    single_batch: bool = True
    large_hit_assignments: int | None = None

    @property
    def symbol(self) -> str:
        return SYMBOLS.get(self.currency, f"{self.currency} ")

    def fee(self, amount: Decimal) -> tuple[Decimal, Decimal]:
        """(service fee, VAT on it) for one reward or bonus row."""
        fee = share(amount, self.fees_percentage)
        return fee, share(fee, self.vat_percentage)

    def assignment_fee(self, reward: Decimal, hit_size: int, masters: bool = False) -> Decimal:
        fee, vat = self.fee(reward)
        return fee + vat

    def assignments_cost(self, reward: Decimal, hit_size: int, count: int, masters: bool = False) -> Cost:
        fee, vat = self.fee(reward)
        return Cost(assignments=count, rewards=Decimal(reward) * count, commission=fee * count, vat=vat * count)

    def bonus_fee(self, amount: Decimal) -> Decimal:
        fee, vat = self.fee(amount)
        return fee + vat


def from_account(me: dict) -> ProlificPricing:
    """The pricing of the account `GET /users/me/` describes."""
    return ProlificPricing(
        currency=str(me.get("currency_code") or "GBP").upper(),
        fees_percentage=Decimal(str(me.get("fees_percentage", "0"))),
        vat_percentage=Decimal(str(me.get("vat_percentage", "0"))),
    )
