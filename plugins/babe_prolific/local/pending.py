"""Asynchronous work: what Prolific answers at once but does later, settled on the local clock.

Prolific publishes a study (PUBLISHING, then ACTIVE), approves submissions in bulk and pays bonuses
some time after it answered the request. A client that treats the answer as the outcome is wrong on
the real service, so the local one is wrong in the same way by default: each such request leaves a
row here, due `settle_seconds` (an account setting, 3 s on a fresh state) later on the store's clock,
and `settle` — called by `submissions.tick` on every API request and by every clock advance — does
the work of the rows that are due, oldest first. With `settle_seconds` 0 the work is done before the
answer, for tests that want speed rather than waiting.

The work is done by the module that owns it (studies, submissions, bonuses), registered here by
kind, so this module knows when, never how.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal

from .store import Store

#: kind -> work(tx, ref, payload); filled by the modules that own the work.
WORK: dict[str, Callable[[sqlite3.Connection, str, dict], None]] = {}


def handles(kind: str):
    def register(work: Callable[[sqlite3.Connection, str, dict], None]):
        WORK[kind] = work
        return work

    return register


def delay(tx: sqlite3.Connection) -> float:
    return float(Decimal(Store.meta(tx, "settle_seconds")))


def _work(kind: str) -> Callable[[sqlite3.Connection, str, dict], None]:
    from . import bonuses, studies, submissions  # noqa: F401 - importing them registers their work

    return WORK[kind]


def schedule(tx: sqlite3.Connection, kind: str, ref: str, payload: dict | None = None) -> None:
    """Queue work due `settle_seconds` from now; with a delay of 0 it is done at once, in `tx`."""
    payload = payload or {}
    seconds = delay(tx)
    if seconds <= 0:
        _work(kind)(tx, ref, payload)
        return
    tx.execute(
        "INSERT INTO pending (kind, ref, payload, due) VALUES (?, ?, ?, ?)",
        (kind, ref, json.dumps(payload), Store.now(tx) + seconds),
    )


def waiting(tx: sqlite3.Connection, kind: str) -> list[sqlite3.Row]:
    """Work of one kind not yet settled (e.g. bonus pays whose money is already promised)."""
    return tx.execute("SELECT * FROM pending WHERE kind = ? ORDER BY seq", (kind,)).fetchall()


def settle_due(tx: sqlite3.Connection) -> int:
    """Do every due piece of work, oldest first, inside `tx`; the number done."""
    rows = tx.execute("SELECT * FROM pending WHERE due <= ? ORDER BY seq", (Store.now(tx),)).fetchall()
    for row in rows:
        _work(row["kind"])(tx, row["ref"], json.loads(row["payload"]))
        tx.execute("DELETE FROM pending WHERE seq = ?", (row["seq"],))
    return len(rows)


def settle(store: Store) -> None:
    """Settle what is due (cheap when nothing is: one read)."""
    with store.read() as tx:
        if tx.execute("SELECT 1 FROM pending WHERE due <= ? LIMIT 1", (Store.now(tx),)).fetchone() is None:
            return
    with store.write() as tx:
        settle_due(tx)
