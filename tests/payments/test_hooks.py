"""The reject, bonus and cost hooks fire with their documented arguments; a veto does nothing (exit 3).

The plugins are real files in the experiment's plugins/ folder, loaded by the real plugin manager.
"""

from __future__ import annotations

from decimal import Decimal

from babe_tasks.testing.experiment import write_plugin
from .conftest import LOG, balance, bonuses_of, logged, write_csv

REASON = "Failed every attention check"


def test_reject_hooks_see_the_assignments_and_the_result(babe, work, mturk, experiment):
    write_plugin(
        experiment,
        "observer",
        LOG
        + """
def babe_before_reject(settings, assignments):
    log("before_reject", experiment=settings.experiment,
        assignments=[[a.assignment_id, a.worker_id, a.hit_id, a.status] for a in assignments])
    return [(assignments[0].assignment_id, "checked by hand first")]

def babe_after_reject(settings, result):
    log("after_reject", rejected=[a.assignment_id for a in result.rejected],
        held=result.held, reason=result.reason)
""",
    )
    a, b = work[0], work[1]
    run = babe("reject", "--assignment", f"{a.assignment_id},{b.assignment_id}", "--reason", REASON, "--json")
    assert run.code == 0, run
    before, after = logged(experiment)
    assert before == {
        "hook": "before_reject", "experiment": "exp1",
        "assignments": [[w.assignment_id, w.worker_id, w.hit_id, "Submitted"] for w in (a, b)],
    }
    held = [{"assignment_id": a.assignment_id, "reason": "checked by hand first"}]
    assert after == {"hook": "after_reject", "rejected": [b.assignment_id], "held": held, "reason": REASON}
    assert run.json["held"] == held
    assert mturk.get_assignment(AssignmentId=a.assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"
    assert mturk.get_assignment(AssignmentId=b.assignment_id)["Assignment"]["AssignmentStatus"] == "Rejected"


def test_a_reject_veto_rejects_nothing(babe, work, mturk, experiment):
    write_plugin(
        experiment,
        "guard",
        LOG
        + """
from babe_tasks import Veto
def babe_before_reject(settings, assignments):
    raise Veto("rejections need the PI's sign-off")

def babe_vetoed(settings, step, plugin, message):
    log("vetoed", step=step, plugin=plugin, message=message)
""",
    )
    run = babe("reject", "--assignment", work[0].assignment_id, "--reason", REASON, "--json")
    assert run.code == 3, run
    assert run.json == {"error": {"exit_code": 3, "message": "rejections need the PI's sign-off", "plugin": "guard"}}
    assert run.err == "error: stopped by plugin guard: rejections need the PI's sign-off\n"
    assert logged(experiment) == [
        {"hook": "vetoed", "step": "reject", "plugin": "guard", "message": "rejections need the PI's sign-off"}
    ]
    assert mturk.get_assignment(AssignmentId=work[0].assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"


def test_bonus_hooks_see_each_payment_and_may_hold_some(babe, work, mturk, experiment):
    write_plugin(
        experiment,
        "observer",
        LOG
        + """
def babe_before_bonus(settings, payments):
    log("before_bonus", payments=[[p.worker_id, p.assignment_id, str(p.amount), str(p.fee), p.reason, len(p.token)]
                                  for p in payments])
    del payments[1]  # hold the second one back

def babe_after_bonus(settings, result):
    log("after_bonus", paid=[p.assignment_id for p in result.paid], held=[p.assignment_id for p in result.held],
        total=str(result.total))
""",
    )
    rows = [(w.worker_id, w.assignment_id, "1.25", "Fast and accurate") for w in work[:3]]
    run = babe("bonus", "--csv", str(write_csv(experiment, rows)), "--json")
    assert run.code == 0, run
    before, after = logged(experiment)
    assert before == {
        "hook": "before_bonus",
        "payments": [[w.worker_id, w.assignment_id, "1.25", "0.25", "Fast and accurate", 64] for w in work[:3]],
    }
    assert after == {
        "hook": "after_bonus", "paid": [work[0].assignment_id, work[2].assignment_id],
        "held": [work[1].assignment_id], "total": "3.00",
    }
    assert [p["assignment_id"] for p in run.json["held"]] == [work[1].assignment_id]
    assert balance(mturk) == Decimal("9997.00")
    assert bonuses_of(mturk, [work[1].assignment_id]) == []


def test_before_bonus_does_not_see_payments_already_made(babe, work, experiment):
    write_plugin(experiment, "observer", LOG + "def babe_before_bonus(settings, payments):\n    log('before', n=len(payments))\n")
    path = write_csv(experiment, [(w.worker_id, w.assignment_id, "0.30", "Round 2") for w in work[:2]])
    assert babe("bonus", "--csv", str(path)).code == 0
    assert babe("bonus", "--csv", str(path)).code == 0
    assert [entry["n"] for entry in logged(experiment)] == [2, 0]


def test_a_bonus_veto_pays_nothing(babe, work, mturk, experiment):
    write_plugin(
        experiment,
        "cap",
        """
from babe_tasks import Veto
def babe_before_bonus(settings, payments):
    total = sum(p.amount + p.fee for p in payments)
    raise Veto(f"these bonuses cost ${total}, over the cap")
""",
    )
    path = write_csv(experiment, [(w.worker_id, w.assignment_id, "5.00", "Big thanks") for w in work])
    run = babe("bonus", "--csv", str(path), "--json")
    assert run.code == 3, run
    assert run.json["error"] == {"exit_code": 3, "message": "these bonuses cost $36.00, over the cap", "plugin": "cap"}
    assert balance(mturk) == Decimal("10000.00")
    assert bonuses_of(mturk, [w.assignment_id for w in work]) == []
    dry = babe("bonus", "--csv", str(path), "--dry-run")
    assert dry.code == 3  # a dry run shows what the plugins allow


def test_after_hooks_failing_only_warn(babe, work, mturk, experiment):
    write_plugin(experiment, "broken", "def babe_after_bonus(settings, result):\n    raise RuntimeError('webhook down')\n")
    w = work[0]
    run = babe("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", "Thanks", "--json")
    assert run.code == 0, run
    assert "warning: plugin broken failed in babe_after_bonus: RuntimeError: webhook down" in run.err
    assert len(run.json["paid"]) == 1


def test_cost_hook_adds_fields_and_sees_the_report(babe, experiment):
    write_plugin(
        experiment,
        "room",
        LOG
        + """
from decimal import Decimal
def babe_cost(settings, report):
    log("cost", kind=report.kind, total=str(report.total), spent=str(report.spent), committed=str(report.committed))
    return {"cap_room": Decimal("100.00") - report.total, "total": "mine"}
""",
    )
    run = babe("cost", "--reward", "0.50", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert run.json["cap_room"] == "88.00" and run.json["total"] == "12.00"
    assert "warning: plugin room: cost field 'total' is taken; ignored" in run.err
    experiment_run = babe("cost", "--json")
    assert experiment_run.code == 0
    assert logged(experiment) == [
        {"hook": "cost", "kind": "create", "total": "12.00", "spent": "None", "committed": "None"},
        {"hook": "cost", "kind": "experiment", "total": "0.00", "spent": "0.00", "committed": "0.00"},
    ]
    text = babe("cost", "--reward", "0.50", "--assignments", "20")
    assert "cap_room: $88.00" in text.out
