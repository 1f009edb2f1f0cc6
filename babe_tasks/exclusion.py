"""One person, one participation: the experiment's own qualification type, granted as workers appear.

MTurk limits a worker to one assignment per HIT, not per experiment (DESIGN.md, "Repeat workers").
So each experiment gets a qualification type of its own, `babe-tasks worker of <experiment>`,
created once (found by name first, so a re-run or a second machine never makes another), and its
HITs require `DoesNotExist` on it. `status`, `approve` and `status --watch` grant it, without
notifying anyone, to every worker they see; from then on MTurk itself keeps that worker out of the
experiment's other HITs, those posted later and those `extend --split` adds.

The same type keeps out the workers of earlier experiments (`create --exclude-previous`): they
are granted it before the new HITs are posted, so one requirement covers any number of earlier
experiments (MTurk allows only 10). The value tells the two apart — 1 took part, 2 kept out — so
"the workers of experiment X" never includes those X merely excluded. With
`--allow-repeat-workers` nobody is granted on sight, and exclusion uses a second type,
`babe-tasks excluded from <experiment>`, instead.

A platform without qualification types (`supports_qualifications` False, e.g. Prolific) gets
none of this: nothing is created or granted, and `create` fills `plan.blocklist_hits` instead —
the ledger's HITs of this experiment (unique workers) and of the excluded experiments — which
the platform turns into its own "not those who took part in ..." filter (`fill_blocklist`).

What was granted is remembered in this module's own tables in the ledger's SQLite file (the ledger
itself belongs to another module), so a worker is granted once, not at every `status`; the
platform stays the truth, and `status --sync` rebuilds the tables from it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import output
from .errors import UsageError
from .ledger import LedgerTable
from .platform.base import capability

#: The two kinds of type an experiment may have, and the values granted in them.
WORKER = "worker"
EXCLUDED = "excluded"
TOOK_PART = 1
KEPT_OUT = 2
NAMES = {WORKER: "babe-tasks worker of {experiment}", EXCLUDED: "babe-tasks excluded from {experiment}"}
DESCRIPTIONS = {
    WORKER: (
        "Granted by babe-tasks to the workers of experiment {experiment} (value 1: took part; 2: kept out "
        "because they took part in an earlier experiment). Its HITs require that a worker does not have it, "
        "so that nobody takes part twice."
    ),
    EXCLUDED: (
        "Granted by babe-tasks to workers of earlier experiments, whom experiment {experiment} keeps out: its "
        "HITs require that a worker does not have it."
    ),
}

SCHEMA = """
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


def has_types(platform) -> bool:
    """Whether the platform has qualification types (else this module grants nothing)."""
    return bool(capability(platform, "supports_qualifications"))


def type_name(experiment: str, kind: str = WORKER) -> str:
    return NAMES[kind].format(experiment=experiment)


def requirement(qualification_type_id: str) -> dict:
    """The HITs' requirement: the worker must not hold the experiment's type."""
    return {"QualificationTypeId": qualification_type_id, "Comparator": "DoesNotExist"}


class Table(LedgerTable):
    """This module's tables in the ledger's SQLite file, over a connection of its own."""

    SCHEMA = SCHEMA

    # -- types ---------------------------------------------------------------------------------
    def type_row(self, experiment: str, target: str, kind: str) -> sqlite3.Row | None:
        rows = self._read(
            "SELECT * FROM exclusion_types WHERE experiment = ? AND target = ? AND kind = ?", (experiment, target, kind)
        )
        return rows[0] if rows else None

    def remember_type(self, experiment: str, target: str, kind: str, location: str, type_id: str) -> None:
        self._write(
            "INSERT INTO exclusion_types (experiment, target, kind, location, qualification_type_id, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (experiment, target, kind) DO UPDATE SET"
            " location = excluded.location, qualification_type_id = excluded.qualification_type_id,"
            " recorded_at = excluded.recorded_at",
            [(experiment, target, kind, location, type_id, time.time())],
        )

    # -- grants --------------------------------------------------------------------------------
    def granted(self, type_id: str) -> dict[str, int]:
        rows = self._read("SELECT worker_id, value FROM exclusion_grants WHERE qualification_type_id = ?", (type_id,))
        return {r["worker_id"]: r["value"] for r in rows}

    def record_grants(self, type_id: str, grants: Iterable[tuple[str, int]]) -> None:
        now = time.time()
        self._write(
            "INSERT INTO exclusion_grants (qualification_type_id, worker_id, value, granted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (qualification_type_id, worker_id) DO UPDATE SET value = excluded.value",
            [(type_id, worker, value, now) for worker, value in grants],
        )

    # -- experiments of this ledger ------------------------------------------------------------
    def remember_experiment(self, experiment: str, target: str) -> None:
        self._write(
            "INSERT OR IGNORE INTO exclusion_experiments (experiment, target, first_seen) VALUES (?, ?, ?)",
            [(experiment, target, time.time())],
        )

    def experiments(self, target: str) -> list[str]:
        rows = self._read(
            "SELECT experiment FROM exclusion_experiments WHERE target = ? ORDER BY first_seen, experiment", (target,)
        )
        return [r["experiment"] for r in rows]


# -- the experiment's types ---------------------------------------------------------------------
def known_type(settings, platform, table: Table, kind: str = WORKER, experiment: str | None = None) -> str | None:
    """The id of an experiment's type on this platform, without creating it (None: there is none).

    The table answers when it was recorded for the same place; otherwise (another state file, an
    endpoint URL, a lost table) the platform is asked by name, and the answer remembered.
    """
    experiment = experiment or settings.experiment
    row = table.type_row(experiment, settings.target, kind)
    if row is not None and row["location"] == platform.location:
        return row["qualification_type_id"]
    found = platform.find_qualification_type(type_name(experiment, kind))
    if found is not None:
        table.remember_type(experiment, settings.target, kind, platform.location, found)
    return found


def ensure_type(settings, platform, table: Table, kind: str = WORKER) -> str:
    """The experiment's type of this kind, created once: found by name before creating."""
    type_id = known_type(settings, platform, table, kind)
    if type_id is None:
        name = type_name(settings.experiment, kind)
        type_id = platform.create_qualification_type(name, DESCRIPTIONS[kind].format(experiment=settings.experiment))
        table.remember_type(settings.experiment, settings.target, kind, platform.location, type_id)
    return type_id


# -- granting -----------------------------------------------------------------------------------
@dataclass
class GrantReport:
    """What one round of granting did: how many granted now, and the failures (worker, error)."""

    granted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def warnings(self, what: str) -> list[str]:
        if not self.failed:
            return []
        worker, error = self.failed[0]
        line = f"could not grant {what} to {len(self.failed)} worker(s) ({worker}: {error}); "
        return [line + "the next status or approve tries again"]


def grant(settings, platform, table: Table, type_id: str, workers: dict[str, int]) -> GrantReport:
    """Grant the type to these workers (worker → value), concurrently, skipping those granted before."""
    from .steps import concurrently

    done = table.granted(type_id)
    todo = [(worker, value) for worker, value in workers.items() if worker not in done]
    report = GrantReport()
    if not todo:
        return report
    with output.progress("granting the experiment's qualification", total=len(todo)) as bar:
        outcomes = concurrently(
            settings, lambda item: platform.grant_qualification(type_id, item[0], item[1]), todo, advance=bar.advance
        )
    table.record_grants(type_id, [o.item for o in outcomes if o.error is None])
    report.granted = sum(o.error is None for o in outcomes)
    report.failed = [(o.item[0], str(o.error)) for o in outcomes if o.error is not None]
    return report


def grant_seen(settings, platform, ledger) -> GrantReport:
    """Grant the experiment's worker type to every worker the ledger has seen in it (status, approve).

    Nothing to do, and no call, when the experiment has no worker type (its HITs were posted with
    `--allow-repeat-workers`, or before the tool kept workers unique), everyone is granted, or the
    platform has no qualification types (it keeps workers out through `plan.blocklist_hits`).
    """
    if not has_types(platform):
        return GrantReport()
    with Table(ledger) as table:
        seen = {row["worker_id"]: TOOK_PART for row in ledger.assignments(settings.experiment, settings.target)}
        row = table.type_row(settings.experiment, settings.target, WORKER)
        if not seen or row is None:
            return GrantReport()
        type_id = row["qualification_type_id"]
        if row["location"] != platform.location:
            type_id = known_type(settings, platform, table)
            if type_id is None:
                return GrantReport()
        if set(seen) <= set(table.granted(type_id)):
            return GrantReport()
        report = grant(settings, platform, table, type_id, seen)
    for line in report.warnings(f"the experiment's qualification {type_id}"):
        output.warn(line)
    return report


# -- keeping earlier experiments' workers out ------------------------------------------------------
@dataclass
class Exclusion:
    """Who `create --exclude-previous` keeps out: the experiments and their workers."""

    experiments: list[str]
    workers: set[str] = field(default_factory=set)

    def as_json(self) -> dict:
        return {"experiments": self.experiments, "workers": len(self.workers)}


def earlier_experiments(settings, ledger) -> list[str]:
    """Every other experiment this folder's ledger has posted on the target, oldest first."""
    with Table(ledger) as table:
        return [name for name in table.experiments(settings.target) if name != settings.experiment]


def remember_experiment(settings, ledger) -> None:
    """Note that this ledger posted the experiment on the target (what "earlier experiments" means)."""
    with Table(ledger) as table:
        table.remember_experiment(settings.experiment, settings.target)


def workers_of(settings, platform, ledger, table: Table, experiment: str) -> set[str] | None:
    """Every worker who took part in an experiment, or None when nothing is known of it here.

    Three sources, so nobody slips through: the experiment's HITs in this ledger, listed afresh
    (work submitted since the last status counts); the ledger's own record (HITs deleted since);
    and the holders of its worker type on the platform with value 1 (experiments run from
    another folder, or whose ledger was lost).
    """
    from .platform.base import NotFound, pricing_of

    pricing = pricing_of(platform)
    hits = [hit for hit in ledger.hits(experiment, settings.target, settings.platform) if not hit.gone]
    for hit in hits:
        try:
            listed = list(platform.iter_assignments(hit.hit_id))
        except NotFound:
            continue
        fee = pricing.assignment_fee(hit.reward, hit.max_assignments, hit.masters)
        ledger.record_assignments(experiment, settings.target, listed, lambda _hit, hit=hit, fee=fee: (hit.reward, fee))
    workers = {row["worker_id"] for row in ledger.assignments(experiment, settings.target)}
    type_id = known_type(settings, platform, table, WORKER, experiment) if has_types(platform) else None
    if type_id is not None:
        workers |= {worker for worker, value in platform.iter_qualified_workers(type_id) if value == TOOK_PART}
    if not hits and not workers and type_id is None:
        return None
    return workers


def resolve(settings, ledger, plan) -> None:
    """Name the experiments an `--exclude-previous` plan keeps out, before plugins see the plan.

    An empty `plan.exclude_experiments` means every earlier experiment of the ledger; it is filled
    in, so the plan's fingerprint — and a resumed create — names them.
    """
    if plan.exclude_experiments is None or plan.exclude_experiments:
        return
    plan.exclude_experiments = earlier_experiments(settings, ledger)
    if not plan.exclude_experiments:
        output.warn(f"exclude_previous: this ledger has no earlier experiment on {settings.target}; nobody is kept out")


def fill_blocklist(settings, ledger, plan) -> None:
    """For a platform without qualification types: the HITs whose workers the plan keeps out.

    Unique workers: every HIT of this experiment the ledger has posted on the target (deleted ones
    too: their workers took part). Excluded experiments: all their HITs. Ids in posting order,
    each once. The platform keeps those HITs' workers out natively (Prolific: a "previous studies"
    block list), so nobody takes part twice without any grant.
    """
    names = ([settings.experiment] if plan.unique_workers else []) + list(plan.exclude_experiments or [])
    ids: dict[str, None] = {}
    for name in names:
        for hit in ledger.hits(name, settings.target, settings.platform):
            if hit.hit_id:
                ids.setdefault(hit.hit_id, None)
    plan.blocklist_hits = list(ids)


def exclusion(settings, platform, ledger, plan) -> Exclusion | None:
    """Who the plan keeps out (None when it keeps out nobody); refuses experiments unknown here.

    Changes nothing on the platform (the ledger records what the listings showed): nothing is
    granted until the lab has confirmed the plan (`apply`).
    """
    if plan.exclude_experiments is None:
        return None
    result = Exclusion(list(plan.exclude_experiments))
    with Table(ledger) as table:
        for name in plan.exclude_experiments:
            workers = workers_of(settings, platform, ledger, table, name)
            if workers is None:
                known = f" and no qualification type {type_name(name)!r}" if has_types(platform) else ""
                raise UsageError(
                    f"exclude_experiments: experiment {name!r} is unknown on {settings.target}: no HITs of it in this "
                    f"folder's ledger{known}; check the name"
                )
            result.workers |= workers
    # Workers of this very experiment are granted as participants (value 1), not as excluded.
    result.workers -= {row["worker_id"] for row in ledger.assignments(settings.experiment, settings.target)}
    return result


def apply(settings, platform, ledger, plan, excluded: Exclusion | None) -> GrantReport:
    """Before posting: make the type the HITs will require, grant it, and add the requirement.

    Unique workers: the experiment's worker type, granted to the workers already seen in it
    (value 1) and to the excluded ones (value 2). Repeat workers allowed but some kept out: the
    "excluded from" type, granted to those only. Returns what granting did; the caller must not
    post while any grant failed, or an excluded worker could slip in.
    """
    if not plan.unique_workers and not (excluded and excluded.workers):
        return GrantReport()
    if not has_types(platform):
        return GrantReport()
    kind = WORKER if plan.unique_workers else EXCLUDED
    with Table(ledger) as table:
        type_id = ensure_type(settings, platform, table, kind)
        workers: dict[str, int] = {}
        if excluded is not None:
            workers.update({worker: KEPT_OUT for worker in excluded.workers})
        if plan.unique_workers:
            workers.update(
                {row["worker_id"]: TOOK_PART for row in ledger.assignments(settings.experiment, settings.target)}
            )
        report = grant(settings, platform, table, type_id, workers)
    wanted = requirement(type_id)
    if wanted not in plan.qualification_requirements:
        plan.qualification_requirements.append(wanted)
    return report


def restore(settings, platform, ledger) -> int:
    """Rebuild this module's tables from the platform (`status --sync`); returns the grants found."""
    found = 0
    with Table(ledger) as table:
        table.remember_experiment(settings.experiment, settings.target)
        if not has_types(platform):
            return found
        for kind in (WORKER, EXCLUDED):
            type_id = platform.find_qualification_type(type_name(settings.experiment, kind))
            if type_id is None:
                continue
            table.remember_type(settings.experiment, settings.target, kind, platform.location, type_id)
            holders = [(worker, value if value is not None else TOOK_PART) for worker, value in platform.iter_qualified_workers(type_id)]
            table.record_grants(type_id, holders)
            found += len(holders)
    return found
