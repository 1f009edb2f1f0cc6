"""`babe expire`: close open HITs now; `--delete` removes finished ones and says why not the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from babe_mturk.local.workers import simulate

from .conftest import hit_ids


def test_expires_every_open_hit_of_the_experiment(babe, created, mturk, turk):
    run = babe("expire", "--json")
    assert run.code == 0, run
    ids = [h["hit_id"] for h in created["hits"]]
    assert run.json == {"expired": ids, "deleted": [], "not_deleted": []}
    now = datetime.now(UTC).timestamp() + turk.store.clock_offset()
    for hit_id in ids:
        hit = mturk.get_hit(HITId=hit_id)["HIT"]
        assert hit["Expiration"].timestamp() <= now + 1
        assert hit["HITStatus"] == "Reviewable"
    again = babe("expire", "--json")
    assert again.json["expired"] == []  # closed HITs are left alone
    assert "3 HIT(s) were closed already" in babe("expire").out


def test_hit_flag_expires_only_that_hit(babe, created, mturk):
    first = created["hits"][0]["hit_id"]
    assert babe("expire", "--hit", first, "--json").json["expired"] == [first]
    statuses = [mturk.get_hit(HITId=h["hit_id"])["HIT"]["HITStatus"] for h in created["hits"]]
    assert statuses == ["Reviewable", "Assignable", "Assignable"]


def test_delete_removes_reviewed_hits_and_explains_the_others(babe, created, turk, mturk):
    simulate(turk, workers=9, seed=1)  # 7 in the first HIT, 2 in the second
    run = babe("expire", "--delete", "--json")
    assert run.code == 0, run
    first, second, third = (h["hit_id"] for h in created["hits"])
    document = run.json
    assert document["expired"] == [second, third]  # the first was full already
    assert document["deleted"] == [third]  # nobody worked on it
    reasons = {item["hit_id"]: item["reason"] for item in document["not_deleted"]}
    assert set(reasons) == {first, second}
    assert reasons[first].startswith("7 submitted assignment(s) not yet approved or rejected (")
    assert reasons[first].endswith(" and 4 more) — run babe approve; those it holds back (repeat worker, no data in "
                                   "the backend) are yours to decide: babe reject --assignment ID --reason '…', or "
                                   "babe approve --assignment ID --allow-repeat-workers (or --approve-without-data)")
    assert reasons[second].startswith("2 submitted assignment(s)")
    assert sorted(hit_ids(mturk)) == sorted([first, second])
    assert babe("approve").code == 0
    run = babe("expire", "--delete", "--json")
    assert run.json == {"expired": [], "deleted": [first, second], "not_deleted": []}
    assert hit_ids(mturk) == []
    # deleted HITs are not touched again
    assert babe("expire", "--delete", "--json").json == {"expired": [], "deleted": [], "not_deleted": []}


def test_workers_still_working_block_deletion_until_they_are_done(babe, experiment, turk):
    assert babe("create", "--assignments", "2", "--duration", "1h").code == 0
    simulate(turk, workers=2, abandon_rate=0.5, seed=2)  # one submits, one keeps its assignment
    assert babe("approve").code == 0
    run = babe("expire", "--delete", "--json")
    (item,) = run.json["not_deleted"]
    assert item["reason"].startswith("1 worker(s) still working on it")
    turk.store.advance_clock(3601)  # the abandoned assignment's deadline passes
    assert len(babe("expire", "--delete", "--json").json["deleted"]) == 1


def test_human_output(babe, created, turk):
    simulate(turk, workers=1, seed=3)
    run = babe("expire", "--delete")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].startswith("Expired 3 HIT(s) now: ")
    assert lines[1].startswith("Deleted 2 HIT(s): ")
    assert lines[2].startswith(f"Not deleted {created['hits'][0]['hit_id']}: 1 submitted assignment(s)")


def test_unknown_hit_exits_2_and_changes_nothing(babe, created, mturk):
    run = babe("expire", "--hit", created["hits"][0]["hit_id"], "--hit", "NOSUCHHIT0000000000000000000000")
    assert run.code == 2
    assert "HIT NOSUCHHIT0000000000000000000000 does not exist on local" in run.err
    assert mturk.get_hit(HITId=created["hits"][0]["hit_id"])["HIT"]["HITStatus"] == "Assignable"


def test_a_hit_deleted_elsewhere_is_not_touched(babe, created, mturk):
    first = created["hits"][0]["hit_id"]
    mturk.update_expiration_for_hit(HITId=first, ExpireAt=datetime(2000, 1, 1, tzinfo=UTC))
    mturk.delete_hit(HITId=first)
    run = babe("expire", "--delete", "--json")
    assert run.code == 0, run
    assert run.json["expired"] == [h["hit_id"] for h in created["hits"][1:]]
    assert {item["hit_id"] for item in run.json["not_deleted"]} == set()
    assert babe("status", "--json").json["hits"][0]["status"] == "Disposed"


def test_hits_that_vanished_are_skipped_with_a_warning(babe, created, state_path):
    for suffix in ("", "-wal", "-shm"):  # the local MTurk's state is reset under the ledger's feet
        state_path.with_name(state_path.name + suffix).unlink(missing_ok=True)
    run = babe("expire", "--json")
    assert run.code == 0, run
    assert run.json == {"expired": [], "deleted": [], "not_deleted": []}
    assert run.err.count("is no longer known to local") == 3
    status = babe("status", "--json")
    assert status.code == 0
    assert [h["status"] for h in status.json["hits"]] == ["NotFound"] * 3
    assert status.json["committed"] == "0.00"
    assert "no longer known" not in status.err  # warned once; the ledger remembers
