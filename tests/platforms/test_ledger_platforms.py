"""The ledger names each HIT's platform; a ledger from before that column reads as MTurk's."""

from __future__ import annotations

import sqlite3

from babe_tasks.ledger import SCHEMA_VERSION, Ledger


def _downgrade(folder) -> None:
    """Make the folder's ledger what version 2 wrote: no `platform` column in `hits`."""
    conn = sqlite3.connect(folder / ".babe" / "ledger.sqlite")
    conn.execute("DROP INDEX IF EXISTS hits_by_experiment")
    conn.execute("ALTER TABLE hits DROP COLUMN platform")
    conn.execute("CREATE INDEX hits_by_experiment ON hits (experiment, target)")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


def _columns(folder) -> set[str]:
    conn = sqlite3.connect(folder / ".babe" / "ledger.sqlite")
    try:
        return {row[1] for row in conn.execute("PRAGMA table_info(hits)")}
    finally:
        conn.close()


def test_the_platform_is_recorded_per_hit(babe, fakepro):
    babe("create", "--assignments", "2", "--platform", "fakepro")
    babe("create", "--assignments", "2")
    with Ledger(fakepro) as ledger:
        assert [r.platform for r in ledger.hits("exp1", "local")] == ["fakepro", "mturk"]
        assert [r.platform for r in ledger.hits("exp1", "local", "mturk")] == ["mturk"]


def test_a_version_2_ledger_is_upgraded_its_hits_mturks(babe, experiment):
    created = babe("create", "--assignments", "20", "--json")
    assert created.code == 0, created
    _downgrade(experiment)
    assert "platform" not in _columns(experiment)
    report = babe("report", "--json")  # read-only: reads the old ledger as it is
    assert report.code == 0, report
    assert report.json["reports"][0]["assignments_posted"] == 20
    assert "platform" not in _columns(experiment)
    status = babe("status", "--json")  # opens the ledger for writing: upgraded
    assert status.code == 0, status
    assert [h["hit_id"] for h in status.json["hits"]] == [h["hit_id"] for h in created.json["hits"]]
    assert "platform" in _columns(experiment)
    with Ledger(experiment) as ledger:
        assert {r.platform for r in ledger.hits("exp1", "local")} == {"mturk"}
        assert ledger._read("PRAGMA user_version")[0][0] == SCHEMA_VERSION


def test_an_unfinished_mturk_plan_is_never_resumed_on_another_platform(babe, fakepro):
    from babe_tasks.planning import make_plan
    from babe_tasks.settings import Settings

    mturk = make_plan(Settings.build(assignments=9))
    other = make_plan(Settings.build(assignments=9, platform="fakepro"))
    other.rebatch()
    assert other.parameters()["platform"] == "fakepro"
    assert mturk.fingerprint() != other.fingerprint()
    # MTurk's fingerprint is what it was before plans had platform, pricing and block list, so an
    # unfinished create from then is still resumed.
    import dataclasses
    import hashlib
    import json

    before = dataclasses.asdict(mturk)
    for key in ("hits", "plan_id", "resumed", "posted_before", "blocklist_hits", "platform", "pricing",
                "qualification_types", "platform_lines", "nouns", "existing"):
        before.pop(key)
    before["reward"], before["hit_sizes"] = "0.50", [9]
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"), default=str)
    assert mturk.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
