"""A plugin's own small record of states, in a SQLite file of its own beside the ledger.

Some plugins must remember what they already did across runs and processes — the slack plugin,
which HITs it announced as filled or expired, so each change is told once although `status` runs
every 30 s in two terminals. The ledger is the lab's record and belongs to babe-tasks; a plugin
keeps a file of its own (`.babe/<plugin>.sqlite`), and this module is the one that opens it, so no
plugin carries SQL or a SQLite connection.

The record is a table of states: per scope (e.g. the target), key (e.g. a HIT id) → state. A
`claim` holds the file's write lock (`BEGIN IMMEDIATE`) while the plugin decides and acts, and
stores the states it changed only when its block ends normally: two processes never both act on
the same change, and an action that failed (its block raised) leaves nothing recorded, so the
next run tries again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

#: Seconds a claim waits for another process holding the file.
BUSY_TIMEOUT = 30.0


class PluginStates:
    """States kept in `path`, table `table`: columns `scope`, `key`, `value` (names as given) and `updated_at`.

    The names are the plugin's, so a file written by an older version of the plugin keeps its
    layout and its history.
    """

    def __init__(self, path: str | Path, table: str = "states", *, scope: str = "scope", key: str = "key", value: str = "state"):
        for name in (table, scope, key, value):
            if not name.isidentifier():
                raise ValueError(f"{name!r} is not a plain SQL name: use letters, digits and underscores")
        self.path = Path(path)
        self._table, self._scope, self._key, self._value = table, scope, key, value

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} ({self._scope} TEXT NOT NULL, {self._key} TEXT NOT NULL,"
            f" {self._value} TEXT NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY ({self._scope}, {self._key}))"
        )
        return conn

    @contextmanager
    def claim(self, scope: str) -> Iterator[dict[str, str]]:
        """The scope's states (key → state) under the file's write lock; the dict's changes are stored
        when the block ends normally, nothing is when it raises (the exception propagates)."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                known = dict(
                    conn.execute(
                        f"SELECT {self._key}, {self._value} FROM {self._table} WHERE {self._scope} = ?", (scope,)
                    ).fetchall()
                )
                states = dict(known)
                yield states
                now = time.time()
                conn.executemany(
                    f"INSERT INTO {self._table} ({self._scope}, {self._key}, {self._value}, updated_at) VALUES (?, ?, ?, ?)"
                    f" ON CONFLICT ({self._scope}, {self._key}) DO UPDATE SET {self._value} = excluded.{self._value},"
                    " updated_at = excluded.updated_at",
                    [(scope, key, state, now) for key, state in states.items() if known.get(key) != state],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
