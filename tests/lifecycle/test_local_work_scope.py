"""`babe local.work` works this experiment's HITs (from the folder's ledger) unless `--all`: the
local MTurk is one per user, and another experiment's HITs must not fill with this one's workers."""

from __future__ import annotations

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder


def test_work_fills_only_this_experiments_hits_unless_all(babe, experiment, tmp_path, monkeypatch, mturk):
    other = ExperimentFolder(tmp_path / "exp2", DEFAULT_SETTINGS).path
    monkeypatch.chdir(other)
    theirs = {h["hit_id"] for h in babe("create", "--assignments", "4", "--json").json["hits"]}
    monkeypatch.chdir(experiment)
    mine = {h["hit_id"] for h in babe("create", "--assignments", "4", "--json").json["hits"]}

    run = babe("local.work", "--workers", "8", "--json")

    assert run.code == 0, run
    worked = {mturk.get_assignment(AssignmentId=a)["HIT"]["HITId"] for a in run.json["submitted"]}
    assert worked == mine and len(run.json["submitted"]) == 4
    assert all(mturk.get_hit(HITId=h)["HIT"]["NumberOfAssignmentsAvailable"] == 4 for h in theirs)

    everything = babe("local.work", "--workers", "8", "--all", "--json")
    assert {mturk.get_assignment(AssignmentId=a)["HIT"]["HITId"] for a in everything.json["submitted"]} == theirs


def test_a_folder_without_hits_is_told_what_to_do(babe, experiment):
    run = babe("local.work", "--workers", "2")
    assert run.code == 2
    assert "experiment exp1 has no open HITs on the local MTurk in this folder's ledger" in run.err
    assert "--all" in run.err and len(run.err.strip().splitlines()) == 1
