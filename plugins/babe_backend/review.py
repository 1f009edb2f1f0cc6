"""What `babe review` shows beside each submission: the participant's rows from the _babe / magpie backend.

A reviewer decides on data: the responses, the reaction times against everyone else's, the
attention checks. The backend's table holds all of it but also much that says nothing about one
trial — the ids, and the experiment's global fields (age, comments, startTime, …) that _babe
merges into every trial of a participant. So by default the page shows the columns that vary from
trial to trial (see `default_columns`); the lab may name its own (`review.columns`).

Everything is built from one fetch and indexes made once per call (rows per submission, reaction
times per row): a backend of 500 participants × 100 trials is a few passes over the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from babe_tasks.reviewdata import ParticipantData, ReviewData

from . import matching
from .attention import Checker
from .config import NAME, SECTION, BackendConfig
from .table import ASSIGNMENT_COLUMNS, HIT_COLUMNS, PROLIFIC_COLUMNS, SESSION_COLUMNS, STUDY_COLUMNS, SUBMISSION_COLUMN, Table

WORKER_COLUMNS = ("worker_id", "glb_worker_id", "workerId")
#: Columns that only say whose row it is: never shown by default (the page already names the submission).
ID_COLUMNS = frozenset(
    (SUBMISSION_COLUMN, *ASSIGNMENT_COLUMNS, *HIT_COLUMNS, *WORKER_COLUMNS, *PROLIFIC_COLUMNS, *SESSION_COLUMNS, *STUDY_COLUMNS)
)
#: The global fields _babe / magpie merge into every trial (a clash with a trial key becomes `glb_<key>`).
GLOBAL_COLUMNS = frozenset(
    ("experiment_id", "startDate", "startTime", "endTime", "timeSpent", "age", "gender", "education", "languages", "comments")
)
GLOBAL_PREFIX = "glb_"
#: _babe's own trial fields, shown whenever present even when constant: they name the row and say
#: what was answered (a pilot of two trials each may well hold one response per participant).
ROW_COLUMNS = ("trial_name", "trial_number", "question", "response")


def review_data(config: BackendConfig, table: Table, assignments: Iterable[Any], platform: str) -> ReviewData:
    """The backend's data of every submission under review, for the page (see babe_tasks.reviewdata)."""
    assignments = list(assignments)
    review = config.review
    if not table.rows:
        return ReviewData(source=NAME, notes=[f"the backend has no data for experiment {config.experiment_id} yet"])
    notes: list[str] = []
    matched = matching.match(table, assignments, platform, config.experiment_id)
    if matched.problem:
        notes.append(matched.problem)
    checker = Checker(table, review.attention_checks)
    notes += [f"attention-check column {column} is not in the backend's data" for column in checker.missing]

    if review.columns is None:
        columns = default_columns(table, (review.reaction_time, *(column for column, _ in review.attention_checks)))
    else:
        columns = [column for column in review.columns if column in table.columns]
        notes += [
            f"column {column} is not in the backend's data (named in {SECTION}.review.columns)"
            for column in review.columns
            if column not in table.columns
        ]

    times, group, skipped = _reaction_times(table, review.reaction_time)
    time_column = review.reaction_time if times is not None else None
    if times is None:
        notes.append(f"column {review.reaction_time} is not in the backend's data: no reaction times to show")
    elif skipped:
        example = skipped[0] if len(skipped[0]) <= 40 else skipped[0][:39] + "…"
        notes.append(
            f"{len(skipped)} cell(s) of {review.reaction_time} are not a number of milliseconds (e.g. {example!r}): "
            "left out of the reaction times"
        )

    positions = [table.columns.index(column) for column in columns]
    participants: dict[str, ParticipantData] = {}
    for a in assignments:
        rows = matched.rows.get(a.assignment_id)
        if not rows:
            continue
        participants[a.assignment_id] = ParticipantData(
            rows=[{column: table.rows[n][p] for column, p in zip(columns, positions)} for n in rows],
            reaction_times=[t for t in (times[n] for n in rows) if t is not None] if times is not None else [],
            checks=checker.outcome(rows),
        )
    without = len(assignments) - len(participants)
    if assignments and without and not matched.problem:
        notes.append(
            f"{without} of {len(assignments)} submission(s) under review have no rows in the backend "
            "(approve holds them: no data in backend)"
        )
    return ReviewData(
        source=NAME,
        columns=columns,
        participants=participants,
        group_reaction_times=group,
        reaction_time_column=time_column,
        notes=notes,
    )


def default_columns(table: Table, keep: Iterable[str] = ()) -> list[str]:
    """The columns worth showing per row, in the table's order.

    Left out: the id columns, _babe's global fields (and any `glb_` column), and any other column
    holding one value per participant — the same on every row of each submission, judged on the
    submissions with two or more rows (a lab's own global field, a constant option label). Kept
    whatever they hold: `trial_name`, `trial_number`, `question`, `response` and the columns in
    `keep` (the reaction-time and attention-check columns).
    """
    kept = {*ROW_COLUMNS, *keep}
    groups = table.values((SUBMISSION_COLUMN,))
    chosen = []
    for position, column in enumerate(table.columns):
        if column in kept:
            chosen.append(column)
        elif column in ID_COLUMNS or column in GLOBAL_COLUMNS or column.startswith(GLOBAL_PREFIX):
            continue
        elif groups is None or not _one_per_participant(table, position, groups):
            chosen.append(column)
    return chosen


def _one_per_participant(table: Table, position: int, groups: list[str]) -> bool:
    """Whether the column never changes within a submission's rows (and some submission has several)."""
    first: dict[str, str] = {}
    repeated = False
    for group, row in zip(groups, table.rows):
        value = row[position]
        if group in first:
            if first[group] != value:
                return False
            repeated = True
        else:
            first[group] = value
    return repeated


def _reaction_times(table: Table, column: str) -> tuple[list[float | None] | None, list[float], list[str]]:
    """Each row's reaction time (None: empty or not a number), every time in the table, and the cells skipped.

    None instead of the per-row list when the table has no such column. Empty cells are rows
    without a timed response (instructions, a questionnaire), not mistakes; other text, negative,
    infinite or NaN values are skipped and counted.
    """
    if column not in table.columns:
        return None, [], []
    position = table.columns.index(column)
    times: list[float | None] = []
    skipped: list[str] = []
    for row in table.rows:
        cell = row[position].strip()
        value = None
        if cell:
            try:
                number = float(cell)
            except ValueError:
                number = math.nan
            if math.isfinite(number) and number >= 0:
                value = number
            else:
                skipped.append(cell)
        times.append(value)
    return times, [t for t in times if t is not None], skipped
