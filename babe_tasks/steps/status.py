"""status: exact counts per HIT and in total, money spent and committed, repeat workers.

Fewest calls for exact numbers: one GetHIT per HIT gives available, pending and completed
(approved + rejected); submitted-but-unreviewed work is in none of them, so on MTurk
available + pending + submitted + approved + rejected = MaxAssignments. When the ledger has
already seen exactly the assignments these counts imply (as many submitted, approved and rejected
as GetHIT leaves room for, and as many reviewed as it says completed), the numbers come from the
ledger; otherwise ListAssignmentsForHIT is read in full for that HIT and the ledger updated. A HIT
deleted by `expire --delete` costs no call at all. A second `status` with nothing new costs one
call per open HIT.

Every worker it sees is passed to the platform as seen (`babe_tasks.exclusion.seen`): MTurk grants
the experiment's qualification, whose DoesNotExist requirement on the experiment's HITs keeps them
out of its other HITs from then on — `status --watch` does it at every refresh. Workers granted
before cost no call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .. import exclusion, money, output
from ..ledger import HitRecord, Ledger
from ..platform.base import capabilities_of, pricing_of, shown_expiry
from ..plugins import collect
from . import (
    chosen_hits,
    concurrently,
    first_error,
    hit_id_of,
    repeat_workers,
    session,
    vanished,
)

COUNTS = ("available", "pending", "submitted", "approved", "rejected")
RESERVED = ("hits", "totals", "committed", "spent", "repeat_workers", "work_time")
#: Assignment statuses whose accept and submit times measure a whole piece of work.
FINISHED = ("Submitted", "Approved", "Rejected")


@dataclass
class HitStatus:
    hit_id: str
    status: str
    available: int
    pending: int
    submitted: int
    approved: int
    rejected: int
    #: When the HIT expires, or expired — for people: None where there is no such time (an open or
    #: full study on a platform that does not expire by time, `base.shown_expiry`); the step's own
    #: comparisons use the platform's `HitInfo`, never this.
    expires_at: datetime | None
    max_assignments: int
    #: What one more approved assignment of this HIT costs (reward + fee).
    price: Decimal
    #: Whether workers can still accept assignments (status open and not expired).
    open: bool
    #: How the numbers were obtained: "GetHIT", "GetHIT+list", "ledger" (deleted HITs).
    source: str = "GetHIT"
    #: The reward of one assignment (what the work-time summary divides by the time taken).
    reward: Decimal | None = None

    def as_json(self) -> dict:
        return {
            "hit_id": self.hit_id,
            "status": self.status,
            **{name: getattr(self, name) for name in COUNTS},
            "expires_at": self.expires_at,
        }

    @property
    def committed(self) -> Decimal:
        """What this HIT may still cost: work submitted or in progress, and slots still open."""
        if self.source == "ledger":
            return Decimal("0.00")
        still = self.submitted + self.pending + (self.available if self.open else 0)
        return self.price * still


@dataclass
class StatusResult:
    hits: list[HitStatus]
    spent: Decimal
    repeat_workers: dict[str, list[str]]
    extra: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: The platform's fee rules and currency (`money.Pricing`): what text output shows money in.
    pricing: Any = field(default=money.MTURK_PRICING, repr=False)
    #: How long the finished work took (`WorkTime`), or None before anything was submitted.
    work_time: WorkTime | None = None
    #: What the platform calls a HIT, singular and plural (text output only).
    nouns: tuple[str, str] = ("HIT", "HITs")
    #: Whether the platform's HITs expire by time (False on Prolific): text output then says an open
    #: one runs until stopped rather than showing an expiry column (`base.Capabilities`).
    expires_by_time: bool = True

    @property
    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(h, name) for h in self.hits) for name in COUNTS}

    @property
    def committed(self) -> Decimal:
        return sum((h.committed for h in self.hits), Decimal("0.00"))

    @property
    def finished(self) -> bool:
        """Nothing more can happen without the lab: all work is in, or no HIT can take any more."""
        return all(h.pending == 0 and (h.available == 0 or not h.open) for h in self.hits)

    def as_json(self) -> dict:
        return {
            "hits": [h.as_json() for h in self.hits],
            "totals": self.totals,
            "committed": self.committed,
            "spent": self.spent,
            "repeat_workers": [
                {"worker_id": worker, "assignments": ids} for worker, ids in sorted(self.repeat_workers.items())
            ],
            "work_time": self.work_time.as_json() if self.work_time is not None else None,
            **self.extra,
        }


@dataclass(frozen=True)
class WorkTime:
    """How long workers took, accept to submit, over the finished work the ledger has seen.

    The median, because pay rules judge it (Prolific's minimum hourly pay is applied to the median
    completion time) and one participant who left the tab open must not move it; `hourly` is the
    reward per hour at that median, when every HIT pays the same reward.
    """

    submissions: int
    median_seconds: int
    hourly: Decimal | None

    def as_json(self) -> dict:
        return {"submissions": self.submissions, "median_seconds": self.median_seconds, "hourly": self.hourly}


def work_time(rows, rewards: dict[str, Decimal]) -> WorkTime | None:
    """The work-time summary of ledger assignment rows of the HITs in `rewards` (None: no finished work)."""
    import statistics

    seconds = [
        row["submit_time"] - row["accept_time"]
        for row in rows
        if row["hit_id"] in rewards
        and row["status"] in FINISHED
        and row["accept_time"] is not None
        and row["submit_time"] is not None
        and row["submit_time"] >= row["accept_time"]
    ]
    if not seconds:
        return None
    median = max(1, round(statistics.median(seconds)))
    paid = {reward for reward in rewards.values() if reward is not None}
    hourly = money.round_cents(paid.pop() * 3600 / Decimal(median)) if len(paid) == 1 else None
    return WorkTime(len(seconds), median, hourly)


def run(settings, pm, *, hit_ids: list[str] | None = None) -> StatusResult:
    """Gather the numbers, then let `babe_status` plugins add fields (their failures are warnings)."""
    with session(settings, pm) as (platform, ledger):
        nouns = capabilities_of(platform).nouns
        by_time = capabilities_of(platform).expires_by_time
        chosen = chosen_hits(settings, ledger, hit_ids, include_gone=True, nouns=nouns)
        now = platform.now()
        # No progress bar of its own: `status --watch` draws one around repeated runs.
        outcomes = concurrently(settings, lambda hit: _one(settings, platform, ledger, hit, now), chosen)
        pricing = pricing_of(platform)
        for outcome in outcomes:
            if vanished(settings, ledger, outcome, nouns):
                outcome.value, outcome.error = _from_ledger(ledger, outcome.item, "NotFound", pricing, now, by_time), None
        first_error(outcomes)
        hits = [outcome.value for outcome in outcomes]
        result = StatusResult(
            hits=hits,
            spent=ledger.spent(h.hit_id for h in hits),
            repeat_workers=repeat_workers(seen := ledger.assignments(settings.experiment, settings.target)),
            pricing=pricing,
            nouns=nouns,
            expires_by_time=by_time,
        )
        result.work_time = work_time(seen, {h.hit_id: h.reward for h in hits})
        result.warnings.extend(exclusion.seen(settings, platform, ledger).warnings())
    for plugin, fields in collect(pm, "babe_status", settings=settings, status=result):
        if not isinstance(fields, dict):
            result.warnings.append(f"plugin {plugin}: babe_status returned {type(fields).__name__}, not a dict; ignored")
            output.warn(result.warnings[-1])
            continue
        for key, value in fields.items():
            if key in RESERVED or key in result.extra:
                result.warnings.append(f"plugin {plugin}: status field {key!r} is taken; ignored")
                output.warn(result.warnings[-1])
            else:
                result.extra[key] = value
    return result


def _one(settings, platform, ledger: Ledger, hit: HitRecord | str, now: datetime) -> HitStatus:
    """One HIT's exact counts with GetHIT, plus a full listing only when the ledger cannot fill in."""
    pricing = pricing_of(platform)
    by_time = capabilities_of(platform).expires_by_time
    if isinstance(hit, HitRecord) and hit.gone:
        return _from_ledger(ledger, hit, hit.status, pricing, now, by_time)
    info = platform.get_hit(hit_id_of(hit))
    price = info.reward + pricing.assignment_fee(info.reward, info.max_assignments, info.masters)
    known = ledger.status_counts(info.hit_id)
    room = info.max_assignments - info.available - info.pending
    reviewed = known["Approved"] + known["Rejected"]
    source = "GetHIT"
    if known["Submitted"] + reviewed != room or reviewed != info.completed:
        listed = list(platform.iter_assignments(info.hit_id))
        ledger.record_assignments(settings.experiment, settings.target, listed, lambda _hit: (info.reward, price - info.reward))
        known = Counter(a.status for a in listed)
        source = "GetHIT+list"
    if isinstance(hit, HitRecord):
        ledger.update_hit(info.hit_id, status=info.status, expires_at=info.expires_at)
    return HitStatus(
        hit_id=info.hit_id,
        status=info.status,
        available=info.available,
        pending=info.pending,
        submitted=known["Submitted"],
        approved=known["Approved"],
        rejected=known["Rejected"],
        expires_at=shown_expiry(by_time, info.expires_at, now),
        max_assignments=info.max_assignments,
        price=price,
        open=info.is_open(now),
        source=source,
        reward=info.reward,
    )


def _from_ledger(ledger: Ledger, hit: HitRecord, status: str, pricing, now: datetime, by_time: bool = True) -> HitStatus:
    """A HIT the platform no longer shows: what the ledger saw last (all reviewed, if deleted by us);
    its expiry as people may read it (`by_time`: the platform's `capabilities.expires_by_time`)."""
    known = ledger.status_counts(hit.hit_id)
    return HitStatus(
        hit_id=hit.hit_id,
        status=status,
        available=0,
        pending=0,
        submitted=known["Submitted"],
        approved=known["Approved"],
        rejected=known["Rejected"],
        expires_at=shown_expiry(by_time, hit.expires_at, now),
        max_assignments=hit.max_assignments,
        price=hit.reward + pricing.assignment_fee(hit.reward, hit.max_assignments, hit.masters),
        open=False,
        source="ledger",
        reward=hit.reward,
    )
