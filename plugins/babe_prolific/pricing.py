"""Prolific's fees as babe-tasks prices them: learnt from Prolific's cost calculator, once per run.

Prolific documents one way to learn what a reward costs: `POST /study-cost-calculator/` answers
`total_cost` (minor units, fees and VAT included, the account's rates) for a `reward` and a number
of `total_available_places`. `GET /users/me/` documents only `id` and `email`; the
`fees_percentage` and `vat_percentage` accounts carry in practice have been seen both as a percent
(33.33) and as a fraction (0.333333) — read the wrong way, every plan, cost and cap is 100x off.
So the account's rates are never trusted alone (`from_calculator`):

1. the calculator is asked for one place at `PROBE` (a large reward, so that rates differing in
   the third decimal give different answers); what it adds to the reward is the fee with its VAT;
2. each reading of the account's rates (percent, or fraction × 100) is tried on the probe: the one
   that reproduces the calculator's answer to the minor unit is used, which also splits the fee
   from its VAT (`cost --json` shows `"vat"`);
3. when no reading does (or the account shows no rates), the calculator's own rate is used — the
   probe's fee with VAT over the probe — all of it as the fee (the split is then unknown).

Prolific charges `fees_percentage` of every reward and bonus and VAT on that fee (never on
rewards). Rounding is per place and per bonus row, half up to the minor unit (pence or cents), as
the account is charged: one place costs exactly `reward + fee(reward) + vat(fee)`, so `create`'s
cost, `approve`'s ledger and the balance agree to the cent. The rates are fixed when the pricing is
made, so it keeps working after the platform that asked is closed (the payment-cap plugin does
that).

There is no surcharge for large studies and no Masters: a plan is one study (`single_batch`), and
`large_hit_assignments` is None, so `extend` may grow a study to any size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babe_tasks.errors import PlatformError
from babe_tasks.planning import Cost

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}
#: The reward (minor units) the calculator is asked about: 1,000.00, one place.
PROBE = 100_000


def share(amount: Decimal, percentage: Decimal) -> Decimal:
    """`percentage` % of a major-unit amount, rounded half up to the minor unit."""
    return (Decimal(amount) * Decimal(percentage) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ProlificPricing:
    """One account's rates (in percent), as a `babe_tasks.money.Pricing`.

    `basis` says where the rates come from: "account" (the account's rates, checked against the
    calculator), "calculator" (the calculator's own rate, fee and VAT together) or "unchecked".
    """

    currency: str
    fees_percentage: Decimal
    vat_percentage: Decimal
    single_batch: bool = True
    large_hit_assignments: int | None = None
    basis: str = "unchecked"

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


def readings(value) -> list[Decimal]:
    """The percentages an account's rate may mean: as a percent, and (when it can be one) as a fraction."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return []
    if not number.is_finite() or number < 0:
        return []
    found = [number]
    if number <= 1:
        found.append(number * HUNDRED)
    return found


def from_calculator(me: dict, quote: Callable[[int, int], object]) -> ProlificPricing:
    """The account's pricing: `quote(reward, places)` is the calculator's `total_cost` (minor units)."""
    currency = str(me.get("currency_code") or "GBP").upper()
    try:
        total = Decimal(str(quote(PROBE, 1)))
    except (InvalidOperation, ValueError, TypeError):
        total = Decimal("NaN")
    if not total.is_finite() or total < PROBE:
        raise PlatformError(
            f"Prolific's cost calculator answered {total} for one place at {PROBE} (minor units): cannot price anything; "
            "try again later"
        )
    probe = Decimal(PROBE) / HUNDRED
    charged = (total / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP) - probe
    for fees in readings(me.get("fees_percentage")):
        for vat in readings(me.get("vat_percentage", 0)):
            candidate = ProlificPricing(currency, fees, vat, basis="account")
            if candidate.assignment_fee(probe, 1) == charged:
                return candidate
    return ProlificPricing(currency, charged / probe * HUNDRED, Decimal(0), basis="calculator")

