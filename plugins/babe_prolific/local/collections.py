"""Mutually exclusive study collections: studies of one project of which a participant may take only one.

A lab splitting one experiment into conditions (or batches) wants nobody in two of them; a
collection says so once instead of a blocklist per study. Studies join while they are drafts,
in the collection's project; joining another collection moves a study. Publishing the collection
publishes its studies (each as `POST /studies/{id}/transition/` PUBLISH would, after checking the
balance covers them all, so a short balance publishes none); a scheduled publish happens on the
first request after its `publish_at` on the local clock. Who is refused is eligibility.py's: a
participant with a submission in one study of the collection is refused by the others.

The collection's `status` is its studies' state once published (PUBLISHING while any study is,
ACTIVE while any is, PAUSED when all are, else AWAITING_REVIEW — the spec's enum has no COMPLETED).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import money, studies, tables
from .app import Request, route
from .errors import FUNDS, ApiError, bad_transition
from .fields import Fields
from .store import CURRENCIES, Store, load_row, merge_data, new_id
from .workspaces import load_project, project_of

ACTIONS = ("PUBLISH", "SCHEDULE_PUBLISH", "CANCEL_PUBLISH")


def load(tx: sqlite3.Connection, collection_id: str) -> sqlite3.Row:
    return load_row(tx, "study_collections", collection_id, "Study collection")


def study_ids(tx: sqlite3.Connection, collection_id: str) -> list[str]:
    return [r[0] for r in tx.execute(
        "SELECT study_id FROM study_collection_members WHERE collection_id = ? ORDER BY position", (collection_id,))]


def _status(tx: sqlite3.Connection, row: sqlite3.Row) -> str:
    if row["status"] != "PUBLISHED":
        return row["status"]
    states = [studies.load(tx, sid)["status"] for sid in study_ids(tx, row["id"])]
    for state in ("PUBLISHING", "ACTIVE"):
        if state in states:
            return state
    return "PAUSED" if states and all(s == "PAUSED" for s in states) else "AWAITING_REVIEW"


def _cost(tx: sqlite3.Connection, ids: list[str]) -> str:
    cents = sum(studies.render(tx, studies.load(tx, sid))["total_cost"] for sid in ids)
    return f"{CURRENCIES[Store.meta(tx, 'currency_code')]}{money.major(int(cents))}"


def render(tx: sqlite3.Connection, row: sqlite3.Row, *, detail: bool = True) -> dict:
    data = json.loads(row["data"])
    ids = study_ids(tx, row["id"])
    status = _status(tx, row)
    body = {"id": row["id"], "status": status, "name": data["name"], "description": data["description"],
            "publish_at": data.get("publish_at"), "study_ids": ids}
    if detail:
        body["estimated_cost"] = _cost(tx, ids)
        body["total_cost"] = body["estimated_cost"] if row["status"] == "PUBLISHED" else None
    return body


def _publish_time(value: str) -> float:
    """`2050-02-28T13:45:00 Europe/London` (the spec's form) or an ISO 8601 time with an offset."""
    stamp, _, zone = value.strip().partition(" ")
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if zone:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        raise ApiError(400, {"publish_at": ["A date-time and time zone such as 2050-02-28T13:45:00 Europe/London."]}) from None
    if moment.tzinfo is None:
        raise ApiError(400, {"publish_at": ["Give a time zone (2050-02-28T13:45:00 Europe/London) or an offset."]})
    return moment.timestamp()


def _place(tx: sqlite3.Connection, collection_id: str, project_id: str, ids: list[str]) -> None:
    """Make `ids` the collection's studies: drafts of its project; taken out of any other collection."""
    problems = []
    for sid in ids:
        row = tx.execute("SELECT status, data FROM studies WHERE id = ?", (sid,)).fetchone()
        if row is None:
            problems.append(f"Study {sid} was not found.")
        elif row["status"] != "UNPUBLISHED":
            problems.append(f"Study {sid} is {row['status']}; only draft studies can join a collection.")
        elif project_of(json.loads(row["data"])) != project_id:
            problems.append(f"Study {sid} is not in the collection's project {project_id}.")
    if problems:
        raise ApiError(400, {"study_ids": problems})
    tx.execute("DELETE FROM study_collection_members WHERE collection_id = ? OR study_id IN (%s)" % ",".join("?" * len(ids)),
               (collection_id, *ids))
    tx.executemany("INSERT INTO study_collection_members (study_id, collection_id, position) VALUES (?, ?, ?)",
                   [(sid, collection_id, n) for n, sid in enumerate(ids)])


def _read(body, *, creating: bool) -> tuple[dict, list[str] | None, str | None]:
    fields = Fields(body)
    settings = {}
    for name in ("name", "description"):
        value = fields.text(name, required=creating)
        if value is not None:
            settings[name] = value
    project_id = fields.text("project_id", required=creating) if creating else None
    if "publish_at" in body:
        publish_at = fields.text("publish_at", nullable=True)
        if publish_at is not None:
            _publish_time(publish_at)
        settings["publish_at"] = publish_at
    ids = fields.ids("study_ids")
    fields.done()
    return settings, ids, project_id


# -- endpoints ------------------------------------------------------------------------------------
@route("GET", "/study-collections/mutually-exclusive/")
def _list(app, request: Request, _):
    tables.ensure(app.store)
    project_id = request.query.get("project_id")
    if not project_id:
        raise ApiError(400, {"project_id": ["This query parameter is required."]})
    with app.store.read() as tx:
        load_project(tx, project_id)
        rows = tx.execute("SELECT * FROM study_collections WHERE project_id = ? ORDER BY seq", (project_id,)).fetchall()
        return 200, {"results": [render(tx, row, detail=False) for row in rows]}


@route("POST", "/study-collections/mutually-exclusive/")
def _create(app, request: Request, _):
    tables.ensure(app.store)
    settings, ids, project_id = _read(request.body, creating=True)
    collection_id = new_id()
    with app.store.write() as tx:
        try:
            load_project(tx, project_id)
        except ApiError:
            raise ApiError(400, {"project_id": [f"Project {project_id} was not found."]}) from None
        settings.setdefault("publish_at", None)
        tx.execute("INSERT INTO study_collections (id, project_id, status, data) VALUES (?, ?, 'UNPUBLISHED', ?)",
                   (collection_id, project_id, json.dumps(settings)))
        _place(tx, collection_id, project_id, ids or [])
        return 201, render(tx, load(tx, collection_id), detail=False)


@route("GET", "/study-collections/mutually-exclusive/{id}/")
def _get(app, request: Request, collection_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        return 200, render(tx, load(tx, collection_id))


@route("PATCH", "/study-collections/mutually-exclusive/{id}/")
def _patch(app, request: Request, collection_id):
    tables.ensure(app.store)
    settings, ids, _ = _read(request.body, creating=False)
    with app.store.write() as tx:
        row = load(tx, collection_id)
        if ids is not None:
            if row["status"] != "UNPUBLISHED":
                raise bad_transition(f"The studies of a {row['status']} collection cannot change.")
            _place(tx, collection_id, row["project_id"], ids)
        merge_data(tx, "study_collections", row, settings)
        return 200, render(tx, load(tx, collection_id))


@route("DELETE", "/study-collections/mutually-exclusive/{id}/")
def _delete(app, request: Request, collection_id):
    tables.ensure(app.store)
    with app.store.write() as tx:
        row = load(tx, collection_id)
        if row["status"] != "UNPUBLISHED":
            raise bad_transition(f"Only an unpublished collection can be deleted; this one is {_status(tx, row)}.")
        tx.execute("DELETE FROM study_collection_members WHERE collection_id = ?", (collection_id,))
        tx.execute("DELETE FROM study_collections WHERE id = ?", (collection_id,))
    return 204, None


@route("POST", "/study-collections/mutually-exclusive/{id}/transition/")
def _transition(app, request: Request, collection_id):
    tables.ensure(app.store)
    fields = Fields(request.body)
    action = fields.text("action", required=True)
    publish_at = fields.text("publish_at", nullable=True)
    if action is not None and action not in ACTIONS:
        fields.bad("action", f"Must be one of {', '.join(ACTIONS)}.")
    fields.done()
    if action == "PUBLISH":
        publish(app.store, collection_id)
    else:
        with app.store.write() as tx:
            row = load(tx, collection_id)
            data = json.loads(row["data"])
            if action == "CANCEL_PUBLISH":
                if row["status"] != "SCHEDULED":
                    raise bad_transition(f"Only a scheduled collection can have its publish cancelled; this one is {_status(tx, row)}.")
                tx.execute("UPDATE study_collections SET status = 'UNPUBLISHED' WHERE id = ?", (collection_id,))
            else:
                if row["status"] not in ("UNPUBLISHED", "SCHEDULED"):
                    raise bad_transition(f"A {_status(tx, row)} collection cannot be scheduled.")
                data["publish_at"] = publish_at or data.get("publish_at")
                if not data["publish_at"]:
                    raise ApiError(400, {"publish_at": ["Set publish_at on the collection or in this request to schedule it."]})
                if _publish_time(data["publish_at"]) <= Store.now(tx):
                    raise ApiError(400, {"publish_at": ["The publish time has passed; PUBLISH it instead."]})
                if not study_ids(tx, collection_id):
                    raise bad_transition("The collection has no studies to publish.")
                tx.execute("UPDATE study_collections SET status = 'SCHEDULED', data = ? WHERE id = ?", (json.dumps(data), collection_id))
    with app.store.read() as tx:
        return 200, render(tx, load(tx, collection_id))


def publish(store: Store, collection_id: str) -> None:
    """Publish every study of the collection, or none when the balance cannot cover them all."""
    with store.write() as tx:
        row = load(tx, collection_id)
        if row["status"] not in ("UNPUBLISHED", "SCHEDULED"):
            raise bad_transition(f"The collection is already published ({_status(tx, row)}).")
        ids = study_ids(tx, collection_id)
        if not ids:
            raise bad_transition("The collection has no studies to publish.")
        needed = sum(studies.render(tx, studies.load(tx, sid))["total_cost"] for sid in ids)
        if needed > Store.balance(tx):
            raise ApiError(400, f"Insufficient funds: the collection's studies cost {money.major(int(needed))} and the balance is"
                                f" {money.major(Store.balance(tx))}.", code=FUNDS)
        tx.execute("UPDATE study_collections SET status = 'PUBLISHED' WHERE id = ?", (collection_id,))
    published = 0
    try:
        for sid in ids:
            studies.transition(store, sid, {"action": "PUBLISH"})
            published += 1
    except ApiError:
        if not published:  # nothing went out: the collection is still a draft
            with store.write() as tx:
                tx.execute("UPDATE study_collections SET status = 'UNPUBLISHED' WHERE id = ?", (collection_id,))
        raise


def publish_due(store: Store) -> None:
    """Publish scheduled collections whose time has come (called on every API request)."""
    with store.read() as tx:
        now = Store.now(tx)
        due = [row["id"] for row in tx.execute("SELECT id, data FROM study_collections WHERE status = 'SCHEDULED'")
               if _publish_time(json.loads(row["data"])["publish_at"]) <= now]
    for collection_id in due:
        try:
            publish(store, collection_id)
        except ApiError as error:  # e.g. funds: it stays unpublished, as a failed scheduled publish does
            with store.write() as tx:
                tx.execute("UPDATE study_collections SET status = 'UNPUBLISHED' WHERE id = ?", (collection_id,))
            print(f"local Prolific: scheduled collection {collection_id} was not published: {error}", file=sys.stderr)
