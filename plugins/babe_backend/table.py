"""The backend's results as one table, whichever route they came by.

The CSV route gives the table directly (`submission_id`, then the trial keys); the JSON retrieval
API gives one array of trial objects per submission, which is turned into the same layout — the
backend's own CSV rules: one row per trial, columns the union of the keys in order of appearance,
lists joined with `|`, missing values empty — so `babe results` writes the same file either way.
A table that does not have that shape is refused as malformed: a half-read CSV must never become
a results file, nor decide which workers get paid.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from babe_tasks.errors import BabeError

#: Columns that carry the MTurk ids the page merged into every trial (`glb_` when a trial had its own).
ASSIGNMENT_COLUMNS = ("assignment_id", "glb_assignment_id", "assignmentId")
HIT_COLUMNS = ("hit_id", "glb_hit_id", "hitId")
#: On Prolific: the participant id (_babe asks for it: `prolific_id`; magpie reads PROLIFIC_PID), the
#: submission id (magpie's SESSION_ID, the platform's assignment id) and the study id (STUDY_ID).
PROLIFIC_COLUMNS = ("prolific_id", "glb_prolific_id", "PROLIFIC_PID", "prolific_pid")
SESSION_COLUMNS = ("session_id", "glb_session_id", "SESSION_ID")
STUDY_COLUMNS = ("study_id", "glb_study_id", "STUDY_ID")
SUBMISSION_COLUMN = "submission_id"


class MalformedData(BabeError):
    """The backend answered, but not with a table we can trust (exit 1: nothing was written)."""

    exit_code = 1


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]

    def index(self, names: tuple[str, ...]) -> int | None:
        """The position of the first of `names` among the columns, or None."""
        for name in names:
            if name in self.columns:
                return self.columns.index(name)
        return None

    def values(self, names: tuple[str, ...]) -> list[str] | None:
        """That column's values, row by row (None when there is no such column)."""
        position = self.index(names)
        if position is None:
            return None
        return [row[position] for row in self.rows]

    def submissions(self) -> int:
        """How many participant submissions the rows come from."""
        ids = self.values((SUBMISSION_COLUMN,))
        return len(set(ids)) if ids is not None else 0

    def rows_per_hit(self, columns: tuple[str, ...] = HIT_COLUMNS) -> Counter:
        ids = self.values(columns)
        return Counter(value.strip() for value in ids or [] if value.strip())

    def to_csv(self) -> str:
        """The backend's CSV layout; a row with a carriage return in a cell is quoted whole, which
        Python 3.11's minimal quoting does not do under a `\\n` line end (the file would not read back)."""
        out = io.StringIO()
        minimal = csv.writer(out, lineterminator="\n")
        quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        for row in (self.columns, *self.rows):
            (quoted if any("\r" in value for value in row) else minimal).writerow(row)
        return out.getvalue()


def from_csv(text: str, where: str) -> Table:
    """Parse the CSV route's answer; `where` names it in messages (the route, not the password)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        return Table([], [])
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise MalformedData(f"{where} answered a malformed CSV ({exc}); nothing was written") from None
    records = [record for record in records if record]
    header = records[0]
    if header[0].strip() != SUBMISSION_COLUMN:
        raise MalformedData(
            f"{where} answered a CSV whose first column is {header[0][:40]!r}, not {SUBMISSION_COLUMN}: "
            "not the backend's results format; nothing was written"
        )
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(header):
            raise MalformedData(
                f"{where} answered a malformed CSV: line {number} has {len(record)} fields, the header "
                f"{len(header)}; nothing was written"
            )
    return Table(header, records[1:])


def from_json(document: Any, where: str) -> Table:
    """Turn the retrieval API's answer (one array of trial objects per submission) into the CSV layout.

    The API does not return the backend's submission ids: submissions are numbered 1, 2, … in the
    order the API lists them.
    """
    if not isinstance(document, list) or not all(isinstance(s, list) for s in document):
        raise MalformedData(f"{where} did not answer a list of submissions; nothing was written")
    columns: list[str] = [SUBMISSION_COLUMN]
    for submission in document:
        for trial in submission:
            if not isinstance(trial, dict):
                raise MalformedData(f"{where} answered a submission that is not a list of trial objects; nothing was written")
            for key in trial:
                if key not in columns:
                    columns.append(str(key))
    rows = [
        [str(number), *(cell(trial.get(key)) for key in columns[1:])]
        for number, submission in enumerate(document, start=1)
        for trial in submission
    ]
    return Table(columns if rows else [], rows)


def cell(value: Any) -> str:
    """One value as the backend's CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)
