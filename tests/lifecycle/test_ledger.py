"""The ledger: what it records, and how `create` uses it to resume without ever posting twice."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from decimal import Decimal

from babe_tasks.ledger import Ledger
from babe_tasks.platform.base import AssignmentInfo

from .conftest import hit_ids, write_plugin

# A platform plugin that fails the second HIT of a create, once (a crash, a lost answer).
FLAKY = """
from pathlib import Path
from babe_tasks.platform.base import OperationFailed
from babe_tasks.platform.mturk import MTurkPlatform

MARK = Path(__file__).parent.parent / "failed-once"

class Flaky(MTurkPlatform):
    def create_hit(self, plan, hit_type_id, hit):
        if hit.index == 1 and not MARK.exists():
            MARK.touch()
            if {after_the_call}:
                super().create_hit(plan, hit_type_id, hit)  # MTurk made it; the answer is lost
            raise OperationFailed("the connection was reset", "ConnectionReset")
        return super().create_hit(plan, hit_type_id, hit)

def babe_platform(settings):
    return Flaky(settings)
"""


def test_a_create_that_stopped_half_way_is_resumed_by_running_it_again(babe, experiment, mturk):
    write_plugin(experiment, "flaky", FLAKY.format(after_the_call=False))
    first = babe("create", "--assignments", "20", "--json")
    assert first.code == 1, first
    assert "posted 1 of 3 HITs; HIT 2 failed" in first.err and "Run the same create again" in first.err
    assert [h["hit_id"] is not None for h in first.json["hits"]] == [True, False, False]
    assert len(hit_ids(mturk)) == 1
    second = babe("create", "--assignments", "20")
    assert second.code == 0, second
    assert "Resuming unfinished plan" in second.out and "1 of 3 HITs were already posted" in second.out
    assert "Posted 2 HITs now, the rest earlier." in second.out
    assert len(hit_ids(mturk)) == 3
    with Ledger(experiment) as ledger:
        records = ledger.hits("exp1", "local")
        assert len({r.plan_id for r in records}) == 1 and len(records) == 3
        assert ledger.open_plan("exp1", "local", "x") is None


def test_a_lost_answer_is_found_by_its_token_not_posted_twice(babe, experiment, mturk):
    write_plugin(experiment, "flaky", FLAKY.format(after_the_call=True))
    assert babe("create", "--assignments", "20").code == 1
    assert len(hit_ids(mturk)) == 2  # the second HIT exists, the ledger does not know it
    assert babe("create", "--assignments", "20").code == 0
    ids = hit_ids(mturk)
    assert len(ids) == 3
    with Ledger(experiment) as ledger:
        assert sorted(r.hit_id for r in ledger.hits("exp1", "local")) == sorted(ids)


def test_after_24_hours_the_lost_hit_is_found_by_its_annotation(babe, experiment, mturk, turk):
    write_plugin(experiment, "flaky", FLAKY.format(after_the_call=True))
    assert babe("create", "--assignments", "20", "--lifetime", "7d").code == 1
    turk.store.advance_clock(25 * 3600)  # MTurk has forgotten the token
    turk.reset_stats()
    assert babe("create", "--assignments", "20", "--lifetime", "7d").code == 0
    assert len(hit_ids(mturk)) == 3


def test_retries_of_lost_answers_by_botocore_never_duplicate_a_hit(babe, experiment, mturk, monkeypatch):
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "lost=0.3,seed=4")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")
    run = babe("create", "--assignments", "27", "--reward", "0.10", "--json")
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert run.code == 0, run
    assert len(hit_ids(mturk)) == 3
    assert sorted(hit_ids(mturk)) == sorted(h["hit_id"] for h in run.json["hits"])


def test_an_unfinished_plan_with_other_parameters_is_not_resumed(babe, experiment, mturk):
    write_plugin(experiment, "flaky", FLAKY.format(after_the_call=False))
    assert babe("create", "--assignments", "20").code == 1
    run = babe("create", "--assignments", "20", "--reward", "0.60")
    assert run.code == 0
    assert "Resuming" not in run.out
    assert len(hit_ids(mturk)) == 4


def test_assignments_are_upserted_and_payments_recorded_once(tmp_path):
    with Ledger(tmp_path) as ledger:
        a = AssignmentInfo("ASG1", "HIT1", "AWORKER1", "Submitted", datetime(2026, 1, 1, tzinfo=UTC))
        ledger.record_assignments("exp", "local", [a])
        assert ledger.status_counts("HIT1") == {"Submitted": 1}
        ledger.record_approved("exp", "local", a, Decimal("0.50"), Decimal("0.10"))
        ledger.record_approved("exp", "local", a, Decimal("0.50"), Decimal("0.10"))  # a re-run
        assert ledger.status_counts("HIT1") == {"Approved": 1}
        assert ledger.spent(["HIT1"]) == Decimal("0.60")
        assert ledger.spent(["HIT2"]) == 0
        rows = ledger.assignments("exp", "local")
        assert [(r["assignment_id"], r["worker_id"], r["status"]) for r in rows] == [("ASG1", "AWORKER1", "Approved")]
    assert (tmp_path / ".babe" / "ledger.sqlite").is_file()


def test_assignments_come_back_in_the_order_workers_accepted_them(tmp_path):
    t = lambda hour: datetime(2026, 1, 1, hour, tzinfo=UTC)
    with Ledger(tmp_path) as ledger:
        ledger.record_assignments(
            "exp", "local",
            [AssignmentInfo("B", "H2", "AW", "Submitted", t(5)), AssignmentInfo("A", "H1", "AW", "Approved", t(3))],
        )
        assert [r["assignment_id"] for r in ledger.assignments("exp", "local")] == ["A", "B"]
        assert ledger.assignments("other", "local") == []
        assert ledger.assignments("exp", "sandbox") == []


def _writer(folder: str, prefix: str) -> None:
    with Ledger(folder) as ledger:
        for i in range(100):
            a = AssignmentInfo(f"{prefix}{i}", "HIT1", f"AW{prefix}{i}", "Submitted")
            ledger.record_approved("exp", "local", a, Decimal("0.50"), Decimal("0.10"))


def test_processes_share_the_ledger_safely(tmp_path):
    Ledger(tmp_path).close()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(tmp_path), p)) for p in ("X", "Y", "Z")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    with Ledger(tmp_path) as ledger:
        assert ledger.status_counts("HIT1") == {"Approved": 300}
        assert ledger.spent(["HIT1"]) == Decimal("180.00")


def test_a_modules_own_tables_in_the_ledger_file_fail_like_the_ledger_when_locked(tmp_path, monkeypatch):
    """`LedgerTable` (exclusion's and extend's tables): a locked file is LedgerUnavailable, exit 1, one line."""
    import sqlite3

    import pytest

    from babe_tasks.exclusion import Table
    from babe_tasks.ledger import Ledger, LedgerUnavailable

    monkeypatch.setattr("babe_tasks.ledger.BUSY_TIMEOUT", 0.1)
    ledger = Ledger(tmp_path)
    table = Table(ledger)
    holder = sqlite3.connect(ledger.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerUnavailable) as caught:
            table.remember_experiment("exp1", "local")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert caught.value.exit_code == 1 and "ledger.sqlite" in str(caught.value) and "locked" in str(caught.value)
    table.remember_experiment("exp1", "local")  # the lock gone, the same write goes through
    assert table.experiments("local") == ["exp1"]
    table.close()
    ledger.close()
