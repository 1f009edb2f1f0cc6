"""Money committed and spent, read from the ledger: per experiment, per calendar day, in total.

Committed is the most that what was posted and paid can cost, with MTurk's fees — the issue's
definition: every assignment of every posted HIT at its reward plus its fee (20%, at least $0.01,
40% on HITs of 10 or more, +5% with Masters; `babe_tasks.money`), plus every bonus and its fee,
including bonuses whose call went out but whose answer is not confirmed yet. A HIT counts in full
even once it expired half-filled: `extend` can reopen its slots, and a cap is a promise about what
can be spent. Spent is what was actually paid (the ledger's payments: rewards, fees, bonuses and
their fees).

The ledger (`<experiment>/.babe/ledger.sqlite`) is one per experiment folder; "all experiments"
means all that this ledger holds (a folder whose `babe.experiment` changed over time holds
several). Only the run's target counts: sandbox and local money is not live money.

The ledger's public methods answer per experiment (`hits`, `payment_totals`, `bonuses`) but not
across experiments or by day, so this module reads the ledger file's documented tables itself:
`hits`, `bonuses`, `payments` (`babe_tasks.ledger.SCHEMA`) and `extensions` (the assignments
`extend` added, `babe_tasks.steps.extend.SCHEMA`) — read-only (`mode=ro`, `PRAGMA query_only`),
never writing a byte of the lab's record. Tables an older ledger lacks count as empty.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from babe_tasks import money

ZERO = Decimal("0.00")
LEDGER_FILE = "ledger.sqlite"


@dataclass(frozen=True)
class Entry:
    """One commitment: who made it, when (epoch seconds), how much it commits, and how much is paid."""

    experiment: str
    at: float
    committed: Decimal = ZERO
    spent: Decimal = ZERO


@dataclass(frozen=True)
class Book:
    """Committed and spent for the three scopes a cap can have, on one target, on one day."""

    experiment: str
    target: str
    day: date
    committed: dict[str, Decimal] = field(default_factory=dict)
    spent: dict[str, Decimal] = field(default_factory=dict)


def hit_commitment(reward: Decimal, max_assignments: int, masters: bool = False) -> Decimal:
    """What a HIT commits: each assignment's reward and fee (the fee rounded per assignment, as MTurk does)."""
    return (reward + money.assignment_fee(reward, max_assignments, masters)) * max_assignments


def bonus_commitment(amount: Decimal) -> Decimal:
    return amount + money.bonus_fee(amount)


def added_commitment(reward: Decimal, size_after: int, added: int, masters: bool = False) -> Decimal:
    """What `added` assignments commit on a HIT that now has `size_after`: the fee is the new size's."""
    return (reward + money.assignment_fee(reward, size_after, masters)) * added


def extension_commitment(stored_plan: str) -> Decimal:
    """An extension as `steps.extend` stores it (its plan as JSON): the assignments it adds to existing HITs.

    HITs its `--split` posts are ordinary rows of `hits` and are counted there.
    """
    total = ZERO
    for hit in json.loads(stored_plan).get("hits", []):
        added = int(hit.get("add") or 0)
        if added > 0:
            size_after = int(hit["assignments_before"]) + added
            total += added_commitment(Decimal(hit["reward"]), size_after, added, bool(hit.get("masters")))
    return total


def tally(entries: Iterable[Entry], experiment: str, target: str, day: date, zone: tzinfo) -> Book:
    """Sum entries into the experiment's, the day's (in `zone`) and the overall committed and spent."""
    committed = {"experiment": ZERO, "daily": ZERO, "total": ZERO}
    spent = dict(committed)
    for entry in entries:
        scopes = ["total"]
        if entry.experiment == experiment:
            scopes.append("experiment")
        if datetime.fromtimestamp(entry.at, zone).date() == day:
            scopes.append("daily")
        for scope in scopes:
            committed[scope] += entry.committed
            spent[scope] += entry.spent
    return Book(experiment, target, day, committed, spent)


def ledger_path(settings: Any) -> Path:
    return Path(settings.state_dir) / LEDGER_FILE


def read_entries(path: Path, target: str) -> list[Entry]:
    """Every commitment and payment on `target` in the ledger at `path` (none if there is no ledger yet).

    Committed: posted HITs (every assignment), assignments added by `extend`, and bonuses from the
    moment their call may have gone out ("sending" or "paid"). Spent: every payment.
    """
    if not path.is_file():
        return []
    with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "hits" not in tables:
            return []
        entries = [
            Entry(
                row["experiment"],
                row["posted_at"] or 0.0,
                committed=hit_commitment(Decimal(row["reward"]), row["max_assignments"], bool(row["masters"])),
            )
            for row in conn.execute(
                "SELECT experiment, max_assignments, reward, masters, posted_at FROM hits"
                " WHERE target = ? AND hit_id IS NOT NULL",
                (target,),
            )
        ]
        if "extensions" in tables:
            # Assignments `extend` added to existing HITs: each extension from the moment it is written.
            for row in conn.execute("SELECT experiment, plan, created_at FROM extensions WHERE target = ?", (target,)):
                entries.append(Entry(row["experiment"], row["created_at"], committed=extension_commitment(row["plan"])))
        if "bonuses" in tables:
            # Every bonus from the moment its call may have gone out, confirmed or not.
            entries += [
                Entry(row["experiment"], row["created_at"], committed=Decimal(row["amount"]) + Decimal(row["fee"]))
                for row in conn.execute("SELECT experiment, amount, fee, created_at FROM bonuses WHERE target = ?", (target,))
            ]
        bonus_kinds_committed = "bonuses" not in tables
        for row in conn.execute("SELECT experiment, kind, amount, created_at FROM payments WHERE target = ?", (target,)):
            amount = Decimal(row["amount"])
            is_bonus = row["kind"] in ("bonus", "bonus_fee")
            entries.append(
                Entry(
                    row["experiment"],
                    row["created_at"],
                    committed=amount if is_bonus and bonus_kinds_committed else ZERO,
                    spent=amount,
                )
            )
    return entries


def book(settings: Any, zone: tzinfo, now: datetime | None = None) -> Book:
    """The run's book: its experiment and target, today in `zone` (or the day of `now`)."""
    day = (now or datetime.now(zone)).astimezone(zone).date()
    return tally(read_entries(ledger_path(settings), settings.target), settings.experiment, settings.target, day, zone)


def already_posted(settings: Any, plan: Any) -> set[int]:
    """Indexes of the plan's HITs an unfinished earlier `create` with the same parameters already posted.

    Those are in the book already; a resumed create commits only the rest. Asked through the
    ledger's public `open_plan`, the same lookup `create` makes right after the plugins.
    """
    from babe_tasks.ledger import Ledger

    if not ledger_path(settings).is_file():
        return set()
    with Ledger(settings.folder) as ledger:
        unfinished = ledger.open_plan(plan.experiment, plan.target, plan.fingerprint())
    return set(unfinished.posted) if unfinished is not None else set()
