"""approve: pay every Submitted assignment of the experiment, except those held back.

Every page of every HIT's assignments is read (all statuses: a repeat worker's first assignment
may already be approved), the ledger updated, repeat workers held back but for their first
assignment, the rest offered to `babe_before_approve` (which may hold more, with a reason, or
veto), then approved concurrently — at most `max_concurrency` calls in flight, the client's
back-off lengthening when the platform enforces its rate (`platform.retries`). One failure never stops the rest; the summary
names each. What failed as botocore would retry (throttled, 5xx, connection lost) gets further
passes within the run (`steps.passes`), listings and approvals alike; a HIT whose assignments
still cannot be listed leaves the others approved and is named for the re-run. Running approve
again finishes the job, because approving is idempotent here: an assignment already approved (by
an earlier run or by MTurk's auto-approval) counts as done.

Like `status`, it tells the platform of every worker it sees (not on a dry run; MTurk grants the
experiment's qualification), so the experiment's other HITs keep them out (`babe_tasks.exclusion`).

A platform with `approve_many` approves in bulk: chunks of at most `APPROVE_CHUNK` ids, one call
each, with the same per-assignment outcomes (approved now, already approved, failed). The fees
booked in the ledger are the platform's (`pricing`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import exclusion, money, output
from ..errors import BabeError, PartialFailure, UsageError
from ..ledger import Ledger
from ..platform.base import (
    AssignmentInfo,
    OperationFailed,
    capabilities_of,
    optional,
    pricing_of,
)
from ..plugins import call_after, call_before
from . import (
    REPEAT_REASON,
    Outcome,
    chosen_hits,
    first_error,
    hit_id_of,
    session,
    vanished,
)
from .funds import rerun_advice
from .passes import in_passes

#: The most ids one `approve_many` call carries (the contract's bound, Prolific's bulk-approve limit).
APPROVE_CHUNK = 1000


@dataclass
class ApproveResult:
    approved: int = 0
    already_approved: int = 0
    held: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    #: HITs whose assignments could not be listed: `{"hit_id", "error"}`; nothing of theirs was approved.
    unlisted: list[dict] = field(default_factory=list)
    dry_run: bool = False
    #: The assignments approved now (or, on a dry run, that would be).
    assignments: list[AssignmentInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The platform's names for its units ("HIT", "HITs"; "study", "studies" on Prolific).
    nouns: tuple[str, str] = field(default=output.MTURK_NOUNS, repr=False)
    #: The platform's fee rules and currency (`money.Pricing`), for after-approve plugins' messages.
    pricing: Any = field(default=money.MTURK_PRICING, repr=False)

    def as_json(self) -> dict:
        document = {
            "approved": self.approved,
            "already_approved": self.already_approved,
            "held": self.held,
            "failed": self.failed,
        }
        if self.unlisted:
            document["unlisted"] = self.unlisted
        if self.dry_run:
            document["dry_run"] = True
            document["would_approve"] = [
                {"assignment_id": a.assignment_id, "worker_id": a.worker_id, "hit_id": a.hit_id}
                for a in self.assignments
            ]
        return document


def run(
    settings,
    pm,
    *,
    hit_ids: list[str] | None = None,
    assignment_ids: list[str] | None = None,
    allow_repeat_workers: bool | None = None,
    review: Callable[[list[AssignmentInfo], Decimal, Any], bool] | None = None,
) -> ApproveResult:
    """Approve the experiment's Submitted assignments (or those of `hit_ids`, or `assignment_ids`).

    `review(assignments, cost, pricing)` is asked before anything is paid (a prompt on live; the
    platform's `pricing` says in which currency); declining
    is a UsageError. Raises `PartialFailure` carrying the result when some approvals failed.
    `allow_repeat_workers` None follows the setting of that name.
    """
    if allow_repeat_workers is None:
        allow_repeat_workers = settings.allow_repeat_workers
    with session(settings, pm) as (platform, ledger):
        prices = Prices(platform, ledger)
        result = ApproveResult(
            dry_run=settings.dry_run, pricing=prices.pricing, nouns=capabilities_of(platform).nouns
        )
        seen = gather(settings, platform, ledger, prices, hit_ids, assignment_ids, result.unlisted)
        if not settings.dry_run:
            result.warnings.extend(exclusion.seen(settings, platform, ledger).warnings())
        result.already_approved = sum(a.status == "Approved" for a in seen)
        candidates = [a for a in seen if a.status == "Submitted"]
        holds = held_back(settings, pm, ledger, candidates, allow_repeat_workers=allow_repeat_workers)
        result.held = [
            {"assignment_id": a.assignment_id, "reason": holds[a.assignment_id]}
            for a in candidates
            if a.assignment_id in holds
        ]
        todo = [a for a in candidates if a.assignment_id not in holds]
        if settings.dry_run:
            result.approved, result.assignments = len(todo), todo
            return result
        cost = sum((sum(prices(a.hit_id)) for a in todo), Decimal("0.00"))
        if todo and review is not None and not review(todo, cost, prices.pricing):
            raise UsageError("not confirmed: nothing was approved")

        def approve(a: AssignmentInfo) -> bool:
            done_now = platform.approve(a.assignment_id, settings.feedback)
            reward, fee = prices(a.hit_id)
            ledger.record_approved(settings.experiment, settings.target, a, reward, fee)
            return done_now

        many = optional(platform, "approve_many")
        with output.progress("approving", total=len(todo)) as bar:
            if many is not None:
                outcomes = _approve_in_bulk(settings, many, ledger, prices, todo, bar.advance)
            else:
                outcomes = in_passes(settings, platform, approve, todo, advance=bar.advance)
        for outcome in outcomes:
            if outcome.error is not None:
                result.failed.append({"assignment_id": outcome.item.assignment_id, "error": str(outcome.error)})
            elif outcome.value:
                result.approved += 1
                result.assignments.append(outcome.item)
            else:
                result.already_approved += 1
    result.warnings += call_after(pm, "babe_after_approve", settings=settings, result=result)
    problems = []
    if result.unlisted:
        first = result.unlisted[0]
        ids = ",".join(u["hit_id"] for u in result.unlisted)
        what = output.count(len(result.unlisted), result.nouns)
        problems.append(
            f"the assignments of {what} could not be listed ({first['hit_id']}: {first['error']}), so none of "
            f"theirs was approved — run approve again, or `babe approve --hit {ids}`"
        )
    if result.failed:
        problems.append(
            f"{len(result.failed)} of {len(todo)} approvals failed ({result.failed[0]['assignment_id']}: "
            f"{result.failed[0]['error']}); "
            + rerun_advice((f["error"] for f in result.failed), "run approve again to finish")
        )
    if problems:
        raise PartialFailure("; ".join(problems), result.as_json())
    return result


def _approve_in_bulk(settings, many, ledger: Ledger, prices, todo: list[AssignmentInfo], advance) -> list[Outcome]:
    """Approve through the platform's `approve_many`, chunk by chunk, with per-assignment outcomes.

    A chunk whose call fails as a whole fails each of its assignments (re-running approve finishes
    the job: approving is idempotent); an id the platform's answer leaves out counts as failed,
    never as approved.
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(todo), APPROVE_CHUNK):
        chunk = todo[start : start + APPROVE_CHUNK]
        try:
            answers = many([a.assignment_id for a in chunk], settings.feedback)
        except OperationFailed as exc:
            answers = {a.assignment_id: exc for a in chunk}
        for a in chunk:
            answer = answers.get(a.assignment_id, OperationFailed("the platform did not answer for it"))
            if isinstance(answer, BaseException):
                error = answer if isinstance(answer, BabeError) else OperationFailed(str(answer))
                outcomes.append(Outcome(a, error=error))
            else:
                reward, fee = prices(a.hit_id)
                ledger.record_approved(settings.experiment, settings.target, a, reward, fee)
                outcomes.append(Outcome(a, bool(answer)))
            advance()
    return outcomes


class Prices:
    """Reward and fee per HIT for the ledger's payments: from the ledger, else one GetHIT.

    The fee is the platform's (`pricing`), from the HIT's reward, size and Masters flag.
    """

    def __init__(self, platform, ledger: Ledger):
        self.platform, self.ledger = platform, ledger
        self.pricing = pricing_of(platform)
        self._known: dict[str, tuple[Decimal, Decimal]] = {}

    def __call__(self, hit_id: str) -> tuple[Decimal, Decimal]:
        if hit_id not in self._known:
            record = self.ledger.hit(hit_id)
            if record is not None:
                fee = self.pricing.assignment_fee(record.reward, record.max_assignments, record.masters)
                self._known[hit_id] = (record.reward, fee)
            else:
                info = self.platform.get_hit(hit_id)
                fee = self.pricing.assignment_fee(info.reward, info.max_assignments, info.masters)
                self._known[hit_id] = (info.reward, fee)
        return self._known[hit_id]


def gather(
    settings, platform, ledger: Ledger, prices: Prices, hit_ids, assignment_ids, unlisted: list[dict]
) -> list[AssignmentInfo]:
    """The assignments in scope, as they are now, recorded in the ledger.

    Named assignments are fetched one by one (an unknown id is refused before anything is
    approved); otherwise every assignment of every chosen HIT that can still have any is listed.
    A HIT whose listing still fails after every pass goes into `unlisted` (its id and the error)
    and the others' assignments are approved: one HIT's listing never stops the rest. An error
    that is not the platform's (the ledger unavailable) still stops the step.
    """
    if assignment_ids:
        ids = list(dict.fromkeys(a.strip() for a in assignment_ids if a and a.strip()))
        outcomes = in_passes(settings, platform, platform.get_assignment, ids)
        first_error(outcomes)
        seen = [outcome.value for outcome in outcomes]
        if hit_ids:
            wanted = set(hit_ids)
            seen = [a for a in seen if a.hit_id in wanted]
    else:
        nouns = capabilities_of(platform).nouns
        hits = chosen_hits(settings, ledger, hit_ids, nouns=nouns)
        with output.progress("listing assignments", total=len(hits)) as bar:
            outcomes = in_passes(
                settings, platform, lambda hit: list(platform.iter_assignments(hit_id_of(hit))), hits, advance=bar.advance
            )
        outcomes = [outcome for outcome in outcomes if not vanished(settings, ledger, outcome, nouns)]
        first_error([outcome for outcome in outcomes if not isinstance(outcome.error, OperationFailed)])
        unlisted.extend(
            {"hit_id": hit_id_of(outcome.item), "error": str(outcome.error)} for outcome in outcomes if outcome.error
        )
        seen = [a for outcome in outcomes if outcome.error is None for a in outcome.value]
    ledger.record_assignments(settings.experiment, settings.target, seen, prices)
    return seen


def held_back(settings, pm, ledger: Ledger, candidates: list[AssignmentInfo], *, allow_repeat_workers: bool) -> dict[str, str]:
    """Why approve would hold back each of the Submitted `candidates` now: assignment id → reason.

    Repeat workers first (but for their first assignment, unless `allow_repeat_workers`), then
    work done faster than `hold_faster_than` (a 10-minute study clicked through in 40 seconds is
    rarely data; unknown times never count as fast: nothing is held on a guess), then whatever
    `babe_before_approve` holds of the rest (a `Veto` propagates). `babe review` shows the same
    reasons beside each submission, so the page and the command never disagree.
    """
    holds: dict[str, str] = {}
    if not allow_repeat_workers:
        holds.update(_repeat_holds(settings, ledger, candidates))
    threshold = settings.hold_faster_than
    if threshold:
        from ..durations import format_duration

        for a in candidates:
            taken = a.seconds_taken()
            if a.assignment_id not in holds and taken is not None and taken < threshold:
                holds[a.assignment_id] = f"too fast: {format_duration(taken)} (threshold {format_duration(threshold)})"
    offered = [a for a in candidates if a.assignment_id not in holds]
    for answer in call_before(pm, "babe_before_approve", settings=settings, assignments=offered):
        for assignment_id, reason in answer:
            holds.setdefault(assignment_id, str(reason))
    return holds


def _repeat_holds(settings, ledger: Ledger, candidates: list[AssignmentInfo]) -> dict[str, str]:
    """Hold every assignment of a worker but the first they took in this experiment."""
    first: dict[str, str] = {}
    for row in ledger.assignments(settings.experiment, settings.target):
        first.setdefault(row["worker_id"], row["assignment_id"])
    return {
        a.assignment_id: f"{REPEAT_REASON} (first assignment {first[a.worker_id]})"
        for a in candidates
        if first.get(a.worker_id, a.assignment_id) != a.assignment_id
    }
