"""assignments: who did which assignment of the experiment, as the platform says now.

`reject` and `bonus` take an assignment id and a worker id; nothing listed them side by side, so a
new lab member read them out of the results CSV. This step lists every submitted assignment of
the experiment's HITs (submissions of its studies on Prolific): HIT, assignment, worker, status,
submit time — read only, nothing recorded or changed, no hook that could veto it. A HIT whose
listing fails is reported with its error while the others are still listed (exit 1: run again).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import output
from ..errors import PartialFailure, UsageError
from ..platform.base import AssignmentInfo, capabilities_of
from . import chosen_hits, concurrently, hit_id_of, session, vanished

#: The statuses an assignment (MTurk) or a submission (as the Prolific plugin maps it) can have.
STATUSES = ("Submitted", "Approved", "Rejected")


@dataclass
class AssignmentsResult:
    assignments: list[AssignmentInfo] = field(default_factory=list)
    #: HITs whose listing failed: {"hit_id", "error"}.
    failed: list[dict] = field(default_factory=list)
    #: What the platform calls a HIT, singular and plural (text output only).
    nouns: tuple[str, str] = output.MTURK_NOUNS

    def as_json(self) -> dict:
        document = {
            "assignments": [
                {
                    "hit_id": a.hit_id,
                    "assignment_id": a.assignment_id,
                    "worker_id": a.worker_id,
                    "status": a.status,
                    "accept_time": output.iso_time(a.accept_time),
                    "submit_time": output.iso_time(a.submit_time),
                }
                for a in self.assignments
            ],
        }
        if self.failed:
            document["failed"] = self.failed
        return document


def check_statuses(statuses: list[str] | None) -> tuple[str, ...] | None:
    """`--status` values, capitalised as the platforms write them, or one line naming the wrong one."""
    if not statuses:
        return None
    chosen = []
    for value in statuses:
        match = next((s for s in STATUSES if s.lower() == value.strip().lower()), None)
        if match is None:
            raise UsageError(f"--status {value.strip()!r} is not an assignment status: use {', '.join(STATUSES)}")
        chosen.append(match)
    return tuple(dict.fromkeys(chosen))


def run(settings, pm, *, hit_ids: list[str] | None = None, statuses: list[str] | None = None) -> AssignmentsResult:
    """Every submitted assignment of the chosen HITs (all of the experiment's by default), oldest submission first."""
    wanted = check_statuses(statuses)
    with session(settings, pm) as (platform, ledger):
        nouns = capabilities_of(platform).nouns
        hits = chosen_hits(settings, ledger, hit_ids, nouns=nouns)
        outcomes = concurrently(settings, lambda hit: list(platform.iter_assignments(hit_id_of(hit), wanted)), hits)
        outcomes = [outcome for outcome in outcomes if not vanished(settings, ledger, outcome, nouns)]
    result = AssignmentsResult(nouns=nouns)
    for outcome in outcomes:
        if outcome.error is not None:
            result.failed.append({"hit_id": hit_id_of(outcome.item), "error": str(outcome.error)})
        else:
            result.assignments.extend(outcome.value)
    result.assignments.sort(key=_submitted_first)
    if result.failed:
        first = result.failed[0]
        raise PartialFailure(
            f"the assignments of {output.count(len(result.failed), nouns)} could not be listed ({first['hit_id']}: "
            f"{first['error']}); the others are listed — run babe assignments again",
            result.as_json(),
        )
    return result


def _submitted_first(a: AssignmentInfo) -> tuple:
    """Oldest submission first; assignments without a submit time last, then by id."""
    return (a.submit_time is None, a.submit_time.timestamp() if a.submit_time else 0.0, a.assignment_id)
