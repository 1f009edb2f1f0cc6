"""Prolific's asynchrony: what it answers at once but does later is pending work, never a failure.

The local Prolific settles publishing, bulk approvals and bonus pays `settle_seconds` after the
request, on its own clock. These tests make that long (`account(settle_seconds=600)`) and take the
adapter's short waits out of real time (`Settling.sleep` only records the pauses it was asked for),
so what a run leaves unsettled is what a lab would see when Prolific is slow; moving the local
clock on (`advance_clock`) settles it, and the next run finishes the work — without asking twice.
"""

from __future__ import annotations

import sqlite3

import pytest
from babe_prolific.local import advance_clock
from babe_prolific.settling import BOUND, Settling


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    """The adapter's waits, recorded instead of slept (the bound is on what is asked for)."""
    asked: list[float] = []
    monkeypatch.setattr(Settling, "sleep", staticmethod(asked.append))
    return asked


@pytest.fixture
def slow(account):
    """From now on the local Prolific takes ten minutes to settle what it answered."""
    return lambda: account(settle_seconds=600)


def submitted(people, study_id, count) -> list[dict]:
    visits = [v for v in people(study_id, count) if v["outcome"] == "submit"]
    assert len(visits) == count
    return visits


def statuses(local) -> list[str]:
    return sorted(s["status"] for s in local.submissions().values())


def test_a_study_answered_publishing_is_posted_and_status_shows_it_publishing(babe, experiment, local, slow, pauses, state):
    slow()
    run = babe("create", "--json")
    assert run.code == 0, run
    (hit,) = run.json["hits"]
    assert hit["hit_id"] and [s["status"] for s in local.studies()] == ["PUBLISHING"]
    assert 0 < sum(pauses) <= BOUND  # it looked again, briefly
    status = babe("status", "--json")
    assert status.code == 0, status
    assert status.json["hits"][0]["status"] == "Publishing"
    assert babe("create").code == 0  # a re-run finds the study posted: nothing posted twice
    assert len(local.studies()) == 1
    advance_clock(state, 600)
    assert babe("status", "--json").json["hits"][0]["status"] == "Assignable"


def test_publishing_that_settles_while_create_waits_is_shown_active(babe, experiment, local, account, state, monkeypatch):
    account(settle_seconds=1)
    monkeypatch.setattr(Settling, "sleep", staticmethod(lambda seconds: advance_clock(state, seconds)))
    run = babe("create", "--json")
    assert run.code == 0, run
    assert [s["status"] for s in local.studies()] == ["ACTIVE"]
    assert local.calls("GET /studies/{id}/") >= 1  # looked again after the PUBLISHING answer


def test_unsettled_approvals_are_pending_never_failed_and_never_asked_for_twice(babe, study_id, people, local, slow, pauses, state):
    submitted(people, study_id, 3)
    slow()
    first = babe("approve", "--json")
    assert first.code == 0, first
    assert (first.json["approved"], first.json["failed"]) == (3, [])
    assert statuses(local) == ["AWAITING REVIEW"] * 3  # Prolific has not processed the request yet
    assert sum(pauses) <= BOUND
    second = babe("approve", "--json")
    assert second.code == 0, second
    assert (second.json["approved"], second.json["already_approved"], second.json["failed"]) == (0, 3, [])
    assert local.calls("POST /submissions/bulk-approve/") == 1  # the request stands: not sent again
    status = babe("status", "--json")
    assert (status.json["totals"]["submitted"], status.json["totals"]["approved"]) == (3, 0)
    advance_clock(state, 600)
    status = babe("status", "--json")
    assert (status.json["totals"]["submitted"], status.json["totals"]["approved"]) == (0, 3)
    assert statuses(local) == ["APPROVED"] * 3
    assert babe("approve", "--json").json["already_approved"] == 3
    assert local.calls("POST /submissions/bulk-approve/") == 1


def test_a_bonus_pay_answered_202_is_paid_once_and_confirmed_by_a_later_run(babe, experiment, study_id, people, local, slow, pauses, state):
    visits = submitted(people, study_id, 2)
    csv = experiment / "bonuses.csv"
    csv.write_text("worker_id,assignment_id,amount,reason\n" + "".join(
        f"{v['participant_id']},{v['submission_id']},0.75,thanks\n" for v in visits
    ))
    slow()
    first = babe("bonus", "--csv", str(csv), "--json")
    assert first.code == 0, first
    assert len(first.json["paid"]) == 2
    assert local.payments() == []  # accepted (202); Prolific pays later
    journal = experiment / ".babe" / "prolific-bonuses.sqlite"
    assert {row[0] for row in sqlite3.connect(journal).execute("SELECT state FROM bonuses")} == {"accepted"}
    again = babe("bonus", "--csv", str(csv), "--json")
    assert again.code == 0 and len(again.json["already_paid"]) == 2
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 1  # never paid twice
    advance_clock(state, 600)
    assert sorted(p["submission_id"] for p in local.payments()) == sorted(v["submission_id"] for v in visits)
    later = babe("status", "--json")  # a later run confirms it from the study's cost
    assert later.code == 0, later
    assert {row[0] for row in sqlite3.connect(journal).execute("SELECT state FROM bonuses")} == {"paid"}
    assert local.calls("POST /bulk-bonus-payments/{id}/pay/") == 1
    assert len(local.payments()) == 2


def test_watch_shows_the_approvals_settling_and_stops_at_the_goal(babe, experiment, people, account, pauses):
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    submitted(people, study, 3)
    account(settle_seconds=2)  # on the local clock, which follows real time: two refreshes later
    run = babe("watch", "--goal", "3", "--interval", "1s", "--json")
    assert run.code == 0, run
    (hit,) = run.json["status"]["hits"]
    assert (hit["approved"], hit["submitted"], run.json["status"]["spent"]) == (3, 0, "6.00")
    assert run.json["refreshes"] >= 2  # approved, then seen settled by a later refresh
