"""Workspaces and projects through both ways in: the fresh account's, created ones, updates, refusals."""

from __future__ import annotations

from .conftest import SPEC_AUTH, error_of


def _me(api) -> dict:
    return api.get("users/me/").json()


def test_a_fresh_account_has_its_workspace_and_a_default_project(api):
    workspace_id = _me(api)["current_workspace_id"]
    listed = api.get("workspaces/").json()["results"]
    assert [w["id"] for w in listed] == [workspace_id]
    workspace = api.get(f"workspaces/{workspace_id}/").json()
    assert workspace["title"] and workspace["owner"] == _me(api)["id"]
    assert workspace["users"][0]["roles"] == ["WORKSPACE_ADMIN"]
    assert len(workspace["projects"]) == 1 and workspace["wallet"]
    projects = api.get(f"workspaces/{workspace_id}/projects/").json()["results"]
    assert [p["id"] for p in projects] == [workspace["projects"][0]["id"]]
    project = api.get(f"projects/{projects[0]['id']}/").json()
    assert project["workspace"] == workspace_id and project["users"][0]["roles"] == ["PROJECT_EDITOR"]


def test_create_and_update_a_workspace(api):
    made = api.post("workspaces/", {"title": "Phonetics lab", "currency_code": "GBP", "naivety_distribution_rate": 0.5})
    assert made.status_code == 201
    workspace = made.json()
    assert workspace["title"] == "Phonetics lab" and workspace["currency_code"] == "GBP"
    assert workspace["naivety_distribution_rate"] == 0.5 and len(workspace["projects"]) == 1
    assert {w["id"] for w in api.get("workspaces/").json()["results"]} == {_me(api)["current_workspace_id"], workspace["id"]}
    patched = api.patch(f"workspaces/{workspace['id']}/", {"id": workspace["id"], "title": "Phonetics", "description": "Vowels"})
    assert patched.status_code == 200
    assert patched.json()["title"] == "Phonetics" and patched.json()["description"] == "Vowels"
    assert api.get(f"workspaces/{workspace['id']}/").json()["title"] == "Phonetics"


def test_workspace_refusals(api):
    assert set(error_of(api.post("workspaces/", {"currency_code": "GBP"}))["detail"]) == {"title"}
    assert "currency_code" in error_of(api.post("workspaces/", {"title": "x", "currency_code": "JPY"}))["detail"]
    assert api.post("workspaces/", {"title": "x", "naivety_distribution_rate": 2}).status_code == 400
    missing = api.get("workspaces/000000000000000000000000/")
    assert missing.status_code == 404 and error_of(missing)["error_code"] == 140404
    workspace_id = _me(api)["current_workspace_id"]
    assert "id" in error_of(api.patch(f"workspaces/{workspace_id}/", {"id": "0" * 24, "title": "x"}))["detail"]
    assert len(api.get("workspaces/").json()["results"]) == 1  # nothing half-made


def test_create_and_update_a_project(api):
    workspace_id = _me(api)["current_workspace_id"]
    made = api.post(f"workspaces/{workspace_id}/projects/", {"title": "Experiment 2"})
    assert made.status_code == 201
    project = made.json()
    assert project["title"] == "Experiment 2" and project["workspace"] == workspace_id
    assert [p["title"] for p in api.get(f"workspaces/{workspace_id}/projects/").json()["results"]][-1] == "Experiment 2"
    patched = api.patch(f"projects/{project['id']}/", {"title": "Experiment 2b", "naivety_distribution_rate": 0})
    assert patched.status_code == 200 and patched.json()["title"] == "Experiment 2b"
    assert api.get(f"projects/{project['id']}/").json()["naivety_distribution_rate"] == 0
    assert "title" in error_of(api.post(f"workspaces/{workspace_id}/projects/", {}))["detail"]
    assert api.post("workspaces/000000000000000000000000/projects/", {"title": "x"}).status_code == 404
    assert api.get("projects/000000000000000000000000/").status_code == 404


def test_the_workspace_balance_is_the_accounts(api):
    workspace_id = _me(api)["current_workspace_id"]
    balance = api.get(f"workspaces/{workspace_id}/balance/").json()
    assert balance["available_balance"] == _me(api)["available_balance"]
    assert set(balance["balance_breakdown"]) == {"rewards", "fees", "vat"}
    other = api.post("workspaces/", {"title": "Elsewhere", "currency_code": "GBP"}).json()
    empty = api.get(f"workspaces/{other['id']}/balance/").json()
    assert empty["currency_code"] == "GBP" and empty["total_balance"] == empty["available_balance"] == 0
    assert api.get("workspaces/000000000000000000000000/balance/").status_code == 404


def test_pyrolific_reads_every_answer(spec_client):
    """A client generated from the spec (nobody here wrote it) parses each workspace and project answer."""
    from pyrolific.api.projects import create_project, get_project, get_projects, update_project
    from pyrolific.api.workspaces import create_workspace, get_workspace, get_workspace_balance, get_workspaces, update_workspace
    from pyrolific.models import CreateProject, CreateWorkspace, Project, Workspace

    client, token = spec_client, SPEC_AUTH
    workspace_id = get_workspaces.sync_detailed(client=client, authorization=token).parsed.results[0].id
    assert get_workspace.sync_detailed(workspace_id, client=client, authorization=token).parsed.projects
    made = create_workspace.sync_detailed(client=client, body=CreateWorkspace(title="Lab"), authorization=token).parsed
    assert made.title == "Lab"
    renamed = update_workspace.sync_detailed(made.id, client=client, body=Workspace(id=made.id, title="Lab 2"), authorization=token).parsed
    assert renamed.title == "Lab 2"
    assert get_workspace_balance.sync_detailed(workspace_id, client=client, authorization=token).parsed.available_balance == 1000000
    project = create_project.sync_detailed(workspace_id, client=client, body=CreateProject(title="P"), authorization=token).parsed
    assert [p.id for p in get_projects.sync_detailed(workspace_id, client=client, authorization=token).parsed.results][-1] == project.id
    assert get_project.sync_detailed(project.id, client=client, authorization=token).parsed.workspace == workspace_id
    patched = update_project.sync_detailed(project.id, client=client, body=Project(id=project.id, title="Q"), authorization=token).parsed
    assert patched.title == "Q"


def test_a_projects_studies_are_the_ones_made_in_it(api):
    workspace_id = _me(api)["current_workspace_id"]
    default = api.get(f"workspaces/{workspace_id}/projects/").json()["results"][0]["id"]
    other = api.post(f"workspaces/{workspace_id}/projects/", {"title": "Experiment 2"}).json()["id"]
    plain = api.draft()["id"]  # no project named: the default project's
    placed = api.draft(project=other)["id"]
    assert [s["id"] for s in api.get(f"projects/{default}/studies/").json()["results"]] == [plain]
    items = api.get(f"projects/{other}/studies/").json()["results"]
    assert [s["id"] for s in items] == [placed] and "description" not in items[0]  # StudyShort items
