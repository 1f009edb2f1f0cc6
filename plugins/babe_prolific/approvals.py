"""The approvals Prolific accepted but has not processed yet: asked for once, finished later.

`POST /submissions/bulk-approve/` answers before it has done its work: the submissions stay
AWAITING REVIEW until Prolific processes the request. The adapter waits for that briefly
(`settling`); what is still waiting afterwards is not a failure and must not be asked for again by
the next `approve` (the lab's request stands; asking twice would only be Prolific's to untangle).
So each requested submission is written here, before the request, with the platform's time, and
forgotten once Prolific lists it as reviewed. An entry older than `RESEND_AFTER` whose submission
is still waiting is asked for once more: Prolific lost it (approving changes a status; it cannot
pay a submission twice).

The file is `.babe/prolific-approvals.sqlite` in the experiment folder, next to the bonus journal.
"""

from __future__ import annotations

from .statefiles import ExperimentFile

FILE_NAME = "prolific-approvals.sqlite"
#: How long (seconds, platform time) a requested approval may stay unprocessed before it is asked again.
RESEND_AFTER = 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS requested (
    submission_id TEXT PRIMARY KEY,
    study_id TEXT NOT NULL,
    requested_at REAL NOT NULL
);
"""


class Approvals(ExperimentFile):
    """The experiment's requested, unprocessed approvals (created on first use)."""

    FILE_NAME = FILE_NAME
    SCHEMA = SCHEMA

    def waiting(self, now: float) -> set[str]:
        """The submissions asked for less than `RESEND_AFTER` ago: not to be asked for again now."""
        with self._lock:
            rows = self._db.execute("SELECT submission_id FROM requested WHERE requested_at > ?", (now - RESEND_AFTER,))
            return {row[0] for row in rows}

    def request(self, study_of: dict[str, str], now: float) -> None:
        """Record submission → study as asked for at `now` (before the request is sent)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO requested (submission_id, study_id, requested_at) VALUES (?, ?, ?)",
                [(submission, study, now) for submission, study in study_of.items()],
            )
            self._db.execute("COMMIT")

    def forget(self, submission_ids: list[str]) -> None:
        """Drop submissions Prolific has processed (or clearly refused to)."""
        if not submission_ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM requested WHERE submission_id = ?", [(i,) for i in submission_ids])
            self._db.execute("COMMIT")
