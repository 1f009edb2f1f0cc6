"""The tables behind workspaces, projects, participant groups, collections, messages and hooks.

They live in the same state file as studies and submissions, but are created here, by the modules
that use them, so those modules stay out of the study and submission code: what a participant
group or a webhook needs to know about a study or a submission it learns from SQLite triggers on
those tables (`UPDATE OF status`, `UPDATE OF study_code`), not from calls in their code. A trigger
body holds semicolons, so each statement runs whole (the state file's own set-up splits on `;`).

`ensure` runs once per open `Store` (cheap afterwards) from every entry point that may touch these
tables: the per-request hook in app.py, the handlers, and the participant simulation.
"""

from __future__ import annotations

import sqlite3

from .store import Store

#: The project every study belongs to unless its body names another (`project`): the one a fresh
#: Prolific account has in its workspace.
DEFAULT_PROJECT_ID = "5f0c0ffee0000000000000c3"

#: The local clock inside SQL (machine time plus the shared offset), as `Store.now` computes it.
NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0 + CAST(COALESCE((SELECT value FROM meta WHERE key = 'clock_offset'), '0') AS REAL))"

#: The workspace a study's events belong to: its project's workspace.
_STUDY_WORKSPACE = (
    "(SELECT p.workspace_id FROM projects p WHERE p.id = COALESCE(json_extract({data}, '$.project'), '" + DEFAULT_PROJECT_ID + "'))"
)

TABLES = (
    """CREATE TABLE IF NOT EXISTS workspaces (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projects (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, workspace_id TEXT NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS participant_groups (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, workspace_id TEXT,
        deleted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS participant_group_members (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, participant_id TEXT NOT NULL,
        added_at REAL NOT NULL, UNIQUE (group_id, participant_id))""",
    "CREATE INDEX IF NOT EXISTS group_members_by_participant ON participant_group_members (participant_id)",
    """CREATE TABLE IF NOT EXISTS study_collections (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, project_id TEXT NOT NULL,
        status TEXT NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS study_collection_members (
        study_id TEXT PRIMARY KEY, collection_id TEXT NOT NULL, position INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, sender_id TEXT NOT NULL,
        recipient_id TEXT NOT NULL, body TEXT NOT NULL, study_id TEXT, category TEXT,
        sent_at REAL NOT NULL, is_read INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS hook_secrets (
        workspace_id TEXT PRIMARY KEY, id TEXT UNIQUE NOT NULL, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS hook_subscriptions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, workspace_id TEXT NOT NULL,
        event_type TEXT NOT NULL, target_url TEXT NOT NULL, is_enabled INTEGER NOT NULL DEFAULT 1,
        confirm_secret TEXT NOT NULL, confirmed INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS hook_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, subscription_id TEXT NOT NULL,
        event_type TEXT NOT NULL, resource_id TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
        created_at REAL NOT NULL, updated_at REAL NOT NULL, attempts TEXT NOT NULL DEFAULT '[]',
        next_attempt REAL)""",
    "CREATE INDEX IF NOT EXISTS hook_events_due ON hook_events (status, next_attempt)",
)

TRIGGERS = (
    # A study's status change is an event for every live subscription of its workspace.
    f"""CREATE TRIGGER IF NOT EXISTS hooks_study_status AFTER UPDATE OF status ON studies
    WHEN OLD.status IS NOT NEW.status
    BEGIN
        INSERT INTO hook_events (id, subscription_id, event_type, resource_id, payload, status, created_at, updated_at, next_attempt)
        SELECT lower(hex(randomblob(12))), s.id, s.event_type, NEW.id,
               json_object('resource_id', NEW.id, 'event_type', s.event_type, 'metadata', json_object(), 'status', NEW.status),
               'PENDING', {NOW_SQL}, {NOW_SQL}, {NOW_SQL}
        FROM hook_subscriptions s
        WHERE s.event_type = 'study.status.change' AND s.is_enabled = 1 AND s.confirmed = 1 AND s.deleted = 0
          AND s.workspace_id = {_STUDY_WORKSPACE.format(data="NEW.data")};
    END""",
    # So is a submission's, with the participant it belongs to.
    f"""CREATE TRIGGER IF NOT EXISTS hooks_submission_status AFTER UPDATE OF status ON submissions
    WHEN OLD.status IS NOT NEW.status
    BEGIN
        INSERT INTO hook_events (id, subscription_id, event_type, resource_id, payload, status, created_at, updated_at, next_attempt)
        SELECT lower(hex(randomblob(12))), s.id, s.event_type, NEW.id,
               json_object('resource_id', NEW.id, 'event_type', s.event_type, 'participant_id', NEW.participant_id, 'status', NEW.status),
               'PENDING', {NOW_SQL}, {NOW_SQL}, {NOW_SQL}
        FROM hook_subscriptions s
        WHERE s.event_type = 'submission.status.change' AND s.is_enabled = 1 AND s.confirmed = 1 AND s.deleted = 0
          AND s.workspace_id = (SELECT {_STUDY_WORKSPACE.format(data="st.data")} FROM studies st WHERE st.id = NEW.study_id);
    END""",
    # A participant who submits with a code whose actions move them between participant groups is
    # moved then (the completion code's ADD_TO_/REMOVE_FROM_PARTICIPANT_GROUP actions).
    f"""CREATE TRIGGER IF NOT EXISTS groups_code_actions AFTER UPDATE OF study_code ON submissions
    WHEN NEW.study_code IS NOT NULL AND NEW.study_code != '' AND OLD.study_code IS NOT NEW.study_code
    BEGIN
        INSERT OR IGNORE INTO participant_group_members (group_id, participant_id, added_at)
        SELECT json_extract(a.value, '$.participant_group'), NEW.participant_id, {NOW_SQL}
        FROM studies st, json_each(st.data, '$.completion_codes') c, json_each(c.value, '$.actions') a
        WHERE st.id = NEW.study_id AND json_extract(c.value, '$.code') = NEW.study_code
          AND json_extract(a.value, '$.action') = 'ADD_TO_PARTICIPANT_GROUP'
          AND json_extract(a.value, '$.participant_group') IN (SELECT id FROM participant_groups WHERE deleted = 0);
        DELETE FROM participant_group_members
        WHERE participant_id = NEW.participant_id AND group_id IN (
            SELECT json_extract(a.value, '$.participant_group')
            FROM studies st, json_each(st.data, '$.completion_codes') c, json_each(c.value, '$.actions') a
            WHERE st.id = NEW.study_id AND json_extract(c.value, '$.code') = NEW.study_code
              AND json_extract(a.value, '$.action') = 'REMOVE_FROM_PARTICIPANT_GROUP');
    END""",
)


def _default_rows(tx: sqlite3.Connection) -> None:
    """The account's workspace and its default project, as a fresh Prolific account has them."""
    import json

    workspace_id = Store.meta(tx, "workspace_id")
    tx.execute(
        "INSERT OR IGNORE INTO workspaces (id, data) VALUES (?, ?)",
        (workspace_id, json.dumps({"title": "My workspace", "description": "", "currency_code": Store.meta(tx, "currency_code"),
                                   "naivety_distribution_rate": None, "wallet": "5f0c0ffee0000000000000d4"})),
    )
    tx.execute(
        "INSERT OR IGNORE INTO projects (id, workspace_id, data) VALUES (?, ?, ?)",
        (DEFAULT_PROJECT_ID, workspace_id, json.dumps({"title": "Default project", "description": "", "naivety_distribution_rate": None})),
    )


def create(tx: sqlite3.Connection) -> None:
    """Every table and trigger (idempotent), inside the caller's write transaction."""
    if tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'groups_code_actions'").fetchone():
        return
    for statement in (*TABLES, *TRIGGERS):
        tx.execute(statement)
    _default_rows(tx)


def ensure(store: Store) -> None:
    """Create the tables once per open store (a flag on the store makes later calls free)."""
    if getattr(store, "_resource_tables", False):
        return
    with store.write() as tx:
        create(tx)
    store._resource_tables = True


def ready(tx: sqlite3.Connection) -> bool:
    """True when the tables exist (a state no app has opened yet has none: nothing to obey)."""
    return tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'participant_group_members'").fetchone() is not None
