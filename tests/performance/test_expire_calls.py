"""expire fans out like the other bulk steps: per HIT one GetHIT and one update, results in input order."""

from __future__ import annotations

from .conftest import post


def test_expire_costs_one_gethit_and_one_update_per_hit_and_keeps_the_order(babe, calls, monkeypatch):
    hits = post(babe, 60)  # 7 HITs
    monkeypatch.setenv("BABE_MAX_CONCURRENCY", "4")
    calls.reset()
    run = babe("expire", "--json")
    assert run.code == 0, run
    assert run.json["expired"] == hits
    assert calls() == {"GetHIT": len(hits), "UpdateExpirationForHIT": len(hits)}
    calls.reset()
    again = babe("expire", "--json")
    assert again.code == 0, again
    assert again.json["expired"] == []
    assert calls() == {"GetHIT": len(hits)}


def test_expire_and_delete_checks_each_hit_once_more_after_expiring(babe, calls):
    hits = post(babe, 30)  # 4 HITs, no work: deletable once expired
    calls.reset()
    run = babe("expire", "--delete", "--json")
    assert run.code == 0, run
    assert (run.json["expired"], run.json["deleted"], run.json["not_deleted"]) == (hits, hits, [])
    counted = calls()
    assert counted["GetHIT"] == 2 * len(hits)
    assert counted["UpdateExpirationForHIT"] == counted["DeleteHIT"] == len(hits)
    assert counted["ListAssignmentsForHIT"] == len(hits)  # is any submitted work still unreviewed?
