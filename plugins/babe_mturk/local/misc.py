"""Operations that stand alone: NotifyWorkers and GetFileUploadURL, and the messages to workers."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET

from babe_mturk.local import store
from babe_mturk.local.errors import RequestError, ValidationError
from babe_mturk.local.service import Context, operation

MAX_SUBJECT = 200
MAX_MESSAGE = 4096
MAX_NOTIFY_WORKERS = 100
#: How long a file-upload URL stays valid (MTurk: 60 seconds).
UPLOAD_URL_LIFETIME = 60
UPLOAD_HOST = "https://mturk-uploads.localturk.invalid"

NOT_WORKED_FOR_YOU = "Cannot send notification because the worker has not worked for you"

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS worker_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        message_text TEXT NOT NULL,
        origin TEXT NOT NULL,
        sent_time REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS worker_messages_worker ON worker_messages (worker_id, seq)
    """
)


# -- messages to workers -------------------------------------------------------------------------
def record_message(ctx: Context, worker_id: str, subject: str, text: str, origin: str) -> None:
    """Keep a message MTurk would have e-mailed to a worker, so tests and tools can read it."""
    ctx.tx.execute(
        "INSERT INTO worker_messages (worker_id, subject, message_text, origin, sent_time) VALUES (?, ?, ?, ?, ?)",
        (worker_id, subject, text, origin, ctx.now),
    )


def messages(turk, worker_id: str | None = None) -> list[dict]:
    """The messages sent to workers (NotifyWorkers, qualification notices), oldest first."""
    with turk.store.read() as tx:
        sql = "SELECT * FROM worker_messages"
        args: tuple = ()
        if worker_id is not None:
            sql += " WHERE worker_id = ?"
            args = (worker_id,)
        rows = tx.execute(sql + " ORDER BY seq", args).fetchall()
    return [
        {
            "WorkerId": r["worker_id"],
            "Subject": r["subject"],
            "MessageText": r["message_text"],
            "Origin": r["origin"],
            "SentTime": r["sent_time"],
        }
        for r in rows
    ]


def _has_worked_for_requester(tx: sqlite3.Connection, worker_id: str) -> bool:
    """A worker has worked for us once they hold any assignment of ours, whatever its status."""
    return tx.execute("SELECT 1 FROM assignments WHERE worker_id = ? LIMIT 1", (worker_id,)).fetchone() is not None


@operation("NotifyWorkers", write=True)
def notify_workers(ctx: Context, params: dict) -> dict:
    subject, text, worker_ids = params["Subject"], params["MessageText"], params["WorkerIds"]
    if not subject.strip():
        raise ValidationError("Subject", "must not be empty")
    if len(subject) > MAX_SUBJECT:
        raise ValidationError("Subject", f"must be at most {MAX_SUBJECT} characters")
    if not text.strip():
        raise ValidationError("MessageText", "must not be empty")
    if len(text) > MAX_MESSAGE:
        raise ValidationError("MessageText", f"must be at most {MAX_MESSAGE} characters")
    if not 1 <= len(worker_ids) <= MAX_NOTIFY_WORKERS:
        raise ValidationError("WorkerIds", f"must name between 1 and {MAX_NOTIFY_WORKERS} workers")
    failures = []
    for worker_id in dict.fromkeys(worker_ids):  # a worker named twice gets one message
        if not _has_worked_for_requester(ctx.tx, worker_id):
            failures.append(
                {
                    "NotifyWorkersFailureCode": "HardFailure",
                    "NotifyWorkersFailureMessage": NOT_WORKED_FOR_YOU,
                    "WorkerId": worker_id,
                }
            )
            continue
        record_message(ctx, worker_id, subject, text, "NotifyWorkers")
    return {"NotifyWorkersFailureStatuses": failures}


# -- file uploads ----------------------------------------------------------------------------------
_ANSWER_NS = re.compile(r"^\{[^}]*\}")


def uploaded_file_key(answer_xml: str | None, question_identifier: str) -> str | None:
    """The UploadedFileKey the answer holds for that question, if the worker uploaded a file."""
    if not answer_xml:
        return None
    try:
        root = ET.fromstring(answer_xml)
    except ET.ParseError:
        return None
    for answer in root:
        fields = {_ANSWER_NS.sub("", child.tag): (child.text or "").strip() for child in answer}
        if fields.get("QuestionIdentifier") == question_identifier and fields.get("UploadedFileKey"):
            return fields["UploadedFileKey"]
    return None


@operation("GetFileUploadURL")
def get_file_upload_url(ctx: Context, params: dict) -> dict:
    assignment_id, question = params["AssignmentId"], params["QuestionIdentifier"]
    from babe_mturk.local import assignments

    row = assignments.require_assignment(ctx, assignment_id)  # never-submitted ones do not exist to us
    key = uploaded_file_key(row["answer"], question)
    if key is None:
        raise RequestError(
            f"There is no file uploaded for question {question!r} in assignment {assignment_id}.",
            "FileUploadNotFound",
        )
    expires = int(ctx.now) + UPLOAD_URL_LIFETIME
    return {"FileUploadURL": f"{UPLOAD_HOST}/{assignment_id}/{key}?Expires={expires}"}

