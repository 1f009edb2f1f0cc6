"""`babe review --print`: the page's queue in a terminal or a script, nothing served."""

from __future__ import annotations


def test_print_lists_what_awaits_a_decision_with_time_taken_and_pay_per_hour(babe, submitted):
    work = submitted(3, took="6m")

    run = babe("review", "--print", "--json")

    assert run.code == 0, run
    items = run.json["items"]
    assert sorted(i["assignment_id"] for i in items) == sorted(w.assignment_id for w in work)
    for item in items:
        assert item["status"] == "Submitted" and item["holds"] == []
        assert 360 <= item["seconds_taken"] < 370
        # the suite's reward over six minutes, per hour
        assert item["pay_per_hour"] == format(float(item["reward"]) * 10, ".2f")
    assert run.json["counts"] == {"awaiting": 3, "held": 0, "decided": 0}


def test_print_shows_the_reasons_approve_would_hold_and_pays_nothing(babe, submitted, babe_turk):
    submitted(2, took="30s")

    run = babe("review", "--print", "--hold-faster-than", "2m")

    assert run.code == 0, run
    assert run.out.count("too fast: 30s (threshold 2m)") == 2, run.out
    assert "2 awaiting (2 held by a rule)" in run.out
    statuses = {a["AssignmentStatus"] for a in babe_turk.assignments()}
    assert statuses == {"Submitted"}


def test_print_with_nothing_submitted_says_so(babe, experiment):
    created = babe("create", "--assignments", "2", "--json")
    assert created.code == 0, created

    run = babe("review", "--print")

    assert run.code == 0, run
    assert "Nothing awaits a decision in exp1 on local." in run.out


MARKUP_HOLD = '''
from babe_tasks import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    return [(a.assignment_id, "[/bold] [red]check by hand[/red]") for a in assignments]
'''


def test_a_hold_reason_is_printed_as_text_never_as_markup(babe, submitted, experiment):
    from babe_tasks.testing.experiment import write_plugin

    write_plugin(experiment, "markup", MARKUP_HOLD)
    submitted(1)

    run = babe("review", "--print")

    assert run.code == 0, run
    assert "[/bold] [red]check by hand[/red]" in run.out
