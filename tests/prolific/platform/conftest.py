"""Fixtures for the Prolific platform's tests: the real `babe` program against the local Prolific.

Every test runs `babe` in-process with the `prolific` plugin loaded the way a lab gets it (by its
entry point), on target local: the adapter talks HTTP to the local Prolific through an in-process
WSGI transport over this test's own state file (`BABE_PROLIFIC_STATE`), which the tests also open
directly to check what the "account" saw (studies, calls per endpoint, bonus payments made).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def prolific_env(monkeypatch, tmp_path):
    """The prolific plugin by entry point, no token in the environment, this test's local state,
    asynchronous work settling at once (a test of the waiting sets `settle_seconds` itself)."""
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "prolific")
    monkeypatch.delenv("PROLIFIC_TOKEN", raising=False)
    monkeypatch.delenv("LAB_PROLIFIC_TOKEN", raising=False)
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(tmp_path / "prolific.sqlite"))
    # Prolific's asynchronous work settles at once unless a test says otherwise (`settle_seconds`).
    monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "0")
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture
def state(tmp_path) -> Path:
    return tmp_path / "prolific.sqlite"


def write_config(folder: Path, *, platform: str | None = "prolific", plugins: dict | None = None, **babe: Any) -> Path:
    from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

    settings: dict[str, Any] = {**DEFAULT_SETTINGS, "reward": "1.50", "assignments": 5, **babe}
    if platform:
        settings["platform"] = platform
    settings["plugins"] = {"prolific": {"estimated_minutes": 10}} if plugins is None else plugins
    return ExperimentFolder(folder, settings).config_path


@pytest.fixture
def experiment(tmp_path, monkeypatch) -> Path:
    """The experiment folder `exp1` (the working directory): 5 places at 1.50 for an estimated 10 minutes."""
    folder = tmp_path / "exp1"
    folder.mkdir()
    write_config(folder)
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def configure(experiment):
    return lambda **kwargs: write_config(experiment, **kwargs)


@pytest.fixture
def account(state):
    """`account(vat_percentage=20, currency_code="GBP", ...)`: the local Prolific's account settings."""
    from babe_prolific.local import configure_account

    return lambda **settings: configure_account(state, **settings)


@pytest.fixture
def created(babe, experiment) -> dict:
    """One study posted and published; the create's JSON document."""
    run = babe("create", "--json")
    assert run.code == 0, run
    return run.json


@pytest.fixture
def study_id(created) -> str:
    (hit,) = created["hits"]
    return hit["hit_id"]


@pytest.fixture
def people(state):
    """`people(study, n, **options)`: simulated participants take the study (the local Prolific's `simulate`)."""
    from babe_prolific.local import simulate

    return lambda study, count, **options: simulate(state, study, count, **options)


class Local:
    """What the local Prolific's account holds, read from its state file (the tests' ground truth)."""

    def __init__(self, state: Path):
        self.state = state

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        db = sqlite3.connect(self.state)
        db.row_factory = sqlite3.Row
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def studies(self) -> list[dict]:
        """Every study (drafts too), oldest first: id, status and the fields as posted."""
        return [
            {"id": r["id"], "status": r["status"], **json.loads(r["data"])}
            for r in self._rows("SELECT id, status, data FROM studies ORDER BY seq")
        ]

    def submissions(self) -> dict[str, dict]:
        return {r["id"]: dict(r) for r in self._rows("SELECT * FROM submissions ORDER BY seq")}

    def calls(self, route: str, status: int | None = None) -> int:
        """How many requests reached one route (`"POST /studies/"`), or answered it with `status`."""
        from babe_prolific.local import stats

        answered = stats(self.state)
        if status is None:
            return answered["calls"].get(route, 0)
        return answered["by_status"].get(route, {}).get(str(status), 0)

    def payments(self) -> list[dict]:
        """Every bonus payment made (one per row per pay call): the "paid exactly once" truth."""
        from babe_prolific.local import payments

        return payments(self.state)

    def balance(self) -> int:
        """The available balance in minor units."""
        (row,) = self._rows("SELECT value FROM meta WHERE key = 'balance'")
        return int(row[0])


@pytest.fixture
def local(state) -> Local:
    return Local(state)
