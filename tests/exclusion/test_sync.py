"""`status --sync`: a lab that lost `.babe/` gets the same `status --json` back from the platform."""

from __future__ import annotations


from babe_tasks.ledger import Ledger
from babe_tasks.testing.postgres import ledger_rows
from babe_mturk.local.workers import simulate
from babe_tasks.planning import request_token

from .conftest import holders, own_types


def _json(run):
    assert run.code == 0, run
    return run.json


def _lose_the_ledger(lose_ledger, experiment):
    lose_ledger(experiment, "missing")
    assert not (experiment / ".babe").exists()


def test_sync_after_losing_babe_reproduces_the_same_status(babe, experiment, turk, mturk, lose_ledger):
    _json(babe("create", "--assignments", "20", "--json"))
    simulate(turk, workers=12, seed=1)
    _json(babe("status", "--json"))
    approved = _json(babe("approve", "--json"))
    assert approved["approved"] == 12
    simulate(turk, workers=3, seed=2)  # submitted, not yet reviewed
    assignment = mturk.list_assignments_for_hit(HITId=_json(babe("status", "--json"))["hits"][0]["hit_id"])[
        "Assignments"
    ][0]
    paid = babe(
        "bonus", "--worker", assignment["WorkerId"], "--assignment", assignment["AssignmentId"], "--amount", "1.25",
        "--reason", "Thank you for the careful answers", "--yes", "--json",
    )
    assert paid.code == 0, paid
    assert _json(babe("extend", "--assignments", "8", "--split", "--lifetime", "1d", "--json"))["new_hits"]
    before = _json(babe("status", "--json"))
    assert before["spent"] == "8.70"  # 12 × 0.60 + 1.25 + 0.25 fee

    _lose_the_ledger(lose_ledger, experiment)
    lost = _json(babe("status", "--json"))
    assert lost["hits"] == []  # the ledger is the list of HITs: gone with it

    synced = babe("status", "--sync", "--json")
    assert _json(synced) == before
    assert "Synced the ledger from local: 4 HIT(s) of exp1 found, 4 added; 15 assignment(s), 1 bonus payment(s)" in synced.err
    # and again: nothing new, the same document
    again = babe("status", "--sync", "--json")
    assert _json(again) == before and "0 added" in again.err


def test_the_restored_ledger_carries_the_original_tokens_and_annotations(babe, experiment, lose_ledger):
    created = _json(babe("create", "--assignments", "20", "--json"))
    with Ledger(experiment) as ledger:
        original = [(r.hit_id, r.token, r.annotation, r.index) for r in ledger.hits("exp1", "local")]
    plan_id = original[0][2].split(" plan=")[1].split(" ")[0]
    _lose_the_ledger(lose_ledger, experiment)
    assert babe("status", "--sync").code == 0
    with Ledger(experiment) as ledger:
        restored = [(r.hit_id, r.token, r.annotation, r.index) for r in ledger.hits("exp1", "local")]
    assert restored == original
    assert [r[1] for r in restored] == [request_token("exp1", plan_id, i) for i in range(3)]
    assert [r[0] for r in restored] == [h["hit_id"] for h in created["hits"]]


def test_sync_restores_who_was_granted_so_status_grants_nobody_twice(babe, experiment, turk, mturk, lose_ledger):
    _json(babe("create", "--assignments", "9", "--json"))
    workers = simulate(turk, workers=4, seed=3)["workers"]
    _json(babe("status", "--json"))
    _lose_the_ledger(lose_ledger, experiment)
    run = babe("status", "--sync", "--json")
    assert "4 worker qualification(s)" in run.err
    granted = [tuple(row) for row in ledger_rows(experiment, "SELECT worker_id, value FROM exclusion_grants")]
    assert sorted(granted) == sorted((w, 1) for w in workers)
    # the grants are still on the platform and the experiment still keeps them out
    assert simulate(turk, worker_ids=workers, seed=4)["refused"] == 4
    assert set(holders(mturk, own_types(mturk)["babe-tasks worker of exp1"])) == set(workers)


def test_repeat_workers_come_back_in_the_same_order(babe, experiment, turk, lose_ledger):
    _json(babe("create", "--assignments", "20", "--allow-repeat-workers", "--json"))
    repeat = simulate(turk, workers=1, seed=5)["workers"]
    simulate(turk, worker_ids=repeat, seed=6)
    simulate(turk, workers=2, seed=7)
    before = _json(babe("status", "--json"))
    assert len(before["repeat_workers"]) == 1
    _lose_the_ledger(lose_ledger, experiment)
    assert _json(babe("status", "--sync", "--json")) == before
    held = _json(babe("approve", "--json"))["held"]
    assert held[0]["assignment_id"] == before["repeat_workers"][0]["assignments"][1]


def test_only_this_experiments_hits_are_taken(babe, experiment, monkeypatch, mturk, lose_ledger):
    _json(babe("create", "--assignments", "4", "--json"))
    monkeypatch.setenv("BABE_EXPERIMENT", "exp10")  # a name that starts like this one
    other = _json(babe("create", "--assignments", "4", "--json"))
    mturk.create_hit(
        MaxAssignments=1, LifetimeInSeconds=600, AssignmentDurationInSeconds=600, Reward="0.10", Title="t",
        Description="d", Question=_question(), RequesterAnnotation="made by another tool",
    )
    monkeypatch.delenv("BABE_EXPERIMENT")
    _lose_the_ledger(lose_ledger, experiment)
    synced = _json(babe("status", "--sync", "--json"))
    assert len(synced["hits"]) == 1
    assert synced["hits"][0]["hit_id"] != other["hits"][0]["hit_id"]


def test_sync_fills_a_gap_in_a_ledger_that_is_not_lost(babe, experiment, turk, ledger_write):
    _json(babe("create", "--assignments", "9", "--json"))
    simulate(turk, workers=3, seed=8)
    before = _json(babe("status", "--json"))
    ledger_write(experiment, "DELETE FROM assignments")
    run = babe("status", "--sync", "--json")
    assert _json(run) == before and "0 added; 3 assignment(s)" in run.err


def test_nothing_on_the_platform_is_an_empty_status(babe, experiment):
    run = babe("status", "--sync", "--json")
    assert run.code == 0
    assert run.json["hits"] == [] and "0 HIT(s) of exp1 found" in run.err


def _question() -> str:
    from babe_tasks.planning import external_question

    return external_question("https://example.org/other/", 0)


def test_the_same_create_after_a_sync_posts_nothing(babe, experiment, mturk, lose_ledger):
    """The restored plan is written as create writes it (the experiment's own requirement as
    unique_workers, the settings' batch size where it gives the same HIT sizes), so a lab that
    lost `.babe/`, synced, and runs its create again does not pay for the batch twice."""
    flags = ("create", "--assignments", "20", "--locale", "US", "--min-approval", "95")
    _json(babe(*flags, "--json"))
    _lose_the_ledger(lose_ledger, experiment)
    _json(babe("status", "--sync", "--json"))
    again = babe(*flags)
    assert again.code == 0 and "Posted nothing now" in again.out, again
    assert mturk.list_hits()["NumResults"] == 3
