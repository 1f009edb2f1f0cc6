"""Prolific's JSON as the lifecycle steps see it: studies as HITs, submissions as assignments.

The steps speak MTurk's shapes (`babe_tasks.platform.base`); this module is the whole translation,
in one place, so every step reads Prolific the same way (docs/prolific.md has the table):

| Prolific study status | HIT status | why |
|---|---|---|
| UNPUBLISHED, SCHEDULED, PUBLISHING, ACTIVE | Assignable | takes (or is about to take) participants |
| PAUSED | Unassignable | open, but nobody new can start |
| AWAITING REVIEW, COMPLETED | Reviewable | full or stopped: only reviewing is left |

| Prolific submission status | assignment status |
|---|---|
| AWAITING REVIEW | Submitted |
| APPROVED, PARTIALLY APPROVED | Approved |
| REJECTED | Rejected |
| RESERVED, ACTIVE, RETURNED, TIMED-OUT, SCREENED OUT | not listed (MTurk lists no unsubmitted work) |

Counts: `pending` = RESERVED + ACTIVE (people at work), `completed` = APPROVED + PARTIALLY APPROVED +
REJECTED (reviewed), `available` = places − every submission that holds a place (a rejection or a
return gives its place back), and `max_assignments` = places + REJECTED: a rejected submission's
place is taken again by someone else, so the study ends with that many reviewed submissions, and
MTurk's identity available + pending + submitted + completed = max_assignments — which `status`
and `cost` rely on — holds. Money on the wire is in minor units (pence, cents): divided by 100.
Prolific studies do not expire by time: an open or full study "expires" a year ahead (so the
steps treat it as open, and `extend` may add places to a full one), a study stopped with places
left at its completion time (it is over: `extend` will not reopen it). The year ahead is a
placeholder for the core's comparisons only: the platform says `expires_by_time = False`, so
`status`, `create`, `extend` and the Slack messages show no time for it
(`babe_tasks.platform.base.shown_expiry`), and the stop time for a stopped study.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from babe_tasks.platform.base import AssignmentInfo, HitDetails, HitInfo

HIT_TYPE = "prolific"
HUNDRED = Decimal(100)

STUDY_STATUS = {
    "UNPUBLISHED": "Assignable",
    "SCHEDULED": "Assignable",
    "PUBLISHING": "Assignable",
    "ACTIVE": "Assignable",
    "PAUSED": "Unassignable",
    "AWAITING REVIEW": "Reviewable",
    "COMPLETED": "Reviewable",
}
SUBMISSION_STATUS = {
    "AWAITING REVIEW": "Submitted",
    "APPROVED": "Approved",
    "PARTIALLY APPROVED": "Approved",
    "REJECTED": "Rejected",
}
#: The assignment statuses the steps filter by, back to Prolific's.
SUBMITTED_AS = {
    "Submitted": ("AWAITING REVIEW",),
    "Approved": ("APPROVED", "PARTIALLY APPROVED"),
    "Rejected": ("REJECTED",),
}
PENDING = ("RESERVED", "ACTIVE")
REVIEWED = ("APPROVED", "PARTIALLY APPROVED", "REJECTED")
HOLDING = ("RESERVED", "ACTIVE", "AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED")
FINISHED = ("AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED")
#: How far ahead an open study "expires" (it does not: it runs until stopped or full). Only the
#: core's comparisons see it (`is_open`, `extend`'s "has it expired"); nothing shows it to people.
OPEN_HORIZON = timedelta(days=365)


def status_name(value: str | None) -> str:
    """A status as the reference spells it (`AWAITING_REVIEW` in filters → `AWAITING REVIEW`)."""
    return str(value or "").strip().upper().replace("_", " ")


def minor_to_major(value) -> Decimal:
    return (Decimal(str(value or 0)) / HUNDRED).quantize(Decimal("0.01"))


def major_to_minor(value: Decimal) -> int:
    return int((Decimal(value) * HUNDRED).to_integral_value())


def parse_time(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def counts_by_status(counts: dict) -> dict[str, int]:
    """`/submissions/counts/` with every key spelled the reference's way."""
    return {status_name(key): int(value or 0) for key, value in (counts or {}).items()}


def hit(study: dict, counts: dict, now: datetime) -> HitInfo:
    """A study and its submission counts as a HitInfo."""
    counts = counts_by_status(counts)
    status = status_name(study.get("status"))
    places = int(study.get("total_available_places") or 0)
    held = sum(counts.get(s, 0) for s in HOLDING)
    finished = sum(counts.get(s, 0) for s in FINISHED)
    if status == "COMPLETED" and finished < places:
        # Stopped with places left: that is what "expired" means here (more places would reopen it,
        # but a stopped study is the lab's decision; `babe create` starts a new one).
        expires = parse_time(study.get("completed_at")) or now
    else:
        # Open, or full (AWAITING REVIEW / COMPLETED by its finished submissions): `extend` may add places.
        expires = now + OPEN_HORIZON
    return HitInfo(
        hit_id=study["id"],
        hit_type_id=HIT_TYPE,
        hit_group_id=None,
        status=STUDY_STATUS.get(status, status.title()),
        max_assignments=places + counts.get("REJECTED", 0),
        available=max(0, places - held),
        pending=sum(counts.get(s, 0) for s in PENDING),
        completed=sum(counts.get(s, 0) for s in REVIEWED),
        reward=minor_to_major(study.get("reward")),
        expires_at=expires,
        created_at=parse_time(study.get("date_created")),
        masters=False,
        annotation=study.get("internal_name"),
    )


def details(study: dict, counts: dict, now: datetime) -> HitDetails:
    """A study as HitDetails: what `status --sync` records and `extend` reads."""
    info = hit(study, counts, now)
    return HitDetails(
        **{f.name: getattr(info, f.name) for f in fields(HitInfo)},
        title=study.get("name") or "",
        description=study.get("description") or "",
        keywords="",
        question=study.get("external_study_url") or "",
        duration=int(study.get("maximum_allowed_time") or 0) * 60,
        auto_approve=0,
        requirements=tuple(study.get("filters") or ()),
    )


def assignment(submission: dict, study_id: str | None = None) -> AssignmentInfo:
    """A submission (from a study's list or `GET /submissions/{id}/`) as an AssignmentInfo.

    Unsubmitted statuses keep Prolific's own name (RETURNED, ...), so a message about one says
    what it is rather than pretending it is an MTurk status.
    """
    status = status_name(submission.get("status"))
    return AssignmentInfo(
        assignment_id=submission["id"],
        hit_id=submission.get("study_id") or study_id or "",
        worker_id=submission.get("participant_id") or submission.get("participant") or "",
        status=SUBMISSION_STATUS.get(status, status),
        accept_time=parse_time(submission.get("started_at")),
        submit_time=parse_time(submission.get("completed_at")),
        answer=submission.get("study_code"),
    )


def is_listed(submission: dict) -> bool:
    """Whether the steps see this submission (it was submitted: reviewed or waiting for review)."""
    return status_name(submission.get("status")) in SUBMISSION_STATUS


