"""The state file every local stand-in for a recruiting platform keeps (the local MTurk, the local
Prolific): one SQLite file shared by every thread and process that opens it.

Both services need the same guarantees, so they share one implementation rather than two copies
that drift: each request runs in one transaction (`BEGIN IMMEDIATE` for writes) so balances stay
exact to the cent when payments race; threads of one process hand the write lock to each other
directly (SQLite's busy handler sleeps, which caps 16 writers at ~430 req/s); WAL lets readers run
beside one writer across processes; and the clock is the machine's clock plus an offset kept in
the file, so advancing it moves time for every process at once. A service adds its tables, the
rows a fresh file starts with, and its own account rules (e.g. the local MTurk's and the local
Prolific's `store` modules).

Each file also keeps the token its server's private routes (`/_local/...`: the clock, simulated
workers, faults) ask for, drawn once when the file is made: whoever can read the file may drive the
service, a web page in a browser on the same machine may not (docs/localturk.md, "Private routes").
"""

from __future__ import annotations

import math
import os
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from babe_tasks.sqlitefile import open_shared

#: Seconds a write waits for another process (a second server, a test's client) holding the file.
BUSY_TIMEOUT = 60.0

#: One lock per state file per process, whichever service opened it.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"

#: The meta row holding the private routes' token.
TOKEN_KEY = "local_token"

#: How far ahead of the machine's clock a service's clock may go: ten years reaches every
#: deadline MTurk or Prolific allows (a year at most) many times over, while an offset past year
#: 9999 would make every later date unreadable and the state unusable until it is deleted.
MAX_CLOCK_OFFSET = 10 * 365 * 86400


class StateFile(ABC):
    """Connections (one per thread), transactions, the `meta` table and the shared clock.

    A subclass names its default file (`default_path`), its tables (`schemas`), the meta rows a
    fresh file starts with (`initial_meta`), how it reads its balance (`balance`: dollars as a
    Decimal, or minor units) and how its clock is called in errors (`clock_name`).
    """

    #: Used in "… only moves forward".
    clock_name = "the local clock"

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else self.default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        with _WRITE_LOCKS_GUARD:
            self._write_lock = _WRITE_LOCKS.setdefault(str(self.path.resolve()), threading.Lock())
        self._ensure_schema()

    # -- what a service declares -------------------------------------------------------------
    @classmethod
    @abstractmethod
    def default_path(cls) -> Path:
        """Where the state lives when no path is given (each service has its own variable)."""

    def schemas(self) -> Iterable[str]:
        """SQL scripts (`CREATE … IF NOT EXISTS`) run when a file opens, after the meta table."""
        return ()

    def initial_meta(self) -> Iterable[tuple[str, str]]:
        """(key, value) rows a fresh file starts with; existing rows are kept."""
        return (("clock_offset", "0"),)

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = open_shared(self.path, BUSY_TIMEOUT)
        conn.execute("PRAGMA foreign_keys = OFF")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use, closed by `close`)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection; a later use opens a fresh one."""
        with self._connections_lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    def _ensure_schema(self) -> None:
        with self.write() as tx:
            for sql in [META_SCHEMA, *self.schemas()]:
                for statement in filter(None, (s.strip() for s in sql.split(";"))):
                    tx.execute(statement)
            tx.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", list(self.initial_meta()))
            tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (TOKEN_KEY, secrets.token_urlsafe(24)))

    def token(self) -> str:
        """The private routes' token: drawn when the file was made, the same for every process."""
        with self.read() as tx:
            return self.get_meta(tx, TOKEN_KEY) or ""

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken at once (`BEGIN IMMEDIATE`) so two writers never interleave."""
        conn = self.conn
        with self._write_lock:  # other processes still queue on SQLite's own lock
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

    # -- meta and clock ----------------------------------------------------------------------
    @staticmethod
    def get_meta(tx: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
        row = tx.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_meta(tx: sqlite3.Connection, key: str, value: str) -> None:
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @classmethod
    def offset(cls, tx: sqlite3.Connection) -> float:
        """How far the shared clock is ahead of the machine's, in seconds."""
        return float(cls.get_meta(tx, "clock_offset") or 0)

    @classmethod
    def now(cls, tx: sqlite3.Connection) -> float:
        """The service's time: the machine's clock plus the offset every process shares."""
        return time.time() + cls.offset(tx)

    def clock_offset(self) -> float:
        with self.read() as tx:
            return self.offset(tx)

    def clock(self) -> dict:
        """`{"now": epoch seconds, "offset": seconds}`, read in one snapshot."""
        with self.read() as tx:
            return {"now": self.now(tx), "offset": self.offset(tx)}

    def advance_clock(self, seconds: float) -> float:
        """Move time forward for everyone sharing this state; returns the new offset.

        Refused (ValueError, nothing moved) backward, not a finite number, or beyond
        `MAX_CLOCK_OFFSET` ahead of the machine's clock in all.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ValueError(f"{self.clock_name} moves by a number of seconds, not {seconds!r}")
        if seconds < 0:
            raise ValueError(f"{self.clock_name} only moves forward")
        with self.write() as tx:
            offset = self.offset(tx) + float(seconds)
            if offset > MAX_CLOCK_OFFSET:
                raise ValueError(
                    f"{self.clock_name} may run at most {MAX_CLOCK_OFFSET // 86400} days (10 years) ahead of this machine's clock; "
                    f"this advance would put it {offset / 86400:.0f} days ahead: advance by less"
                )
            self.set_meta(tx, "clock_offset", repr(offset))
        return offset

    # -- the account's balance ---------------------------------------------------------------
    @classmethod
    @abstractmethod
    def balance(cls, tx: sqlite3.Connection):
        """The balance (meta key `balance`) in the service's own money type."""

    @classmethod
    def charge(cls, tx: sqlite3.Connection, amount):
        """Take `amount` (a negative one gives back) inside the caller's transaction; returns the
        new balance. Inside the transaction, so racing payments can never both see the old one."""
        balance = cls.balance(tx) - amount
        cls.set_meta(tx, "balance", str(balance))
        return balance


def read_token(path: str | os.PathLike) -> str | None:
    """The private routes' token of the state file at `path`, read without creating or changing
    anything (None when there is no such file or it has no token yet): for a client of a running
    server that shares the server's state file."""
    file = Path(path).expanduser()
    if not file.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (TOKEN_KEY,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None
