"""`babe assignments`: who did which assignment, for reject and bonus (text and --json)."""

from __future__ import annotations

from babe_mturk.local.workers import simulate


def test_lists_every_assignment_with_worker_status_and_time(babe, created, turk, mturk):
    done = simulate(turk, workers=5, seed=1)
    rejected = done["submitted"][0]
    assert babe("reject", "--assignment", rejected, "--reason", "The attention checks were failed.").code == 0
    assert babe("approve").code == 0

    run = babe("assignments", "--json")

    assert run.code == 0, run
    rows = run.json["assignments"]
    assert sorted(r["assignment_id"] for r in rows) == sorted(done["submitted"])
    for row in rows:
        truth = mturk.get_assignment(AssignmentId=row["assignment_id"])["Assignment"]
        assert (row["hit_id"], row["worker_id"], row["status"]) == (truth["HITId"], truth["WorkerId"], truth["AssignmentStatus"])
        assert row["submit_time"].endswith("Z") and row["accept_time"] <= row["submit_time"]
    assert [r["status"] for r in rows].count("Rejected") == 1

    text = babe("assignments")
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0] == "Assignments of exp1 on local"
    assert lines[1].split() == ["HIT", "assignment", "worker", "status", "submitted"]
    assert any(rejected in line and "Rejected" in line for line in lines)
    assert lines[-1] == "5 assignment(s): 0 submitted, 4 approved, 1 rejected."

    only = babe("assignments", "--status", "rejected", "--json")
    assert [r["assignment_id"] for r in only.json["assignments"]] == [rejected]
    first_hit = created["hits"][0]["hit_id"]
    assert {r["hit_id"] for r in babe("assignments", "--hit", first_hit, "--json").json["assignments"]} <= {first_hit}


def test_nothing_yet_and_bad_status(babe, created):
    assert babe("assignments").out.strip() == "No assignments submitted yet for experiment exp1 on local."
    bad = babe("assignments", "--status", "Paid")
    assert bad.code == 2 and "--status 'Paid' is not an assignment status: use Submitted, Approved, Rejected" in bad.err
