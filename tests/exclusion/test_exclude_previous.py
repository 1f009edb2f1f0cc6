"""`create --exclude-previous` / `--exclude-experiment`: workers of earlier experiments, proven by
simulated workers, cannot accept the new HITs, while new workers can."""

from __future__ import annotations

from babe_mturk.local.workers import simulate

from .conftest import all_hits, holders, own_types, requirements_of, write_config


def _create(babe, *flags, assignments: int = 6):
    run = babe("create", "--assignments", str(assignments), "--json", *flags)
    assert run.code == 0, run
    return run.json


def _pilot(babe, turk, workers: int = 4, seed: int = 1) -> list[str]:
    """Experiment `pilot` in this folder, with `workers` people who took part and were seen by status."""
    run = babe("create", "--assignments", "9", "--json")
    assert run.code == 0, run
    taken = simulate(turk, workers=workers, seed=seed)["workers"]
    assert babe("status").code == 0
    return taken


def test_workers_of_the_earlier_experiment_are_kept_out_and_new_ones_are_not(babe, experiment, turk, mturk, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    earlier = _pilot(babe, turk)
    monkeypatch.setenv("BABE_EXPERIMENT", "main")
    created = _create(babe, "--exclude-previous")
    assert created["excluded"] == {"experiments": ["pilot"], "workers": 4}
    main_hits = [h["hit_id"] for h in created["hits"]]
    blocked = simulate(turk, worker_ids=earlier, hit_ids=main_hits, seed=2)
    assert blocked["submitted"] == [] and blocked["refused"] == 4
    newcomers = simulate(turk, workers=3, hit_ids=main_hits, seed=3)
    assert len(newcomers["submitted"]) == 3
    # one requirement does it, whatever the number of earlier experiments: the experiment's own type
    types = own_types(mturk)
    (requirement,) = requirements_of(mturk, main_hits[0])
    assert requirement == {"QualificationTypeId": types["babe-tasks worker of main"], "Comparator": "DoesNotExist"}
    assert holders(mturk, types["babe-tasks worker of main"]) == {worker: 2 for worker in earlier}


def test_work_submitted_since_the_last_status_counts_too(babe, experiment, turk, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    seen = _pilot(babe, turk, workers=2)
    unseen = simulate(turk, workers=2, seed=4)["workers"]  # no status after them
    monkeypatch.setenv("BABE_EXPERIMENT", "main")
    created = _create(babe, "--exclude-previous")
    assert created["excluded"]["workers"] == 4
    refused = simulate(turk, worker_ids=seen + unseen, hit_ids=[created["hits"][0]["hit_id"]], seed=5)["refused"]
    assert refused == 4


def test_all_earlier_experiments_by_default_or_only_those_named(babe, experiment, turk, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot-1")
    first = _pilot(babe, turk, workers=2, seed=6)
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot-2")
    second = _pilot(babe, turk, workers=2, seed=7)
    monkeypatch.setenv("BABE_EXPERIMENT", "main")
    run = babe("create", "--assignments", "4", "--exclude-previous", "--dry-run", "--json")
    assert run.json["excluded"] == {"experiments": ["pilot-1", "pilot-2"], "workers": 4}
    assert "keeps out   4 worker(s) of pilot-1, pilot-2" in run.err
    created = _create(babe, "--exclude-experiment", "pilot-2", assignments=4)
    assert created["excluded"] == {"experiments": ["pilot-2"], "workers": 2}
    hit = [created["hits"][0]["hit_id"]]
    assert simulate(turk, worker_ids=second, hit_ids=hit, seed=8)["refused"] == 2
    assert len(simulate(turk, worker_ids=first, hit_ids=hit, seed=9)["submitted"]) == 2


def test_a_dry_run_grants_nothing_and_creates_nothing(babe, experiment, turk, mturk, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    _pilot(babe, turk)
    before = own_types(mturk)
    monkeypatch.setenv("BABE_EXPERIMENT", "main")
    run = babe("create", "--exclude-previous", "--dry-run", "--json")
    assert run.code == 0 and run.json["dry_run"] is True and run.json["excluded"]["workers"] == 4
    assert own_types(mturk) == before


def test_an_unknown_experiment_is_refused_before_anything_is_created(babe, experiment, mturk):
    run = babe("create", "--assignments", "4", "--exclude-experiment", "pilott")
    assert run.code == 2, run
    assert "experiment 'pilott' is unknown on local" in run.err
    assert all_hits(mturk) == [] and own_types(mturk) == {}


def test_a_bad_experiment_name_is_refused_like_a_setting(babe, experiment):
    run = babe("create", "--exclude-experiment", "no spaces please")
    assert run.code == 2 and "is not a usable name" in run.err


def test_nothing_earlier_is_a_warning_not_an_error(babe, experiment, mturk):
    created = _create(babe, "--exclude-previous")
    assert created["excluded"] == {"experiments": [], "workers": 0}
    assert len(all_hits(mturk)) == 1


def test_an_experiment_of_another_folder_is_found_through_its_qualification_type(babe, tmp_path, turk, monkeypatch):
    other = tmp_path / "other-lab-folder"
    write_config(other, experiment="elsewhere")
    monkeypatch.chdir(other)
    done = _pilot(babe, turk, workers=3, seed=10)
    here = tmp_path / "exp2"
    write_config(here)
    monkeypatch.chdir(here)
    created = _create(babe, "--exclude-experiment", "elsewhere")
    assert created["excluded"] == {"experiments": ["elsewhere"], "workers": 3}
    assert simulate(turk, worker_ids=done, hit_ids=[created["hits"][0]["hit_id"]], seed=11)["refused"] == 3


def test_excluded_workers_are_not_counted_as_workers_of_the_experiment_that_excluded_them(
    babe, tmp_path, turk, monkeypatch
):
    folder = tmp_path / "lab"
    write_config(folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("BABE_EXPERIMENT", "a")
    in_a = _pilot(babe, turk, workers=2, seed=12)
    monkeypatch.setenv("BABE_EXPERIMENT", "b")
    b = _create(babe, "--exclude-experiment", "a", assignments=2)
    in_b = simulate(turk, workers=2, hit_ids=[b["hits"][0]["hit_id"]], seed=13)["workers"]
    assert babe("status").code == 0
    # From yet another folder (no ledger of b): the platform's type of b names its workers by value.
    elsewhere = tmp_path / "elsewhere"
    write_config(elsewhere, experiment="c")
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("BABE_EXPERIMENT")
    c = _create(babe, "--exclude-experiment", "b", assignments=4)
    assert c["excluded"]["workers"] == 2
    hit = [c["hits"][0]["hit_id"]]
    assert simulate(turk, worker_ids=in_b, hit_ids=hit, seed=14)["refused"] == 2
    assert len(simulate(turk, worker_ids=in_a, hit_ids=hit, seed=15)["submitted"]) == 2


def test_with_repeat_workers_allowed_exclusion_uses_a_type_of_its_own(babe, experiment, turk, mturk, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    earlier = _pilot(babe, turk, workers=2, seed=16)
    monkeypatch.setenv("BABE_EXPERIMENT", "main")
    created = _create(babe, "--exclude-previous", "--allow-repeat-workers")
    types = own_types(mturk)
    assert "babe-tasks worker of main" not in types
    excluded_type = types["babe-tasks excluded from main"]
    assert holders(mturk, excluded_type) == {worker: 2 for worker in earlier}
    hit = [created["hits"][0]["hit_id"]]
    assert simulate(turk, worker_ids=earlier, hit_ids=hit, seed=17)["refused"] == 2
    newcomer = simulate(turk, workers=1, hit_ids=hit, seed=18)["workers"]
    assert babe("status").code == 0  # repeats allowed: status grants nothing
    assert set(holders(mturk, excluded_type)) == set(earlier)
    second = babe("create", "--again", "--assignments", "3", "--reward", "0.40", "--allow-repeat-workers", "--json").json
    assert len(simulate(turk, worker_ids=newcomer, hit_ids=[second["hits"][0]["hit_id"]], seed=19)["submitted"]) == 1


def test_exclude_previous_from_invoke_yaml(babe, experiment, turk, monkeypatch):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    _pilot(babe, turk, workers=1, seed=20)
    with (experiment / "invoke.yaml").open("a") as yaml:
        yaml.write("  exclude_experiments: [pilot]\n")
    monkeypatch.setenv("BABE_EXPERIMENT", "main")
    assert _create(babe)["excluded"] == {"experiments": ["pilot"], "workers": 1}
