"""The arithmetic of the caps: does a step's commitment fit, and what is left under each cap.

Pure functions over a `book.Book`, so the rules can be checked against hand-computed tables
without a ledger: a step that commits `amount` fits a cap when already-committed + amount ≤ cap
(reaching a cap exactly is allowed). The first cap crossed — experiment, daily, monthly, total —
is named in the veto, with the three numbers a person needs to decide what to do.

Amounts are in the run's platform currency (`Book.pricing`) and shown with its symbol
(`money.shown`): `$400.00` on MTurk, `£400.00` on a Prolific account in pounds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babe_tasks import money
from babe_tasks.errors import Veto

from .book import Book
from .config import CapSettings, setting

#: How each scope reads in a sentence.
SCOPE_WORDS = {
    "experiment": ("the experiment cap", "already committed"),
    "daily": ("the daily cap", "already committed today ({day})"),
    "monthly": ("the monthly cap", "already committed this month ({month})"),
    "total": ("the total cap", "already committed by all experiments of this ledger"),
}
#: What to do instead, per step.
REMEDY = {
    "create": "post fewer assignments",
    "extend": "extend by fewer assignments",
    "bonus": "pay less",
}


def shown(value: Decimal, pricing: Any = money.MTURK_PRICING) -> str:
    """An amount as messages write it, in the pricing's currency (`$12.00`, `£12.00`)."""
    return money.shown(value, pricing)


def crossed(caps: CapSettings, book: Book, amount: Decimal) -> str | None:
    """The first cap that `amount` more would cross, or None when it fits them all."""
    for scope, cap in caps.caps().items():
        if book.committed[scope] + amount > cap:
            return scope
    return None


def check(caps: CapSettings, book: Book, amount: Decimal, step: str) -> None:
    """Raise `Veto` naming the numbers when the step's `amount` would cross a cap."""
    scope = crossed(caps, book, amount)
    if scope is None:
        return
    cap = caps.caps()[scope]
    already = book.committed[scope]
    name, done = SCOPE_WORDS[scope]
    left = cap - already

    def cash(value: Decimal) -> str:
        return shown(value, book.pricing)

    room = f"{cash(left)} left" if left >= 0 else f"already {cash(-left)} over it"
    raise Veto(
        f"this {step} commits {cash(amount)}; {name} is {cash(cap)} and {cash(already)} is "
        f"{done.format(day=_day(book, caps), month=_month(book, caps))} ({room}); {REMEDY.get(step, 'commit less')} or raise {setting(scope)}"
    )


def check_balance(amount: Decimal, balance: Decimal, target: str, pricing: Any = money.MTURK_PRICING) -> None:
    """On live: refuse a create whose cost the account cannot pay (both in the platform's currency)."""
    if amount > balance:
        raise Veto(
            f"this create commits {shown(amount, pricing)} but the {target} account balance is {shown(balance, pricing)}: "
            "add funds to the requester account or post fewer assignments"
        )


def _day(book: Book, caps: CapSettings) -> str:
    return f"{book.day.isoformat()} {caps.timezone}"


def _month(book: Book, caps: CapSettings) -> str:
    return f"{book.day:%Y-%m} {caps.timezone}"


class CapReport(dict):
    """Each cap with what is committed, spent and left — a dict for JSON, one line for people.

    `babe status` prints extra fields as `key: value`, so `str()` gives the sentence (amounts with
    the run's currency symbol, `pricing`) while `--json` gets the numbers (money as "12.00"
    strings, by babe's JSON rules).
    """

    def __init__(self, pricing: Any = money.MTURK_PRICING, elsewhere: dict[str, Decimal] | None = None):
        super().__init__()
        self.pricing = pricing
        #: What other currencies committed (`Book.elsewhere`): named in the sentence, never counted.
        self.elsewhere = dict(elsewhere or {})

    def __str__(self) -> str:
        def cash(value: Decimal) -> str:
            return shown(value, self.pricing)

        parts = []
        for scope, row in self.items():
            when = f" ({row['day']} {row['timezone']})" if scope == "daily" else ""
            when = f" ({row['month']} {row['timezone']})" if scope == "monthly" else when
            line = f"{scope} cap {cash(row['cap'])}{when}: {cash(row['committed'])} committed"
            if "this" in row:
                line += f", this {cash(row['this'])}"
                line += f", {cash(row['left_after'])} left after it" if row["fits"] else " would cross it"
            elif row["left"] >= 0:
                line += f", {cash(row['left'])} left"
            else:
                line += f", {cash(-row['left'])} over it"
            parts.append(line)
        if parts and self.elsewhere:
            other = ", ".join(f"{money.fmt(value)} {currency}" for currency, value in sorted(self.elsewhere.items()))
            parts.append(f"not counted (another currency): {other} committed")
        return "; ".join(parts) if parts else "no caps set"


def report(caps: CapSettings, book: Book, amount: Decimal | None = None) -> CapReport:
    """What `status` and `cost` show: per cap, committed, spent and left (and, for a costed step, after it)."""
    result = CapReport(book.pricing, book.elsewhere)
    for scope, cap in caps.caps().items():
        committed = book.committed[scope]
        row: dict[str, Any] = {"cap": cap, "committed": committed, "spent": book.spent[scope], "left": cap - committed}
        if scope == "daily":
            row["day"] = book.day.isoformat()
            row["timezone"] = caps.timezone
        if scope == "monthly":
            row["month"] = f"{book.day:%Y-%m}"
            row["timezone"] = caps.timezone
        if amount is not None:
            row["this"] = amount
            row["left_after"] = cap - committed - amount
            row["fits"] = committed + amount <= cap
        result[scope] = row
    return result
