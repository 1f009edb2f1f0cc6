"""The ledger's schema and its versions: one ordered list of migrations for both engines.

A ledger's version is kept where its engine keeps such things: SQLite's `PRAGMA user_version` (where
every babe-tasks before issue 16 kept it, so a folder's existing file is adopted at the version it
says: 3, or 2 before HITs named their platform, 0 when new), PostgreSQL's one-row table
`babe_schema` (version, when, by whom). Each migration is written once in SQLite's DDL; PostgreSQL
gets it with its own types (`Database.ddl`: REAL → DOUBLE PRECISION, integer ids → BIGINT
identities).

`migrate` runs on every opening of a ledger for writing (every `Ledger(...)`) and from `babe
ledger.migrate`: inside one write transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the ledger's
advisory lock), reading the version only once it holds the lock, so two processes starting
together migrate once and the second finds nothing to do. Taking the lock at every opening is also
what it always was on SQLite: a ledger another program holds is found before any platform call.
A ledger newer than this babe is refused, not written with an older idea of its tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from .errors import BabeError
from .ledgerdb import SQLITE, Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    plan_id      TEXT PRIMARY KEY,
    experiment   TEXT NOT NULL,
    target       TEXT NOT NULL,
    location     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    parameters   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'done')),
    hit_type_id  TEXT,
    created_at   REAL NOT NULL,
    finished_at  REAL
);
CREATE INDEX IF NOT EXISTS plans_by_fingerprint ON plans (experiment, target, fingerprint, status);
CREATE TABLE IF NOT EXISTS hits (
    plan_id          TEXT NOT NULL REFERENCES plans (plan_id),
    idx              INTEGER NOT NULL,
    hit_id           TEXT UNIQUE,
    experiment       TEXT NOT NULL,
    target           TEXT NOT NULL,
    location         TEXT NOT NULL,
    hit_type_id      TEXT,
    hit_group_id     TEXT,
    max_assignments  INTEGER NOT NULL,
    reward           TEXT NOT NULL,
    masters          INTEGER NOT NULL DEFAULT 0,
    token            TEXT NOT NULL,
    annotation       TEXT NOT NULL,
    expires_at       REAL,
    status           TEXT NOT NULL DEFAULT 'Planned',
    posted_at        REAL,
    updated_at       REAL,
    platform         TEXT NOT NULL DEFAULT 'mturk',
    PRIMARY KEY (plan_id, idx)
);
CREATE INDEX IF NOT EXISTS hits_by_experiment ON hits (experiment, target);
CREATE TABLE IF NOT EXISTS assignments (
    assignment_id  TEXT PRIMARY KEY,
    hit_id         TEXT NOT NULL,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    status         TEXT NOT NULL,
    accept_time    REAL,
    submit_time    REAL,
    seen_at        REAL NOT NULL,
    updated_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS assignments_by_experiment ON assignments (experiment, target);
CREATE INDEX IF NOT EXISTS assignments_by_hit ON assignments (hit_id);
CREATE TABLE IF NOT EXISTS payments (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('reward', 'fee', 'bonus', 'bonus_fee')),
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    hit_id         TEXT,
    assignment_id  TEXT NOT NULL,
    worker_id      TEXT,
    amount         TEXT NOT NULL,
    token          TEXT NOT NULL DEFAULT '',
    reason         TEXT,
    created_at     REAL NOT NULL,
    UNIQUE (kind, assignment_id, token)
);
CREATE INDEX IF NOT EXISTS payments_by_experiment ON payments (experiment, target);
CREATE TABLE IF NOT EXISTS bonuses (
    token          TEXT PRIMARY KEY,
    identity       TEXT NOT NULL,
    attempt        INTEGER NOT NULL,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    location       TEXT NOT NULL,
    hit_id         TEXT,
    assignment_id  TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    amount         TEXT NOT NULL,
    fee            TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('sending', 'paid')),
    sent_at        REAL NOT NULL,
    paid_at        REAL,
    error          TEXT,
    created_at     REAL NOT NULL,
    UNIQUE (identity, attempt)
);
CREATE INDEX IF NOT EXISTS bonuses_by_experiment ON bonuses (experiment, target);
CREATE INDEX IF NOT EXISTS bonuses_by_assignment ON bonuses (assignment_id);
CREATE TABLE IF NOT EXISTS rejections (
    assignment_id  TEXT PRIMARY KEY,
    experiment     TEXT NOT NULL,
    target         TEXT NOT NULL,
    hit_id         TEXT NOT NULL,
    worker_id      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    rejected_at    REAL NOT NULL
);
"""

EXCLUSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS exclusion_types (
    experiment             TEXT NOT NULL,
    target                 TEXT NOT NULL,
    kind                   TEXT NOT NULL CHECK (kind IN ('worker', 'excluded')),
    location               TEXT NOT NULL,
    qualification_type_id  TEXT NOT NULL,
    recorded_at            REAL NOT NULL,
    PRIMARY KEY (experiment, target, kind)
);
CREATE TABLE IF NOT EXISTS exclusion_grants (
    qualification_type_id  TEXT NOT NULL,
    worker_id              TEXT NOT NULL,
    value                  INTEGER NOT NULL,
    granted_at             REAL NOT NULL,
    PRIMARY KEY (qualification_type_id, worker_id)
);
CREATE TABLE IF NOT EXISTS exclusion_experiments (
    experiment  TEXT NOT NULL,
    target      TEXT NOT NULL,
    first_seen  REAL NOT NULL,
    PRIMARY KEY (experiment, target)
);
"""

PARTICIPANT_GROUPS_SCHEMA = """
CREATE TABLE IF NOT EXISTS prolific_participant_groups (
    location      TEXT NOT NULL,
    name          TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    recorded_at   REAL NOT NULL,
    PRIMARY KEY (location, name)
);
"""

EXTENSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS extensions (
    extension_id  TEXT PRIMARY KEY,
    experiment    TEXT NOT NULL,
    target        TEXT NOT NULL,
    location      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    plan          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    created_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX IF NOT EXISTS extensions_open ON extensions (experiment, target, fingerprint, status)
"""

COMPLETION_CODES_SCHEMA = """
CREATE TABLE IF NOT EXISTS prolific_completion_codes (
    experiment  TEXT PRIMARY KEY,
    code        TEXT NOT NULL,
    origin      TEXT NOT NULL,
    created_at  REAL NOT NULL
);
"""


#: The tables whose rows say who wrote them (`member`, issue 16).
MEMBER_TABLES = ("plans", "hits", "assignments", "payments", "bonuses", "rejections", "extensions")

VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS babe_schema (
    id           INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version      INTEGER NOT NULL,
    migrated_at  REAL NOT NULL,
    member       TEXT NOT NULL
)
"""


def _core(db: Database) -> None:
    db.script(SCHEMA)
    if "platform" not in db.columns("hits"):  # a version-2 SQLite ledger: every HIT in it was MTurk's
        db.execute("ALTER TABLE hits ADD COLUMN platform TEXT NOT NULL DEFAULT 'mturk'")


def _lab(db: Database) -> None:
    db.script(";".join((EXCLUSION_SCHEMA, PARTICIPANT_GROUPS_SCHEMA, EXTENSIONS_SCHEMA, COMPLETION_CODES_SCHEMA)))
    for table in MEMBER_TABLES:
        if "member" not in db.columns(table):
            db.execute(f"ALTER TABLE {table} ADD COLUMN member TEXT NOT NULL DEFAULT ''")
    if "folder" not in db.columns("plans"):
        db.execute("ALTER TABLE plans ADD COLUMN folder TEXT NOT NULL DEFAULT ''")


@dataclass(frozen=True)
class Migration:
    version: int
    what: str
    apply: Callable[[Database], None]


#: Every version after 0 (nothing), oldest first. Append; never edit one that has shipped.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(3, "plans, HITs, assignments, payments, bonuses, rejections (the ledger through issue 15)", _core),
    Migration(
        4,
        "exclusion, extension and Prolific tables created with the ledger; every row names its member,"
        " every plan its folder",
        _lab,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


class SchemaTooNew(BabeError):
    """The ledger was migrated by a newer babe-tasks: writing it with older SQL could lose what it added."""

    exit_code = 2


def version(db: Database) -> int:
    """The ledger's schema version (0: nothing there yet)."""
    if db.engine == SQLITE:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    if "babe_schema" not in db.tables():
        return 0
    row = db.execute("SELECT version FROM babe_schema WHERE id = 1").fetchone()
    return int(row[0]) if row is not None else 0


def _set_version(db: Database, number: int, member: str) -> None:
    if db.engine == SQLITE:
        db.execute(f"PRAGMA user_version = {int(number)}")
        return
    db.script(VERSION_TABLE)
    db.execute(
        "INSERT INTO babe_schema (id, version, migrated_at, member) VALUES (1, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at,"
        " member = excluded.member",
        (number, time.time(), member),
    )


def check_not_newer(db: Database, found: int) -> None:
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the ledger {db.where} is at schema version {found}, newer than this babe-tasks knows ({SCHEMA_VERSION}):"
            " upgrade babe-tasks (pip install -U babe-tasks) before using it"
        )


def migrate(db: Database, member: str, write: Callable[[], AbstractContextManager]) -> tuple[int, int]:
    """Bring the ledger to SCHEMA_VERSION; (version before, version after). `write()` is the
    caller's write transaction (with its failure messages)."""
    with write():
        found = version(db)
        check_not_newer(db, found)
        for migration in MIGRATIONS:
            if migration.version > found:
                migration.apply(db)
        if found != SCHEMA_VERSION:
            _set_version(db, SCHEMA_VERSION, member)
    return found, SCHEMA_VERSION
