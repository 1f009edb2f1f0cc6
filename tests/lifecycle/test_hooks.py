"""Every lifecycle hook fires with its documented arguments; vetoes stop with 3; after-hooks only warn.

The plugins are real files in the experiment's plugins/ folder, loaded by the real plugin manager
when the real `babe` program runs; each writes what it received to a log the test reads back.
"""

from __future__ import annotations

import json

import pytest

from babe_tasks.ledger import Ledger
from babe_mturk.local.workers import simulate
from babe_tasks.planning import MASTERS_IDS

from babe_tasks.testing.experiment import write_plugin

from .conftest import hit_ids

LOG = """
import json, pathlib
def log(name, **data):
    with open(pathlib.Path(__file__).parent.parent / "hooks.jsonl", "a") as f:
        f.write(json.dumps({"hook": name, **data}, default=str) + "\\n")
"""


def logged(folder) -> list[dict]:
    path = folder / "hooks.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_create_hooks_fire_with_settings_plan_and_result(babe, experiment):
    write_plugin(
        experiment,
        "observer",
        LOG
        + """
def babe_before_create(settings, plan):
    log("before_create", experiment=settings.experiment, assignments=plan.assignments,
        sizes=[h.assignments for h in plan.hits], total=str(plan.cost.total), plan_id=plan.plan_id)

def babe_after_create(settings, plan, result):
    log("after_create", plan_id=plan.plan_id, hits=[h.hit_id for h in result.hits], total=str(result.plan.cost.total))
""",
    )
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    before, after = logged(experiment)
    assert before == {
        "hook": "before_create", "experiment": "exp1", "assignments": 20, "sizes": [7, 7, 6], "total": "12.00",
        "plan_id": None,  # ids come after the plugins had their say
    }
    assert after["hook"] == "after_create" and after["total"] == "12.00"
    assert after["hits"] == [h["hit_id"] for h in run.json["hits"]]
    with Ledger(experiment) as ledger:
        assert after["plan_id"] == ledger.hits("exp1", "local")[0].plan_id


def test_before_create_fires_on_dry_run_too_but_after_create_does_not(babe, experiment):
    write_plugin(
        experiment,
        "observer",
        LOG + "def babe_before_create(settings, plan): log('before')\ndef babe_after_create(settings, plan, result): log('after')\n",
    )
    assert babe("create", "--dry-run").code == 0
    assert [entry["hook"] for entry in logged(experiment)] == ["before"]


def test_before_create_may_change_the_plan(babe, experiment, mturk):
    write_plugin(
        experiment,
        "masters",
        "def babe_before_create(settings, plan):\n"
        "    plan.masters = True\n"
        "    plan.batch_size = 5\n"
        "    plan.rebatch()\n",
    )
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert [h["assignments"] for h in run.json["hits"]] == [5, 5, 5, 5]
    # 25% of 0.50 = 0.125 → 0.13 per assignment (half up)
    assert run.json["cost"] == {"rewards": "10.00", "fees": "2.60", "total": "12.60"}
    hit = mturk.get_hit(HITId=run.json["hits"][0]["hit_id"])["HIT"]
    requirements = [(q["QualificationTypeId"], q["Comparator"]) for q in hit["QualificationRequirements"]]
    assert requirements[-1] == (MASTERS_IDS["sandbox"], "Exists")
    assert [c for _, c in requirements[:-1]] == ["DoesNotExist"]  # the experiment's unique-worker type


def test_a_plan_made_invalid_by_a_plugin_is_refused_with_2(babe, experiment, mturk):
    write_plugin(experiment, "longtitle", "def babe_before_create(settings, plan):\n    plan.title = 'x' * 200\n")
    run = babe("create", "--assignments", "20")
    assert run.code == 2
    assert "title is 200 characters long" in run.err
    assert hit_ids(mturk) == []


def test_a_veto_in_before_create_stops_with_3_and_posts_nothing(babe, experiment, mturk):
    write_plugin(
        experiment,
        "capper",
        "from babe_tasks import Veto\n"
        "def babe_before_create(settings, plan):\n"
        "    if plan.cost.total > 10:\n"
        "        raise Veto(f'plan costs ${plan.cost.total}, above the $10.00 cap')\n",
    )
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 3
    assert run.json == {"error": {"exit_code": 3, "message": "plan costs $12.00, above the $10.00 cap", "plugin": "capper"}}
    assert "stopped by plugin capper: plan costs $12.00, above the $10.00 cap" in run.err
    assert hit_ids(mturk) == []
    assert mturk.get_account_balance()["AvailableBalance"] == "10000.00"
    with Ledger(experiment) as ledger:
        assert ledger.hits("exp1", "local") == []


def test_a_crashing_before_hook_stops_with_3_naming_the_plugin(babe, experiment, mturk):
    write_plugin(experiment, "broken", "def babe_before_create(settings, plan):\n    1 / 0\n")
    run = babe("create", "--assignments", "20")
    assert run.code == 3
    assert "broken" in run.err and "ZeroDivisionError" in run.err
    assert "Traceback" not in run.err
    assert hit_ids(mturk) == []


def test_a_failing_after_hook_is_a_warning_and_the_step_stands(babe, experiment, mturk):
    write_plugin(experiment, "noisy", "def babe_after_create(settings, plan, result):\n    raise RuntimeError('slack is down')\n")
    write_plugin(experiment, "quiet", LOG + "def babe_after_create(settings, plan, result):\n    log('quiet')\n")
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert "plugin noisy failed in babe_after_create: RuntimeError: slack is down" in run.err
    assert len(run.json["hits"]) == 3 and len(hit_ids(mturk)) == 3
    assert [entry["hook"] for entry in logged(experiment)] == ["quiet"]  # the other after-hooks still ran


def test_approve_hooks_hold_back_and_observe(babe, created, turk, mturk, experiment):
    submitted = simulate(turk, workers=3, seed=1)["submitted"]
    write_plugin(
        experiment,
        "datacheck",
        LOG
        + f"""
def babe_before_approve(settings, assignments):
    log("before_approve", assignments=sorted([a.assignment_id, a.worker_id[:1], a.hit_id] for a in assignments))
    return [({submitted[0]!r}, "no data on the backend")]

def babe_after_approve(settings, result):
    log("after_approve", approved=result.approved, held=result.held)
""",
    )
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 2
    assert run.json["held"] == [{"assignment_id": submitted[0], "reason": "no data on the backend"}]
    before, after = logged(experiment)
    first_hit = created["hits"][0]["hit_id"]
    assert before["assignments"] == sorted([a, "A", first_hit] for a in submitted)
    assert after == {"hook": "after_approve", "approved": 2, "held": run.json["held"]}
    assert mturk.get_assignment(AssignmentId=submitted[0])["Assignment"]["AssignmentStatus"] == "Submitted"


def test_a_veto_in_before_approve_approves_nothing(babe, created, turk, mturk, experiment):
    submitted = simulate(turk, workers=3, seed=2)["submitted"]
    write_plugin(
        experiment,
        "gate",
        "from babe_tasks import Veto\n"
        "def babe_before_approve(settings, assignments):\n"
        "    raise Veto('results not downloaded yet')\n",
    )
    run = babe("approve")
    assert run.code == 3
    assert "stopped by plugin gate: results not downloaded yet" in run.err
    assert {mturk.get_assignment(AssignmentId=a)["Assignment"]["AssignmentStatus"] for a in submitted} == {"Submitted"}


def test_a_failing_after_approve_is_a_warning(babe, created, turk, experiment):
    simulate(turk, workers=3, seed=3)
    write_plugin(experiment, "noisy", "def babe_after_approve(settings, result):\n    raise KeyError('x')\n")
    run = babe("approve", "--json")
    assert run.code == 0
    assert run.json["approved"] == 3
    assert "plugin noisy failed in babe_after_approve" in run.err


def test_expire_hooks_may_shorten_the_list_and_observe(babe, created, mturk, experiment):
    keep = created["hits"][0]["hit_id"]
    write_plugin(
        experiment,
        "keeper",
        LOG
        + f"""
def babe_before_expire(settings, hit_ids):
    log("before_expire", hit_ids=list(hit_ids))
    hit_ids.remove({keep!r})

def babe_after_expire(settings, result):
    log("after_expire", expired=result.expired)
""",
    )
    run = babe("expire", "--json")
    assert run.code == 0, run
    others = [h["hit_id"] for h in created["hits"][1:]]
    assert run.json["expired"] == others
    before, after = logged(experiment)
    assert before["hit_ids"] == [h["hit_id"] for h in created["hits"]]
    assert after["expired"] == others
    assert mturk.get_hit(HITId=keep)["HIT"]["HITStatus"] == "Assignable"


def test_a_veto_in_before_expire_leaves_the_hits_open(babe, created, mturk, experiment):
    write_plugin(
        experiment,
        "holdopen",
        "from babe_tasks import Veto\ndef babe_before_expire(settings, hit_ids):\n    raise Veto('still recruiting')\n",
    )
    run = babe("expire", "--delete", "--json")
    assert run.code == 3
    assert run.json["error"]["plugin"] == "holdopen"
    assert {mturk.get_hit(HITId=h)["HIT"]["HITStatus"] for h in hit_ids(mturk)} == {"Assignable"}


def test_a_failing_after_expire_is_a_warning(babe, created, experiment):
    write_plugin(experiment, "noisy", "def babe_after_expire(settings, result):\n    raise ValueError('x')\n")
    run = babe("expire", "--json")
    assert run.code == 0 and len(run.json["expired"]) == 3
    assert "plugin noisy failed in babe_after_expire" in run.err


def test_status_hook_adds_fields(babe, created, turk, experiment):
    simulate(turk, workers=4, seed=4)
    write_plugin(
        experiment,
        "backend",
        "def babe_status(settings, status):\n"
        "    return {'backend_submissions': status.totals['submitted'] - 1, 'hits': 'not allowed'}\n",
    )
    write_plugin(experiment, "broken", "def babe_status(settings, status):\n    raise OSError('backend unreachable')\n")
    run = babe("status", "--json")
    assert run.code == 0, run
    assert run.json["backend_submissions"] == 3
    assert isinstance(run.json["hits"], list)  # a plugin cannot overwrite the core fields
    assert "plugin backend: status field 'hits' is taken; ignored" in run.err
    assert "plugin broken failed in babe_status: OSError: backend unreachable" in run.err
    assert "backend_submissions: 3" in babe("status").out


def test_the_platform_comes_from_the_babe_platform_hook(babe, experiment, monkeypatch):
    write_plugin(
        experiment,
        "recording",
        LOG
        + """
from babe_mturk.platform import MTurkPlatform

class Recording(MTurkPlatform):
    name = "recording"
    def call(self, operation, **params):
        log("call", operation=operation)
        return super().call(operation, **params)

def babe_platform(settings):
    if settings.platform == "recording":
        return Recording(settings)
""",
    )
    monkeypatch.setenv("BABE_PLATFORM", "recording")
    run = babe("create", "--assignments", "10")
    assert run.code == 0, run
    assert [e["operation"] for e in logged(experiment)] == ["CreateQualificationType", "CreateHITType", "CreateHITWithHITType", "CreateHITWithHITType"]


@pytest.mark.parametrize("task", ["create", "status", "approve", "expire"])
def test_an_unknown_platform_exits_2(babe, experiment, monkeypatch, task):
    monkeypatch.setenv("BABE_PLATFORM", "nosuchplatform")
    run = babe(task)
    assert run.code == 2
    assert "no plugin provides platform 'nosuchplatform'" in run.err
