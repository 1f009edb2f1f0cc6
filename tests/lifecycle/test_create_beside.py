"""create knows what the experiment already has: a second batch beside it is refused unless --again.

`babe create` then `babe create --assignments 13` used to post a second batch silently ("Posted 2
HITs now"); so did the same create after `.babe/` was lost or the ledger was left at zero bytes.
The plan now lists the experiment's HITs — from the ledger, or from MTurk (their
RequesterAnnotation) when the ledger knows none — and a create that would post beside them is
refused (exit 2, one line, nothing posted or recorded) pointing at `extend`; `--again` posts it.
"""

from __future__ import annotations


from babe_tasks.ledger import Ledger

from .conftest import hit_ids


def _plans(experiment) -> int:
    with Ledger(experiment) as ledger:
        return len(ledger._read("SELECT plan_id FROM plans"))


def test_a_changed_create_is_refused_and_names_extend_and_again(babe, experiment, mturk):
    first = babe("create", "--assignments", "4", "--json")
    assert first.code == 0, first
    (hit,) = first.json["hits"]
    changed = babe("create", "--assignments", "13")
    assert changed.code == 2, changed
    (line,) = changed.err.strip().splitlines()
    assert line.startswith("error: exp1 already has 1 HIT with 4 assignment(s) (plan ")
    assert "on local: this create would post a second batch of 13 assignment(s) beside it" in line
    assert "for more participants: babe extend --assignments N" in line and "add --again" in line
    assert hit_ids(mturk) == [hit["hit_id"]] and _plans(experiment) == 1  # nothing posted, nothing recorded
    as_json = babe("create", "--assignments", "13", "--json")
    assert as_json.code == 2 and as_json.json["error"]["exit_code"] == 2
    assert babe("create", "--assignments", "13", "--dry-run").code == 2  # the dry run says so too
    same = babe("create", "--assignments", "4")
    assert same.code == 0 and "Posted nothing now" in same.out  # identical to the finished one: as before
    assert hit_ids(mturk) == [hit["hit_id"]]


def test_again_posts_the_changed_batch_and_the_plan_lists_what_it_is_posted_beside(babe, experiment, mturk):
    first = babe("create", "--assignments", "4", "--json").json
    beside = babe("create", "--assignments", "13", "--again")
    assert beside.code == 0, beside
    assert "  beside      1 HIT with 4 assignment(s) (plan " in beside.out
    assert "Posted 2 HITs now." in beside.out
    assert len(hit_ids(mturk)) == 3
    third = babe("create", "--assignments", "2", "--again", "--json")
    assert third.code == 0, third
    existing = third.json["existing"]
    assert [b["assignments"] for b in existing] == [4, 13] and [b["source"] for b in existing] == ["ledger", "ledger"]
    assert existing[0]["hit_ids"] == [first["hits"][0]["hit_id"]]


def test_extensions_count_in_what_the_experiment_has(babe, experiment):
    assert babe("create", "--assignments", "4").code == 0
    assert babe("extend", "--assignments", "2").code == 0
    refused = babe("create", "--assignments", "9")
    assert refused.code == 2 and "already has 1 HIT with 6 assignment(s)" in refused.err, refused


def test_a_lost_or_empty_ledger_does_not_hide_the_experiments_hits(babe, experiment, mturk, lose_ledger):
    for how in ("missing", "zero-bytes"):
        if how == "zero-bytes":
            assert babe("create", "--again", "--assignments", "45").code == 0  # the ledger that will be emptied
        else:
            assert babe("create", "--assignments", "45").code == 0
        posted = sorted(hit_ids(mturk))
        lose_ledger(experiment, how)
        again = babe("create", "--assignments", "45")
        assert again.code == 2, (how, again)
        (line,) = again.err.strip().splitlines()
        assert "error: the ledger (.babe/) knows nothing of exp1 on local, but the platform has " in line, how
        assert "Run babe status --sync to restore the ledger" in line and "add --again" in line
        assert sorted(hit_ids(mturk)) == posted, how  # not a second batch of 45
        assert _plans(experiment) == 0, how


def test_after_a_sync_the_same_create_posts_nothing_and_a_changed_one_is_refused(
    babe, experiment, mturk, lose_ledger
):
    assert babe("create", "--assignments", "20").code == 0
    posted = sorted(hit_ids(mturk))
    lose_ledger(experiment, "missing")
    assert babe("status", "--sync").code == 0
    same = babe("create", "--assignments", "20")
    assert same.code == 0 and "Posted nothing now" in same.out, same
    changed = babe("create", "--assignments", "21")
    assert changed.code == 2 and "exp1 already has 3 HITs with 20 assignment(s)" in changed.err, changed
    assert sorted(hit_ids(mturk)) == posted


def test_another_experiments_hits_are_not_this_ones(babe, experiment, mturk, monkeypatch, lose_ledger):
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot")
    assert babe("create", "--assignments", "3").code == 0
    monkeypatch.delenv("BABE_EXPERIMENT")
    lose_ledger(experiment, "missing")  # nothing in the ledger: exp1's HITs are looked for on MTurk
    first = babe("create", "--assignments", "3")
    assert first.code == 0 and "Posted 1 HIT now." in first.out, first
