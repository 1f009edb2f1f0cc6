"""`babe ledger.push`: a folder's own SQLite ledger copied into the lab's PostgreSQL (docs/lab.md, "Moving in").

A lab moving onto a shared ledger has history in its folders' `.babe/ledger.sqlite` files; the lab's
view, its caps and its exclusions only count what the lab's ledger holds. Pushing copies every row
by its natural key (plan id, HIT, assignment, the payment's kind + assignment + token, the bonus
token, …): a row the lab already holds with the same content counts "already there", so a push can
be re-run, after a crash or after more offline work, without duplicating anything.

A row whose key the lab holds with *different* content is either the same fact moved on or a
conflict. Moved on: the folder kept working offline after an earlier push, and its row is a later
state of the lab's — a plan `open` → `done`, a bonus `sending` → `paid`, a time that was empty and
is now known, a newer snapshot (`updated_at`) of a HIT's or an assignment's status. Such a row
replaces the lab's ("updated"); the opposite direction (the lab is ahead of the folder) leaves the
lab's row as it is ("lab ahead"). Anything else is a conflict: two records disagree about one fact
(two folders claiming one experiment, a ledger edited by hand). Guessing which is right could
rewrite what the lab already paid on, so nothing is overwritten — and since a half-copied history is worse than none, the whole push is one write
transaction of the lab's ledger (its advisory lock, the schema migrated inside it) and a push with
any conflict writes nothing at all (exit 1, each conflicting row named). `--dry-run` runs the same
transaction and rolls it back: the counts are exact, nothing is written.

Rows keep the member who wrote them. Rows the folder wrote before babe recorded members (empty
`member`) stay empty rather than being credited to whoever pushes: who ran them is not known, and a
wrong name in the lab's "by member" view is worse than an honest blank. A plan's `folder`, empty
for the same reason, is this folder's path: that one is known.

The folder's file is only read (after it is migrated to this babe's schema, as every opening does):
the folder keeps working offline on SQLite afterwards.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PartialFailure, UsageError
from ..ledger import BUSY_TIMEOUT, Ledger
from ..ledgerdb import Database, LedgerUnavailable, connect, mask, os_member, sqlite_path
from ..ledgerdb_migrations import migrate


@dataclass(frozen=True)
class Table:
    """One ledger table as a push sees it."""

    name: str
    #: Its unique keys, the first the natural key a conflict is reported by.
    keys: tuple[tuple[str, ...], ...]
    #: When (or from which machine) a copy of the fact was recorded, not the fact: two ledgers that
    #: recorded the same thing at different moments agree.
    bookkeeping: tuple[str, ...] = ()
    #: Not copied: the folder's own row ids mean nothing in the lab's ledger.
    local: tuple[str, ...] = ()
    #: Columns that only ever go from empty to known.
    fills: tuple[str, ...] = ()
    #: Columns whose values follow one order (`status`: open before done).
    steps: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: A column telling which of two copies is the later snapshot, and the columns such a snapshot
    #: may change (the platform's view of a HIT or an assignment, refreshed by every status).
    snapshot: str | None = None
    refreshed: tuple[str, ...] = ()

    def direction(self, differing: dict[str, dict[str, Any]], ours: dict[str, Any], theirs: Any) -> int:
        """+1 when the folder's row is a later state of the lab's, -1 when the lab's is later, 0 when they disagree."""
        if self.snapshot and set(differing) <= set(self.refreshed):
            mine, lab = ours.get(self.snapshot), theirs[self.snapshot]
            if mine is not None and lab is not None and mine != lab:
                return 1 if mine > lab else -1
        order = dict(self.steps)
        verdicts = set()
        for column, values in differing.items():
            mine, lab = values["folder"], values["lab"]
            if column in self.fills and (mine is None) != (lab is None):
                verdicts.add(1 if lab is None else -1)
            elif column in order and mine in order[column] and lab in order[column]:
                verdicts.add(1 if order[column].index(mine) > order[column].index(lab) else -1)
            else:
                return 0
        return verdicts.pop() if len(verdicts) == 1 else 0


#: Every table of the ledger's schema, parents first (HITs reference their plan). A test checks that
#: a migration adding a table adds it here.
TABLES: tuple[Table, ...] = (
    Table("plans", (("plan_id",),), fills=("finished_at", "hit_type_id"), steps=(("status", ("open", "done")),)),
    Table(
        "hits", (("plan_id", "idx"), ("hit_id",)), bookkeeping=("updated_at",),
        fills=("hit_id", "hit_type_id", "hit_group_id", "posted_at"), snapshot="updated_at",
        refreshed=("status", "expires_at", "max_assignments", "hit_id", "hit_type_id", "hit_group_id", "posted_at"),
    ),
    Table(
        "assignments", (("assignment_id",),), bookkeeping=("seen_at", "updated_at"),
        fills=("accept_time", "submit_time"), snapshot="updated_at", refreshed=("status", "accept_time", "submit_time"),
    ),
    Table("payments", (("kind", "assignment_id", "token"),), bookkeeping=("created_at",), local=("id",)),
    Table(
        "bonuses", (("token",), ("identity", "attempt")), bookkeeping=("created_at",),
        fills=("paid_at", "hit_id"), steps=(("status", ("sending", "paid")),),
    ),
    Table("rejections", (("assignment_id",),), bookkeeping=("rejected_at",)),
    Table("extensions", (("extension_id",),)),
    Table("exclusion_types", (("experiment", "target", "kind"),), bookkeeping=("recorded_at",)),
    Table("exclusion_grants", (("qualification_type_id", "worker_id"),), bookkeeping=("granted_at",)),
    Table("exclusion_experiments", (("experiment", "target"),), bookkeeping=("first_seen",)),
    Table("prolific_participant_groups", (("location", "name"),), bookkeeping=("recorded_at",)),
    Table("prolific_completion_codes", (("experiment",),), bookkeeping=("created_at",)),
)
#: Who wrote a row and from where: provenance, never a reason for two copies to disagree.
PROVENANCE = ("member", "folder")


@dataclass
class Count:
    pushed: int = 0
    already_there: int = 0
    #: Rows the folder holds in a later state than the lab did: the lab's row now says what the folder's does.
    updated: int = 0
    #: Rows the lab holds in a later state than the folder: left as the lab has them.
    lab_ahead: int = 0
    conflicting: int = 0


@dataclass
class Conflict:
    table: str
    key: dict[str, Any]
    #: column → {"folder": its value here, "lab": the lab's}
    columns: dict[str, dict[str, Any]]


@dataclass
class PushResult:
    folder_ledger: str
    lab_ledger: str
    member: str
    dry_run: bool
    tables: dict[str, Count] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    written: bool = False

    def total(self, what: str) -> int:
        return sum(getattr(count, what) for count in self.tables.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "folder_ledger": self.folder_ledger,
            "lab_ledger": self.lab_ledger,
            "member": self.member,
            "dry_run": self.dry_run,
            "written": self.written,
            "tables": {
                name: {
                    "pushed": c.pushed, "already_there": c.already_there, "updated": c.updated,
                    "lab_ahead": c.lab_ahead, "conflicting": c.conflicting,
                }
                for name, c in self.tables.items()
            },
            "conflicts": [{"table": c.table, "key": c.key, "columns": c.columns} for c in self.conflicts],
        }


def run(settings: Any) -> PushResult:
    """Copy the folder's ledger into the lab's (`settings.ledger_url`); PartialFailure on conflicts."""
    url = getattr(settings, "ledger_url", None)
    if not url:
        raise UsageError(
            "ledger.push copies this folder's ledger into the lab's, and no lab ledger is set:"
            " set ledger_url (or BABE_LEDGER_URL) to postgresql://[user@]host[:port]/database"
        )
    folder = Path(settings.folder)
    path = sqlite_path(folder)
    if not path.is_file():
        raise UsageError(f"{path} does not exist: this folder has no ledger of its own to push")
    member = getattr(settings, "member", None) or os.environ.get("BABE_MEMBER", "").strip() or os_member()
    with Ledger(folder, url="", member=member):
        pass  # the folder's file at this babe's schema version, as every opening leaves it
    rows = _read_folder(folder)
    result = PushResult(str(path), mask(url), member, bool(getattr(settings, "dry_run", False)))
    _write_lab(folder, url, member, rows, result)
    if result.conflicts:
        first = result.conflicts[0]
        key = ", ".join(f"{name} {value}" for name, value in first.key.items())
        raise PartialFailure(
            f"{len(result.conflicts)} row(s) of the folder's ledger differ from the lab's under the same key"
            f" ({first.table} {key}: {', '.join(first.columns)}); nothing was written — the lab's rows are kept."
            " Check which record is right (babe ledger.push --json lists each), then push again",
            result.as_json(),
        )
    return result


def _read_folder(folder: Path) -> dict[str, tuple[list[str], list[Any]]]:
    """Every table's columns and rows, read in one snapshot (another babe may be writing the file)."""
    db = connect(folder, None, BUSY_TIMEOUT, read_only=True)
    try:
        db.execute("BEGIN")
        present = db.tables()
        found = {}
        for table in TABLES:
            if table.name in present:
                columns = sorted(db.columns(table.name) - set(table.local))
                found[table.name] = (columns, db.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall())
        db.execute("COMMIT")
        return found
    except db.errors as exc:
        raise LedgerUnavailable.of(db.where, exc) from None
    finally:
        db.close()


def _write_lab(folder: Path, url: str, member: str, rows: dict[str, tuple[list[str], list[Any]]], result: PushResult) -> None:
    """The whole push as one write transaction of the lab's ledger: committed only when nothing conflicts."""
    lab = connect(folder, url, BUSY_TIMEOUT)
    try:
        try:
            lab.begin()
        except lab.errors as exc:
            raise LedgerUnavailable.of(lab.where, exc, url) from None
        try:
            migrate(lab, member, nullcontext)  # inside this transaction: a dry run leaves no schema behind
            here = str(folder.resolve())
            for table in TABLES:
                if table.name in rows:
                    columns, records = rows[table.name]
                    result.tables[table.name] = _push_table(lab, table, columns, records, here, result.conflicts)
            if result.dry_run or result.conflicts:
                lab.rollback()
            else:
                lab.commit()
                result.written = True
        except BaseException as exc:
            if lab.in_transaction:
                try:
                    lab.rollback()
                except lab.errors:
                    pass
            if isinstance(exc, lab.errors):
                raise LedgerUnavailable.of(lab.where, exc, url) from None
            raise
    finally:
        lab.close()


def _push_table(lab: Database, table: Table, columns: list[str], records: list[Any], here: str, conflicts: list[Conflict]) -> Count:
    missing = set(columns) - lab.columns(table.name)
    if missing:  # both are at this babe's schema version: a column only one has is a ledger edited by hand
        raise UsageError(f"the lab's table {table.name} has no column {', '.join(sorted(missing))}: run babe ledger.migrate on both")
    insert = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        " ON CONFLICT DO NOTHING"
    )
    compared = [c for c in columns if c not in table.bookkeeping and c not in PROVENANCE]
    count = Count()
    for record in records:
        values = dict(zip(columns, record, strict=True))
        if table.name == "plans" and not values.get("folder"):
            values["folder"] = here  # a plan from before plans named their folder came from this one
        if lab.execute(insert, [values[c] for c in columns]).rowcount == 1:
            count.pushed += 1
            continue
        theirs = _existing(lab, table, values)
        differing = {
            c: {"folder": values[c], "lab": theirs[c] if theirs is not None else None}
            for c in compared
            if theirs is None or values[c] != theirs[c]
        }
        step = table.direction(differing, values, theirs) if differing and theirs is not None else 0
        if differing and step > 0:
            _update(lab, table, columns, values, theirs)
            count.updated += 1
        elif differing and step < 0:
            count.lab_ahead += 1
        elif differing:
            count.conflicting += 1
            key = next((k for k in table.keys if all(values[c] is not None for c in k)), table.keys[0])
            conflicts.append(Conflict(table.name, {c: values[c] for c in key}, differing))
        else:
            count.already_there += 1
    return count


def _update(lab: Database, table: Table, columns: list[str], values: dict[str, Any], theirs: Any) -> None:
    """The lab's row (found by the key it was met on) given the folder's later state; who wrote it stays the lab's."""
    key = next(k for k in table.keys if all(values[c] is not None and values[c] == theirs[c] for c in k))
    changed = [c for c in columns if c not in PROVENANCE and c not in key]
    assignments = ", ".join(f"{c} = ?" for c in changed)
    where = " AND ".join(f"{c} = ?" for c in key)
    lab.execute(f"UPDATE {table.name} SET {assignments} WHERE {where}", [values[c] for c in changed] + [values[c] for c in key])


def _existing(lab: Database, table: Table, values: dict[str, Any]) -> Any | None:
    """The lab's row holding one of `values`' unique keys (the one the insert ran into)."""
    for key in table.keys:
        if any(values[c] is None for c in key):
            continue  # NULL is never equal: a HIT not yet posted has no hit_id to meet
        where = " AND ".join(f"{c} = ?" for c in key)
        found = lab.execute(f"SELECT * FROM {table.name} WHERE {where}", [values[c] for c in key]).fetchone()
        if found is not None:
            return found
    return None
