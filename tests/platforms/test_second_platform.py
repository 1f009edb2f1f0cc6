"""A second platform plugs in through the protocol alone: the tasks work on it with its own rules.

Every test runs the real `babe` program against `fakepro` (tests/platforms/conftest.py): a plugin
platform with its own pricing (one HIT per plan, 30% fee + 20% VAT on it, in pounds, no
10-assignment rule), no qualification types, `check_plan`, `approve_many` and
`add_assignments(total=)`. Reward 0.50: fee 0.15 + VAT 0.03 = 0.18 per assignment.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from babe_tasks.ledger import Ledger
from babe_mturk.local.workers import simulate

from .conftest import all_hits, calls, own_types, write_config


def test_create_posts_one_hit_priced_by_the_platform(babe, fakepro, mturk):
    run = babe("create", "--assignments", "20", "--platform", "fakepro", "--json")
    assert run.code == 0, run
    assert [h["assignments"] for h in run.json["hits"]] == [20]  # single_batch: not 7, 7, 6
    assert run.json["cost"] == {"rewards": "10.00", "fees": "3.60", "total": "13.60", "vat": "0.60"}
    (hit,) = all_hits(mturk)
    assert hit["MaxAssignments"] == 20 and hit["HITId"] == run.json["hits"][0]["hit_id"]
    assert [c["assignments"] for c in calls(fakepro, "post")] == [20]
    # No qualification type: nothing created, nothing granted, no requirement on the HIT.
    assert own_types(mturk) == []
    assert hit.get("QualificationRequirements", []) == []
    with Ledger(fakepro) as ledger:
        (plan_id,) = {record.plan_id for record in ledger.hits("exp1", "local", "fakepro")}
    assert run.json["platform"] == {"completion_code": f"FAKE-{plan_id}"}


def test_create_text_shows_the_platforms_currency_fees_and_lines(babe, fakepro):
    run = babe("create", "--assignments", "20", "--platform", "fakepro")
    assert run.code == 0, run
    assert "20 assignments in 1 HIT (20)" in run.out
    assert "rewards     £0.50 x 20 = £10.00" in run.out
    assert "fees        fakepro's fee = £3.00" in run.out
    assert "VAT         on the fees = £0.60" in run.out
    assert "total       £13.60" in run.out
    assert "$" not in run.out and "MTurk fee" not in run.out
    assert "Completion code: FAKE-" in run.out
    assert "Local MTurk: no worker site" not in run.out


def test_mturk_is_unchanged_beside_it(babe, fakepro, mturk):
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert [h["assignments"] for h in run.json["hits"]] == [7, 7, 6]
    assert run.json["cost"] == {"rewards": "10.00", "fees": "2.00", "total": "12.00"}
    assert "platform" not in run.json and "blocklist_hits" not in run.json
    assert calls(fakepro) == []


def test_a_second_create_blocks_the_workers_of_the_first(babe, fakepro):
    first = babe("create", "--assignments", "5", "--platform", "fakepro", "--json")
    assert first.code == 0, first
    second = babe("create", "--again", "--assignments", "4", "--platform", "fakepro", "--json")
    assert second.code == 0, second
    earlier = [first.json["hits"][0]["hit_id"]]
    assert [c["blocklist"] for c in calls(fakepro, "post")] == [[], earlier]
    assert second.json["blocklist_hits"] == earlier
    assert "blocklist_hits" not in first.json
    # Repeat workers allowed: nothing of its own to block.
    third = babe("create", "--again", "--assignments", "3", "--platform", "fakepro", "--allow-repeat-workers", "--json")
    assert third.code == 0, third
    assert calls(fakepro, "post")[-1]["blocklist"] == []
    assert calls(fakepro, "create_qualification_type") == [] and calls(fakepro, "grant_qualification") == []


def test_excluded_experiments_hits_are_blocked(babe, fakepro, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    pilot = babe("create", "--assignments", "3", "--platform", "fakepro", "--json")
    assert pilot.code == 0, pilot
    monkeypatch.delenv("BABE_EXPERIMENT")
    run = babe(
        "create", "--assignments", "3", "--platform", "fakepro", "--exclude-experiment", "pilot",
        "--allow-repeat-workers", "--json",
    )
    assert run.code == 0, run
    assert run.json["blocklist_hits"] == [pilot.json["hits"][0]["hit_id"]]
    assert run.json["excluded"]["experiments"] == ["pilot"]
    # An experiment this ledger never posted is refused, naming no qualification type.
    unknown = babe("create", "--again", "--assignments", "3", "--platform", "fakepro", "--exclude-experiment", "nosuch")
    assert unknown.code == 2, unknown
    assert "experiment 'nosuch' is unknown on local: no HITs of it in this folder's ledger; check the name" in unknown.err


def test_check_plan_refuses_before_anything_is_posted(babe, fakepro, mturk):
    run = babe("create", "--assignments", "5", "--masters", "--platform", "fakepro", "--json")
    assert run.code == 2, run
    assert run.err.strip().splitlines() == ["error: fakepro has no Masters workers: drop --masters"]
    assert run.json["error"]["exit_code"] == 2
    assert all_hits(mturk) == []
    assert calls(fakepro, "post") == []
    with Ledger(fakepro) as ledger:
        assert ledger._read("SELECT COUNT(*) AS n FROM plans")[0]["n"] == 0


def test_check_plan_refuses_a_dry_run_too(babe, fakepro):
    run = babe("create", "--assignments", "5", "--masters", "--platform", "fakepro", "--dry-run")
    assert run.code == 2, run
    assert "fakepro has no Masters workers" in run.err


def test_approve_goes_through_approve_many_and_books_the_platforms_fee(babe, fakepro, turk):
    assert babe("create", "--assignments", "5", "--platform", "fakepro").code == 0
    simulate(turk, workers=5, seed=1)
    run = babe("approve", "--platform", "fakepro", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 5 and run.json["failed"] == []
    assert [c["count"] for c in calls(fakepro, "approve_many")] == [5]
    assert calls(fakepro, "approve") == []
    cost = babe("cost", "--platform", "fakepro", "--json")
    assert cost.code == 0, cost
    assert (cost.json["rewards_paid"], cost.json["fees_paid"], cost.json["spent"]) == ("2.50", "0.90", "3.40")
    again = babe("approve", "--platform", "fakepro", "--json")
    assert (again.json["approved"], again.json["already_approved"]) == (0, 5)


def test_approve_many_failures_are_reported_per_assignment(babe, fakepro, turk):
    assert babe("create", "--assignments", "4", "--platform", "fakepro").code == 0
    submitted = sorted(simulate(turk, workers=4, seed=2)["submitted"])
    (fakepro / "refuse.txt").write_text(submitted[0])  # the platform answers an error for this one
    (fakepro / "omit.txt").write_text(submitted[1])  # and nothing at all for this one
    run = babe("approve", "--platform", "fakepro", "--json")
    assert run.code == 1, run
    assert run.json["approved"] == 2
    assert {f["assignment_id"]: f["error"] for f in run.json["failed"]} == {
        submitted[0]: "refused by fakepro (test)",
        submitted[1]: "the platform did not answer for it",
    }
    assert "run approve again to finish" in run.err
    (fakepro / "refuse.txt").unlink()
    (fakepro / "omit.txt").unlink()
    again = babe("approve", "--platform", "fakepro", "--json")
    assert again.code == 0, again
    assert (again.json["approved"], again.json["already_approved"]) == (2, 2)
    assert [c["count"] for c in calls(fakepro, "approve_many")] == [4, 2]


def test_extend_passes_the_total_size(babe, fakepro, mturk):
    created = babe("create", "--assignments", "12", "--platform", "fakepro", "--json")
    assert created.code == 0, created
    hit_id = created.json["hits"][0]["hit_id"]
    run = babe("extend", "--assignments", "3", "--platform", "fakepro", "--json")
    assert run.code == 0, run
    assert calls(fakepro, "add_assignments") == [{"call": "add_assignments", "hit_id": hit_id, "count": 3, "total": 15}]
    assert mturk.get_hit(HITId=hit_id)["HIT"]["MaxAssignments"] == 15
    assert run.json["cost"] == {"rewards": "1.50", "fees": "0.54", "total": "2.04", "vat": "0.09"}


def test_extend_knows_no_ten_assignment_rule_and_no_split(babe, fakepro):
    assert babe("create", "--assignments", "5", "--platform", "fakepro").code == 0
    run = babe("extend", "--assignments", "6", "--platform", "fakepro", "--dry-run", "--json")
    assert run.code == 0, run
    assert [(h["assignments_added"], h["assignments"]) for h in run.json["hits"]] == [(6, 11)]
    split = babe("extend", "--assignments", "6", "--split", "--platform", "fakepro")
    assert split.code == 2, split
    assert "fakepro has no such rule and every HIT can grow: drop --split" in split.err
    assert calls(fakepro, "add_assignments") == []


def test_mturk_keeps_its_ten_assignment_rule(babe, experiment):
    assert babe("create", "--assignments", "5").code == 0
    run = babe("extend", "--assignments", "6", "--dry-run")
    assert run.code == 2, run
    assert "MTurk refuses to raise a HIT created with fewer than 10" in run.err


def test_cost_of_a_create_uses_the_platforms_pricing(babe, fakepro):
    run = babe("cost", "--create", "--assignments", "20", "--platform", "fakepro", "--json")
    assert run.code == 0, run
    assert run.json["hits"] == [20]
    assert (run.json["commission"], run.json["vat"], run.json["fees"], run.json["total"]) == ("3.00", "0.60", "3.60", "13.60")
    text = babe("cost", "--create", "--assignments", "20", "--platform", "fakepro")
    assert "total       £13.60" in text.out and "VAT         on the fees = £0.60" in text.out
    mturk = babe("cost", "--create", "--assignments", "20", "--json")
    assert (mturk.json["hits"], mturk.json["total"]) == ([7, 7, 6], "12.00")
    assert "vat" not in mturk.json


def test_status_commits_at_the_platforms_price_in_its_currency(babe, fakepro, turk):
    assert babe("create", "--assignments", "4", "--platform", "fakepro").code == 0
    run = babe("status", "--platform", "fakepro", "--json")
    assert run.code == 0, run
    assert (run.json["committed"], run.json["spent"]) == ("2.72", "0.00")  # 4 × (0.50 + 0.18)
    simulate(turk, workers=4, seed=3)
    assert babe("approve", "--platform", "fakepro").code == 0
    text = babe("status", "--platform", "fakepro")
    assert "Spent £2.72; committed £0.00 more if all open work is approved." in text.out
    assert calls(fakepro, "grant_qualification") == []


def test_bonus_fee_is_the_platforms(babe, fakepro, turk):
    assert babe("create", "--assignments", "1", "--platform", "fakepro").code == 0
    (assignment,) = simulate(turk, worker_ids=["AWORKER000001"], seed=4)["submitted"]
    run = babe(
        "bonus", "--platform", "fakepro", "--worker", "AWORKER000001", "--assignment", assignment,
        "--amount", "1.00", "--reason", "thanks", "--json",
    )
    assert run.code == 0, run
    assert (run.json["paid"][0]["fee"], run.json["total"]) == ("0.36", "1.36")  # 0.30 + 0.06 VAT


def test_the_setting_selects_the_platform_as_the_flag_does(babe, fakepro):
    write_config(fakepro, platform="fakepro")
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert [h["assignments"] for h in run.json["hits"]] == [20]
    back = babe("create", "--assignments", "20", "--platform", "mturk", "--json")  # the flag wins
    assert [h["assignments"] for h in back.json["hits"]] == [7, 7, 6]


def test_each_platform_sees_only_its_own_hits(babe, fakepro):
    ours = babe("create", "--assignments", "2", "--platform", "fakepro", "--json").json["hits"][0]["hit_id"]
    theirs = [h["hit_id"] for h in babe("create", "--assignments", "2", "--json").json["hits"]]
    assert [h["hit_id"] for h in babe("status", "--json").json["hits"]] == theirs
    assert [h["hit_id"] for h in babe("status", "--platform", "fakepro", "--json").json["hits"]] == [ours]
    wrong = babe("status", "--hit", ours)
    assert wrong.code == 2, wrong
    assert wrong.err.strip() == f"error: HIT {ours} was posted on fakepro, not mturk: pass --platform fakepro"


ARGS = {
    "create": [],
    "status": [],
    "approve": [],
    "expire": [],
    "extend": ["--assignments", "1"],
    "reject": ["--assignment", "A1", "--reason", "no data"],
    "bonus": ["--worker", "AW1", "--assignment", "A1", "--amount", "1.00", "--reason", "thanks"],
    "cost": [],
    "watch": [],
    "doctor": [],
}


@pytest.mark.parametrize("task", sorted(ARGS))
def test_an_unknown_platform_is_one_line_and_exit_2_on_every_task(babe, experiment, task):
    run = babe(task, *ARGS[task], "--platform", "nosuch")
    assert run.code == 2, run
    line = next(line for line in run.err.splitlines() if line.startswith("error:"))
    assert "no plugin provides platform 'nosuch'" in line
    assert "Traceback" not in run.err


def test_a_malformed_platform_name_is_refused(babe, experiment):
    run = babe("status", "--platform", "no good")
    assert run.code == 2, run
    assert "platform 'no good' is not a platform name such as mturk" in run.err


def test_the_cost_plan_is_exact_decimal(fakepro):
    """The pricing's Cost adds up to the cent: parts, fees and total as Decimals, not floats."""
    from babe_tasks.planning import Plan

    import importlib.util

    spec = importlib.util.spec_from_file_location("fakepro_plugin", fakepro / "plugins" / "fakepro.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plan = Plan("exp1", "local", "https://x", "t", "d", "", D("0.33"), 7, 9, 3600, 600, 3600, pricing=module.Pricing())
    plan.rebatch()
    cost = plan.cost
    assert [h.assignments for h in plan.hits] == [7]
    assert (cost.commission, cost.vat, cost.fees, cost.total) == (D("0.70"), D("0.14"), D("0.84"), D("3.15"))
    assert all(isinstance(v, D) for v in (cost.rewards, cost.fees, cost.total))


def test_report_covers_one_platform_in_its_currency(babe, fakepro, turk):
    ours = babe("create", "--assignments", "3", "--platform", "fakepro", "--json").json["hits"][0]["hit_id"]
    simulate(turk, hit_ids=[ours], workers=3, seed=5)
    assert babe("approve", "--platform", "fakepro").code == 0
    assert babe("create", "--assignments", "2").code == 0  # an MTurk HIT of the same experiment
    run = babe("report", "--platform", "fakepro", "--json")
    assert run.code == 0, run
    (written,) = run.json["reports"]
    assert written["path"].endswith("exp1-fakepro-local.html")
    assert (written["assignments_posted"], written["approved"], written["spent"]) == (3, 3, "2.04")
    page = (fakepro / "reports" / "exp1-fakepro-local.html").read_text()
    assert "£2.04" in page and "fakepro fees" in page and "$" not in page.split("<body", 1)[1]
    mturk = babe("report", "--json").json["reports"][0]
    assert mturk["path"].endswith("exp1-local.html")
    assert (mturk["assignments_posted"], mturk["approved"]) == (2, 0)


def test_approve_many_is_called_in_chunks_of_at_most_1000():
    """The bulk call never carries more than APPROVE_CHUNK ids; every id gets its own outcome."""
    from types import SimpleNamespace

    from babe_tasks.platform.base import AssignmentInfo
    from babe_tasks.steps import approve

    sizes: list[int] = []

    def many(ids, feedback):
        sizes.append(len(ids))
        return {i: True for i in ids}

    booked: list[str] = []
    ledger = SimpleNamespace(record_approved=lambda experiment, target, a, reward, fee: booked.append(a.assignment_id))
    todo = [AssignmentInfo(f"A{n:05d}", "H1", f"W{n}", "Submitted") for n in range(2500)]
    settings = SimpleNamespace(experiment="exp1", target="local", feedback=None)
    outcomes = approve._approve_in_bulk(settings, many, ledger, lambda hit: (D("0.50"), D("0.18")), todo, lambda: None)
    assert sizes == [1000, 1000, 500]
    assert [o.value for o in outcomes] == [True] * 2500 and len(booked) == 2500
