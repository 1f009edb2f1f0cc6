"""What the slack plugin last told the channel about each HIT, so `status` announces each change once.

`status` runs often (`status --watch` every 30 s, cron jobs, two people at once); a HIT that filled
up must be announced the first time a status sees it full, and never again. The plugin keeps one
small SQLite table of its own, `.babe/slack.sqlite` in the experiment folder (the ledger belongs
to babe-tasks; a plugin does not write there): HIT → last announced state.

A HIT's state is `open`, `filled` (every assignment submitted, approved or rejected) or `expired`
(closed — expired, or deleted — before filling). Claiming works like this: the table is locked
(`BEGIN IMMEDIATE`), the changes computed, the message posted, and the new states committed only
if the post succeeded. So two processes never both announce the same change, and a change whose
post failed is announced by the next `status` instead of being lost. The lock is held at most the
webhook timeout (≤ 5 s).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

FILE = "slack.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS hit_states (
    target      TEXT NOT NULL,
    hit_id      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'filled', 'expired')),
    updated_at  REAL NOT NULL,
    PRIMARY KEY (target, hit_id)
)
"""
#: States worth a message when a HIT reaches them.
ANNOUNCED = ("filled", "expired")


def state_of(hit: Any) -> str:
    """A status HIT (`babe_tasks.steps.status.HitStatus`) → open, filled or expired."""
    arrived = hit.submitted + hit.approved + hit.rejected
    if hit.max_assignments and arrived >= hit.max_assignments:
        return "filled"
    if not hit.open:
        return "expired"
    return "open"


def path(settings: Any) -> Path:
    return Path(settings.state_dir) / FILE


def _connect(settings: Any) -> sqlite3.Connection:
    file = path(settings)
    file.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(file, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute(SCHEMA)
    return conn


def announce_changes(settings: Any, hits: Iterable[Any], announce: Callable[[list[tuple[Any, str]]], None]) -> list[tuple[Any, str]]:
    """Record every HIT's state; call `announce(changes)` with those newly filled or expired.

    The states are committed only when `announce` returns; if it raises, nothing is recorded and
    the exception propagates (the next status tries again). Returns the changes announced.
    """
    hits = list(hits)
    with closing(_connect(settings)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            known = {
                row[0]: row[1]
                for row in conn.execute("SELECT hit_id, state FROM hit_states WHERE target = ?", (settings.target,))
            }
            states = [(hit, state_of(hit)) for hit in hits]
            changes = [(hit, state) for hit, state in states if state in ANNOUNCED and known.get(hit.hit_id) != state]
            if changes:
                announce(changes)
            _store(conn, settings.target, ((hit.hit_id, state) for hit, state in states))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return changes


def mark(settings: Any, hit_ids: Iterable[str], state: str) -> None:
    """Record states another message already told (e.g. `expire` announced these HITs expired)."""
    with closing(_connect(settings)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        _store(conn, settings.target, ((hit_id, state) for hit_id in hit_ids))
        conn.execute("COMMIT")


def _store(conn: sqlite3.Connection, target: str, states: Iterable[tuple[str, str]]) -> None:
    now = time.time()
    conn.executemany(
        "INSERT INTO hit_states (target, hit_id, state, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (target, hit_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
        " WHERE hit_states.state != excluded.state",
        [(target, hit_id, state, now) for hit_id, state in states],
    )
