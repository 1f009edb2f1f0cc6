"""Qualification types, workers' scores, qualification requests, and whether a worker meets a HIT.

Amazon's system qualification types (Masters, Locale, Adult, NumberHITsApproved,
PercentAssignmentsApproved) are rows of the same table with `system = 1`, inserted when a state file
opens: GetQualificationType answers them like any other type, but they are never owned by the
caller, cannot be granted by hand, and a worker's score on them is read from the simulated
worker's record (workers.py) — which is how a Locale requirement keeps a DE worker off a US HIT.

A worker without a score meets only `DoesNotExist`: MTurk's documentation defines every other
comparator, `NotEqualTo` and `NotIn` included, on the worker's value, so a worker who has no value
cannot satisfy them. A revoked qualification counts as no score.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable

from babe_mturk.local import store
from babe_mturk.local.errors import RequestError, ValidationError
from babe_mturk.local.ids import new_id
from babe_mturk.local.misc import record_message
from babe_mturk.local.paging import page, paged_answer
from babe_mturk.local.service import Context, operation

MASTERS_LIVE = "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"
MASTERS_SANDBOX = "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"
NUMBER_HITS_APPROVED = "00000000000000000040"
LOCALE = "00000000000000000071"
ADULT = "00000000000000000060"
PERCENT_APPROVED = "000000000000000000L0"
MASTERS_IDS = frozenset({MASTERS_LIVE, MASTERS_SANDBOX})
SYSTEM_IDS = frozenset({MASTERS_LIVE, MASTERS_SANDBOX, NUMBER_HITS_APPROVED, LOCALE, ADULT, PERCENT_APPROVED})

#: Amazon's system types: (id, name, description, keywords).
SYSTEM_TYPES = (
    (MASTERS_LIVE, "Masters", "Workers who have demonstrated excellence across a wide range of HITs.", "Masters"),
    (MASTERS_SANDBOX, "Masters", "Workers who have demonstrated excellence across a wide range of HITs (sandbox).", "Masters"),
    (NUMBER_HITS_APPROVED, "Worker_NumberHITsApproved", "The number of HITs of the worker that requesters approved.", "system"),
    (LOCALE, "Worker_Locale", "The location of the worker, as ISO 3166 country and subdivision.", "system,location"),
    (ADULT, "Worker_Adult", "The worker agreed to see potentially offensive content.", "system,adult"),
    (PERCENT_APPROVED, "Worker_PercentAssignmentsApproved", "The percentage of the worker's assignments that requesters approved.", "system"),
)
#: When Amazon's system types were "created" (2017-01-17, the API's date), for CreationTime.
SYSTEM_CREATION_TIME = 1484611200.0

#: MTurk may take up to 48 hours to dispose of a deleted type; until then its name stays taken.
DISPOSE_SECONDS = 48 * 3600
MAX_REQUIREMENTS = 10
#: In/NotIn take up to 15 IntegerValues but up to 30 LocaleValues (MTurk's QualificationRequirement).
MAX_IN_INTEGERS = 15
MAX_IN_LOCALES = 30
MAX_DESCRIPTION = 2000
MAX_KEYWORDS = 1000
LOCALE_COMPARATORS = frozenset({"EqualTo", "NotEqualTo", "In", "NotIn", "Exists", "DoesNotExist"})
SET_COMPARATORS = frozenset({"In", "NotIn"})
PRESENCE_COMPARATORS = frozenset({"Exists", "DoesNotExist"})

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS qualification_types (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        system INTEGER NOT NULL DEFAULT 0,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        keywords TEXT,
        status TEXT NOT NULL,
        creation_time REAL NOT NULL,
        disposed_time REAL,
        retry_delay INTEGER,
        test TEXT,
        answer_key TEXT,
        test_duration INTEGER,
        auto_granted INTEGER NOT NULL DEFAULT 0,
        auto_granted_value INTEGER
    );
    CREATE INDEX IF NOT EXISTS qualification_types_name ON qualification_types (name, system);
    CREATE TABLE IF NOT EXISTS worker_qualifications (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type_id TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        integer_value INTEGER,
        status TEXT NOT NULL,
        grant_time REAL NOT NULL,
        reason TEXT,
        UNIQUE (type_id, worker_id)
    );
    CREATE INDEX IF NOT EXISTS worker_qualifications_list ON worker_qualifications (type_id, status, seq);
    CREATE TABLE IF NOT EXISTS qualification_requests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type_id TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        test TEXT,
        answer TEXT,
        submit_time REAL NOT NULL,
        status TEXT NOT NULL,
        integer_value INTEGER,
        reason TEXT,
        decided_time REAL
    );
    CREATE INDEX IF NOT EXISTS qualification_requests_pending ON qualification_requests (status, type_id, seq);
    CREATE INDEX IF NOT EXISTS qualification_requests_worker ON qualification_requests (worker_id, type_id, seq)
    """
)
store.register_schema(
    ";\n".join(
        "INSERT OR IGNORE INTO qualification_types (id, system, name, description, keywords, status, creation_time) "
        f"VALUES ('{tid}', 1, '{name}', '{desc.replace(chr(39), chr(39) * 2)}', '{kw}', 'Active', {SYSTEM_CREATION_TIME})"
        for tid, name, desc, kw in SYSTEM_TYPES
    )
)


# -- lookups used by other modules ---------------------------------------------------------------
def require_type(ctx: Context, qualification_type_id: str) -> sqlite3.Row:
    """The type's row (system types included); RequestError if unknown or deleted."""
    row = ctx.tx.execute("SELECT * FROM qualification_types WHERE id = ?", (qualification_type_id,)).fetchone()
    if row is None:
        raise RequestError(
            f"QualificationType {qualification_type_id} does not exist.", "QualificationTypeDoesNotExist"
        )
    if row["status"] == "Disposing":
        raise RequestError(
            f"QualificationType {qualification_type_id} has been deleted.", "QualificationTypeDoesNotExist"
        )
    return row


def _require_owned(ctx: Context, qualification_type_id: str) -> sqlite3.Row:
    row = require_type(ctx, qualification_type_id)
    if row["system"]:
        raise RequestError(
            f"QualificationType {qualification_type_id} is a system type: only Amazon Mechanical Turk "
            "assigns its values.",
            "QualificationTypeNotOwned",
        )
    return row


def is_masters(requirements: Iterable[dict] | None) -> bool:
    """True when a HIT requires Masters (live or sandbox id): MTurk charges 5% more for it."""
    return any(req.get("QualificationTypeId") in MASTERS_IDS for req in requirements or ())


def check_requirements(ctx: Context, requirements: list[dict] | None) -> None:
    """Refuse a HIT's QualificationRequirements that MTurk would refuse.

    Every type must exist and not be deleted; the values must fit the comparator (none for
    Exists/DoesNotExist, for In/NotIn 1–15 integers or 1–30 locales, exactly one otherwise) and
    the type (LocaleValues for Locale, IntegerValues for every other type).
    """
    requirements = requirements or []
    if len(requirements) > MAX_REQUIREMENTS:
        raise ValidationError("QualificationRequirements", f"at most {MAX_REQUIREMENTS} requirements per HIT")
    for index, req in enumerate(requirements, start=1):
        member = f"QualificationRequirements.{index}"
        type_id = req["QualificationTypeId"]
        require_type(ctx, type_id)
        comparator = req["Comparator"]
        integers = req.get("IntegerValues") or []
        locales = req.get("LocaleValues") or []
        if comparator in PRESENCE_COMPARATORS:
            if integers or locales:
                raise ValidationError(member, f"the comparator {comparator} takes no IntegerValues or LocaleValues")
            continue
        if type_id == LOCALE:
            if comparator not in LOCALE_COMPARATORS:
                raise ValidationError(member, f"the Locale qualification cannot use the comparator {comparator}")
            if integers or not locales:
                raise ValidationError(member, "the Locale qualification is compared with LocaleValues")
            values = locales
        else:
            if locales or not integers:
                raise ValidationError(member, f"the qualification {type_id} is compared with IntegerValues")
            values = integers
        if comparator in SET_COMPARATORS:
            most = MAX_IN_LOCALES if type_id == LOCALE else MAX_IN_INTEGERS
            if not 1 <= len(values) <= most:
                raise ValidationError(member, f"the comparator {comparator} takes 1 to {most} values")
        elif len(values) != 1:
            raise ValidationError(member, f"the comparator {comparator} takes exactly one value")


@dataclass(frozen=True)
class Score:
    """A worker's value for one qualification type (only granted ones exist)."""

    integer: int | None = None
    country: str | None = None
    subdivision: str | None = None
    grant_time: float = 0.0


def score(ctx: Context, worker_id: str, qualification_type_id: str) -> Score | None:
    """The worker's granted value, system types from their simulated record; None if they have none."""
    if qualification_type_id in SYSTEM_IDS:
        return _system_score(ctx, worker_id, qualification_type_id)
    row = ctx.tx.execute(
        "SELECT integer_value, grant_time FROM worker_qualifications "
        "WHERE type_id = ? AND worker_id = ? AND status = 'Granted'",
        (qualification_type_id, worker_id),
    ).fetchone()
    return Score(integer=row["integer_value"], grant_time=row["grant_time"]) if row else None


def _system_score(ctx: Context, worker_id: str, type_id: str) -> Score | None:
    from babe_mturk.local import workers

    worker = workers.profile(ctx, worker_id)
    if worker is None:
        return None
    since = worker["created"]
    if type_id in MASTERS_IDS:
        return Score(integer=1, grant_time=since) if worker["masters"] else None
    if type_id == LOCALE:
        return Score(country=worker["country"], subdivision=worker["subdivision"], grant_time=since)
    value = {
        NUMBER_HITS_APPROVED: worker["number_approved"],
        ADULT: 1 if worker["adult"] else 0,
        PERCENT_APPROVED: worker["percent_approved"],
    }[type_id]
    return Score(integer=value, grant_time=since)


def _locale_matches(wanted: dict, have: Score) -> bool:
    """`US` matches a worker anywhere in the US; `US-NY` only a worker in New York."""
    if wanted["Country"].upper() != (have.country or "").upper():
        return False
    subdivision = wanted.get("Subdivision")
    return subdivision is None or subdivision.upper() == (have.subdivision or "").upper()


def compare(requirement: dict, have: Score | None) -> bool:
    """Whether one requirement holds for a worker's score (None = the worker has no score)."""
    comparator = requirement["Comparator"]
    if comparator == "DoesNotExist":
        return have is None
    if have is None:
        return False
    if comparator == "Exists":
        return True
    locales = requirement.get("LocaleValues") or []
    if locales:
        if have.country is None:
            return False
        matched = any(_locale_matches(wanted, have) for wanted in locales)
        return {"EqualTo": matched, "In": matched, "NotEqualTo": not matched, "NotIn": not matched}.get(
            comparator, False
        )
    integers = requirement.get("IntegerValues") or []
    if have.integer is None or not integers:
        return False
    value, first = have.integer, integers[0]
    return {
        "LessThan": value < first,
        "LessThanOrEqualTo": value <= first,
        "GreaterThan": value > first,
        "GreaterThanOrEqualTo": value >= first,
        "EqualTo": value == first,
        "NotEqualTo": value != first,
        "In": value in integers,
        "NotIn": value not in integers,
    }.get(comparator, False)


def describe(requirement: dict) -> str:
    values = requirement.get("IntegerValues") or [
        "-".join(filter(None, (v["Country"], v.get("Subdivision")))) for v in requirement.get("LocaleValues") or []
    ]
    shown = f" {', '.join(map(str, values))}" if values else ""
    return f"{requirement['QualificationTypeId']} {requirement['Comparator']}{shown}"


def worker_meets(ctx: Context, worker_id: str, requirements: Iterable[dict] | None) -> tuple[bool, str | None]:
    """Whether the worker may accept a HIT with these requirements; if not, the first one failed.

    For accepting, every requirement applies, whatever its ActionsGuarded or RequiredToPreview.
    """
    for requirement in requirements or ():
        if not compare(requirement, score(ctx, worker_id, requirement["QualificationTypeId"])):
            return False, f"Worker {worker_id} does not meet the qualification requirement {describe(requirement)}."
    return True, None


# -- rendering ---------------------------------------------------------------------------------------
def _render_type(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "QualificationTypeId": row["id"],
        "CreationTime": row["creation_time"],
        "Name": row["name"],
        "Description": row["description"],
        "QualificationTypeStatus": row["status"],
        "IsRequestable": not row["system"] and row["status"] == "Active",
        "AutoGranted": bool(row["auto_granted"]),
    }
    if row["keywords"] is not None:
        out["Keywords"] = row["keywords"]
    optional = (
        ("Test", "test"),
        ("TestDurationInSeconds", "test_duration"),
        ("AnswerKey", "answer_key"),
        ("RetryDelayInSeconds", "retry_delay"),
    )
    for key, column in optional:
        if row[column] is not None:
            out[key] = row[column]
    if row["auto_granted"]:
        out["AutoGrantedValue"] = row["auto_granted_value"]
    return out


def _render_score(type_id: str, worker_id: str, have: Score, status: str = "Granted") -> dict[str, Any]:
    out: dict[str, Any] = {
        "QualificationTypeId": type_id,
        "WorkerId": worker_id,
        "GrantTime": have.grant_time,
        "Status": status,
    }
    if have.country is not None:
        locale = {"Country": have.country}
        if have.subdivision:
            locale["Subdivision"] = have.subdivision
        out["LocaleValue"] = locale
    else:
        out["IntegerValue"] = have.integer
    return out


# -- qualification types -----------------------------------------------------------------------------
def _check_text(params: dict) -> None:
    if "Name" in params and not params["Name"].strip():
        raise ValidationError("Name", "must not be empty")
    if "Description" in params:
        if not params["Description"].strip():
            raise ValidationError("Description", "must not be empty")
        if len(params["Description"]) > MAX_DESCRIPTION:
            raise ValidationError("Description", f"must be at most {MAX_DESCRIPTION} characters")
    if len(params.get("Keywords") or "") > MAX_KEYWORDS:
        raise ValidationError("Keywords", f"must be at most {MAX_KEYWORDS} characters")
    for member in ("RetryDelayInSeconds", "TestDurationInSeconds"):
        if member in params and params[member] < 0:
            raise ValidationError(member, "must not be negative")


def _check_test_rules(test: str | None, duration: int | None, auto_granted: bool) -> None:
    """MTurk: a Test needs TestDurationInSeconds, and a type with a Test cannot be AutoGranted."""
    if test is not None and duration is None:
        raise ValidationError("TestDurationInSeconds", "is required when a Test is given")
    if test is not None and auto_granted:
        raise ValidationError("AutoGranted", "cannot be true for a qualification type with a Test")


@operation("CreateQualificationType", write=True)
def create_qualification_type(ctx: Context, params: dict) -> dict:
    _check_text(params)
    name = params["Name"]
    auto_granted = bool(params.get("AutoGranted", False))
    _check_test_rules(params.get("Test"), params.get("TestDurationInSeconds"), auto_granted)
    taken = ctx.tx.execute(
        "SELECT id FROM qualification_types WHERE name = ? AND system = 0 "
        "AND (status != 'Disposing' OR disposed_time > ?)",
        (name, ctx.now - DISPOSE_SECONDS),
    ).fetchone()
    if taken is not None:
        raise RequestError(
            f"You have already created a QualificationType with this name. A QualificationType's name "
            f"must be unique among all of the QualificationTypes created by the same user. "
            f"(QualificationTypeId: {taken['id']})",
            "QualificationTypeAlreadyExists",
        )
    type_id = new_id()
    ctx.tx.execute(
        "INSERT INTO qualification_types (id, name, description, keywords, status, creation_time, retry_delay, "
        "test, answer_key, test_duration, auto_granted, auto_granted_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            type_id,
            name,
            params["Description"],
            params.get("Keywords"),
            params["QualificationTypeStatus"],
            ctx.now,
            params.get("RetryDelayInSeconds"),
            params.get("Test"),
            params.get("AnswerKey"),
            params.get("TestDurationInSeconds"),
            int(auto_granted),
            params.get("AutoGrantedValue", 1) if auto_granted else None,
        ),
    )
    return {"QualificationType": _render_type(require_type(ctx, type_id))}


@operation("GetQualificationType")
def get_qualification_type(ctx: Context, params: dict) -> dict:
    return {"QualificationType": _render_type(require_type(ctx, params["QualificationTypeId"]))}


@operation("UpdateQualificationType", write=True)
def update_qualification_type(ctx: Context, params: dict) -> dict:
    row = _require_owned(ctx, params["QualificationTypeId"])
    _check_text(params)
    changes = {
        "description": params.get("Description", row["description"]),
        "status": params.get("QualificationTypeStatus", row["status"]),
        "test": params.get("Test", row["test"]),
        "answer_key": params.get("AnswerKey", row["answer_key"]),
        "test_duration": params.get("TestDurationInSeconds", row["test_duration"]),
        "retry_delay": params.get("RetryDelayInSeconds", row["retry_delay"]),
        "auto_granted": int(params.get("AutoGranted", bool(row["auto_granted"]))),
    }
    _check_test_rules(changes["test"], changes["test_duration"], bool(changes["auto_granted"]))
    if changes["auto_granted"]:
        changes["auto_granted_value"] = params.get("AutoGrantedValue", row["auto_granted_value"] or 1)
    else:
        changes["auto_granted_value"] = None
    assignments = ", ".join(f"{column} = ?" for column in changes)
    ctx.tx.execute(f"UPDATE qualification_types SET {assignments} WHERE id = ?", (*changes.values(), row["id"]))
    return {"QualificationType": _render_type(require_type(ctx, row["id"]))}


@operation("DeleteQualificationType", write=True)
def delete_qualification_type(ctx: Context, params: dict) -> dict:
    """Mark the type Disposing: gone from lists and new HITs; granted scores stay for running HITs."""
    row = _require_owned(ctx, params["QualificationTypeId"])
    ctx.tx.execute(
        "UPDATE qualification_types SET status = 'Disposing', disposed_time = ? WHERE id = ?", (ctx.now, row["id"])
    )
    ctx.tx.execute(
        "UPDATE qualification_requests SET status = 'Rejected', reason = ?, decided_time = ? "
        "WHERE type_id = ? AND status = 'Pending'",
        ("The Qualification type was deleted.", ctx.now, row["id"]),
    )
    return {}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@operation("ListQualificationTypes")
def list_qualification_types(ctx: Context, params: dict) -> dict:
    sql = "SELECT * FROM qualification_types WHERE status != 'Disposing'"
    args: list[Any] = []
    if params.get("MustBeOwnedByCaller"):
        sql += " AND system = 0"
    if params["MustBeRequestable"]:
        sql += " AND system = 0 AND status = 'Active'"
    if params.get("Query"):
        sql += (
            " AND (name LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' OR COALESCE(keywords, '') LIKE ? ESCAPE '\\')"
        )
        args += [_like(params["Query"])] * 3
    items, token = page(ctx.tx, "ListQualificationTypes", params, sql, args, _render_type)
    return paged_answer("QualificationTypes", items, token)


# -- workers' qualifications -------------------------------------------------------------------------
def grant(ctx: Context, type_id: str, worker_id: str, value: int) -> None:
    """Give the worker the qualification (again) with this value; settles their pending requests."""
    ctx.tx.execute(
        "INSERT INTO worker_qualifications (type_id, worker_id, integer_value, status, grant_time) "
        "VALUES (?, ?, ?, 'Granted', ?) ON CONFLICT (type_id, worker_id) DO UPDATE SET "
        "integer_value = excluded.integer_value, status = 'Granted', grant_time = excluded.grant_time, reason = NULL",
        (type_id, worker_id, value, ctx.now),
    )
    ctx.tx.execute(
        "UPDATE qualification_requests SET status = 'Granted', integer_value = ?, decided_time = ? "
        "WHERE type_id = ? AND worker_id = ? AND status = 'Pending'",
        (value, ctx.now, type_id, worker_id),
    )


@operation("AssociateQualificationWithWorker", write=True)
def associate_qualification_with_worker(ctx: Context, params: dict) -> dict:
    row = _require_owned(ctx, params["QualificationTypeId"])
    worker_id = params["WorkerId"]
    grant(ctx, row["id"], worker_id, params.get("IntegerValue", 1))
    if params.get("SendNotification"):
        record_message(
            ctx,
            worker_id,
            f"You have been granted the qualification {row['name']}",
            f"A requester granted you the qualification {row['name']!r} ({row['id']}).",
            "AssociateQualificationWithWorker",
        )
    return {}


@operation("DisassociateQualificationFromWorker", write=True)
def disassociate_qualification_from_worker(ctx: Context, params: dict) -> dict:
    row = _require_owned(ctx, params["QualificationTypeId"])
    worker_id = params["WorkerId"]
    revoked = ctx.tx.execute(
        "UPDATE worker_qualifications SET status = 'Revoked', reason = ? "
        "WHERE type_id = ? AND worker_id = ? AND status = 'Granted'",
        (params.get("Reason"), row["id"], worker_id),
    ).rowcount
    if not revoked:
        raise RequestError(
            f"Worker {worker_id} does not have the qualification {row['id']}.", "QualificationDoesNotExist"
        )
    return {}


#: Amazon's answer to GetQualificationScore of a revoked qualification.
NOT_GRANTED = "This operation can be called with a status of: Granted"


@operation("GetQualificationScore")
def get_qualification_score(ctx: Context, params: dict) -> dict:
    row = require_type(ctx, params["QualificationTypeId"])
    worker_id = params["WorkerId"]
    if row["system"]:
        have = _system_score(ctx, worker_id, row["id"])
        status = "Granted"
    else:
        granted = ctx.tx.execute(
            "SELECT integer_value, grant_time, status FROM worker_qualifications WHERE type_id = ? AND worker_id = ?",
            (row["id"], worker_id),
        ).fetchone()
        have = Score(integer=granted["integer_value"], grant_time=granted["grant_time"]) if granted else None
        status = granted["status"] if granted else "Granted"
    if have is None:
        raise RequestError(
            f"You requested a Qualification that does not exist: worker {worker_id} has no score for {row['id']}.",
            "QualificationDoesNotExist",
        )
    if status != "Granted":
        # Amazon's message (Dallinger and Mephisto match on it); its TurkErrorCode is not
        # documented, so the code is ours, named as the assignments' and HITs' state codes are.
        raise RequestError(NOT_GRANTED, "InvalidQualificationState")
    return {"Qualification": _render_score(row["id"], worker_id, have, status)}


@operation("ListWorkersWithQualificationType")
def list_workers_with_qualification_type(ctx: Context, params: dict) -> dict:
    """Granted workers by default (as MTurk's earlier API documented), or the revoked ones."""
    row = _require_owned(ctx, params["QualificationTypeId"])
    items, token = page(
        ctx.tx,
        "ListWorkersWithQualificationType",
        params,
        "SELECT seq, worker_id, integer_value, grant_time, status FROM worker_qualifications "
        "WHERE type_id = ? AND status = ?",
        (row["id"], params.get("Status", "Granted")),
        lambda r: _render_score(
            row["id"], r["worker_id"], Score(integer=r["integer_value"], grant_time=r["grant_time"]), r["status"]
        ),
    )
    return paged_answer("Qualifications", items, token)


# -- qualification requests --------------------------------------------------------------------------
def request_qualification(
    ctx: Context, worker_id: str, qualification_type_id: str, answer: str | None = None
) -> str | None:
    """A worker asks for a qualification (the worker side; MTurk's requester API has no such call).

    Auto-granted types grant at once and return None (MTurk keeps no request for them); otherwise a
    pending request is stored for the requester and its id returned. Without RetryDelayInSeconds a
    worker may ask only once; with it, only that many seconds after their previous request.
    """
    row = require_type(ctx, qualification_type_id)
    if row["system"] or row["status"] != "Active":
        raise RequestError(
            f"QualificationType {qualification_type_id} is not accepting requests.", "QualificationTypeNotRequestable"
        )
    if score(ctx, worker_id, row["id"]) is not None:
        raise RequestError(
            f"Worker {worker_id} already has the qualification {row['id']}.", "QualificationAlreadyGranted"
        )
    previous = ctx.tx.execute(
        "SELECT status, submit_time FROM qualification_requests WHERE worker_id = ? AND type_id = ? "
        "ORDER BY seq DESC LIMIT 1",
        (worker_id, row["id"]),
    ).fetchone()
    if previous is not None:
        if previous["status"] == "Pending":
            raise RequestError(
                f"Worker {worker_id} already has a pending request for {row['id']}.", "QualificationRequestPending"
            )
        if row["retry_delay"] is None:
            raise RequestError(
                f"QualificationType {row['id']} does not allow retries.", "QualificationRequestNotAllowed"
            )
        if ctx.now < previous["submit_time"] + row["retry_delay"]:
            wait = int(previous["submit_time"] + row["retry_delay"] - ctx.now) + 1
            raise RequestError(
                f"Worker {worker_id} must wait {wait} more seconds before requesting {row['id']} again.",
                "QualificationRequestNotAllowed",
            )
    if row["auto_granted"]:
        grant(ctx, row["id"], worker_id, row["auto_granted_value"])
        return None
    if row["test"] is not None and answer is None:
        raise RequestError(f"QualificationType {row['id']} requires an answer to its Test.", "QualificationTestRequired")
    request_id = new_id()
    ctx.tx.execute(
        "INSERT INTO qualification_requests (id, type_id, worker_id, test, answer, submit_time, status) "
        "VALUES (?, ?, ?, ?, ?, ?, 'Pending')",
        (request_id, row["id"], worker_id, row["test"], answer, ctx.now),
    )
    return request_id


def _render_request(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "QualificationRequestId": row["id"],
        "QualificationTypeId": row["type_id"],
        "WorkerId": row["worker_id"],
        "SubmitTime": row["submit_time"],
    }
    if row["test"] is not None:
        out["Test"] = row["test"]
    if row["answer"] is not None:
        out["Answer"] = row["answer"]
    return out


@operation("ListQualificationRequests")
def list_qualification_requests(ctx: Context, params: dict) -> dict:
    sql = "SELECT * FROM qualification_requests WHERE status = 'Pending'"
    args: list[Any] = []
    if params.get("QualificationTypeId"):
        sql += " AND type_id = ?"
        args.append(_require_owned(ctx, params["QualificationTypeId"])["id"])
    items, token = page(ctx.tx, "ListQualificationRequests", params, sql, args, _render_request)
    return paged_answer("QualificationRequests", items, token)


def _pending_request(ctx: Context, request_id: str) -> sqlite3.Row:
    row = ctx.tx.execute("SELECT * FROM qualification_requests WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise RequestError(f"QualificationRequest {request_id} does not exist.", "QualificationRequestDoesNotExist")
    if row["status"] != "Pending":
        raise RequestError(
            f"QualificationRequest {request_id} is {row['status']}; this operation can be called with a status "
            "of: Pending",
            "InvalidQualificationRequestState",
        )
    return row


@operation("AcceptQualificationRequest", write=True)
def accept_qualification_request(ctx: Context, params: dict) -> dict:
    row = _pending_request(ctx, params["QualificationRequestId"])
    grant(ctx, row["type_id"], row["worker_id"], params.get("IntegerValue", 1))
    return {}


@operation("RejectQualificationRequest", write=True)
def reject_qualification_request(ctx: Context, params: dict) -> dict:
    row = _pending_request(ctx, params["QualificationRequestId"])
    reason = params.get("Reason")
    ctx.tx.execute(
        "UPDATE qualification_requests SET status = 'Rejected', reason = ?, decided_time = ? WHERE id = ?",
        (reason, ctx.now, row["id"]),
    )
    name = require_type(ctx, row["type_id"])["name"]
    record_message(
        ctx,
        row["worker_id"],
        f"Your request for the qualification {name} was rejected",
        reason or "The requester rejected your request.",
        "RejectQualificationRequest",
    )
    return {}


def qualification_request(turk, request_id: str) -> dict:
    """A request's full record, decided ones included (for tests and tools: the API lists only pending)."""
    with turk.store.read() as tx:
        row = tx.execute("SELECT * FROM qualification_requests WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise KeyError(request_id)
    return {**_render_request(row), "Status": row["status"], "Reason": row["reason"], "IntegerValue": row["integer_value"]}
