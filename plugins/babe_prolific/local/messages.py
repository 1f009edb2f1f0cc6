"""Messages between the researcher and participants: thanks, a warning before a rejection, a bonus note.

A message needs a study that gives the reason for it, and the local Prolific lets the researcher
write only to participants with a submission in that study (or, for a group, to its members) —
the real one does not let a researcher write to strangers either. Sending answers 204 and stores
the message; participants never write back on their own, so `receive` (Python only) puts a
participant's reply in the inbox for a test. `GET /messages/` needs `user_id` or `created_after`
(at most 30 days back on the local clock) as the spec says; `GET /messages/unread/` lists received,
unread messages without marking them read, and reading a conversation with `user_id` marks it read.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import datetime
from pathlib import Path

from . import tables
from .app import Request, route
from .errors import ApiError
from .fields import Fields
from .store import Store, iso, new_id

HISTORY_SECONDS = 30 * 24 * 3600
CATEGORIES = ("payment-timing", "payment-issues", "technical-issues", "feedback", "rejections", "other")


def channel_id(a: str, b: str) -> str:
    """One conversation between two users, whoever writes first (64 hex digits, as the spec's example)."""
    return hashlib.sha256("|".join(sorted((a, b))).encode()).hexdigest()


def render(row: sqlite3.Row) -> dict:
    message = {
        "id": row["id"],
        "sender_id": row["sender_id"],
        "recipient_id": row["recipient_id"],
        "body": row["body"],
        "sent_at": iso(row["sent_at"]),
        "type": "message",
        "channel_id": channel_id(row["sender_id"], row["recipient_id"]),
        "data": {},
    }
    if row["study_id"]:
        message["data"]["study_id"] = row["study_id"]
    if row["category"]:
        message["data"]["category"] = row["category"]
    return message


def _store(tx: sqlite3.Connection, sender: str, recipients: list[str], body: str, study_id: str | None) -> None:
    now = Store.now(tx)
    tx.executemany(
        "INSERT INTO messages (id, sender_id, recipient_id, body, study_id, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(new_id(), sender, recipient, body, study_id, now) for recipient in recipients],
    )


def _study(tx: sqlite3.Connection, fields: Fields, study_id: str | None) -> None:
    if study_id is not None and tx.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
        fields.bad("study_id", f"Study {study_id} was not found.")


def _strangers(tx: sqlite3.Connection, study_id: str, ids: list[str]) -> list[str]:
    return [pid for pid in ids
            if tx.execute("SELECT 1 FROM submissions WHERE study_id = ? AND participant_id = ?", (study_id, pid)).fetchone() is None]


def _body(fields: Fields) -> str | None:
    return fields.text("body", required=True, blank=False)


# -- endpoints ------------------------------------------------------------------------------------
@route("POST", "/messages/")
def _send(app, request: Request, _):
    tables.ensure(app.store)
    fields = Fields(request.body)
    recipient = fields.text("recipient_id", required=True, blank=False)
    body = _body(fields)
    study_id = fields.text("study_id", required=True, blank=False)
    with app.store.write() as tx:
        _study(tx, fields, study_id)
        if not fields.errors and _strangers(tx, study_id, [recipient]):
            fields.bad("recipient_id", f"{recipient} has no submission in study {study_id}; you can message only its participants.")
        fields.done()
        _store(tx, Store.meta(tx, "user_id"), [recipient], body, study_id)
    return 204, None


@route("POST", "/messages/bulk/")
def _send_bulk(app, request: Request, _):
    tables.ensure(app.store)
    fields = Fields(request.body)
    ids = fields.ids("ids", required=True)
    body = _body(fields)
    study_id = fields.text("study_id", required=True, blank=False)
    if ids == []:
        fields.bad("ids", "Name at least one participant.")
    with app.store.write() as tx:
        _study(tx, fields, study_id)
        if not fields.errors:
            strangers = _strangers(tx, study_id, ids)
            if strangers:
                fields.bad("ids", f"No submission in study {study_id}: {', '.join(strangers[:5])}" + (" ..." if len(strangers) > 5 else ""))
        fields.done()
        _store(tx, Store.meta(tx, "user_id"), ids, body, study_id)
    return 204, None


@route("POST", "/messages/participant-group/")
def _send_group(app, request: Request, _):
    tables.ensure(app.store)
    fields = Fields(request.body)
    group_id = fields.text("participant_group_id", required=True, blank=False)
    body = _body(fields)
    study_id = fields.text("study_id", blank=False)
    with app.store.write() as tx:
        _study(tx, fields, study_id)
        group = tx.execute("SELECT deleted FROM participant_groups WHERE id = ?", (group_id,)).fetchone() if group_id else None
        if group_id and (group is None or group["deleted"]):
            fields.bad("participant_group_id", f"Participant group {group_id} was not found.")
        fields.done()
        members = [r[0] for r in tx.execute("SELECT participant_id FROM participant_group_members WHERE group_id = ? ORDER BY seq", (group_id,))]
        if not members:
            raise ApiError(400, {"participant_group_id": [f"Participant group {group_id} has no members to message."]})
        _store(tx, Store.meta(tx, "user_id"), members, body, study_id)
    return 204, None


@route("GET", "/messages/")
def _list(app, request: Request, _):
    tables.ensure(app.store)
    user_id = request.query.get("user_id") or None
    created_after = request.query.get("created_after") or None
    if user_id is None and created_after is None:
        raise ApiError(400, {"user_id": ["Give user_id, created_after or both."]})
    with app.store.write() as tx:
        me = Store.meta(tx, "user_id")
        now = Store.now(tx)
        where, args = [], []
        if created_after is not None:
            after = _timestamp(created_after)
            if after < now - HISTORY_SECONDS:
                raise ApiError(400, {"created_after": ["Messages can be fetched for the last 30 days only."]})
            where.append("sent_at > ?")
            args.append(after)
        if user_id is not None:
            where.append("((sender_id = ? AND recipient_id = ?) OR (sender_id = ? AND recipient_id = ?))")
            args += [me, user_id, user_id, me]
            # Reading a conversation reads what it holds, as opening it in Prolific's app does.
            tx.execute("UPDATE messages SET is_read = 1 WHERE sender_id = ? AND recipient_id = ?", (user_id, me))
        rows = tx.execute(f"SELECT * FROM messages WHERE {' AND '.join(where)} ORDER BY seq", args).fetchall()
        return 200, {"results": [render(row) for row in rows]}


@route("GET", "/messages/unread/")
def _unread(app, request: Request, _):
    tables.ensure(app.store)
    with app.store.read() as tx:
        rows = tx.execute("SELECT * FROM messages WHERE recipient_id = ? AND is_read = 0 ORDER BY seq", (Store.meta(tx, "user_id"),)).fetchall()
        return 200, {"results": [render(row) for row in rows]}


def _timestamp(text: str) -> float:
    try:
        # A "+00:00" offset arrives as " 00:00" when a client did not escape the query's "+".
        moment = datetime.fromisoformat(re.sub(r" (\d\d:\d\d)$", r"+\1", text.replace("Z", "+00:00")))
    except ValueError:
        raise ApiError(400, {"created_after": ["An ISO 8601 date-time, such as 2026-11-28T18:00:00Z."]}) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def receive(state: str | Path | Store, participant_id: str, body: str, *, study_id: str | None = None, category: str | None = None) -> dict:
    """A participant writes to the researcher (what a test needs to see an unread message)."""
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
    store = state if isinstance(state, Store) else Store(state)
    try:
        tables.ensure(store)
        message_id = new_id()
        with store.write() as tx:
            tx.execute(
                "INSERT INTO messages (id, sender_id, recipient_id, body, study_id, category, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (message_id, participant_id, Store.meta(tx, "user_id"), body, study_id, category, Store.now(tx)),
            )
            return render(tx.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone())
    finally:
        if store is not state:
            store.close()
