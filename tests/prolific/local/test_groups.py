"""Participant groups: CRUD and membership through both ways in, and what they do to participants —
blocklists and allowlists keep people out or let only them in, completion codes move people."""

from __future__ import annotations

from .conftest import SPEC_AUTH, error_of

P1, P2, P3 = "a1" * 12, "b2" * 12, "c3" * 12


def _workspace(api) -> str:
    return api.get("users/me/").json()["current_workspace_id"]


def _group(api, name="Earlier participants", **extra) -> dict:
    response = api.post("participant-groups/", {"workspace_id": _workspace(api), "name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _members(api, group_id) -> list[str]:
    return [m["participant_id"] for m in api.get(f"participant-groups/{group_id}/participants/").json()["results"]]


def test_create_get_list_update_delete(api):
    group = _group(api, description="Took part in experiment 1", participant_ids=[P1, P2, P1])
    assert group["participant_count"] == 2 and group["is_deleted"] is False
    assert group["workspace_id"] == _workspace(api) and group["feeder_studies"] == []
    assert api.get(f"participant-groups/{group['id']}/").json() == group
    listed = api.get("participant-groups/", params={"workspace_id": _workspace(api)}).json()["results"]
    assert [g["id"] for g in listed] == [group["id"]]
    project_id = api.get(f"workspaces/{_workspace(api)}/projects/").json()["results"][0]["id"]
    assert [g["id"] for g in api.get("participant-groups/", params={"project_id": project_id}).json()["results"]] == [group["id"]]
    # As a client generated from the spec sends the `filter` object.
    assert len(api.get("participant-groups/", params={"filter": str({"workspace_id": _workspace(api)})}).json()["results"]) == 1

    patched = api.patch(f"participant-groups/{group['id']}/", {"name": "Experiment 1", "participant_ids": [P2, P3]})
    assert patched.status_code == 200 and patched.json()["name"] == "Experiment 1"
    assert _members(api, group["id"]) == [P2, P3]  # overwritten, as the spec says

    assert api.delete(f"participant-groups/{group['id']}/").status_code == 204
    assert api.get(f"participant-groups/{group['id']}/").json()["is_deleted"] is True
    workspace = _workspace(api)
    assert api.get("participant-groups/", params={"workspace_id": workspace, "active": "true"}).json()["results"] == []
    assert len(api.get("participant-groups/", params={"workspace_id": workspace, "active": "false"}).json()["results"]) == 1


def test_membership_add_and_remove_ignore_repeats(api):
    group = _group(api)
    added = api.post(f"participant-groups/{group['id']}/participants/", {"participant_ids": [P1, P2]})
    assert added.status_code == 200 and [m["participant_id"] for m in added.json()["results"]] == [P1, P2]
    again = api.post(f"participant-groups/{group['id']}/participants/", {"participant_ids": [P2, P3]}).json()["results"]
    assert [m["participant_id"] for m in again] == [P1, P2, P3]
    assert all(m["datetime_created"].endswith("Z") for m in again)
    removed = api.client.request("DELETE", f"participant-groups/{group['id']}/participants/", json={"participant_ids": [P1, "f" * 24]})
    assert removed.status_code == 200 and [m["participant_id"] for m in removed.json()["results"]] == [P2, P3]
    assert api.get(f"participant-groups/{group['id']}/").json()["participant_count"] == 2


def test_refusals(api):
    assert set(error_of(api.post("participant-groups/", {"workspace_id": _workspace(api)}))["detail"]) == {"name"}
    assert "workspace_id" in error_of(api.post("participant-groups/", {"name": "x"}))["detail"]
    assert "workspace_id" in error_of(api.post("participant-groups/", {"name": "x", "workspace_id": "0" * 24}))["detail"]
    assert api.get("participant-groups/").status_code == 400  # the spec's filter is required
    assert api.get("participant-groups/000000000000000000000000/").status_code == 404
    group = _group(api)
    assert api.post(f"participant-groups/{group['id']}/participants/", {"participant_ids": "x"}).status_code == 400
    api.delete(f"participant-groups/{group['id']}/")
    assert api.post(f"participant-groups/{group['id']}/participants/", {"participant_ids": [P1]}).status_code == 400


def _outcomes(api, study_id, people) -> dict[str, str | None]:
    return {p["participant_id"]: p["reason"] for p in api.simulate(study_id, len(people), participant_ids=people)}


def test_a_blocklisted_group_keeps_its_members_out(local):
    group = _group(local, participant_ids=[P1])
    study = local.published(total_available_places=5, filters=[{"filter_id": "participant_group_blocklist", "selected_values": [group["id"]]}])
    reasons = _outcomes(local, study["id"], [P1, P2])
    assert "blocklisted" in reasons[P1] and reasons[P2] is None


def test_allowlists_let_only_members_in_and_several_must_all_hold(local):
    first, second = _group(local, "one", participant_ids=[P1, P2]), _group(local, "two", participant_ids=[P2, P3])
    either = local.published(total_available_places=5, filters=[
        {"filter_id": "participant_group_allowlist", "selected_values": [first["id"], second["id"]]}])
    assert _outcomes(local, either["id"], [P1, P2, P3, "d4" * 12]) == {
        P1: None, P2: None, P3: None, "d4" * 12: "not in an allowed participant group"}
    both = local.published(total_available_places=5, filters=[
        {"filter_id": "participant_group_allowlist", "selected_values": [first["id"]]},
        {"filter_id": "participant_group_allowlist", "selected_values": [second["id"]]}])
    reasons = _outcomes(local, both["id"], [P1, P2, P3])
    assert reasons[P2] is None and reasons[P1] and reasons[P3]


def test_a_deleted_group_has_nobody(local):
    group = _group(local, participant_ids=[P1])
    local.delete(f"participant-groups/{group['id']}/")
    study = local.published(filters=[{"filter_id": "participant_group_blocklist", "selected_values": [group["id"]]}])
    assert _outcomes(local, study["id"], [P1]) == {P1: None}


def test_completion_codes_move_participants_between_groups(api):
    done, waiting = _group(api, "done"), _group(api, "waiting", participant_ids=[P1, P2, P3])
    codes = [
        {"code": "FINISHED1", "code_type": "COMPLETED", "actions": [
            {"action": "MANUALLY_REVIEW"},
            {"action": "ADD_TO_PARTICIPANT_GROUP", "participant_group": done["id"]},
            {"action": "REMOVE_FROM_PARTICIPANT_GROUP", "participant_group": waiting["id"]}]},
    ]
    study = api.published(total_available_places=3, completion_codes=codes)
    people = api.simulate(study["id"], 3, participant_ids=[P1, P2, P3], return_rate=1 / 3, wrong_code_rate=1 / 3, seed=4)
    submitted = [p["participant_id"] for p in people if p["outcome"] == "submit"]
    others = [p["participant_id"] for p in people if p["outcome"] != "submit"]
    assert len(submitted) == 1 and len(others) == 2
    assert _members(api, done["id"]) == submitted
    assert sorted(_members(api, waiting["id"])) == sorted(others)
    feeders = api.get(f"participant-groups/{done['id']}/").json()["feeder_studies"]
    assert [f["id"] for f in feeders] == [study["id"]]
    assert feeders[0]["feeder_completion_codes"] == [{"code": "FINISHED1", "code_type": "COMPLETED", "action": "ADD_TO_PARTICIPANT_GROUP"}]
    # The lab's next study keeps everyone who finished out.
    later = api.published(filters=[{"filter_id": "participant_group_blocklist", "selected_values": [done["id"]]}])
    assert _outcomes(api, later["id"], submitted)[submitted[0]].startswith("blocklisted")


def test_eligibility_requirements_that_name_people(local):
    first = local.published(total_available_places=5)
    local.simulate(first["id"], 2, participant_ids=[P1, P2])
    blocked = local.published(total_available_places=5, eligibility_requirements=[{
        "_cls": "web.eligibility.models.PreviousStudiesEligibilityRequirement",
        "attributes": [{"id": first["id"], "value": True}]}])
    reasons = _outcomes(local, blocked["id"], [P1, P3])
    assert reasons[P1] and reasons[P3] is None
    allowed = local.published(total_available_places=5, eligibility_requirements=[{
        "_cls": "web.eligibility.models.CustomWhitelistEligibilityRequirement",
        "attributes": [{"name": "white_list", "value": [P2]}]}])
    reasons = _outcomes(local, allowed["id"], [P1, P2])
    assert reasons[P1] and reasons[P2] is None


def test_pyrolific_reads_every_answer(local, spec_client):
    """A client generated from the spec (nobody here wrote it) parses each participant group answer."""
    from pyrolific.api.participant_groups import (
        add_to_participant_group,
        create_participant_group,
        delete_participant_group,
        get_participant_group,
        get_participant_group_participants,
        get_participant_groups,
        remove_from_participant_group,
        update_participant_group,
    )
    from pyrolific.models import CreateParticipantGroupBody, ParticipantGroupUpdate, ParticipantIDList, WorkspaceID

    client = spec_client
    workspace_id = _workspace(local)
    group = create_participant_group.sync_detailed(client=client, body=CreateParticipantGroupBody(name="g", workspace_id=workspace_id, participant_ids=[P1])).parsed
    assert group.participant_count == 1
    assert [g.id for g in get_participant_groups.sync_detailed(client=client, filter_=WorkspaceID(workspace_id=workspace_id)).parsed.results] == [group.id]
    assert get_participant_group.sync_detailed(group.id, client=client, authorization=SPEC_AUTH).parsed.name == "g"
    assert update_participant_group.sync_detailed(group.id, client=client, body=ParticipantGroupUpdate(name="h"), authorization=SPEC_AUTH).parsed.name == "h"
    added = add_to_participant_group.sync_detailed(group.id, client=client, body=ParticipantIDList(participant_ids=[P2])).parsed
    assert [m.participant_id for m in added.results] == [P1, P2]
    removed = remove_from_participant_group.sync_detailed(group.id, client=client, body=ParticipantIDList(participant_ids=[P1])).parsed
    assert [m.participant_id for m in removed.results] == [P2]
    assert [m.participant_id for m in get_participant_group_participants.sync_detailed(group.id, client=client).parsed.results] == [P2]
    assert delete_participant_group.sync_detailed(group.id, client=client, authorization=SPEC_AUTH).status_code == 204
