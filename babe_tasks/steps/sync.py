"""status --sync: rebuild the ledger from the platform, for a lab that lost (or never had) `.babe/`.

Everything the tool posts names the experiment in its RequesterAnnotation
(`babe-tasks experiment=<name> plan=<id> hit=<i>/<n>`), so the platform alone is enough to find
the experiment again: ListHITs, filtered by that annotation; then, per HIT, every assignment
(ListAssignmentsForHIT, every status) and every bonus (ListBonusPayments); then what the platform
holds to keep the experiment's participants out (`babe_tasks.exclusion.restore`: MTurk's
qualification types and who holds them). What the ledger already knows is
left as it is, so a sync is safe to repeat and also fills gaps in a ledger that is not lost.

The rebuilt HITs get a plan of their own per original plan id, already finished, carrying the
original tokens and annotations — exactly what MTurk saw. Approved assignments are booked as paid
(reward and fee, at the HIT's fee rate), bonuses as paid with their fees, so `status` shows the
same money as before. What MTurk no longer lists cannot come back: deleted HITs (ListHITs omits
them) and whatever they held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import exclusion, output
from ..planning import (
    Plan,
    PlannedHit,
    annotation,
    batch_sizes,
    external_parts,
    request_token,
)
from ..platform.base import HitDetails, SyncedKeepOut, capabilities_of, pricing_of
from ..settings import MAX_LIFETIME, MIN_LIFETIME
from . import session

_PLAN = re.compile(r" plan=(\S+) hit=(\d+)/(\d+)$")


@dataclass
class SyncResult:
    """What a sync found on the platform and what it added to the ledger."""

    found: int = 0
    added: int = 0
    assignments: int = 0
    bonuses: int = 0
    grants: int = 0
    #: What the platform calls a HIT, singular and plural (the summary's words; not in the JSON).
    nouns: tuple[str, str] = output.MTURK_NOUNS

    def summary(self, settings) -> str:
        return (
            f"Synced the ledger from {settings.target}: {output.count(self.found, self.nouns)} of {settings.experiment} found, "
            f"{self.added} added; {self.assignments} assignment(s), {self.bonuses} bonus payment(s), "
            f"{self.grants} worker qualification(s)"
        )

    def as_json(self) -> dict:
        return {
            "found": self.found,
            "added": self.added,
            "assignments": self.assignments,
            "bonuses": self.bonuses,
            "grants": self.grants,
        }


class _RestoredPlan(Plan):
    """A plan rebuilt from its HITs: the ledger gives it a new id, the HITs keep their original tokens.

    `Ledger.start_plan` assigns a fresh plan id; the tokens and annotations it writes must still
    be those the HITs were posted with, which derive from the original id.
    """

    original_id: str = ""
    original_count: int = 1

    def assign_id(self, plan_id: str) -> None:
        self.plan_id = plan_id
        for hit in self.hits:
            hit.token = request_token(self.experiment, self.original_id, hit.index)
            hit.annotation = annotation(self.experiment, self.original_id, hit.index, self.original_count)


def run(settings, pm) -> SyncResult:
    """Find the experiment's HITs on the platform and record what the ledger lacks."""
    result = SyncResult()
    with session(settings, pm) as (platform, ledger):
        one, many = capabilities_of(platform).nouns
        result.nouns = (one, many)
        found = platform.find_experiment_hits(settings.experiment)
        result.found = len(found)
        kept = exclusion.restore(settings, platform, ledger)
        result.grants = kept.found
        known = ledger.hits(settings.experiment, settings.target, settings.platform)
        known_plans = {record.plan_id for record in known}
        groups: dict[str, list[tuple[int, int, HitDetails]]] = {}
        for details in found:
            match = _PLAN.search(details.annotation or "")
            if match is None or ledger.hit(details.hit_id) is not None:
                continue
            groups.setdefault(match.group(1), []).append((int(match.group(2)) - 1, int(match.group(3)), details))
        for plan_id, members in groups.items():
            if plan_id in known_plans:
                # The plan is in the ledger (a create that lost track of a HIT): fill in its row.
                for index, _count, details in members:
                    ledger.record_posted(plan_id, index, details)
            else:
                restored = _restore_plan(settings, plan_id, members, kept)
                ledger.start_plan(restored, platform.location, settings.platform)
                ledger.set_hit_type(restored.plan_id, members[0][2].hit_type_id)
                for index, _count, details in members:
                    ledger.record_posted(restored.plan_id, index, details)
                ledger.finish_plan(restored.plan_id)
            result.added += len(members)
        with output.progress("reading assignments and bonuses", total=len(found)) as bar:
            for details in found:
                result.assignments += _assignments(settings, platform, ledger, details)
                result.bonuses += _bonuses(settings, platform, ledger, details)
                bar.advance()
    return result


def _restore_plan(settings, plan_id: str, members, kept: SyncedKeepOut) -> _RestoredPlan:
    """The plan the HITs were posted from, as far as the HITs tell it.

    Written as `create` writes a plan, so that the same create run again after a sync finds it
    finished and posts nothing: the platform's own keep-out requirement (MTurk: DoesNotExist on
    the experiment's qualification type) is `unique_workers` (create adds it when it posts, it is
    not among the plan's requirements; `SyncedKeepOut.split`), and the batch size is
    the one of these settings when it gives exactly these HIT sizes (7, 7, 6 come from 7, 8 or 9).
    """
    members.sort(key=lambda member: member[0])
    first: HitDetails = members[0][2]
    url, frame_height = external_parts(first.question)
    lifetime = _lifetime(first)
    unique, requirements = kept.split([dict(r) for r in first.requirements])
    sizes = [details.max_assignments for _i, _n, details in members]
    batch_size = settings.batch_size if batch_sizes(sum(sizes), settings.batch_size) == sizes else max(sizes)
    plan = _RestoredPlan(
        experiment=settings.experiment,
        target=settings.target,
        url=url,
        title=first.title,
        description=first.description,
        keywords=first.keywords,
        reward=first.reward,
        assignments=sum(sizes),
        batch_size=batch_size,
        lifetime=lifetime if lifetime is not None else settings.lifetime,
        duration=first.duration,
        auto_approve=first.auto_approve,
        frame_height=frame_height,
        qualification_requirements=requirements,
        unique_workers=unique,
        question_xml=None if url else first.question,
    )
    plan.hits = [PlannedHit(index, details.max_assignments) for index, _count, details in members]
    plan.original_id = plan_id
    plan.original_count = members[0][1]
    return plan


def _lifetime(details: HitDetails) -> int | None:
    if details.created_at is None or details.expires_at is None:  # None: open until stopped or full
        return None
    seconds = int((details.expires_at - details.created_at).total_seconds())
    return seconds if MIN_LIFETIME <= seconds <= MAX_LIFETIME else None


def _assignments(settings, platform, ledger, details: HitDetails) -> int:
    listed = list(platform.iter_assignments(details.hit_id))
    fee = pricing_of(platform).assignment_fee(details.reward, details.max_assignments, details.masters)
    ledger.record_assignments(settings.experiment, settings.target, listed, lambda _hit: (details.reward, fee))
    ledger.update_hit(details.hit_id, status=details.status, expires_at=details.expires_at)
    return len(listed)


def _bonuses(settings, platform, ledger, details: HitDetails) -> int:
    """Book every bonus of the HIT as paid, through the ledger's bonus records (attempt by attempt)."""
    from .bonus import Payment, bonus_token

    seen: dict[str, int] = {}
    booked = 0
    for bonus in platform.list_hit_bonus_payments(details.hit_id):
        reason = bonus.reason.strip()
        identity = bonus_token(settings.experiment, bonus.worker_id, bonus.assignment_id, bonus.amount, reason)
        attempt = seen.get(identity, 0)
        seen[identity] = attempt + 1
        if any(a.attempt == attempt and a.paid for a in ledger.bonus_attempts(identity)):
            continue
        token = bonus_token(settings.experiment, bonus.worker_id, bonus.assignment_id, bonus.amount, reason, attempt)
        payment = Payment(
            worker_id=bonus.worker_id,
            assignment_id=bonus.assignment_id,
            hit_id=details.hit_id,
            amount=bonus.amount,
            fee=pricing_of(platform).bonus_fee(bonus.amount),
            reason=reason,
            token=token,
            identity=identity,
            attempt=attempt,
        )
        sent = (bonus.grant_time or datetime.now(UTC)).timestamp()
        ledger.start_bonus(payment, experiment=settings.experiment, target=settings.target, location=platform.location, sent_at=sent)
        ledger.bonus_paid(token)
        booked += 1
    return booked
