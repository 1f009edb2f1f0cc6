"""A second platform, written as a lab would write one: a plugin in the experiment's plugins/ folder.

`fakepro` is a thin wrapper over the MTurk platform (so it talks to the local MTurk of the test)
with everything another platform may bring: its own pricing (one HIT per plan, a 30% fee plus
20% VAT on it, in pounds, no 10-assignment rule), its capabilities (no qualification types, bulk approval), `check_plan` refusing
Masters, `approve_many`, `add_assignments(total=)` and the completion lines of `create`. Each of
its calls is logged to `platform.jsonl` in the experiment folder, so a test sees what the core
asked of it — through the real `babe` program, never by calling a step directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

FAKEPRO = '''
import json, pathlib
from decimal import ROUND_HALF_UP, Decimal

from babe_tasks.errors import UsageError
from babe_tasks.planning import Cost
from babe_tasks.platform.base import Capabilities, OperationFailed
from babe_mturk.platform import MTurkPlatform

CENT = Decimal("0.01")


def log(name, **data):
    with open(pathlib.Path(__file__).parent.parent / "platform.jsonl", "a") as f:
        f.write(json.dumps({"call": name, **data}, default=str) + "\\n")


class Pricing:
    currency = "GBP"
    symbol = "\\u00a3"
    single_batch = True
    large_hit_assignments = None
    RATE = Decimal("0.30")
    VAT = Decimal("0.20")

    def fee(self, amount):
        return (Decimal(amount) * self.RATE).quantize(CENT, ROUND_HALF_UP)

    def vat(self, amount):
        return (self.fee(amount) * self.VAT).quantize(CENT, ROUND_HALF_UP)

    def assignment_fee(self, reward, hit_size, masters=False):
        return self.fee(reward) + self.vat(reward)

    def assignments_cost(self, reward, hit_size, count, masters=False):
        return Cost(count, reward * count, self.fee(reward) * count, vat=self.vat(reward) * count)

    def bonus_fee(self, amount):
        return self.fee(amount) + self.vat(amount)


class FakePro(MTurkPlatform):
    name = "fakepro"
    pricing = Pricing()
    # What it can do, as data: no qualification types, bulk approval; the rest as the protocol's defaults.
    capabilities = Capabilities(title="fakepro", qualifications=False, bulk_approve=True)

    def check_plan(self, plan):
        log("check_plan", hits=len(plan.hits))
        if plan.uses_masters:
            raise UsageError("fakepro has no Masters workers: drop --masters")

    def post(self, plan, hit):
        log("post", assignments=hit.assignments, blocklist=plan.blocklist_hits)
        return super().post(plan, hit)

    def approve(self, assignment_id, feedback=None):
        log("approve", assignment_id=assignment_id)
        return super().approve(assignment_id, feedback)

    def approve_many(self, assignment_ids, feedback):
        log("approve_many", count=len(assignment_ids))
        folder = pathlib.Path(__file__).parent.parent
        refused = (folder / "refuse.txt").read_text().split() if (folder / "refuse.txt").exists() else []
        omitted = (folder / "omit.txt").read_text().split() if (folder / "omit.txt").exists() else []
        answers = {}
        for assignment_id in assignment_ids:
            if assignment_id in omitted:
                continue
            if assignment_id in refused:
                answers[assignment_id] = OperationFailed("refused by fakepro (test)")
                continue
            try:
                answers[assignment_id] = MTurkPlatform.approve(self, assignment_id, feedback)
            except OperationFailed as exc:
                answers[assignment_id] = exc
        return answers

    def add_assignments(self, hit_id, count, token, *, total=None):
        log("add_assignments", hit_id=hit_id, count=count, total=total)
        return super().add_assignments(hit_id, count, token)

    def create_qualification_type(self, name, description):
        log("create_qualification_type", name=name)
        return super().create_qualification_type(name, description)

    def grant_qualification(self, qualification_type_id, worker_id, value=1):
        log("grant_qualification", worker_id=worker_id)
        return super().grant_qualification(qualification_type_id, worker_id, value)

    def describe_created(self, plan):
        return [f"Completion code: FAKE-{plan.plan_id}"]

    def created_json(self, plan):
        return {"completion_code": f"FAKE-{plan.plan_id}"}


def babe_platform(settings):
    if settings.platform == "fakepro":
        return FakePro(settings)
'''


def write_config(folder: Path, **babe) -> None:
    ExperimentFolder(folder, {**DEFAULT_SETTINGS, **babe})


@pytest.fixture
def fakepro(experiment) -> Path:
    """The experiment folder, with the `fakepro` platform plugin in its plugins/ folder."""
    plugins = experiment / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "fakepro.py").write_text(FAKEPRO)
    return experiment


def all_hits(mturk) -> list[dict]:
    """Every HIT on the test's local MTurk."""
    return [h for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


def own_types(mturk) -> list[str]:
    """The names of the caller's qualification types on the local MTurk."""
    pages = mturk.get_paginator("list_qualification_types").paginate(MustBeRequestable=False, MustBeOwnedByCaller=True)
    return [qtype["Name"] for page in pages for qtype in page["QualificationTypes"]]


def calls(folder: Path, name: str | None = None) -> list[dict]:
    """What the core asked of fakepro, in order (only the calls named `name`, if given)."""
    path = folder / "platform.jsonl"
    logged = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [entry for entry in logged if name is None or entry["call"] == name]
