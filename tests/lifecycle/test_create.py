"""`babe create` through the real program against the local MTurk, checked through boto3."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from babe_tasks.ledger import Ledger
from babe_tasks.planning import request_token

from .conftest import URL, hit_ids


def test_twenty_assignments_become_three_hits_of_one_type(created, mturk, experiment):
    assert set(created) == {"hits", "cost"}
    assert created["cost"] == {"rewards": "10.00", "fees": "2.00", "total": "12.00"}
    assert [h["assignments"] for h in created["hits"]] == [7, 7, 6]
    for hit in created["hits"]:
        assert set(hit) == {"hit_id", "hit_type_id", "hit_group_id", "assignments", "preview_url", "expires_at"}
        assert hit["preview_url"] is None  # local target: no worker site
        assert hit["expires_at"].endswith("Z")
    assert sorted(hit_ids(mturk)) == sorted(h["hit_id"] for h in created["hits"])
    hits = [mturk.get_hit(HITId=h["hit_id"])["HIT"] for h in created["hits"]]
    assert {h["HITTypeId"] for h in hits} == {created["hits"][0]["hit_type_id"]}
    assert {h["HITGroupId"] for h in hits} == {created["hits"][0]["hit_group_id"]}
    assert [h["MaxAssignments"] for h in hits] == [7, 7, 6]
    assert all(h["Reward"] == "0.50" for h in hits)
    assert all(f"<ExternalURL>{URL}</ExternalURL>" in h["Question"] for h in hits)
    assert all("<FrameHeight>0</FrameHeight>" in h["Question"] for h in hits)
    notes = [h["RequesterAnnotation"] for h in hits]
    assert all(n.startswith("babe-tasks experiment=exp1 plan=") for n in notes)
    assert [n.rsplit(" ", 1)[1] for n in notes] == ["hit=1/3", "hit=2/3", "hit=3/3"]


def test_each_hit_carries_its_deterministic_token(created, experiment):
    with Ledger(experiment) as ledger:
        records = ledger.hits("exp1", "local")
    plan_id = records[0].plan_id
    assert [r.token for r in records] == [request_token("exp1", plan_id, i) for i in range(3)]
    assert [r.hit_id for r in records] == [h["hit_id"] for h in created["hits"]]


def test_human_output_shows_the_plan_the_cost_and_the_hits(babe, experiment):
    run = babe("create", "--assignments", "20")
    assert run.code == 0, run
    assert "20 assignments in 3 HITs (7, 7, 6) of one HIT type" in run.out
    assert "rewards     $0.50 x 20 = $10.00" in run.out
    assert "MTurk fee   20%, at least $0.01 per assignment = $2.00" in run.out
    assert "total       $12.00" in run.out
    assert "Posted 3 HITs now." in run.out
    assert "babe local.work" in run.out


def test_every_hit_parameter_flag_reaches_mturk(babe, experiment, mturk):
    before = time.time()
    run = babe(
        "create", "--json", "--url", "http://localhost:8000/exp/?x=1&y=2", "--title", "Other title",
        "--description", "Other description", "--keywords", "language, rating", "--reward", "0.33",
        "--assignments", "4", "--lifetime", "2d", "--duration", "45m", "--auto-approve", "1d",
        "--frame-height", "600", "--batch-size", "2",
    )
    assert run.code == 0, run
    assert run.json["cost"] == {"rewards": "1.32", "fees": "0.28", "total": "1.60"}
    hits = [mturk.get_hit(HITId=h["hit_id"])["HIT"] for h in run.json["hits"]]
    assert [h["MaxAssignments"] for h in hits] == [2, 2]
    hit = hits[0]
    assert hit["Title"] == "Other title" and hit["Description"] == "Other description"
    assert hit["Keywords"] == "language, rating" and hit["Reward"] == "0.33"
    assert hit["AssignmentDurationInSeconds"] == 45 * 60
    assert hit["AutoApprovalDelayInSeconds"] == 86400
    assert "<ExternalURL>http://localhost:8000/exp/?x=1&amp;y=2</ExternalURL>" in hit["Question"]
    assert "<FrameHeight>600</FrameHeight>" in hit["Question"]
    lifetime = hit["Expiration"].timestamp() - before
    assert 2 * 86400 - 60 < lifetime < 2 * 86400 + 60


def test_batch_size_ten_pays_the_surcharge_and_says_so(babe, experiment):
    run = babe("create", "--assignments", "20", "--batch-size", "10")
    assert run.code == 0, run
    assert "surcharge   20% for HITs of 10 or more assignments = $2.00" in run.out
    assert "total       $14.00" in run.out


def test_dry_run_prints_the_same_shape_and_posts_nothing(babe, experiment, mturk):
    run = babe("create", "--assignments", "20", "--dry-run", "--json")
    assert run.code == 0, run
    document = run.json
    assert document["dry_run"] is True
    assert document["cost"] == {"rewards": "10.00", "fees": "2.00", "total": "12.00"}
    assert [h["assignments"] for h in document["hits"]] == [7, 7, 6]
    assert all(h["hit_id"] is None and h["hit_type_id"] is None for h in document["hits"])
    assert "total       $12.00" in run.err  # the plan goes to stderr under --json
    assert hit_ids(mturk) == []
    with Ledger(experiment) as ledger:
        assert ledger.hits("exp1", "local") == []
        assert ledger.open_plan("exp1", "local", "anything") is None


def test_running_create_twice_posts_one_batch_unless_again(babe, experiment, mturk):
    assert babe("create", "--assignments", "9").code == 0
    assert babe("create", "--assignments", "9").code == 0
    assert len(hit_ids(mturk)) == 1
    assert babe("create", "--assignments", "9", "--again").code == 0
    assert len(hit_ids(mturk)) == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (("--reward", "$0.50"), "is not a dollar amount"),
        (("--reward", "-1"), "is not a dollar amount"),
        (("--reward", "0.123"), "at most two decimals"),
        (("--reward", "0"), "must be more than 0.00"),
        (("--lifetime", "10s"), "lifetime 10s is too short"),
        (("--duration", "400d"), "duration 400d is too long"),
        (("--auto-approve", "31d"), "auto_approve 31d is too long"),
        (("--title", "x" * 129), "title is 129 characters long"),
        (("--url", "http://example.org/"), "not HTTPS"),
        (("--url", "ftp://example.org/"), "not a web address"),
        (("--assignments", "0"), "assignments 0 is out of range"),
        (("--assignments", "many"), "is not a whole number"),
        (("--batch-size", "0"), "batch_size 0 is out of range"),
        (("--target", "prod"), "not one of local, sandbox, live"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_posts_nothing(babe, experiment, mturk, flags, message):
    run = babe("create", *flags)
    assert run.code == 2, run
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err
    assert hit_ids(mturk) == []


def test_bad_input_under_json_prints_the_error_document(babe, experiment):
    run = babe("create", "--reward", "0.123", "--json")
    assert run.code == 2
    assert run.json["error"]["exit_code"] == 2
    assert "at most two decimals" in run.json["error"]["message"]
    assert run.json["error"]["plugin"] is None


def test_missing_title_names_the_three_ways_to_set_it(babe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = babe("create", "--url", URL, "--reward", "0.50")
    assert run.code == 2
    assert "title is not set: pass --title" in run.err and "BABE_TITLE" in run.err


def test_http_url_on_live_is_refused_before_anything(babe, experiment):
    run = babe("create", "--target", "live", "--url", "http://localhost/x", "--yes")
    assert run.code == 2
    assert "target live needs an https:// page" in run.err


def test_live_without_yes_and_without_a_terminal_refuses(babe, experiment, monkeypatch, state_path):
    from babe_mturk.local.server import serve_in_thread

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    # Live's calls go to a local MTurk: create asks it for the experiment's HITs before the review.
    server, url = serve_in_thread(str(state_path))
    try:
        run = babe("create", "--target", "live", "--endpoint-url", url, "--assignments", "20")
    finally:
        server.shutdown()
    assert run.code == 2, run
    assert "needs confirmation" in run.err and "--yes" in run.err
    assert "total       $12.00" in run.out  # the cost was shown first


def test_live_without_credentials_exits_2_before_asking(babe, experiment):
    run = babe("create", "--target", "live", "--assignments", "20")
    assert run.code == 2, run
    assert "no AWS credentials for live" in run.err
    assert "2026-09-30" in run.err


def test_the_same_task_runs_under_plain_invoke_with_a_tasks_py(experiment, mturk):
    (experiment / "tasks.py").write_text("from babe_tasks import ns  # noqa: F401\n")
    listing = subprocess.run([sys.executable, "-m", "invoke", "--list"], capture_output=True, text=True, cwd=experiment)
    assert listing.returncode == 0, listing.stderr
    for name in ("create", "status", "approve", "expire", "demo"):
        assert f"  {name} " in listing.stdout
    run = subprocess.run(
        [sys.executable, "-m", "invoke", "create", "--assignments", "10", "--json"],
        capture_output=True, text=True, cwd=experiment,
    )
    assert run.returncode == 0, run.stderr
    assert len(hit_ids(mturk)) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "invoke", "create", "--reward", "$1", "--json"], capture_output=True, text=True, cwd=experiment
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
