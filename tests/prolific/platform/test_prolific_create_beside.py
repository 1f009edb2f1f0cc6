"""create on Prolific knows the experiment's studies: a second study beside them is refused unless --again.

The counterpart of tests/lifecycle/test_create_beside.py: the studies come from the ledger, or —
when `.babe/` is lost or the ledger is zero bytes — from Prolific, by the internal name every study
of the experiment carries (`babe-tasks experiment=<name> plan=<id> hit=<i>/<n>`).
"""

from __future__ import annotations

import pytest


def errors(run) -> list[str]:
    """The run's error lines (Prolific's pay warning may come first)."""
    return [line for line in run.err.splitlines() if line.startswith("error:")]


def test_a_changed_create_is_refused_and_again_posts_it(babe, experiment, study_id, local):
    changed = babe("create", "--assignments", "3")
    assert changed.code == 2, changed
    (line,) = errors(changed)
    assert line.startswith("error: exp1 already has 1 study with 5 assignment(s) (plan "), line
    assert "this create would post a second batch of 3 assignment(s) beside it" in line
    assert "babe extend --assignments N" in line and "add --again" in line
    assert [s["id"] for s in local.studies()] == [study_id]
    same = babe("create")
    assert same.code == 0 and "Posted nothing now" in same.out, same
    beside = babe("create", "--assignments", "3", "--again", "--json")
    assert beside.code == 0, beside
    assert [(b["hit_ids"], b["assignments"]) for b in beside.json["existing"]] == [([study_id], 5)]
    assert len(local.studies()) == 2


@pytest.mark.parametrize("how", ["missing", "zero-bytes"])
def test_a_lost_or_empty_ledger_does_not_hide_the_studies(babe, experiment, study_id, local, how, lose_ledger):
    lose_ledger(experiment, how)
    again = babe("create")
    assert again.code == 2, again
    (line,) = errors(again)
    assert "the ledger (.babe/) knows nothing of exp1 on local, but the platform has 1 study with 5 assignment(s)" in line
    assert "babe status --sync" in line
    assert [s["id"] for s in local.studies()] == [study_id]  # no second study of 5 places
