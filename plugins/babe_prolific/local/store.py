"""The local Prolific's state: one SQLite file shared by every thread and process that opens it.

Like a Prolific account, the state outlives one command: `babe` runs, a `babe-prolific serve`
server, simulated participants and tests all see one account. Every request runs in one
transaction (`BEGIN IMMEDIATE` for writes) so balances stay exact when approvals, publishes and
bonus payments race. The clock is the machine's clock plus an offset stored here, so advancing it
(`advance_clock`) moves time for every process at once — that is how a test reaches the 21-day
auto-approval or a participant's time-out without waiting.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from decimal import Decimal, InvalidOperation
from pathlib import Path

#: One lock per state file per process: threads hand the write lock to each other directly
#: instead of sleeping in SQLite's busy handler.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    status TEXT NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0,
    funded_places INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    study_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    deadline REAL NOT NULL,
    completed_at REAL,
    study_code TEXT,
    reward INTEGER NOT NULL,
    rejection_category TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_study ON submissions (study_id, status);
CREATE INDEX IF NOT EXISTS submissions_by_participant ON submissions (participant_id);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions (status);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    approval_rate REAL NOT NULL DEFAULT 100
);
CREATE TABLE IF NOT EXISTS bonus_setups (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    study_id TEXT NOT NULL,
    rows TEXT NOT NULL,
    amount INTEGER NOT NULL,
    fees INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    created_at REAL NOT NULL,
    pay_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bonus_payments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    setup_id TEXT NOT NULL,
    study_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    fees INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    paid_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (route, status)
);
"""

#: The account a fresh state starts with (the contract's defaults); `configure_account` changes it.
DEFAULT_ACCOUNT = {
    "currency_code": "USD",
    "balance": "1000000",  # minor units: 10000.00 USD
    "fees_percentage": "33.33",
    "vat_percentage": "0",
    "minimum_reward_per_hour": "800",  # minor units per hour: $8.00 (Prolific's USD minimum)
    "user_id": "5f0c0ffee0000000000000a1",
    "workspace_id": "5f0c0ffee0000000000000b2",
    "clock_offset": "0",
}

#: Settings that may be changed after creation, with the parser that checks each.
ACCOUNT_FIELDS = ("currency_code", "balance", "fees_percentage", "vat_percentage", "minimum_reward_per_hour")
CURRENCIES = {"USD": "$", "GBP": "£", "EUR": "€"}


def default_state_path() -> Path:
    """`BABE_PROLIFIC_STATE`, else `prolific.sqlite` in the current directory's `.babe/`."""
    env = os.environ.get("BABE_PROLIFIC_STATE")
    if env:
        return Path(env).expanduser()
    return Path(".babe") / "prolific.sqlite"


class Store:
    """Connections (one per thread), transactions, the clock and the account's settings."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_state_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._guard = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        with _WRITE_LOCKS_GUARD:
            self._write_lock = _WRITE_LOCKS.setdefault(str(self.path.resolve()), threading.Lock())
        self._ensure_schema()

    # -- connections ---------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._guard:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._guard:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    def _ensure_schema(self) -> None:
        conn = self.conn
        for attempt in range(50):  # WAL: readers beside one writer, across processes
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError:
                time.sleep(0.05 * (attempt + 1))
        with self.write() as tx:
            for statement in filter(None, (s.strip() for s in SCHEMA.split(";"))):
                tx.execute(statement)
            tx.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", DEFAULT_ACCOUNT.items())

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once so two writers never interleave."""
        conn = self.conn
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot (a whole list page, a whole cost)."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- meta, account, clock --------------------------------------------------------------------
    @staticmethod
    def meta(tx: sqlite3.Connection, key: str) -> str:
        row = tx.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else DEFAULT_ACCOUNT[key]

    @staticmethod
    def set_meta(tx: sqlite3.Connection, key: str, value: str) -> None:
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @classmethod
    def now(cls, tx: sqlite3.Connection) -> float:
        """The local Prolific's time: the machine's clock plus the shared offset."""
        return time.time() + float(cls.meta(tx, "clock_offset"))

    @classmethod
    def balance(cls, tx: sqlite3.Connection) -> int:
        """The available balance in minor units."""
        return int(cls.meta(tx, "balance"))

    @classmethod
    def charge(cls, tx: sqlite3.Connection, cents: int) -> int:
        """Take (or with a negative amount give back) money inside the caller's transaction."""
        balance = cls.balance(tx) - cents
        cls.set_meta(tx, "balance", str(balance))
        return balance

    @classmethod
    def percentage(cls, tx: sqlite3.Connection, key: str) -> Decimal:
        return Decimal(cls.meta(tx, key))

    @classmethod
    def token_refused(cls, tx: sqlite3.Connection, token: str) -> bool:
        """True for the token configured as refused (only its hash is stored, never a token)."""
        digest = tx.execute("SELECT value FROM meta WHERE key = 'refused_token_sha256'").fetchone()
        return bool(digest) and hashlib.sha256(token.encode()).hexdigest() == digest[0]

    def advance_clock(self, seconds: float) -> float:
        """Move time forward for everyone sharing this state; returns the new offset."""
        if seconds < 0:
            raise ValueError("the local Prolific's clock only moves forward")
        with self.write() as tx:
            offset = float(self.meta(tx, "clock_offset")) + float(seconds)
            self.set_meta(tx, "clock_offset", repr(offset))
        return offset

    def clock(self) -> dict:
        """`{"now": epoch seconds, "offset": seconds}`."""
        with self.read() as tx:
            return {"now": self.now(tx), "offset": float(self.meta(tx, "clock_offset"))}

    def configure(self, *, refused_token: str | None = None, **settings) -> dict:
        """Change the account (currency_code, balance in minor units, fees_percentage,
        vat_percentage, minimum_reward_per_hour) and/or the token the server refuses."""
        unknown = set(settings) - set(ACCOUNT_FIELDS)
        if unknown:
            raise ValueError(f"unknown account setting(s) {', '.join(sorted(unknown))}; known: {', '.join(ACCOUNT_FIELDS)}")
        checked = {key: _check_setting(key, value) for key, value in settings.items() if value is not None}
        with self.write() as tx:
            for key, value in checked.items():
                self.set_meta(tx, key, value)
            if refused_token:
                self.set_meta(tx, "refused_token_sha256", hashlib.sha256(refused_token.encode()).hexdigest())
        return self.account()

    def account(self) -> dict:
        with self.read() as tx:
            return {key: self.meta(tx, key) for key in ACCOUNT_FIELDS}


def _check_setting(key: str, value) -> str:
    if key == "currency_code":
        if value not in CURRENCIES:
            raise ValueError(f"currency_code {value!r} is not one of {', '.join(CURRENCIES)}")
        return value
    if key in ("balance", "minimum_reward_per_hour"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number of minor units (cents/pence), 0 or more")
        return str(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{key} {value!r} is not a number") from None
    if not (0 <= number <= 100):
        raise ValueError(f"{key} must be between 0 and 100")
    return str(number)


def iso(timestamp: float | None) -> str | None:
    """Epoch seconds as the API's ISO 8601 UTC form (`2026-11-28T18:25:30.123000Z`)."""
    if timestamp is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """A 24-hex-digit id, the shape of Prolific's (MongoDB ObjectId) ids."""
    import secrets

    return secrets.token_hex(12)
