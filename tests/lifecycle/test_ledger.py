"""The ledger: what it records, and how `create` uses it to resume without ever posting twice."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from babe_tasks.ledger import Ledger
from babe_tasks.platform.base import AssignmentInfo

from babe_tasks.testing.experiment import write_plugin

from .conftest import hit_ids

# A platform plugin that fails the second HIT of a create, once (a crash, a lost answer).
FLAKY = """
from pathlib import Path
from babe_tasks.platform.base import OperationFailed
from babe_mturk.platform import MTurkPlatform

MARK = Path(__file__).parent.parent / "failed-once"

class Flaky(MTurkPlatform):
    def post(self, plan, hit):
        if hit.index == 1 and not MARK.exists():
            MARK.touch()
            if {after_the_call}:
                super().post(plan, hit)  # MTurk made it; the answer is lost
            raise OperationFailed("the connection was reset", "ConnectionReset")
        return super().post(plan, hit)

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
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "lost=0.3,seed=4")  # with the shipped retry defaults
    run = babe("create", "--assignments", "27", "--reward", "0.10", "--json")
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert run.code == 0, run
    assert len(hit_ids(mturk)) == 3
    assert sorted(hit_ids(mturk)) == sorted(h["hit_id"] for h in run.json["hits"])


def test_an_unfinished_plan_with_other_parameters_is_not_resumed(babe, experiment, mturk):
    write_plugin(experiment, "flaky", FLAKY.format(after_the_call=False))
    assert babe("create", "--assignments", "20").code == 1
    run = babe("create", "--again", "--assignments", "20", "--reward", "0.60")
    assert run.code == 0
    assert "Resuming" not in run.out
    assert len(hit_ids(mturk)) == 4


def test_assignments_are_upserted_and_payments_recorded_once(tmp_path, ledger_engine):
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
    # The folder's file on SQLite; on PostgreSQL the lab's database holds it all, and no file is made.
    assert (tmp_path / ".babe" / "ledger.sqlite").is_file() == (ledger_engine == "sqlite")


def test_assignments_come_back_in_the_order_workers_accepted_them(tmp_path):
    t = lambda hour: datetime(2026, 1, 1, hour, tzinfo=UTC)  # noqa: E731 - a one-letter shorthand for the rows below
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


@pytest.mark.sqlite_ledger("the lock is a second SQLite connection's BEGIN EXCLUSIVE on the ledger file")
def test_a_modules_own_tables_in_the_ledger_file_fail_like_the_ledger_when_locked(tmp_path, monkeypatch):
    """`LedgerTable` (the exclusion and extension records): a locked file is LedgerUnavailable, exit 1, one line."""
    import sqlite3

    import pytest

    from babe_tasks.ledger import ExclusionRecords, Ledger, LedgerUnavailable

    monkeypatch.setattr("babe_tasks.ledger.BUSY_TIMEOUT", 0.1)
    ledger = Ledger(tmp_path)
    table = ExclusionRecords(ledger)
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


def _open_ledger_at_once(folder, barrier, results) -> None:
    barrier.wait()
    try:
        Ledger(folder).close()
        results.put("ok")
    except Exception as exc:  # the assertion below shows which
        results.put(str(exc))


def test_two_processes_opening_a_fresh_ledger_at_the_same_moment_both_get_it(tmp_path):
    """Two `babe` runs started together on a new folder: SQLite answers the second switch to WAL
    "database is locked" at once, ignoring the busy timeout (2 of 3 rounds did before the retry
    in `sqlitefile.open_shared`; CI saw it as a failed second `create`)."""
    context = multiprocessing.get_context("fork")
    outcomes = []
    for round_ in range(12):
        folder = tmp_path / str(round_)
        barrier, results = context.Barrier(2), context.Queue()
        processes = [context.Process(target=_open_ledger_at_once, args=(folder, barrier, results)) for _ in range(2)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        outcomes += [results.get(timeout=5), results.get(timeout=5)]
    assert outcomes == ["ok"] * 24


def test_the_same_create_after_it_finished_posts_nothing_and_says_how_to_post_more(babe, experiment, mturk, turk):
    assert babe("create", "--assignments", "20").code == 0
    assert len(hit_ids(mturk)) == 3
    turk.reset_stats()
    again = babe("create", "--assignments", "20", "--yes")
    assert again.code == 0, again
    assert "Posted nothing now: the same create of exp1 on local finished at" in again.out
    assert "babe extend --assignments N" in again.out and "add --again" in again.out
    assert len(hit_ids(mturk)) == 3 and "CreateHITWithHITType" not in turk.stats()["requests"]
    as_json = babe("create", "--assignments", "20", "--json")
    assert as_json.code == 0 and as_json.json["posted_before"] and len(as_json.json["hits"]) == 3
    assert all(h["hit_id"] in hit_ids(mturk) for h in as_json.json["hits"])
    dry = babe("create", "--assignments", "20", "--dry-run")
    assert dry.code == 0 and "Dry run: nothing was posted." in dry.out and "Posted nothing now" in dry.out
    with Ledger(experiment) as ledger:
        plans = ledger._read("SELECT status, finished_at FROM plans")
    assert len(plans) == 1 and plans[0]["status"] == "done"  # finished once, its time not moved by the re-runs


def test_again_posts_an_identical_second_batch_and_other_parameters_are_another_batch(babe, experiment, mturk):
    assert babe("create", "--assignments", "20").code == 0
    second = babe("create", "--assignments", "20", "--again")
    assert second.code == 0 and "Posted 3 HITs now." in second.out, second
    assert len(hit_ids(mturk)) == 6
    assert "Posted nothing now" in babe("create", "--assignments", "20").out  # the newest batch counts
    other = babe("create", "--again", "--assignments", "5")
    assert other.code == 0 and "Posted 1 HIT now." in other.out
    assert len(hit_ids(mturk)) == 7


def test_a_create_that_meets_an_identical_plan_finished_meanwhile_adopts_it(experiment, tmp_path):
    """Two creates at once, the first finishing between the second's look and its write: the write's
    exclusive transaction looks again, finished plans included, and the second posts nothing."""
    from babe_tasks.planning import make_plan
    from babe_tasks.settings import Settings

    settings = Settings.build(None, assignments=20)
    first, second = make_plan(settings), make_plan(settings)
    with Ledger(experiment) as ledger:
        assert ledger.open_plan(second.experiment, second.target, second.fingerprint(), finished_too=True) is None
        plan_id = ledger.start_plan(first, "local")
        for hit in first.hits:
            ledger.record_posted(plan_id, hit.index, _posted(f"HIT{hit.index}", hit.assignments))
        ledger.finish_plan(plan_id)
        assert ledger.start_plan(second, "local", finished_too=True) == plan_id
    assert second.resumed and second.posted_before is not None
    assert [h.hit_id for h in second.hits] == ["HIT0", "HIT1", "HIT2"]


def _posted(hit_id: str, assignments: int):
    from babe_tasks.platform.base import HitInfo

    now = datetime.now(UTC)
    return HitInfo(
        hit_id=hit_id, hit_type_id="TYPE", hit_group_id="GROUP", status="Assignable", max_assignments=assignments,
        available=assignments, pending=0, completed=0, reward=Decimal("0.50"), expires_at=now,
    )
