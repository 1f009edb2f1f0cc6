"""Prolific's JSON as the lifecycle steps see it: studies as HITs, submissions as assignments.

The steps speak MTurk's shapes (`babe_tasks.platform.base`); this module is the whole translation,
in one place, so every step reads Prolific the same way (docs/prolific.md has the table):

| Prolific study status | HIT status | why |
|---|---|---|
| UNPUBLISHED, SCHEDULED, ACTIVE | Assignable | takes (or is about to take) participants |
| PUBLISHING | Publishing | posted; Prolific is publishing it (asynchronously): open, nobody can start yet |
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
Prolific studies do not expire by time: an open or full study has no expiry (`expires_at` None:
open until stopped or full, so `extend` may add places to a full one); a study stopped with places
left expired at its completion time (it is over: `extend` will not reopen it). Nothing is made up:
no placeholder time is reported, stored in the ledger or shown.

Money: `GET /studies/{id}/cost/` is Prolific's `StudyTotalCost`, every piece an `{amount,
currency}` in minor units (`cost_amount`).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal

from babe_tasks.planning import external_question
from babe_tasks.platform.base import AssignmentInfo, HitDetails, HitInfo

HUNDRED = Decimal(100)
#: What Prolific substitutes in the study URL: magpie reads these three parameters.
URL_PARAMETERS = "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"

STUDY_STATUS = {
    "UNPUBLISHED": "Assignable",
    "SCHEDULED": "Assignable",
    "PUBLISHING": "Publishing",
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


def status_name(value: str | None) -> str:
    """A status as the reference spells it (`AWAITING_REVIEW` in filters → `AWAITING REVIEW`)."""
    return str(value or "").strip().upper().replace("_", " ")


def minor_to_major(value) -> Decimal:
    return (Decimal(str(value or 0)) / HUNDRED).quantize(Decimal("0.01"))


def major_to_minor(value: Decimal) -> int:
    return int((Decimal(value) * HUNDRED).to_integral_value())


def cost_amount(cost, part: str, piece: str) -> Decimal | None:
    """One amount of a `StudyTotalCost` (`cost_amount(cost, "bonuses", "rewards")`) in major units.

    None when the answer has not the documented shape (`{part: {piece: {"amount": minor units}}}`):
    an amount that cannot be read confirms nothing, and never crashes a run that must settle money.
    """
    section = cost.get(part) if isinstance(cost, dict) else None
    item = section.get(piece) if isinstance(section, dict) else None
    amount = item.get("amount") if isinstance(item, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        return None
    if not value.is_finite():
        return None
    return (value / HUNDRED).quantize(Decimal("0.01"))


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
    expires: datetime | None = None
    if status == "COMPLETED" and finished < places:
        # Stopped with places left: that is what "expired" means here (more places would reopen it,
        # but a stopped study is the lab's decision; `babe create` starts a new one).
        expires = parse_time(study.get("completed_at")) or now
    # Otherwise open, or full (AWAITING REVIEW / COMPLETED by its finished submissions): no expiry,
    # and `extend` may add places.
    return HitInfo(
        hit_id=study["id"],
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


def lab_url(study_url: str) -> str:
    """The experiment's URL as the lab gave it: the study's URL without the parameters create appended."""
    for joint in ("&", "?"):
        if study_url.endswith(joint + URL_PARAMETERS):
            return study_url[: -len(joint + URL_PARAMETERS)]
    return study_url


def question(study: dict) -> str:
    """The study's URL as the steps read a page (an ExternalQuestion's ExternalURL; no frame on
    Prolific), so `status --sync` rebuilds the plan `create` wrote — the same plan, not a new one."""
    return external_question(lab_url(str(study.get("external_study_url") or "")), 0)


def details(study: dict, counts: dict, now: datetime) -> HitDetails:
    """A full study (`GET /studies/{id}/`: a list's `StudyShort` lacks these fields) as HitDetails:
    what `status --sync` records and `extend` reads."""
    info = hit(study, counts, now)
    return HitDetails(
        **{f.name: getattr(info, f.name) for f in fields(HitInfo)},
        title=study.get("name") or "",
        description=study.get("description") or "",
        keywords="",
        question=question(study),
        duration=int(study.get("maximum_allowed_time") or 0) * 60,
        auto_approve=0,
        requirements=tuple(study.get("filters") or ()),
    )


def assignment(submission: dict, study_id: str | None = None) -> AssignmentInfo:
    """A submission (from a study's list or `GET /submissions/{id}/`) as an AssignmentInfo.

    Unsubmitted statuses keep Prolific's own name (RETURNED, ...), so a message about one says
    what it is rather than pretending it is an MTurk status. The code the participant entered is
    `entered_code` in `GET /submissions/{id}/`, `study_code` in a study's list.
    """
    status = status_name(submission.get("status"))
    return AssignmentInfo(
        assignment_id=submission["id"],
        hit_id=submission.get("study_id") or study_id or "",
        worker_id=submission.get("participant_id") or submission.get("participant") or "",
        status=SUBMISSION_STATUS.get(status, status),
        accept_time=parse_time(submission.get("started_at")),
        submit_time=parse_time(submission.get("completed_at")),
        answer=submission.get("entered_code") or submission.get("study_code"),
    )


def is_listed(submission: dict) -> bool:
    """Whether the steps see this submission (it was submitted: reviewed or waiting for review)."""
    return status_name(submission.get("status")) in SUBMISSION_STATUS


