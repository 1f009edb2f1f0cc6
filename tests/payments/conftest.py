"""Fixtures for the payment tests: an experiment with submitted work, and the real `babe` program."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Work:
    """One submitted assignment."""

    assignment_id: str
    worker_id: str
    hit_id: str


def make_experiment(parent: Path, name: str) -> Path:
    """Another experiment folder with the suite's settings (the suite's `experiment` is `exp1`)."""
    from babe_tasks.testing.experiment import ExperimentFolder

    return ExperimentFolder(parent / name).path


def post_and_work(babe, turk, assignments: int, seed: int = 1, where: tuple[str, ...] = ()) -> list[Work]:
    """`babe create` in the current folder, simulated workers submit everything, `babe status` records it.

    `where` are target flags for both commands (e.g. `--target live --endpoint-url URL --yes`).
    """
    from babe_mturk.local.workers import simulate

    created = babe("create", "--assignments", str(assignments), "--json", *where)
    assert created.code == 0, created
    hit_ids = [h["hit_id"] for h in created.json["hits"]]
    simulate(turk, hit_ids=hit_ids, workers=assignments, seed=seed)
    status = babe("status", *(flag for flag in where if flag != "--yes"))
    assert status.code == 0, status  # the ledger now knows every assignment
    return submitted(turk, hit_ids)


def submitted(turk, hit_ids: list[str]) -> list[Work]:
    from babe_mturk.local import client

    mturk = client(turk=turk)
    found = []
    for hit_id in hit_ids:
        for page in mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit_id):
            found += [Work(a["AssignmentId"], a["WorkerId"], hit_id) for a in page["Assignments"]]
    return found


@pytest.fixture
def work(babe, experiment, turk) -> list[Work]:
    """Six submitted assignments of experiment exp1 (one HIT), known to its ledger."""
    return post_and_work(babe, turk, 6)


def balance(mturk) -> Decimal:
    return Decimal(mturk.get_account_balance()["AvailableBalance"])


def bonuses_of(mturk, assignment_ids) -> list[dict]:
    """Every bonus MTurk lists for these assignments (ListBonusPayments, all pages)."""
    found = []
    for assignment_id in assignment_ids:
        pages = mturk.get_paginator("list_bonus_payments").paginate(AssignmentId=assignment_id)
        found += [b for page in pages for b in page["BonusPayments"]]
    return found


def write_csv(folder: Path, rows: list[tuple], name: str = "bonus.csv", header: str = "worker_id,assignment_id,amount,reason") -> Path:
    """A bonus file; each row a tuple of cells (quoted when they hold a comma)."""
    def cell(value) -> str:
        text = str(value)
        return f'"{text}"' if "," in text else text

    lines = [header] + [",".join(cell(v) for v in row) for row in rows]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


#: A plugin preamble that logs what hooks receive to <experiment>/hooks.jsonl.
LOG = """
import json, pathlib
def log(name, **data):
    with open(pathlib.Path(__file__).parent.parent / "hooks.jsonl", "a") as f:
        f.write(json.dumps({"hook": name, **data}, default=str) + "\\n")
"""


def logged(folder: Path) -> list[dict]:
    path = folder / "hooks.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
