"""status, approve, reject, extend, expire, cost and sync on Prolific, through the real `babe`."""

from __future__ import annotations

import pytest


def submitted(people, study_id, count=4, **options) -> list[dict]:
    return [v for v in people(study_id, count, **options) if v["outcome"] == "submit"]


# -- status ------------------------------------------------------------------------------------------
def test_status_counts_places_submissions_and_people_at_work(babe, study_id, people):
    people(study_id, 4, return_rate=0.25, seed=3)  # 3 finish, 1 returns (giving the place back)
    run = babe("status", "--json")
    assert run.code == 0, run
    (hit,) = run.json["hits"]
    assert hit["hit_id"] == study_id and hit["status"] == "Assignable"
    assert (hit["available"], hit["pending"], hit["submitted"], hit["approved"], hit["rejected"]) == (2, 0, 3, 0, 0)


def test_a_full_study_is_reviewable_and_a_participant_at_work_is_pending(babe, study_id, people):
    people(study_id, 1, timeout_rate=1.0)  # takes a place and is still at work
    people(study_id, 4)
    (hit,) = babe("status", "--json").json["hits"]
    assert (hit["available"], hit["pending"], hit["submitted"]) == (0, 1, 4)
    people(study_id, 2)  # nobody else gets in
    assert babe("status", "--json").json["hits"][0]["submitted"] == 4



def test_status_reports_the_median_completion_time_and_the_hourly_pay_it_implies(babe, study_id, people, local):
    import statistics
    from decimal import Decimal

    people(study_id, 5, seed=4)
    times = [r["completed_at"] - r["started_at"] for r in local.submissions().values() if r["completed_at"]]
    run = babe("status", "--json")
    assert run.code == 0, run
    work = run.json["work_time"]
    # Prolific judges pay on the median completion time: what status shows, to the second.
    assert work["submissions"] == 5 and work["median_seconds"] == round(statistics.median(times))
    assert Decimal(work["hourly"]) == (Decimal("1.50") * 3600 / work["median_seconds"]).quantize(Decimal("0.01"))

# -- approve -----------------------------------------------------------------------------------------
def test_approve_pays_every_submission_in_one_bulk_call_and_is_idempotent(babe, study_id, people, local):
    visits = submitted(people, study_id, 4)
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert (run.json["approved"], run.json["already_approved"], run.json["failed"]) == (4, 0, [])
    assert {s["status"] for s in local.submissions().values()} == {"APPROVED"}
    assert local.calls("POST /submissions/bulk-approve/") == 1
    again = babe("approve", "--json")
    assert (again.code, again.json["approved"], again.json["already_approved"]) == (0, 0, 4)
    assert local.calls("POST /submissions/bulk-approve/") == 1
    assert {v["submission_id"] for v in visits} == set(local.submissions())


def test_holds_from_a_labs_hook_are_honoured(babe, experiment, study_id, people, local, monkeypatch):
    monkeypatch.setenv("BABE_PLUGINS", "prolific,hold_one")
    visits = submitted(people, study_id, 3)
    held = visits[1]["participant_id"]
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "hold_one.py").write_text(
        "from babe_tasks import hookimpl\n\n"
        "@hookimpl\n"
        "def babe_before_approve(settings, assignments):\n"
        f"    return [(a.assignment_id, 'checked by hand') for a in assignments if a.worker_id == {held!r}]\n"
    )
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 2
    assert run.json["held"] == [{"assignment_id": visits[1]["submission_id"], "reason": "checked by hand"}]
    statuses = {i: s["status"] for i, s in local.submissions().items()}
    assert statuses[visits[1]["submission_id"]] == "AWAITING REVIEW"


def test_approve_dry_run_changes_nothing(babe, study_id, people, local):
    submitted(people, study_id, 2)
    run = babe("approve", "--dry-run", "--json")
    assert run.code == 0 and run.json["approved"] == 2 and len(run.json["would_approve"]) == 2
    assert {s["status"] for s in local.submissions().values()} == {"AWAITING REVIEW"}


# -- reject ------------------------------------------------------------------------------------------
def test_reject_sends_a_category_and_a_message_of_at_least_100_characters(babe, study_id, people, local):
    first, second = submitted(people, study_id, 2)
    run = babe("reject", "--assignment", first["submission_id"], "--reason", "NO_CODE: no completion code", "--json")
    assert run.code == 0, run
    row = local.submissions()[first["submission_id"]]
    assert row["status"] == "REJECTED" and row["rejection_category"] == "NO_CODE"
    assert row["message"].startswith("no completion code. This submission was reviewed") and len(row["message"]) >= 100
    other = babe("reject", "--assignment", second["submission_id"], "--reason", "Did not follow the instructions", "--json")
    assert other.code == 0, other
    assert local.submissions()[second["submission_id"]]["rejection_category"] == "OTHER"  # the configured default
    again = babe("reject", "--assignment", first["submission_id"], "--reason", "NO_CODE: no completion code", "--json")
    assert again.code == 0 and again.json["already_rejected"] == [first["submission_id"]]
    (hit,) = babe("status", "--json").json["hits"]
    assert (hit["rejected"], hit["available"]) == (2, 5)  # a rejection gives the place back


def test_an_approved_submission_cannot_be_rejected(babe, study_id, people):
    (one,) = submitted(people, study_id, 1)
    assert babe("approve").code == 0
    run = babe("reject", "--assignment", one["submission_id"], "--reason", "too late", "--json")
    assert run.code in (1, 2), run
    assert "APPROVED" in run.out + run.err or "Approved" in run.out + run.err


# -- extend and expire -------------------------------------------------------------------------------
def test_extend_adds_places_by_setting_the_total(babe, study_id, people, local):
    submitted(people, study_id, 5)
    assert babe("status", "--json").json["hits"][0]["status"] == "Reviewable"  # full
    run = babe("extend", "--assignments", "3", "--json")
    assert run.code == 0, run
    (study,) = local.studies()
    assert (study["total_available_places"], study["status"]) == (8, "ACTIVE")
    assert len(submitted(people, study_id, 5)) == 3


def test_extend_beyond_ten_places_needs_no_split_on_prolific(babe, study_id, local):
    run = babe("extend", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert local.studies()[0]["total_available_places"] == 25 and len(local.studies()) == 1


def test_extend_with_a_lifetime_is_refused_prolific_studies_do_not_expire_by_time(babe, study_id):
    run = babe("extend", "--lifetime", "2d", "--json")
    assert run.code == 2, run
    assert "run until stopped or full" in run.out + run.err


def test_expire_stops_the_study_and_delete_explains_why_it_stays(babe, study_id, people, local):
    submitted(people, study_id, 2)
    run = babe("expire", "--json")
    assert run.code == 0, run
    assert run.json["expired"] == [study_id]
    assert local.studies()[0]["status"] == "COMPLETED"
    assert all(v["outcome"] == "refused" for v in people(study_id, 2, seed=9))
    assert babe("approve").code == 0
    again = babe("expire", "--delete", "--json")
    assert again.code == 0, again
    (kept,) = again.json["not_deleted"]
    assert kept["hit_id"] == study_id and "Prolific keeps published studies" in kept["reason"]
    assert len(local.studies()) == 1


# -- cost and sync -----------------------------------------------------------------------------------
def test_cost_shows_spent_and_committed(babe, study_id, people, local):
    submitted(people, study_id, 2)
    assert babe("approve").code == 0
    run = babe("cost", "--json")
    assert run.code == 0, run
    assert (run.json["rewards_paid"], run.json["fees_paid"], run.json["spent"]) == ("3.00", "1.00", "4.00")
    assert run.json["committed"] == "6.00"  # 3 places left at 1.50 + 0.50
    people(study_id, 1)  # one more finishes, one place left
    assert babe("reject", "--assignment", list(local.submissions())[-1], "--reason", "bad data").code == 0
    assert babe("cost", "--json").json["committed"] == "6.00"  # the rejection gave its place back
    assert babe("expire").code == 0
    assert babe("cost", "--json").json["committed"] == "0.00"  # stopped: nothing more to pay


def test_status_sync_restores_a_lost_ledger_from_the_studies(babe, experiment, study_id, people):
    submitted(people, study_id, 2)
    (experiment / ".babe" / "ledger.sqlite").unlink()
    run = babe("status", "--sync", "--json")
    assert run.code == 0, run
    assert [h["hit_id"] for h in run.json["hits"]] == [study_id]
    assert run.json["hits"][0]["submitted"] == 2


# -- credentials and reachability --------------------------------------------------------------------
def test_a_refused_token_is_exit_2_naming_the_variable_never_the_token(babe, study_id, account, monkeypatch):
    secret = "prolific-token-6d1f0a9be2c34"
    account(refused_token=secret)
    monkeypatch.setenv("PROLIFIC_TOKEN", secret)
    for args in (("status", "--json"), ("approve",), ("create",)):
        run = babe(*args)
        assert run.code == 2, run
        assert "PROLIFIC_TOKEN" in run.out + run.err
        assert secret not in run.out + run.err


def test_the_token_variable_is_configurable(babe, study_id, account, configure, monkeypatch):
    account(refused_token="refused-one")
    configure(plugins={"prolific": {"estimated_minutes": 10, "token_env": "LAB_PROLIFIC_TOKEN"}})
    monkeypatch.setenv("LAB_PROLIFIC_TOKEN", "refused-one")
    run = babe("status", "--json")
    assert run.code == 2 and "LAB_PROLIFIC_TOKEN" in run.json["error"]["message"]


def test_live_without_a_token_is_exit_2_before_any_request(babe, experiment):
    run = babe("status", "--target", "live", "--json")
    assert run.code == 2, run
    assert "set PROLIFIC_TOKEN" in run.json["error"]["message"]


def test_an_unreachable_endpoint_is_exit_4(babe, experiment):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = babe("create", "--endpoint-url", f"http://127.0.0.1:{port}", "--json")
    assert run.code == 4, run
    assert f"cannot reach Prolific at http://127.0.0.1:{port}" in run.json["error"]["message"]


@pytest.mark.parametrize("spec", ["throttle=0.4,seed=11", "fault=0.3,seed=5", "drop=0.3,seed=2"])
def test_throttling_server_faults_and_drops_are_retried(babe, experiment, local, people, monkeypatch, spec):
    monkeypatch.setenv("BABE_MAX_CONCURRENCY", "1")
    monkeypatch.setenv("BABE_PROLIFIC_FAULTS", spec)
    run = babe("create", "--json")
    assert run.code == 0, run
    study = run.json["hits"][0]["hit_id"]
    submitted(people, study, 3)
    assert babe("approve", "--json").json["approved"] == 3
    assert len(local.studies()) == 1 and local.calls("POST /studies/", 201) == 1


def test_every_page_of_submissions_is_read(babe, experiment, people, local):
    study = babe("create", "--assignments", "250", "--json").json["hits"][0]["hit_id"]
    people(study, 250)  # three pages of 100
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 250
    assert local.calls("GET /studies/{id}/submissions/") >= 3
    assert {s["status"] for s in local.submissions().values()} == {"APPROVED"}


def test_watch_approves_as_work_arrives_and_stops_at_the_goal(babe, experiment, people):
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    people(study, 3)
    run = babe("watch", "--goal", "3", "--interval", "1s", "--json")
    assert run.code == 0, run
    (hit,) = run.json["status"]["hits"]
    assert (hit["approved"], hit["submitted"], run.json["status"]["spent"]) == (3, 0, "6.00")


def test_report_writes_the_experiments_page(babe, experiment, study_id, people):
    people(study_id, 2)
    run = babe("report", "--json")
    assert run.code == 0, run
    assert list((experiment / "reports").glob("*.html"))


def test_one_folder_can_run_on_mturk_and_prolific_side_by_side(babe, experiment, configure, local):
    configure(platform=None)  # mturk by default, on the local MTurk
    turk = babe("create", "--assignments", "2", "--json")
    assert turk.code == 0, turk
    study = babe("create", "--platform", "prolific", "--assignments", "2", "--json")
    assert study.code == 0, study
    on_prolific = babe("status", "--platform", "prolific", "--json")
    on_mturk = babe("status", "--json")
    assert [h["hit_id"] for h in on_prolific.json["hits"]] == [study.json["hits"][0]["hit_id"]]
    assert [h["hit_id"] for h in on_mturk.json["hits"]] == [turk.json["hits"][0]["hit_id"]]
    assert on_mturk.json["hits"][0]["status"] == "Assignable"  # not taken for a vanished study
    assert study.json.get("blocklist_hits", []) == []  # an MTurk HIT id means nothing to Prolific


def test_a_paused_study_is_unassignable_and_expire_stops_it(babe, study_id, state, local):
    import httpx

    from babe_prolific.local import transport

    with httpx.Client(transport=transport(state), base_url="http://local/api/v1/", headers={"Authorization": "Token t"}) as app:
        assert app.post(f"studies/{study_id}/transition/", json={"action": "PAUSE"}).status_code == 200
    (hit,) = babe("status", "--json").json["hits"]
    assert (hit["status"], hit["available"]) == ("Unassignable", 5)
    run = babe("expire", "--json")
    assert run.code == 0 and run.json["expired"] == [study_id]
    assert local.studies()[0]["status"] == "COMPLETED"


def test_text_output_says_study_where_mturk_says_hit(babe, study_id, people):
    people(study_id, 2)
    status = babe("status")
    assert status.code == 0, status
    assert "Studies of exp1 on local" in status.out and "HITs of" not in status.out
    assert status.out.splitlines()[1].split()[0] == "study"  # the id column's header
    extend = babe("extend", "--assignments", "2", "--yes")
    assert extend.code == 0, extend
    assert f"  study {study_id}  5 -> 7 assignments" in extend.out and "Extended 1 study:" in extend.out
    expire = babe("expire")
    assert expire.code == 0, expire
    assert f"Expired 1 study now: {study_id}" in expire.out
    assert babe("status", "--json").json["hits"][0]["hit_id"] == study_id  # JSON keeps MTurk's names
