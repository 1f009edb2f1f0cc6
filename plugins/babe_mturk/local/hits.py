"""HITs and HIT types in the local MTurk: creation, the status machine, expiry, and the
requester's HIT operations.

A HIT's status and its three counts (available, pending, completed) are stored on its row and
changed in the same transaction as the assignment that moves them, so GetHIT and every list read
one row per HIT instead of counting assignments, and never disagree with ListAssignmentsForHIT.
Reviewing and Disposed are requester decisions and stick; the other three statuses follow from
the counts and the clock (`derive_status`). Expiry is a clock event: the settler below marks HITs
whose lifetime ended, emits HITExpired, and moves those with nobody working to Reviewable.

Idempotency tokens (UniqueRequestToken) live here too, because the HIT family is their main user;
assignments.py uses the same two functions for SendBonus.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from decimal import Decimal
from typing import Any, Iterable

from babe_tasks import money
from babe_mturk.local import funds, ids, store
from babe_mturk.local.errors import RequestError, ValidationError
from babe_mturk.local.paging import page, paged_answer
from babe_mturk.local.service import Context, operation, settler

ASSIGNABLE = "Assignable"
UNASSIGNABLE = "Unassignable"
REVIEWABLE = "Reviewable"
REVIEWING = "Reviewing"
DISPOSED = "Disposed"

#: MTurk's default AutoApprovalDelayInSeconds: 30 days.
DEFAULT_AUTO_APPROVAL_DELAY = 30 * 24 * 3600
#: How long MTurk remembers a UniqueRequestToken.
TOKEN_MEMORY = 24 * 3600
#: Our TurkErrorCode for operations refused because of the HIT's status (MTurk's own code for this
#: is not documented; the message is MTurk's).
INVALID_HIT_STATE = "InvalidHITState"

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS hit_types (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL,
        signature TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        keywords TEXT,
        reward TEXT NOT NULL,
        assignment_duration INTEGER NOT NULL,
        auto_approval_delay INTEGER NOT NULL,
        requirements TEXT NOT NULL,
        masters INTEGER NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS hit_type_quals (
        qualification_type_id TEXT NOT NULL,
        hit_type_id TEXT NOT NULL,
        PRIMARY KEY (qualification_type_id, hit_type_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS hits (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        hit_type_id TEXT NOT NULL,
        created REAL NOT NULL,
        expiration REAL NOT NULL,
        expired INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        review_status TEXT NOT NULL DEFAULT 'NotReviewed',
        max_assignments INTEGER NOT NULL,
        available INTEGER NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0,
        completed INTEGER NOT NULL DEFAULT 0,
        question TEXT,
        annotation TEXT,
        layout_id TEXT,
        layout_params TEXT,
        assignment_review_policy TEXT,
        hit_review_policy TEXT
    );
    CREATE INDEX IF NOT EXISTS hits_status ON hits (status, seq);
    CREATE INDEX IF NOT EXISTS hits_type ON hits (hit_type_id, seq);
    CREATE INDEX IF NOT EXISTS hits_expiry_due ON hits (expiration) WHERE expired = 0;
    CREATE TABLE IF NOT EXISTS request_tokens (
        scope TEXT NOT NULL,
        token TEXT NOT NULL,
        created REAL NOT NULL,
        object_id TEXT NOT NULL,
        PRIMARY KEY (scope, token)
    ) WITHOUT ROWID
    """
)

HIT_SELECT = (
    "SELECT h.seq, h.id, h.hit_type_id, h.created, h.expiration, h.expired, h.status, h.review_status,"
    " h.max_assignments, h.available, h.pending, h.completed, h.question, h.annotation, h.layout_id,"
    " t.group_id, t.title, t.description, t.keywords, t.reward, t.assignment_duration,"
    " t.auto_approval_delay, t.requirements, t.masters"
    " FROM hits h JOIN hit_types t ON t.id = h.hit_type_id"
)


# -- peers (imported when called, so either side may be imported first) ---------------------------
def qualifications():
    from babe_mturk.local import qualifications as module

    return module


def emit(ctx: Context, event_type: str, *, hit_type_id: str, hit_id: str, assignment_id: str | None = None) -> None:
    """Hand one MTurk event to the notifications module (which knows who subscribed)."""
    from babe_mturk.local import notifications

    notifications.emit_event(ctx, event_type, hit_type_id=hit_type_id, hit_id=hit_id, assignment_id=assignment_id)


# -- idempotency tokens --------------------------------------------------------------------------
def remembered(ctx: Context, scope: str, token: str | None) -> str | None:
    """The object made under this token in the last 24 hours (local clock), if any."""
    if not token:
        return None
    row = ctx.tx.execute(
        "SELECT object_id, created FROM request_tokens WHERE scope = ? AND token = ?", (scope, token)
    ).fetchone()
    if row is not None and row["created"] + TOKEN_MEMORY > ctx.now:
        return row["object_id"]
    return None


def remember(ctx: Context, scope: str, token: str | None, object_id: str) -> None:
    """Record what a token made; a forgotten (older than 24 h) token is simply taken over."""
    if token:
        ctx.tx.execute(
            "INSERT OR REPLACE INTO request_tokens (scope, token, created, object_id) VALUES (?, ?, ?, ?)",
            (scope, token, ctx.now, object_id),
        )


def duplicate_request(token: str) -> RequestError:
    """The answer to a repeated SendBonus / CreateAdditionalAssignmentsForHIT token."""
    return RequestError(f'The idempotency token "{token}" has already been processed.', "DuplicateRequest")


# -- reading HITs --------------------------------------------------------------------------------
def load_hit(tx: sqlite3.Connection, hit_id: str) -> sqlite3.Row | None:
    return tx.execute(f"{HIT_SELECT} WHERE h.id = ?", (hit_id,)).fetchone()


def require_hit(ctx: Context, hit_id: str) -> sqlite3.Row:
    """The HIT's row joined with its type; MTurk's HITDoesNotExist if there is no such HIT."""
    row = load_hit(ctx.tx, hit_id)
    if row is None:
        raise RequestError(f"Hit {hit_id} does not exist.", "HITDoesNotExist")
    return row


def hit_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A HIT in botocore's `HIT` output shape; absent optional members are left out, as MTurk does."""
    hit: dict[str, Any] = {
        "HITId": row["id"],
        "HITTypeId": row["hit_type_id"],
        "HITGroupId": row["group_id"],
        "CreationTime": row["created"],
        "Title": row["title"],
        "Description": row["description"],
        "HITStatus": row["status"],
        "MaxAssignments": row["max_assignments"],
        "Reward": row["reward"],
        "AutoApprovalDelayInSeconds": row["auto_approval_delay"],
        "Expiration": row["expiration"],
        "AssignmentDurationInSeconds": row["assignment_duration"],
        "QualificationRequirements": json.loads(row["requirements"]),
        "HITReviewStatus": row["review_status"],
        "NumberOfAssignmentsPending": row["pending"],
        "NumberOfAssignmentsAvailable": row["available"],
        "NumberOfAssignmentsCompleted": row["completed"],
    }
    for member, column in (
        ("Question", "question"),
        ("Keywords", "keywords"),
        ("RequesterAnnotation", "annotation"),
        ("HITLayoutId", "layout_id"),
    ):
        if row[column] is not None:
            hit[member] = row[column]
    return hit


# -- the status machine --------------------------------------------------------------------------
def derive_status(available: int, pending: int, expired: bool) -> str:
    """The status MTurk shows for these counts, for a HIT the requester has not put in review.

    Reviewable once nobody is working on it and no more work can come (every slot used, or the
    HIT expired); Assignable while a worker could still accept it; Unassignable in between.
    """
    if pending == 0 and (available == 0 or expired):
        return REVIEWABLE
    if available > 0 and not expired:
        return ASSIGNABLE
    return UNASSIGNABLE


def _restatus(ctx: Context, hit_id: str, hit_type_id: str, status: str, available: int, pending: int, expired: int) -> str:
    if status in (REVIEWING, DISPOSED):
        return status
    new = derive_status(available, pending, bool(expired))
    if new != status:
        ctx.tx.execute("UPDATE hits SET status = ? WHERE id = ?", (new, hit_id))
        if new == REVIEWABLE:
            emit(ctx, "HITReviewable", hit_type_id=hit_type_id, hit_id=hit_id)
    return new


def adjust(ctx: Context, hit_id: str, *, available: int = 0, pending: int = 0, completed: int = 0) -> str:
    """Move a HIT's counts by these amounts and its status with them; returns the new status.

    The single place counts change, so they stay exact: each call is one UPDATE inside the
    caller's write transaction.
    """
    row = ctx.tx.execute(
        "UPDATE hits SET available = available + ?, pending = pending + ?, completed = completed + ?"
        " WHERE id = ? RETURNING hit_type_id, status, available, pending, expired",
        (available, pending, completed, hit_id),
    ).fetchone()
    return _restatus(ctx, hit_id, row["hit_type_id"], row["status"], row["available"], row["pending"], row["expired"])


def _expire(ctx: Context, hit_id: str, expiration: float | None = None) -> None:
    """The HIT's lifetime is over: no new workers; those who accepted may still submit."""
    if expiration is None:
        row = ctx.tx.execute(
            "UPDATE hits SET expired = 1 WHERE id = ? RETURNING hit_type_id, status, available, pending, expired",
            (hit_id,),
        ).fetchone()
    else:
        row = ctx.tx.execute(
            "UPDATE hits SET expired = 1, expiration = ? WHERE id = ?"
            " RETURNING hit_type_id, status, available, pending, expired",
            (expiration, hit_id),
        ).fetchone()
    if row["status"] != DISPOSED:
        emit(ctx, "HITExpired", hit_type_id=row["hit_type_id"], hit_id=hit_id)
    _restatus(ctx, hit_id, row["hit_type_id"], row["status"], row["available"], row["pending"], row["expired"])


def _expiry_due(tx: sqlite3.Connection, now: float) -> bool:
    return tx.execute("SELECT 1 FROM hits WHERE expired = 0 AND expiration <= ? LIMIT 1", (now,)).fetchone() is not None


@settler(due=_expiry_due)
def expire_due_hits(ctx: Context) -> None:
    """Apply every HIT expiry the clock has reached, oldest first."""
    rows = ctx.tx.execute(
        "SELECT id FROM hits WHERE expired = 0 AND expiration <= ? ORDER BY expiration", (ctx.now,)
    ).fetchall()
    for row in rows:
        _expire(ctx, row["id"])


def state_error(hit_id: str, status: str, allowed: Iterable[str]) -> RequestError:
    """MTurk's answer to an operation the HIT's status does not allow."""
    return RequestError(
        f"This HIT is currently in the state '{status}'. This operation can be called with a status of: "
        + ", ".join(allowed),
        INVALID_HIT_STATE,
    )


# -- HIT types -----------------------------------------------------------------------------------
def _reward(value: Any) -> Decimal:
    try:
        return money.parse_amount(value, what="Reward")
    except money.MoneyError as exc:
        raise ValidationError("Reward", str(exc)) from None


def ensure_hit_type(ctx: Context, params: dict) -> str:
    """The HITTypeId for these values: the existing one when every value matches, else a new one.

    Identity is by value (Reward compared as money, absent Keywords and AutoApprovalDelay as
    their defaults), which is what makes HITs posted separately share one HIT group.
    """
    reward = money.fmt(_reward(params["Reward"]))
    requirements = params.get("QualificationRequirements") or []
    qualifications().check_requirements(ctx, requirements)
    values = {
        "title": params["Title"],
        "description": params["Description"],
        "keywords": params.get("Keywords"),
        "reward": reward,
        "assignment_duration": int(params["AssignmentDurationInSeconds"]),
        "auto_approval_delay": int(params.get("AutoApprovalDelayInSeconds", DEFAULT_AUTO_APPROVAL_DELAY)),
        "requirements": json.dumps(requirements, sort_keys=True, separators=(",", ":")),
    }
    signature = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    row = ctx.tx.execute("SELECT id FROM hit_types WHERE signature = ?", (signature,)).fetchone()
    if row is not None:
        return row["id"]
    hit_type_id = ids.new_id()
    ctx.tx.execute(
        "INSERT INTO hit_types (id, group_id, signature, title, description, keywords, reward,"
        " assignment_duration, auto_approval_delay, requirements, masters, created)"
        " VALUES (:id, :group_id, :signature, :title, :description, :keywords, :reward,"
        " :assignment_duration, :auto_approval_delay, :requirements, :masters, :created)",
        {
            **values,
            "id": hit_type_id,
            "group_id": ids.new_id(),
            "signature": signature,
            "masters": int(bool(qualifications().is_masters(requirements))),
            "created": ctx.now,
        },
    )
    ctx.tx.executemany(
        "INSERT OR IGNORE INTO hit_type_quals (qualification_type_id, hit_type_id) VALUES (?, ?)",
        [(q["QualificationTypeId"], hit_type_id) for q in requirements],
    )
    return hit_type_id


def hit_type_exists(tx: sqlite3.Connection, hit_type_id: str) -> bool:
    return tx.execute("SELECT 1 FROM hit_types WHERE id = ?", (hit_type_id,)).fetchone() is not None


def _require_hit_type(ctx: Context, hit_type_id: str) -> None:
    if not hit_type_exists(ctx.tx, hit_type_id):
        raise RequestError(f"Hit type {hit_type_id} does not exist.", "HITTypeDoesNotExist")


@operation("CreateHITType", write=True)
def create_hit_type(ctx: Context, params: dict) -> dict:
    return {"HITTypeId": ensure_hit_type(ctx, params)}


# -- creating HITs -------------------------------------------------------------------------------
def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _refuse_duplicate_hit(ctx: Context, params: dict) -> None:
    existing = remembered(ctx, "CreateHIT", params.get("UniqueRequestToken"))
    if existing is not None:
        raise RequestError(
            f"There is already a HIT with this unique request token. HITId: {existing}", "HitAlreadyExists"
        )


def _insert_hit(ctx: Context, hit_type_id: str, params: dict) -> dict:
    has_question = params.get("Question") is not None
    has_layout = params.get("HITLayoutId") is not None
    if has_question == has_layout:
        raise ValidationError("Question", "give exactly one of Question and HITLayoutId")
    max_assignments = int(params.get("MaxAssignments", 1))
    kind = ctx.tx.execute("SELECT reward, masters FROM hit_types WHERE id = ?", (hit_type_id,)).fetchone()
    funds.require(ctx.tx, ctx.now, funds.unit_cost(kind["reward"], max_assignments, bool(kind["masters"])) * max_assignments)
    hit_id = ids.new_id()
    ctx.tx.execute(
        "INSERT INTO hits (id, hit_type_id, created, expiration, status, max_assignments, available,"
        " question, annotation, layout_id, layout_params, assignment_review_policy, hit_review_policy)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hit_id,
            hit_type_id,
            ctx.now,
            ctx.now + int(params["LifetimeInSeconds"]),
            ASSIGNABLE,
            max_assignments,
            max_assignments,
            params.get("Question"),
            params.get("RequesterAnnotation"),
            params.get("HITLayoutId"),
            _json_or_none(params.get("HITLayoutParameters")),
            _json_or_none(params.get("AssignmentReviewPolicy")),
            _json_or_none(params.get("HITReviewPolicy")),
        ),
    )
    remember(ctx, "CreateHIT", params.get("UniqueRequestToken"), hit_id)
    return {"HIT": hit_dict(load_hit(ctx.tx, hit_id))}


@operation("CreateHIT", write=True)
def create_hit(ctx: Context, params: dict) -> dict:
    _refuse_duplicate_hit(ctx, params)
    return _insert_hit(ctx, ensure_hit_type(ctx, params), params)


@operation("CreateHITWithHITType", write=True)
def create_hit_with_hit_type(ctx: Context, params: dict) -> dict:
    _refuse_duplicate_hit(ctx, params)
    _require_hit_type(ctx, params["HITTypeId"])
    return _insert_hit(ctx, params["HITTypeId"], params)


# -- reading and listing HITs --------------------------------------------------------------------
@operation("GetHIT")
def get_hit(ctx: Context, params: dict) -> dict:
    return {"HIT": hit_dict(require_hit(ctx, params["HITId"]))}


@operation("ListHITs")
def list_hits(ctx: Context, params: dict) -> dict:
    items, token = page(ctx.tx, "ListHITs", params, f"{HIT_SELECT} WHERE h.status != 'Disposed'", (), hit_dict, token_on_last_page=True)
    return paged_answer("HITs", items, token)


@operation("ListReviewableHITs")
def list_reviewable_hits(ctx: Context, params: dict) -> dict:
    status = params.get("Status", REVIEWABLE)
    if status not in (REVIEWABLE, REVIEWING):
        raise ValidationError("Status", "must be Reviewable or Reviewing")
    sql, args = f"{HIT_SELECT} WHERE h.status = ?", [status]
    if params.get("HITTypeId"):
        sql += " AND h.hit_type_id = ?"
        args.append(params["HITTypeId"])
    items, token = page(ctx.tx, "ListReviewableHITs", params, sql, args, hit_dict)
    return paged_answer("HITs", items, token)


@operation("ListHITsForQualificationType")
def list_hits_for_qualification_type(ctx: Context, params: dict) -> dict:
    qualification_type_id = params["QualificationTypeId"]
    qualifications().require_type(ctx, qualification_type_id)
    sql = (
        f"{HIT_SELECT} JOIN hit_type_quals q ON q.hit_type_id = h.hit_type_id"
        " WHERE q.qualification_type_id = ? AND h.status != 'Disposed'"
    )
    items, token = page(ctx.tx, "ListHITsForQualificationType", params, sql, (qualification_type_id,), hit_dict)
    return paged_answer("HITs", items, token)


@operation("ListReviewPolicyResultsForHIT")
def list_review_policy_results_for_hit(ctx: Context, params: dict) -> dict:
    """Policies come back as given; the local MTurk runs no review policies, so reports are empty."""
    hit_id = params["HITId"]
    require_hit(ctx, hit_id)
    row = ctx.tx.execute(
        "SELECT assignment_review_policy, hit_review_policy FROM hits WHERE id = ?", (hit_id,)
    ).fetchone()
    answer: dict[str, Any] = {"HITId": hit_id}
    if row["assignment_review_policy"]:
        answer["AssignmentReviewPolicy"] = json.loads(row["assignment_review_policy"])
    if row["hit_review_policy"]:
        answer["HITReviewPolicy"] = json.loads(row["hit_review_policy"])
    levels = params.get("PolicyLevels") or ["Assignment", "HIT"]
    empty = {"ReviewResults": [], "ReviewActions": []}
    if "Assignment" in levels:
        answer["AssignmentReviewReport"] = dict(empty)
    if "HIT" in levels:
        answer["HITReviewReport"] = dict(empty)
    return answer


# -- changing HITs -------------------------------------------------------------------------------
@operation("UpdateExpirationForHIT", write=True)
def update_expiration_for_hit(ctx: Context, params: dict) -> dict:
    """A past ExpireAt (0 included) expires the HIT now; a future one sets a new expiration."""
    hit = require_hit(ctx, params["HITId"])
    if hit["status"] == DISPOSED:
        raise RequestError(f"Hit {hit['id']} has been deleted and can no longer be updated.", "HITTooOldForExtension")
    expire_at = float(params["ExpireAt"])
    if expire_at <= ctx.now:
        if not hit["expired"]:
            _expire(ctx, hit["id"], expiration=ctx.now)
        return {}
    row = ctx.tx.execute(
        "UPDATE hits SET expiration = ?, expired = 0 WHERE id = ?"
        " RETURNING hit_type_id, status, available, pending, expired",
        (expire_at, hit["id"]),
    ).fetchone()
    _restatus(ctx, hit["id"], row["hit_type_id"], row["status"], row["available"], row["pending"], row["expired"])
    return {}


@operation("UpdateHITReviewStatus", write=True)
def update_hit_review_status(ctx: Context, params: dict) -> dict:
    """Revert=false moves Reviewable → Reviewing; Revert=true moves Reviewing back."""
    hit = require_hit(ctx, params["HITId"])
    if params.get("Revert"):
        if hit["status"] != REVIEWING:
            raise state_error(hit["id"], hit["status"], [REVIEWING])
        # Back to what the counts and the clock say: Reviewable, unless the HIT was extended or
        # given more assignments while in review. Not announced again: it was Reviewable before.
        status = derive_status(hit["available"], hit["pending"], bool(hit["expired"]))
        ctx.tx.execute("UPDATE hits SET status = ? WHERE id = ?", (status, hit["id"]))
    else:
        if hit["status"] != REVIEWABLE:
            raise state_error(hit["id"], hit["status"], [REVIEWABLE])
        ctx.tx.execute("UPDATE hits SET status = ? WHERE id = ?", (REVIEWING, hit["id"]))
    return {}


@operation("UpdateHITTypeOfHIT", write=True)
def update_hit_type_of_hit(ctx: Context, params: dict) -> dict:
    hit = require_hit(ctx, params["HITId"])
    if hit["status"] == DISPOSED:
        raise state_error(hit["id"], hit["status"], [ASSIGNABLE, UNASSIGNABLE, REVIEWABLE, REVIEWING])
    _require_hit_type(ctx, params["HITTypeId"])
    ctx.tx.execute("UPDATE hits SET hit_type_id = ? WHERE id = ?", (params["HITTypeId"], hit["id"]))
    return {}


@operation("DeleteHIT", write=True)
def delete_hit(ctx: Context, params: dict) -> dict:
    """Dispose of a HIT whose work is all reviewed; MTurk's message names the statuses allowed.

    A Reviewable HIT with submitted-but-unreviewed work gets the same message (naming Reviewable,
    oddly): that is what MTurk answers.
    """
    from babe_mturk.local.assignments import has_unreviewed

    hit = require_hit(ctx, params["HITId"])
    if hit["status"] not in (REVIEWABLE, REVIEWING) or hit["pending"] or has_unreviewed(ctx, hit["id"]):
        raise state_error(hit["id"], hit["status"], [REVIEWING, REVIEWABLE])
    ctx.tx.execute("UPDATE hits SET status = ?, expired = 1 WHERE id = ?", (DISPOSED, hit["id"]))
    return {}


@operation("CreateAdditionalAssignmentsForHIT", write=True)
def create_additional_assignments_for_hit(ctx: Context, params: dict) -> dict:
    token = params.get("UniqueRequestToken")
    if remembered(ctx, "CreateAdditionalAssignmentsForHIT", token) is not None:
        raise duplicate_request(token)
    extra = int(params["NumberOfAdditionalAssignments"])
    if extra < 1:
        raise ValidationError("NumberOfAdditionalAssignments", "must be at least 1")
    hit = require_hit(ctx, params["HITId"])
    if hit["status"] in (REVIEWING, DISPOSED):
        raise state_error(hit["id"], hit["status"], [ASSIGNABLE, UNASSIGNABLE, REVIEWABLE])
    limit = money.LARGE_HIT_ASSIGNMENTS
    if hit["max_assignments"] < limit <= hit["max_assignments"] + extra:
        raise RequestError(
            f"Hit {hit['id']} was created with fewer than {limit} assignments and cannot be raised to"
            f" {limit} or more (it has {hit['max_assignments']}).",
            "InvalidMaximumAssignmentsIncrease",
        )
    funds.require(ctx.tx, ctx.now, funds.unit_cost(hit["reward"], hit["max_assignments"] + extra, bool(hit["masters"])) * extra)
    ctx.tx.execute("UPDATE hits SET max_assignments = max_assignments + ? WHERE id = ?", (extra, hit["id"]))
    adjust(ctx, hit["id"], available=extra)
    remember(ctx, "CreateAdditionalAssignmentsForHIT", token, hit["id"])
    return {}


# -- the worker side -----------------------------------------------------------------------------
def assignable_hits(ctx: Context, hit_ids: Iterable[str] | None = None) -> list[dict]:
    """HITs a worker could accept now, in creation order, with what the worker must meet."""
    sql = (
        "SELECT h.id, h.hit_type_id, h.available, t.requirements FROM hits h JOIN hit_types t ON t.id = h.hit_type_id"
        " WHERE h.status = 'Assignable' AND h.expiration > ? AND h.available > 0"
    )
    args: list[Any] = [ctx.now]
    if hit_ids is not None:
        wanted = list(dict.fromkeys(hit_ids))
        if not wanted:
            return []
        sql += f" AND h.id IN ({','.join('?' * len(wanted))})"
        args.extend(wanted)
    rows = ctx.tx.execute(sql + " ORDER BY h.seq", args).fetchall()
    return [
        {
            "hit_id": r["id"],
            "hit_type_id": r["hit_type_id"],
            "requirements": json.loads(r["requirements"]),
            "available": r["available"],
        }
        for r in rows
    ]
