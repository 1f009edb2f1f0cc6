"""Participant groups: the Prolific way for a lab to keep its earlier participants out of every later
study (a `participant_group_blocklist` filter), or to invite exactly them back (an allowlist).

A group lives in a workspace and holds participant ids. Members are added and removed by hand
(`/participant-groups/{id}/participants/`), or by a study's completion code: a participant who
submits with a code whose actions include `ADD_TO_PARTICIPANT_GROUP` / `REMOVE_FROM_PARTICIPANT_GROUP`
(with its `participant_group`) joins or leaves that group then — done by a trigger on the
submissions table (tables.py), so it happens however the submission is made. Deleting a group
keeps it (listed with `active=false`, `is_deleted: true`) but empties its effect: nobody is in a
deleted group as far as filters and codes go.
"""

from __future__ import annotations

import json
import sqlite3

from . import tables
from .app import Request, route
from .errors import ApiError
from .fields import Fields
from .store import Store, iso, load_row, new_id
from .workspaces import load_project, load_workspace

GROUP_ACTIONS = ("ADD_TO_PARTICIPANT_GROUP", "REMOVE_FROM_PARTICIPANT_GROUP")


def load(tx: sqlite3.Connection, group_id: str) -> sqlite3.Row:
    return load_row(tx, "participant_groups", group_id, "Participant group")


def members(tx: sqlite3.Connection, group_id: str) -> list[dict]:
    rows = tx.execute(
        "SELECT participant_id, added_at FROM participant_group_members WHERE group_id = ? ORDER BY seq", (group_id,)
    ).fetchall()
    return [{"participant_id": row["participant_id"], "datetime_created": iso(row["added_at"])} for row in rows]


def _feeders(tx: sqlite3.Connection, group_id: str) -> list[dict]:
    """Studies whose completion codes move participants into or out of this group."""
    feeders = []
    for row in tx.execute("SELECT id, status, data FROM studies ORDER BY seq"):
        data = json.loads(row["data"])
        codes = [
            {"code": code.get("code"), "code_type": code.get("code_type"), "action": action.get("action")}
            for code in data.get("completion_codes") or []
            for action in code.get("actions") or []
            if isinstance(action, dict) and action.get("action") in GROUP_ACTIONS and action.get("participant_group") == group_id
        ]
        if codes:
            feeders.append({"id": row["id"], "name": data.get("name"), "internal_name": data.get("internal_name") or "",
                            "status": row["status"], "feeder_completion_codes": codes})
    return feeders


def render(tx: sqlite3.Connection, row: sqlite3.Row) -> dict:
    data = json.loads(row["data"])
    count = tx.execute("SELECT COUNT(*) FROM participant_group_members WHERE group_id = ?", (row["id"],)).fetchone()[0]
    return {
        "id": row["id"],
        "name": data["name"],
        "project_id": None,
        "workspace_id": row["workspace_id"],
        "organisation_id": None,
        "description": data.get("description"),
        "participant_count": count,
        "is_deleted": bool(row["deleted"]),
        "feeder_studies": _feeders(tx, row["id"]),
    }


def _add(tx: sqlite3.Connection, group_id: str, participant_ids: list[str]) -> None:
    now = Store.now(tx)
    tx.executemany(
        "INSERT OR IGNORE INTO participant_group_members (group_id, participant_id, added_at) VALUES (?, ?, ?)",
        [(group_id, pid, now) for pid in participant_ids],
    )


def _live(tx: sqlite3.Connection, group_id: str) -> sqlite3.Row:
    row = load(tx, group_id)
    if row["deleted"]:
        raise ApiError(400, f"Participant group {group_id} has been deleted.")
    return row


def _scope(query: dict[str, str]) -> dict:
    """The list's `filter`: its members spread over the query (`workspace_id=…`, the spec's
    serialisation), or the object itself in `filter=` as JSON or as a generated client (pyrolific)
    writes a dict into a query string."""
    scope = {key: query[key] for key in ("workspace_id", "project_id") if query.get(key)}
    raw = query.get("filter")
    if raw and not scope:
        import ast

        try:
            value = json.loads(raw)
        except ValueError:
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                value = None
        if not isinstance(value, dict):
            raise ApiError(400, {"filter": ["An object with workspace_id (or the deprecated project_id)."]})
        scope = {key: str(value[key]) for key in ("workspace_id", "project_id") if value.get(key)}
    return scope


# -- endpoints ------------------------------------------------------------------------------------
@route("GET", "/participant-groups/")
def _list(app, request: Request, _):
    tables.ensure(app.store)
    query = request.query
    active = query.get("active")
    if active not in (None, "true", "false"):
        raise ApiError(400, {"active": ["Must be true or false."]})
    scope = _scope(query)
    with app.store.read() as tx:
        if scope.get("workspace_id"):
            workspace_id = load_workspace(tx, scope["workspace_id"])["id"]
        elif scope.get("project_id"):  # deprecated: the project's workspace's groups
            workspace_id = load_project(tx, scope["project_id"])["workspace_id"]
        else:
            raise ApiError(400, {"workspace_id": ["Give workspace_id (or the deprecated project_id) to list participant groups."]})
        where, args = "WHERE workspace_id = ?", [workspace_id]
        if active is not None:
            where += " AND deleted = ?"
            args.append(0 if active == "true" else 1)
        rows = tx.execute(f"SELECT * FROM participant_groups {where} ORDER BY seq", args).fetchall()
        return 200, {"results": [render(tx, row) for row in rows]}


@route("POST", "/participant-groups/")
def _create(app, request: Request, _):
    tables.ensure(app.store)
    fields = Fields(request.body)
    name = fields.text("name", required=True, blank=False)
    description = fields.text("description", nullable=True)
    workspace_id = fields.text("workspace_id")
    organisation_id = fields.text("organisation_id")
    participant_ids = fields.ids("participant_ids") or []
    if workspace_id is None and organisation_id is None and "workspace_id" not in fields.errors:
        fields.bad("workspace_id", "Either a workspace_id or an organisation_id must be given.")
    if organisation_id is not None:
        fields.bad("organisation_id", "The local Prolific has no organisations; give the workspace_id.")
    fields.done()
    group_id = new_id()
    with app.store.write() as tx:
        try:
            load_workspace(tx, workspace_id)
        except ApiError:
            raise ApiError(400, {"workspace_id": [f"Workspace {workspace_id} was not found."]}) from None
        tx.execute(
            "INSERT INTO participant_groups (id, workspace_id, data) VALUES (?, ?, ?)",
            (group_id, workspace_id, json.dumps({"name": name, "description": description})),
        )
        _add(tx, group_id, participant_ids)
        return 201, render(tx, load(tx, group_id))


@route("GET", "/participant-groups/{id}/")
def _get(app, request: Request, group_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        return 200, render(tx, load(tx, group_id))


@route("PATCH", "/participant-groups/{id}/")
def _patch(app, request: Request, group_id):
    tables.ensure(app.store)
    fields = Fields(request.body)
    name = fields.text("name", blank=False)
    description = fields.text("description", nullable=True)
    participant_ids = fields.ids("participant_ids")
    fields.done()
    with app.store.write() as tx:
        row = _live(tx, group_id)
        data = json.loads(row["data"])
        if name is not None:
            data["name"] = name
        if "description" in request.body:
            data["description"] = description
        tx.execute("UPDATE participant_groups SET data = ? WHERE id = ?", (json.dumps(data), group_id))
        if participant_ids is not None:  # the whole membership, replaced (the spec's "overwrites")
            keep = set(participant_ids)
            current = {m["participant_id"] for m in members(tx, group_id)}
            tx.executemany("DELETE FROM participant_group_members WHERE group_id = ? AND participant_id = ?",
                           [(group_id, pid) for pid in sorted(current - keep)])
            _add(tx, group_id, [pid for pid in participant_ids if pid not in current])
        return 200, render(tx, load(tx, group_id))


@route("DELETE", "/participant-groups/{id}/")
def _delete(app, request: Request, group_id):
    tables.ensure(app.store)
    with app.store.write() as tx:
        load(tx, group_id)
        tx.execute("UPDATE participant_groups SET deleted = 1 WHERE id = ?", (group_id,))
    return 204, None


@route("GET", "/participant-groups/{id}/participants/")
def _members(app, request: Request, group_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        load(tx, group_id)
        return 200, {"results": members(tx, group_id)}


def _membership_ids(body) -> list[str]:
    fields = Fields(body)
    ids = fields.ids("participant_ids", required=True)
    fields.done()
    return ids or []


@route("POST", "/participant-groups/{id}/participants/")
def _add_members(app, request: Request, group_id):
    tables.ensure(app.store)
    participant_ids = _membership_ids(request.body)
    with app.store.write() as tx:
        _live(tx, group_id)
        _add(tx, group_id, participant_ids)
        return 200, {"results": members(tx, group_id)}


@route("DELETE", "/participant-groups/{id}/participants/")
def _remove_members(app, request: Request, group_id):
    tables.ensure(app.store)
    participant_ids = _membership_ids(request.body if request.body is not None else {})
    with app.store.write() as tx:
        _live(tx, group_id)
        tx.executemany("DELETE FROM participant_group_members WHERE group_id = ? AND participant_id = ?",
                       [(group_id, pid) for pid in participant_ids])
        return 200, {"results": members(tx, group_id)}
