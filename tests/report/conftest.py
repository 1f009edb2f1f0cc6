"""An experiment with three days of history, made through the real `babe` program and local MTurk.

Day 1 (2026-11-02, from noon UTC): 12 assignments posted, 5 workers each take 3 to 15 minutes,
`babe approve`. Day 2: 4 more workers; one is rejected, three approved, one gets a $1.00 bonus.
Day 3: 2 more submit and wait for review. The wall clock itself is moved (the ledger dates
payments by it and the local MTurk's clock follows it), so each day's money lands on its day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

DAY = 86400
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def wall_clock(monkeypatch):
    """`time.time` from 2026-11-02 12:00 UTC on; `.next_day()` jumps a day ahead."""

    @dataclass
    class Wall:
        shift: float

        def next_day(self) -> None:
            self.shift += DAY

    real = time.time
    wall = Wall(START - real())
    monkeypatch.setattr(time, "time", lambda: real() + wall.shift)
    return wall


def take_and_submit(turk, hit_id: str, worker_id: str, minutes: float) -> str:
    """A worker accepts, works `minutes` (the local clock moves), and submits; the assignment id."""
    from babe_mturk.answers import answer_xml
    from babe_mturk.local import assignments, workers
    from babe_mturk.local.service import Context
    from babe_mturk.local.store import Store

    with turk.store.write() as tx:
        workers.ensure_workers(Context(tx, Store.now(tx), turk), worker_ids=[worker_id])
        assignment_id = assignments.accept(Context(tx, Store.now(tx), turk), hit_id, worker_id)
    turk.store.advance_clock(minutes * 60)
    with turk.store.write() as tx:
        answer = answer_xml({"assignmentId": assignment_id, "trials": "[]"})
        assignments.submit(Context(tx, Store.now(tx), turk), assignment_id, answer)
    return assignment_id


@dataclass
class History:
    folder: Path
    hits: list[str]
    rejected: str
    bonused: str


@pytest.fixture
def history(babe, experiment, wall_clock, turk) -> History:
    created = babe("create", "--assignments", "12", "--batch-size", "6", "--json")
    assert created.code == 0, created
    hits = [h["hit_id"] for h in created.json["hits"]]
    for n, minutes in enumerate((3, 5, 7, 11, 15)):
        take_and_submit(turk, hits[n % 2], f"AWORKERDAY1{n}", minutes)
    assert babe("approve", "--json").code == 0

    wall_clock.next_day()
    day2 = [take_and_submit(turk, hits[n % 2], f"AWORKERDAY2{n}", minutes) for n, minutes in enumerate((4, 6, 9, 30))]
    rejected = babe("reject", "--assignment", day2[0], "--reason", "The attention checks were failed.", "--json")
    assert rejected.code == 0, rejected
    assert babe("approve", "--json").code == 0
    bonus = babe("bonus", "--assignment", day2[1], "--worker", "AWORKERDAY21", "--amount", "1.00", "--reason", "Thanks!")
    assert bonus.code == 0, bonus

    wall_clock.next_day()
    for n, minutes in enumerate((8, 12)):
        take_and_submit(turk, hits[n % 2], f"AWORKERDAY3{n}", minutes)
    assert babe("status", "--json").code == 0
    return History(experiment, hits, day2[0], day2[1])
