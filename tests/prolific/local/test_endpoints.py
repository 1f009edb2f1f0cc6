"""The endpoints a lab or a client reaches for beyond create/publish/review: list shapes and filters,
clone, export, test studies, researcher completion, return requests, screen-outs, users/me."""

from __future__ import annotations

import csv
import io

from babe_prolific.local import advance_clock

from .conftest import error_of, study_body

SHORT = {"id", "name", "internal_name", "status", "study_type", "total_available_places", "places_taken",
         "number_of_submissions", "reward", "total_cost", "published_at", "publish_at", "date_created"}


def test_the_list_has_study_shorts_and_the_study_is_whole(api):
    draft = api.draft()
    [item] = api.get("studies/").json()["results"]
    assert set(item) == SHORT and item["id"] == draft["id"]
    whole = api.study(draft["id"])
    assert {"description", "external_study_url", "completion_codes", "filters", "maximum_allowed_time"} <= set(whole)


def test_the_state_filter(api):
    draft, live = api.draft()["id"], api.published()["id"]
    assert [s["id"] for s in api.get("studies/", params={"state": "UNPUBLISHED"}).json()["results"]] == [draft]
    assert [s["id"] for s in api.get("studies/", params={"state": "ACTIVE"}).json()["results"]] == [live]
    assert api.get("studies/", params={"state": "(active|unpublished)"}).json()["meta"]["count"] == 2
    assert api.get("studies/", params={"state": "SCHEDULED"}).json()["results"] == []
    bad = api.get("studies/", params={"state": "FINISHED"})
    assert bad.status_code == 400 and "state" in error_of(bad)["detail"]


def test_a_projects_studies(local):
    mine = local.draft(project="619e049f7648a4e1f8f3645b")["id"]
    local.draft()
    listed = local.get("projects/619e049f7648a4e1f8f3645b/studies/").json()["results"]
    assert [s["id"] for s in listed] == [mine]


def test_limit_and_offset_paging(local):
    made = [local.draft()["id"] for _ in range(5)]
    first = local.get("studies/", params={"limit": 2, "offset": 0}).json()
    assert [s["id"] for s in first["results"]] == made[:2] and first["meta"]["count"] == 5
    second = local.client.get(first["_links"]["next"]["href"]).json()
    assert [s["id"] for s in second["results"]] == made[2:4]
    last = local.get("studies/", params={"limit": 2, "offset": 4}).json()
    assert [s["id"] for s in last["results"]] == made[4:] and last["_links"]["next"]["href"] is None


def test_clone_blocks_the_original_participants_unless_asked_not_to(api):
    sid = api.published()["id"]
    copy = api.post(f"studies/{sid}/clone/", {})
    assert copy.status_code == 200
    clone = copy.json()
    assert clone["id"] != sid and clone["status"] == "UNPUBLISHED" and clone["name"] == api.study(sid)["name"]
    assert clone["filters"] == [{"filter_id": "previous_studies_blocklist", "selected_values": [sid]}]
    again = api.post(f"studies/{clone['id']}/clone/", {}).json()
    assert again["filters"] == [{"filter_id": "previous_studies_blocklist", "selected_values": [sid, clone["id"]]}]
    free = api.post(f"studies/{sid}/clone/", {"block_previous_participants": False}).json()
    assert free["filters"] == []
    assert api.post("studies/000000000000000000000000/clone/", {}).status_code == 404


def test_export_is_csv_or_an_email(api):
    sid = api.published()["id"]
    api.simulate(sid, 2)
    response = api.get(f"studies/{sid}/export/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["Submission id"] for r in rows] == [s["id"] for s in api.submissions(sid)]
    assert {r["Completion code"] for r in rows} == {"C0DE1234"} and {r["Status"] for r in rows} == {"AWAITING REVIEW"}
    mailed = api.get(f"studies/{sid}/export/", params={"method": "EMAIL"})
    assert mailed.json() == {"status": "Your export should arrive shortly."}


def test_test_study_publishes_a_one_place_copy_of_a_draft(api):
    draft = api.draft()["id"]
    made = api.post(f"study/{draft}/test-study", {"target_participant_id": "619e049f7648a4e1f8f3645b"})
    assert made.status_code == 200, made.text
    answer = made.json()
    test = api.study(answer["study_id"])
    assert answer["study_url"].endswith(answer["study_id"])
    assert test["total_available_places"] == 1 and test["status"] == "ACTIVE"
    assert {"filter_id": "custom_allowlist", "selected_values": ["619e049f7648a4e1f8f3645b"]} in test["filters"]
    assert api.study(draft)["status"] == "UNPUBLISHED"
    live = api.published()["id"]
    refused = api.post(f"study/{live}/test-study", {"target_participant_id": "619e049f7648a4e1f8f3645b"})
    assert refused.status_code == 400


RESEARCHER_CODES = [
    {"code": "C0DE1234", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]},
    {"code": "DONE4YOU", "code_type": "COMPLETED", "actor": "researcher", "actions": [{"action": "AUTOMATICALLY_APPROVE"}]},
    {"code": "CHECKME", "code_type": "Needs a look", "actor": "researcher", "actions": [{"action": "MANUALLY_REVIEW"}]},
]


def test_complete_is_the_researchers_with_a_researcher_code(api):
    sid = api.published(completion_codes=RESEARCHER_CODES)["id"]
    first, second = (r["submission_id"] for r in api.simulate(sid, 2, timeout_rate=1.0))  # both still ACTIVE
    done = api.post(f"submissions/{first}/transition/", {"action": "COMPLETE", "completion_code": "DONE4YOU"})
    assert done.status_code == 200 and done.json()["status"] == "APPROVED" and done.json()["entered_code"] == "DONE4YOU"
    again = api.post(f"submissions/{first}/transition/", {"action": "COMPLETE", "completion_code": "DONE4YOU"})
    assert again.status_code == 200 and again.json()["status"] == "APPROVED"  # idempotent
    participant_code = api.post(f"submissions/{second}/transition/", {"action": "COMPLETE", "completion_code": "C0DE1234"})
    assert participant_code.status_code == 400 and "completion_code" in error_of(participant_code)["detail"]
    missing = api.post(f"submissions/{second}/transition/", {"action": "COMPLETE"})
    assert missing.status_code == 400
    review = api.post(f"submissions/{second}/transition/", {"action": "COMPLETE", "completion_code": "CHECKME"})
    assert review.json()["status"] == "AWAITING REVIEW"
    late = api.post(f"submissions/{second}/transition/", {"action": "COMPLETE", "completion_code": "DONE4YOU"})
    assert late.status_code == 400 and error_of(late)["error_code"] == 140002


def test_request_return(api):
    sid = api.published()["id"]
    api.simulate(sid, 1)
    sub = api.submissions(sid)[0]
    asked = api.post(f"submissions/{sub['id']}/request-return/", {"request_return_reasons": ["Withdrew consent"]})
    assert asked.status_code == 200
    body = asked.json()
    assert (body["id"], body["status"], body["participant"]) == (sub["id"], "AWAITING REVIEW", sub["participant_id"])
    assert body["return_requested"] is not None
    assert api.submissions(sid)[0]["return_requested"] == body["return_requested"]
    assert api.get(f"submissions/{sub['id']}/").json()["return_requested"] == body["return_requested"]
    assert api.post(f"submissions/{sub['id']}/request-return/", {"request_return_reasons": []}).status_code == 400
    api.post(f"submissions/{sub['id']}/transition/", {"action": "APPROVE"})
    late = api.post(f"submissions/{sub['id']}/request-return/", {"request_return_reasons": ["Other"]})
    assert late.status_code == 400


def test_screen_out_pays_at_least_the_minimum_and_frees_the_places(api):
    start = api.available()
    sid = api.published(is_custom_screening=True, total_available_places=3, estimated_completion_time=10, reward=200)["id"]
    api.simulate(sid, 2, timeout_rate=1.0)
    advance_clock(api.state, 6 * 60)  # six minutes in, still active
    ids = [s["id"] for s in api.submissions(sid)]
    calc = api.post(f"studies/{sid}/calculate-screen-out-payment/", {"submission_ids": ids})
    assert calc.status_code == 200
    advice = calc.json()
    assert 6 <= advice["average_submission_time_minutes"] < 6.1
    assert advice["minimum_reward"] == {"amount": 81, "currency": "USD"}  # $8.00/h for 6 min, rounded up
    assert advice["recommended_reward"]["amount"] == 121  # the study's own rate: 200 per 10 min
    low = api.post(f"studies/{sid}/screen-out-submissions/", {"submission_ids": ids, "bonus_per_submission": 0.5})
    assert low.status_code == 400 and api.submissions(sid)[0]["status"] == "ACTIVE"
    done = api.post(f"studies/{sid}/screen-out-submissions/", {"submission_ids": ids, "bonus_per_submission": 1.25})
    assert done.status_code == 202 and done.json()["payment_per_participant"] == {"amount": 125, "currency": "USD"}
    assert {s["status"] for s in api.submissions(sid)} == {"SCREENED OUT"}
    assert api.study(sid)["places_taken"] == 0
    assert api.get(f"submissions/{ids[0]}/").json()["bonus_payments"] == [125]
    assert api.available() == start - 3 * (200 + 67) - 2 * (125 + 42)  # places stay funded while the study runs
    plain = api.published()["id"]
    api.simulate(plain, 1)
    refused = api.post(f"studies/{plain}/screen-out-submissions/", {"submission_ids": [api.submissions(plain)[0]["id"]], "bonus_per_submission": 1})
    assert refused.status_code == 400  # only for custom-screening studies


def test_users_me_is_a_user_with_documented_extras(api):
    me = api.get("users/me/").json()
    assert {"id", "email"} <= set(me)
    assert me["fees_percentage"] == 0.3333 and me["vat_percentage"] == 0.0  # fractions, as Prolific's objects
    assert me["balance"] == me["available_balance"] == 1_000_000


def test_study_body_defaults_are_kept(local):
    study = local.post("studies/", study_body()).json()
    assert study["maximum_allowed_time"] == 17 and study["is_custom_screening"] is False and study["peripheral_requirements"] == []
