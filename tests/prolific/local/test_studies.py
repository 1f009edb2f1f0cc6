"""Studies through both ways in: create, read, list with pagination, PATCH rules, DELETE, transitions."""

from __future__ import annotations

import pytest
from babe_prolific.local.validation import minimum_allowed_time

from .conftest import error_of, study_body


def test_create_answers_201_with_the_draft(api):
    response = api.post("studies/", study_body())
    assert response.status_code == 201
    study = response.json()
    assert len(study["id"]) == 24 and int(study["id"], 16) >= 0
    assert study["status"] == "UNPUBLISHED"
    assert study["reward"] == 100 and study["total_available_places"] == 3
    assert study["internal_name"] == "exp-1/batch-1"
    assert study["maximum_allowed_time"] == minimum_allowed_time(5) == 17  # 2 + 10 + 2·√5 = 16.47 → 17
    assert study["places_taken"] == 0 and study["number_of_submissions"] == 0
    assert study["total_cost"] == 3 * (100 + 33)  # fees 33.33 % per place, VAT 0
    assert api.get(f"studies/{study['id']}/").json() == study


def test_create_names_every_missing_field(api):
    response = api.post("studies/", {"name": "x"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["error_code"] == 140001
    assert set(error["detail"]) == {
        "description", "external_study_url", "prolific_id_option", "total_available_places",
        "estimated_completion_time", "reward", "completion_codes",
    }
    assert api.get("studies/").json()["meta"]["count"] == 0  # nothing half-made


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"reward": 1.5}, "reward"),
        ({"reward": "100"}, "reward"),
        ({"reward": 0}, "reward"),
        ({"total_available_places": 0}, "total_available_places"),
        ({"maximum_allowed_time": 16}, "maximum_allowed_time"),
        ({"external_study_url": "ftp://x"}, "external_study_url"),
        ({"prolific_id_option": "cookie"}, "prolific_id_option"),
        ({"completion_codes": []}, "completion_codes"),
        ({"completion_codes": [{"code": "", "code_type": "COMPLETED", "actions": []}]}, "completion_codes"),
        ({"completion_codes": [{"code": None, "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]}]}, "completion_codes"),
        ({"completion_codes": [{"code": "AB", "code_type": "", "actions": []}]}, "completion_codes"),
        ({"completion_codes": [{"code": "AB", "code_type": "COMPLETED", "actions": [{"action": "REQUEST_RETURN"}]}]}, "completion_codes"),
        ({"completion_codes": [{"code": "AB", "code_type": "COMPLETED", "actor": "robot", "actions": []}]}, "completion_codes"),
        ({"external_study_url": None}, "external_study_url"),
        ({"completion_codes": [{"code": "AB", "code_type": "COMPLETED", "actions": [{"action": "PAY"}]}]}, "completion_codes"),
        ({"device_compatibility": ["watch"]}, "device_compatibility"),
        ({"filters": [{"filter_id": "approval_rate", "selected_values": ["x"]}]}, "filters"),
        ({"filters": [{"filter_id": "previous_studies_blocklist"}]}, "filters"),
    ],
)
def test_create_refuses_what_prolific_refuses(local, overrides, field):
    response = local.post("studies/", study_body(**overrides))
    assert response.status_code == 400
    assert field in error_of(response)["detail"]


def test_create_accepts_everything_createstudy_documents(local):
    """What the spec allows is taken (and kept); what it does not document is ignored, not refused."""
    extras = {
        "completion_option": "code",  # sent by real clients, not in CreateStudy: ignored
        "eligibility_requirements": [],  # deprecated, still accepted
        "is_custom_screening": True,
        "peripheral_requirements": ["audio"],
        "study_labels": ["survey"],
        "content_warnings": ["sensitive"],
        "content_warning_details": "Mentions of illness.",
        "naivety_distribution_rate": 0.5,
        "submissions_config": {"max_submissions_per_participant": 1, "max_concurrent_submissions": -1},
        "filters": [{"filter_id": "age", "selected_range": {"lower": 18, "upper": "65"}}],
        "completion_codes": [
            {"code": "C0DE1234", "code_type": "COMPLETED", "actions": [{"action": "AUTOMATICALLY_APPROVE"}]},
            {"code": "SCREENED", "code_type": "Screened out early", "actor": "researcher", "actions": [{"action": "REQUEST_RETURN", "return_reason": "Did not qualify"}]},
            {"code": "HALF", "code_type": "FIXED_SCREENOUT", "actor": "researcher", "actions": [{"action": "DYNAMIC_PAYMENT"}]},
        ],
        "status": "ACTIVE",  # read-only: ignored
        "colour": "blue",
    }
    response = local.post("studies/", study_body(**extras))
    assert response.status_code == 201, response.text
    study = response.json()
    assert study["status"] == "UNPUBLISHED" and "colour" not in study and "completion_option" not in study
    for key in ("eligibility_requirements", "is_custom_screening", "study_labels", "submissions_config", "filters", "completion_codes"):
        assert study[key] == extras[key], key
    assert study["completion_codes"][1]["code_type"] == "Screened out early"  # free text, as the spec says


def test_maximum_allowed_time_boundary(local):
    est = 16  # 2 + 32 + 8 = 42 exactly
    assert minimum_allowed_time(est) == 42
    assert local.post("studies/", study_body(estimated_completion_time=est, reward=400, maximum_allowed_time=41)).status_code == 400
    assert local.post("studies/", study_body(estimated_completion_time=est, reward=400, maximum_allowed_time=42)).status_code == 201


def test_unknown_study_is_a_404_in_prolifics_shape(api):
    response = api.get("studies/000000000000000000000000/")
    assert response.status_code == 404
    assert error_of(response)["error_code"] == 140404


def test_list_pages_past_20_and_404_past_the_end(api):
    made = [api.draft(internal_name=f"batch-{i}")["id"] for i in range(23)]
    first = api.get("studies/")
    assert first.status_code == 200
    body = first.json()
    assert body["meta"]["count"] == 23 and len(body["results"]) == 20
    assert body["_links"]["previous"]["href"] is None
    following = api.client.get(body["_links"]["next"]["href"])  # an absolute URL: follow it as is
    second = following.json()
    assert [s["id"] for s in body["results"] + second["results"]] == made
    assert second["_links"]["next"]["href"] is None
    past = api.get("studies/", params={"page": 3})
    assert past.status_code == 404 and error_of(past)["detail"] == "Invalid page."
    small = api.get("studies/", params={"page": 5, "page_size": 5}).json()
    assert [s["id"] for s in small["results"]] == made[20:]
    assert api.get("studies/", params={"page_size": "0"}).status_code == 400


def test_patch_changes_anything_on_a_draft(api):
    study = api.draft()
    response = api.patch(f"studies/{study['id']}/", {"reward": 150, "total_available_places": 2, "name": "Renamed"})
    assert response.status_code == 200
    assert (response.json()["reward"], response.json()["total_available_places"], response.json()["name"]) == (150, 2, "Renamed")
    bad = api.patch(f"studies/{study['id']}/", {"reward": 1.25})
    assert bad.status_code == 400 and "reward" in error_of(bad)["detail"]
    assert api.study(study["id"])["reward"] == 150


def test_patch_after_publish_allows_only_name_places_and_config(api):
    study = api.published()
    sid = study["id"]
    refused = api.patch(f"studies/{sid}/", {"reward": 200, "internal_name": "new"})
    assert refused.status_code == 400 and set(error_of(refused)["detail"]) == {"reward"}
    assert api.study(sid)["internal_name"] == "exp-1/batch-1"  # nothing half-done
    fewer = api.patch(f"studies/{sid}/", {"total_available_places": 2})
    assert fewer.status_code == 400 and "total_available_places" in error_of(fewer)["detail"]
    ok = api.patch(f"studies/{sid}/", {"internal_name": "renamed", "total_available_places": 5, "submissions_config": {"max_submissions_per_participant": 1}})
    assert ok.status_code == 200
    assert (ok.json()["internal_name"], ok.json()["total_available_places"]) == ("renamed", 5)
    same = api.patch(f"studies/{sid}/", {"reward": 100})  # an unchanged value is not a change
    assert same.status_code == 200


def test_delete_only_drafts(api):
    draft = api.draft()
    deleted = api.delete(f"studies/{draft['id']}/")
    assert deleted.status_code == 200 and deleted.content == b""  # the spec's 200, no body
    assert api.get(f"studies/{draft['id']}/").status_code == 404
    live = api.published()
    refused = api.delete(f"studies/{live['id']}/")
    assert refused.status_code == 400 and error_of(refused)["error_code"] == 140002
    assert api.get(f"studies/{live['id']}/").status_code == 200


# The reference's transition table: (from, action) → to, every other pair refused. PUBLISH goes
# through PUBLISHING (settled at once here: settle_seconds 0; test_asynchrony.py waits for it).
ALLOWED = {
    ("UNPUBLISHED", "PUBLISH"): "ACTIVE",
    ("ACTIVE", "PAUSE"): "PAUSED",
    ("PAUSED", "START"): "ACTIVE",
    ("ACTIVE", "STOP"): "COMPLETED",
    ("PAUSED", "STOP"): "COMPLETED",
}


def _study_in(api, status: str) -> str:
    if status == "UNPUBLISHED":
        return api.draft()["id"]
    sid = api.published()["id"]
    if status == "PAUSED":
        api.post(f"studies/{sid}/transition/", {"action": "PAUSE"})
    elif status == "COMPLETED":
        api.post(f"studies/{sid}/transition/", {"action": "STOP"})
    assert api.study(sid)["status"] == status
    return sid


@pytest.mark.parametrize("start", ["UNPUBLISHED", "ACTIVE", "PAUSED", "COMPLETED"])
@pytest.mark.parametrize("action", ["PUBLISH", "PAUSE", "START", "STOP"])
def test_transition_table(local, start, action):
    sid = _study_in(local, start)
    response = local.post(f"studies/{sid}/transition/", {"action": action})
    expected = ALLOWED.get((start, action))
    if expected is None:
        assert response.status_code == 400
        assert error_of(response)["error_code"] == 140002
        assert local.study(sid)["status"] == start
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == expected == local.study(sid)["status"]


def test_transition_refuses_unknown_actions_and_works_over_http(api):
    sid = api.draft()["id"]
    bad = api.post(f"studies/{sid}/transition/", {"action": "LAUNCH"})
    assert bad.status_code == 400 and "action" in error_of(bad)["detail"]
    assert api.post(f"studies/{sid}/transition/", {"action": "PUBLISH"}).json()["status"] == "ACTIVE"


def test_publishing_an_underpaying_study_is_refused(api):
    sid = api.draft(reward=60, estimated_completion_time=5)["id"]  # $7.20 an hour < $8.00
    response = api.post(f"studies/{sid}/transition/", {"action": "PUBLISH"})
    assert response.status_code == 400 and "reward" in error_of(response)["detail"]
    assert api.study(sid)["status"] == "UNPUBLISHED"
    api.patch(f"studies/{sid}/", {"reward": 67})  # $8.04 an hour
    assert api.post(f"studies/{sid}/transition/", {"action": "PUBLISH"}).status_code == 200


def test_more_places_reopen_a_completed_study(local):
    sid = local.published(total_available_places=2)["id"]
    local.simulate(sid, 2)
    ids = [s["id"] for s in local.submissions(sid)]
    local.post("submissions/bulk-approve/", {"submission_ids": ids})
    assert local.study(sid)["status"] == "COMPLETED"
    assert local.patch(f"studies/{sid}/", {"total_available_places": 3}).json()["status"] == "ACTIVE"
    stopped = local.published()["id"]
    local.post(f"studies/{stopped}/transition/", {"action": "STOP"})
    assert local.patch(f"studies/{stopped}/", {"total_available_places": 4}).json()["status"] == "ACTIVE"


def test_bad_json_and_wrong_methods(api):
    response = api.client.post("studies/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_of(response)["error_code"] == 140001
    wrong = api.client.put("studies/")
    assert wrong.status_code == 405 and error_of(wrong)["error_code"] == 140405
    slashless = api.get("studies")
    assert slashless.status_code == 404 and "end in /" in error_of(slashless)["detail"]
