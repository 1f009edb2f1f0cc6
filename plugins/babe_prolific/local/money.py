"""Fees and VAT on the wire's integer minor units (cents or pence), the same way everywhere.

Prolific charges its service fee (`fees_percentage` of rewards and bonuses) and VAT on that fee
(`vat_percentage`), never VAT on rewards. The local server rounds per place and per bonus row
(half up, to the minor unit), so one place always costs `reward + fee(reward) + vat(fee)` and an
adapter computing "fee per approved assignment" gets exactly what the balance loses. Decimal
arithmetic only: a float never touches money here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def share(cents: int, percentage: Decimal) -> int:
    """`percentage` % of `cents`, rounded half up to a whole minor unit."""
    return int((Decimal(cents) * percentage / HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Charge:
    """One place's (or one bonus row's) cost: the amount, the service fee, VAT on the fee."""

    amount: int
    fees: int
    vat: int

    @property
    def total(self) -> int:
        return self.amount + self.fees + self.vat

    def times(self, n: int) -> Charge:
        return Charge(self.amount * n, self.fees * n, self.vat * n)

    def __add__(self, other: Charge) -> Charge:
        return Charge(self.amount + other.amount, self.fees + other.fees, self.vat + other.vat)


ZERO = Charge(0, 0, 0)


def charge(cents: int, fees_percentage: Decimal, vat_percentage: Decimal) -> Charge:
    fees = share(cents, fees_percentage)
    return Charge(cents, fees, share(fees, vat_percentage))


def account_charge(tx, cents: int) -> Charge:
    """`charge` at the account's current rates, read inside the caller's transaction."""
    from .store import Store

    return charge(cents, Store.percentage(tx, "fees_percentage"), Store.percentage(tx, "vat_percentage"))


def major(cents: int) -> str:
    """Minor units as a major-unit string: 1234 → "12.34"."""
    return str((Decimal(cents) / HUNDRED).quantize(Decimal("0.01")))
