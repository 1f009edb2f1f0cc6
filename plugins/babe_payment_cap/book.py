"""Money committed and spent, read from the ledger: per experiment, per calendar day, in total.

Committed is the most that what was posted and paid can cost, with each platform's fees — the
issue's definition: every assignment of every posted HIT at its reward plus its fee (on MTurk 20%,
at least $0.01, 40% on HITs of 10 or more, +5% with Masters; another platform's rules come from
its `pricing`, `babe_tasks.money.Pricing`), plus every bonus and its fee, including bonuses whose
call went out but whose answer is not confirmed yet. A HIT counts in full even once it expired
half-filled: `extend` can reopen its slots, and a cap is a promise about what can be spent. Spent
is what was actually paid (the ledger's payments: rewards, fees, bonuses and their fees, as the
steps booked them at the platform's fees).

Every row is priced by the platform it was posted on (the `hits.platform` column; rows of
ledgers from before the column, and rows whose HIT the ledger does not know, are MTurk's), and
carries that platform's currency. A cap is an amount in the run's currency: only commitments in
that currency count towards it — dollars and pounds cannot be added without a rate nobody agreed
on, so an experiment run on MTurk (USD) and on a Prolific account in GBP has one book per
currency.

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
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from babe_tasks import money

from .prices import Prices

ZERO = Decimal("0.00")
LEDGER_FILE = "ledger.sqlite"


@dataclass(frozen=True)
class Entry:
    """One commitment: who made it, when (epoch seconds), how much it commits and is paid, in which currency."""

    experiment: str
    at: float
    committed: Decimal = ZERO
    spent: Decimal = ZERO
    currency: str = "USD"


@dataclass(frozen=True)
class Book:
    """Committed and spent for the three scopes a cap can have, on one target, on one day."""

    experiment: str
    target: str
    day: date
    committed: dict[str, Decimal] = field(default_factory=dict)
    spent: dict[str, Decimal] = field(default_factory=dict)
    #: The run's platform pricing: the caps' currency, and the symbol messages show amounts with.
    pricing: Any = field(default=money.MTURK_PRICING, compare=False, repr=False)
    #: Committed in other currencies (all experiments, ever), which no cap of this run counts.
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


def extension_commitments(stored_plan: str) -> Iterable[tuple[str, Decimal, int, int, bool]]:
    """An extension as `steps.extend` stores it (its plan as JSON): per existing HIT it adds to,
    (hit id, reward, size after, added, masters). HITs its `--split` posts are ordinary rows of
    `hits` and are counted there."""
    for hit in json.loads(stored_plan).get("hits", []):
        added = int(hit.get("add") or 0)
        if added > 0:
            size_after = int(hit["assignments_before"]) + added
            yield hit.get("hit_id") or "", Decimal(hit["reward"]), size_after, added, bool(hit.get("masters"))


def extension_commitment(stored_plan: str, pricing: Any = money.MTURK_PRICING) -> Decimal:
    """What a stored extension commits, all its HITs priced by `pricing`."""
    return sum(
        (added_commitment(reward, after, added, masters, pricing) for _, reward, after, added, masters in extension_commitments(stored_plan)),
        ZERO,
    )


def tally(
    entries: Iterable[Entry], experiment: str, target: str, day: date, zone: tzinfo, pricing: Any = money.MTURK_PRICING
) -> Book:
    """Sum the entries in `pricing`'s currency into the experiment's, the day's (in `zone`) and the
    overall committed and spent; what other currencies committed is kept apart (`Book.elsewhere`)."""
    committed = {"experiment": ZERO, "daily": ZERO, "total": ZERO}
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
    return Book(experiment, target, day, committed, spent, pricing, elsewhere)


def ledger_path(settings: Any) -> Path:
    return Path(settings.state_dir) / LEDGER_FILE


def read_entries(path: Path, target: str, prices: Callable[[str], Any] | None = None) -> list[Entry]:
    """Every commitment and payment on `target` in the ledger at `path` (none if there is no ledger yet).

    Committed: posted HITs (every assignment), assignments added by `extend`, and bonuses from the
    moment their call may have gone out ("sending" or "paid"). Spent: every payment. Each entry is
    priced by `prices(platform)` of its HIT's platform and carries that currency (without
    `prices`, every row is MTurk's).
    """
    if not path.is_file():
        return []
    price = prices or (lambda _platform: money.MTURK_PRICING)
    with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "hits" not in tables:
            return []
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(hits)")}
        # A ledger from before the column was added (and not opened by a step since) is all MTurk's.
        platform_column = "platform" if "platform" in columns else "'mturk'"
        platform_of = {
            row["hit_id"]: row["platform"]
            for row in conn.execute(f"SELECT hit_id, {platform_column} AS platform FROM hits WHERE hit_id IS NOT NULL")
        }

        def currency_of(hit_id: str | None) -> str:
            return price(platform_of.get(hit_id or "", "mturk")).currency

        entries = []
        for row in conn.execute(
            f"SELECT experiment, max_assignments, reward, masters, posted_at, {platform_column} AS platform FROM hits"
            " WHERE target = ? AND hit_id IS NOT NULL",
            (target,),
        ):
            pricing = price(row["platform"])
            committed = hit_commitment(Decimal(row["reward"]), row["max_assignments"], bool(row["masters"]), pricing)
            entries.append(Entry(row["experiment"], row["posted_at"] or 0.0, committed=committed, currency=pricing.currency))
        if "extensions" in tables:
            # Assignments `extend` added to existing HITs: each extension from the moment it is written.
            for row in conn.execute("SELECT experiment, plan, created_at FROM extensions WHERE target = ?", (target,)):
                for hit_id, reward, after, added, masters in extension_commitments(row["plan"]):
                    pricing = price(platform_of.get(hit_id, "mturk"))
                    committed = added_commitment(reward, after, added, masters, pricing)
                    entries.append(Entry(row["experiment"], row["created_at"], committed=committed, currency=pricing.currency))
        if "bonuses" in tables:
            # Every bonus from the moment its call may have gone out, confirmed or not; its fee as booked.
            entries += [
                Entry(
                    row["experiment"],
                    row["created_at"],
                    committed=Decimal(row["amount"]) + Decimal(row["fee"]),
                    currency=currency_of(row["hit_id"]),
                )
                for row in conn.execute(
                    "SELECT experiment, hit_id, amount, fee, created_at FROM bonuses WHERE target = ?", (target,)
                )
            ]
        bonus_kinds_committed = "bonuses" not in tables
        for row in conn.execute(
            "SELECT experiment, hit_id, kind, amount, created_at FROM payments WHERE target = ?", (target,)
        ):
            amount = Decimal(row["amount"])
            is_bonus = row["kind"] in ("bonus", "bonus_fee")
            entries.append(
                Entry(
                    row["experiment"],
                    row["created_at"],
                    committed=amount if is_bonus and bonus_kinds_committed else ZERO,
                    spent=amount,
                    currency=currency_of(row["hit_id"]),
                )
            )
    return entries


def book(settings: Any, zone: tzinfo, prices: Prices | None = None, now: datetime | None = None) -> Book:
    """The run's book: its experiment, target and currency (`prices.run`), today in `zone` (or the day of `now`)."""
    prices = prices or Prices(settings)
    day = (now or datetime.now(zone)).astimezone(zone).date()
    entries = read_entries(ledger_path(settings), settings.target, prices)
    return tally(entries, settings.experiment, settings.target, day, zone, prices.run)


def already_posted(settings: Any, plan: Any) -> set[int]:
    """Indexes of the plan's HITs an earlier `create` with the same parameters already posted.

    Those are in the book already; a resumed create commits only the rest (and one that finished
    before, run again without `--again`, commits nothing). Asked through the ledger's public
    `open_plan`, the same lookup `create` makes right after the plugins.
    """
    from babe_tasks.ledger import Ledger

    if not ledger_path(settings).is_file():
        return set()
    with Ledger(settings.folder) as ledger:
        earlier = ledger.open_plan(plan.experiment, plan.target, plan.fingerprint(), finished_too=not settings.again)
    return set(earlier.posted) if earlier is not None else set()
