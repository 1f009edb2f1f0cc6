"""The lab's record of an experiment: `<experiment folder>/.babe/ledger.sqlite`, or the lab's
PostgreSQL when `ledger_url` names one (docs/lab.md; where and how: `ledgerdb`, its versions:
`ledgerdb_migrations`).

It holds every plan `create` made (written before the first call, so a crash leaves something to
resume), every HIT posted (target, where the calls went, ids, parameters, token, annotation),
every assignment seen with its last status, every payment (rewards, fees, bonuses and their
fees), every bonus from before its call to its confirmation, and every rejection with the reason
the worker read. `status` reads it to spend as few calls as possible; `approve` to find repeat
workers across HITs; `create` and `bonus` for idempotency; `cost` for what was spent.

Every HIT row names its platform (`mturk`, `prolific`, ...): one folder may run an experiment on
several platforms on the same target (a lab moving from MTurk to Prolific), and each step sees
only the HITs of the platform it talks to (`steps.chosen_hits`). Ledgers from before the column
existed were MTurk's: the upgrade gives their rows `mturk`.

The platform stays the truth about the present: the ledger only ever adds what a call already
established, so losing a write never makes a re-run unsafe — it only costs the re-run a call.
Several processes may share the file (two terminals, a watcher): WAL lets readers run beside one
writer, and every write is one short `BEGIN IMMEDIATE` transaction. On PostgreSQL several machines
share it the same way: every write is one transaction holding the ledger's advisory lock. Its SQL
is the same on both (portable: `ON CONFLICT`, `?` placeholders). A lab's ledger holds all of the
lab's experiments: a question about one experiment names it (and its target); the few that mean
every experiment on a target (`LedgerView.commitments`, the earlier experiments exclusion keeps
out, `report`'s list) see the whole lab's.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Self
from uuid import uuid4

from . import money
from .commitments import ZERO, Entry, Money, added_commitment, hit_commitment, tally
from .errors import one_line
from .ledgerdb import (
    Database,
    LedgerUnavailable,
    connect,
    engine_of,
    mask,
    os_member,
    scrub,
    sqlite_path,
    url_from_environment,
)
from .ledgerdb_migrations import (
    COMPLETION_CODES_SCHEMA,
    EXCLUSION_SCHEMA,
    EXTENSIONS_SCHEMA,
    PARTICIPANT_GROUPS_SCHEMA,
    SCHEMA,  # noqa: F401 - imported from here by earlier code and tests
    SCHEMA_VERSION,  # noqa: F401
    migrate,
)

#: Seconds a write waits for another process holding the ledger (a second babe run) before giving up.
BUSY_TIMEOUT = 60.0
#: HIT statuses after which the platform has nothing more to say about a HIT.
GONE = ("Disposed", "NotFound")
#: What a spending reservation calls before it writes: reads the ledger through the open
#: transaction (a `LedgerView`), raises (a `Veto`) to write nothing.
SpendingCheck = Callable[["LedgerView"], None]



def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@dataclass(frozen=True)
class HitRecord:
    """A HIT as the ledger last saw it."""

    hit_id: str | None
    plan_id: str
    index: int
    experiment: str
    target: str
    location: str
    hit_type_id: str | None
    hit_group_id: str | None
    max_assignments: int
    reward: Decimal
    masters: bool
    token: str
    annotation: str
    expires_at: datetime | None
    status: str
    #: The platform it was posted on (`settings.platform` of the create).
    platform: str = "mturk"
    #: When the ledger recorded it posted (epoch seconds; None while only planned).
    posted_at: float | None = None

    @property
    def gone(self) -> bool:
        return self.status in GONE

    @property
    def fee(self) -> Decimal:
        """MTurk's fee per approved assignment of this HIT (steps use their platform's `pricing`)."""
        return money.assignment_fee(self.reward, self.max_assignments, self.masters)

    @classmethod
    def from_row(cls, row: Any, platform_column: str = "platform") -> HitRecord:
        """The record of a `hits` row; `platform_column` names where the row says its platform."""
        return cls(
            hit_id=row["hit_id"],
            plan_id=row["plan_id"],
            index=row["idx"],
            experiment=row["experiment"],
            target=row["target"],
            location=row["location"],
            hit_type_id=row["hit_type_id"],
            hit_group_id=row["hit_group_id"],
            max_assignments=row["max_assignments"],
            reward=Decimal(row["reward"]),
            masters=bool(row["masters"]),
            token=row["token"],
            annotation=row["annotation"],
            expires_at=_dt(row["expires_at"]),
            status=row["status"],
            platform=row[platform_column],
            posted_at=row["posted_at"],
        )


@dataclass(frozen=True)
class OpenPlan:
    """A plan to resume: its id, its HIT type if made, and the HITs already posted by index.

    `finished_at` is None for an unfinished plan; for a finished one (an identical create that
    completed) it is when it finished: resuming it posts nothing.
    """

    plan_id: str
    hit_type_id: str | None
    posted: dict[int, str]
    finished_at: float | None = None


@dataclass(frozen=True)
class BonusRecord:
    """One bonus as the ledger knows it: "sending" from just before its call, "paid" once confirmed.

    `identity` is the hash of (experiment, worker, assignment, amount, reason): the same payment
    asked for again has the same identity. `attempt` counts deliberate repeats (`bonus --pay-again`):
    0 for the first payment, whose token is the identity itself. `sent_at` is the platform's clock
    when its token was last sent, which tells whether MTurk may have forgotten the token (24 h).
    """

    token: str
    identity: str
    attempt: int
    experiment: str
    target: str
    hit_id: str | None
    assignment_id: str
    worker_id: str
    amount: Decimal
    fee: Decimal
    reason: str
    status: str
    sent_at: float
    paid_at: float | None
    error: str | None
    #: When the ledger first recorded it (epoch seconds): from then on it is committed.
    created_at: float = 0.0

    @property
    def paid(self) -> bool:
        return self.status == "paid"

    @classmethod
    def from_row(cls, row: Any) -> BonusRecord:
        return cls(
            token=row["token"],
            identity=row["identity"],
            attempt=row["attempt"],
            experiment=row["experiment"],
            target=row["target"],
            hit_id=row["hit_id"],
            assignment_id=row["assignment_id"],
            worker_id=row["worker_id"],
            amount=Decimal(row["amount"]),
            fee=Decimal(row["fee"]),
            reason=row["reason"],
            status=row["status"],
            sent_at=row["sent_at"],
            paid_at=row["paid_at"],
            error=row["error"],
            created_at=row["created_at"],
        )


class LedgerTable:
    """Tables another module keeps in the ledger (its SQLite file or the lab's PostgreSQL), over a
    connection of its own.

    `exclusion` (qualification types and grants) and `steps.extend` (extensions written before
    their first call) own their tables; they share the ledger's file, busy timeout and failure
    rule: a write that cannot happen (locked, disk full, read-only) is `LedgerUnavailable`, whole
    or not at all, never an internal error. Subclasses set `SCHEMA` and write through `_write`.
    """

    SCHEMA = ""

    def __init__(self, ledger: Ledger):
        self.path = ledger.path
        self.where = ledger.where
        self.url = ledger.url
        self.member = ledger.member
        self._lock = threading.Lock()
        self._conn = ledger._connect()
        try:
            with self._lock:
                if self._conn.engine == "sqlite":
                    self._conn.conn.executescript(self.SCHEMA)
                elif self.SCHEMA.strip():
                    with self._conn.transaction():  # under the ledger's lock: two creators, one table
                        self._conn.script(self.SCHEMA)
        except self._conn.errors as exc:
            self._conn.close()
            raise LedgerUnavailable.of(self.where, exc, self.url) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, sql: str, rows: list[tuple]) -> None:
        """Run `sql` once per row in one transaction (nothing when there are no rows)."""
        if not rows:
            return
        with self._lock:
            try:
                with self._conn.transaction() as tx:
                    tx.executemany(sql, rows)
            except self._conn.errors as exc:
                if not self._conn.unavailable(exc):
                    raise
                raise LedgerUnavailable.of(self.where, exc, self.url) from None

    def _read(self, sql: str, params: tuple = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()


@dataclass(frozen=True)
class AssignmentRecord:
    """An assignment as the ledger last saw it (times in epoch seconds)."""

    assignment_id: str
    hit_id: str
    experiment: str
    target: str
    worker_id: str
    status: str
    accept_time: float | None
    submit_time: float | None
    seen_at: float


@dataclass(frozen=True)
class PaymentRecord:
    """One amount paid: a reward, its fee, a bonus or a bonus's fee, as the step booked it."""

    kind: str
    experiment: str
    target: str
    hit_id: str | None
    assignment_id: str
    worker_id: str | None
    amount: Decimal
    created_at: float


@dataclass(frozen=True)
class ExtendedHit:
    """What one extension adds to one existing HIT."""

    hit_id: str
    reward: Decimal
    assignments_before: int
    added: int
    masters: bool

    @property
    def size_after(self) -> int:
        return self.assignments_before + self.added


@dataclass(frozen=True)
class ExtensionRecord:
    """An extension `extend` recorded (before its first call): the HITs it adds assignments to.

    HITs its `--split` posts are ordinary HIT rows, not part of this record.
    """

    experiment: str
    target: str
    status: str
    created_at: float
    hits: tuple[ExtendedHit, ...]


@dataclass(frozen=True)
class PlanRecord:
    """A create's plan as it was recorded before its first call: its parameters and when."""

    parameters: dict
    created_at: float


def extension_hits(stored: str) -> tuple[ExtendedHit, ...]:
    """The HITs of an extension's stored plan (`steps.extend.ExtendPlan.to_json`) that gain assignments."""
    hits = []
    for hit in json.loads(stored).get("hits", []):
        added = int(hit.get("add") or 0)
        if added > 0:
            hits.append(
                ExtendedHit(
                    hit_id=hit.get("hit_id") or "",
                    reward=Decimal(hit["reward"]),
                    assignments_before=int(hit["assignments_before"]),
                    added=added,
                    masters=bool(hit.get("masters")),
                )
            )
    return tuple(hits)


def paid_for(read: Callable[[str, tuple], list[Any]], hit_ids: Iterable[str]) -> Decimal:
    """Everything the payments table holds for these HITs, read through `read(sql, params)` (the
    view's tolerant reader or the ledger's own), 500 ids a query: SQLite caps the parameters."""
    ids = list(hit_ids)
    total = Decimal("0.00")
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in read(f"SELECT amount FROM payments WHERE hit_id IN ({marks})", tuple(chunk)):
            total += Decimal(row["amount"])
    return total


class LedgerView:
    """The ledger read-only: what plugins (through `HookContext.ledger`) and reports may ask of it.

    It never creates, upgrades or writes the file (`mode=ro`, `PRAGMA query_only`): a folder
    without a ledger reads as empty, tables an older ledger lacks read as empty, and a ledger
    from before HITs named their platform reads as MTurk's. The connection is opened on the first
    question asked once the file exists, so a view made before the first `create` sees what it
    writes. Safe to share between threads.
    """

    def __init__(self, folder: str | Path, *, url: str | None = None):
        self.folder = Path(folder)
        self.path = sqlite_path(self.folder)
        self.url = (url if url is not None else url_from_environment()) or None
        self.where = mask(url) if url else str(self.path)
        self._lock = threading.RLock()
        self._conn: Database | None = None

    @classmethod
    def of(cls, settings: Any) -> LedgerView:
        """The view of the ledger `settings` name: the lab's (`ledger_url`), else the folder's."""
        return cls(settings.folder, url=getattr(settings, "ledger_url", None) or "")

    @property
    def exists(self) -> bool:
        if self.url:
            return True
        return self.path.is_file()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connection(self) -> Database | None:
        if self._conn is None and (self.url or self.path.is_file()):
            self._conn = connect(self.folder, self.url, 30, read_only=True)
        return self._conn

    def _tables(self, conn: Database) -> set[str]:
        return conn.tables()

    def _rows(self, table: str, sql: str, params: tuple = ()) -> list[Any]:
        """`sql` over `table`; nothing when there is no ledger or no such table. `{platform}` in the
        SQL reads as the HIT's platform (its column, or 'mturk' before the column existed)."""
        with self._lock:
            conn = None
            try:
                conn = self._connection()
                if conn is None or table not in self._tables(conn):
                    return []
                if "{platform}" in sql:
                    sql = sql.replace("{platform}", "platform" if "platform" in conn.columns("hits") else "'mturk'")
                return conn.execute(sql, params).fetchall()
            except (conn.errors if conn is not None else sqlite3.Error) as exc:
                raise LedgerUnavailable(
                    f"the ledger {self.where} cannot be read ({scrub(one_line(exc), self.url)}); repair or move the file"
                ) from None

    # -- HITs -----------------------------------------------------------------------------------
    def experiments(self, target: str, platform: str | None = None) -> list[str]:
        """The experiments with HITs posted on `target` (on `platform`, or any), oldest first."""
        sql = "SELECT experiment, MIN(posted_at) AS first FROM hits WHERE target = ? AND hit_id IS NOT NULL"
        params: tuple = (target,)
        if platform is not None:
            sql, params = sql + " AND {platform} = ?", (*params, platform)
        return [row["experiment"] for row in self._rows("hits", sql + " GROUP BY experiment ORDER BY first", params)]

    def hits(self, experiment: str | None, target: str | None, platform: str | None = None) -> list[HitRecord]:
        """Posted HITs, oldest first: of one experiment (None: every one), on one target (None: any),
        on one platform (None: any)."""
        sql = "SELECT *, {platform} AS platform_of FROM hits WHERE hit_id IS NOT NULL"
        params: tuple = ()
        for column, value in (("experiment", experiment), ("target", target), ("{platform}", platform)):
            if value is not None:
                sql, params = sql + f" AND {column} = ?", (*params, value)
        rows = self._rows("hits", sql + " ORDER BY posted_at, idx", params)
        return [_hit_of(row) for row in rows]

    def hit(self, hit_id: str) -> HitRecord | None:
        rows = self._rows("hits", "SELECT *, {platform} AS platform_of FROM hits WHERE hit_id = ?", (hit_id,))
        return _hit_of(rows[0]) if rows else None

    def extended(self, experiment: str, target: str) -> dict[str, int]:
        """Assignments finished extensions added, per HIT (a HIT's row keeps its size at posting)."""
        added: dict[str, int] = {}
        for extension in self.extensions(target, experiment):
            if extension.status == "done":
                for hit in extension.hits:
                    added[hit.hit_id] = added.get(hit.hit_id, 0) + hit.added
        return added

    # -- work and money -------------------------------------------------------------------------
    def assignments(self, experiment: str, target: str) -> list[AssignmentRecord]:
        """Every assignment of the experiment seen so far, in the order workers accepted them."""
        rows = self._rows(
            "assignments",
            "SELECT * FROM assignments WHERE experiment = ? AND target = ?"
            " ORDER BY COALESCE(accept_time, submit_time, seen_at), assignment_id",
            (experiment, target),
        )
        return [
            AssignmentRecord(
                r["assignment_id"], r["hit_id"], r["experiment"], r["target"], r["worker_id"], r["status"],
                r["accept_time"], r["submit_time"], r["seen_at"],
            )
            for r in rows
        ]

    def payments(self, target: str, experiment: str | None = None) -> list[PaymentRecord]:
        """What was paid on `target` (by one experiment, or all), in the order it was booked."""
        sql, params = "SELECT * FROM payments WHERE target = ?", (target,)
        if experiment is not None:
            sql, params = sql + " AND experiment = ?", (*params, experiment)
        return [
            PaymentRecord(
                r["kind"], r["experiment"], r["target"], r["hit_id"], r["assignment_id"], r["worker_id"],
                Decimal(r["amount"]), r["created_at"],
            )
            for r in self._rows("payments", sql + " ORDER BY created_at, id", params)
        ]

    def payment_totals(self, experiment: str, target: str) -> dict[str, Decimal]:
        """What the experiment paid on a target, by kind: reward, fee, bonus, bonus_fee (zeros included)."""
        totals = {kind: Decimal("0.00") for kind in ("reward", "fee", "bonus", "bonus_fee")}
        for payment in self.payments(target, experiment):
            totals[payment.kind] += payment.amount
        return totals

    def spent(self, hit_ids: Iterable[str]) -> Decimal:
        """Everything paid for these HITs: rewards, bonuses and their fees."""
        return paid_for(lambda sql, params: self._rows("payments", sql, params), hit_ids)

    def bonuses(self, target: str, experiment: str | None = None) -> list[BonusRecord]:
        """Bonuses recorded on `target` (of one experiment, or all), "sending" or "paid", oldest first."""
        sql, params = "SELECT * FROM bonuses WHERE target = ?", (target,)
        if experiment is not None:
            sql, params = sql + " AND experiment = ?", (*params, experiment)
        return [BonusRecord.from_row(r) for r in self._rows("bonuses", sql + " ORDER BY created_at, attempt", params)]

    def bonuses_paid(self, target: str, experiment: str | None = None) -> Decimal:
        """The bonuses (without their fees) the platform confirmed as paid."""
        return sum((p.amount for p in self.payments(target, experiment) if p.kind == "bonus"), Decimal("0.00"))

    def extensions(self, target: str, experiment: str | None = None) -> list[ExtensionRecord]:
        """Extensions recorded on `target` (of one experiment, or all), oldest first, open or done."""
        sql, params = "SELECT experiment, target, status, plan, created_at FROM extensions WHERE target = ?", (target,)
        if experiment is not None:
            sql, params = sql + " AND experiment = ?", (*params, experiment)
        return [
            ExtensionRecord(r["experiment"], r["target"], r["status"], r["created_at"], extension_hits(r["plan"]))
            for r in self._rows("extensions", sql + " ORDER BY created_at", params)
        ]

    # -- plans and codes ------------------------------------------------------------------------
    def last_plan(self, experiment: str, target: str, platform: str) -> PlanRecord | None:
        """The experiment's newest create plan on this target and platform (unreadable ones skipped)."""
        rows = self._rows(
            "plans",
            "SELECT parameters, created_at FROM plans WHERE experiment = ? AND target = ? ORDER BY created_at DESC",
            (experiment, target),
        )
        for row in rows:
            try:
                parameters = json.loads(row["parameters"])
            except ValueError:
                continue
            if isinstance(parameters, dict) and parameters.get("platform", "mturk") == platform:
                return PlanRecord(parameters, row["created_at"])
        return None

    def open_plan(self, experiment: str, target: str, fingerprint: str, *, finished_too: bool = False) -> OpenPlan | None:
        """The plan a create with these exact parameters would resume (`Ledger.open_plan`), read-only."""
        statuses = "('open', 'done')" if finished_too else "('open')"
        rows = self._rows(
            "plans",
            "SELECT plan_id, hit_type_id, status, finished_at FROM plans WHERE experiment = ? AND target = ?"
            f" AND fingerprint = ? AND status IN {statuses} ORDER BY status = 'open' DESC, created_at DESC LIMIT 1",
            (experiment, target, fingerprint),
        )
        if not rows:
            return None
        row = rows[0]
        posted = self._rows("hits", "SELECT idx, hit_id FROM hits WHERE plan_id = ? AND hit_id IS NOT NULL", (row["plan_id"],))
        finished_at = row["finished_at"] if row["status"] == "done" else None
        return OpenPlan(row["plan_id"], row["hit_type_id"], {r["idx"]: r["hit_id"] for r in posted}, finished_at)

    def completion_code(self, experiment: str) -> tuple[str, str] | None:
        """The experiment's kept completion code and how it was chosen (`CompletionCodes`), or None."""
        rows = self._rows(
            "prolific_completion_codes",
            "SELECT code, origin FROM prolific_completion_codes WHERE experiment = ?",
            (experiment,),
        )
        return (rows[0]["code"], rows[0]["origin"]) if rows else None

    # -- money committed and spent --------------------------------------------------------------
    def commitments(self, target: str, price: Callable[[str], Any] | None = None) -> list[Entry]:
        """Every commitment and payment on `target`, all experiments, each priced by its HIT's platform.

        Committed: posted HITs (every assignment), the HITs an unfinished plan will post (from the
        moment `create` writes the plan: the spending reservation counts them, `Ledger.spending`),
        assignments `extend` added (from the moment the extension is written), bonuses from the
        moment their call may have gone out ("sending" or "paid"). Spent: every payment. `price(platform)` gives a platform's `money.Pricing`
        (default: MTurk's for every row); rows whose HIT the ledger does not know are MTurk's.
        """
        price = price or (lambda _platform: money.MTURK_PRICING)
        platform_of = {hit.hit_id: hit.platform for hit in self.hits(None, None)}

        def pricing_of(hit_id: str | None) -> Any:
            return price(platform_of.get(hit_id or "", "mturk"))

        entries = []
        for hit in self.hits(None, target):
            pricing = price(hit.platform)
            committed = hit_commitment(hit.reward, hit.max_assignments, hit.masters, pricing)
            entries.append(Entry(hit.experiment, hit.posted_at or 0.0, committed=committed, currency=pricing.currency))
        for row in self._rows(
            "plans",
            "SELECT experiment, max_assignments, reward, masters, {platform} AS platform_of,"
            " (SELECT created_at FROM plans WHERE plans.plan_id = hits.plan_id) AS planned_at FROM hits"
            " WHERE hit_id IS NULL AND target = ? AND plan_id IN (SELECT plan_id FROM plans WHERE status = 'open')",
            (target,),
        ):
            pricing = price(row["platform_of"] or "mturk")
            committed = hit_commitment(Decimal(row["reward"]), row["max_assignments"], bool(row["masters"]), pricing)
            entries.append(Entry(row["experiment"], row["planned_at"] or 0.0, committed=committed, currency=pricing.currency))
        for extension in self.extensions(target):
            for hit in extension.hits:
                pricing = pricing_of(hit.hit_id)
                committed = added_commitment(hit.reward, hit.size_after, hit.added, hit.masters, pricing)
                entries.append(Entry(extension.experiment, extension.created_at, committed=committed, currency=pricing.currency))
        has_bonuses = self._exists("bonuses")
        for bonus in self.bonuses(target):
            entries.append(
                Entry(bonus.experiment, bonus.created_at, committed=bonus.amount + bonus.fee, currency=pricing_of(bonus.hit_id).currency)
            )
        for payment in self.payments(target):
            # A ledger without a bonuses table (an old one) knows bonuses only as payments.
            is_bonus = payment.kind in ("bonus", "bonus_fee")
            entries.append(
                Entry(
                    payment.experiment,
                    payment.created_at,
                    committed=payment.amount if is_bonus and not has_bonuses else ZERO,
                    spent=payment.amount,
                    currency=pricing_of(payment.hit_id).currency,
                )
            )
        return entries

    def money(
        self,
        experiment: str,
        target: str,
        day: date,
        zone: tzinfo,
        price: Callable[[str], Any] | None = None,
        pricing: Any = None,
    ) -> Money:
        """Committed and spent on `target`: by `experiment`, on `day` (in `zone`) and in total — exact
        Decimal sums in `pricing`'s currency (default: `price` of MTurk); other currencies apart."""
        price = price or (lambda _platform: money.MTURK_PRICING)
        return tally(self.commitments(target, price), experiment, target, day, zone, pricing or price("mturk"))

    def _exists(self, table: str) -> bool:
        with self._lock:
            conn = None
            try:
                conn = self._connection()
                return conn is not None and table in self._tables(conn)
            except (conn.errors if conn is not None else sqlite3.Error) as exc:
                raise LedgerUnavailable(
                    f"the ledger {self.where} cannot be read ({scrub(one_line(exc), self.url)}); repair or move the file"
                ) from None

    # -- the lab's view (`babe lab`, steps/lab.py) ------------------------------------------------
    def targets(self) -> list[str]:
        """Every target the ledger has posted HITs on, by name."""
        rows = self._rows("hits", "SELECT DISTINCT target FROM hits WHERE hit_id IS NOT NULL ORDER BY target")
        return [row["target"] for row in rows]

    def assignment_counts(self, target: str) -> dict[str, Counter]:
        """HIT id → how many of its assignments the ledger last saw in each status, on `target`."""
        counts: dict[str, Counter] = {}
        for row in self._rows(
            "assignments",
            "SELECT hit_id, status, COUNT(*) AS n FROM assignments WHERE target = ? GROUP BY hit_id, status",
            (target,),
        ):
            counts.setdefault(row["hit_id"], Counter())[row["status"]] = row["n"]
        return counts

    def plan_folders(self, target: str) -> dict[str, list[str]]:
        """Experiment → the folders its plans on `target` were made in (a ledger from before plans
        named their folder: none)."""
        if not self._has_column("plans", "folder"):
            return {}
        folders: dict[str, list[str]] = {}
        for row in self._rows(
            "plans", "SELECT DISTINCT experiment, folder FROM plans WHERE target = ? ORDER BY experiment, folder", (target,)
        ):
            if row["folder"]:
                folders.setdefault(row["experiment"], []).append(row["folder"])
        return folders

    def member_commitments(self, target: str, price: Callable[[str], Any] | None = None) -> list[tuple[str, str, Entry]]:
        """`commitments(target, price)` with who and where: (member, platform, entry) for every row.

        The same rows and the same money as `commitments` (so sums agree with `money` and the payment
        cap), each with the `member` its row records ('' from before rows named one) and the
        platform of its HIT ('mturk' when the ledger does not know the HIT).
        """
        price = price or (lambda _platform: money.MTURK_PRICING)
        member = {table: "member" if self._has_column(table, "member") else "''" for table in ("hits", "extensions", "bonuses", "payments")}
        platform_of: dict[str, str] = {}
        entries: list[tuple[str, str, Entry]] = []
        for row in self._rows(
            "hits",
            f"SELECT hit_id, experiment, reward, max_assignments, masters, posted_at, {{platform}} AS platform_of,"
            f" {member['hits']} AS member FROM hits WHERE target = ? AND hit_id IS NOT NULL ORDER BY posted_at, idx",
            (target,),
        ):
            platform_of[row["hit_id"]] = row["platform_of"]
            pricing = price(row["platform_of"])
            committed = hit_commitment(Decimal(row["reward"]), row["max_assignments"], bool(row["masters"]), pricing)
            entry = Entry(row["experiment"], row["posted_at"] or 0.0, committed=committed, currency=pricing.currency)
            entries.append((row["member"], row["platform_of"], entry))

        def of(hit_id: str | None) -> tuple[str, Any]:
            platform = platform_of.get(hit_id or "", "mturk")
            return platform, price(platform)

        for row in self._rows(
            "extensions",
            f"SELECT experiment, plan, created_at, {member['extensions']} AS member FROM extensions WHERE target = ?"
            " ORDER BY created_at",
            (target,),
        ):
            for hit in extension_hits(row["plan"]):
                platform, pricing = of(hit.hit_id)
                committed = added_commitment(hit.reward, hit.size_after, hit.added, hit.masters, pricing)
                entry = Entry(row["experiment"], row["created_at"], committed=committed, currency=pricing.currency)
                entries.append((row["member"], platform, entry))
        has_bonuses = self._exists("bonuses")
        for row in self._rows(
            "bonuses",
            f"SELECT experiment, hit_id, amount, fee, created_at, {member['bonuses']} AS member FROM bonuses"
            " WHERE target = ? ORDER BY created_at, attempt",
            (target,),
        ):
            platform, pricing = of(row["hit_id"])
            committed = Decimal(row["amount"]) + Decimal(row["fee"])
            entry = Entry(row["experiment"], row["created_at"], committed=committed, currency=pricing.currency)
            entries.append((row["member"], platform, entry))
        for row in self._rows(
            "payments",
            f"SELECT kind, experiment, hit_id, amount, created_at, {member['payments']} AS member FROM payments"
            " WHERE target = ? ORDER BY created_at, id",
            (target,),
        ):
            platform, pricing = of(row["hit_id"])
            amount = Decimal(row["amount"])
            is_bonus = row["kind"] in ("bonus", "bonus_fee")  # an old ledger without bonuses knows them only here
            entry = Entry(
                row["experiment"],
                row["created_at"],
                committed=amount if is_bonus and not has_bonuses else ZERO,
                spent=amount,
                currency=pricing.currency,
            )
            entries.append((row["member"], platform, entry))
        return entries

    def _has_column(self, table: str, column: str) -> bool:
        """Whether the ledger's `table` has `column` (an older ledger read as it is: never upgraded here)."""
        with self._lock:
            conn = None
            try:
                conn = self._connection()
                return conn is not None and table in self._tables(conn) and column in conn.columns(table)
            except (conn.errors if conn is not None else sqlite3.Error) as exc:
                raise LedgerUnavailable(
                    f"the ledger {self.where} cannot be read ({scrub(one_line(exc), self.url)}); repair or move the file"
                ) from None


def _hit_of(row: Any) -> HitRecord:
    """A HIT row read through `LedgerView` (its platform read as `platform_of`, which old ledgers lack as a column)."""
    return HitRecord.from_row(row, "platform_of")


class CompletionCodes(LedgerTable):
    """Each experiment's kept Prolific completion code (`babe_prolific.codes`), in the ledger's file.

    One row per experiment; the first writer wins, so two runs that each drew a code agree on the
    one kept.
    """

    SCHEMA = COMPLETION_CODES_SCHEMA

    def get(self, experiment: str) -> tuple[str, str] | None:
        """The kept code and its origin, or None."""
        return self._kept(experiment)

    def _kept(self, experiment: str) -> tuple[str, str] | None:
        rows = self._read("SELECT code, origin FROM prolific_completion_codes WHERE experiment = ?", (experiment,))
        return (rows[0]["code"], rows[0]["origin"]) if rows else None

    def keep(self, experiment: str, code: str, origin: str) -> tuple[str, str]:
        """Keep `code` unless another run kept one first; the kept one either way."""
        self._write(
            "INSERT INTO prolific_completion_codes (experiment, code, origin, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(experiment, code, origin, time.time())],
        )
        kept = self._kept(experiment)
        assert kept is not None  # just written, or written by the run that won
        return kept


class Ledger:
    """The ledger of one experiment folder (its SQLite file), or the lab's (PostgreSQL at `url`);
    one connection, shared by a step's threads. `member` is who the rows it writes name."""

    def __init__(self, folder: str | Path, *, url: str | None = None, member: str | None = None):
        self.folder = Path(folder)
        self.path = sqlite_path(self.folder)
        # No url given: BABE_LEDGER_URL (what settings would say); "" is the folder's file on purpose.
        self.url = (url if url is not None else url_from_environment()) or None
        self.engine = engine_of(self.url)
        self.where = mask(self.url) if self.url else str(self.path)
        self.member = member or os.environ.get("BABE_MEMBER", "").strip() or os_member()
        self._lock = threading.RLock()
        self._locked_out: LedgerUnavailable | None = None
        if not self.url:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()
        try:
            self.migrated = migrate(self._conn, self.member, self._write)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def of(cls, settings: Any) -> Ledger:
        """The ledger `settings` name (`ledger_url`: the lab's; empty: the folder's), writing as `member`."""
        return cls(settings.folder, url=getattr(settings, "ledger_url", None) or "", member=getattr(settings, "member", None))

    def _connect(self) -> Database:
        """A new connection to this ledger (LedgerTable keeps one of its own)."""
        try:
            return connect(self.folder, self.url, BUSY_TIMEOUT)
        except sqlite3.Error as exc:
            raise LedgerUnavailable.of(self.where, exc) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """One transaction: all of it is recorded or none of it (a failed write rolls back).

        Once a write has waited the whole BUSY_TIMEOUT for another program's lock, later writes of
        this run fail at once with the same error instead of each waiting again, one after another.
        """
        db = self._conn
        with self._lock:
            if self._locked_out is not None:
                raise self._locked_out
            try:
                db.begin()
            except db.errors as exc:
                error = LedgerUnavailable.of(self.where, exc, self.url)
                if db.busy(exc):
                    self._locked_out = error
                raise error from None
            try:
                yield db
                db.commit()
            except BaseException as exc:
                if db.in_transaction:
                    try:
                        db.rollback()
                    except db.errors:
                        pass  # SQLite already rolled back (a full disk does that itself)
                if isinstance(exc, db.errors) and db.unavailable(exc):
                    raise LedgerUnavailable.of(self.where, exc, self.url) from None
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- plans --------------------------------------------------------------------------------
    def open_plan(self, experiment: str, target: str, fingerprint: str, *, finished_too: bool = False) -> OpenPlan | None:
        """The plan a create with these exact parameters resumes, if any.

        The newest unfinished one; failing that, with `finished_too`, the newest finished one (so a
        create run again after it completed posts nothing: `create --again` passes False).
        """
        return self._plan_to_resume(self._conn, experiment, target, fingerprint, finished_too)

    def _plan_to_resume(self, conn, experiment: str, target: str, fingerprint: str, finished_too: bool) -> OpenPlan | None:
        with self._lock:
            statuses = "('open', 'done')" if finished_too else "('open')"
            row = conn.execute(
                "SELECT plan_id, hit_type_id, status, finished_at FROM plans WHERE experiment = ? AND target = ?"
                f" AND fingerprint = ? AND status IN {statuses} ORDER BY status = 'open' DESC, created_at DESC LIMIT 1",
                (experiment, target, fingerprint),
            ).fetchone()
            if row is None:
                return None
            posted = conn.execute(
                "SELECT idx, hit_id FROM hits WHERE plan_id = ? AND hit_id IS NOT NULL", (row["plan_id"],)
            ).fetchall()
        finished_at = row["finished_at"] if row["status"] == "done" else None
        return OpenPlan(row["plan_id"], row["hit_type_id"], {r["idx"]: r["hit_id"] for r in posted}, finished_at)

    def start_plan(
        self, plan, location: str, platform: str = "mturk", *, finished_too: bool = False, check: SpendingCheck | None = None
    ) -> str:
        """Write a new plan and the HITs it will post (on `platform`), before any call; returns its id.

        Two creates started at the same moment both find no plan to resume; the check is made
        again inside this write's exclusive transaction, and the later one adopts the plan the
        other just wrote — or finished meanwhile, with `finished_too` (`plan.resumed`,
        `plan.posted_before`) — so the HITs' tokens are shared and nothing posts twice. A new plan
        commits money: with `check`, it is written under the spending reservation (`spending`).
        """
        with self._write() as tx:
            rival = self._plan_to_resume(tx, plan.experiment, plan.target, plan.fingerprint(), finished_too)
            if rival is not None:
                plan.resume(rival)
                return rival.plan_id
            if check is not None:
                self._reserve(tx, check)
            return self._insert_plan(tx, plan, location, platform)

    def _insert_plan(self, tx: Database, plan, location: str, platform: str) -> str:
        """The plan's row and its HITs' rows, in the caller's transaction; returns the new plan's id."""
        now = time.time()
        plan_id = uuid4().hex[:16]
        plan.assign_id(plan_id)
        tx.execute(
            "INSERT INTO plans (plan_id, experiment, target, location, fingerprint, parameters, status,"
            " created_at, member, folder) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
            (
                plan_id,
                plan.experiment,
                plan.target,
                location,
                plan.fingerprint(),
                json.dumps(plan.parameters(), sort_keys=True, default=str),
                now,
                self.member,
                str(self.folder.resolve()),
            ),
        )
        tx.executemany(
            "INSERT INTO hits (plan_id, idx, experiment, target, location, max_assignments, reward, masters,"
            " token, annotation, platform, member) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    plan_id,
                    hit.index,
                    plan.experiment,
                    plan.target,
                    location,
                    hit.assignments,
                    money.fmt(plan.reward),
                    int(plan.uses_masters),
                    hit.token,
                    hit.annotation,
                    platform,
                    self.member,
                )
                for hit in plan.hits
            ],
        )
        return plan_id

    def set_hit_type(self, plan_id: str, hit_type_id: str) -> None:
        with self._write() as tx:
            tx.execute("UPDATE plans SET hit_type_id = ? WHERE plan_id = ?", (hit_type_id, plan_id))

    def record_posted(self, plan_id: str, index: int, hit) -> None:
        """A planned HIT now exists on the platform (`hit` is a `platform.base.HitInfo`)."""
        now = time.time()
        with self._write() as tx:
            tx.execute(
                "UPDATE hits SET hit_id = ?, hit_type_id = ?, hit_group_id = ?, expires_at = ?, status = ?,"
                " posted_at = ?, updated_at = ? WHERE plan_id = ? AND idx = ?",
                (
                    hit.hit_id,
                    hit.hit_type_id,
                    hit.hit_group_id,
                    _ts(hit.expires_at),
                    hit.status,
                    now,
                    now,
                    plan_id,
                    index,
                ),
            )

    def finish_plan(self, plan_id: str) -> None:
        with self._write() as tx:
            tx.execute(
                "UPDATE plans SET status = 'done', finished_at = ? WHERE plan_id = ? AND status = 'open'", (time.time(), plan_id)
            )

    # -- HITs ---------------------------------------------------------------------------------
    def hits(self, experiment: str, target: str, platform: str | None = None) -> list[HitRecord]:
        """The experiment's posted HITs on a target (on one platform, or all), oldest first."""
        sql = "SELECT * FROM hits WHERE experiment = ? AND target = ? AND hit_id IS NOT NULL"
        params: tuple = (experiment, target)
        if platform is not None:
            sql, params = sql + " AND platform = ?", (*params, platform)
        rows = self._read(sql + " ORDER BY posted_at, idx", params)
        return [HitRecord.from_row(r) for r in rows]

    def hit(self, hit_id: str) -> HitRecord | None:
        rows = self._read("SELECT * FROM hits WHERE hit_id = ?", (hit_id,))
        return HitRecord.from_row(rows[0]) if rows else None

    def update_hit(self, hit_id: str, *, status: str | None = None, expires_at: datetime | None = None) -> None:
        with self._write() as tx:
            tx.execute(
                "UPDATE hits SET status = COALESCE(?, status), expires_at = COALESCE(?, expires_at), updated_at = ?"
                " WHERE hit_id = ?",
                (status, _ts(expires_at), time.time(), hit_id),
            )

    # -- assignments and payments -------------------------------------------------------------
    def record_assignments(
        self,
        experiment: str,
        target: str,
        assignments: Iterable,
        price: Callable[[str], tuple[Decimal, Decimal] | None] | None = None,
    ) -> None:
        """Upsert assignments as seen now; an Approved one also records its reward and fee.

        `price(hit_id)` gives (reward, fee) for a HIT, so an assignment MTurk approved on its
        own (auto-approval) is counted as spent the first time it is seen.
        """
        now = time.time()
        with self._write() as tx:
            for a in assignments:
                tx.execute(
                    "INSERT INTO assignments (assignment_id, hit_id, experiment, target, worker_id, status,"
                    " accept_time, submit_time, seen_at, updated_at, member) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (assignment_id) DO UPDATE SET status = excluded.status,"
                    " updated_at = excluded.updated_at",
                    (
                        a.assignment_id,
                        a.hit_id,
                        experiment,
                        target,
                        a.worker_id,
                        a.status,
                        _ts(a.accept_time),
                        _ts(a.submit_time),
                        now,
                        now,
                        self.member,
                    ),
                )
                prices = price(a.hit_id) if price is not None and a.status == "Approved" else None
                if prices is not None:
                    self._pay(tx, experiment, target, a, *prices, now, self.member)

    def record_approved(self, experiment: str, target: str, assignment, reward: Decimal, fee: Decimal) -> None:
        """An assignment is approved (by us now, or found so): its status and what it cost."""
        approved = replace(assignment, status="Approved")
        self.record_assignments(experiment, target, [approved], lambda _hit: (reward, fee))

    @staticmethod
    def _pay(tx, experiment, target, a, reward: Decimal, fee: Decimal, now: float, member: str) -> None:
        tx.executemany(
            "INSERT INTO payments (kind, experiment, target, hit_id, assignment_id, worker_id, amount,"
            " created_at, member) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (kind, experiment, target, a.hit_id, a.assignment_id, a.worker_id, money.fmt(amount), now, member)
                for kind, amount in (("reward", reward), ("fee", fee))
            ],
        )

    def assignments(self, experiment: str, target: str) -> list[Any]:
        """Every assignment of the experiment seen so far, in the order workers accepted them."""
        return self._read(
            "SELECT * FROM assignments WHERE experiment = ? AND target = ?"
            " ORDER BY COALESCE(accept_time, submit_time, seen_at), assignment_id",
            (experiment, target),
        )

    def status_counts(self, hit_id: str) -> Counter:
        rows = self._read("SELECT status, COUNT(*) AS n FROM assignments WHERE hit_id = ? GROUP BY status", (hit_id,))
        return Counter({r["status"]: r["n"] for r in rows})

    def spent(self, hit_ids: Iterable[str]) -> Decimal:
        """Everything paid for these HITs: rewards, bonuses and their fees."""
        return paid_for(self._read, hit_ids)

    def assignment(self, assignment_id: str) -> Any | None:
        """The ledger's row for one assignment (any experiment), or None if never seen."""
        rows = self._read("SELECT * FROM assignments WHERE assignment_id = ?", (assignment_id,))
        return rows[0] if rows else None

    def payment_totals(self, experiment: str, target: str) -> dict[str, Decimal]:
        """What the experiment paid on a target, by kind: reward, fee, bonus, bonus_fee (zeros included)."""
        totals = {kind: Decimal("0.00") for kind in ("reward", "fee", "bonus", "bonus_fee")}
        for row in self._read(
            "SELECT kind, amount FROM payments WHERE experiment = ? AND target = ?", (experiment, target)
        ):
            totals[row["kind"]] += Decimal(row["amount"])
        return totals

    # -- bonuses: written before the call, confirmed after ------------------------------------
    def bonus_attempts(self, identity: str) -> list[BonusRecord]:
        """Every recorded payment of one bonus identity, first attempt first."""
        rows = self._read("SELECT * FROM bonuses WHERE identity = ? ORDER BY attempt", (identity,))
        return [BonusRecord.from_row(r) for r in rows]

    def bonuses(self, experiment: str, target: str, *, assignment_id: str | None = None) -> list[BonusRecord]:
        """The experiment's bonuses on a target (optionally of one assignment), oldest first."""
        sql = "SELECT * FROM bonuses WHERE experiment = ? AND target = ?"
        params: tuple = (experiment, target)
        if assignment_id is not None:
            sql += " AND assignment_id = ?"
            params += (assignment_id,)
        return [BonusRecord.from_row(r) for r in self._read(sql + " ORDER BY created_at, attempt", params)]

    def start_bonus(self, payment, *, experiment: str, target: str, location: str, sent_at: float) -> None:
        """Record a bonus as "sending" just before its first call (a no-op if it is recorded already).

        `payment` has `token`, `identity`, `attempt`, `hit_id`, `assignment_id`, `worker_id`,
        `amount`, `fee` and `reason` (a `steps.bonus.Payment`).
        """
        with self._write() as tx:
            self._insert_bonus(tx, payment, experiment=experiment, target=target, location=location, sent_at=sent_at)

    def _insert_bonus(self, tx: Database, payment, *, experiment: str, target: str, location: str, sent_at: float) -> None:
        """A "sending" bonus row in the caller's transaction (nothing if its token is recorded already)."""
        tx.execute(
            "INSERT INTO bonuses (token, identity, attempt, experiment, target, location, hit_id,"
            " assignment_id, worker_id, amount, fee, reason, status, sent_at, created_at, member)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                payment.token,
                payment.identity,
                payment.attempt,
                experiment,
                target,
                location,
                payment.hit_id,
                payment.assignment_id,
                payment.worker_id,
                money.fmt(payment.amount),
                money.fmt(payment.fee),
                payment.reason,
                sent_at,
                time.time(),
                self.member,
            ),
        )

    def bonus_resent(self, token: str, sent_at: float) -> None:
        """A "sending" bonus's token goes out again after MTurk may have forgotten it: a new 24 h window."""
        with self._write() as tx:
            tx.execute("UPDATE bonuses SET sent_at = ? WHERE token = ? AND status = 'sending'", (sent_at, token))

    def bonus_error(self, token: str, error: str) -> None:
        """The call failed: the bonus stays "sending" (its outcome is unknown) with the error kept."""
        with self._write() as tx:
            tx.execute("UPDATE bonuses SET error = ? WHERE token = ?", (error, token))

    def bonus_paid(self, token: str) -> None:
        """The platform confirmed the bonus: mark it paid and book the bonus and its fee as spent."""
        now = time.time()
        with self._write() as tx:
            row = tx.execute("SELECT * FROM bonuses WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise KeyError(f"no bonus with token {token} in the ledger")
            tx.execute("UPDATE bonuses SET status = 'paid', paid_at = ?, error = NULL WHERE token = ?", (now, token))
            tx.executemany(
                "INSERT INTO payments (kind, experiment, target, hit_id, assignment_id, worker_id, amount,"
                " token, reason, created_at, member) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (kind, row["experiment"], row["target"], row["hit_id"], row["assignment_id"], row["worker_id"],
                     row[column], token, row["reason"], now, self.member)
                    for kind, column in (("bonus", "amount"), ("bonus_fee", "fee"))
                ],
            )

    # -- spending reservations ------------------------------------------------------------------
    # A commitment (a plan's HITs, bonuses about to be sent, an extension's assignments) is written
    # in one transaction that also holds the lab-wide spending lock and, before writing, lets
    # `check` read the ledger as that transaction sees it — every commitment of every member and
    # machine that came first, none that comes after. `check` raising (a cap's `Veto`) rolls the
    # transaction back: nothing is written. The lock is held for the check and the writes only,
    # never across a prompt or a platform call.
    def _reserve(self, tx: Database, check: SpendingCheck) -> None:
        """Take the spending lock inside `tx`, then let `check` read the ledger through `tx`."""
        tx.lock_spending()
        view = LedgerView(self.folder, url=self.url or "")
        view._conn, view._lock = tx, self._lock  # this thread holds the lock already (an RLock)
        try:
            check(view)
        finally:
            view._conn = None  # the transaction is the caller's to end, never the view's

    @contextmanager
    def spending(self, check: SpendingCheck) -> Iterator[Database]:
        """One write under the spending reservation: `check(view)` first, then the caller's rows in `tx`."""
        with self._write() as tx:
            self._reserve(tx, check)
            yield tx

    def reserve_bonuses(
        self, payments: Iterable[Any], *, experiment: str, target: str, location: str, sent_at: float, check: SpendingCheck
    ) -> None:
        """Record every new bonus of a run as "sending" at once, after `check` let the whole run's total.

        Each is sent afterwards as usual (`start_bonus` then finds it recorded); one never sent
        because the run stopped is an unconfirmed bonus the next run settles with the platform
        (asked first, then sent with the same token), as for a call whose answer was lost.
        """
        with self.spending(check) as tx:
            for payment in payments:
                self._insert_bonus(tx, payment, experiment=experiment, target=target, location=location, sent_at=sent_at)

    def start_extension(
        self,
        extension_id: str,
        experiment: str,
        target: str,
        location: str,
        fingerprint: str,
        plan: Callable[[], str],
        *,
        new_plan: Any = None,
        platform: str = "mturk",
        check: SpendingCheck | None = None,
    ) -> None:
        """Write an extension (`ExtensionRecords` reads it) and, for `--split`, the plan of its new HITs,
        in one transaction — under the spending reservation when `check` is given. `plan()` gives the
        extension's JSON once the new HITs' plan has its id."""
        with self._write() as tx:
            if check is not None:
                self._reserve(tx, check)
            if new_plan is not None:
                self._insert_plan(tx, new_plan, location, platform)
            tx.execute(
                "INSERT INTO extensions (extension_id, experiment, target, location, fingerprint, plan, status, created_at,"
                " member) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                (extension_id, experiment, target, location, fingerprint, plan(), time.time(), self.member),
            )

    # -- rejections ---------------------------------------------------------------------------
    def record_rejected(self, experiment: str, target: str, assignment, reason: str) -> None:
        """An assignment is rejected (by us now, or found so): its status, and the reason the worker read."""
        self.record_assignments(experiment, target, [replace(assignment, status="Rejected")])
        with self._write() as tx:
            tx.execute(
                "INSERT INTO rejections (assignment_id, experiment, target, hit_id, worker_id, reason,"
                " rejected_at, member) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (assignment.assignment_id, experiment, target, assignment.hit_id, assignment.worker_id, reason,
                 time.time(), self.member),
            )

    def rejection(self, assignment_id: str) -> Any | None:
        rows = self._read("SELECT * FROM rejections WHERE assignment_id = ?", (assignment_id,))
        return rows[0] if rows else None


# -- exclusion and extension records --------------------------------------------------------------
# Tables written by the keeping-out machinery (`babe_tasks.exclusion`, the platforms' own ways:
# MTurk's qualification types, Prolific's participant group) and by `steps.extend`. They live
# here so that this module is the only code that opens the ledger file; each is a `LedgerTable`
# (a connection of its own, the same failure rule), and their SQL is unchanged, so a ledger written
# by an earlier babe-tasks reads the same.



class ExclusionRecords(LedgerTable):
    """What keeping participants out has done, so it is done once: the experiments this ledger
    posted (what "earlier experiments" means), and the platform's markers — one per experiment,
    kind and place (MTurk: a qualification type; the column keeps its first name) — with the
    participants granted each, and the value granted (the platform's meaning)."""

    SCHEMA = EXCLUSION_SCHEMA

    # -- markers -------------------------------------------------------------------------------
    def marker(self, experiment: str, target: str, kind: str) -> Any | None:
        """The row of an experiment's marker of this kind (`location`, `qualification_type_id`), or None."""
        rows = self._read(
            "SELECT * FROM exclusion_types WHERE experiment = ? AND target = ? AND kind = ?", (experiment, target, kind)
        )
        return rows[0] if rows else None

    def remember_marker(self, experiment: str, target: str, kind: str, location: str, marker_id: str) -> None:
        self._write(
            "INSERT INTO exclusion_types (experiment, target, kind, location, qualification_type_id, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (experiment, target, kind) DO UPDATE SET"
            " location = excluded.location, qualification_type_id = excluded.qualification_type_id,"
            " recorded_at = excluded.recorded_at",
            [(experiment, target, kind, location, marker_id, time.time())],
        )

    # -- grants --------------------------------------------------------------------------------
    def granted(self, marker_id: str) -> dict[str, int]:
        """Participant → value of everyone granted the marker."""
        rows = self._read("SELECT worker_id, value FROM exclusion_grants WHERE qualification_type_id = ?", (marker_id,))
        return {r["worker_id"]: r["value"] for r in rows}

    def record_grants(self, marker_id: str, grants: Iterable[tuple[str, int]]) -> None:
        now = time.time()
        self._write(
            "INSERT INTO exclusion_grants (qualification_type_id, worker_id, value, granted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (qualification_type_id, worker_id) DO UPDATE SET value = excluded.value",
            [(marker_id, worker, value, now) for worker, value in grants],
        )

    # -- experiments of this ledger ------------------------------------------------------------
    def remember_experiment(self, experiment: str, target: str) -> None:
        self._write(
            "INSERT INTO exclusion_experiments (experiment, target, first_seen) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(experiment, target, time.time())],
        )

    def experiments(self, target: str) -> list[str]:
        """Every experiment this ledger posted on the target, oldest first."""
        rows = self._read(
            "SELECT experiment FROM exclusion_experiments WHERE target = ? ORDER BY first_seen, experiment", (target,)
        )
        return [r["experiment"] for r in rows]




class ParticipantGroupRecords(LedgerTable):
    """The ids of the participant groups a platform keeps people out with (Prolific's `exclusion:
    group`), per place and name, so later runs only check the kept group still exists."""

    SCHEMA = PARTICIPANT_GROUPS_SCHEMA

    def get(self, location: str, name: str) -> tuple[str, str] | None:
        """(group id, workspace id) kept for the group of this name at this place."""
        rows = self._read(
            "SELECT group_id, workspace_id FROM prolific_participant_groups WHERE location = ? AND name = ?", (location, name)
        )
        return (rows[0]["group_id"], rows[0]["workspace_id"]) if rows else None

    def keep(self, location: str, name: str, workspace_id: str, group_id: str) -> None:
        self._write(
            "INSERT INTO prolific_participant_groups (location, name, workspace_id, group_id, recorded_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (location, name) DO UPDATE SET workspace_id = excluded.workspace_id,"
            " group_id = excluded.group_id, recorded_at = excluded.recorded_at",
            [(location, name, workspace_id, group_id, time.time())],
        )




class ExtensionRecords(LedgerTable):
    """Extensions (`steps.extend`) written before their first call, so a re-run resumes instead of
    extending twice; `plan` is the extension's own JSON, whose `hits` carry `hit_id` and `add`."""

    SCHEMA = EXTENSIONS_SCHEMA

    def open_extension(self, experiment: str, target: str, fingerprint: str) -> tuple[str, str] | None:
        """(extension id, plan JSON) of the newest unfinished extension with this fingerprint."""
        rows = self._read(
            "SELECT extension_id, plan FROM extensions WHERE experiment = ? AND target = ? AND fingerprint = ?"
            " AND status = 'open' ORDER BY created_at DESC LIMIT 1",
            (experiment, target, fingerprint),
        )
        return (rows[0]["extension_id"], rows[0]["plan"]) if rows else None

    def added(self, experiment: str, target: str) -> dict[str, int]:
        """Assignments finished extensions added, per HIT (the ledger keeps each HIT's first size)."""
        rows = self._read(
            "SELECT plan FROM extensions WHERE experiment = ? AND target = ? AND status = 'done'", (experiment, target)
        )
        added: dict[str, int] = {}
        for row in rows:
            for hit in json.loads(row["plan"])["hits"]:
                added[hit["hit_id"]] = added.get(hit["hit_id"], 0) + hit["add"]
        return added

    def finish(self, extension_id: str) -> None:
        self._write(
            "UPDATE extensions SET status = 'done', finished_at = ? WHERE extension_id = ?", [(time.time(), extension_id)]
        )
