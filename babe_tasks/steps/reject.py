"""reject: refuse named Submitted assignments, with the reason the worker reads.

Rejecting spends nothing but cannot be undone by the lab's tooling (only OverrideRejection within
30 days, by hand), and it marks the worker's record: so every named assignment is checked before
anything is rejected — it must exist, belong to a HIT this experiment posted on this target, and
be Submitted (already Rejected counts as done, so a re-run is harmless) — and one bad id stops
the whole command with nothing done. The reason is checked against MTurk's limits first, too.
Then `babe_before_reject` may hold some back or veto, and the rest are rejected concurrently.

`lookup_assignments` is shared with `bonus`: both may act only on this experiment's workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .. import output
from ..errors import PartialFailure, UsageError
from ..ledger import Ledger
from ..platform import capabilities_for
from ..platform.base import AssignmentInfo, Capabilities, NotFound, capabilities_of
from ..plugins import call_after, call_before
from . import concurrently, session

#: MTurk's limit on RequesterFeedback (the reason a rejected worker reads).
MAX_REASON = 1024


@dataclass
class RejectResult:
    reason: str
    rejected: list[AssignmentInfo] = field(default_factory=list)
    already_rejected: list[str] = field(default_factory=list)
    held: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    #: What the platform calls a HIT, singular and plural (text output only; the JSON keeps `hit_id`).
    nouns: tuple[str, str] = output.MTURK_NOUNS

    def as_json(self) -> dict:
        document: dict = {
            "rejected": [
                {"assignment_id": a.assignment_id, "worker_id": a.worker_id, "hit_id": a.hit_id} for a in self.rejected
            ],
            "already_rejected": self.already_rejected,
            "held": self.held,
            "failed": self.failed,
        }
        if self.dry_run:
            document["dry_run"] = True
        return document


def check_reason(reason: str | None, *, flag: str = "--reason", what: str = "rejected worker") -> str:
    """The reason as MTurk will take it, or UsageError: required, not blank, at most 1024 characters."""
    text = (reason or "").strip()
    if not text:
        raise UsageError(f"{flag} is required: MTurk shows it to the {what}, e.g. {flag} \"Did not follow the instructions\"")
    if len(text) > MAX_REASON:
        raise UsageError(f"{flag} is {len(text)} characters long: MTurk allows at most {MAX_REASON}")
    return text


def check_ids(ids: list[str], capabilities: Capabilities) -> list[str]:
    """Assignment ids, deduplicated in order; one not of the platform's shape is refused before any call.

    The shape is the platform's (`capabilities.submission_id_pattern`; loose where it names none:
    letters, digits, - and _); the platform itself says when a well-formed id does not exist.
    """
    pattern, kind = capabilities.submission_id()
    chosen = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
    for assignment_id in chosen:
        if not pattern.match(assignment_id):
            raise UsageError(f"{assignment_id!r} is not {kind}")
    return chosen


def lookup_assignments(
    settings, platform, ledger: Ledger, ids: list[str]
) -> tuple[dict[str, AssignmentInfo], dict[str, str]]:
    """Each assignment as the platform has it now, and why any of them is not this experiment's.

    Returns (found, problems): `found` maps id → AssignmentInfo for those of the experiment's own
    HITs on this target; `problems` maps every other id to one line saying what is wrong and what
    to do. The platform is asked (GetAssignment) for every id, concurrently: the status matters
    and the ledger may be behind. Nothing is changed.
    """
    found: dict[str, AssignmentInfo] = {}
    problems: dict[str, str] = {}
    nouns = capabilities_of(platform).nouns
    outcomes = concurrently(settings, platform.get_assignment, ids)
    for outcome in outcomes:
        assignment_id = outcome.item
        if isinstance(outcome.error, NotFound):
            problems[assignment_id] = f"assignment {assignment_id} does not exist on {settings.target}: check the id"
            continue
        if outcome.error is not None:
            raise outcome.error
        info: AssignmentInfo = outcome.value
        problem = _not_ours(settings, ledger, info, nouns)
        if problem:
            problems[assignment_id] = problem
        else:
            found[assignment_id] = info
    return found, problems


def _not_ours(settings, ledger: Ledger, info: AssignmentInfo, nouns: tuple[str, str] = output.MTURK_NOUNS) -> str | None:
    """Why an assignment is not this experiment's to act on, worded with the platform's `nouns`; None if it is."""
    record = ledger.hit(info.hit_id)
    if record is None:
        return (
            f"assignment {info.assignment_id} is of {nouns[0]} {info.hit_id}, which experiment {settings.experiment} did "
            "not post: act on it from the folder of the experiment that posted it"
        )
    if record.experiment != settings.experiment:
        return (
            f"assignment {info.assignment_id} belongs to experiment {record.experiment}, not "
            f"{settings.experiment}: act on it from that experiment's folder (or with BABE_EXPERIMENT={record.experiment})"
        )
    if record.target != settings.target:
        return (
            f"assignment {info.assignment_id} is of a {nouns[0]} posted on {record.target}, not {settings.target}: "
            f"pass --target {record.target}"
        )
    return None


def refuse(problems: list[str]) -> None:
    """Raise the first problem as a UsageError, saying how many more there are."""
    if problems:
        more = f" ({len(problems) - 1} more problem(s) after this one)" if len(problems) > 1 else ""
        raise UsageError(problems[0] + more)


def run(
    settings,
    pm,
    *,
    assignment_ids: list[str],
    reason: str | None,
    review: Callable[[list[AssignmentInfo]], bool] | None = None,
) -> RejectResult:
    """Reject the named Submitted assignments with `reason`.

    `review(assignments)` is asked before anything is rejected (a prompt on live); declining is a
    UsageError. Raises `PartialFailure` carrying the result when some rejections failed.
    """
    reason = check_reason(reason)
    ids = check_ids(assignment_ids, capabilities_for(settings, pm))
    if not ids:
        raise UsageError("name the assignments to reject: --assignment ID (repeat it, or separate ids with commas) or --from FILE")
    with session(settings, pm) as (platform, ledger):
        found, problems = lookup_assignments(settings, platform, ledger, ids)
        result = RejectResult(reason=reason, dry_run=settings.dry_run, nouns=capabilities_of(platform).nouns)
        candidates: list[AssignmentInfo] = []
        lines = [problems[i] for i in ids if i in problems]
        for assignment_id in ids:
            info = found.get(assignment_id)
            if info is None:
                continue
            if info.status == "Submitted":
                candidates.append(info)
            elif info.status == "Rejected":
                result.already_rejected.append(assignment_id)
            else:
                lines.append(
                    f"assignment {assignment_id} is {info.status}, not Submitted: only submitted work can be "
                    "rejected — leave it out"
                )
        refuse(lines)
        ledger.record_assignments(settings.experiment, settings.target, list(found.values()))
        holds: dict[str, str] = {}
        for answer in call_before(pm, "babe_before_reject", settings=settings, assignments=list(candidates)):
            for assignment_id, why in answer:
                holds.setdefault(assignment_id, str(why))
        result.held = [
            {"assignment_id": a.assignment_id, "reason": holds[a.assignment_id]}
            for a in candidates
            if a.assignment_id in holds
        ]
        todo = [a for a in candidates if a.assignment_id not in holds]
        if settings.dry_run:
            result.rejected = todo
            return result
        if todo and review is not None and not review(todo):
            raise UsageError("not confirmed: nothing was rejected")

        def reject(a: AssignmentInfo) -> bool:
            done_now = platform.reject(a.assignment_id, reason)
            ledger.record_rejected(settings.experiment, settings.target, a, reason)
            return done_now

        with output.progress("rejecting", total=len(todo)) as bar:
            outcomes = concurrently(settings, reject, todo, advance=bar.advance)
        for outcome in outcomes:
            if outcome.error is not None:
                result.failed.append({"assignment_id": outcome.item.assignment_id, "error": str(outcome.error)})
            elif outcome.value:
                result.rejected.append(outcome.item)
            else:
                result.already_rejected.append(outcome.item.assignment_id)
    result.warnings = call_after(pm, "babe_after_reject", settings=settings, result=result)
    if result.failed:
        first = result.failed[0]
        raise PartialFailure(
            f"{len(result.failed)} of {len(todo)} rejections failed ({first['assignment_id']}: {first['error']}); "
            "run reject again to finish",
            result.as_json(),
        )
    return result
