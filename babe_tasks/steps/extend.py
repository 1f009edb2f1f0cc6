"""extend: more assignments and/or more time for the experiment's HITs — never one MTurk would refuse.

`--assignments N` is N more participants in all, spread over the chosen HITs (the experiment's,
or `--hit`) as evenly as batching spreads them: one at a time to the smallest HIT that can still
take one. MTurk refuses to raise a HIT created with fewer than 10 assignments to 10 or more
(`InvalidMaximumAssignmentsIncrease`): such a HIT can grow to 9 and no further, so the extension is
checked against that before any call. What does not fit is refused, with the suggestion to post
it as a new HIT of the same HIT type — the same group for workers — which `--split` does. HITs of
10 or more may grow freely (and pay the surcharge, like their first assignments). Assignments go
only to HITs that can take workers: not deleted, not in review, and open now or reopened by
`--lifetime`.

`--lifetime D` keeps the HITs open for D more: the new expiration is D after the later of now and
the current expiration, so an expired HIT reopens for D. Without `--hit` it applies to the HITs
that still have open slots or get new ones.
On a platform whose HITs do not expire by time (`expires_by_time` False: Prolific) it is refused
before anything is spent, with or without `--assignments`.

Idempotency, as for `create`: the whole extension is written to its table in the
ledger file before the first call; CreateAdditionalAssignmentsForHIT carries a UniqueRequestToken
derived from (experiment, extension id, HIT); the HITs `--split` posts are an ordinary plan in the
ledger with their own tokens. An extension that stopped half-way is finished by running the same
command again: the unfinished extension with the same flags is found, HITs that already have their
assignments (the platform's count says so) are not extended twice, and only missing HITs are
posted. Once finished, the same command extends again — that is what it asks for.

Another platform's rules come from its `pricing`: the fees, and whether MTurk's 10-assignment line
exists at all (`large_hit_assignments` None: any HIT grows freely, and `--split` has no purpose and
is refused). `add_assignments` also gets `total=` — the HIT's size after the extension — when the
platform's method takes it, so a platform without request tokens can set an absolute size.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from .. import money, output
from ..durations import DurationError, format_duration, parse_duration
from ..errors import PartialFailure, UsageError
from ..ledger import ExtensionRecords
from ..planning import (
    MAX_TOKEN,
    Cost,
    Plan,
    PlannedHit,
    assignments_cost,
    batch_sizes,
    external_parts,
    hit_cost,
)
from ..platform.base import HitInfo, accepts, capabilities_of, pricing_of
from ..plugins import call_after, call_before
from ..settings import MAX_LIFETIME, MIN_LIFETIME
from . import chosen_hits, concurrently, first_error, hit_id_of, session, vanished
from .create import PostedHit, known_hits, post, spending_check
from .funds import rerun_advice

#: MTurk's line: a HIT created below it can never reach it (docs/workers-and-extension.md, "extend"). Another
#: platform's line is its `pricing.large_hit_assignments` (None: no line).
LARGE_HIT = money.LARGE_HIT_ASSIGNMENTS
#: Statuses in which a HIT can take more assignments (Reviewing and Disposed cannot).
EXTENSIBLE = frozenset({"Assignable", "Unassignable", "Reviewable"})
UNLIMITED = None

def extension_token(experiment: str, extension_id: str, hit_id: str) -> str:
    """CreateAdditionalAssignmentsForHIT's UniqueRequestToken: one per (extension, HIT), 64 characters."""
    text = f"babe-tasks extend\0{experiment}\0{extension_id}\0{hit_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:MAX_TOKEN]


# -- the plan ------------------------------------------------------------------------------------
@dataclass
class HitExtension:
    """What one existing HIT gets: `add` assignments and/or a new expiration (`expires_at`)."""

    hit_id: str
    assignments_before: int
    #: None where the HIT has no expiry time (a platform whose HITs do not expire by time).
    expires_before: datetime | None
    reward: Decimal
    masters: bool = False
    add: int = 0
    expires_at: datetime | None = None
    token: str | None = None
    #: The assignments are there already (a resumed extension whose earlier run added them).
    done: bool = False

    @property
    def assignments_after(self) -> int:
        return self.assignments_before + self.add

    @property
    def cost(self) -> Cost:
        """What the added assignments cost when approved, at MTurk's fees (`cost_with` another's)."""
        return self.cost_with(None)

    def cost_with(self, pricing) -> Cost:
        """What the added assignments cost when approved (at the fee of the HIT's new size)."""
        if not self.add or self.done:
            return Cost()
        return assignments_cost(self.reward, self.assignments_after, self.add, self.masters, pricing)

    def as_json(self) -> dict:
        return {
            "hit_id": self.hit_id,
            "assignments_added": self.add,
            "assignments": self.assignments_after,
            "expires_at": self.expires_at or self.expires_before,
        }


@dataclass
class ExtendPlan:
    """Everything `extend` will do; `babe_before_extend` plugins may change it in place.

    `hits` are the existing HITs that change (assignments to add, new expiration); `new_hits` is
    the plan of HITs `--split` posts into the same HIT type (None when there are none). `cost`
    is what the extension costs if every new assignment is approved (`rewards`, `fees`, `total`).
    """

    experiment: str
    target: str
    assignments: int | None
    lifetime: int | None
    split: bool
    hits: list[HitExtension] = field(default_factory=list)
    new_hits: Plan | None = None
    #: When the new HITs close (with the experiment's HITs), as planned.
    new_hits_until: datetime | None = None
    extension_id: str | None = None
    #: True when this is an unfinished earlier extension being carried on.
    resumed: bool = False
    #: The platform's fee rules (`money.Pricing`); not stored: the platform says it again on resume.
    pricing: Any = field(default=money.MTURK_PRICING, repr=False, compare=False)
    #: What the platform calls a HIT, singular and plural (text output only).
    nouns: tuple[str, str] = field(default=("HIT", "HITs"), repr=False, compare=False)
    #: False where HITs do not close by time (Prolific): JSON shows no expiry for them.
    expires_by_time: bool = field(default=True, repr=False, compare=False)

    @property
    def cost(self) -> Cost:
        total = Cost()
        for hit in self.hits:
            total = total + hit.cost_with(self.pricing)
        if self.new_hits is not None:
            for planned in self.new_hits.hits:
                if planned.hit_id is None:
                    total = total + hit_cost(
                        self.new_hits.reward, planned.assignments, self.new_hits.uses_masters, self.pricing
                    )
        return total

    @property
    def added(self) -> int:
        """Assignments this plan adds to existing HITs (not yet there)."""
        return sum(h.add for h in self.hits if not h.done)

    def to_json(self) -> str:
        data = {
            "experiment": self.experiment,
            "target": self.target,
            "assignments": self.assignments,
            "lifetime": self.lifetime,
            "split": self.split,
            "hits": [
                {
                    "hit_id": h.hit_id,
                    "assignments_before": h.assignments_before,
                    "expires_before": h.expires_before.timestamp() if h.expires_before else None,
                    "reward": money.fmt(h.reward),
                    "masters": h.masters,
                    "add": h.add,
                    "expires_at": h.expires_at.timestamp() if h.expires_at else None,
                    "token": h.token,
                }
                for h in self.hits
            ],
            "new_hits": None,
            "new_hits_until": self.new_hits_until.timestamp() if self.new_hits_until else None,
        }
        if self.new_hits is not None:
            data["new_hits"] = {**self.new_hits.parameters(), "plan_id": self.new_hits.plan_id}
        return json.dumps(data, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, extension_id: str, text: str) -> ExtendPlan:
        data = json.loads(text)
        plan = cls(
            experiment=data["experiment"],
            target=data["target"],
            assignments=data["assignments"],
            lifetime=data["lifetime"],
            split=data["split"],
            extension_id=extension_id,
            resumed=True,
        )
        for h in data["hits"]:
            plan.hits.append(
                HitExtension(
                    hit_id=h["hit_id"],
                    assignments_before=h["assignments_before"],
                    expires_before=datetime.fromtimestamp(h["expires_before"], UTC) if h["expires_before"] else None,
                    reward=Decimal(h["reward"]),
                    masters=h["masters"],
                    add=h["add"],
                    expires_at=datetime.fromtimestamp(h["expires_at"], UTC) if h["expires_at"] else None,
                    token=h["token"],
                )
            )
        if data["new_hits"] is not None:
            plan.new_hits = _plan_from_parameters(data["new_hits"])
        if data.get("new_hits_until"):
            plan.new_hits_until = datetime.fromtimestamp(data["new_hits_until"], UTC)
        return plan


def _plan_from_parameters(data: dict) -> Plan:
    """A `Plan` back from `Plan.parameters()` (plus its `plan_id`), ids filled in by the caller."""
    names = {f.name for f in fields(Plan)} - {"hits", "plan_id", "resumed"}
    values = {name: data[name] for name in names if name in data}
    values["reward"] = Decimal(data["reward"])
    plan = Plan(**values)
    plan.hits = [PlannedHit(i, n) for i, n in enumerate(data["hit_sizes"])]
    if data.get("plan_id"):
        plan.assign_id(data["plan_id"])
    return plan


# -- planning ----------------------------------------------------------------------------------------
def check_amounts(assignments: Any, lifetime: Any, split: bool) -> tuple[int | None, int | None]:
    """The flags as numbers (a count and seconds), or one line saying what is wrong."""
    count = None
    if assignments is not None and str(assignments).strip() != "":
        text = str(assignments).strip()
        if not re.fullmatch(r"\d+", text) or int(text) < 1:
            raise UsageError(f"--assignments {text!r} is not a number of assignments to add: write for example 5")
        count = int(text)
        if count > 1_000_000:
            raise UsageError(f"--assignments {count} is out of range: use 1 to 1000000")
    seconds = None
    if lifetime is not None and str(lifetime).strip() != "":
        try:
            seconds = parse_duration(lifetime)
        except DurationError as exc:
            raise UsageError(f"--lifetime {exc}") from None
        if not MIN_LIFETIME <= seconds <= MAX_LIFETIME:
            raise UsageError(
                f"--lifetime {lifetime} is out of range: MTurk needs {format_duration(MIN_LIFETIME)} to "
                f"{format_duration(MAX_LIFETIME)}"
            )
    if count is None and seconds is None:
        raise UsageError("say what to extend: --assignments N (more participants) and/or --lifetime D (more time)")
    return count, seconds


def fingerprint(settings, hit_ids: list[str] | None, assignments: int | None, lifetime: int | None, split: bool) -> str:
    """What makes two `extend` commands "the same" (for resuming an unfinished one)."""
    chosen = sorted(dict.fromkeys(h.strip() for h in hit_ids or [] if h and h.strip())) or None
    canonical = json.dumps(
        [settings.experiment, settings.target, chosen, assignments, lifetime, bool(split)], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan(settings, pm, hit_ids=None, assignments=None, lifetime=None, split=False) -> ExtendPlan:
    """The extension these flags ask for, with its `cost`, checked; nothing is changed.

    An unfinished extension with the same flags is what a run would carry on, so that is what is
    returned (its remaining cost). Plugins are not asked: `babe cost --extend` uses this.
    """
    count, seconds = check_amounts(assignments, lifetime, split)
    with session(settings, pm) as (platform, ledger):
        table = ExtensionRecords(ledger)
        try:
            return _prepare(settings, platform, ledger, table, hit_ids, count, seconds, split)
        finally:
            table.close()


def _prepare(settings, platform, ledger, table: ExtensionRecords, hit_ids, count, seconds, split) -> ExtendPlan:
    pricing = pricing_of(platform)
    nouns = tuple(capabilities_of(platform).nouns)
    # `--split` is checked here, not in `check_amounts`: whether it means anything is the platform's.
    if split and pricing.large_hit_assignments is None:
        raise UsageError(
            f"--split works around MTurk's 10-assignment rule; {settings.platform} has no such rule "
            f"and every {nouns[0]} can grow: drop --split"
        )
    if split and count is None:
        raise UsageError("--split posts new HITs for assignments that do not fit: it needs --assignments N")
    unfinished = table.open_extension(
        settings.experiment, settings.target, fingerprint(settings, hit_ids, count, seconds, split)
    )
    by_time = capabilities_of(platform).expires_by_time
    if seconds is not None and not by_time and unfinished is None:
        # Refused before anything is spent. (An unfinished extension of these flags, left by an older
        # babe-tasks that added the places and then failed on the time, is finished below instead.)
        raise UsageError(
            f"{settings.platform} {nouns[1]} run until stopped or full, not for a time: drop --lifetime "
            f"(--assignments N adds places; babe expire stops a {nouns[0]})"
        )
    if unfinished is not None:
        plan = _resume(settings, platform, ledger, *unfinished)
        if not by_time:
            for hit in plan.hits:  # no time can be set there: what is left is the places
                hit.expires_at = None
    else:
        grown = table.added(settings.experiment, settings.target)
        plan = _fresh(settings, platform, ledger, hit_ids, count, seconds, split, grown, pricing.large_hit_assignments, nouns)
    plan.pricing = pricing
    plan.nouns = nouns
    plan.expires_by_time = by_time
    if plan.new_hits is not None:
        plan.new_hits.pricing = pricing
    return plan


def _resume(settings, platform, ledger, extension_id: str, stored: str) -> ExtendPlan:
    """The stored extension, with what an earlier run already did marked done."""
    plan = ExtendPlan.from_json(extension_id, stored)
    outcomes = concurrently(settings, lambda h: platform.get_hit(h.hit_id), [h for h in plan.hits if h.add])
    first_error(outcomes)
    for outcome in outcomes:
        hit = outcome.item
        hit.done = outcome.value.max_assignments >= hit.assignments_after
    if plan.new_hits is not None and plan.new_hits.plan_id:
        posted = {r.index: r.hit_id for r in ledger.hits(settings.experiment, settings.target) if r.plan_id == plan.new_hits.plan_id}
        for planned in plan.new_hits.hits:
            planned.hit_id = posted.get(planned.index)
        plan.new_hits.resumed = True
    return plan


def _fresh(
    settings,
    platform,
    ledger,
    hit_ids,
    count,
    seconds,
    split,
    grown: dict[str, int] | None = None,
    line: int | None = LARGE_HIT,
    nouns: tuple[str, str] = output.MTURK_NOUNS,
) -> ExtendPlan:
    """A new extension; `line` is the platform's large-HIT line (None: HITs grow freely), `nouns`
    what the platform calls a HIT (for the refusals)."""
    chosen = chosen_hits(settings, ledger, hit_ids, nouns=nouns)
    nothing = f"no {nouns[1]} of experiment {settings.experiment} on {settings.target} to extend: run babe create first"
    if not chosen:
        raise UsageError(nothing)
    if count is not None and not split:
        _refuse_from_the_ledger(chosen, count, grown or {}, line)
    outcomes = concurrently(settings, lambda hit: platform.get_hit(hit_id_of(hit)), chosen)
    outcomes = [outcome for outcome in outcomes if not vanished(settings, ledger, outcome, nouns)]
    first_error(outcomes)
    infos: list[HitInfo] = [outcome.value for outcome in outcomes]
    if not infos:
        raise UsageError(nothing)
    named = bool(hit_ids)
    now = platform.now()
    plan = ExtendPlan(settings.experiment, settings.target, count, seconds, split)
    changes = {
        info.hit_id: HitExtension(info.hit_id, info.max_assignments, info.expires_at, info.reward, info.masters)
        for info in infos
    }

    leftover = 0
    if count is not None:
        eligible = []
        for info in infos:
            reason = _cannot_take_more(info, now, seconds, nouns)
            if reason is None:
                eligible.append(info)
            elif named:
                raise UsageError(f"{nouns[0]} {info.hit_id} cannot take more assignments: {reason}")
        placed = _spread(count, eligible, changes, line)
        leftover = count - placed
        if leftover and not split:
            raise UsageError(_refusal(count, placed, leftover, eligible, infos, now, seconds, line, nouns))

    if seconds is not None:
        for info in infos:
            change = changes[info.hit_id]
            if info.status == "Disposed":
                if named:
                    raise UsageError(f"{nouns[0]} {info.hit_id} was deleted: {'MTurk' if settings.platform == 'mturk' else settings.platform} cannot extend it")
                continue
            if named or change.add or info.available > 0:
                change.expires_at = max(now, info.expires_at or now) + timedelta(seconds=seconds)

    plan.hits = [change for change in changes.values() if change.add or change.expires_at is not None]
    if leftover:
        # The new HITs close with the experiment's HITs: at the latest (new) expiration among them.
        latest = max((c.expires_at or c.expires_before for c in changes.values()), default=now)
        plan.new_hits = _split_plan(settings, platform, infos, leftover, (latest - now).total_seconds(), seconds)
        plan.new_hits_until = now + timedelta(seconds=plan.new_hits.lifetime)
    if not plan.hits and plan.new_hits is None:
        raise UsageError(
            f"nothing to extend: no {nouns[0]} of the experiment has open slots to keep open longer; add --assignments N"
        )
    return plan


@dataclass(frozen=True)
class _KnownSize:
    hit_id: str
    max_assignments: int


def _refuse_from_the_ledger(chosen: list, count: int, grown: dict[str, int], line: int | None = LARGE_HIT) -> None:
    """Refuse, without a single call, what cannot fit even by the sizes known here.

    The known size is the ledger's (the size at posting) plus what finished extensions added. A
    HIT's MaxAssignments only ever grows, so that is at most the real size and the room it leaves
    at least the real room: if even that room is too small, MTurk would refuse. (HITs the ledger
    does not know may take any number: no verdict without a call.)
    """
    if any(isinstance(hit, str) for hit in chosen):
        return
    known = [_KnownSize(hit.hit_id, hit.max_assignments + grown.get(hit.hit_id, 0)) for hit in chosen]
    room = [_room(hit.max_assignments, line) for hit in known]
    if any(r is UNLIMITED for r in room) or count <= sum(room):
        return
    placed = sum(room)
    raise UsageError(_refusal(count, placed, count - placed, known, known, None, None, line))


def _cannot_take_more(
    info: HitInfo, now: datetime, seconds: int | None, nouns: tuple[str, str] = output.MTURK_NOUNS
) -> str | None:
    """Why a HIT cannot usefully take more assignments now, or None if it can."""
    if info.status not in EXTENSIBLE:
        if tuple(nouns) != output.MTURK_NOUNS:
            return f"it is {info.status}: only an Assignable, Unassignable or Reviewable {nouns[0]} takes more"
        return f"it is {info.status} (MTurk adds assignments only to Assignable, Unassignable or Reviewable HITs)"
    if info.expires_at is not None and info.expires_at <= now and seconds is None:
        # Reopening with --lifetime is MTurk's; a platform of its own words (Prolific) does not reopen.
        reopen = ": add --lifetime to reopen it" if tuple(nouns) == output.MTURK_NOUNS else ""
        return f"it has expired, so nobody could take them{reopen}"
    return None


def _room(size: int, line: int | None = LARGE_HIT) -> int | None:
    """How many assignments a HIT of this size may still take (None: no limit, or no line at all)."""
    if line is None:
        return UNLIMITED
    return line - 1 - size if size < line else UNLIMITED


def _spread(count: int, eligible: list[HitInfo], changes: dict[str, HitExtension], line: int | None = LARGE_HIT) -> int:
    """Give `count` assignments one at a time to the smallest HIT that may take one; returns how many fit.

    Smallest first keeps the HITs even (7, 7, 6 plus 3 → 8, 8, 7), and fills HITs below 10 — which
    take no surcharge — before HITs of 10 or more.
    """
    heap = [(info.max_assignments, order, info.hit_id) for order, info in enumerate(eligible)]
    heap = [entry for entry in heap if _room(entry[0], line) is UNLIMITED or _room(entry[0], line) > 0]
    heapq.heapify(heap)
    placed = 0
    while placed < count and heap:
        size, order, hit_id = heapq.heappop(heap)
        changes[hit_id].add += 1
        placed += 1
        room = _room(size + 1, line)
        if room is UNLIMITED or room > 0:
            heapq.heappush(heap, (size + 1, order, hit_id))
    return placed


def _refusal(
    count: int, placed: int, leftover: int, eligible, infos, now, seconds, line: int | None = LARGE_HIT,
    nouns: tuple[str, str] = output.MTURK_NOUNS,
) -> str:
    """The one line that refuses an extension the platform would refuse, with what to do instead.

    With room left in no HIT, that is all a platform without MTurk's 10-assignment rule (`line`
    None) can hear: `--split` and the rule are MTurk's, named only there."""
    splits = line is not None
    line = LARGE_HIT if line is None else line
    small = [info for info in eligible if info.max_assignments < line]
    full = max(small, key=lambda info: info.max_assignments) if small else None
    if not eligible:
        example = infos[0]
        why = _cannot_take_more(example, now, seconds, nouns) or "it cannot take more"
        if not splits:
            return (
                f"cannot add {count} assignment(s): no {nouns[0]} of the experiment can take more "
                f"({nouns[0]} {example.hit_id}: {why}); babe create posts a new {nouns[0]}"
            )
        return (
            f"cannot add {count} assignment(s): no HIT of the experiment can take more (HIT {example.hit_id}: {why}); "
            f"pass --split to post them as a new HIT in the same group, or --lifetime to reopen expired HITs"
        )
    fit = f"the HITs can take only {placed} more" if placed else "no HIT can take more"
    example = f" (HIT {full.hit_id} has {full.max_assignments})" if full is not None else ""
    instead = f", or extend by {placed}" if placed else ""
    return (
        f"cannot add {count} assignment(s): {fit} — MTurk refuses to raise a HIT created with fewer than {line} "
        f"assignments to {line} or more{example}; pass --split to post the {'other ' if placed else ''}{leftover} "
        f"as a new HIT in the same group (same HIT type){instead}"
    )


def _split_plan(settings, platform, infos: list[HitInfo], leftover: int, remaining: float, seconds: int | None) -> Plan:
    """New HITs for what does not fit: the HIT type, question and texts of the newest chosen HIT.

    They stay open as long as the experiment's HITs (`remaining` seconds, after the extension);
    when those are closed, for `--lifetime`, else for the `lifetime` setting.
    """
    newest = max(infos, key=lambda info: (info.created_at or info.expires_at, info.hit_id))
    details = platform.get_hit_details(newest.hit_id)
    if MIN_LIFETIME <= remaining <= MAX_LIFETIME:
        seconds = int(remaining)
    elif seconds is None:
        seconds = settings.lifetime
    url, frame_height = external_parts(details.question)
    new = Plan(
        experiment=settings.experiment,
        target=settings.target,
        url=url,
        title=details.title,
        description=details.description,
        keywords=details.keywords,
        reward=details.reward,
        assignments=leftover,
        batch_size=settings.batch_size,
        lifetime=seconds,
        duration=details.duration,
        auto_approve=details.auto_approve,
        frame_height=frame_height,
        qualification_requirements=[dict(r) for r in details.requirements],
        unique_workers=False,
        exclude_experiments=None,
        hit_type_id=details.hit_type_id,
        question_xml=details.question,
        platform=settings.platform,
    )
    new.hits = [PlannedHit(i, n) for i, n in enumerate(batch_sizes(leftover, settings.batch_size))]
    return new


def validate(plan: ExtendPlan, now: datetime) -> None:
    """Refuse what the platform would refuse, after plugins had their say (one line, nothing done)."""
    line = plan.pricing.large_hit_assignments
    for hit in plan.hits:
        if hit.add < 0:
            raise UsageError(f"{plan.nouns[0]} {hit.hit_id}: cannot add {hit.add} assignments")
        if line is not None and not hit.done and hit.assignments_before < line <= hit.assignments_after:
            raise UsageError(
                f"HIT {hit.hit_id} has {hit.assignments_before} assignments: MTurk refuses to raise a HIT created with "
                f"fewer than {line} to {line} or more ({hit.assignments_after}); post the rest as a new HIT "
                "with --split"
            )
    if plan.new_hits is not None:
        if not plan.new_hits.hits or any(h.assignments < 1 for h in plan.new_hits.hits):
            raise UsageError("every new HIT of the extension needs at least one assignment")
        if line is not None and any(h.assignments >= line for h in plan.new_hits.hits):
            output.warn(f"a new HIT of {line} or more assignments pays MTurk's 20% surcharge")


# -- running -----------------------------------------------------------------------------------------
@dataclass
class ExtendResult:
    plan: ExtendPlan
    #: What this run was to spend (fixed before the calls: the plan's cost shrinks as it is done).
    cost: Cost = field(default_factory=Cost)
    dry_run: bool = False
    #: The HITs `--split` posted (or, on a dry run, would post: ids None).
    new_hits: list[PostedHit] = field(default_factory=list)
    #: How many new HITs this run posted (a resumed extension may have posted others before).
    posted_now: int = 0
    #: Existing HITs extended by this run, and those an earlier run had extended already.
    extended: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        document: dict[str, Any] = {
            "hits": [
                {**hit.as_json(), **({} if self.plan.expires_by_time else {"expires_at": None})} for hit in self.plan.hits
            ],
            "new_hits": [
                {
                    "hit_id": h.hit_id,
                    "hit_type_id": h.hit_type_id,
                    "hit_group_id": h.hit_group_id,
                    "assignments": h.assignments,
                    "preview_url": h.preview_url,
                    "expires_at": h.expires_at,
                }
                for h in self.new_hits
            ],
            "cost": self.cost.as_json(),
        }
        if self.failed:
            document["failed"] = self.failed
        if self.dry_run:
            document["dry_run"] = True
        return document


def run(
    settings,
    pm,
    *,
    hit_ids: list[str] | None = None,
    assignments: Any = None,
    lifetime: Any = None,
    split: bool = False,
    review: Callable[[ExtendPlan], bool] | None = None,
) -> ExtendResult:
    """Plan, let the plugins see it, review (a prompt on live), write it down, extend, post, record.

    Raises `PartialFailure` (carrying the result) when some calls failed: the same command
    finishes the job.
    """
    count, seconds = check_amounts(assignments, lifetime, split)
    print_ = fingerprint(settings, hit_ids, count, seconds, split)
    with session(settings, pm) as (platform, ledger):
        table = ExtensionRecords(ledger)
        try:
            plan = _prepare(settings, platform, ledger, table, hit_ids, count, seconds, split)
            call_before(pm, "babe_before_extend", settings=settings, plan=plan)
            now = platform.now()
            validate(plan, now)
            if settings.dry_run:
                if review is not None:
                    review(plan)
                result = ExtendResult(plan, plan.cost, dry_run=True)
                if plan.new_hits is not None:
                    result.new_hits = [PostedHit(h.hit_id, None, None, h.assignments, None, None) for h in plan.new_hits.hits]
                return result
            if review is not None and not review(plan):
                raise UsageError("not confirmed: nothing was extended")
            if not plan.resumed:
                plan.extension_id = uuid4().hex[:16]
                for hit in plan.hits:
                    if hit.add:
                        hit.token = extension_token(plan.experiment, plan.extension_id, hit.hit_id)
                ledger.start_extension(
                    plan.extension_id, plan.experiment, plan.target, platform.location, print_, plan.to_json,
                    new_plan=plan.new_hits, platform=settings.platform,
                    check=spending_check(pm, settings, "extend", Decimal(plan.cost.total)),
                )
            result = ExtendResult(plan, plan.cost)
            _extend_hits(settings, platform, ledger, plan, result, now)
            failure = None
            if plan.new_hits is not None:
                failure = post(plan.new_hits, platform, ledger, result)
                result.new_hits = known_hits(plan.new_hits, ledger, platform)
                if failure is not None:
                    result.failed.append({"hit_id": None, "error": f"new HIT {failure[0] + 1}: {failure[1]}"})
                else:
                    ledger.finish_plan(plan.new_hits.plan_id)
            if not result.failed:
                table.finish(plan.extension_id)
        finally:
            table.close()
    result.warnings += call_after(pm, "babe_after_extend", settings=settings, result=result)
    if result.failed:
        first = result.failed[0]
        raise PartialFailure(
            f"{len(result.failed)} part(s) of the extension failed ({first['hit_id'] or 'split'}: {first['error']}); "
            + rerun_advice((f["error"] for f in result.failed), "run the same extend again to finish"),
            result.as_json(),
        )
    return result


def _extend_hits(settings, platform, ledger, plan: ExtendPlan, result: ExtendResult, now: datetime) -> None:
    """Add the assignments (with their tokens) and move the expirations, concurrently."""
    todo = [hit for hit in plan.hits if (hit.add and not hit.done) or hit.expires_at is not None]
    takes_total = accepts(platform.add_assignments, "total")
    for hit in plan.hits:
        if hit.done and hit.expires_at is None:
            result.already_done.append(hit.hit_id)

    def extend_one(hit: HitExtension) -> bool:
        added_now = False
        if hit.add and not hit.done:
            if takes_total:
                added_now = platform.add_assignments(hit.hit_id, hit.add, hit.token, total=hit.assignments_after)
            else:
                added_now = platform.add_assignments(hit.hit_id, hit.add, hit.token)
        if hit.expires_at is not None:
            if hit.expires_at > now:
                platform.set_expiration(hit.hit_id, hit.expires_at)
                ledger.update_hit(hit.hit_id, expires_at=hit.expires_at)
            else:  # a resumed extension whose new expiration has passed: setting it would expire the HIT
                output.warn(f"{plan.nouns[0]} {hit.hit_id}: the expiration planned ({hit.expires_at:%Y-%m-%d %H:%MZ}) has passed; not set")
        return added_now or hit.expires_at is not None

    with output.progress("extending", total=len(todo)) as bar:
        outcomes = concurrently(settings, extend_one, todo, advance=bar.advance)
    for outcome in outcomes:
        if outcome.error is not None:
            result.failed.append({"hit_id": outcome.item.hit_id, "error": str(outcome.error)})
        elif outcome.value or not outcome.item.add:
            result.extended.append(outcome.item.hit_id)
        else:
            outcome.item.done = True
            result.already_done.append(outcome.item.hit_id)
