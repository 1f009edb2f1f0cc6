"""The bonus journal: what makes Prolific's two-step bonus safe to retry.

Prolific pays a bonus in two calls: set it up (`POST /submissions/bonus-payments/`, free, answers
an id) and pay that set-up (`POST /bulk-bonus-payments/{id}/pay/`). The second is not idempotent —
calling it twice pays twice — and has no request token. So every bonus babe-tasks sends is
journalled here under the step's idempotency token, each state written *before* the call that
moves past it:

    set-up  →  paying  →  paid
       ↑          │
       └──────────┘  (only when Prolific answered a clear refusal: nothing was paid)

- `set-up`: the set-up id is known; paying it is the next step.
- `paying`: the pay call was sent. If its answer is lost (or the process dies), the journal stays
  here and the set-up is **never paid again** automatically: the adapter confirms it from the
  study's cost (`GET /studies/{id}/cost/`, its bonus total) or reports it as unconfirmed, with what
  to check, until someone settles it (`babe-prolific bonuses --paid ID` / `--not-paid ID`).
- `paid`: done; the same token answers "already paid".

The file is `.babe/prolific-bonuses.sqlite` in the experiment folder, next to the ledger: one per
experiment, like the tokens it is keyed by. SQLite in WAL mode, every change its own transaction,
so the concurrent payments of one `babe bonus` run never see half a row.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

FILE_NAME = "prolific-bonuses.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS bonuses (
    token TEXT PRIMARY KEY,
    setup_id TEXT,
    study_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bonuses_by_study ON bonuses (study_id, state);
CREATE INDEX IF NOT EXISTS bonuses_by_submission ON bonuses (submission_id);
"""

SET_UP, PAYING, PAID = "set-up", "paying", "paid"


@dataclass(frozen=True)
class Entry:
    token: str
    setup_id: str | None
    study_id: str
    participant_id: str
    submission_id: str
    amount: Decimal
    reason: str
    state: str
    error: str | None
    updated_at: float


class Journal:
    """The experiment's bonus journal (created on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    @classmethod
    def for_folder(cls, folder: str | Path) -> Journal:
        from babe_tasks.folders import state_dir

        return cls(state_dir(Path(folder)) / FILE_NAME)

    def close(self) -> None:
        self._db.close()

    # -- reading ------------------------------------------------------------------------------------
    def get(self, token: str) -> Entry | None:
        rows = self._select("WHERE token = ?", (token,))
        return rows[0] if rows else None

    def by_setup(self, setup_id: str) -> Entry | None:
        rows = self._select("WHERE setup_id = ?", (setup_id,))
        return rows[0] if rows else None

    def for_submission(self, submission_id: str) -> list[Entry]:
        return self._select("WHERE submission_id = ? ORDER BY created_at", (submission_id,))

    def for_study(self, study_id: str) -> list[Entry]:
        return self._select("WHERE study_id = ? ORDER BY created_at", (study_id,))

    def all(self) -> list[Entry]:
        return self._select("ORDER BY created_at", ())

    # -- writing ------------------------------------------------------------------------------------
    def set_up(self, token: str, setup_id: str, study_id: str, participant_id: str, submission_id: str, amount: Decimal, reason: str) -> None:
        """Record a fresh set-up (or replace one abandoned as not paid) under the token."""
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO bonuses (token, setup_id, study_id, participant_id, submission_id, amount, reason, state, "
                "error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
                "ON CONFLICT (token) DO UPDATE SET setup_id = excluded.setup_id, state = excluded.state, error = NULL, "
                "updated_at = excluded.updated_at",
                (token, setup_id, study_id, participant_id, submission_id, str(amount), reason, SET_UP, now, now),
            )

    def move(self, token: str, state: str, error: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE bonuses SET state = ?, error = ?, updated_at = ? WHERE token = ?", (state, error, time.time(), token)
            )

    def forget_setup(self, token: str) -> None:
        """Drop a set-up settled as not paid: the next run sets up (and pays) a fresh one."""
        with self._lock:
            self._db.execute("DELETE FROM bonuses WHERE token = ? AND state != ?", (token, PAID))

    def _select(self, where: str, args: tuple) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT token, setup_id, study_id, participant_id, submission_id, amount, reason, state, error, updated_at "
                f"FROM bonuses {where}",
                args,
            ).fetchall()
        return [Entry(*row[:5], Decimal(row[5]), *row[6:]) for row in rows]
