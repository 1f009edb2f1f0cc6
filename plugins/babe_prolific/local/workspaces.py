"""Workspaces and projects: where a Prolific account keeps its studies, groups and hooks.

A fresh account has one workspace (`/users/me/`'s `current_workspace_id`) with one project, and
every study belongs to that project unless its body names another (`project`). Clients such as the
two published Prolific clients look these up before they create anything, and participant groups,
study collections and hook subscriptions are scoped by them, so they exist even though the local
Prolific keeps one wallet: every study is paid from the account's balance, which is the account's
workspace's; a workspace created later shows an empty balance.
"""

from __future__ import annotations

import json
import sqlite3

from . import tables
from .app import Request, route
from .errors import ApiError
from .fields import Fields
from .store import Store, load_row, merge_data, new_id

CURRENCIES = ("GBP", "USD")  # CreateWorkspace: "Must be GBP or USD"


def _user(tx: sqlite3.Connection, role: str) -> dict:
    return {"id": Store.meta(tx, "user_id"), "name": "Local Researcher", "email": "researcher@localhost", "roles": [role]}


def load_workspace(tx: sqlite3.Connection, workspace_id: str) -> sqlite3.Row:
    return load_row(tx, "workspaces", workspace_id, "Workspace")


def load_project(tx: sqlite3.Connection, project_id: str) -> sqlite3.Row:
    return load_row(tx, "projects", project_id, "Project")


def currency(tx: sqlite3.Connection, row: sqlite3.Row) -> str:
    """The account's workspace follows the account's currency; others keep the one they were made with."""
    if row["id"] == Store.meta(tx, "workspace_id"):
        return Store.meta(tx, "currency_code")
    return json.loads(row["data"])["currency_code"]


def render_project(tx: sqlite3.Connection, row: sqlite3.Row, *, short: bool = False) -> dict:
    data = json.loads(row["data"])
    project = {
        "id": row["id"],
        "title": data["title"],
        "description": data.get("description", ""),
        "owner": Store.meta(tx, "user_id"),
        "users": [_user(tx, "PROJECT_EDITOR")],
        "naivety_distribution_rate": data.get("naivety_distribution_rate"),
    }
    if not short:
        project["workspace"] = row["workspace_id"]
    return project


def render_workspace(tx: sqlite3.Connection, row: sqlite3.Row, *, short: bool = False) -> dict:
    data = json.loads(row["data"])
    workspace = {
        "id": row["id"],
        "title": data["title"],
        "description": data.get("description", ""),
        "owner": Store.meta(tx, "user_id"),
        "users": [_user(tx, "WORKSPACE_ADMIN")],
        "naivety_distribution_rate": data.get("naivety_distribution_rate"),
        "currency_code": currency(tx, row),
    }
    if not short:
        projects = tx.execute("SELECT * FROM projects WHERE workspace_id = ? ORDER BY seq", (row["id"],)).fetchall()
        workspace["projects"] = [render_project(tx, p, short=True) for p in projects]
        workspace["wallet"] = data["wallet"]
    return workspace


def empty_balance(tx: sqlite3.Connection, workspace_id: str) -> dict | None:
    """A created workspace's WorkspaceBalance: nothing in it (the account's money is the account
    workspace's); None when there is no such workspace."""
    row = tx.execute("SELECT * FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
    if row is None:
        return None
    nothing = {"rewards": 0, "fees": 0, "vat": 0}
    return {"currency_code": currency(tx, row), "total_balance": 0, "balance_breakdown": nothing,
            "available_balance": 0, "available_balance_breakdown": dict(nothing)}


def project_of(data: dict) -> str:
    """The project a study belongs to (its `project`, else the account's default project)."""
    project = data.get("project")
    return project if isinstance(project, str) and project else tables.DEFAULT_PROJECT_ID


def _settings(body, *, creating: bool, kind: str) -> dict:
    fields = Fields(body)
    title = fields.text("title", required=creating, blank=False)
    description = fields.text("description", nullable=True)
    rate = fields.rate("naivety_distribution_rate")
    code = None
    if kind == "workspace" and creating:
        code = fields.text("currency_code")
        if code is not None and code not in CURRENCIES:
            fields.bad("currency_code", f"Must be one of {', '.join(CURRENCIES)}.")
    fields.done()
    settings = {}
    if title is not None:
        settings["title"] = title
    if "description" in body:
        settings["description"] = description or ""
    if "naivety_distribution_rate" in body:
        settings["naivety_distribution_rate"] = rate
    if code is not None:
        settings["currency_code"] = code
    return settings


def _same_id(body: dict, ident: str) -> None:
    if "id" in body and body["id"] != ident:
        raise ApiError(400, {"id": ["The id cannot be changed."]})


def _patch(app, request: Request, kind: str, row_id: str):
    """PATCH of a workspace or a project: the same settings, and an id that cannot change."""
    table, load, render = {
        "workspace": ("workspaces", load_workspace, render_workspace),
        "project": ("projects", load_project, render_project),
    }[kind]
    tables.ensure(app.store)
    settings = _settings(request.body, creating=False, kind=kind)
    _same_id(request.body, row_id)
    with app.store.write() as tx:
        merge_data(tx, table, load(tx, row_id), settings)
        return 200, render(tx, load(tx, row_id))


# -- workspaces -----------------------------------------------------------------------------------
@route("GET", "/workspaces/")
def _list_workspaces(app, request: Request, _):
    tables.ensure(app.store)
    with app.store.read() as tx:
        rows = tx.execute("SELECT * FROM workspaces ORDER BY seq").fetchall()
        return 200, {"results": [render_workspace(tx, row, short=True) for row in rows]}


@route("POST", "/workspaces/")
def _create_workspace(app, request: Request, _):
    tables.ensure(app.store)
    settings = _settings(request.body, creating=True, kind="workspace")
    workspace_id = new_id()
    with app.store.write() as tx:
        settings.setdefault("currency_code", Store.meta(tx, "currency_code") if Store.meta(tx, "currency_code") in CURRENCIES else "GBP")
        settings.setdefault("description", "")
        settings.setdefault("naivety_distribution_rate", None)
        settings["wallet"] = new_id()
        tx.execute("INSERT INTO workspaces (id, data) VALUES (?, ?)", (workspace_id, json.dumps(settings)))
        # A workspace comes with a project to put studies in, as Prolific's web app makes one.
        tx.execute(
            "INSERT INTO projects (id, workspace_id, data) VALUES (?, ?, ?)",
            (new_id(), workspace_id, json.dumps({"title": "Project", "description": "", "naivety_distribution_rate": None})),
        )
        return 201, render_workspace(tx, load_workspace(tx, workspace_id))


@route("GET", "/workspaces/{id}/")
def _get_workspace(app, request: Request, workspace_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        return 200, render_workspace(tx, load_workspace(tx, workspace_id))


@route("PATCH", "/workspaces/{id}/")
def _patch_workspace(app, request: Request, workspace_id):
    return _patch(app, request, "workspace", workspace_id)


# -- projects -------------------------------------------------------------------------------------
@route("GET", "/workspaces/{id}/projects/")
def _list_projects(app, request: Request, workspace_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        load_workspace(tx, workspace_id)
        rows = tx.execute("SELECT * FROM projects WHERE workspace_id = ? ORDER BY seq", (workspace_id,)).fetchall()
        return 200, {"results": [render_project(tx, row, short=True) for row in rows]}


@route("POST", "/workspaces/{id}/projects/")
def _create_project(app, request: Request, workspace_id):
    tables.ensure(app.store)
    settings = _settings(request.body, creating=True, kind="project")
    project_id = new_id()
    with app.store.write() as tx:
        load_workspace(tx, workspace_id)
        settings.setdefault("description", "")
        settings.setdefault("naivety_distribution_rate", None)
        tx.execute("INSERT INTO projects (id, workspace_id, data) VALUES (?, ?, ?)", (project_id, workspace_id, json.dumps(settings)))
        return 201, render_project(tx, load_project(tx, project_id))


@route("GET", "/projects/{id}/")
def _get_project(app, request: Request, project_id):
    tables.ensure(app.store)
    with app.store.read() as tx:
        return 200, render_project(tx, load_project(tx, project_id))


@route("PATCH", "/projects/{id}/")
def _patch_project(app, request: Request, project_id):
    return _patch(app, request, "project", project_id)
