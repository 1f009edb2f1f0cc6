"""Assignments, payments and the account in the local MTurk.

An assignment lives Accepted → Submitted → Approved | Rejected, or ends Returned / Abandoned
(which free its slot). The requester API only ever shows Submitted, Approved and Rejected ones;
the worker side (`accept`, `submit`, `return_assignment`) is what simulated workers call.

Money moves only here, each time inside the write transaction that changes the assignment:
approval charges reward + fee (`money.assignment_fee`), SendBonus charges bonus + fee. Since
writes take the lock at once (`BEGIN IMMEDIATE`), two requesters approving the same assignment
from two processes cannot both succeed, and the balance stays exact to the cent.

The reward paid is the one the worker accepted (kept on the assignment), the fee uses the HIT's
MaxAssignments and Masters requirement at the time of approval.
"""

from __future__ import annotations

import json
import re
import sqlite3
from decimal import Decimal
from typing import Any

from babe_tasks import money
from babe_mturk.local import funds, hits, ids, store
from babe_mturk.local.errors import RequestError, ValidationError
from babe_mturk.local.paging import page, paged_answer
from babe_mturk.local.service import Context, operation, run_settlers, settler
from babe_mturk.local.store import Store

ACCEPTED = "Accepted"
SUBMITTED = "Submitted"
APPROVED = "Approved"
REJECTED = "Rejected"
RETURNED = "Returned"
ABANDONED = "Abandoned"
#: Statuses the requester API shows; the others are the worker's business.
VISIBLE = (SUBMITTED, APPROVED, REJECTED)
#: Statuses that hold the worker's one assignment per HIT.
HOLDING = (ACCEPTED, SUBMITTED, APPROVED, REJECTED)
#: How long after submission a rejection can still be overridden.
OVERRIDE_WINDOW = 30 * 24 * 3600
WORKER_ID = re.compile(r"^A[A-Z0-9]{1,63}$")
NOT_SUBMITTED = "This operation can be called with a status of: Submitted"

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS assignments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        hit_id TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        status TEXT NOT NULL,
        reward TEXT NOT NULL,
        accept_time REAL NOT NULL,
        deadline REAL NOT NULL,
        submit_time REAL,
        auto_approval_time REAL,
        approval_time REAL,
        rejection_time REAL,
        answer TEXT,
        feedback TEXT
    );
    CREATE INDEX IF NOT EXISTS assignments_hit ON assignments (hit_id, seq);
    CREATE INDEX IF NOT EXISTS assignments_worker ON assignments (worker_id, hit_id);
    CREATE INDEX IF NOT EXISTS assignments_deadline_due ON assignments (deadline) WHERE status = 'Accepted';
    CREATE INDEX IF NOT EXISTS assignments_approval_due ON assignments (auto_approval_time) WHERE status = 'Submitted';
    CREATE TABLE IF NOT EXISTS bonus_payments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id TEXT NOT NULL,
        assignment_id TEXT NOT NULL,
        hit_id TEXT NOT NULL,
        amount TEXT NOT NULL,
        reason TEXT NOT NULL,
        grant_time REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS bonus_payments_hit ON bonus_payments (hit_id, seq);
    CREATE INDEX IF NOT EXISTS bonus_payments_assignment ON bonus_payments (assignment_id, seq)
    """
)

#: An assignment with what paying for it needs from its HIT and HIT type.
ASSIGNMENT_SELECT = (
    "SELECT a.*, h.hit_type_id, h.max_assignments, h.status AS hit_status, t.masters, t.auto_approval_delay"
    " FROM assignments a JOIN hits h ON h.id = a.hit_id JOIN hit_types t ON t.id = h.hit_type_id"
)


# -- reading -------------------------------------------------------------------------------------
def _load(ctx: Context, assignment_id: str) -> sqlite3.Row | None:
    return ctx.tx.execute(f"{ASSIGNMENT_SELECT} WHERE a.id = ?", (assignment_id,)).fetchone()


def _missing(assignment_id: str) -> RequestError:
    return RequestError(f"Assignment {assignment_id} does not exist.", "AssignmentDoesNotExist")


def require_assignment(ctx: Context, assignment_id: str, *, visible: bool = True) -> sqlite3.Row:
    """The assignment; to the requester, one never submitted does not exist (as on MTurk)."""
    row = _load(ctx, assignment_id)
    if row is None or (visible and row["status"] not in VISIBLE):
        raise _missing(assignment_id)
    return row


def assignment_dict(row: sqlite3.Row) -> dict[str, Any]:
    """An assignment in botocore's `Assignment` output shape."""
    answer: dict[str, Any] = {
        "AssignmentId": row["id"],
        "WorkerId": row["worker_id"],
        "HITId": row["hit_id"],
        "AssignmentStatus": row["status"],
        "AcceptTime": row["accept_time"],
        "Deadline": row["deadline"],
    }
    for member, column in (
        ("AutoApprovalTime", "auto_approval_time"),
        ("SubmitTime", "submit_time"),
        ("ApprovalTime", "approval_time"),
        ("RejectionTime", "rejection_time"),
        ("Answer", "answer"),
        ("RequesterFeedback", "feedback"),
    ):
        if row[column] is not None:
            answer[member] = row[column]
    return answer


def has_unreviewed(ctx: Context, hit_id: str) -> bool:
    """True while some submitted assignment of the HIT is neither approved nor rejected."""
    return (
        ctx.tx.execute(
            "SELECT 1 FROM assignments WHERE hit_id = ? AND status = 'Submitted' LIMIT 1", (hit_id,)
        ).fetchone()
        is not None
    )


@operation("GetAssignment")
def get_assignment(ctx: Context, params: dict) -> dict:
    row = require_assignment(ctx, params["AssignmentId"])
    return {"Assignment": assignment_dict(row), "HIT": hits.hit_dict(hits.load_hit(ctx.tx, row["hit_id"]))}


@operation("ListAssignmentsForHIT")
def list_assignments_for_hit(ctx: Context, params: dict) -> dict:
    hit_id = params["HITId"]
    hits.require_hit(ctx, hit_id)
    statuses = params.get("AssignmentStatuses") or list(VISIBLE)
    unknown = [s for s in statuses if s not in VISIBLE]
    if unknown:
        raise ValidationError("AssignmentStatuses", f"{unknown[0]!r} is not one of {', '.join(VISIBLE)}")
    marks = ",".join("?" * len(statuses))
    items, token = page(
        ctx.tx,
        "ListAssignmentsForHIT",
        params,
        f"SELECT * FROM assignments WHERE hit_id = ? AND status IN ({marks})",
        (hit_id, *statuses),
        assignment_dict,
    )
    return paged_answer("Assignments", items, token)


# -- paying --------------------------------------------------------------------------------------
def assignment_cost(row: sqlite3.Row) -> Decimal:
    """Reward + MTurk's fee for approving this assignment (row from ASSIGNMENT_SELECT)."""
    reward = Decimal(row["reward"])
    return reward + money.assignment_fee(reward, row["max_assignments"], masters=bool(row["masters"]))


def _require_funds(ctx: Context, amount: Decimal) -> None:
    """Approving a Submitted assignment: its cost is part of what its HIT held, so only the
    balance itself must cover it (it falls short only when the balance was lowered by hand)."""
    if Store.balance(ctx.tx) < amount:
        raise funds.refusal()


def _approve(ctx: Context, row: sqlite3.Row, *, when: float, feedback: str | None = None) -> None:
    """Approve and pay; the caller has checked the status (and funds, unless MTurk must pay)."""
    Store.charge(ctx.tx, assignment_cost(row))
    ctx.tx.execute(
        "UPDATE assignments SET status = 'Approved', approval_time = ?, rejection_time = NULL,"
        " feedback = COALESCE(?, feedback) WHERE id = ?",
        (when, feedback, row["id"]),
    )
    if row["status"] == SUBMITTED:  # an overridden rejection was counted as completed already
        hits.adjust(ctx, row["hit_id"], completed=1)
    hits.emit(ctx, "AssignmentApproved", hit_type_id=row["hit_type_id"], hit_id=row["hit_id"], assignment_id=row["id"])


@operation("ApproveAssignment", write=True)
def approve_assignment(ctx: Context, params: dict) -> dict:
    """Approve a Submitted assignment, or with OverrideRejection a Rejected one submitted ≤ 30 days ago."""
    assignment_id = params["AssignmentId"]
    row = _load(ctx, assignment_id)
    if row is None:
        raise _missing(assignment_id)
    if row["status"] == REJECTED and params.get("OverrideRejection"):
        if row["submit_time"] + OVERRIDE_WINDOW < ctx.now:
            raise RequestError(
                "A rejection can be overridden only within 30 days of the assignment's submission.",
                "InvalidAssignmentState",
            )
        if row["hit_status"] == hits.DISPOSED:  # Amazon refuses to pay for work of a deleted HIT
            raise hits.state_error(row["hit_id"], hits.DISPOSED, [hits.ASSIGNABLE, hits.UNASSIGNABLE, hits.REVIEWABLE, hits.REVIEWING])
        funds.require(ctx.tx, ctx.now, assignment_cost(row))  # a rejection gave its money back
    elif row["status"] != SUBMITTED:
        raise RequestError(NOT_SUBMITTED, "InvalidAssignmentState")
    else:
        _require_funds(ctx, assignment_cost(row))
    _approve(ctx, row, when=ctx.now, feedback=params.get("RequesterFeedback"))
    return {}


@operation("RejectAssignment", write=True)
def reject_assignment(ctx: Context, params: dict) -> dict:
    """Reject a Submitted assignment; it costs nothing, and the worker reads the feedback."""
    assignment_id = params["AssignmentId"]
    row = _load(ctx, assignment_id)
    if row is None:
        raise _missing(assignment_id)
    if row["status"] != SUBMITTED:
        raise RequestError(NOT_SUBMITTED, "InvalidAssignmentState")
    # Required by the service model (botocore refuses a request without it), but may be empty:
    # Amazon accepts '' (psiTurk always sends it), and the worker then reads no reason.
    feedback = params.get("RequesterFeedback") or ""
    ctx.tx.execute(
        "UPDATE assignments SET status = 'Rejected', rejection_time = ?, feedback = ? WHERE id = ?",
        (ctx.now, feedback, assignment_id),
    )
    hits.adjust(ctx, row["hit_id"], completed=1)
    hits.emit(ctx, "AssignmentRejected", hit_type_id=row["hit_type_id"], hit_id=row["hit_id"], assignment_id=assignment_id)
    return {}


# -- bonuses -------------------------------------------------------------------------------------
def _bonus_amount(value: Any) -> Decimal:
    try:
        return money.parse_amount(value, what="BonusAmount")
    except money.MoneyError as exc:
        raise ValidationError("BonusAmount", str(exc)) from None


@operation("SendBonus", write=True)
def send_bonus(ctx: Context, params: dict) -> dict:
    """Pay a worker extra for an assignment they submitted; charges the bonus + its fee."""
    token = params.get("UniqueRequestToken")
    if hits.remembered(ctx, "SendBonus", token) is not None:
        raise hits.duplicate_request(token)
    amount = _bonus_amount(params["BonusAmount"])
    if not params["Reason"].strip():
        raise ValidationError("Reason", "must not be empty: MTurk shows the reason to the worker")
    assignment_id, worker_id = params["AssignmentId"], params["WorkerId"]
    row = require_assignment(ctx, assignment_id)
    if row["worker_id"] != worker_id:
        raise RequestError(
            f"Worker {worker_id} did not work on assignment {assignment_id}.", "InvalidParameterValue"
        )
    cost = amount + money.bonus_fee(amount)
    funds.require(ctx.tx, ctx.now, cost)
    Store.charge(ctx.tx, cost)
    cursor = ctx.tx.execute(
        "INSERT INTO bonus_payments (worker_id, assignment_id, hit_id, amount, reason, grant_time)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (worker_id, assignment_id, row["hit_id"], money.fmt(amount), params["Reason"], ctx.now),
    )
    hits.remember(ctx, "SendBonus", token, str(cursor.lastrowid))
    return {}


def _bonus_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "WorkerId": row["worker_id"],
        "BonusAmount": row["amount"],
        "AssignmentId": row["assignment_id"],
        "Reason": row["reason"],
        "GrantTime": row["grant_time"],
    }


@operation("ListBonusPayments")
def list_bonus_payments(ctx: Context, params: dict) -> dict:
    hit_id, assignment_id = params.get("HITId"), params.get("AssignmentId")
    if (hit_id is None) == (assignment_id is None):
        raise ValidationError("HITId", "give exactly one of HITId and AssignmentId")
    if hit_id is not None:
        hits.require_hit(ctx, hit_id)
        sql, args = "SELECT * FROM bonus_payments WHERE hit_id = ?", (hit_id,)
    else:
        if _load(ctx, assignment_id) is None:
            raise _missing(assignment_id)
        sql, args = "SELECT * FROM bonus_payments WHERE assignment_id = ?", (assignment_id,)
    items, token = page(ctx.tx, "ListBonusPayments", params, sql, args, _bonus_dict)
    return paged_answer("BonusPayments", items, token)


@operation("GetAccountBalance")
def get_account_balance(ctx: Context, params: dict) -> dict:
    """Nothing is ever on hold: MTurk charges at approval, and so do we."""
    return {"AvailableBalance": money.fmt(Store.balance(ctx.tx)), "OnHoldBalance": "0.00"}


# -- the worker side -----------------------------------------------------------------------------
def accept(ctx: Context, hit_id: str, worker_id: str) -> str:
    """A worker takes one slot of a HIT; returns the new assignment's id.

    Refused (RequestError) when the HIT is unknown or cannot be accepted now, when the worker
    already holds an assignment of it (a returned or abandoned one does not count), is blocked,
    or does not meet its qualification requirements.
    """
    from babe_mturk.local import blocks

    if not WORKER_ID.match(worker_id or ""):
        raise ValidationError("WorkerId", "must match ^A[A-Z0-9]+$")
    run_settlers(ctx)  # slots of abandoned assignments are free, expired HITs closed
    hit = hits.require_hit(ctx, hit_id)
    if hit["status"] != hits.ASSIGNABLE or hit["expiration"] <= ctx.now or hit["available"] < 1:
        state = hit["status"] if hit["expiration"] > ctx.now or hit["status"] == hits.DISPOSED else "expired"
        raise RequestError(f"Hit {hit_id} cannot be accepted now (it is {state}).", "HITNotAssignable")
    held = ctx.tx.execute(
        "SELECT 1 FROM assignments WHERE worker_id = ? AND hit_id = ? AND status IN (?, ?, ?, ?) LIMIT 1",
        (worker_id, hit_id, *HOLDING),
    ).fetchone()
    if held is not None:
        raise RequestError(f"Worker {worker_id} already has an assignment of hit {hit_id}.", "DuplicateAssignment")
    if blocks.is_blocked(ctx, worker_id):
        raise RequestError(f"Worker {worker_id} is blocked by this requester.", "WorkerBlocked")
    met, reason = hits.qualifications().worker_meets(ctx, worker_id, json.loads(hit["requirements"]))
    if not met:
        raise RequestError(
            f"Worker {worker_id} does not meet the qualification requirements of hit {hit_id}: {reason}",
            "QualificationRequirementNotMet",
        )
    assignment_id = ids.new_id()
    ctx.tx.execute(
        "INSERT INTO assignments (id, hit_id, worker_id, status, reward, accept_time, deadline)"
        " VALUES (?, ?, ?, 'Accepted', ?, ?, ?)",
        (assignment_id, hit_id, worker_id, hit["reward"], ctx.now, ctx.now + hit["assignment_duration"]),
    )
    hits.adjust(ctx, hit_id, available=-1, pending=1)
    hits.emit(ctx, "AssignmentAccepted", hit_type_id=hit["hit_type_id"], hit_id=hit_id, assignment_id=assignment_id)
    return assignment_id


def _require_working(ctx: Context, assignment_id: str) -> sqlite3.Row:
    row = require_assignment(ctx, assignment_id, visible=False)
    if row["status"] != ACCEPTED:
        raise RequestError(
            f"Assignment {assignment_id} is {row['status']}. This operation can be called with a status of: Accepted",
            "InvalidAssignmentState",
        )
    if row["deadline"] < ctx.now:
        raise RequestError(
            f"The time allotted for assignment {assignment_id} ran out; it is abandoned.", "AssignmentDeadlinePassed"
        )
    return row


def submit(ctx: Context, assignment_id: str, answer_xml: str) -> None:
    """The worker hands in their answer (QuestionFormAnswers XML) before the deadline.

    AutoApprovalTime is set from the HIT's AutoApprovalDelayInSeconds; a delay of 0 approves and
    pays at once, as MTurk does.
    """
    row = _require_working(ctx, assignment_id)
    auto_approval_time = ctx.now + row["auto_approval_delay"]
    ctx.tx.execute(
        "UPDATE assignments SET status = 'Submitted', submit_time = ?, auto_approval_time = ?, answer = ? WHERE id = ?",
        (ctx.now, auto_approval_time, answer_xml, assignment_id),
    )
    hits.emit(ctx, "AssignmentSubmitted", hit_type_id=row["hit_type_id"], hit_id=row["hit_id"], assignment_id=assignment_id)
    hits.adjust(ctx, row["hit_id"], pending=-1)  # after the event: HITReviewable may follow it
    if auto_approval_time <= ctx.now:
        _approve(ctx, _load(ctx, assignment_id), when=ctx.now)


def return_assignment(ctx: Context, assignment_id: str) -> None:
    """The worker gives the assignment back unfinished; the slot is free for someone else."""
    row = _require_working(ctx, assignment_id)
    ctx.tx.execute("UPDATE assignments SET status = 'Returned' WHERE id = ?", (assignment_id,))
    hits.emit(ctx, "AssignmentReturned", hit_type_id=row["hit_type_id"], hit_id=row["hit_id"], assignment_id=assignment_id)
    hits.adjust(ctx, row["hit_id"], available=1, pending=-1)


# -- clock-driven events -------------------------------------------------------------------------
def _due(tx: sqlite3.Connection, now: float) -> bool:
    return bool(
        tx.execute(
            "SELECT EXISTS (SELECT 1 FROM assignments WHERE status = 'Accepted' AND deadline < ?1)"
            " OR EXISTS (SELECT 1 FROM assignments WHERE status = 'Submitted' AND auto_approval_time <= ?1)",
            (now,),
        ).fetchone()[0]
    )


@settler(due=_due)
def settle_assignments(ctx: Context) -> None:
    """Abandon assignments past their deadline; auto-approve (and pay) those past AutoApprovalTime.

    Auto-approval pays even when the balance is short: the worker is owed the money, and MTurk
    does not take approved work back. The balance can then go below zero.
    """
    for row in ctx.tx.execute(
        f"{ASSIGNMENT_SELECT} WHERE a.status = 'Accepted' AND a.deadline < ? ORDER BY a.deadline", (ctx.now,)
    ).fetchall():
        ctx.tx.execute("UPDATE assignments SET status = 'Abandoned' WHERE id = ?", (row["id"],))
        hits.emit(ctx, "AssignmentAbandoned", hit_type_id=row["hit_type_id"], hit_id=row["hit_id"], assignment_id=row["id"])
        hits.adjust(ctx, row["hit_id"], available=1, pending=-1)
    for row in ctx.tx.execute(
        f"{ASSIGNMENT_SELECT} WHERE a.status = 'Submitted' AND a.auto_approval_time <= ? ORDER BY a.auto_approval_time",
        (ctx.now,),
    ).fetchall():
        _approve(ctx, row, when=row["auto_approval_time"])
