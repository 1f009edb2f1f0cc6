"""Keeping earlier participants out through a participant group (`exclusion: group`).

The real `babe` against the local Prolific: create finds or creates the group once, the study
blocks it (`participant_group_blocklist`) and its completion code feeds it
(`ADD_TO_PARTICIPANT_GROUP`), so Prolific itself adds whoever submits; a later study — of this
experiment or another one of the lab — then refuses them. The default stays the previous-studies
blocklist. Request shapes are checked against Prolific's published OpenAPI description.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .conftest import write_config

GROUP = {"prolific": {"estimated_minutes": 10, "exclusion": "group", "participant_group": "Lab Kessler"}}


def api(state: Path):
    """An httpx client on the local Prolific's API over this test's state (in-process)."""
    from babe_prolific.routing import INPROCESS_URL, LOCAL_TOKEN, InProcess, local_app

    app = local_app(state)
    client = httpx.Client(transport=InProcess(app), base_url=INPROCESS_URL, headers={"Authorization": f"Token {LOCAL_TOKEN}"})
    return client, app


def ask(state: Path, method: str, path: str, body=None):
    client, app = api(state)
    try:
        response = client.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None
    finally:
        client.close()
        app.close()


def groups(state: Path) -> list[dict]:
    (workspace,) = ask(state, "GET", "workspaces/")["results"]
    return groups_in(state, workspace["id"])


def groups_in(state: Path, workspace_id: str) -> list[dict]:
    return ask(state, "GET", f"participant-groups/?workspace_id={workspace_id}")["results"]


def members(state: Path, group_id: str) -> set[str]:
    return {m["participant_id"] for m in ask(state, "GET", f"participant-groups/{group_id}/participants/")["results"]}


def group_filters(study: dict) -> list[dict]:
    return [f for f in study["filters"] if f["filter_id"] == "participant_group_blocklist"]


def test_create_makes_the_group_once_blocks_it_and_feeds_it_through_the_code(babe, experiment, configure, state, local):
    configure(plugins=GROUP)
    run = babe("create")
    assert run.code == 0, run
    assert "participant group 'Lab Kessler' of the workspace: whoever submits joins it; its members cannot take part" in run.out
    (group,) = groups(state)
    assert group["name"] == "Lab Kessler"
    (study,) = local.studies()
    assert group_filters(study) == [{"filter_id": "participant_group_blocklist", "selected_values": [group["id"]]}]
    (code,) = study["completion_codes"]
    assert code["actions"] == [
        {"action": "MANUALLY_REVIEW"},
        {"action": "ADD_TO_PARTICIPANT_GROUP", "participant_group": group["id"]},
    ]
    assert babe("create", "--again", "--assignments", "3").code == 0  # the kept id: no second group
    assert [g["id"] for g in groups(state)] == [group["id"]]
    assert group_filters(local.studies()[1])[0]["selected_values"] == [group["id"]]
    assert local.calls("POST /participant-groups/") == 1


def test_who_submits_joins_the_group_and_another_experiment_of_the_lab_keeps_them_out(
    babe, experiment, configure, state, local, people, tmp_path, monkeypatch
):
    configure(plugins=GROUP)
    first = babe("create", "--json").json["hits"][0]["hit_id"]
    visits = people(first, 4, return_rate=0.25, seed=3)
    submitted = {v["participant_id"] for v in visits if v["outcome"] == "submit"}
    returned = {v["participant_id"] for v in visits if v["outcome"] == "return"}
    assert submitted and returned
    (group,) = groups(state)
    assert members(state, group["id"]) == submitted  # Prolific added them itself, at submission
    other = tmp_path / "exp2"
    other.mkdir()
    write_config(other, experiment="exp2", plugins=GROUP)
    monkeypatch.chdir(other)
    second = babe("create", "--json")
    assert second.code == 0, second
    study = second.json["hits"][0]["hit_id"]
    assert [g["id"] for g in groups(state)] == [group["id"]]  # found by name in the workspace
    (posted,) = [s for s in local.studies() if s["id"] == study]
    assert "previous_studies_blocklist" not in {f["filter_id"] for f in posted["filters"]}  # another experiment
    everyone = sorted(submitted) + sorted(returned)
    came = {v["participant_id"]: v for v in people(study, len(everyone), participant_ids=everyone)}
    assert {p for p, v in came.items() if v["outcome"] == "refused"} == submitted
    assert {came[p]["reason"] for p in submitted} == {"blocklisted (in a blocked participant group)"}
    assert all(came[p]["outcome"] == "submit" for p in returned)  # who only returned their place never joined


def test_the_default_is_the_previous_studies_blocklist_and_no_group(babe, experiment, state, local):
    assert babe("create").code == 0
    assert babe("create", "--again", "--assignments", "3").code == 0
    first, second = local.studies()
    assert second["filters"] == [{"filter_id": "previous_studies_blocklist", "selected_values": [first["id"]]}]
    assert first["completion_codes"][0]["actions"] == [{"action": "MANUALLY_REVIEW"}]
    assert groups(state) == []


def test_repeat_participants_allowed_still_feed_the_group(babe, experiment, configure, state, local):
    configure(plugins=GROUP)
    assert babe("create", "--allow-repeat-workers").code == 0
    (group,) = groups(state)
    (study,) = local.studies()
    assert group_filters(study) == []
    assert {"action": "ADD_TO_PARTICIPANT_GROUP", "participant_group": group["id"]} in study["completion_codes"][0]["actions"]


def test_a_group_given_by_id_is_used_and_a_deleted_kept_group_is_replaced(babe, experiment, configure, state, local):
    (workspace,) = ask(state, "GET", "workspaces/")["results"]
    made = ask(state, "POST", "participant-groups/", {"workspace_id": workspace["id"], "name": "made in the app"})
    configure(plugins={"prolific": {"estimated_minutes": 10, "exclusion": "group", "participant_group": made["id"]}})
    assert babe("create").code == 0
    assert group_filters(local.studies()[0])[0]["selected_values"] == [made["id"]]
    assert len(groups(state)) == 1
    configure(plugins=GROUP)
    assert babe("create", "--again", "--assignments", "3").code == 0
    kessler = next(g for g in groups(state) if g["name"] == "Lab Kessler")
    ask(state, "DELETE", f"participant-groups/{kessler['id']}/")  # deleted in the app
    assert babe("create", "--again", "--assignments", "2").code == 0
    fresh = [g for g in groups(state) if g["name"] == "Lab Kessler" and not g["is_deleted"]]
    assert len(fresh) == 1 and fresh[0]["id"] != kessler["id"]
    assert group_filters(local.studies()[-1])[0]["selected_values"] == [fresh[0]["id"]]


def test_nothing_is_created_before_the_lab_confirms(babe, experiment, configure, state, local):
    configure(plugins=GROUP)
    assert babe("create", "--dry-run").code == 0
    assert groups(state) == [] and local.studies() == []


def test_with_several_workspaces_the_group_lives_in_the_chosen_or_current_one(babe, experiment, configure, state, local):
    second = ask(state, "POST", "workspaces/", {"title": "Second lab"})
    current = ask(state, "GET", "users/me/")["current_workspace_id"]
    assert current != second["id"]
    configure(plugins=GROUP)
    assert babe("create").code == 0
    assert [g["workspace_id"] for g in groups_in(state, current)] == [current]
    configure(plugins={"prolific": {**GROUP["prolific"], "workspace_id": second["id"]}})
    assert babe("create", "--again", "--assignments", "3").code == 0  # another Prolific workspace: its own group
    (there,) = groups_in(state, second["id"])
    assert group_filters(local.studies()[-1])[0]["selected_values"] == [there["id"]]


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"exclusion": "groups"}, "is not a way to keep earlier participants out: write blocklist"),
        ({"participant_group": "Lab Kessler"}, "participant_group is used only with exclusion: group"),
        ({"exclusion": "blocklist", "participant_group": "Lab Kessler"}, "participant_group is used only with exclusion: group"),
        ({"exclusion": "group", "participant_group": ""}, "participant_group must be a participant group's name or id"),
    ],
)
def test_inconsistent_exclusion_settings_are_refused(babe, experiment, configure, local, section, words):
    configure(plugins={"prolific": {"estimated_minutes": 10, **section}})
    run = babe("create")
    assert run.code == 2 and words in run.err, run
    assert not local.state.exists()  # refused before the platform was even built


def test_the_requests_have_the_shapes_prolifics_spec_gives(babe, experiment, configure, local):
    """The group create body and the study's filter and code action, against the published schemas.

    Checked with the table made from Prolific's OpenAPI description (`babe_prolific.local.spectable`),
    which ships with the package, so the check needs no copy of the description beside the checkout.
    """
    import jsonschema

    from babe_prolific.groups import DESCRIPTION
    from babe_prolific.local import conformance

    definitions = conformance.table()["$defs"]
    configure(plugins=GROUP)
    assert babe("create").code == 0
    (study,) = local.studies()
    action = study["completion_codes"][0]["actions"][1]
    jsonschema.validate(action, {"$ref": "#/$defs/AddToParticipantGroup", "$defs": definitions})
    body = {"workspace_id": "w", "name": "Lab Kessler", "description": DESCRIPTION}
    assert conformance.request_problems("POST", "/api/v1/participant-groups/", {}, body) == {}
    assert conformance.request_problems("POST", "/api/v1/participant-groups/", {}, {**body, "name": 5})  # the check can fail
    (blocking,) = group_filters(study)
    assert set(blocking) == {"filter_id", "selected_values"} and isinstance(blocking["selected_values"], list)
