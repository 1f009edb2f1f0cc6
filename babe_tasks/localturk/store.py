"""The local MTurk's state: one SQLite file shared by every thread and process that opens it.

Like an MTurk account, the state belongs to the person, not to one experiment, so separate
command-line runs, a `babe local.serve` server and tests all see one MTurk. Each request runs in
one transaction (`BEGIN IMMEDIATE` for writes), which is what makes concurrent approvals exact to
the cent. The clock is the machine's clock plus an offset stored here, so `local.clock --advance`
moves time for every process at once.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Iterator

#: One lock per state file per process: threads of one process hand the write lock to each other
#: directly instead of sleeping in SQLite's busy handler (which caps 16 writers at ~430 req/s).
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()

#: Tables are contributed by the modules that own them (see `register_schema`).
_SCHEMAS: list[str] = []

CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

START_BALANCE = Decimal("10000.00")


def register_schema(sql: str) -> None:
    """Let an operations module declare its tables; they are created when a state file opens."""
    if sql not in _SCHEMAS:
        _SCHEMAS.append(sql)


def default_state_path() -> Path:
    """`BABE_LOCAL_STATE`, else a file in the user's data directory (one MTurk per person)."""
    env = os.environ.get("BABE_LOCAL_STATE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("babe-tasks", appauthor=False)) / "localturk.sqlite"


class Store:
    """Connections (one per thread), transactions, the clock and the meta table."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_state_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._init_lock = threading.Lock()
        self._initialised = False
        self._all_connections: list[sqlite3.Connection] = []
        key = str(self.path.resolve())
        with _WRITE_LOCKS_GUARD:
            self._write_lock = _WRITE_LOCKS.setdefault(key, threading.Lock())
        self._ensure_schema()

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._init_lock:
                self._all_connections.append(conn)
        return conn

    def close(self) -> None:
        with self._init_lock:
            for conn in self._all_connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all_connections.clear()
        self._local = threading.local()

    def _ensure_schema(self) -> None:
        conn = self.conn
        # WAL lets readers run beside one writer, across processes; set once per file.
        for attempt in range(50):
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError:
                time.sleep(0.05 * (attempt + 1))
        with self.write() as tx:
            for sql in [CORE_SCHEMA, *_SCHEMAS]:
                for statement in filter(None, (s.strip() for s in sql.split(";"))):
                    tx.execute(statement)
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('balance', ?), ('clock_offset', '0')",
                (str(START_BALANCE),),
            )

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
        """A read transaction: one consistent snapshot for a whole list page."""
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
    def now(cls, tx: sqlite3.Connection) -> float:
        """The local MTurk's time: the machine's clock plus the offset every process shares."""
        return time.time() + float(cls.get_meta(tx, "clock_offset", "0"))

    def clock_offset(self) -> float:
        with self.read() as tx:
            return float(self.get_meta(tx, "clock_offset", "0"))

    def advance_clock(self, seconds: float) -> float:
        """Move time forward for everyone sharing this state; returns the new offset."""
        if seconds < 0:
            raise ValueError("the local clock only moves forward")
        with self.write() as tx:
            offset = float(self.get_meta(tx, "clock_offset", "0")) + seconds
            self.set_meta(tx, "clock_offset", repr(offset))
        return offset

    @classmethod
    def balance(cls, tx: sqlite3.Connection) -> Decimal:
        return Decimal(cls.get_meta(tx, "balance", str(START_BALANCE)))

    @classmethod
    def charge(cls, tx: sqlite3.Connection, amount: Decimal) -> Decimal:
        """Take money from the account inside the caller's transaction; returns the new balance."""
        balance = cls.balance(tx) - amount
        cls.set_meta(tx, "balance", str(balance))
        return balance
