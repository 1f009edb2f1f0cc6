"""The core says who is kept out; the platform's keep-out members say how (platform/base.py, `KeepingOut`).

Each test runs the real `babe` program against a lab's platform plugin in the experiment's
plugins/ folder, built on the MTurk adapter (so it posts to the test's local MTurk) with keep-out
members of its own that log what the core handed them. A platform that defines none of them gets
the default: the ledger's earlier HITs in `plan.blocklist_hits`, nothing created or granted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from babe_mturk.local.workers import simulate

from .conftest import own_types, requirements_of

KEEPER = '''
import json, pathlib

from babe_mturk.platform import MTurkPlatform
from babe_tasks.platform.base import KeepOutReport, KnownParticipants, SyncedKeepOut


def log(name, **data):
    with open(pathlib.Path(__file__).parent.parent / "keeper.jsonl", "a") as f:
        f.write(json.dumps({"call": name, **data}, default=sorted) + "\\n")


def shown(earlier):
    return {"experiment": earlier.experiment, "unique": earlier.unique, "experiments": list(earlier.experiments),
            "work_ids": list(earlier.work_ids), "participants": earlier.participants, "excluded": earlier.excluded}


class Keeper(MTurkPlatform):
    """Keeps people out its own way: a list it keeps, nothing on MTurk."""

    name = "keeper"

    def plan_keep_out(self, plan, earlier):
        log("plan_keep_out", **shown(earlier))

    def keep_out(self, plan, earlier, records):
        log("keep_out", **shown(earlier))
        return KeepOutReport(done=len(earlier.excluded), what="the keeper's list")

    def participants_seen(self, experiment, participant_ids, records):
        log("participants_seen", experiment=experiment, participants=list(participant_ids))
        return KeepOutReport(done=len(participant_ids), what="the keeper's list")

    def participants_of(self, experiment, records):
        log("participants_of", experiment=experiment)
        if experiment == "elsewhere":
            return KnownParticipants(frozenset({"AELSEWHERE0001"}), found=True)
        return KnownParticipants(where="keeper list " + repr(experiment))

    def sync_keep_out(self, experiment, records):
        log("sync_keep_out", experiment=experiment)
        return SyncedKeepOut(found=3)


class Bare(MTurkPlatform):
    """Defines none of the keep-out members: the core's default applies."""

    name = "bare"
    plan_keep_out = keep_out = participants_seen = participants_of = sync_keep_out = None


def babe_platform(settings):
    if settings.platform == "keeper":
        return Keeper(settings)
    if settings.platform == "bare":
        return Bare(settings)
'''


@pytest.fixture
def keeper(experiment) -> Path:
    plugins = experiment / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "keeper.py").write_text(KEEPER)
    return experiment


def calls(folder: Path, name: str) -> list[dict]:
    path = folder / "keeper.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [entry for entry in map(json.loads, lines) if entry["call"] == name]


def test_create_hands_the_platform_who_to_keep_out_and_the_platform_decides_how(babe, keeper, turk, mturk):
    first = babe("create", "--assignments", "4", "--platform", "keeper", "--json")
    assert first.code == 0, first
    (planned,) = calls(keeper, "plan_keep_out")
    assert planned == {"call": "plan_keep_out", "experiment": "exp1", "unique": True, "experiments": [],
                       "work_ids": [], "participants": [], "excluded": []}
    assert calls(keeper, "keep_out")[0]["unique"] is True
    # The platform kept people out its own way: no qualification type, no requirement, no blocklist.
    assert own_types(mturk) == {}
    assert "blocklist_hits" not in first.json
    (hit_id,) = [h["hit_id"] for h in first.json["hits"]]
    assert requirements_of(mturk, hit_id) == []

    simulate(turk, workers=3, seed=4)
    status = babe("status", "--platform", "keeper", "--json")
    assert status.code == 0, status
    (seen,) = calls(keeper, "participants_seen")
    assert seen["experiment"] == "exp1" and len(seen["participants"]) == 3

    second = babe("create", "--again", "--assignments", "2", "--platform", "keeper", "--json")
    assert second.code == 0, second
    later = calls(keeper, "plan_keep_out")[-1]
    assert later["work_ids"] == [hit_id] and sorted(later["participants"]) == sorted(seen["participants"])


def test_excluded_experiments_come_from_the_ledger_and_the_platforms_own_record(babe, keeper):
    run = babe("create", "--assignments", "2", "--platform", "keeper", "--exclude-experiment", "elsewhere", "--json")
    assert run.code == 0, run
    assert run.json["excluded"] == {"experiments": ["elsewhere"], "workers": 1}
    kept = calls(keeper, "keep_out")[-1]
    assert kept["experiments"] == ["elsewhere"] and kept["excluded"] == ["AELSEWHERE0001"]

    unknown = babe("create", "--again", "--assignments", "2", "--platform", "keeper", "--exclude-experiment", "nosuch")
    assert unknown.code == 2
    assert "experiment 'nosuch' is unknown on local: no HITs of it in this folder's ledger and no keeper list 'nosuch'" in unknown.err


def test_a_keep_out_failure_stops_create_before_anything_is_posted(babe, keeper, mturk):
    (keeper / "plugins" / "keeper.py").write_text(
        KEEPER.replace(
            'return KeepOutReport(done=len(earlier.excluded), what="the keeper\'s list")',
            'return KeepOutReport(failed=(("AWORKER1", "list full"),), what="the keeper\'s list")',
        )
    )
    run = babe("create", "--assignments", "2", "--platform", "keeper")
    assert run.code == 1
    assert "could not grant the keeper's list to 1 worker(s) it must keep out (AWORKER1: list full)" in run.err
    assert mturk.list_hits()["HITs"] == []


def test_sync_asks_the_platform_what_it_holds(babe, keeper):
    assert babe("create", "--assignments", "2", "--platform", "keeper").code == 0
    run = babe("status", "--sync", "--platform", "keeper")
    assert run.code == 0, run
    assert calls(keeper, "sync_keep_out") == [{"call": "sync_keep_out", "experiment": "exp1"}]
    assert "3 worker qualification(s)" in run.err


def test_a_platform_without_keep_out_members_gets_the_blocklist(babe, keeper, turk, mturk):
    first = babe("create", "--assignments", "2", "--platform", "bare", "--json")
    assert first.code == 0, first
    simulate(turk, workers=2, seed=5)
    assert babe("status", "--platform", "bare").code == 0
    second = babe("create", "--again", "--assignments", "2", "--platform", "bare", "--json")
    assert second.code == 0, second
    assert second.json["blocklist_hits"] == [first.json["hits"][0]["hit_id"]]
    assert own_types(mturk) == {}  # nothing created, nothing granted
    assert all(requirements_of(mturk, h["hit_id"]) == [] for h in first.json["hits"] + second.json["hits"])
