"""Mutually exclusive study collections through both ways in: CRUD, publishing (now and scheduled),
and the point of them — a participant takes only one study of a collection."""

from __future__ import annotations

from babe_prolific.local import advance_clock
from babe_tasks.simulation.statefile import read_token

from .conftest import SPEC_AUTH, error_of

BASE = "study-collections/mutually-exclusive/"
P1, P2, P3 = "a1" * 12, "b2" * 12, "c3" * 12


def _project(api) -> str:
    workspace_id = api.get("users/me/").json()["current_workspace_id"]
    return api.get(f"workspaces/{workspace_id}/projects/").json()["results"][0]["id"]


def _collection(api, study_ids, **extra) -> dict:
    body = {"name": "Conditions", "description": "One condition per participant", "project_id": _project(api), "study_ids": study_ids, **extra}
    response = api.post(BASE, body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_list_update_delete(api):
    a, b = api.draft()["id"], api.draft()["id"]
    made = _collection(api, [a])
    assert made["status"] == "UNPUBLISHED" and made["study_ids"] == [a] and made["publish_at"] is None
    got = api.get(f"{BASE}{made['id']}/").json()
    assert got["name"] == "Conditions" and got["estimated_cost"].startswith("$") and got["total_cost"] is None
    assert [c["id"] for c in api.get(BASE, params={"project_id": _project(api)}).json()["results"]] == [made["id"]]
    patched = api.patch(f"{BASE}{made['id']}/", {"study_ids": [a, b], "name": "A or B"})
    assert patched.status_code == 200 and patched.json()["study_ids"] == [a, b] and patched.json()["name"] == "A or B"
    assert api.delete(f"{BASE}{made['id']}/").status_code == 204
    assert api.get(f"{BASE}{made['id']}/").status_code == 404
    assert api.get(f"studies/{a}/").status_code == 200  # the studies stay


def test_refusals(api):
    assert api.get(BASE).status_code == 400  # project_id is required
    assert set(error_of(api.post(BASE, {"name": "x"}))["detail"]) >= {"project_id"}
    published = api.published()["id"]
    refused = api.post(BASE, {"name": "x", "description": "y", "project_id": _project(api), "study_ids": [published]})
    assert "study_ids" in error_of(refused)["detail"]  # only drafts join
    assert "study_ids" in error_of(api.post(BASE, {"name": "x", "description": "y", "project_id": _project(api), "study_ids": ["0" * 24]}))["detail"]
    empty = _collection(api, [])
    assert error_of(api.post(f"{BASE}{empty['id']}/transition/", {"action": "PUBLISH"}))["error_code"] == 140002
    assert api.post(f"{BASE}{empty['id']}/transition/", {"action": "LAUNCH"}).status_code == 400


def test_a_study_joining_another_collection_leaves_the_first(api):
    a = api.draft()["id"]
    first = _collection(api, [a])
    second = _collection(api, [a])
    assert api.get(f"{BASE}{first['id']}/").json()["study_ids"] == []
    assert api.get(f"{BASE}{second['id']}/").json()["study_ids"] == [a]


def test_publishing_publishes_every_study_and_keeps_participants_to_one(api):
    a, b = api.draft(total_available_places=5)["id"], api.draft(total_available_places=5)["id"]
    collection = _collection(api, [a, b])
    published = api.post(f"{BASE}{collection['id']}/transition/", {"action": "PUBLISH"})
    assert published.status_code == 200 and published.json()["status"] in ("PUBLISHING", "ACTIVE")
    assert api.get(f"{BASE}{collection['id']}/").json()["status"] == "ACTIVE"
    assert {api.study(a)["status"], api.study(b)["status"]} == {"ACTIVE"}
    assert api.delete(f"{BASE}{collection['id']}/").status_code == 400  # published: it stays
    first = api.simulate(a, 2, participant_ids=[P1, P2])
    assert [p["outcome"] for p in first] == ["submit", "submit"]
    second = {p["participant_id"]: p for p in api.simulate(b, 3, participant_ids=[P1, P2, P3])}
    assert second[P1]["outcome"] == second[P2]["outcome"] == "refused"
    assert "collection" in second[P1]["reason"] and second[P3]["outcome"] == "submit"


def test_a_short_balance_publishes_none_of_them(local):
    a, b = local.draft()["id"], local.draft()["id"]
    collection = _collection(local, [a, b])
    token = {"X-Babe-Local-Token": read_token(local.state)}  # the private routes ask for the state's token
    local.client.post("http://localprolific/_local/account", json={"balance": 500}, headers=token)  # one study costs 3 × 133
    refused = local.post(f"{BASE}{collection['id']}/transition/", {"action": "PUBLISH"})
    assert error_of(refused)["error_code"] == 140003
    assert local.study(a)["status"] == local.study(b)["status"] == "UNPUBLISHED"
    assert local.get(f"{BASE}{collection['id']}/").json()["status"] == "UNPUBLISHED"


def test_scheduled_publishing_waits_for_its_time_and_can_be_cancelled(local):
    a = local.draft()["id"]
    collection = _collection(local, [a], publish_at="2050-02-28T13:45:00 Europe/London")
    scheduled = local.post(f"{BASE}{collection['id']}/transition/", {"action": "SCHEDULE_PUBLISH"})
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "SCHEDULED"
    cancelled = local.post(f"{BASE}{collection['id']}/transition/", {"action": "CANCEL_PUBLISH"}).json()
    assert cancelled["status"] == "UNPUBLISHED"
    assert error_of(local.post(f"{BASE}{collection['id']}/transition/", {"action": "CANCEL_PUBLISH"}))["error_code"] == 140002

    soon = local.post(f"{BASE}{collection['id']}/transition/", {"action": "SCHEDULE_PUBLISH", "publish_at": _in_an_hour(local)})
    assert soon.json()["status"] == "SCHEDULED" and local.study(a)["status"] == "UNPUBLISHED"
    advance_clock(local.state, 2 * 3600)
    local.get("users/me/")  # any request publishes what is due
    assert local.study(a)["status"] in ("PUBLISHING", "ACTIVE")
    assert local.get(f"{BASE}{collection['id']}/").json()["status"] in ("PUBLISHING", "ACTIVE")


def _in_an_hour(api) -> str:
    from datetime import UTC, datetime

    now = api.client.get("http://localprolific/_local/clock").json()["now"]
    return datetime.fromtimestamp(now + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%S UTC")


def test_pyrolific_reads_every_answer(local, spec_client):
    """A client generated from the spec (nobody here wrote it) reads, updates and publishes a
    collection. (It cannot create one: its create body, generated from the spec's allOf, has no
    `project_id`, which the spec requires — docs/localprolific.md.)"""
    from pyrolific.api.study_collections import (
        delete_mutually_exclusive_study_collection,
        get_mutually_exclusive_study_collection,
        list_mutually_exclusive_study_collections,
        transition_mutually_exclusive_study_collection,
        update_mutually_exclusive_study_collection,
    )
    from pyrolific.models import MutuallyExclusiveStudyCollectionUpdate, TransitionMutuallyExclusiveStudyCollectionBody

    client, token = spec_client, SPEC_AUTH
    a, b = local.draft()["id"], local.draft()["id"]
    collection = _collection(local, [a])
    listed = list_mutually_exclusive_study_collections.sync_detailed(client=client, project_id=_project(local), authorization=token).parsed
    assert [c.name for c in listed.results] == ["Conditions"]  # its models, made from the allOf, drop `id`
    update = MutuallyExclusiveStudyCollectionUpdate(study_ids=[a, b])
    assert update_mutually_exclusive_study_collection.sync_detailed(collection["id"], client=client, body=update, authorization=token).parsed.study_ids == [a, b]
    publish = TransitionMutuallyExclusiveStudyCollectionBody.from_dict({"action": "PUBLISH"})
    assert transition_mutually_exclusive_study_collection.sync_detailed(collection["id"], client=client, body=publish, authorization=token).status_code == 200
    got = get_mutually_exclusive_study_collection.sync_detailed(collection["id"], client=client, authorization=token).parsed
    assert got.study_ids == [a, b]
    spare = _collection(local, [])
    assert delete_mutually_exclusive_study_collection.sync_detailed(spare["id"], client=client, authorization=token).status_code == 204
