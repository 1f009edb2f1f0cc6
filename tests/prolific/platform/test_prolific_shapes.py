"""The adapter on the published shapes: full studies for sync, `entered_code`, no made-up expiry,
and `extend --lifetime` refused before anything is spent.

`GET /studies/` answers `StudyShort` items (no description, URL, times or filters), so a plan is
rebuilt from each study fetched in full; `GET /submissions/{id}/` carries `entered_code` where a
study's list carries `study_code`; a study runs until it is stopped or full, so no expiry time is
reported, stored or shown for it, and `--lifetime` is refused (exit 2) before any place is added.
"""

from __future__ import annotations

import json
from dataclasses import replace
import sqlite3

from babe_prolific.platform import URL_PARAMETERS, ProlificPlatform
from babe_tasks.settings import Settings


def submitted(people, study_id, count) -> list[dict]:
    visits = [v for v in people(study_id, count) if v["outcome"] == "submit"]
    assert len(visits) == count
    return visits


def ledger_rows(experiment, sql: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(experiment / ".babe" / "ledger.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_status_sync_rebuilds_the_plan_from_each_study_fetched_in_full(babe, experiment, study_id, people, local):
    submitted(people, study_id, 2)
    posted = [s for s in local.studies() if s["id"] == study_id][0]
    (experiment / ".babe" / "ledger.sqlite").unlink()
    run = babe("status", "--sync", "--json")
    assert run.code == 0, run
    assert run.json["hits"][0]["submitted"] == 2
    (plan,) = ledger_rows(experiment, "SELECT parameters FROM plans")
    parameters = json.loads(plan["parameters"])
    # The list's StudyShort has none of these: they come from GET /studies/{id}/.
    assert parameters["description"] == posted["description"] and parameters["description"]
    assert posted["external_study_url"] in (f"{parameters['url']}?{URL_PARAMETERS}", f"{parameters['url']}&{URL_PARAMETERS}")
    assert parameters["title"] == posted["name"]
    assert parameters["duration"] == posted["maximum_allowed_time"] * 60
    assert local.calls("GET /studies/{id}/") >= 1


def test_a_submission_answers_the_code_the_participant_entered(experiment, study_id, people, local):
    (visit,) = submitted(people, study_id, 1)
    platform = ProlificPlatform(Settings.build(None, folder=str(experiment)))
    try:
        info = platform.get_assignment(visit["submission_id"])
    finally:
        platform.close()
    entered = local.submissions()[visit["submission_id"]]["study_code"]
    assert entered and info.answer == entered  # GET /submissions/{id}/ says `entered_code`


def test_an_open_study_has_no_expiry_stored_or_reported(babe, experiment, study_id, people):
    submitted(people, study_id, 1)
    status = babe("status", "--json")
    assert status.code == 0, status
    assert status.json["hits"][0]["expires_at"] is None
    assert [row["expires_at"] for row in ledger_rows(experiment, "SELECT expires_at FROM hits")] == [None]
    extend = babe("extend", "--assignments", "1", "--json")
    assert extend.code == 0, extend
    assert extend.json["hits"][0]["expires_at"] is None
    (stored,) = ledger_rows(experiment, "SELECT plan FROM extensions")
    assert json.loads(stored["plan"])["hits"][0]["expires_before"] is None  # nothing made up, even inside


def test_extend_with_a_lifetime_is_refused_before_anything_is_spent(babe, study_id, local):
    places = [s["total_available_places"] for s in local.studies()]
    for flags in (["--lifetime", "2d"], ["--assignments", "3", "--lifetime", "2d"]):
        run = babe("extend", *flags)
        assert run.code == 2, run
        (line,) = run.err.strip().splitlines()
        assert "run until stopped or full" in line and "--assignments" in line
    assert local.calls("PATCH /studies/{id}/") == 0
    assert [s["total_available_places"] for s in local.studies()] == places


def test_an_extend_interrupted_after_adding_places_finishes_on_the_same_command(babe, study_id, local, monkeypatch):
    flags = ("extend", "--assignments", "3", "--lifetime", "2d")
    with monkeypatch.context() as older:
        # What an older babe-tasks did: add the places, then fail on the time Prolific has no use for.
        older.setattr(ProlificPlatform, "capabilities", replace(ProlificPlatform.capabilities, expires_by_time=True))
        first = babe(*flags)
    assert first.code == 1, first
    assert [s["total_available_places"] for s in local.studies()] == [8]
    again = babe(*flags, "--json")
    assert again.code == 0, again
    assert again.json["hits"][0]["assignments"] == 8
    assert local.calls("PATCH /studies/{id}/") == 1  # the places were added once
    assert [s["total_available_places"] for s in local.studies()] == [8]
    assert babe(*flags).code == 2  # finished: the same flags are now a new extension, refused
