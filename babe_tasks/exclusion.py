"""One person, one participation: who new work keeps out is decided here; how, by the platform.

A platform limits a participant to one submission per unit of work (an MTurk HIT, a Prolific
study), not per experiment (docs/workers-and-extension.md, "One worker, one participation"). This module says, from this folder's
ledger, WHO must be kept out — the experiment's own participants unless `--allow-repeat-workers`,
and with `--exclude-previous` those of earlier experiments — as an `Earlier` (the work ids and
participant ids; platform/base.py). The platform's keep-out members (`KeepingOut` in
platform/base.py) decide HOW:

- MTurk (plugins/babe_mturk/exclusion.py) grants a qualification type of the experiment's own
  that its HITs require not to have, to each participant as `status`, `approve` and `watch` see
  them, and to the excluded ones before `create` posts.
- Prolific names the earlier studies in each study's blocklist filter, or blocks a participant
  group (`exclusion: group`, plugins/babe_prolific/groups.py); seeing participants needs nothing.
- A platform that defines none of them gets the blocklist: `plan.blocklist_hits` names the
  ledger's work whose participants its posting must keep out.

What was done is remembered in the ledger's `ExclusionRecords` (ledger.py), which also lists the
experiments this ledger posted (what "earlier experiments" means); the platform stays the truth,
and `status --sync` rebuilds the records from it (`restore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import output
from .errors import UsageError
from .ledger import ExclusionRecords
from .platform.base import Earlier, KeepOutReport, KnownParticipants, SyncedKeepOut


# -- what a platform without keep-out members gets ------------------------------------------------
def _plan_blocklist(plan, earlier: Earlier) -> None:
    plan.blocklist_hits = list(earlier.work_ids)
    plan.qualification_types = False


DEFAULTS = {
    "plan_keep_out": _plan_blocklist,
    "keep_out": lambda plan, earlier, records: KeepOutReport(),
    "participants_seen": lambda experiment, participant_ids, records: KeepOutReport(),
    "participants_of": lambda experiment, records: KnownParticipants(),
    "sync_keep_out": lambda experiment, records: SyncedKeepOut(),
}


def member(platform, name: str):
    """The platform's keep-out member `name` (`KeepingOut`), or what stands in for it when absent."""
    found = getattr(platform, name, None) if platform is not None else None
    return found if found is not None else DEFAULTS[name]


# -- who: from the ledger ------------------------------------------------------------------------
@dataclass
class Exclusion:
    """Who `create --exclude-previous` keeps out: the experiments and their participants (the review)."""

    experiments: list[str]
    workers: set[str] = field(default_factory=set)

    def as_json(self) -> dict:
        return {"experiments": self.experiments, "workers": len(self.workers)}


def participants(settings, ledger, experiment: str | None = None) -> frozenset[str]:
    """Everyone the ledger has seen submit in the experiment (this one by default)."""
    rows = ledger.assignments(experiment or settings.experiment, settings.target)
    return frozenset(row["worker_id"] for row in rows)


def work_ids(settings, ledger, plan) -> tuple[str, ...]:
    """The ledger's work whose participants the plan keeps out, in posting order, each once.

    Unique workers: every HIT of this experiment the ledger has posted on the target (deleted
    ones too: their workers took part). Excluded experiments: all their HITs.
    """
    names = ([settings.experiment] if plan.unique_workers else []) + list(plan.exclude_experiments or [])
    ids: dict[str, None] = {}
    for name in names:
        for hit in ledger.hits(name, settings.target, settings.platform):
            if hit.hit_id:
                ids.setdefault(hit.hit_id, None)
    return tuple(ids)


def earlier(settings, ledger, plan, excluded: Exclusion | None = None) -> Earlier:
    """The `Earlier` of a plan: the core's answer to "who must this work keep out"."""
    return Earlier(
        experiment=settings.experiment,
        unique=bool(plan.unique_workers),
        experiments=tuple(plan.exclude_experiments or ()),
        work_ids=work_ids(settings, ledger, plan),
        participants=participants(settings, ledger),
        excluded=frozenset(excluded.workers) if excluded is not None else frozenset(),
    )


def earlier_experiments(settings, ledger) -> list[str]:
    """Every other experiment this folder's ledger has posted on the target, oldest first."""
    with ExclusionRecords(ledger) as records:
        return [name for name in records.experiments(settings.target) if name != settings.experiment]


def remember_experiment(settings, ledger) -> None:
    """Note that this ledger posted the experiment on the target (what "earlier experiments" means)."""
    with ExclusionRecords(ledger) as records:
        records.remember_experiment(settings.experiment, settings.target)


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


def plan(settings, platform, ledger, plan) -> None:
    """When `create` plans: name the excluded experiments, and let the platform shape the plan."""
    resolve(settings, ledger, plan)
    if platform is not None:  # no platform: MTurk's rules price a plan that is never posted
        member(platform, "plan_keep_out")(plan, earlier(settings, ledger, plan))


def workers_of(settings, platform, ledger, records: ExclusionRecords, experiment: str) -> set[str] | None:
    """Every participant of an experiment, or None when nothing is known of it here.

    Three sources, so nobody slips through: the experiment's HITs in this ledger, listed afresh
    (work submitted since the last status counts); the ledger's own record (HITs deleted since);
    and the platform's own record (`participants_of`: experiments run from another folder, or
    whose ledger was lost).
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
    workers = set(participants(settings, ledger, experiment))
    known = member(platform, "participants_of")(experiment, records)
    workers |= set(known.participants)
    if not hits and not workers and not known.found:
        return None
    return workers


def exclusion(settings, platform, ledger, plan) -> Exclusion | None:
    """Who the plan keeps out (None when it keeps out nobody); refuses experiments unknown here.

    Changes nothing on the platform (the ledger records what the listings showed): nothing is
    done to keep anyone out until the lab has confirmed the plan (`apply`).
    """
    if plan.exclude_experiments is None:
        return None
    result = Exclusion(list(plan.exclude_experiments))
    with ExclusionRecords(ledger) as records:
        for name in plan.exclude_experiments:
            workers = workers_of(settings, platform, ledger, records, name)
            if workers is None:
                where = member(platform, "participants_of")(name, records).where
                known = f" and no {where}" if where else ""
                raise UsageError(
                    f"exclude_experiments: experiment {name!r} is unknown on {settings.target}: no HITs of it in this "
                    f"folder's ledger{known}; check the name"
                )
            result.workers |= workers
    # Participants of this very experiment are kept out as participants, not as excluded.
    result.workers -= participants(settings, ledger)
    return result


# -- acting: through the platform --------------------------------------------------------------------
def apply(settings, platform, ledger, plan, excluded: Exclusion | None) -> KeepOutReport:
    """Before posting: the platform does what keeping `earlier` out needs (`keep_out`).

    Returns what it did; the caller must not post while anything failed, or an excluded
    participant could slip in.
    """
    with ExclusionRecords(ledger) as records:
        return member(platform, "keep_out")(plan, earlier(settings, ledger, plan, excluded), records)


def seen(settings, platform, ledger) -> KeepOutReport:
    """Tell the platform who the ledger has seen take part in the experiment (`status`, `approve`,
    `watch`), so that its other work keeps them out; warns of what failed (the next run retries)."""
    if getattr(platform, "participants_seen", None) is None:
        return KeepOutReport()  # the platform filters by work: nothing to tell it, no records opened
    who = participants(settings, ledger)
    if not who:
        return KeepOutReport()
    with ExclusionRecords(ledger) as records:
        report = member(platform, "participants_seen")(settings.experiment, sorted(who), records)
    for line in report.warnings():
        output.warn(line)
    return report


def restore(settings, platform, ledger) -> SyncedKeepOut:
    """Rebuild the records from the platform (`status --sync`)."""
    with ExclusionRecords(ledger) as records:
        records.remember_experiment(settings.experiment, settings.target)
        return member(platform, "sync_keep_out")(settings.experiment, records)
