"""Submissions through both ways in: lists, counts, one submission, review transitions, bulk approval,
and how they move the study's status."""

from __future__ import annotations

from datetime import datetime

import pytest

from babe_prolific.local.store import Store

from .conftest import error_of

MESSAGE = "Your submission did not include the completion code we asked for, so we cannot accept it this time; sorry."
assert len(MESSAGE) >= 100


@pytest.fixture
def filled(api):
    """A published 3-place study that three participants have finished (AWAITING REVIEW)."""
    sid = api.published()["id"]
    api.simulate(sid, 3)
    return sid


def test_list_items_are_submission_shorts(api, filled):
    items = api.submissions(filled)
    assert len(items) == 3
    for item in items:
        assert set(item) == {"id", "study_id", "participant_id", "status", "started_at", "completed_at", "has_siblings", "study_code", "return_requested"}
        assert item["status"] == "AWAITING REVIEW" and item["study_code"] == "C0DE1234" and item["study_id"] == filled
        assert item["has_siblings"] is False and item["return_requested"] is None
        taken = datetime.fromisoformat(item["completed_at"]) - datetime.fromisoformat(item["started_at"])
        assert 0 < taken.total_seconds() <= 17 * 60
    counts = api.counts(filled)
    assert counts["AWAITING REVIEW"] == 3 and counts["TOTAL"] == 3 and counts["APPROVED"] == 0
    assert api.get("studies/000000000000000000000000/submissions/").status_code == 404
    # Prolific publishes no counts endpoint; the local one no longer invents it
    assert api.get(f"studies/{filled}/submissions/counts/").status_code == 404


def test_global_list_filters_by_study(api, filled):
    other = api.published()["id"]
    api.simulate(other, 2)
    everything = api.get("submissions/", params={"page_size": 200}).json()
    assert everything["meta"]["count"] == 5
    mine = api.get("submissions/", params={"study": filled}).json()["results"]
    assert [s["id"] for s in mine] == [s["id"] for s in api.submissions(filled)]
    approved = api.get("submissions/", params={"study": other, "status": "APPROVED"}).json()
    assert approved["results"] == [] and approved["meta"]["count"] == 0
    assert api.get("submissions/", params={"study": "000000000000000000000000"}).status_code == 404


def test_list_filters_by_status_with_underscores(api, filled):
    first = api.submissions(filled)[0]["id"]
    api.post(f"submissions/{first}/transition/", {"action": "APPROVE"})
    waiting = api.get(f"studies/{filled}/submissions/", params={"status": "AWAITING_REVIEW"}).json()
    assert waiting["meta"]["count"] == 2 and first not in [s["id"] for s in waiting["results"]]
    assert api.get(f"studies/{filled}/submissions/", params={"status": "FINISHED"}).status_code == 400


def test_submission_pagination_past_20(local):
    sid = local.published(total_available_places=25)["id"]
    local.simulate(sid, 25)
    page1 = local.get(f"studies/{sid}/submissions/").json()
    assert len(page1["results"]) == 20 and page1["meta"]["count"] == 25
    page2 = local.client.get(page1["_links"]["next"]["href"]).json()
    assert len(page2["results"]) == 5 and page2["_links"]["next"]["href"] is None
    assert len({s["id"] for s in page1["results"] + page2["results"]}) == 25
    assert local.get(f"studies/{sid}/submissions/", params={"page": 3}).status_code == 404


def test_get_one_is_a_submission_detail(api, filled):
    item = api.submissions(filled)[0]
    one = api.get(f"submissions/{item['id']}/").json()
    assert one["participant"] == item["participant_id"] and "participant_id" not in one
    assert one["entered_code"] == item["study_code"] == "C0DE1234" and "study_code" not in one
    assert one["study_id"] == filled and one["status"] == "AWAITING REVIEW"
    assert one["bonus_payments"] == [] and one["return_requested"] is None
    missing = api.get("submissions/000000000000000000000000/")
    assert missing.status_code == 404 and error_of(missing)["error_code"] == 140404


def test_approve_is_idempotent_and_irreversible(api, filled):
    sid = api.submissions(filled)[0]["id"]
    first = api.post(f"submissions/{sid}/transition/", {"action": "APPROVE"})
    assert first.status_code == 200 and first.json()["status"] == "APPROVED"
    again = api.post(f"submissions/{sid}/transition/", {"action": "APPROVE"})
    assert again.status_code == 200 and again.json()["status"] == "APPROVED"
    reject = api.post(f"submissions/{sid}/transition/", {"action": "REJECT", "rejection_category": "NO_CODE", "message": MESSAGE})
    assert reject.status_code == 400 and error_of(reject)["error_code"] == 140002
    assert api.get(f"submissions/{sid}/").json()["status"] == "APPROVED"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "REJECT", "rejection_category": "NO_CODE", "message": "too short"}, "message"),
        ({"action": "REJECT", "rejection_category": "RUDE", "message": MESSAGE}, "rejection_category"),
        ({"action": "REJECT", "message": MESSAGE}, "rejection_category"),
        ({"action": "PAY"}, "action"),
    ],
)
def test_reject_needs_a_long_message_and_a_known_category(local, body, field):
    sid = local.published()["id"]
    local.simulate(sid, 1)
    sub = local.submissions(sid)[0]["id"]
    response = local.post(f"submissions/{sub}/transition/", body)
    assert response.status_code == 400 and field in error_of(response)["detail"]
    assert local.get(f"submissions/{sub}/").json()["status"] == "AWAITING REVIEW"


def test_rejection_reopens_a_place(api, filled):
    assert api.study(filled)["status"] == "AWAITING REVIEW"
    subs = api.submissions(filled)
    rejected = api.post(f"submissions/{subs[0]['id']}/transition/", {"action": "REJECT", "rejection_category": "NO_CODE", "message": MESSAGE})
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    with Store(api.state).read() as tx:
        assert tx.execute("SELECT rejection_category FROM submissions WHERE id = ?", (subs[0]["id"],)).fetchone()[0] == "NO_CODE"
    study = api.study(filled)
    assert study["status"] == "ACTIVE" and study["places_taken"] == 2
    again = api.post(f"submissions/{subs[0]['id']}/transition/", {"action": "REJECT", "rejection_category": "NO_CODE", "message": MESSAGE})
    assert again.status_code == 200  # idempotent
    taken = api.simulate(filled, 2)
    assert [r["outcome"] for r in taken] == ["submit", "refused"] and taken[1]["reason"] == "closed (study is AWAITING REVIEW)"


def test_study_completes_when_every_submission_is_reviewed(api, filled):
    subs = api.submissions(filled)
    for sub in subs[:2]:
        api.post(f"submissions/{sub['id']}/transition/", {"action": "APPROVE"})
    assert api.study(filled)["status"] == "AWAITING REVIEW"
    api.post(f"submissions/{subs[2]['id']}/transition/", {"action": "APPROVE"})
    study = api.study(filled)
    assert study["status"] == "COMPLETED" and study["completed_at"] is not None


def test_unsubmitted_work_cannot_be_reviewed(local):
    sid = local.published()["id"]
    [active] = local.simulate(sid, 1, timeout_rate=1.0)
    assert active["status"] == "ACTIVE"
    response = local.post(f"submissions/{active['submission_id']}/transition/", {"action": "APPROVE"})
    assert response.status_code == 400 and "ACTIVE" in error_of(response)["detail"]


def test_bulk_approve(api, filled):
    ids = [s["id"] for s in api.submissions(filled)]
    response = api.post("submissions/bulk-approve/", {"submission_ids": ids})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json() == "The request to bulk approve has been made successfully."  # a JSON string, as the spec says
    assert {s["status"] for s in api.submissions(filled)} == {"APPROVED"}
    assert api.post("submissions/bulk-approve/", {"submission_ids": ids}).status_code == 200  # again: nothing changes
    assert api.study(filled)["status"] == "COMPLETED"


def test_bulk_approve_by_study_and_participants(api, filled):
    subs = api.submissions(filled)
    people = [s["participant_id"] for s in subs[:2]]
    response = api.post("submissions/bulk-approve/", {"study_id": filled, "participant_ids": people})
    assert response.status_code == 200 and isinstance(response.json(), str)
    assert [s["status"] for s in api.submissions(filled)] == ["APPROVED", "APPROVED", "AWAITING REVIEW"]
    stranger = api.post("submissions/bulk-approve/", {"study_id": filled, "participant_ids": ["ffffffffffffffffffffffff"]})
    assert stranger.status_code == 400 and "participant_ids" in error_of(stranger)["detail"]
    both = api.post("submissions/bulk-approve/", {"study_id": filled, "participant_ids": people, "submission_ids": [subs[2]["id"]]})
    assert both.status_code == 400
    assert api.submissions(filled)[2]["status"] == "AWAITING REVIEW"


def test_bulk_approve_refusals_change_nothing(api, filled):
    ids = [s["id"] for s in api.submissions(filled)]
    unknown = api.post("submissions/bulk-approve/", {"submission_ids": [ids[0], "ffffffffffffffffffffffff"]})
    assert unknown.status_code == 400 and "submission_ids" in error_of(unknown)["detail"]
    too_many = api.post("submissions/bulk-approve/", {"submission_ids": [f"{i:024x}" for i in range(1001)]})
    assert too_many.status_code == 400 and "1000" in error_of(too_many)["detail"]["submission_ids"][0]
    empty = api.post("submissions/bulk-approve/", {"submission_ids": []})
    assert empty.status_code == 400
    assert {s["status"] for s in api.submissions(filled)} == {"AWAITING REVIEW"}


def test_bulk_approve_accepts_exactly_1000(local):
    sid = local.published(total_available_places=1000)["id"]
    local.simulate(sid, 1000)
    ids = [s["id"] for s in local.submissions(sid)]
    for number in range(2, 6):
        ids += [s["id"] for s in local.get(f"studies/{sid}/submissions/", params={"page": number, "page_size": 200}).json()["results"]]
    assert len(set(ids)) == 1000
    assert local.post("submissions/bulk-approve/", {"submission_ids": ids}).status_code == 200
    assert local.counts(sid)["APPROVED"] == 1000


def test_stop_from_awaiting_review_and_not_twice(api, filled):
    response = api.post(f"studies/{filled}/transition/", {"action": "STOP"})
    assert response.status_code == 200 and response.json()["status"] == "COMPLETED"
    again = api.post(f"studies/{filled}/transition/", {"action": "STOP"})
    assert again.status_code == 400 and "already stopped" in error_of(again)["detail"]
    # review still works after stopping, and the study stays completed
    sub = api.submissions(filled)[0]["id"]
    assert api.post(f"submissions/{sub}/transition/", {"action": "APPROVE"}).status_code == 200
    assert api.study(filled)["status"] == "COMPLETED"
