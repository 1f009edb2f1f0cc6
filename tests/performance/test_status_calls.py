"""status costs one GetHIT per HIT, plus a listing only where the ledger cannot explain the counts."""

from __future__ import annotations

import math

from .conftest import per_hit, post, work


def test_first_status_lists_only_the_hits_with_work_and_grants_each_worker_once(babe, server, calls):
    hits = post(babe, 40)  # 5 HITs: 9, 9, 9, 9, 4
    assert len(hits) == 5
    submitted = work(server, 12)
    busy = per_hit(server)
    calls.reset()
    run = babe("status", "--json")
    assert run.code == 0, run
    assert run.json["totals"]["submitted"] == 12
    assert calls() == {
        "GetHIT": 5,
        "ListAssignmentsForHIT": sum(math.ceil(n / 100) for n in busy.values()),
        "AssociateQualificationWithWorker": len(submitted),
    }
    assert len(busy) < 5  # some HITs had no work and were not listed


def test_a_second_status_with_nothing_new_costs_one_gethit_per_hit(babe, server, calls):
    post(babe, 40)
    work(server, 12)
    assert babe("status").code == 0
    calls.reset()
    run = babe("status", "--json")
    assert run.code == 0, run
    assert calls() == {"GetHIT": 5}
    assert run.json["totals"]["submitted"] == 12


def test_after_approve_the_ledger_explains_the_counts_without_a_listing(babe, server, calls):
    post(babe, 40)
    work(server, 12)
    assert babe("approve", "--yes").code == 0
    calls.reset()
    run = babe("status", "--json")
    assert run.code == 0, run
    assert calls() == {"GetHIT": 5}
    assert run.json["totals"]["approved"] == 12


def test_new_work_on_one_hit_lists_that_hit_only(babe, server, calls):
    post(babe, 40)
    work(server, 3)
    assert babe("status").code == 0
    before = per_hit(server)
    work(server, 1, seed=99)
    changed = [hit for hit, n in per_hit(server).items() if n != before.get(hit, 0)]
    assert len(changed) == 1
    calls.reset()
    assert babe("status").code == 0
    assert calls() == {"GetHIT": 5, "ListAssignmentsForHIT": 1, "AssociateQualificationWithWorker": 1}
