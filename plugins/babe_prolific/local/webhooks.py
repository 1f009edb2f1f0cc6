"""Webhooks ("hooks"): Prolific tells a lab's endpoint when a study or a submission changes status,
so `watch` can wait for events instead of polling, as it does with SQS on MTurk.

The flow is the spec's: a workspace secret (`POST /hooks/secrets/`), a subscription
(`POST /hooks/subscriptions/`, answered with an `X-Hook-Secret` header), its confirmation
(`POST /hooks/subscriptions/{id}/` with `{"secret": <that header>}`); from then on every status
change of a study (`study.status.change`) or submission (`submission.status.change`) in the
workspace becomes an event, POSTed to the target URL signed as the spec says: header
`X-Prolific-Request-Timestamp` (UNIX seconds, wall clock) and `X-Prolific-Request-Signature`, the
base64 HMAC-SHA256 of timestamp + body under the workspace's secret. The payloads are the ones
Prolific's webhook documentation gives (the spec's `resource_id` and `event_type`, plus `status`,
and `participant_id` or `metadata`).

Events are made by SQLite triggers on the studies and submissions tables (tables.py), so no study
or submission code knows about hooks and every way a status changes (API, clock, simulated
participants, other processes) is covered. Delivery never holds up an API answer: each request
only wakes a background deliverer (one thread per state file per process, started only once a
confirmed subscription exists), which claims due events with a lease (so two processes never send
one twice), POSTs with a short time-out, and records every attempt; a non-2xx answer or a network
failure is retried twice (after 1 and 4 seconds on the local clock), then the event is FAILED.

The machine the local Prolific runs on must never send traffic elsewhere: a target URL must be
http(s) on 127.0.0.1, ::1 or localhost, and anything else is refused with a 400 (the real service
wants the opposite, a public https URL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from . import tables
from .app import Request, route
from .errors import ApiError
from .fields import Fields
from .store import Store, iso, load_row, new_id

EVENT_TYPES = {
    "study.status.change": "A study changed status (the payload's `status`).",
    "submission.status.change": "A submission changed status (the payload's `status` and `participant_id`).",
}
EVENT_STATUSES = ("PENDING", "SUCCEEDED", "FAILED")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Seconds to wait before the 2nd and 3rd attempt; after the 3rd failure the event is FAILED.
RETRY_AFTER = (1.0, 4.0)
TIMEOUT = 2.0  # seconds per delivery: a slow receiver only delays later events, never an answer
LEASE = 3 * TIMEOUT  # a claimed event is someone's for this long
LINGER = 10.0  # seconds a deliverer with nothing to do keeps watching before it stops


class Headed(dict):
    """A JSON answer with extra response headers (`X-Hook-Secret`)."""

    def __init__(self, body: dict, headers: list[tuple[str, str]]):
        super().__init__(body)
        self.extra_headers = headers


def _local_target(url: str | None, fields: Fields) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in LOCAL_HOSTS:
        fields.bad("target_url", "The local Prolific delivers only to http(s)://127.0.0.1, [::1] or localhost"
                                 " (this machine never sends traffic elsewhere).")


def _event_type(value: str | None, fields: Fields) -> None:
    if value is not None and value not in EVENT_TYPES:
        fields.bad("event_type", f"Unknown event type; GET /api/v1/hooks/event-types/ lists them ({', '.join(EVENT_TYPES)}).")


def _workspace(tx: sqlite3.Connection, workspace_id: str | None, field: str = "workspace_id") -> str:
    if tx.execute("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)).fetchone() is None:
        raise ApiError(400, {field: [f"Workspace {workspace_id} was not found."]})
    return workspace_id


def load(tx: sqlite3.Connection, subscription_id: str) -> sqlite3.Row:
    return load_row(tx, "hook_subscriptions", subscription_id, "Subscription", live=True)


def render(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "event_type": row["event_type"], "target_url": row["target_url"],
            "is_enabled": bool(row["is_enabled"]), "workspace_id": row["workspace_id"]}


def render_event(row: sqlite3.Row, target_url: str) -> dict:
    return {
        "id": row["id"],
        "datetime_created": iso(row["created_at"]),
        "datetime_updated": iso(row["updated_at"]),
        "event_type": row["event_type"],
        "resource_id": row["resource_id"],
        "status": row["status"],
        "target_url": target_url,
        "payload": json.loads(row["payload"]),
        "attempts": json.loads(row["attempts"]),
    }


# -- event types and secrets ----------------------------------------------------------------------
@route("GET", "/hooks/event-types/")
def _event_types(app, request: Request, _):
    return 200, {"results": [{"event_type": name, "description": text} for name, text in EVENT_TYPES.items()]}


@route("GET", "/hooks/secrets/")
def _secrets(app, request: Request, _):
    tables.ensure(app.store)
    with app.store.read() as tx:
        workspace_id = request.query.get("workspace_id")
        if not workspace_id:
            raise ApiError(400, {"workspace_id": ["This query parameter is required."]})
        _workspace(tx, workspace_id)
        rows = tx.execute("SELECT * FROM hook_secrets WHERE workspace_id = ?", (workspace_id,)).fetchall()
        return 200, {"results": [{"id": r["id"], "value": r["value"], "workspace_id": r["workspace_id"]} for r in rows]}


@route("POST", "/hooks/secrets/")
def _create_secret(app, request: Request, _):
    tables.ensure(app.store)
    fields = Fields(request.body)
    workspace_id = fields.text("workspace_id", blank=False)
    fields.done()
    with app.store.write() as tx:
        workspace_id = _workspace(tx, workspace_id or Store.meta(tx, "workspace_id"))
        secret = {"id": new_id(), "value": secrets.token_urlsafe(48), "workspace_id": workspace_id}
        # One secret per workspace: a new one replaces the old (later deliveries are signed with it).
        tx.execute("INSERT OR REPLACE INTO hook_secrets (workspace_id, id, value) VALUES (?, ?, ?)",
                   (workspace_id, secret["id"], secret["value"]))
    return 201, secret


# -- subscriptions --------------------------------------------------------------------------------
@route("GET", "/hooks/subscriptions/")
def _list(app, request: Request, _):
    tables.ensure(app.store)
    enabled = request.query.get("is_enabled", "true").lower()
    if enabled not in ("true", "false"):
        raise ApiError(400, {"is_enabled": ["Must be true or false."]})
    where, args = "WHERE deleted = 0", []
    if enabled == "true":  # the default: enabled ones only; false lifts the filter
        where += " AND is_enabled = 1"
    if request.query.get("workspace_id"):
        where += " AND workspace_id = ?"
        args.append(request.query["workspace_id"])
    with app.store.read() as tx:
        rows = tx.execute(f"SELECT * FROM hook_subscriptions {where} ORDER BY seq", args).fetchall()
        return 200, {"results": [render(row) for row in rows]}


@route("POST", "/hooks/subscriptions/")
def _create(app, request: Request, _):
    tables.ensure(app.store)
    fields = Fields(request.body)
    workspace_id = fields.text("workspace_id", required=True, blank=False)
    event_type = fields.text("event_type", required=True, blank=False)
    target_url = fields.text("target_url", required=True, blank=False)
    enabled = fields.flag("is_enabled")
    _event_type(event_type, fields)
    _local_target(target_url, fields)
    fields.done()
    confirm = secrets.token_hex(32)
    with app.store.write() as tx:
        _workspace(tx, workspace_id)
        if tx.execute("SELECT 1 FROM hook_secrets WHERE workspace_id = ?", (workspace_id,)).fetchone() is None:
            raise ApiError(400, {"workspace_id": ["Create a secret for this workspace first (POST /api/v1/hooks/secrets/)."]})
        subscription_id = new_id()
        tx.execute(
            "INSERT INTO hook_subscriptions (id, workspace_id, event_type, target_url, is_enabled, confirm_secret) VALUES (?, ?, ?, ?, ?, ?)",
            (subscription_id, workspace_id, event_type, target_url, int(enabled is not False), confirm),
        )
        made = render(load(tx, subscription_id))
    # The spec's 201 schema is SubscriptionList (`results`), its prose "an `id` field in the body":
    # both, so a client reading either finds what it looks for.
    return 201, Headed({**made, "results": [made]}, [("X-Hook-Secret", confirm)])


@route("GET", "/hooks/subscriptions/{id}/")
def _get(app, request: Request, subscription_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        return 200, render(load(tx, subscription_id))


@route("POST", "/hooks/subscriptions/{id}/")
def _confirm(app, request: Request, subscription_id):
    tables.ensure(app.store)
    fields = Fields(request.body)
    secret = fields.text("secret", required=True, blank=False)
    fields.done()
    with app.store.write() as tx:
        row = load(tx, subscription_id)
        if not hmac.compare_digest(secret.encode(), row["confirm_secret"].encode()):
            raise ApiError(400, {"secret": ["This is not the X-Hook-Secret the subscription was created with."]})
        tx.execute("UPDATE hook_subscriptions SET confirmed = 1 WHERE id = ?", (subscription_id,))
        return 200, Headed(render(load(tx, subscription_id)), [("X-Hook-Secret", row["confirm_secret"])])


@route("PATCH", "/hooks/subscriptions/{id}/")
def _patch(app, request: Request, subscription_id):
    tables.ensure(app.store)
    fields = Fields(request.body)
    event_type = fields.text("event_type", blank=False)
    target_url = fields.text("target_url", blank=False)
    enabled = fields.flag("is_enabled")
    _event_type(event_type, fields)
    _local_target(target_url, fields)
    fields.done()
    with app.store.write() as tx:
        row = load(tx, subscription_id)
        tx.execute(
            "UPDATE hook_subscriptions SET event_type = ?, target_url = ?, is_enabled = ? WHERE id = ?",
            (event_type or row["event_type"], target_url or row["target_url"],
             row["is_enabled"] if enabled is None else int(enabled), subscription_id),
        )
        return 200, render(load(tx, subscription_id))


@route("DELETE", "/hooks/subscriptions/{id}/")
def _delete(app, request: Request, subscription_id):
    tables.ensure(app.store)
    with app.store.write() as tx:
        load(tx, subscription_id)
        tx.execute("UPDATE hook_subscriptions SET deleted = 1 WHERE id = ?", (subscription_id,))
        # Nothing more goes to a subscription that is gone.
        tx.execute("UPDATE hook_events SET status = 'FAILED', next_attempt = NULL WHERE subscription_id = ? AND status = 'PENDING'",
                   (subscription_id,))
    return 204, None


@route("GET", "/hooks/subscriptions/{id}/events/")
def _events(app, request: Request, subscription_id):
    tables.ensure(app.store)
    query = request.query
    offset, limit = _whole(query, "offset", 0, 0, None), _whole(query, "limit", 100, 1, 1000)
    where, args = "WHERE subscription_id = ?", [subscription_id]
    if query.get("status"):
        wanted = _statuses(query["status"])
        where += f" AND status IN ({','.join('?' * len(wanted))})"
        args += wanted
    if query.get("resource_id"):
        where += " AND resource_id = ?"
        args.append(query["resource_id"])
    with app.store.read() as tx:
        row = load(tx, subscription_id)
        count = tx.execute(f"SELECT COUNT(*) FROM hook_events {where}", args).fetchone()[0]
        rows = tx.execute(f"SELECT * FROM hook_events {where} ORDER BY seq LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
        return 200, {"results": [render_event(r, row["target_url"]) for r in rows], "meta": {"count": count}}


def _whole(query: dict, name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text in (None, ""):
        return default
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        raise ApiError(400, {name: [f"A whole number from {low}" + (f" to {high}." if high else " up.")]})
    return int(text)


def _statuses(text: str) -> list[str]:
    """`SUCCEEDED` or a JSON array such as `["SUCCEEDED", "FAILED"]`."""
    try:
        value = json.loads(text) if text.lstrip().startswith("[") else [text]
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or any(v not in EVENT_STATUSES for v in value):
        raise ApiError(400, {"status": [f"One of {', '.join(EVENT_STATUSES)}, or a JSON array of them."]})
    return value


# -- delivery -------------------------------------------------------------------------------------
def signature(secret: str, timestamp: str, body: str) -> str:
    """The spec's signature: base64(HMAC-SHA256(secret, timestamp + body))."""
    return base64.b64encode(hmac.new(secret.encode(), (timestamp + body).encode(), hashlib.sha256).digest()).decode()


def on_request(store: Store) -> None:
    """Called on every API request: due scheduled collections publish, and the deliverer wakes."""
    from .collections import publish_due

    tables.ensure(store)
    with store.read() as tx:  # one snapshot, so a request with nothing scheduled or subscribed pays one read
        scheduled = tx.execute("SELECT 1 FROM study_collections WHERE status = 'SCHEDULED' LIMIT 1").fetchone()
        live = tx.execute("SELECT 1 FROM hook_subscriptions WHERE confirmed = 1 AND deleted = 0 LIMIT 1").fetchone()
        pending = live or tx.execute("SELECT 1 FROM hook_events WHERE status = 'PENDING' LIMIT 1").fetchone()
    try:
        if scheduled:
            publish_due(store)
        if pending:
            wake(store.path)
    except Exception:  # noqa: BLE001 - background work must never break the answer it rides on
        import traceback

        traceback.print_exc(file=sys.stderr)


_DELIVERERS: dict[str, _Deliverer] = {}
_DELIVERERS_LOCK = threading.Lock()


def wake(state_path: str | Path) -> None:
    """Make sure a deliverer watches this state file (a cheap no-op when one already does)."""
    key = str(Path(state_path).resolve())
    with _DELIVERERS_LOCK:
        deliverer = _DELIVERERS.get(key)
        if deliverer is not None and deliverer.is_alive():
            deliverer.poke()
            return
        deliverer = _DELIVERERS[key] = _Deliverer(Path(key))
        deliverer.start()


class _Deliverer(threading.Thread):
    """Sends due events of one state file until nothing has been due for `LINGER` seconds."""

    def __init__(self, path: Path):
        super().__init__(name=f"localprolific-hooks:{path.name}", daemon=True)
        self.path = path
        self._poked = threading.Event()

    def poke(self) -> None:
        self._poked.set()

    def run(self) -> None:
        import httpx

        store = Store(self.path)
        idle_since = time.monotonic()
        try:
            # trust_env=False: no proxy from the environment may carry a delivery off this machine.
            with httpx.Client(timeout=TIMEOUT, trust_env=False, follow_redirects=False) as client:
                while self.path.exists():
                    sent = deliver_due(store, client)
                    if sent:
                        idle_since = time.monotonic()
                    elif self._poked.is_set():
                        self._poked.clear()
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > LINGER:
                        with _DELIVERERS_LOCK:
                            if _DELIVERERS.get(str(self.path)) is self:
                                del _DELIVERERS[str(self.path)]
                        return
                    if not sent:
                        self._poked.wait(0.1)
        except Exception:  # noqa: BLE001 - a deliverer must never take anything else down
            import traceback

            traceback.print_exc(file=sys.stderr)
        finally:
            store.close()


def deliver_due(store: Store, client) -> int:
    """Claim the due events, POST each, record the attempt; the number of events attempted."""
    with store.write() as tx:
        now = Store.now(tx)
        due = tx.execute(
            "SELECT e.*, s.target_url, s.workspace_id FROM hook_events e JOIN hook_subscriptions s ON s.id = e.subscription_id"
            " WHERE e.status = 'PENDING' AND e.next_attempt <= ? ORDER BY e.seq LIMIT 20",
            (now,),
        ).fetchall()
        tx.executemany("UPDATE hook_events SET next_attempt = ? WHERE id = ?", [(now + LEASE, row["id"]) for row in due])
        keys = {r["workspace_id"]: r["value"] for r in tx.execute("SELECT workspace_id, value FROM hook_secrets")}
    for row in due:
        attempt = _post(client, row["target_url"], keys.get(row["workspace_id"], ""), row["payload"])
        with store.write() as tx:
            now = Store.now(tx)
            attempts = json.loads(tx.execute("SELECT attempts FROM hook_events WHERE id = ?", (row["id"],)).fetchone()[0])
            attempts.append({"at": iso(now), **attempt})
            ok = attempt.get("status_code") is not None and 200 <= attempt["status_code"] < 300
            if ok:
                status, retry = "SUCCEEDED", None
            elif len(attempts) <= len(RETRY_AFTER):
                status, retry = "PENDING", now + RETRY_AFTER[len(attempts) - 1]
            else:
                status, retry = "FAILED", None
            tx.execute("UPDATE hook_events SET status = ?, attempts = ?, updated_at = ?, next_attempt = ? WHERE id = ?",
                       (status, json.dumps(attempts), now, retry, row["id"]))
    return len(due)


def _post(client, url: str, secret: str, payload: str) -> dict:
    parts = urlsplit(url)
    if (parts.hostname or "") not in LOCAL_HOSTS:  # checked at subscription; checked again before sending
        return {"status_code": None, "error": "refused: not a local target"}
    body = json.dumps(json.loads(payload))
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Prolific-Request-Timestamp": stamp,
               "X-Prolific-Request-Signature": signature(secret, stamp, body), "User-Agent": "LocalProlific-Hooks/1"}
    try:
        response = client.post(url, content=body.encode(), headers=headers)
    except Exception as exc:  # noqa: BLE001 - any failure to deliver is recorded, never raised
        return {"status_code": None, "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"status_code": response.status_code}
