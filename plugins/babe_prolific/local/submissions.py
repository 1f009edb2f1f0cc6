"""Submissions: what participants hand in, and the researcher's review of it.

A submission holds a place from the moment it is reserved; returning it, timing out, being
screened out or rejected gives the place back (`studies.HOLDING`). Review transitions are idempotent
(approving an approved submission answers 200 again) and irreversible (an approved one is never
rejected, nor the reverse), as the spec says; a researcher may also COMPLETE an active submission
with a completion code whose actor is `researcher`, and that code's actions apply. Bulk approval
is asynchronous, as on Prolific: the answer is a promise and the submissions stay AWAITING REVIEW
until it settles (`pending.py`). Time drives two transitions the researcher does not ask for: an
ACTIVE submission past the study's maximum allowed time becomes TIMED-OUT, and one AWAITING REVIEW
for 21 days is approved automatically; `tick` applies both, and settles due work, on every API
request against the shared (advanceable) clock.
"""

from __future__ import annotations

import json
import math
import sqlite3

from . import money, pending, studies, validation
from .bonuses import committed
from .errors import FUNDS, ApiError, bad_transition, invalid
from .paging import page
from .store import Store, iso, load_row, new_id

AUTO_APPROVE_SECONDS = 21 * 24 * 3600


def _time_taken(row: sqlite3.Row) -> int | None:
    return None if row["completed_at"] is None else round(row["completed_at"] - row["started_at"])


def _return_requested(tx: sqlite3.Connection, submission_id: str) -> str | None:
    found = tx.execute("SELECT requested_at FROM return_requests WHERE submission_id = ?", (submission_id,)).fetchone()
    return iso(found[0]) if found else None


def render_item(tx: sqlite3.Connection, row: sqlite3.Row) -> dict:
    """A list item: the spec's SubmissionShort, plus `study_id` (the global list mixes studies)."""
    siblings = tx.execute(
        "SELECT COUNT(*) FROM submissions WHERE study_id = ? AND participant_id = ?", (row["study_id"], row["participant_id"])
    ).fetchone()[0]
    return {
        "id": row["id"],
        "study_id": row["study_id"],
        "participant_id": row["participant_id"],
        "status": row["status"],
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
        "has_siblings": siblings > 1,
        "study_code": row["study_code"],
        "return_requested": _return_requested(tx, row["id"]),
    }


def render_one(tx: sqlite3.Connection, row: sqlite3.Row) -> dict:
    """`GET /submissions/{id}/` (SubmissionDetail): `participant` and `entered_code`, not the list's
    `participant_id` and `study_code`; `bonus_payments` are the amounts paid (minor units)."""
    paid = tx.execute("SELECT amount FROM bonus_payments WHERE submission_id = ? ORDER BY seq", (row["id"],)).fetchall()
    return {
        "id": row["id"],
        "study_id": row["study_id"],
        "participant": row["participant_id"],
        "status": row["status"],
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
        "entered_code": row["study_code"],
        "bonus_payments": [p[0] for p in paid],
        "return_requested": _return_requested(tx, row["id"]),
    }


def load(tx: sqlite3.Connection, submission_id: str) -> sqlite3.Row:
    return load_row(tx, "submissions", submission_id, "Submission")


# -- time ---------------------------------------------------------------------------------------
def tick(store: Store) -> None:
    """Settle due asynchronous work, time out overdue participants and auto-approve 21-day-old
    submissions (cheap when there is nothing to do)."""
    pending.settle(store)
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
    entry = next((c for c in data["completion_codes"] if c.get("code") == code and c.get("actor", "participant") == "participant"), None)
    return _complete(tx, row, code, entry)


def _complete(tx: sqlite3.Connection, row: sqlite3.Row, code: str | None, entry: dict | None) -> str:
    """The submission is handed in with `code` (whose completion-code `entry` may be None: a wrong
    code); its actions decide: AUTOMATICALLY_APPROVE approves, DYNAMIC_PAYMENT partially approves,
    REQUEST_RETURN asks for a return; anything else waits for review."""
    kinds = {a.get("action"): a for a in (entry or {}).get("actions", [])}
    if "DYNAMIC_PAYMENT" in kinds:
        status = "PARTIALLY APPROVED"
    elif "AUTOMATICALLY_APPROVE" in kinds:
        status = "APPROVED"
    else:
        status = "AWAITING REVIEW"
    now = Store.now(tx)
    tx.execute("UPDATE submissions SET status = ?, completed_at = ?, study_code = ? WHERE id = ?", (status, now, code or "", row["id"]))
    if "REQUEST_RETURN" in kinds:
        _ask_return(tx, row["id"], [kinds["REQUEST_RETURN"].get("return_reason", "")], now)
    studies.refresh(tx, row["study_id"])
    return status


def _ask_return(tx: sqlite3.Connection, submission_id: str, reasons: list[str], now: float) -> None:
    tx.execute(
        "INSERT OR REPLACE INTO return_requests (submission_id, requested_at, reasons) VALUES (?, ?, ?)",
        (submission_id, now, json.dumps(reasons)),
    )


def give_back(tx: sqlite3.Connection, submission_id: str) -> None:
    """The participant returns the study: the place is free again."""
    row = load(tx, submission_id)
    tx.execute("UPDATE submissions SET status = 'RETURNED' WHERE id = ?", (submission_id,))
    studies.refresh(tx, row["study_id"])


# -- endpoints ----------------------------------------------------------------------------------
def _status_filter(wanted: str | None) -> str | None:
    if not wanted:
        return None
    upper = wanted.upper()
    status = "TIMED-OUT" if upper in ("TIMED_OUT", "TIMED-OUT", "TIME-OUT") else upper.replace("_", " ")
    if status not in studies.SUBMISSION_STATUSES:
        raise ApiError(400, {"status": [f"Unknown status {wanted!r}."]})
    return status


def _listing(store: Store, request, study_id: str | None) -> tuple[int, dict]:
    tick(store)
    where, args = [], []
    with store.read() as tx:
        if study_id is not None:
            studies.load(tx, study_id)
            where.append("study_id = ?")
            args.append(study_id)
        status = _status_filter(request.query.get("status"))
        if status:
            where.append("status = ?")
            args.append(status)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return 200, page(
            tx, request, f"SELECT COUNT(*) FROM submissions{clause}", f"SELECT * FROM submissions{clause}", tuple(args), lambda row: render_item(tx, row)
        )


def list_for_study(store: Store, study_id: str, request) -> tuple[int, dict]:
    return _listing(store, request, study_id)


def list_all(store: Store, request) -> tuple[int, dict]:
    """`GET /submissions/?study=`: every submission of the account, or of one study (404 unknown)."""
    return _listing(store, request, request.query.get("study") or None)


def counts(store: Store, study_id: str) -> tuple[int, dict]:
    with store.read() as tx:
        studies.load(tx, study_id)
        return 200, studies.tally(tx, study_id)


def get(store: Store, submission_id: str) -> tuple[int, dict]:
    with store.read() as tx:
        return 200, render_one(tx, load(tx, submission_id))


def transition(store: Store, submission_id: str, body) -> tuple[int, dict]:
    action = validation.action(body, ("APPROVE", "REJECT", "COMPLETE"))
    if action == "COMPLETE":
        return _researcher_completes(store, submission_id, body)
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
        return 200, render_one(tx, load(tx, submission_id))


def _researcher_completes(store: Store, submission_id: str, body: dict) -> tuple[int, dict]:
    """COMPLETE: the researcher hands in an active submission with one of the study's codes whose
    actor is `researcher` (the spec's rule); that code's actions apply. Repeating it is a 200."""
    code = body.get("completion_code")
    if not isinstance(code, str) or not code:
        raise invalid("completion_code", "Required for COMPLETE: one of the study's codes whose actor is researcher.")
    with store.write() as tx:
        row = load(tx, submission_id)
        data = json.loads(studies.load(tx, row["study_id"])["data"])
        entry = next((c for c in data["completion_codes"] if c.get("code") == code), None)
        if entry is None or entry.get("actor", "participant") != "researcher":
            raise invalid("completion_code", f"{code!r} is not a completion code of this study whose actor is researcher.")
        if row["study_code"] == code and row["status"] not in ("RESERVED", "ACTIVE"):
            return 200, render_one(tx, row)
        if row["status"] not in ("RESERVED", "ACTIVE"):
            raise bad_transition(f"Cannot COMPLETE a submission that is {row['status']} (only an active one).")
        if any(a.get("action") == "DYNAMIC_PAYMENT" for a in entry.get("actions", [])):
            share = (body.get("completion_code_data") or {}).get("percentage_of_reward")
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 8 <= share <= 99:
                raise invalid("completion_code_data", "percentage_of_reward (8 to 99) is required for a DYNAMIC_PAYMENT code.")
        _complete(tx, row, code, entry)
        return 200, render_one(tx, load(tx, submission_id))


def bulk_approve(store: Store, body) -> tuple[int, str]:
    """Approve up to 1000 submissions (by id, or a study's by participant id) — later, when the
    work settles; the answer (a JSON string) only says the request was taken. Any unknown id
    refuses the whole request, so nothing is half-approved."""
    study_id, ids = validation.bulk_approval(body)
    with store.write() as tx:
        marks = ",".join("?" * len(ids))
        if study_id is None:
            rows = tx.execute(f"SELECT id FROM submissions WHERE id IN ({marks})", ids).fetchall()
            missing = sorted(set(ids) - {row["id"] for row in rows})
            field = "submission_ids"
        else:
            studies.load(tx, study_id)
            rows = tx.execute(
                f"SELECT id, participant_id FROM submissions WHERE study_id = ? AND participant_id IN ({marks}) ORDER BY seq", (study_id, *ids)
            ).fetchall()
            missing = sorted(set(ids) - {row["participant_id"] for row in rows})
            field = "participant_ids"
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise ApiError(400, {field: [f"{len(missing)} unknown id(s): {shown}"]})
        pending.schedule(tx, "approve", study_id or "", {"submission_ids": [row["id"] for row in rows]})
    return 200, "The request to bulk approve has been made successfully."


@pending.handles("approve")
def _approve(tx: sqlite3.Connection, ref: str, payload: dict) -> None:
    """Approve what is still AWAITING REVIEW (a submission rejected meanwhile stays rejected)."""
    ids = payload["submission_ids"]
    marks = ",".join("?" * len(ids))
    due = tx.execute(f"SELECT id, study_id FROM submissions WHERE status = 'AWAITING REVIEW' AND id IN ({marks})", ids).fetchall()
    tx.executemany("UPDATE submissions SET status = 'APPROVED' WHERE id = ?", [(row["id"],) for row in due])
    for study_id in sorted({row["study_id"] for row in due}):
        studies.refresh(tx, study_id)


def request_return(store: Store, submission_id: str, body) -> tuple[int, dict]:
    """Ask the participant to return the submission (they decide; nothing else changes)."""
    reasons = body.get("request_return_reasons") if isinstance(body, dict) else None
    if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) and r.strip() for r in reasons):
        raise invalid("request_return_reasons", "A non-empty list of reasons (free text).")
    with store.write() as tx:
        row = load(tx, submission_id)
        if row["status"] not in ("ACTIVE", "AWAITING REVIEW"):
            raise bad_transition(f"Only an active or awaiting-review submission can be asked to return; this one is {row['status']}.")
        _ask_return(tx, submission_id, reasons, Store.now(tx))
        return 200, {"id": row["id"], "status": row["status"], "participant": row["participant_id"], "return_requested": _return_requested(tx, row["id"])}


# -- screening out ----------------------------------------------------------------------------------
def _screened(tx: sqlite3.Connection, study_id: str, body) -> tuple[sqlite3.Row, list[sqlite3.Row]]:
    ids = validation.submission_ids(body)
    study = studies.load(tx, study_id)
    if not json.loads(study["data"]).get("is_custom_screening"):
        raise bad_transition("Screening out is for studies created with is_custom_screening true.")
    marks = ",".join("?" * len(ids))
    rows = tx.execute(f"SELECT * FROM submissions WHERE study_id = ? AND id IN ({marks})", (study_id, *ids)).fetchall()
    missing = sorted(set(ids) - {row["id"] for row in rows})
    if missing:
        raise invalid("submission_ids", f"Not submissions of study {study_id}: {', '.join(missing[:5])}")
    wrong = [row["id"] for row in rows if row["status"] not in ("ACTIVE", "AWAITING REVIEW")]
    if wrong:
        raise bad_transition(f"Only active or awaiting-review submissions can be screened out: {', '.join(wrong[:5])}")
    return study, rows


def _minutes(tx: sqlite3.Connection, rows: list[sqlite3.Row]) -> float:
    now = Store.now(tx)
    return sum(((row["completed_at"] or now) - row["started_at"]) / 60 for row in rows) / len(rows)


def _screen_out_amounts(tx: sqlite3.Connection, study: sqlite3.Row, minutes: float) -> tuple[int, int]:
    """(minimum, recommended) payment per submission: the account's hourly minimum and the study's
    own hourly rate, applied to the average time taken, rounded up to the minor unit."""
    data = json.loads(study["data"])
    minimum = math.ceil(int(Store.meta(tx, "minimum_reward_per_hour")) * minutes / 60)
    recommended = math.ceil(data["reward"] * minutes / data["estimated_completion_time"])
    return minimum, max(minimum, recommended)


def screen_out_payment(store: Store, study_id: str, body) -> tuple[int, dict]:
    with store.read() as tx:
        study, rows = _screened(tx, study_id, body)
        minutes = _minutes(tx, rows)
        minimum, recommended = _screen_out_amounts(tx, study, minutes)
        currency = Store.meta(tx, "currency_code")
        return 200, {
            "recommended_reward": {"amount": recommended, "currency": currency},
            "minimum_reward": {"amount": minimum, "currency": currency},
            "average_submission_time_minutes": round(minutes, 2),
        }


def screen_out(store: Store, study_id: str, body) -> tuple[int, dict]:
    """Screen submissions out (SCREENED OUT frees the place) and pay each the same bonus —
    `bonus_per_submission` in decimal major units, or `reward_per_hour` (minor units) for the
    average time — at least the minimum the calculator names. Done at once (Prolific answers 202
    and does it shortly after; nothing a client waits for)."""
    with store.write() as tx:
        study, rows = _screened(tx, study_id, body)
        minimum, _ = _screen_out_amounts(tx, study, _minutes(tx, rows))
        per_hour, bonus = body.get("reward_per_hour"), body.get("bonus_per_submission")
        if bonus is not None:
            try:
                cents = validation.cents_from_major(str(bonus))
            except ValueError as exc:
                raise invalid("bonus_per_submission", str(exc)) from None
        elif per_hour is not None:
            if isinstance(per_hour, bool) or not isinstance(per_hour, (int, float)) or per_hour <= 0:
                raise invalid("reward_per_hour", "A positive amount per hour in minor units.")
            cents = math.ceil(per_hour * _minutes(tx, rows) / 60)
        else:
            raise invalid("bonus_per_submission", "Give bonus_per_submission (or reward_per_hour).")
        if cents < minimum:
            raise invalid("bonus_per_submission", f"At least {money.major(minimum)} per submission (the minimum screen-out payment).")
        price = money.account_charge(tx, cents)
        total = price.times(len(rows)).total
        if Store.balance(tx) - committed(tx) < total:
            raise ApiError(400, f"Insufficient funds: the screen-out payments cost {money.major(total)}.", code=FUNDS)
        Store.charge(tx, total)
        now = Store.now(tx)
        tx.executemany(
            "INSERT INTO bonus_payments (setup_id, study_id, participant_id, submission_id, amount, fees, vat, paid_at) VALUES ('', ?, ?, ?, ?, ?, ?, ?)",
            [(study_id, row["participant_id"], row["id"], price.amount, price.fees, price.vat, now) for row in rows],
        )
        tx.executemany("UPDATE submissions SET status = 'SCREENED OUT', completed_at = COALESCE(completed_at, ?) WHERE id = ?", [(now, row["id"]) for row in rows])
        studies.refresh(tx, study_id)
        currency = Store.meta(tx, "currency_code")
    return 202, {"message": "The request to bulk screen out has been made successfully.", "payment_per_participant": {"amount": cents, "currency": currency}}

