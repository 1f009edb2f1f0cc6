"""The bonus journal: what makes Prolific's two-step bonus safe to retry.

Prolific pays a bonus in two calls: set it up (`POST /submissions/bonus-payments/`, free, answers
an id) and pay that set-up (`POST /bulk-bonus-payments/{id}/pay/`). The second is not idempotent —
calling it twice pays twice — and has no request token. So every bonus babe-tasks sends is
journalled here under the step's idempotency token, each state written *before* the call that
moves past it:

    set-up  →  paying  →  accepted  →  paid
       ↑          │  └──────────────────↑  (a lost answer confirmed from the study's cost)
       └──────────┘  (only when Prolific answered a clear refusal: nothing was paid)

- `set-up`: the set-up id is known; paying it is the next step.
- `paying`: the pay call was sent. If its answer is lost (or the process dies), the journal stays
  here and the set-up is **never paid again** automatically: the adapter confirms it from the
  study's cost (`GET /studies/{id}/cost/`, its bonus total) or reports it as unconfirmed, with what
  to check, until someone settles it (`babe-prolific bonuses --paid ID` / `--not-paid ID`).
- `accepted`: Prolific answered the pay (202: it pays asynchronously, "in the following
  minutes"). As good as paid for every decision — never paid again, listed as paid — and moved to
  `paid` once the study's cost shows it (the same run after a short wait, or a later one).
- `paid`: done, and seen in the study's cost (or paid by a babe-tasks that did not wait for
  that); the same token answers "already paid".

One set-up carries up to 200 bonuses of one study (Prolific's bulk set-up), so the rows of one set-up
share its `setup_id` and move together (`set_up_many`, `move_setup`): the pay call pays them all or
none. An entry journalled by an older babe-tasks (one bonus per set-up) is simply a set-up of one row.

The file is `.babe/prolific-bonuses.sqlite` in the experiment folder, next to the ledger: one per
experiment, like the tokens it is keyed by. SQLite in WAL mode, every change its own transaction,
so two `babe bonus` runs of the experiment at the same time never journal one bonus under two
set-ups (`set_up_many` refuses a token it has) nor both pay one set-up (`claim`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from .statefiles import ExperimentFile

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

SET_UP, PAYING, ACCEPTED, PAID = "set-up", "paying", "accepted", "paid"


class Taken(Exception):
    """Tokens a new set-up wanted that the journal already has (another run set them up first)."""

    def __init__(self, tokens: list[str]):
        super().__init__(f"{len(tokens)} bonus(es) already journalled")
        self.tokens = tokens


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


class Journal(ExperimentFile):
    """The experiment's bonus journal (created on first use)."""

    FILE_NAME = FILE_NAME
    SCHEMA = SCHEMA

    # -- reading ------------------------------------------------------------------------------------
    def get(self, token: str) -> Entry | None:
        rows = self._select("WHERE token = ?", (token,))
        return rows[0] if rows else None

    def of_setup(self, setup_id: str) -> list[Entry]:
        """Every row of one set-up (one, for an entry of the one-bonus-per-set-up journals)."""
        return self._select("WHERE setup_id = ? ORDER BY created_at, rowid", (setup_id,))

    def for_submission(self, submission_id: str) -> list[Entry]:
        return self._select("WHERE submission_id = ? ORDER BY created_at", (submission_id,))

    def for_study(self, study_id: str) -> list[Entry]:
        return self._select("WHERE study_id = ? ORDER BY created_at", (study_id,))

    def studies_in(self, state: str) -> list[str]:
        """The studies with rows in `state` (e.g. pays accepted, not yet seen in the study's cost)."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT study_id FROM bonuses WHERE state = ? ORDER BY study_id", (state,))
            return [row[0] for row in rows]

    def all(self) -> list[Entry]:
        return self._select("ORDER BY created_at, rowid", ())

    # -- writing ------------------------------------------------------------------------------------
    def set_up(self, token: str, setup_id: str, study_id: str, participant_id: str, submission_id: str, amount: Decimal, reason: str) -> None:
        """Record a fresh set-up of one bonus under the token (see `set_up_many`)."""
        self.set_up_many(setup_id, study_id, [(token, participant_id, submission_id, Decimal(amount), reason)])

    def set_up_many(self, setup_id: str, study_id: str, rows: list[tuple[str, str, str, Decimal, str]]) -> None:
        """Record one set-up's rows — (token, participant, submission, amount, reason) — all or none.

        `Taken` (nothing recorded) when a token is journalled already: another `babe bonus` of the
        experiment, running at the same time, set it up first — paying this set-up too would pay
        that bonus twice, so this one must be abandoned (a set-up costs nothing).
        """
        now = time.time()
        tokens = [row[0] for row in rows]
        with self._transaction():
            marks = ",".join("?" * len(tokens))
            taken = [r[0] for r in self._db.execute(f"SELECT token FROM bonuses WHERE token IN ({marks})", tokens)]
            if taken:
                raise Taken(taken)
            self._db.executemany(
                "INSERT INTO bonuses (token, setup_id, study_id, participant_id, submission_id, amount, reason, state, "
                "error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                [
                    (token, setup_id, study_id, participant, submission, str(amount), reason, SET_UP, now, now)
                    for token, participant, submission, amount, reason in rows
                ],
            )

    def claim(self, setup_id: str) -> bool:
        """Move a set-up's rows from `set-up` to `paying`, before its pay: whether this caller did.

        False when they were not `set-up` any more: another `babe bonus` running at the same time
        claimed the set-up first and is paying it — this caller must not pay it too.
        """
        with self._transaction():
            moved = self._db.execute(
                "UPDATE bonuses SET state = ?, error = NULL, updated_at = ? WHERE setup_id = ? AND state = ?",
                (PAYING, time.time(), setup_id, SET_UP),
            )
            return moved.rowcount > 0

    def move_setup(self, setup_id: str, state: str, error: str | None = None) -> int:
        """Move every row of a set-up to `state` at once (one pay call pays them all); how many moved.

        A row already `paid` is never moved back (the rows of a set-up move together, so this only
        guards against a caller's mistake).
        """
        with self._transaction():
            moved = self._db.execute(
                "UPDATE bonuses SET state = ?, error = ?, updated_at = ? WHERE setup_id = ? AND state != ?",
                (state, error, time.time(), setup_id, PAID),
            )
            return moved.rowcount

    def forget_setup(self, setup_id: str) -> int:
        """Drop the rows of a set-up settled as not paid: the next run sets up (and pays) them afresh."""
        with self._transaction():
            return self._db.execute("DELETE FROM bonuses WHERE setup_id = ? AND state != ?", (setup_id, PAID)).rowcount

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (the connection is in autocommit mode): all of it or nothing."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _select(self, where: str, args: tuple) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT token, setup_id, study_id, participant_id, submission_id, amount, reason, state, error, updated_at "
                f"FROM bonuses {where}",
                args,
            ).fetchall()
        return [Entry(*row[:5], Decimal(row[5]), *row[6:]) for row in rows]
