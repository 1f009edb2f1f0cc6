"""approve holds work done too fast (`hold_faster_than`): through the real `babe` on the local MTurk and Prolific.

A participant who clicks through a 10-minute study in 40 seconds has given no data worth paying
for without a look: approve holds them with the time they took, pays the rest, and the ledger
books only what was paid. The same reasons are what `babe review` shows (`held_back`).
"""

from __future__ import annotations

import pytest

from babe_tasks.ledger import LedgerView

from babe_tasks.testing.experiment import write_plugin
from .conftest import LOG, logged


def approve(babe_run, *flags: str):
    run = babe_run("approve", "--json", *flags)
    assert run.code == 0, run
    return run.json


def held(document: dict) -> dict[str, str]:
    return {h["assignment_id"]: h["reason"] for h in document["held"]}


def rewards_booked(folder) -> dict[str, str]:
    """The rewards the ledger says were paid, by assignment (amounts as text: money is exact)."""
    with LedgerView(folder) as ledger:
        return {p.assignment_id: str(p.amount) for p in ledger.payments("local") if p.kind == "reward"}


def post(babe_run, assignments: int, *flags: str) -> list[str]:
    created = babe_run("create", "--assignments", str(assignments), "--json", *flags)
    assert created.code == 0, created
    return [h["hit_id"] for h in created.json["hits"]]


def test_fast_work_is_held_with_the_time_it_took_and_the_rest_is_paid(babe_run, babe_experiment, babe_workers, babe_turk):
    babe_experiment.configure(hold_faster_than="2m")
    (hit_id,) = post(babe_run, 4)
    clicked = babe_workers.complete(hit_id, took="30s")
    almost = babe_workers.complete(hit_id, took="1m59s")
    at_threshold = babe_workers.complete(hit_id, took="2m")  # and the machine's milliseconds: not below it
    careful = babe_workers.complete(hit_id, took="9m")

    document = approve(babe_run)

    assert held(document) == {
        clicked: "too fast: 30s (threshold 2m)",
        almost: "too fast: 1m59s (threshold 2m)",
    }
    assert (document["approved"], document["failed"]) == (2, [])
    assert {a: babe_turk.status_of(a) for a in (clicked, almost, at_threshold, careful)} == {
        clicked: "Submitted", almost: "Submitted", at_threshold: "Approved", careful: "Approved",
    }
    assert rewards_booked(babe_experiment.path) == {at_threshold: "0.50", careful: "0.50"}

    again = approve(babe_run)  # held stays held: a second run pays nothing more for them
    assert (again["approved"], again["already_approved"], set(held(again))) == (0, 2, {clicked, almost})
    assert rewards_booked(babe_experiment.path) == {at_threshold: "0.50", careful: "0.50"}

    looked_at = approve(babe_run, "--assignment", almost, "--hold-faster-than", "0")  # paid by hand after a look
    assert (looked_at["approved"], looked_at["held"]) == (1, [])
    assert babe_turk.status_of(almost) == "Approved" and babe_turk.status_of(clicked) == "Submitted"
    assert rewards_booked(babe_experiment.path) == {at_threshold: "0.50", careful: "0.50", almost: "0.50"}


@pytest.mark.parametrize("way", ["flag", "environment", "invoke.yaml"])
def test_the_threshold_is_a_setting_like_any_other(way, babe_run, babe_experiment, babe_workers, babe_turk, monkeypatch):
    (hit_id,) = post(babe_run, 2)
    fast = babe_workers.complete(hit_id, took="40s")
    slow = babe_workers.complete(hit_id, took="10m")
    flags: tuple[str, ...] = ()
    if way == "flag":
        flags = ("--hold-faster-than", "90s")
    elif way == "environment":
        monkeypatch.setenv("BABE_HOLD_FASTER_THAN", "90s")
    else:
        babe_experiment.configure(hold_faster_than=90)  # a bare number is seconds, as for every duration

    document = approve(babe_run, *flags)

    assert held(document) == {fast: "too fast: 40s (threshold 1m30s)"}
    assert document["approved"] == 1
    assert (babe_turk.status_of(fast), babe_turk.status_of(slow)) == ("Submitted", "Approved")
    assert rewards_booked(babe_experiment.path) == {slow: "0.50"}


def test_the_flag_wins_over_the_file_and_no_threshold_holds_nothing_for_speed(babe_run, babe_experiment, babe_workers, babe_turk):
    babe_experiment.configure(hold_faster_than="10m")
    (hit_id,) = post(babe_run, 2)
    fast = babe_workers.complete(hit_id, took="20s")
    medium = babe_workers.complete(hit_id, took="5m")

    first = approve(babe_run, "--hold-faster-than", "1m")
    assert held(first) == {fast: "too fast: 20s (threshold 1m)"}
    assert babe_turk.status_of(medium) == "Approved"

    babe_experiment.configure(hold_faster_than=None)  # unset: off, the default
    second = approve(babe_run)
    assert (second["approved"], second["held"]) == (1, [])
    assert babe_turk.status_of(fast) == "Approved"
    assert rewards_booked(babe_experiment.path) == {medium: "0.50", fast: "0.50"}


def test_zero_holds_nothing(babe_run, babe_experiment, babe_workers):
    (hit_id,) = post(babe_run, 1)
    babe_workers.complete(hit_id, took="1s")
    document = approve(babe_run, "--hold-faster-than", "0")
    assert (document["approved"], document["held"]) == (1, [])


@pytest.mark.parametrize(
    ("way", "value", "said"),
    [
        ("flag", "soon", "hold_faster_than 'soon' is not a duration"),
        ("flag", "1.5m", "hold_faster_than '1.5m' is not a duration"),
        ("environment", "-2m", "hold_faster_than '-2m' is not a duration"),
        ("invoke.yaml", "400d", "hold_faster_than 400d is too long"),
    ],
)
def test_a_bad_threshold_is_refused_and_nothing_is_approved(way, value, said, babe_run, babe_experiment, babe_workers, babe_turk, monkeypatch):
    (hit_id,) = post(babe_run, 1)
    done = babe_workers.complete(hit_id, took="5m")
    flags: tuple[str, ...] = ()
    if way == "flag":
        flags = ("--hold-faster-than", value)
    elif way == "environment":
        monkeypatch.setenv("BABE_HOLD_FASTER_THAN", value)
    else:
        babe_experiment.configure(hold_faster_than=value)

    run = babe_run("approve", *flags)

    assert run.code == 2, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], run
    assert "Traceback" not in run.err + run.out
    assert babe_turk.status_of(done) == "Submitted"
    assert rewards_booked(babe_experiment.path) == {}


def test_repeat_workers_come_first_then_speed_then_plugins_get_what_is_left(babe_run, babe_experiment, babe_workers, babe_turk):
    write_plugin(babe_experiment.path, "offered", LOG + """
from babe_tasks import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    log("babe_before_approve", offered=sorted(a.assignment_id for a in assignments))
""")
    first_hit, second_hit, third_hit = post(babe_run, 3, "--batch-size", "1")
    first = babe_workers.complete(first_hit, took="8m", worker_id="AREPEAT")
    repeated_fast = babe_workers.complete(second_hit, took="10s", worker_id="AREPEAT")  # both: the first reason says it
    fast = babe_workers.complete(third_hit, took="15s")

    document = approve(babe_run, "--hold-faster-than", "1m")

    assert held(document) == {
        repeated_fast: f"repeat worker (first assignment {first})",
        fast: "too fast: 15s (threshold 1m)",
    }
    (call,) = [entry for entry in logged(babe_experiment.path) if entry["hook"] == "babe_before_approve"]
    assert call["offered"] == [first]
    assert babe_turk.status_of(first) == "Approved"


def test_a_plugin_still_holds_what_speed_let_through(babe_run, babe_experiment, babe_workers, babe_turk):
    write_plugin(babe_experiment.path, "offered", LOG + """
from babe_tasks import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    log("babe_before_approve", offered=sorted(a.assignment_id for a in assignments))
    return [(a.assignment_id, "no data in the backend") for a in assignments if a.worker_id == "ANODATA"]
""")
    (hit_id,) = post(babe_run, 3)
    fast_without_data = babe_workers.complete(hit_id, took="5s", worker_id="AFASTNODATA")
    slow_without_data = babe_workers.complete(hit_id, took="7m", worker_id="ANODATA")
    good = babe_workers.complete(hit_id, took="6m")

    document = approve(babe_run, "--hold-faster-than", "1m")

    assert held(document) == {
        fast_without_data: "too fast: 5s (threshold 1m)",
        slow_without_data: "no data in the backend",
    }
    (call,) = [entry for entry in logged(babe_experiment.path) if entry["hook"] == "babe_before_approve"]
    assert call["offered"] == sorted([slow_without_data, good])
    assert rewards_booked(babe_experiment.path) == {good: "0.50"}
    assert babe_turk.status_of(good) == "Approved"


def test_a_dry_run_shows_the_speed_holds_and_pays_nothing(babe_run, babe_experiment, babe_workers, babe_turk):
    (hit_id,) = post(babe_run, 2)
    fast = babe_workers.complete(hit_id, took="3s")
    slow = babe_workers.complete(hit_id, took="4m")

    document = approve(babe_run, "--hold-faster-than", "2m", "--dry-run")

    assert held(document) == {fast: "too fast: 3s (threshold 2m)"}
    assert [a["assignment_id"] for a in document["would_approve"]] == [slow]
    assert (babe_turk.status_of(fast), babe_turk.status_of(slow)) == ("Submitted", "Submitted")
    assert rewards_booked(babe_experiment.path) == {}

    text = babe_run("approve", "--hold-faster-than", "2m", "--dry-run")
    assert f"Held {fast}: too fast: 3s (threshold 2m)" in text.out


#: A platform that does not say when work was accepted or submitted: the local MTurk with the times taken out.
NO_TIMES = '''
import dataclasses

from babe_mturk.platform import MTurkPlatform


class NoTimes(MTurkPlatform):
    name = "notimes"

    def iter_assignments(self, hit_id, statuses=None):
        for a in super().iter_assignments(hit_id, statuses):
            yield dataclasses.replace(a, accept_time=None, submit_time=None)

    def get_assignment(self, assignment_id):
        return dataclasses.replace(super().get_assignment(assignment_id), accept_time=None, submit_time=None)


def babe_platform(settings):
    if settings.platform == "notimes":
        return NoTimes(settings)
'''


def test_work_whose_times_are_unknown_is_never_held_for_speed(babe_run, babe_experiment, babe_workers, babe_turk):
    write_plugin(babe_experiment.path, "notimes", NO_TIMES)
    babe_experiment.configure(platform="notimes", hold_faster_than="5m")
    (hit_id,) = post(babe_run, 2)
    quick = babe_workers.complete(hit_id, took="2s")
    named = babe_workers.complete(hit_id, took="3s")

    document = approve(babe_run, "--assignment", named)
    assert (document["approved"], document["held"]) == (1, [])
    document = approve(babe_run)
    assert (document["approved"], document["held"]) == (1, [])
    assert (babe_turk.status_of(quick), babe_turk.status_of(named)) == ("Approved", "Approved")


# -- Prolific: its submissions carry started_at and completed_at, so the same rule holds there ------------
@pytest.fixture
def prolific(tmp_path, monkeypatch):
    """An experiment on the local Prolific (the plugin by its entry point, this test's state file): its state path."""
    from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "prolific")
    monkeypatch.delenv("PROLIFIC_TOKEN", raising=False)
    state = tmp_path / "prolific.sqlite"
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(state))
    monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "0")
    settings = {**DEFAULT_SETTINGS, "reward": "1.50", "assignments": 6, "platform": "prolific",
                "plugins": {"prolific": {"estimated_minutes": 10}}}
    folder = ExperimentFolder(tmp_path / "exp1", settings).path
    monkeypatch.chdir(folder)
    return state


def test_on_prolific_submissions_done_too_fast_are_held(babe_run, prolific):
    import sqlite3

    from babe_prolific.local import simulate

    from babe_tasks.durations import format_duration

    (study_id,) = post(babe_run, 6)
    simulate(prolific, study_id, 6, seed=3)  # each takes 5 to 12 minutes of the 10 estimated
    db = sqlite3.connect(prolific)
    try:
        taken = {row[0]: round(row[2] - row[1], 6) for row in db.execute("SELECT id, started_at, completed_at FROM submissions")}
    finally:
        db.close()
    ordered = sorted(taken.values())
    threshold = int(ordered[2]) + 1  # whole seconds, between the third-fastest and the rest
    fast = {sid for sid, seconds in taken.items() if seconds < threshold}
    assert 0 < len(fast) < len(taken)

    document = approve(babe_run, "--hold-faster-than", f"{threshold}s")

    assert held(document) == {
        sid: f"too fast: {format_duration(taken[sid])} (threshold {format_duration(threshold)})" for sid in fast
    }
    assert document["approved"] == len(taken) - len(fast)
    db = sqlite3.connect(prolific)
    try:
        statuses = dict(db.execute("SELECT id, status FROM submissions").fetchall())
    finally:
        db.close()
    assert {sid for sid, status in statuses.items() if status == "AWAITING REVIEW"} == fast
    assert rewards_booked(prolific.parent / "exp1") == {sid: "1.50" for sid in taken if sid not in fast}
