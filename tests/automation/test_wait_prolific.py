"""`babe wait` on the local Prolific: submissions arriving, the timeout's exit code 5 on Prolific's
clock, and its webhooks waking the wait long before its interval (the watch's event source, reused)."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.fixture(autouse=True)
def prolific_env(monkeypatch, tmp_path):
    """The prolific plugin by entry point, this test's local Prolific, asynchronous work settling at once."""
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "prolific")
    monkeypatch.delenv("PROLIFIC_TOKEN", raising=False)
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(tmp_path / "prolific.sqlite"))
    monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "0")


@pytest.fixture
def state(tmp_path):
    return tmp_path / "prolific.sqlite"


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

    settings = {**DEFAULT_SETTINGS, "reward": "1.50", "assignments": 5, "platform": "prolific",
                "plugins": {"prolific": {"estimated_minutes": 10}}}
    folder = ExperimentFolder(tmp_path / "exp1", settings).path
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def study(babe, experiment) -> str:
    run = babe("create", "--json")
    assert run.code == 0, run
    return run.json["hits"][0]["hit_id"]


@pytest.fixture
def people(state):
    from babe_prolific.local import simulate

    return lambda study, count: simulate(state, study, count)


@pytest.fixture
def clock(seam, state):
    from babe_prolific.local import advance_clock

    return seam(lambda seconds: advance_clock(state, seconds))


def test_wait_returns_once_participants_have_submitted(babe, study, clock, people):
    clock.during(lambda: people(study, 3))
    run = babe("wait", "--submitted", "3", "--interval", "10m", "--json")
    assert run.code == 0, run
    assert run.json["reached"] is True and run.json["arrived"] == 3
    assert len(clock.waits) == 1 and run.json["totals"]["approved"] == 0


def test_wait_that_times_out_on_prolific_exits_5(babe, study, clock, people):
    clock.during(lambda: people(study, 2))
    run = babe("wait", "--submitted", "5", "--interval", "30m", "--timeout", "2h", "--json")
    assert run.code == 5, run
    assert run.json["reached"] is False and run.json["arrived"] == 2
    assert sum(clock.waits) == pytest.approx(7200, abs=5)
    assert "error: not reached by the timeout (5 submitted; 2 arrived)" in run.err


def test_reviewed_after_approve_on_prolific(babe, study, clock, people):
    people(study, 2)
    clock.during(lambda: babe("approve"))
    run = babe("wait", "--reviewed", "--interval", "5m", "--json")
    assert run.code == 0, run
    assert run.json["totals"]["submitted"] == 0 and run.json["totals"]["approved"] == 2


def test_prolifics_webhooks_wake_the_wait(babe, study, people, state):
    """--events: the local Prolific's signed deliveries end a wait whose interval is ten minutes."""
    import sqlite3

    def confirmed() -> int:
        try:
            db = sqlite3.connect(state)
            try:
                return db.execute("SELECT COUNT(*) FROM hook_subscriptions WHERE confirmed AND NOT deleted").fetchone()[0]
            finally:
                db.close()
        except sqlite3.OperationalError:
            return 0

    def participants():
        deadline = time.monotonic() + 30
        while confirmed() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        people(study, 3)

    thread = threading.Thread(target=participants, daemon=True)
    thread.start()
    began = time.monotonic()
    run = babe("wait", "--events", "--submitted", "3", "--interval", "10m", "--json")
    thread.join(timeout=60)
    assert run.code == 0, run
    assert time.monotonic() - began < 60  # only an event can have woken it before ten minutes
    assert run.json["events"]["received"] >= 1 and run.json["events"]["forged"] == 0
