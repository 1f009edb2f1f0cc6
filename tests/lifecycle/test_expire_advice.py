"""`expire --delete`'s advice works when followed: an assignment approve always holds back (a repeat
worker's) is named, and the command the advice gives settles it so the HIT can be deleted."""

from __future__ import annotations

import re

from babe_mturk.local.workers import simulate

from .conftest import hit_ids


def test_advice_for_an_assignment_approve_holds_names_it_and_works(babe, experiment, turk, mturk):
    assert babe("create", "--assignments", "2", "--batch-size", "1").code == 0
    simulate(turk, worker_ids=["AREPEATWORKER01"], seed=8)
    second = simulate(turk, worker_ids=["AREPEATWORKER01"], seed=9)["submitted"][0]
    assert babe("approve", "--json").json["held"][0]["assignment_id"] == second

    run = babe("expire", "--delete", "--json")
    [held] = run.json["not_deleted"]
    assert f"({second})" in held["reason"] and "run babe approve first" not in held["reason"]
    command = re.search(r"babe (approve --assignment ID --allow-repeat-workers)", held["reason"]).group(1)

    assert babe(*command.replace("ID", second).split()).code == 0
    assert babe("expire", "--delete", "--json").json["deleted"] == [held["hit_id"]]
    assert hit_ids(mturk) == []
