"""status's work-time summary: the median accept-to-submit time and the hourly pay it implies."""

from __future__ import annotations

from decimal import Decimal

from babe_tasks.steps.status import work_time


def row(hit_id, status, accept, submit):
    return {"hit_id": hit_id, "status": status, "accept_time": accept, "submit_time": submit}


def test_the_median_of_finished_work_and_the_hourly_pay_at_that_pace():
    rows = [
        row("H1", "Submitted", 0.0, 300.0),
        row("H1", "Approved", 100.0, 700.0),  # 600 s: the median of 300, 600, 900
        row("H2", "Rejected", 0.0, 900.0),
        row("H2", "Accepted", 0.0, None),  # still at work: not finished
        row("H2", "Returned", 0.0, 50.0),  # gave up: not a piece of work
        row("H3", "Approved", 0.0, 10.0),  # a HIT not in scope (another platform's)
    ]
    summary = work_time(rows, {"H1": Decimal("1.50"), "H2": Decimal("1.50")})
    assert (summary.submissions, summary.median_seconds) == (3, 600)
    assert summary.hourly == Decimal("9.00")  # 1.50 per 10 minutes
    assert summary.as_json() == {"submissions": 3, "median_seconds": 600, "hourly": Decimal("9.00")}


def test_an_outlier_does_not_move_the_median():
    rows = [row("H", "Submitted", 0.0, s) for s in (240.0, 250.0, 260.0, 86_400.0)]
    assert work_time(rows, {"H": Decimal("1.00")}).median_seconds == 255


def test_no_hourly_pay_when_the_hits_pay_different_rewards_and_none_before_any_work():
    rows = [row("A", "Approved", 0.0, 60.0), row("B", "Approved", 0.0, 60.0)]
    assert work_time(rows, {"A": Decimal("1.00"), "B": Decimal("2.00")}).hourly is None
    assert work_time([row("A", "Accepted", 0.0, None)], {"A": Decimal("1.00")}) is None
    assert work_time([], {}) is None


def test_status_reports_it_for_the_experiments_work(babe, created, turk):
    from babe_mturk.local.workers import simulate

    simulate(turk, workers=5, seed=1)
    run = babe("status", "--json")
    assert run.code == 0, run
    work = run.json["work_time"]
    assert work["submissions"] == 5 and work["median_seconds"] >= 1
    assert Decimal(work["hourly"]) == (Decimal("0.50") * 3600 / work["median_seconds"]).quantize(Decimal("0.01"))
    text = babe("status")
    assert f"over 5 submission(s), ${work['hourly']}/h at that pace" in text.out
