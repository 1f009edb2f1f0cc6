"""Attention checks: which of a participant's rows the lab's check columns say were failed.

The lab names the columns (`babe.plugins.babe-backend.review.attention_checks`); a row with an
empty cell there was not a check (the question was elsewhere), so it counts neither way. The same
reading feeds the review page (`Checks` beside the rows) and, with `hold_failed_checks`, approve's
holds (`failed attention check (2 of 3)`): the page and `babe approve` never disagree on who failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from babe_tasks.configvalues import FALSE_WORDS, TRUE_WORDS
from babe_tasks.reviewdata import Checks

from .table import Table

#: What a passing cell of a listed check column holds (the settings' true words, and _babe's "correct").
PASS_WORDS = (*TRUE_WORDS, "correct")
#: What a cell holds when a mapping expects false (YAML's unquoted `no`).
FAIL_WORDS = (*FALSE_WORDS, "incorrect")
ROW_NAME_COLUMN = "trial_number"


class Checker:
    """The lab's checks resolved against one table's columns (positions found once per call)."""

    def __init__(self, table: Table, checks: Iterable[tuple[str, str | bool | None]]):
        checks = list(checks)
        self.missing = [column for column, _ in checks if column not in table.columns]
        self.checks = [(column, table.columns.index(column), expected) for column, expected in checks if column in table.columns]
        self.configured = bool(checks)
        self.table = table
        self.trial = table.columns.index(ROW_NAME_COLUMN) if ROW_NAME_COLUMN in table.columns else None

    def outcome(self, rows: list[int]) -> Checks | None:
        """The checks of one participant's rows (positions in the table); None when the lab names none."""
        if not self.configured:
            return None
        result = Checks()
        for place, number in enumerate(rows, start=1):
            row = self.table.rows[number]
            for column, position, expected in self.checks:
                cell = row[position].strip()
                if not cell:
                    continue
                if _passes(cell, expected):
                    result.passed += 1
                else:
                    result.failed += 1
                    result.failures.append(f"{self._name(row, place)}: {column} is {cell!r}, expected {_wanted(expected)}")
        return result

    def _name(self, row: list[str], place: int) -> str:
        """`trial 3` by the row's trial_number when it has one, else `row 3` by its place among the participant's."""
        if self.trial is not None and row[self.trial].strip():
            return f"trial {row[self.trial].strip()}"
        return f"row {place}"


def holds(checker: Checker, rows: dict[str, list[int]], assignments: Iterable[Any]) -> list[tuple[str, str]]:
    """approve's hold for every submission that failed a check: `failed attention check (2 of 3)`."""
    held = []
    for a in assignments:
        outcome = checker.outcome(rows.get(a.assignment_id, []))
        if outcome is not None and outcome.failed:
            held.append((a.assignment_id, f"failed attention check ({outcome.failed} of {outcome.passed + outcome.failed})"))
    return held


def _passes(cell: str, expected: str | bool | None) -> bool:
    text = cell.lower()
    if expected is None or expected is True:
        return text in PASS_WORDS
    if expected is False:
        return text in FAIL_WORDS
    return text == expected.strip().lower()


def _wanted(expected: str | bool | None) -> str:
    if expected is None or expected is True:
        return "/".join(PASS_WORDS)
    if expected is False:
        return "/".join(FAIL_WORDS)
    return repr(expected)
