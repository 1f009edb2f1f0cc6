"""Which of the backend's rows belong to which submission: the one rule `approve` and `babe review` share.

The backend knows nothing of the platform: a row carries a submission's ids only because the page
merged them into every trial. On MTurk a row belongs to the assignment whose id is in its
`assignment_id`; on Prolific to the submission whose id is in its `session_id` (magpie's
SESSION_ID) or whose participant is in its `prolific_id` (_babe's Prolific mode stores only that).
`approve` holds a submission with no rows ("no data in backend"), `babe review` shows the rows: with
one rule the page never shows data for a submission approve would call data-less, or the reverse.

The table is indexed once per call (id → row positions), so matching 500 submissions against
50,000 rows is one pass over the rows, not one per submission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .config import PASSWORD_ENV, USER_ENV
from .table import ASSIGNMENT_COLUMNS, PROLIFIC_COLUMNS, SESSION_COLUMNS, Table


@dataclass
class Match:
    """Row positions per submission id (only submissions with rows), and why nothing could match."""

    rows: dict[str, list[int]] = field(default_factory=dict)
    #: Set when the table has rows but no column to match them by (the fix, without approve's flag).
    problem: str | None = None


def match(table: Table, assignments: Iterable[Any], platform: str, experiment_id: str | None) -> Match:
    """Each submission's rows in the backend's table, in table order."""
    assignments = list(assignments)
    if platform == "prolific":
        return _prolific(table, assignments, experiment_id)
    by_assignment = _index(table, ASSIGNMENT_COLUMNS)
    if by_assignment is None:
        if not table.rows:
            return Match()
        return Match(problem=(
            f"the backend's data for experiment {experiment_id} has no assignment_id column, so no assignment can be "
            "matched to its data: add assignment_id to the experiment's dynamic retrieval keys "
            f"(or set {USER_ENV} and {PASSWORD_ENV} for the full CSV)"
        ))
    return Match({a.assignment_id: by_assignment[a.assignment_id] for a in assignments if a.assignment_id in by_assignment})


def _prolific(table: Table, assignments: list[Any], experiment_id: str | None) -> Match:
    by_session = _index(table, SESSION_COLUMNS)
    by_participant = _index(table, PROLIFIC_COLUMNS)
    if by_session is None and by_participant is None:
        if not table.rows:
            return Match()
        return Match(problem=(
            f"the backend's data for experiment {experiment_id} has neither a prolific_id nor a session_id column, so "
            "no submission can be matched to its data: add them to the experiment's dynamic retrieval keys "
            f"(or set {USER_ENV} and {PASSWORD_ENV} for the full CSV)"
        ))
    by_session, by_participant = by_session or {}, by_participant or {}
    rows: dict[str, list[int]] = {}
    for a in assignments:
        session = by_session.get(a.assignment_id, [])
        participant = by_participant.get(a.worker_id, [])
        if session or participant:
            # A row usually carries both ids: count it once, keep the table's order.
            rows[a.assignment_id] = sorted(set(session).union(participant)) if session and participant else session or participant
    return Match(rows)


def _index(table: Table, names: tuple[str, ...]) -> dict[str, list[int]] | None:
    """Non-empty id (trimmed) → the positions of its rows; None when the table has no such column."""
    position = table.index(names)
    if position is None:
        return None
    index: dict[str, list[int]] = {}
    for number, row in enumerate(table.rows):
        value = row[position].strip()
        if value:
            index.setdefault(value, []).append(number)
    return index
