"""Notification settings per HIT type and the outbox of event messages MTurk would send.

MTurk pushes events (an assignment submitted, a HIT expired, ...) to an SQS queue, an SNS topic or
an e-mail address chosen per HIT type. Here `emit_event` writes the message — in MTurk's format,
version 2014-08-15 — into an outbox inside the caller's transaction, so an event exists exactly
when the state change that caused it committed. Delivery is a separate, later step that drains the
outbox with `pending_events` / `mark_delivered`; like MTurk's, it is at least once, so consumers
deduplicate on EventDocId.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from typing import Any, Iterable

from babe_mturk.local import store
from babe_mturk.local.errors import RequestError, ValidationError
from babe_mturk.local.ids import new_id, new_worker_id
from babe_mturk.local.service import Context, operation
from babe_mturk.local.store import Store

VERSION = "2014-08-15"

_SQS_URL = re.compile(
    r"^https://(sqs\.[a-z0-9-]+|queue)\.amazonaws\.com(\.cn)?/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$"
)
#: A queue of an SQS look-alike on this machine (e.g. moto's server), for local delivery tests.
_LOCAL_SQS_URL = re.compile(
    r"^https?://(localhost|127(\.[0-9]{1,3}){3})(:[0-9]{1,5})?/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$"
)
_SNS_ARN = re.compile(r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS notification_settings (
        hit_type_id TEXT PRIMARY KEY,
        destination TEXT NOT NULL,
        transport TEXT NOT NULL,
        version TEXT NOT NULL,
        event_types TEXT NOT NULL,
        active INTEGER NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS notification_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_doc_id TEXT NOT NULL UNIQUE,
        transport TEXT NOT NULL,
        destination TEXT NOT NULL,
        body TEXT NOT NULL,
        test INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        delivered REAL
    );
    CREATE INDEX IF NOT EXISTS notification_outbox_pending ON notification_outbox (delivered, seq)
    """
)


def iso_time(epoch: float) -> str:
    """Event timestamps as MTurk writes them: ISO-8601 UTC (`2026-11-28T16:00:00Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def customer_id(tx: sqlite3.Connection) -> str:
    """This account's requester id, made once per state file (MTurk puts it in every message)."""
    known = Store.get_meta(tx, "requester_customer_id")
    if known:
        return known
    made = new_worker_id()
    Store.set_meta(tx, "requester_customer_id", made)
    return made


def check_notification(spec: dict) -> None:
    """Refuse a NotificationSpecification MTurk would refuse: wrong version or destination shape."""
    if spec["Version"] != VERSION:
        raise ValidationError("Notification.Version", f"must be {VERSION}")
    if not spec["EventTypes"]:
        raise ValidationError("Notification.EventTypes", "must name at least one event type")
    transport, destination = spec["Transport"], spec["Destination"]
    if transport == "SQS" and not (_SQS_URL.match(destination) or _LOCAL_SQS_URL.match(destination)):
        raise ValidationError(
            "Notification.Destination", "must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)"
        )
    if transport == "SNS" and not _SNS_ARN.match(destination):
        raise ValidationError("Notification.Destination", "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)")
    if transport == "Email" and not _EMAIL.match(destination):
        raise ValidationError("Notification.Destination", "must be an e-mail address")


def _hit_type_exists(tx: sqlite3.Connection, hit_type_id: str) -> bool:
    from babe_mturk.local import hits

    return hits.hit_type_exists(tx, hit_type_id)


@operation("UpdateNotificationSettings", write=True)
def update_notification_settings(ctx: Context, params: dict) -> dict:
    hit_type_id = params["HITTypeId"]
    if not _hit_type_exists(ctx.tx, hit_type_id):
        raise RequestError(f"HITType {hit_type_id} does not exist.", "HITTypeDoesNotExist")
    spec, active = params.get("Notification"), params.get("Active")
    if spec is None and active is None:
        raise ValidationError("Notification", "give a Notification, Active, or both")
    if spec is None:
        changed = ctx.tx.execute(
            "UPDATE notification_settings SET active = ?, updated = ? WHERE hit_type_id = ?",
            (int(active), ctx.now, hit_type_id),
        ).rowcount
        if not changed:
            raise RequestError(
                f"HITType {hit_type_id} has no notification specification to activate or deactivate.",
                "NotificationSettingsDoNotExist",
            )
        return {}
    check_notification(spec)
    ctx.tx.execute(
        "INSERT OR REPLACE INTO notification_settings "
        "(hit_type_id, destination, transport, version, event_types, active, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            hit_type_id,
            spec["Destination"],
            spec["Transport"],
            spec["Version"],
            json.dumps(sorted(set(spec["EventTypes"]))),
            int(True if active is None else active),
            ctx.now,
        ),
    )
    return {}


def _enqueue(ctx: Context, transport: str, destination: str, events: list[dict], *, test: bool = False) -> str:
    doc_id = secrets.token_hex(20)
    body = {
        "EventDocId": doc_id,
        "EventDocVersion": VERSION,
        "CustomerId": customer_id(ctx.tx),
        "Events": events,
    }
    ctx.tx.execute(
        "INSERT INTO notification_outbox (event_doc_id, transport, destination, body, test, created) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (doc_id, transport, destination, json.dumps(body, separators=(",", ":")), int(test), ctx.now),
    )
    return doc_id


def _event(ctx: Context, event_type: str, hit_type_id: str, hit_id: str, assignment_id: str | None) -> dict:
    event = {"EventType": event_type, "EventTimestamp": iso_time(ctx.now), "HITTypeId": hit_type_id, "HITId": hit_id}
    if assignment_id is not None:
        event["AssignmentId"] = assignment_id
    return event


def emit_event(
    ctx: Context, event_type: str, *, hit_type_id: str, hit_id: str, assignment_id: str | None = None
) -> None:
    """Queue the event for the HIT type's active subscription to it, if there is one.

    Call inside the transaction that makes the change, so the message and the change commit (or
    roll back) together.
    """
    row = ctx.tx.execute(
        "SELECT destination, transport, event_types FROM notification_settings WHERE hit_type_id = ? AND active = 1",
        (hit_type_id,),
    ).fetchone()
    if row is None or event_type not in json.loads(row["event_types"]):
        return
    _enqueue(ctx, row["transport"], row["destination"], [_event(ctx, event_type, hit_type_id, hit_id, assignment_id)])


@operation("SendTestEventNotification", write=True)
def send_test_event_notification(ctx: Context, params: dict) -> dict:
    """Queue one test message for the given destination, whatever the HIT types' settings are."""
    spec = params["Notification"]
    check_notification(spec)
    event = _event(ctx, params["TestEventType"], new_id(), new_id(), new_id())
    _enqueue(ctx, spec["Transport"], spec["Destination"], [event], test=True)
    return {}


# -- the delivery side ---------------------------------------------------------------------------
def _render_outbox(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["seq"],
        "event_doc_id": row["event_doc_id"],
        "transport": row["transport"],
        "destination": row["destination"],
        "body": row["body"],
        "message": json.loads(row["body"]),
        "test": bool(row["test"]),
        "created": row["created"],
    }


def pending_events(turk, limit: int = 100, *, after: int = 0) -> list[dict]:
    """Messages not yet delivered, oldest first: {id, event_doc_id, transport, destination, body
    (the JSON text to send), message (the same, decoded), test, created}.

    `after` pages on: only messages whose `id` is greater (so one unreachable destination at the
    head of the outbox cannot hide the messages behind it from a courier).
    """
    with turk.store.read() as tx:
        rows = tx.execute(
            "SELECT * FROM notification_outbox WHERE delivered IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
    return [_render_outbox(row) for row in rows]


def mark_delivered(turk, ids: Iterable[int]) -> int:
    """Record that these outbox messages were delivered; returns how many were still pending."""
    ids = list(ids)
    if not ids:
        return 0
    with turk.store.write() as tx:
        now = Store.now(tx)
        marks = ",".join("?" * len(ids))
        return tx.execute(
            f"UPDATE notification_outbox SET delivered = ? WHERE delivered IS NULL AND seq IN ({marks})", (now, *ids)
        ).rowcount


def notification_settings(turk, hit_type_id: str) -> dict | None:
    """A HIT type's stored specification (MTurk's API has no getter; tools and tests use this)."""
    with turk.store.read() as tx:
        row = tx.execute("SELECT * FROM notification_settings WHERE hit_type_id = ?", (hit_type_id,)).fetchone()
    if row is None:
        return None
    return {
        "Destination": row["destination"],
        "Transport": row["transport"],
        "Version": row["version"],
        "EventTypes": json.loads(row["event_types"]),
        "Active": bool(row["active"]),
    }
