"""`babe review` on Prolific (the local Prolific): its categories offered, approve and reject with one.

The experiment runs on platform prolific, target local: the `babe review` child process talks to
the same local Prolific state file as the test (`BABE_PROLIFIC_STATE`), whose submissions are the
ground truth checked after each decision.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder


@pytest.fixture
def prolific(monkeypatch, tmp_path) -> dict[str, str]:
    """In-process runs and the `babe review` child both on this test's local Prolific; the child's extra environment."""
    state = tmp_path / "prolific.sqlite"
    env = {"BABE_PLUGINS": "prolific", "BABE_PROLIFIC_STATE": str(state), "BABE_PROLIFIC_SETTLE_SECONDS": "0"}
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.delenv("PROLIFIC_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def study(prolific, tmp_path, monkeypatch, babe) -> tuple[Path, list[dict]]:
    """A study of 4 places at 1.50 (10 minutes), all four submitted; the ledger knows them."""
    from babe_prolific.local import simulate

    folder = tmp_path / "exp1"
    settings = {**DEFAULT_SETTINGS, "reward": "1.50", "assignments": 4, "platform": "prolific"}
    settings["plugins"] = {"prolific": {"estimated_minutes": 10}}
    ExperimentFolder(folder, settings)
    monkeypatch.chdir(folder)
    created = babe("create", "--json")
    assert created.code == 0, created
    (hit,) = created.json["hits"]
    people = [p for p in simulate(Path(prolific["BABE_PROLIFIC_STATE"]), hit["hit_id"], 4, seed=2) if p["outcome"] == "submit"]
    assert len(people) == 4
    assert babe("status").code == 0
    return folder, people


def submissions(state: str) -> dict[str, dict]:
    db = sqlite3.connect(state)
    db.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in db.execute("SELECT * FROM submissions")}
    finally:
        db.close()


def test_approve_and_reject_with_a_category_on_prolific(study, prolific, start_review, babe):
    from babe_prolific.config import REJECTION_CATEGORIES

    folder, people = study
    ids = [p["submission_id"] for p in people]
    served = start_review(env=prolific)
    summary = served.api("/api/summary")
    assert (summary["platform"], summary["nouns"]) == ("prolific", ["study", "studies"])
    assert summary["rejection_categories"] == list(REJECTION_CATEGORIES)
    assert summary["counts"] == {"awaiting": 4, "held": 0, "decided": 0}
    symbol = summary["symbol"]

    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": ids[:3]}).json
    money = preview["money"]
    assert money["rewards"] == "4.50" and money["symbol"] == symbol
    assert Decimal(money["rewards"]) + Decimal(money["fees"]) == Decimal(money["total"])
    assert preview["message"].startswith(f"Approve 3 submissions on local for {symbol}{money['total']}")
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Approved 3."
    assert babe("status", "--json").json["spent"] == money["total"]  # the ledger booked what was confirmed

    wrong = served.post("/api/preview", {"action": "reject", "assignment_ids": [ids[3]], "reason": "No code", "category": "LAZY"})
    assert wrong.status == 400 and wrong.json["error"].startswith("category 'LAZY' is not one of TOO_QUICKLY")
    request = {"action": "reject", "assignment_ids": [ids[3]], "reason": "The completion code was missing.", "category": "no_code"}
    preview = served.post("/api/preview", request).json
    assert preview["message"] == "Reject 1 submission on local? The participant will read: NO_CODE: The completion code was missing."
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Rejected 1."

    rows = submissions(prolific["BABE_PROLIFIC_STATE"])
    assert [rows[i]["status"] for i in ids] == ["APPROVED"] * 3 + ["REJECTED"]
    assert rows[ids[3]]["rejection_category"] == "NO_CODE"
    assert rows[ids[3]]["message"].startswith("The completion code was missing.")
    out, _ = served.stop()
    assert f"Review ended: approved 3, rejected 1, bonuses 0 for {symbol}0.00." in out
