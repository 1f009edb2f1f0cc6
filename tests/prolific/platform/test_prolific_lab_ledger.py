"""On a lab's shared ledger (PostgreSQL), `create --exclude-experiment` can name an experiment run
from another folder, by another member: Prolific has no qualification types to find it by, so the
ledger is the only record of which studies were that experiment's. On a folder's own SQLite
ledger the same name is unknown, and the create is refused before anything is posted."""

from __future__ import annotations

import pytest

from .conftest import write_config


def _pilot_in_another_folder(babe, tmp_path, monkeypatch, people) -> str:
    folder = tmp_path / "alice-pilot"
    write_config(folder, experiment="pilot")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("BABE_MEMBER", "alice")
    run = babe("create", "--assignments", "3", "--json")
    assert run.code == 0, run
    study = run.json["hits"][0]["hit_id"]
    people(study, 3)
    return study


def _main_folder(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "bob-main"
    write_config(folder, experiment="main")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("BABE_MEMBER", "bob")


def test_the_participants_of_another_folders_experiment_are_kept_out_through_the_lab_ledger(
    babe, tmp_path, monkeypatch, local, people, babe_env, babe_postgres
):
    babe_env.use_ledger(babe_postgres.url)
    pilot = _pilot_in_another_folder(babe, tmp_path, monkeypatch, people)
    _main_folder(tmp_path, monkeypatch)
    run = babe("create", "--assignments", "3", "--exclude-experiment", "pilot", "--json")
    assert run.code == 0, run
    new = local.studies()[1]
    assert {"filter_id": "previous_studies_blocklist", "selected_values": [pilot]} in new["filters"]
    earlier = [s["participant_id"] for s in local.submissions().values()]
    visits = people(new["id"], 3, participant_ids=earlier)
    assert {v["outcome"] for v in visits} == {"refused"}
    # and newcomers still get in
    assert {v["outcome"] for v in people(new["id"], 2)} <= {"submit", "return", "time_out", "wrong_code", "no_code"}


def test_on_a_folders_own_ledger_another_folders_experiment_is_unknown(babe, tmp_path, monkeypatch, local, people):
    monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # this folder's SQLite ledger, whatever the suite's engine
    _pilot_in_another_folder(babe, tmp_path, monkeypatch, people)
    _main_folder(tmp_path, monkeypatch)
    run = babe("create", "--assignments", "3", "--exclude-experiment", "pilot")
    assert run.code == 2, run
    assert "pilot" in run.err and "unknown" in run.err
    assert len(local.studies()) == 1  # nothing posted


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_every_row_records_the_member_who_acted(babe, tmp_path, monkeypatch, people, babe_env, engine, request):
    if engine == "postgresql":
        babe_env.use_ledger(request.getfixturevalue("babe_postgres").url)
    else:
        monkeypatch.delenv("BABE_LEDGER_URL", raising=False)
    _pilot_in_another_folder(babe, tmp_path, monkeypatch, people)
    from babe_tasks.testing.postgres import ledger_rows

    rows = ledger_rows(tmp_path / "alice-pilot", "SELECT DISTINCT member FROM hits WHERE experiment = ?", ("pilot",))
    assert [row["member"] for row in rows] == ["alice"]
