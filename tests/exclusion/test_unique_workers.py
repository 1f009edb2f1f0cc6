"""One worker, one participation per experiment: the experiment's own qualification type, required
as DoesNotExist, created once and granted (silently) to every worker status and approve see."""

from __future__ import annotations

from babe_tasks.testing.postgres import ledger_rows
from babe_mturk.local.misc import messages
from babe_mturk.local.workers import simulate
from babe_tasks.plugins import plugin_manager
from babe_tasks.settings import Settings
from babe_tasks.steps import status as status_step

from .conftest import holders, own_types, requirements_of

WORKER_TYPE = "babe-tasks worker of exp1"


def _create(babe, *flags, assignments: int = 20):
    run = babe("create", "--assignments", str(assignments), "--json", "--again", *flags)  # a batch beside the others
    assert run.code == 0, run
    return run.json


def test_create_makes_one_type_and_every_hit_requires_its_absence(babe, experiment, mturk):
    created = _create(babe)
    types = own_types(mturk)
    assert list(types) == [WORKER_TYPE]
    for hit in created["hits"]:
        (requirement,) = requirements_of(mturk, hit["hit_id"])
        assert (requirement["QualificationTypeId"], requirement["Comparator"]) == (types[WORKER_TYPE], "DoesNotExist")
    assert "unique      one HIT per worker in the whole experiment" in babe("create", "--dry-run", "--again").out


def test_a_second_create_finds_the_type_by_name_instead_of_making_another(babe, experiment, mturk, turk):
    _create(babe)
    first = own_types(mturk)[WORKER_TYPE]
    second = _create(babe, "--reward", "0.60")  # other parameters: a new plan
    assert list(own_types(mturk)) == [WORKER_TYPE]
    assert requirements_of(mturk, second["hits"][0]["hit_id"])[0]["QualificationTypeId"] == first


def test_a_lost_ledger_still_finds_the_type_on_the_platform(babe, experiment, mturk, lose_ledger):
    _create(babe)
    lose_ledger(experiment, "missing")
    _create(babe, "--reward", "0.70")
    assert list(own_types(mturk)) == [WORKER_TYPE]


def test_workers_seen_by_status_cannot_take_another_hit_while_new_ones_can(babe, experiment, turk, mturk):
    _create(babe)
    first = simulate(turk, workers=5, seed=1)
    assert len(first["submitted"]) == 5
    # MTurk alone would let them take a second HIT of the group (one assignment per HIT, not per group).
    assert babe("status").code == 0
    type_id = own_types(mturk)[WORKER_TYPE]
    assert holders(mturk, type_id) == {worker: 1 for worker in first["workers"]}
    again = simulate(turk, worker_ids=first["workers"], seed=2)
    assert again["submitted"] == [] and again["refused"] == 5
    fresh = simulate(turk, workers=3, seed=3)
    assert len(fresh["submitted"]) == 3


def test_granting_does_not_notify_the_workers(babe, experiment, turk):
    _create(babe)
    workers = simulate(turk, workers=3, seed=4)["workers"]
    assert babe("status").code == 0
    assert all(messages(turk, worker) == [] for worker in workers)


def test_approve_grants_as_well(babe, experiment, turk, mturk):
    _create(babe)
    workers = simulate(turk, workers=4, seed=5)["workers"]
    run = babe("approve", "--json")
    assert run.code == 0 and run.json["approved"] == 4
    assert set(holders(mturk, own_types(mturk)[WORKER_TYPE])) == set(workers)
    assert simulate(turk, worker_ids=workers, seed=6)["refused"] == 4


def test_a_dry_run_approve_grants_nothing(babe, experiment, turk, mturk):
    _create(babe)
    simulate(turk, workers=2, seed=7)
    assert babe("approve", "--dry-run").code == 0
    assert holders(mturk, own_types(mturk)[WORKER_TYPE]) == {}


def _status(experiment, mturk):
    """status through a platform on the test's client, so the test can count the requests."""
    from babe_mturk.platform import MTurkPlatform
    from babe_tasks.plugins import hookimpl

    class Counting:
        @hookimpl
        def babe_platform(self, settings):
            return MTurkPlatform(settings, client=mturk)

    settings = Settings.build(None, folder=experiment)
    pm = plugin_manager(settings)
    pm.register(Counting(), name="counting")
    return status_step.run(settings, pm)


def test_each_worker_is_granted_once_not_at_every_status(babe, experiment, turk, mturk):
    _create(babe)
    simulate(turk, workers=6, seed=8)
    turk.reset_stats()
    _status(experiment, mturk)
    assert turk.stats()["requests"]["AssociateQualificationWithWorker"] == 6
    turk.reset_stats()
    _status(experiment, mturk)
    assert turk.stats()["requests"] == {"GetHIT": 3}  # nothing new: no grant, no lookup
    simulate(turk, workers=2, seed=9)
    turk.reset_stats()
    _status(experiment, mturk)
    assert turk.stats()["requests"]["AssociateQualificationWithWorker"] == 2


def test_the_watch_grants_between_rounds(babe, experiment, turk, mturk, monkeypatch):
    """`status --watch` runs status again and again: a worker is kept out as soon as a round sees them."""
    _create(babe, assignments=3)  # one HIT of 3
    seen = []
    from babe_tasks.tasks import lifecycle

    def sleep(_seconds):
        # between two rounds: the worker of the first round comes back; new workers finish the HIT
        seen.append(simulate(turk, worker_ids=first["workers"], seed=11)["refused"])
        simulate(turk, workers=2, seed=12)

    monkeypatch.setattr(lifecycle.time, "sleep", sleep)
    first = simulate(turk, workers=1, seed=10)
    run = babe("status", "--watch", "--interval", "1s", "--json")
    assert run.code == 0, run
    assert seen == [1]
    assert run.json["totals"]["submitted"] == 3


def test_repeat_workers_allowed_makes_no_type_and_no_requirement(babe, experiment, turk, mturk):
    created = _create(babe, "--allow-repeat-workers")
    assert own_types(mturk) == {}
    assert all(requirements_of(mturk, hit["hit_id"]) == [] for hit in created["hits"])
    worker = simulate(turk, workers=1, seed=13)["workers"]
    assert babe("status").code == 0
    assert len(simulate(turk, worker_ids=worker, seed=14)["submitted"]) == 1  # a second HIT of the group
    held = babe("approve", "--json").json["held"]
    assert len(held) == 1 and held[0]["reason"].startswith("repeat worker")
    assert babe("approve", "--allow-repeat-workers", "--json").json["approved"] == 1


def test_the_setting_in_invoke_yaml_allows_repeats_for_create_and_approve(babe, experiment, turk, mturk):
    with (experiment / "invoke.yaml").open("a") as yaml:
        yaml.write("  allow_repeat_workers: true\n")
    _create(babe)
    assert own_types(mturk) == {}
    worker = simulate(turk, workers=1, seed=15)["workers"]
    simulate(turk, worker_ids=worker, seed=16)
    run = babe("approve", "--json")
    assert run.json["approved"] == 2 and run.json["held"] == []


def test_workers_seen_before_a_new_batch_are_kept_out_of_it(babe, experiment, turk, mturk):
    """A second create of the same experiment grants the workers the ledger saw, before posting."""
    _create(babe, assignments=3)
    workers = simulate(turk, workers=3, seed=17)["workers"]
    assert babe("approve", "--dry-run").code == 0  # the ledger sees them; a dry run grants nothing
    assert holders(mturk, own_types(mturk)[WORKER_TYPE]) == {}
    second = _create(babe, "--reward", "0.40", assignments=3)
    assert simulate(turk, worker_ids=workers, hit_ids=[second["hits"][0]["hit_id"]], seed=18)["refused"] == 3


def test_a_grant_that_fails_is_a_warning_and_retried(babe, experiment, turk, mturk):
    _create(babe)
    simulate(turk, workers=2, seed=19)
    type_id = own_types(mturk)[WORKER_TYPE]
    mturk.delete_qualification_type(QualificationTypeId=type_id)
    run = babe("status", "--json")
    assert run.code == 0, run
    assert "warning: could not grant the experiment's qualification" in run.err
    assert "the next status or approve tries again" in run.err
    rows = ledger_rows(experiment, "SELECT COUNT(*) FROM exclusion_grants")[0][0]
    assert rows == 0
