"""Opening a SQLite file that several processes share: the ledger, the local services' state files.

Every such file runs in WAL mode (readers beside one writer, across processes) with a busy timeout
(a writer waits for the other one). One thing the busy timeout does not cover: switching a file to
WAL. When two processes open a fresh file at the same moment (two `babe create` started together,
a watcher and a command), SQLite answers the second switch "database is locked" at once, without
waiting, about two times in three on this machine's SQLite 3.40. So the switch is retried here
until the same busy timeout has passed; after that the error is the caller's to explain.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def open_shared(path: str | Path, busy_timeout: float, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection to `path` in WAL mode, waiting up to `busy_timeout` seconds for other writers.

    Autocommit (`isolation_level=None`: callers say `BEGIN IMMEDIATE` themselves), rows as
    `sqlite3.Row`, usable from the threads of a step (callers serialise their use).
    """
    conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        _switch_to_wal(conn, busy_timeout)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    deadline = time.monotonic() + busy_timeout
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
            if not busy or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
