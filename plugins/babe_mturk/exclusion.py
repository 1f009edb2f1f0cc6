"""How MTurk keeps participants out: a qualification type of the experiment's own, granted.

MTurk limits a worker to one assignment per HIT, not per experiment (docs/workers-and-extension.md, "One worker, one participation").
So each experiment gets a qualification type of its own, `babe-tasks worker of <experiment>`,
created once (found by name first, so a re-run or a second machine never makes another), and its
HITs require `DoesNotExist` on it. `status`, `approve` and `status --watch` grant it, without
notifying anyone, to every worker they see (`participants_seen`); from then on MTurk itself keeps
that worker out of the experiment's other HITs, those posted later and those `extend --split` adds.

The same type keeps out the workers of earlier experiments (`create --exclude-previous`): they
are granted it before the new HITs are posted (`keep_out`), so one requirement covers any number
of earlier experiments (MTurk allows only 10). The value tells the two apart — 1 took part, 2 kept
out — so "the workers of experiment X" never includes those X merely excluded. With
`--allow-repeat-workers` nobody is granted on sight, and exclusion uses a second type,
`babe-tasks excluded from <experiment>`, instead.

What was granted is remembered in the ledger's `ExclusionRecords`, so a worker is granted once,
not at every `status`; MTurk stays the truth, and `status --sync` rebuilds the records from it
(`sync`). `babe_tasks.exclusion` decides who; this module is only the how. A platform built on
the MTurk adapter that says it has no qualification types (`capabilities_of(platform).qualifications`
False) keeps people out the default way, with the plan's
`blocklist_hits`.
"""

from __future__ import annotations

from typing import Any

from babe_tasks import output
from babe_tasks.errors import UsageError
from babe_tasks.ledger import ExclusionRecords
from babe_tasks.platform.base import (
    Earlier,
    KeepOutReport,
    KnownParticipants,
    SyncedKeepOut,
)

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
WHAT = "the experiment's qualification"


def uses_types(platform) -> bool:
    """Whether this MTurk-based platform keeps people out with qualification types."""
    from babe_tasks.platform.base import capabilities_of

    return capabilities_of(platform).qualifications


def type_name(experiment: str, kind: str = WORKER) -> str:
    return NAMES[kind].format(experiment=experiment)


def requirement(qualification_type_id: str) -> dict:
    """The HITs' requirement: the worker must not hold the experiment's type."""
    return {"QualificationTypeId": qualification_type_id, "Comparator": "DoesNotExist"}


class QualificationExclusion:
    """The keep-out members of one MTurk platform object (`KeepingOut` in babe_tasks/platform/base.py)."""

    def __init__(self, platform: Any):
        self.platform = platform

    @property
    def settings(self):
        return self.platform.settings

    @property
    def target(self) -> str:
        return self.platform.target

    # -- the experiment's types ---------------------------------------------------------------------
    def known_type(self, records: ExclusionRecords, kind: str = WORKER, experiment: str | None = None) -> str | None:
        """The id of an experiment's type on this MTurk, without creating it (None: there is none).

        The records answer when it was recorded for the same place; otherwise (another state file,
        an endpoint URL, lost records) MTurk is asked by name, and the answer remembered.
        """
        experiment = experiment or self.settings.experiment
        row = records.marker(experiment, self.target, kind)
        if row is not None and row["location"] == self.platform.location:
            return row["qualification_type_id"]
        found = self.platform.find_qualification_type(type_name(experiment, kind))
        if found is not None:
            records.remember_marker(experiment, self.target, kind, self.platform.location, found)
        return found

    def ensure_type(self, records: ExclusionRecords, kind: str = WORKER) -> str:
        """The experiment's type of this kind, created once: found by name before creating."""
        type_id = self.known_type(records, kind)
        if type_id is None:
            experiment = self.settings.experiment
            type_id = self.platform.create_qualification_type(
                type_name(experiment, kind), DESCRIPTIONS[kind].format(experiment=experiment)
            )
            records.remember_marker(experiment, self.target, kind, self.platform.location, type_id)
        return type_id

    # -- granting -----------------------------------------------------------------------------------
    def grant(self, records: ExclusionRecords, type_id: str, workers: dict[str, int]) -> KeepOutReport:
        """Grant the type to these workers (worker → value), concurrently, skipping those granted before."""
        from babe_tasks.steps import concurrently

        done = records.granted(type_id)
        todo = [(worker, value) for worker, value in workers.items() if worker not in done]
        if not todo:
            return KeepOutReport(what=WHAT)
        with output.progress("granting the experiment's qualification", total=len(todo)) as bar:
            outcomes = concurrently(
                self.settings,
                lambda item: self.platform.grant_qualification(type_id, item[0], item[1]),
                todo,
                advance=bar.advance,
            )
        records.record_grants(type_id, [o.item for o in outcomes if o.error is None])
        return KeepOutReport(
            done=sum(o.error is None for o in outcomes),
            failed=tuple((o.item[0], str(o.error)) for o in outcomes if o.error is not None),
            what=WHAT,
        )

    # -- the members ----------------------------------------------------------------------------------
    def plan_keep_out(self, plan, earlier: Earlier) -> None:
        """The plan counts the experiment's type among its requirements; nothing is made yet."""
        if not uses_types(self.platform):
            plan.blocklist_hits = list(earlier.work_ids)
            plan.qualification_types = False
            return
        plan.qualification_types = True

    def keep_out(self, plan, earlier: Earlier, records: ExclusionRecords) -> KeepOutReport:
        """Make the type the HITs will require, grant it, and add the requirement.

        Unique workers: the experiment's worker type, granted to the workers already seen in it
        (value 1) and to the excluded ones (value 2). Repeat workers allowed but some kept out:
        the "excluded from" type, granted to those only.
        """
        if not uses_types(self.platform) or not earlier.anyone:
            return KeepOutReport(what=WHAT)
        kind = WORKER if earlier.unique else EXCLUDED
        type_id = self.ensure_type(records, kind)
        workers = {worker: KEPT_OUT for worker in earlier.excluded}
        if earlier.unique:
            workers.update({worker: TOOK_PART for worker in earlier.participants})
        report = self.grant(records, type_id, workers)
        wanted = requirement(type_id)
        if wanted not in plan.qualification_requirements:
            plan.qualification_requirements.append(wanted)
        return report

    def participants_seen(self, experiment: str, participant_ids: list[str], records: ExclusionRecords) -> KeepOutReport:
        """Grant the experiment's worker type to these workers (status, approve, watch).

        No call when the experiment has no worker type (its HITs were posted with
        `--allow-repeat-workers`, or before the tool kept workers unique) or everyone is granted.
        """
        report = KeepOutReport(what=WHAT)
        if not uses_types(self.platform) or not participant_ids:
            return report
        row = records.marker(experiment, self.target, WORKER)
        if row is None:
            return report
        type_id = row["qualification_type_id"]
        if row["location"] != self.platform.location:
            type_id = self.known_type(records, WORKER, experiment)
            if type_id is None:
                return report
        if set(participant_ids) <= set(records.granted(type_id)):
            return report
        return self.grant(records, type_id, dict.fromkeys(participant_ids, TOOK_PART))

    def participants_of(self, experiment: str, records: ExclusionRecords) -> KnownParticipants:
        """The holders of the experiment's worker type with value 1 (took part, not kept out)."""
        if not uses_types(self.platform):
            return KnownParticipants()
        type_id = self.known_type(records, WORKER, experiment)
        if type_id is None:
            return KnownParticipants(where=f"qualification type {type_name(experiment)!r}")
        holders = self.platform.iter_qualified_workers(type_id)
        return KnownParticipants(frozenset(w for w, value in holders if value == TOOK_PART), found=True)

    def sync_keep_out(self, experiment: str, records: ExclusionRecords) -> SyncedKeepOut:
        """Find the experiment's types by name and record who holds them."""
        if not uses_types(self.platform):
            return SyncedKeepOut()
        found = 0
        own: list[dict] = []
        for kind in (WORKER, EXCLUDED):
            type_id = self.platform.find_qualification_type(type_name(experiment, kind))
            if type_id is None:
                continue
            records.remember_marker(experiment, self.target, kind, self.platform.location, type_id)
            holders = [
                (worker, value if value is not None else TOOK_PART)
                for worker, value in self.platform.iter_qualified_workers(type_id)
            ]
            records.record_grants(type_id, holders)
            found += len(holders)
        row = records.marker(experiment, self.target, WORKER)
        if row is not None:
            own.append(requirement(row["qualification_type_id"]))
        return SyncedKeepOut(found=found, own=tuple(own))


def check_types_exist(platform, requirements: list[dict[str, Any]], target: str) -> None:
    """Refuse, before anything is created, a requirement on a type MTurk does not know.

    MTurk would refuse it only at CreateHITType — after the plan, the experiment's own type and
    its grants were made. Amazon's system types need no call.
    """
    from babe_tasks.planning import MASTERS_IDS
    from babe_tasks.qualifications import SYSTEM_TYPES

    system = {*SYSTEM_TYPES, *MASTERS_IDS.values()}
    for type_id in dict.fromkeys(r["QualificationTypeId"] for r in requirements):
        if type_id not in system and platform.qualification_type_name(type_id) is None:
            raise UsageError(
                f"qualification type {type_id} does not exist on {target}: check the id "
                "(aws mturk list-qualification-types --must-be-owned-by-caller lists yours)"
            )
