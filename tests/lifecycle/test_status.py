"""`babe status`: exact counts with the fewest calls, money, repeat workers, --hit, --watch."""

from __future__ import annotations

import threading
import time

import pytest

from babe_mturk.local.workers import simulate
from babe_mturk.platform import MTurkPlatform
from babe_tasks.plugins import hookimpl, plugin_manager
from babe_tasks.settings import Settings
from babe_tasks.steps import status as status_step

COUNTS = ("available", "pending", "submitted", "approved", "rejected")


def counts(hit: dict) -> tuple:
    return tuple(hit[name] for name in COUNTS)


def test_status_shape_and_exact_counts_per_hit(babe, created, turk):
    simulate(turk, workers=10, seed=1)
    run = babe("status", "--json")
    assert run.code == 0, run
    document = run.json
    assert set(document) == {"hits", "totals", "committed", "spent", "repeat_workers", "work_time"}
    for hit in document["hits"]:
        assert set(hit) == {"hit_id", "status", *COUNTS, "expires_at"}
    assert [h["hit_id"] for h in document["hits"]] == [h["hit_id"] for h in created["hits"]]
    # simulated workers fill the group's HITs in order: 7, then 3 of the second
    assert [counts(h) for h in document["hits"]] == [(0, 0, 7, 0, 0), (4, 0, 3, 0, 0), (6, 0, 0, 0, 0)]
    assert [h["status"] for h in document["hits"]] == ["Reviewable", "Assignable", "Assignable"]
    assert document["totals"] == {"available": 10, "pending": 0, "submitted": 10, "approved": 0, "rejected": 0}
    assert document["committed"] == "12.00"  # 20 × (0.50 + 0.10): nothing is paid yet
    assert document["spent"] == "0.00"
    assert document["repeat_workers"] == []


def test_pending_work_and_money_after_approval(babe, created, turk, mturk):
    simulate(turk, workers=10, abandon_rate=0.2, seed=2)  # 2 stay Accepted until their deadline
    assert babe("approve").code == 0
    document = babe("status", "--json").json
    assert document["totals"] == {"available": 10, "pending": 2, "submitted": 0, "approved": 8, "rejected": 0}
    assert document["spent"] == "4.80"  # 8 × 0.60
    assert document["committed"] == "7.20"  # (10 open + 2 pending) × 0.60
    # the ledger's spending agrees with what the local MTurk charged
    assert mturk.get_account_balance()["AvailableBalance"] == "9995.20"


def test_rejected_and_auto_approved_work_is_counted_exactly(babe, created, turk, mturk):
    simulate(turk, workers=3, seed=3)
    hit_id = created["hits"][0]["hit_id"]
    listed = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    mturk.reject_assignment(AssignmentId=listed[0]["AssignmentId"], RequesterFeedback="empty answers")
    turk.store.advance_clock(3 * 86400 + 60)  # past the 3-day auto-approval
    document = babe("status", "--json").json
    assert counts(document["hits"][0]) == (4, 0, 0, 2, 1)
    assert document["spent"] == "1.20"


def test_human_table_and_money_lines(babe, created, turk):
    simulate(turk, workers=4, seed=4)
    run = babe("status")
    assert run.code == 0, run
    assert "HITs of exp1 on local" in run.out
    assert "status      available  pending  submitted  approved  rejected  expires" in run.out
    assert created["hits"][0]["hit_id"] in run.out
    assert "Spent $0.00; committed $12.00 more if all open work is approved." in run.out


def test_a_narrow_console_gets_one_block_per_hit(babe, created, turk, monkeypatch):
    simulate(turk, workers=4, seed=4)
    monkeypatch.setenv("COLUMNS", "80")
    lines = babe("status").out.splitlines()
    assert lines[1].startswith(f"{created['hits'][0]['hit_id']}  Assignable  expires ")
    assert lines[2] == "  available 3  pending 0  submitted 4  approved 0  rejected 0"
    assert lines[7] == "total  available 16  pending 0  submitted 4  approved 0  rejected 0"
    assert max(len(line) for line in lines) <= 80


def test_no_hits_yet(babe, experiment):
    run = babe("status")
    assert run.code == 0
    assert "No HITs of experiment exp1 on local yet: run babe create." in run.out
    assert babe("status", "--json").json["totals"] == dict.fromkeys(COUNTS, 0)


def test_hit_flag_selects_hits_and_accepts_commas(babe, created):
    first, second, _ = (h["hit_id"] for h in created["hits"])
    document = babe("status", "--hit", first, "--hit", second, "--json").json
    assert [h["hit_id"] for h in document["hits"]] == [first, second]
    document = babe("status", "--hit", f"{first},{second}", "--json").json
    assert [h["hit_id"] for h in document["hits"]] == [first, second]


def test_unknown_hit_exits_2_naming_it(babe, created):
    run = babe("status", "--hit", "NOSUCHHIT0000000000000000000000", "--json")
    assert run.code == 2
    assert run.json["error"]["message"] == "HIT NOSUCHHIT0000000000000000000000 does not exist on local"


def test_a_hit_of_another_target_is_refused(babe, created, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    hit_id = created["hits"][0]["hit_id"]
    run = babe("status", "--target", "sandbox", "--hit", hit_id)
    assert run.code == 2
    assert f"HIT {hit_id} was posted on local, not sandbox: pass --target local" in run.err


def test_repeat_workers_are_reported(babe, created, turk):
    simulate(turk, worker_ids=["AREPEATWORKER01"], seed=5)
    simulate(turk, worker_ids=["AREPEATWORKER01"], seed=6)  # MTurk allows a second HIT of the group
    document = babe("status", "--json").json
    assert [r["worker_id"] for r in document["repeat_workers"]] == ["AREPEATWORKER01"]
    assert len(document["repeat_workers"][0]["assignments"]) == 2
    assert "Repeat worker AREPEATWORKER01: 2 assignments" in babe("status").out


class _Counting:
    """A plugin offering MTurk through the test's client, so the test can count requests."""

    def __init__(self, client):
        self.client = client

    @hookimpl
    def babe_platform(self, settings):
        return MTurkPlatform(settings, client=self.client)


def _status(experiment, mturk):
    settings = Settings.build(None, folder=experiment)
    pm = plugin_manager(settings)
    pm.register(_Counting(mturk), name="counting")
    return status_step.run(settings, pm)


def test_fewest_calls_getHIT_per_hit_and_lists_only_where_needed(created, experiment, turk, mturk, babe):
    turk.reset_stats()
    _status(experiment, mturk)
    assert turk.stats()["requests"] == {"GetHIT": 3}  # no work yet: nothing to list
    simulate(turk, workers=10, seed=7)
    turk.reset_stats()
    _status(experiment, mturk)
    # the third HIT has no submissions: its counts add up without a list; the 10 new workers are
    # granted the experiment's unique-worker qualification once each
    assert turk.stats()["requests"] == {"GetHIT": 3, "ListAssignmentsForHIT": 2, "AssociateQualificationWithWorker": 10}
    turk.reset_stats()
    result = _status(experiment, mturk)
    assert turk.stats()["requests"] == {"GetHIT": 3}  # the ledger has seen every submission
    assert result.totals["submitted"] == 10
    assert babe("approve").code == 0
    turk.reset_stats()
    assert _status(experiment, mturk).totals["approved"] == 10
    assert turk.stats()["requests"] == {"GetHIT": 3}  # approve recorded what it did
    assert babe("expire", "--delete", "--hit", created["hits"][0]["hit_id"]).code == 0
    turk.reset_stats()
    assert _status(experiment, mturk).hits[0].status == "Disposed"
    assert turk.stats()["requests"] == {"GetHIT": 2}  # a deleted HIT costs no call


def test_many_pages_are_read_in_full(babe, experiment, turk):
    run = babe("create", "--assignments", "150", "--batch-size", "150", "--reward", "0.01", "--json")
    assert run.code == 0, run
    simulate(turk, workers=130, seed=8)
    document = babe("status", "--json").json
    assert document["totals"]["submitted"] == 130  # two pages of ListAssignmentsForHIT


def test_watch_returns_at_once_when_everything_is_in(babe, created, turk):
    simulate(turk, workers=20, seed=9)
    run = babe("status", "--watch", "--interval", "1s", "--json")
    assert run.code == 0
    assert run.json["totals"]["submitted"] == 20


def test_watch_refreshes_until_all_assignments_are_in(babe, experiment, turk):
    assert babe("create", "--assignments", "2").code == 0
    simulate(turk, workers=1, seed=10)

    def later():
        time.sleep(0.6)
        simulate(turk, workers=1, seed=11)

    worker = threading.Thread(target=later)
    worker.start()
    started = time.monotonic()
    run = babe("status", "--watch", "--interval", "0s", "--json")
    worker.join()
    assert run.code == 0
    assert run.json["totals"]["submitted"] == 2
    assert time.monotonic() - started >= 0.5


def test_watch_stops_when_the_hits_expire(babe, created, turk):
    simulate(turk, workers=3, seed=12)
    turk.store.advance_clock(8 * 86400)  # past the 7-day lifetime
    run = babe("status", "--watch", "--interval", "0s", "--json")
    assert run.code == 0
    assert run.json["totals"]["available"] == 17  # expired slots stay unfilled


@pytest.mark.parametrize("interval", ["soon", "-1"])
def test_a_bad_interval_exits_2(babe, created, interval):
    run = babe("status", "--watch", "--interval", interval)
    assert run.code == 2
    assert "--interval" in run.err
