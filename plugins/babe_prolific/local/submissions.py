"""Submissions: what participants hand in, and the researcher's review of it.

A submission holds a place from the moment it is reserved; returning it, timing out or being
rejected gives the place back (`studies.HOLDING`). Review transitions are idempotent (approving an
approved submission answers 200 again) and irreversible (an approved one is never rejected, nor
the reverse), as the reference says. Time drives two transitions the researcher does not ask for:
an ACTIVE submission past the study's maximum allowed time becomes TIMED-OUT, and one AWAITING
REVIEW for 21 days is approved automatically; `tick` applies both on every API request, against
the shared (advanceable) clock.
"""

from __future__ import annotations

import sqlite3

from . import studies, validation
from .errors import ApiError, bad_transition, not_found
from .paging import page
from .store import Store, iso, new_id

AUTO_APPROVE_SECONDS = 21 * 24 * 3600


def _time_taken(row: sqlite3.Row) -> int | None:
    return None if row["completed_at"] is None else round(row["completed_at"] - row["started_at"])


def render_item(row: sqlite3.Row) -> dict:
    """An item of a study's submission list (`participant_id`)."""
    return {
        "id": row["id"],
        "study_id": row["study_id"],
        "participant_id": row["participant_id"],
        "status": row["status"],
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
        "study_code": row["study_code"],
        "time_taken": _time_taken(row),
        "reward": row["reward"],
    }


def render_one(row: sqlite3.Row) -> dict:
    """`GET /submissions/{id}/`: note `participant`, not `participant_id`, as the real API."""
    item = render_item(row)
    item["participant"] = item.pop("participant_id")
    if row["status"] == "REJECTED":
        item["rejection_category"] = row["rejection_category"]
    return item


def load(tx: sqlite3.Connection, submission_id: str) -> sqlite3.Row:
    row = tx.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
    if row is None:
        raise not_found("Submission", submission_id)
    return row


# -- time ---------------------------------------------------------------------------------------
def tick(store: Store) -> None:
    """Time out overdue participants and auto-approve 21-day-old submissions (cheap when none)."""
    query = (
        "SELECT 1 FROM submissions WHERE (status = 'AWAITING REVIEW' AND completed_at <= ?)"
        " OR (status IN ('RESERVED', 'ACTIVE') AND deadline <= ?) LIMIT 1"
    )
    with store.read() as tx:
        now = Store.now(tx)
        if tx.execute(query, (now - AUTO_APPROVE_SECONDS, now)).fetchone() is None:
            return
    with store.write() as tx:
        now = Store.now(tx)
        touched = {
            row[0]
            for row in tx.execute(
                "SELECT study_id FROM submissions WHERE (status = 'AWAITING REVIEW' AND completed_at <= ?)"
                " OR (status IN ('RESERVED', 'ACTIVE') AND deadline <= ?)",
                (now - AUTO_APPROVE_SECONDS, now),
            )
        }
        tx.execute("UPDATE submissions SET status = 'APPROVED' WHERE status = 'AWAITING REVIEW' AND completed_at <= ?", (now - AUTO_APPROVE_SECONDS,))
        tx.execute("UPDATE submissions SET status = 'TIMED-OUT' WHERE status IN ('RESERVED', 'ACTIVE') AND deadline <= ?", (now,))
        for study_id in sorted(touched):
            studies.refresh(tx, study_id)


# -- the participant's side (used by participants.simulate) ------------------------------------
def start(tx: sqlite3.Connection, study: sqlite3.Row, data: dict, participant_id: str, started_at: float) -> str:
    submission_id = new_id()
    tx.execute(
        "INSERT INTO submissions (id, study_id, participant_id, status, started_at, deadline, reward)"
        " VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?)",
        (submission_id, study["id"], participant_id, started_at, started_at + 60 * data["maximum_allowed_time"], data["reward"]),
    )
    studies.refresh(tx, study["id"])
    return submission_id


def finish(tx: sqlite3.Connection, submission_id: str, code: str | None, data: dict) -> str:
    """The participant submits with `code`: AWAITING REVIEW, or APPROVED when that code's actions say so."""
    row = load(tx, submission_id)
    actions = next((c.get("actions", []) for c in data["completion_codes"] if c["code"] == code), [])
    status = "APPROVED" if any(a.get("action") == "AUTOMATICALLY_APPROVE" for a in actions) else "AWAITING REVIEW"
    tx.execute(
        "UPDATE submissions SET status = ?, completed_at = ?, study_code = ? WHERE id = ?",
        (status, Store.now(tx), code or "", submission_id),
    )
    studies.refresh(tx, row["study_id"])
    return status


def give_back(tx: sqlite3.Connection, submission_id: str) -> None:
    """The participant returns the study: the place is free again."""
    row = load(tx, submission_id)
    tx.execute("UPDATE submissions SET status = 'RETURNED' WHERE id = ?", (submission_id,))
    studies.refresh(tx, row["study_id"])


# -- endpoints ----------------------------------------------------------------------------------
def list_for_study(store: Store, study_id: str, request) -> tuple[int, dict]:
    tick(store)
    with store.read() as tx:
        studies.load(tx, study_id)
        args: tuple = (study_id,)
        where = "WHERE study_id = ?"
        wanted = request.query.get("status")
        if wanted:
            status = wanted.replace("_", " ").upper()
            if status not in studies.SUBMISSION_STATUSES and wanted.upper() != "TIMED_OUT":
                raise ApiError(400, {"status": [f"Unknown status {wanted!r}."]})
            status = "TIMED-OUT" if wanted.upper() in ("TIMED_OUT", "TIMED-OUT") else status
            where += " AND status = ?"
            args = (study_id, status)
        return 200, page(tx, request, f"SELECT COUNT(*) FROM submissions {where}", f"SELECT * FROM submissions {where}", args, render_item)


def counts(store: Store, study_id: str) -> tuple[int, dict]:
    with store.read() as tx:
        studies.load(tx, study_id)
        return 200, studies.tally(tx, study_id)


def get(store: Store, submission_id: str) -> tuple[int, dict]:
    with store.read() as tx:
        return 200, render_one(load(tx, submission_id))


def transition(store: Store, submission_id: str, body) -> tuple[int, dict]:
    action = validation.action(body, ("APPROVE", "REJECT"))
    category, message = validation.rejection(body) if action == "REJECT" else (None, None)
    with store.write() as tx:
        row = load(tx, submission_id)
        done = "APPROVED" if action == "APPROVE" else "REJECTED"
        if row["status"] != done:
            if row["status"] != "AWAITING REVIEW":
                raise bad_transition(f"Cannot {action} a submission that is {row['status']} (only AWAITING REVIEW can be reviewed).")
            tx.execute(
                "UPDATE submissions SET status = ?, rejection_category = ?, message = ? WHERE id = ?",
                (done, category, message, submission_id),
            )
            studies.refresh(tx, row["study_id"])
        return 200, render_one(load(tx, submission_id))


def bulk_approve(store: Store, body) -> tuple[int, str]:
    """Approve up to 1000 submissions at once; settles before answering (the real one is async)."""
    ids = validation.submission_ids(body)
    with store.write() as tx:
        marks = ",".join("?" * len(ids))
        rows = tx.execute(f"SELECT id, study_id, status FROM submissions WHERE id IN ({marks})", ids).fetchall()
        missing = sorted(set(ids) - {row["id"] for row in rows})
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise ApiError(400, {"submission_ids": [f"{len(missing)} unknown submission id(s): {shown}"]})
        due = [row for row in rows if row["status"] == "AWAITING REVIEW"]
        tx.executemany("UPDATE submissions SET status = 'APPROVED' WHERE id = ?", [(row["id"],) for row in due])
        for study_id in sorted({row["study_id"] for row in due}):
            studies.refresh(tx, study_id)
    return 200, "The request to bulk approve has been made successfully."
