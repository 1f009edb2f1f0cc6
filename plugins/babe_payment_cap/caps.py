"""The arithmetic of the caps: does a step's commitment fit, and what is left under each cap.

Pure functions over a `book.Book`, so the rules can be checked against hand-computed tables
without a ledger: a step that commits `amount` fits a cap when already-committed + amount ≤ cap
(reaching a cap exactly is allowed). The first cap crossed — experiment, then daily, then total —
is named in the veto, with the three numbers a person needs to decide what to do.
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
    "total": ("the total cap", "already committed by all experiments of this ledger"),
}
#: What to do instead, per step.
REMEDY = {
    "create": "post fewer assignments",
    "extend": "extend by fewer assignments",
    "bonus": "pay less",
}


def dollars(value: Decimal) -> str:
    return f"${money.fmt(value)}"


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
    room = f"{dollars(left)} left" if left >= 0 else f"already {dollars(-left)} over it"
    raise Veto(
        f"this {step} commits {dollars(amount)}; {name} is {dollars(cap)} and {dollars(already)} is "
        f"{done.format(day=_day(book, caps))} ({room}); {REMEDY.get(step, 'commit less')} or raise {setting(scope)}"
    )


def check_balance(amount: Decimal, balance: Decimal, target: str) -> None:
    """On live: refuse a create whose cost the account cannot pay."""
    if amount > balance:
        raise Veto(
            f"this create commits {dollars(amount)} but the {target} account balance is {dollars(balance)}: "
            "add funds to the requester account or post fewer assignments"
        )


def _day(book: Book, caps: CapSettings) -> str:
    return f"{book.day.isoformat()} {caps.timezone}"


class CapReport(dict):
    """Each cap with what is committed, spent and left — a dict for JSON, one line for people.

    `babe status` prints extra fields as `key: value`, so `str()` gives the sentence while
    `--json` gets the numbers (money as "12.00" strings, by babe's JSON rules).
    """

    def __str__(self) -> str:
        parts = []
        for scope, row in self.items():
            when = f" ({row['day']} {row['timezone']})" if scope == "daily" else ""
            line = f"{scope} cap {dollars(row['cap'])}{when}: {dollars(row['committed'])} committed"
            if "this" in row:
                line += f", this {dollars(row['this'])}"
                line += f", {dollars(row['left_after'])} left after it" if row["fits"] else " would cross it"
            elif row["left"] >= 0:
                line += f", {dollars(row['left'])} left"
            else:
                line += f", {dollars(-row['left'])} over it"
            parts.append(line)
        return "; ".join(parts) if parts else "no caps set"


def report(caps: CapSettings, book: Book, amount: Decimal | None = None) -> CapReport:
    """What `status` and `cost` show: per cap, committed, spent and left (and, for a costed step, after it)."""
    result = CapReport()
    for scope, cap in caps.caps().items():
        committed = book.committed[scope]
        row: dict[str, Any] = {"cap": cap, "committed": committed, "spent": book.spent[scope], "left": cap - committed}
        if scope == "daily":
            row["day"] = book.day.isoformat()
            row["timezone"] = caps.timezone
        if amount is not None:
            row["this"] = amount
            row["left_after"] = cap - committed - amount
            row["fits"] = committed + amount <= cap
        result[scope] = row
    return result
