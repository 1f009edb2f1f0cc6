"""`babe demo`: the README's first command runs the whole lifecycle and leaves nothing behind."""

from __future__ import annotations

import os

from babe_tasks.tasks.demo import commands


def test_demo_runs_every_step_of_the_lifecycle(babe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BABE_TARGET", "live")  # the lab's own settings must not leak into the demo
    run = babe("demo", "--json")
    assert run.code == 0, run
    document = run.json
    assert [step["command"].split()[1] for step in document["steps"]] == [
        "init", "create", "local.work", "status", "approve", "expire",
    ]
    assert all(step["exit_code"] == 0 for step in document["steps"])
    init, create, work, status, approve, expire = (step["result"] for step in document["steps"])
    assert set(init["written"]) == {"invoke.yaml", "tasks.py", "plugins/README.txt"}
    assert [h["assignments"] for h in create["hits"]] == [7, 7, 6]
    assert create["cost"] == {"rewards": "10.00", "fees": "2.00", "total": "12.00"}
    assert len(work["submitted"]) == 20
    assert status["totals"]["submitted"] == 20
    assert approve == {"approved": 20, "already_approved": 0, "held": [], "failed": []}
    assert sorted(expire["deleted"]) == sorted(h["hit_id"] for h in create["hits"])
    assert not os.path.exists(document["folder"])  # the scratch folder is gone
    assert os.environ["BABE_TARGET"] == "live"  # and the caller's environment is back


def test_demo_shows_each_command_and_its_real_output(babe, tmp_path):
    folder = tmp_path / "demo"
    run = babe("demo", "--folder", str(folder))
    assert run.code == 0, run
    for args in commands():
        assert f"$ babe {args[0]}" in run.out
    assert "20 assignments in 3 HITs (7, 7, 6)" in run.out
    assert "Approved 20; already approved 0." in run.out
    assert "Deleted 3 HIT(s)" in run.out
    assert (folder / "invoke.yaml").is_file() and (folder / ".babe" / "ledger.sqlite").is_file()
    assert f"cd {folder}" in run.out


def test_demo_refuses_a_folder_that_is_not_empty(babe, tmp_path):
    (tmp_path / "x").write_text("mine")
    run = babe("demo", "--folder", str(tmp_path))
    assert run.code == 2
    assert "is not an empty folder" in run.err
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
