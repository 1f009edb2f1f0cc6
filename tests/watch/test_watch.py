"""`babe watch` through the real program: refresh, approve, expire, milestones, deadlines, holds.

Time is the local MTurk's: the watch's waits move its clock (fixture `clock`) and simulated workers
act during them, so a watch of hours runs in a fraction of a second and sleeps for real never.
"""

from __future__ import annotations

import time

import pytest

from babe_tasks.testing.experiment import write_plugin
from .conftest import MILESTONE_RECORDER, recorded


def hit_of(mturk, hit_id: str) -> dict:
    return mturk.get_hit(HITId=hit_id)["HIT"]


def assignments_of(mturk, hit_id: str) -> list[dict]:
    return mturk.list_assignments_for_hit(HITId=hit_id, MaxResults=100)["Assignments"]


def test_watch_approves_as_work_arrives_and_expires_the_hits_at_the_goal(babe, created, experiment, clock, workers, mturk):
    write_plugin(experiment, "recorder", MILESTONE_RECORDER)
    clock.during(lambda: workers(3), lambda: workers(3), lambda: workers(3))
    started = time.monotonic()

    run = babe("watch", "--goal", "8", "--interval", "30m", "--json")

    assert run.code == 0, run
    doc = run.json
    assert doc["complete"] is True and doc["reason"] == "complete"
    assert (doc["goal"], doc["approved"], doc["approved_now"], doc["refreshes"]) == (8, 9, 9, 4)
    assert clock.waits == [1800, 1800, 1800]
    # 3, 6 then 9 approved: 25% at 3; 50% and 75% both crossed at 6 (only the highest is announced).
    assert [m["name"] for m in doc["milestones"]] == ["approved_25", "approved_75", "goal_reached"]
    assert [m["approved"] for m in doc["milestones"]] == [3, 6, 9]
    assert [m["name"] for m in recorded(experiment)] == ["approved_25", "approved_75", "goal_reached"]
    assert all(m["approved_in_status"] == m["approved"] for m in recorded(experiment))
    # Every assignment that came in is approved on MTurk; the HIT still open at the goal is expired.
    hits = [h["hit_id"] for h in created["hits"]]
    approved = [a for hit_id in hits for a in assignments_of(mturk, hit_id) if a["AssignmentStatus"] == "Approved"]
    assert len(approved) == 9
    assert doc["expired"] == [hits[1]]
    assert hit_of(mturk, hits[1])["HITStatus"] == "Reviewable"
    assert hit_of(mturk, hits[1])["NumberOfAssignmentsAvailable"] == 3
    assert "goal reached: 9 approved of 8 wanted; 1 open HIT(s) expired now" in doc["milestones"][-1]["text"]
    assert time.monotonic() - started < 20


def test_progress_lines_go_to_stderr_and_the_summary_to_stdout(babe, created, clock, workers):
    clock.during(lambda: workers(6), lambda: workers(6))

    run = babe("watch", "--interval", "10m")

    assert run.code == 0, run
    assert "refresh 1: 0/12 approved, 0 submitted, 0 working, 12 open" in run.err
    assert "refresh 2: 6/12 approved, 0 submitted, 0 working, 6 open, approved 6 now" in run.err
    assert "milestone half of the goal approved: 6 of 12" in run.err
    assert "Watch complete after 3 refresh(es)" in run.out
    assert "12 of 12 wanted are approved (12 by this watch); spent $7.20" in run.out
    assert "Milestone goal_reached: goal reached: 12 approved of 12 wanted" in run.out
    assert "refresh 1:" not in run.out


def test_a_quiet_refresh_prints_nothing(babe, created, clock):
    run = babe("watch", "--until", "1h", "--interval", "10m")

    assert run.code == 0, run
    assert run.err.count("refresh") == 1  # the first; the six after it saw nothing new
    assert "Watch stopped at the deadline after 7 refresh(es)" in run.out


def test_milestones_are_announced_once_even_across_runs(babe, created, experiment, clock, workers):
    write_plugin(experiment, "recorder", MILESTONE_RECORDER)
    clock.during(lambda: workers(2), lambda: workers(2))
    first = babe("watch", "--until", "40m", "--interval", "20m", "--json")
    assert first.code == 0, first
    assert [m["name"] for m in first.json["milestones"]] == ["approved_25"]

    second = babe("watch", "--until", "20m", "--interval", "20m", "--json")

    assert second.code == 0, second
    assert second.json["milestones"] == []
    assert [m["name"] for m in recorded(experiment)] == ["approved_25"]
    assert second.json["approved"] == 4


def test_the_deadline_stops_the_watch_on_the_platform_clock(babe, created, clock):
    run = babe("watch", "--until", "2h", "--interval", "30m", "--json")

    assert run.code == 0, run
    doc = run.json
    assert (doc["reason"], doc["complete"], doc["refreshes"]) == ("deadline", False, 5)
    # The refreshes themselves take a moment of real time, which the last wait gives back.
    assert clock.waits[:3] == [1800, 1800, 1800] and 1700 < clock.waits[3] <= 1800
    assert doc["deadline"] is not None and doc["ended_at"] >= doc["deadline"]


def test_a_deadline_between_refreshes_shortens_the_last_wait(babe, created, clock):
    run = babe("watch", "--until", "45m", "--interval", "30m", "--json")

    assert run.code == 0, run
    assert clock.waits[0] == 1800 and 800 < clock.waits[1] <= 900
    assert run.json["refreshes"] == 3  # at 0, 30 and 45 minutes: the last one at the deadline


def test_a_deadline_in_the_past_means_one_refresh(babe, created, clock):
    run = babe("watch", "--until", "2020-01-01T00:00Z", "--json")

    assert run.code == 0, run
    assert (run.json["reason"], run.json["refreshes"]) == ("deadline", 1)
    assert clock.waits == []


HOLDER = '''
from pathlib import Path
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    with open(Path(settings.folder) / "offered.txt", "a") as f:
        f.write(",".join(sorted(a.assignment_id for a in assignments)) + "\\n")
    return [(a.assignment_id, "no data in the backend") for a in assignments if a.worker_id == "AHOLDME0001"]
'''


def test_holds_are_respected_and_not_offered_again_at_every_refresh(babe, created, experiment, clock, workers, mturk):
    write_plugin(experiment, "holder", HOLDER)
    write_plugin(experiment, "recorder", MILESTONE_RECORDER)
    clock.during(
        lambda: workers(0, worker_ids=["AHOLDME0001", "AOTHER00001", "AOTHER00002"]),
        lambda: None,
        lambda: None,
        lambda: workers(9),
    )

    run = babe("watch", "--interval", "15m", "--json")

    assert run.code == 0, run
    doc = run.json
    assert doc["reason"] == "complete"
    assert doc["refreshes"] == 5
    # approve ran twice: when the first three arrived, and when the last nine did (the held one
    # was offered again then, with them) — not at the two quiet refreshes in between.
    offered = (experiment / "offered.txt").read_text().splitlines()
    assert [len(line.split(",")) for line in offered] == [3, 10]
    [held] = doc["held"]
    assert held["reason"] == "no data in the backend"
    found = mturk.get_assignment(AssignmentId=held["assignment_id"])["Assignment"]
    assert (found["WorkerId"], found["AssignmentStatus"]) == ("AHOLDME0001", "Submitted")
    assert doc["approved"] == 11
    # Every HIT is full with one of the goal's 12 held: the experiment cannot go further alone.
    assert [m["name"] for m in recorded(experiment)][-1] == "hits_closed"
    assert "every HIT is closed (expired or full) with 11 of 12 approved" in doc["milestones"][-1]["text"]


def test_no_approve_only_refreshes(babe, created, clock, workers, mturk):
    clock.during(lambda: workers(12))

    run = babe("watch", "--no-approve", "--interval", "5m", "--json")

    assert run.code == 0, run
    assert (run.json["approved"], run.json["approved_now"], run.json["reason"]) == (0, 0, "complete")
    assert run.json["status"]["totals"]["submitted"] == 12


def test_watching_some_hits_only(babe, created, clock, workers):
    first = created["hits"][0]["hit_id"]
    clock.during(lambda: workers(12))

    run = babe("watch", "--hit", first, "--interval", "5m", "--json")

    assert run.code == 0, run
    assert [h["hit_id"] for h in run.json["status"]["hits"]] == [first]
    assert (run.json["goal"], run.json["approved"]) == (6, 6)


VETO = '''
from babe_tasks.plugins import hookimpl, Veto

@hookimpl
def babe_before_approve(settings, assignments):
    raise Veto("the monthly cap is reached")
'''


def test_a_veto_stops_the_watch_with_exit_3(babe, created, experiment, clock, workers):
    write_plugin(experiment, "cap", VETO)
    clock.during(lambda: workers(2))

    run = babe("watch", "--interval", "5m")

    assert run.code == 3, run
    assert "stopped by plugin cap: the monthly cap is reached" in run.err


def test_a_platform_failure_in_the_middle_is_retried_at_the_next_refresh(babe, experiment, clock, workers, state_path, monkeypatch):
    """A local MTurk server that drops every connection for one refresh: a warning, then the watch goes on."""
    from babe_mturk.local.faults import injector
    from babe_mturk.local.server import serve_in_thread

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    server, url = serve_in_thread(str(state_path))
    try:
        assert babe("create", "--endpoint-url", url, "--assignments", "12", "--batch-size", "6").code == 0

        def outage(spec):
            return lambda: setattr(server, "faults", injector(spec))

        clock.during(outage("drop=1"), outage(None), lambda: workers(12))
        run = babe("watch", "--endpoint-url", url, "--interval", "5m", "--json")
    finally:
        server.shutdown()

    assert run.code == 0, run
    assert run.json["reason"] == "complete"
    assert "warning: refresh failed (1 in a row), trying again: cannot reach the MTurk endpoint" in run.err
    assert (run.json["approved"], run.json["refreshes"]) == (12, 3)


def test_a_platform_that_never_answers_is_an_error_at_the_first_refresh(babe, created, clock, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "drop=1")

    run = babe("watch", "--json")

    assert run.code == 4, run
    assert run.json["error"]["exit_code"] == 4
    assert clock.waits == []


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--interval", "0s"], "--interval 0s is too short"),
        (["--interval", "soon"], "--interval 'soon' is not a duration"),
        (["--until", "tomorrow"], "--until 'tomorrow' is neither a duration nor a time"),
        (["--goal", "0"], "--goal '0' is not a positive whole number"),
        (["--goal", "ten"], "--goal 'ten' is not a positive whole number"),
        (["--queue", "my-queue"], "--queue 'my-queue' is not an SQS queue URL"),
    ],
)
def test_bad_flags_are_refused_before_anything_is_done(babe, created, clock, flags, words):
    run = babe("watch", *flags, "--json")

    assert run.code == 2, run
    assert words in run.json["error"]["message"]
    assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert clock.waits == []


def test_nothing_to_watch_is_exit_2(babe, experiment, clock):
    run = babe("watch")

    assert run.code == 2, run
    assert "error: no HITs of experiment exp1 on local to watch: run babe create first" in run.err


def test_a_goal_above_the_assignments_posted_is_a_warning(babe, created, clock, workers):
    clock.during(lambda: workers(12))

    run = babe("watch", "--goal", "30", "--interval", "5m", "--json")

    assert run.code == 0, run
    assert "goal 30 is more than the 12 assignments posted" in run.err
    assert (run.json["reason"], run.json["approved"]) == ("complete", 12)
    assert [m["name"] for m in run.json["milestones"]] == ["approved_25", "hits_closed"]


def test_live_asks_before_approving_unattended(babe, experiment, clock, state_path, monkeypatch):
    """On live the watch pays as work arrives: without --yes and no terminal to ask on, it refuses (exit 2)."""
    from babe_mturk.local.server import serve_in_thread

    server, url = serve_in_thread(str(state_path))
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALTEST0000000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
        live = ("--target", "live", "--endpoint-url", url)
        created = babe("create", *live, "--assignments", "2", "--yes", "--json")
        assert created.code == 0, created

        refused = babe("watch", *live, "--json")
        watched = babe("watch", *live, "--yes", "--until", "0s", "--json")
        only_looking = babe("watch", *live, "--no-approve", "--until", "0s", "--json")
    finally:
        server.shutdown()

    assert refused.code == 2, refused
    assert "needs confirmation and there is no terminal to ask on: pass --yes" in refused.json["error"]["message"]
    assert (watched.code, watched.json["reason"]) == (0, "deadline")
    assert (only_looking.code, only_looking.json["reason"]) == (0, "deadline")


WATCHING_PROBE = '''
from pathlib import Path
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_after_approve(settings, context, result):
    with open(Path(settings.folder) / "watching.txt", "a") as f:
        f.write(f"{context.watching}\\n")
'''


def test_plugins_can_tell_a_watch_from_a_plain_step(babe, created, experiment, clock, workers):
    """`context.watching`: how a plugin that messages every step can stay quiet during a watch."""
    write_plugin(experiment, "probe", WATCHING_PROBE)
    clock.during(lambda: workers(12))
    assert babe("watch", "--interval", "5m").code == 0
    assert babe("approve").code == 0

    assert (experiment / "watching.txt").read_text().splitlines() == ["True", "False"]
