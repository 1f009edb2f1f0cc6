"""`babe reject`: named Submitted assignments, a required reason, everything checked before anything is done."""

from __future__ import annotations

import pytest

from babe_tasks.ledger import Ledger

from .conftest import make_experiment, post_and_work

REASON = "The answers were random: every rating was 1"


def status_of(mturk, assignment_id: str) -> dict:
    return mturk.get_assignment(AssignmentId=assignment_id)["Assignment"]


def test_rejects_with_the_reason_the_worker_reads(babe, work, mturk, experiment):
    a, b = work[0], work[1]
    run = babe("reject", "--assignment", a.assignment_id, "--assignment", b.assignment_id, "--reason", REASON, "--json")
    assert run.code == 0, run
    assert run.json == {
        "rejected": [
            {"assignment_id": a.assignment_id, "worker_id": a.worker_id, "hit_id": a.hit_id},
            {"assignment_id": b.assignment_id, "worker_id": b.worker_id, "hit_id": b.hit_id},
        ],
        "already_rejected": [],
        "held": [],
        "failed": [],
    }
    for w in (a, b):
        seen = status_of(mturk, w.assignment_id)
        assert (seen["AssignmentStatus"], seen["RequesterFeedback"]) == ("Rejected", REASON)
    assert status_of(mturk, work[2].assignment_id)["AssignmentStatus"] == "Submitted"
    assert mturk.get_account_balance()["AvailableBalance"] == "10000.00"  # rejected work costs nothing
    with Ledger(experiment) as ledger:
        assert ledger.rejection(a.assignment_id)["reason"] == REASON
        assert ledger.assignment(a.assignment_id)["status"] == "Rejected"
    status = babe("status", "--json").json
    assert status["totals"]["rejected"] == 2


def test_rejecting_again_is_done_not_an_error(babe, work):
    a = work[0]
    assert babe("reject", "--assignment", a.assignment_id, "--reason", REASON).code == 0
    again = babe("reject", "--assignment", a.assignment_id, "--reason", REASON, "--json")
    assert again.code == 0, again
    assert again.json["rejected"] == [] and again.json["already_rejected"] == [a.assignment_id]
    text = babe("reject", "--assignment", a.assignment_id, "--reason", REASON)
    assert f"Already rejected: {a.assignment_id}" in text.out


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (None, "error: --reason is required: MTurk shows it to the rejected worker"),
        ("   ", "error: --reason is required: MTurk shows it to the rejected worker"),
        ("x" * 1025, "error: --reason is 1025 characters long: MTurk allows at most 1024"),
    ],
    ids=["missing", "blank", "too-long"],
)
def test_the_reason_is_checked_before_any_call(babe, work, mturk, reason, message):
    args = ["reject", "--assignment", work[0].assignment_id]
    if reason is not None:
        args += ["--reason", reason]
    run = babe(*args)
    assert run.code == 2, run
    assert run.err.startswith(message) and run.err.count("\n") == 1
    assert status_of(mturk, work[0].assignment_id)["AssignmentStatus"] == "Submitted"


def test_approved_work_is_refused_and_nothing_else_is_rejected(babe, work, mturk):
    approved, other = work[0], work[1]
    assert babe("approve", "--assignment", approved.assignment_id).code == 0
    run = babe("reject", "--assignment", f"{other.assignment_id},{approved.assignment_id}", "--reason", REASON, "--json")
    assert run.code == 2, run
    assert run.json["error"]["message"] == (
        f"assignment {approved.assignment_id} is Approved, not Submitted: only submitted work can be rejected — leave it out"
    )
    assert status_of(mturk, other.assignment_id)["AssignmentStatus"] == "Submitted"  # nothing half-done


def test_unknown_and_malformed_ids_are_refused(babe, work, mturk):
    unknown = babe("reject", "--assignment", work[0].assignment_id, "--assignment", "NOSUCHASSIGNMENT1", "--reason", REASON)
    assert unknown.code == 2, unknown
    assert unknown.err == "error: assignment NOSUCHASSIGNMENT1 does not exist on local: check the id\n"
    malformed = babe("reject", "--assignment", "not-an-id", "--reason", REASON)
    assert malformed.code == 2
    assert malformed.err == "error: 'not-an-id' is not an MTurk assignment id (1 to 64 capital letters and digits)\n"
    nothing = babe("reject", "--reason", REASON)
    assert nothing.code == 2 and "name the assignments to reject" in nothing.err
    assert status_of(mturk, work[0].assignment_id)["AssignmentStatus"] == "Submitted"


def test_another_experiments_assignment_is_refused(babe, work, turk, mturk, tmp_path, monkeypatch, ledger_engine):
    """Each folder its own SQLite ledger: exp1's knows nothing of the HIT. On one lab ledger (PostgreSQL)
    the HIT is known as exp2's, and the refusal says so, and how to act on it."""
    other_folder = make_experiment(tmp_path, "exp2")
    monkeypatch.chdir(other_folder)
    theirs = post_and_work(babe, turk, 2, seed=9)[0]
    monkeypatch.chdir(tmp_path / "exp1")
    run = babe("reject", "--assignment", theirs.assignment_id, "--reason", REASON)
    assert run.code == 2, run
    if ledger_engine == "sqlite":
        assert run.err == (
            f"error: assignment {theirs.assignment_id} is of HIT {theirs.hit_id}, which experiment exp1 did not post: "
            "act on it from the folder of the experiment that posted it\n"
        )
    else:
        assert run.err == (
            f"error: assignment {theirs.assignment_id} belongs to experiment exp2, not exp1: "
            "act on it from that experiment's folder (or with BABE_EXPERIMENT=exp2)\n"
        )
    assert status_of(mturk, theirs.assignment_id)["AssignmentStatus"] == "Submitted"


def test_ids_from_a_file(babe, work, mturk, experiment):
    plain = experiment / "reject.txt"
    plain.write_text(f"# bots, found by the attention checks\n{work[0].assignment_id}\n\n{work[1].assignment_id}, {work[2].assignment_id}\n")
    run = babe("reject", "--from", str(plain), "--reason", REASON, "--json")
    assert run.code == 0, run
    assert [r["assignment_id"] for r in run.json["rejected"]] == [w.assignment_id for w in work[:3]]
    table = experiment / "flagged.csv"
    table.write_text(f"worker_id,assignment_id,note\n{work[3].worker_id},{work[3].assignment_id},\"failed check, twice\"\n")
    run = babe("reject", "--from", str(table), "--reason", REASON, "--json")
    assert run.code == 0, run
    assert [r["assignment_id"] for r in run.json["rejected"]] == [work[3].assignment_id]
    missing = babe("reject", "--from", "nowhere.txt", "--reason", REASON)
    assert missing.code == 2 and missing.err == "error: --from nowhere.txt: no such file\n"


def test_dry_run_lists_and_rejects_nothing(babe, work, mturk):
    run = babe("reject", "--assignment", work[0].assignment_id, "--reason", REASON, "--dry-run", "--json")
    assert run.code == 0, run
    assert run.json["dry_run"] is True
    assert run.json["rejected"] == [{"assignment_id": work[0].assignment_id, "worker_id": work[0].worker_id, "hit_id": work[0].hit_id}]
    assert status_of(mturk, work[0].assignment_id)["AssignmentStatus"] == "Submitted"
    text = babe("reject", "--assignment", work[0].assignment_id, "--reason", REASON, "--dry-run")
    assert f"Dry run: would reject 1 assignment(s) with the reason {REASON!r}." in text.out


def test_live_asks_and_refuses_without_a_terminal(babe, experiment, turk, mturk, monkeypatch, state_path):
    from babe_mturk.local.server import serve_in_thread

    server, url = serve_in_thread(str(state_path))
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALTESTING0000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
        live = ("--target", "live", "--endpoint-url", url)
        work = post_and_work(babe, turk, 1, where=(*live, "--yes"))
        run = babe("reject", "--assignment", work[0].assignment_id, "--reason", REASON, *live)
        assert run.code == 2, run
        assert "needs confirmation and there is no terminal to ask on: pass --yes" in run.err
        assert status_of(mturk, work[0].assignment_id)["AssignmentStatus"] == "Submitted"
        assert babe("reject", "--assignment", work[0].assignment_id, "--reason", REASON, *live, "--yes").code == 0
        assert status_of(mturk, work[0].assignment_id)["AssignmentStatus"] == "Rejected"
    finally:
        server.shutdown()
