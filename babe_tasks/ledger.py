"""The lab's record of an experiment: `<experiment folder>/.babe/ledger.sqlite`.

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
writer, and every write is one short `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Self
from uuid import uuid4

from . import money
from .errors import BabeError, one_line
from .sqlitefile import open_shared

SCHEMA_VERSION = 3
#: Seconds a write waits for another process holding the ledger (a second babe run) before giving up.
BUSY_TIMEOUT = 60.0
#: HIT statuses after which the platform has nothing more to say about a HIT.
GONE = ("Disposed", "NotFound")

SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    plan_id      TEXT PRIMARY KEY,
    experiment   TEXT NOT NULL,
    target       TEXT NOT NULL,
    location     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    parameters   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'done')),
    hit_type_id  TEXT,
    created_at   REAL NOT NULL,
    finished_at  REAL
);
CREATE INDEX IF NOT EXISTS plans_by_fingerprint ON plans (experiment, target, fingerprint, status);
CREATE TABLE IF NOT EXISTS hits (
    plan_id          TEXT NOT NULL REFERENCES plans (plan_id),
    idx              INTEGER NOT NULL,
    hit_id           TEXT UNIQUE,
    experiment       TEXT NOT NULL,
    target           TEXT NOT NULL,
    location         TEXT NOT NULL,
    hit_type_id      TEXT,
    hit_group_id     TEXT,
    max_assignments  INTEGER NOT NULL,
    reward           TEXT NOT NULL,
    masters          INTEGER NOT NULL DEFAULT 0,
    token            TEXT NOT NULL,
    annotation       TEXT NOT NULL,
    expires_at       REAL,
    status           TEXT NOT NULL DEFAULT 'Planned',
    posted_at        REAL,
    updated_at       REAL,
    platform         TEXT NOT NULL DEFAULT 'mturk',
    PRIMARY KEY (plan_id, idx)
);
CREATE INDEX IF NOT EXISTS hits_by_experiment ON hits (experiment, target);
CREATE TABLE IF NOT EXISTS assignments (
    assignment_id  TEXT PRIMARY KEY,
    hit_id         TEXT NOT NULL,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    status         TEXT NOT NULL,
    accept_time    REAL,
    submit_time    REAL,
    seen_at        REAL NOT NULL,
    updated_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS assignments_by_experiment ON assignments (experiment, target);
CREATE INDEX IF NOT EXISTS assignments_by_hit ON assignments (hit_id);
CREATE TABLE IF NOT EXISTS payments (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('reward', 'fee', 'bonus', 'bonus_fee')),
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    hit_id         TEXT,
    assignment_id  TEXT NOT NULL,
    worker_id      TEXT,
    amount         TEXT NOT NULL,
    token          TEXT NOT NULL DEFAULT '',
    reason         TEXT,
    created_at     REAL NOT NULL,
    UNIQUE (kind, assignment_id, token)
);
CREATE INDEX IF NOT EXISTS payments_by_experiment ON payments (experiment, target);
CREATE TABLE IF NOT EXISTS bonuses (
    token          TEXT PRIMARY KEY,
    identity       TEXT NOT NULL,
    attempt        INTEGER NOT NULL,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    location       TEXT NOT NULL,
    hit_id         TEXT,
    assignment_id  TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    amount         TEXT NOT NULL,
    fee            TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('sending', 'paid')),
    sent_at        REAL NOT NULL,
    paid_at        REAL,
    error          TEXT,
    created_at     REAL NOT NULL,
    UNIQUE (identity, attempt)
);
CREATE INDEX IF NOT EXISTS bonuses_by_experiment ON bonuses (experiment, target);
CREATE INDEX IF NOT EXISTS bonuses_by_assignment ON bonuses (assignment_id);
CREATE TABLE IF NOT EXISTS rejections (
    assignment_id  TEXT PRIMARY KEY,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    hit_id         TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    rejected_at    REAL NOT NULL
);
"""


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

    @property
    def gone(self) -> bool:
        return self.status in GONE

    @property
    def fee(self) -> Decimal:
        """MTurk's fee per approved assignment of this HIT (steps use their platform's `pricing`)."""
        return money.assignment_fee(self.reward, self.max_assignments, self.masters)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> HitRecord:
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
            platform=row["platform"],
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

    @property
    def paid(self) -> bool:
        return self.status == "paid"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> BonusRecord:
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
        )


class LedgerUnavailable(BabeError):
    """The ledger file cannot be written: another program holds it, the disk is full, it is read-only.

    A write either happens whole or not at all, so the platform stays ahead of the ledger at worst;
    that is the state every re-run already handles (tokens, annotations, "already approved"). So
    this is exit 1, "re-run to finish", with the file and the fix named instead of an internal error.
    """

    exit_code = 1

    @classmethod
    def of(cls, path: Path, exc: sqlite3.Error) -> LedgerUnavailable:
        text = one_line(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            fix = "another program (a second babe run?) holds it: let it finish, then run the same command again"
        elif "full" in lowered or "i/o" in lowered:
            fix = "the disk is full or failing: free space, then run the same command again"
        elif "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
            fix = "make the .babe folder and its files writable, then run the same command again"
        else:
            fix = "repair or move the file, then run the same command again"
        return cls(f"the ledger {path} cannot be written ({text}); {fix}")


class LedgerTable:
    """Tables another module keeps in the ledger's SQLite file, over a connection of its own.

    `exclusion` (qualification types and grants) and `steps.extend` (extensions written before
    their first call) own their tables; they share the ledger's file, busy timeout and failure
    rule: a write that cannot happen (locked, disk full, read-only) is `LedgerUnavailable`, whole
    or not at all, never an internal error. Subclasses set `SCHEMA` and write through `_write`.
    """

    SCHEMA = ""

    def __init__(self, ledger: Ledger):
        self.path = ledger.path
        self._lock = threading.Lock()
        try:
            self._conn = open_shared(self.path, BUSY_TIMEOUT)
            with self._lock:
                self._conn.executescript(self.SCHEMA)
        except sqlite3.Error as exc:
            raise LedgerUnavailable.of(self.path, exc) from None

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
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(sql, rows)
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                raise LedgerUnavailable.of(self.path, exc) from None

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()


class Ledger:
    """The ledger of one experiment folder; one connection, shared by a step's threads."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / ".babe" / "ledger.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._locked_out: LedgerUnavailable | None = None
        try:
            self._conn = open_shared(self.path, BUSY_TIMEOUT)
        except sqlite3.Error as exc:
            raise LedgerUnavailable.of(self.path, exc) from None
        with self._write() as tx:
            if tx.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                for statement in filter(None, (s.strip() for s in SCHEMA.split(";"))):
                    tx.execute(statement)
                columns = {row[1] for row in tx.execute("PRAGMA table_info(hits)")}
                if "platform" not in columns:  # a version-2 ledger: every HIT in it was MTurk's
                    tx.execute("ALTER TABLE hits ADD COLUMN platform TEXT NOT NULL DEFAULT 'mturk'")
                tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is recorded or none of it (a failed write rolls back).

        Once a write has waited the whole BUSY_TIMEOUT for another program's lock, later writes of
        this run fail at once with the same error instead of each waiting again, one after another.
        """
        with self._lock:
            if self._locked_out is not None:
                raise self._locked_out
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                error = LedgerUnavailable.of(self.path, exc)
                if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                    self._locked_out = error
                raise error from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite already rolled back (a full disk does that itself)
                if isinstance(exc, sqlite3.OperationalError):
                    raise LedgerUnavailable.of(self.path, exc) from None
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
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

    def start_plan(self, plan, location: str, platform: str = "mturk", *, finished_too: bool = False) -> str:
        """Write a new plan and the HITs it will post (on `platform`), before any call; returns its id.

        Two creates started at the same moment both find no plan to resume; the check is made
        again inside this write's exclusive transaction, and the later one adopts the plan the
        other just wrote — or finished meanwhile, with `finished_too` (`plan.resumed`,
        `plan.posted_before`) — so the HITs' tokens are shared and nothing posts twice.
        """
        now = time.time()
        with self._write() as tx:
            rival = self._plan_to_resume(tx, plan.experiment, plan.target, plan.fingerprint(), finished_too)
            if rival is not None:
                plan.resume(rival)
                return rival.plan_id
            plan_id = uuid4().hex[:16]
            plan.assign_id(plan_id)
            tx.execute(
                "INSERT INTO plans (plan_id, experiment, target, location, fingerprint, parameters, status,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?)",
                (
                    plan_id,
                    plan.experiment,
                    plan.target,
                    location,
                    plan.fingerprint(),
                    json.dumps(plan.parameters(), sort_keys=True, default=str),
                    now,
                ),
            )
            tx.executemany(
                "INSERT INTO hits (plan_id, idx, experiment, target, location, max_assignments, reward, masters,"
                " token, annotation, platform) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    " accept_time, submit_time, seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
                    ),
                )
                prices = price(a.hit_id) if price is not None and a.status == "Approved" else None
                if prices is not None:
                    self._pay(tx, experiment, target, a, *prices, now)

    def record_approved(self, experiment: str, target: str, assignment, reward: Decimal, fee: Decimal) -> None:
        """An assignment is approved (by us now, or found so): its status and what it cost."""
        approved = replace(assignment, status="Approved")
        self.record_assignments(experiment, target, [approved], lambda _hit: (reward, fee))

    @staticmethod
    def _pay(tx, experiment, target, a, reward: Decimal, fee: Decimal, now: float) -> None:
        tx.executemany(
            "INSERT OR IGNORE INTO payments (kind, experiment, target, hit_id, assignment_id, worker_id, amount,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (kind, experiment, target, a.hit_id, a.assignment_id, a.worker_id, money.fmt(amount), now)
                for kind, amount in (("reward", reward), ("fee", fee))
            ],
        )

    def assignments(self, experiment: str, target: str) -> list[sqlite3.Row]:
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
        ids = list(hit_ids)
        total = Decimal("0.00")
        for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._read(f"SELECT amount FROM payments WHERE hit_id IN ({marks})", tuple(chunk)):
                total += Decimal(row["amount"])
        return total

    def assignment(self, assignment_id: str) -> sqlite3.Row | None:
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
            tx.execute(
                "INSERT OR IGNORE INTO bonuses (token, identity, attempt, experiment, target, location, hit_id,"
                " assignment_id, worker_id, amount, fee, reason, status, sent_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?)",
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
                "INSERT OR IGNORE INTO payments (kind, experiment, target, hit_id, assignment_id, worker_id, amount,"
                " token, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (kind, row["experiment"], row["target"], row["hit_id"], row["assignment_id"], row["worker_id"],
                     row[column], token, row["reason"], now)
                    for kind, column in (("bonus", "amount"), ("bonus_fee", "fee"))
                ],
            )

    # -- rejections ---------------------------------------------------------------------------
    def record_rejected(self, experiment: str, target: str, assignment, reason: str) -> None:
        """An assignment is rejected (by us now, or found so): its status, and the reason the worker read."""
        self.record_assignments(experiment, target, [replace(assignment, status="Rejected")])
        with self._write() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO rejections (assignment_id, experiment, target, hit_id, worker_id, reason,"
                " rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment.assignment_id, experiment, target, assignment.hit_id, assignment.worker_id, reason,
                 time.time()),
            )

    def rejection(self, assignment_id: str) -> sqlite3.Row | None:
        rows = self._read("SELECT * FROM rejections WHERE assignment_id = ?", (assignment_id,))
        return rows[0] if rows else None
