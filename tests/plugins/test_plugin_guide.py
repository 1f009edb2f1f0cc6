"""The "write your own plugin" guide: its example plugin works, and the guide shows it as it is.

`docs/examples/min_time.py` is copied into an experiment's `plugins/` folder and loaded by the
real plugin manager; simulated workers submit fast (`babe local.work`) and slowly (accept, the
local MTurk's clock moved five minutes, submit); `babe approve` must pay only the slow one.
The guide (`docs/writing-plugins.md`) quotes the plugin and this file's main test verbatim.
"""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import pytest

from babe_tasks.testing import run_babe

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "min_time.py"
GUIDE = REPO / "docs" / "writing-plugins.md"


@pytest.fixture
def babe(capsys):
    return lambda *argv: run_babe(capsys, *argv)


@pytest.fixture
def experiment(tmp_path, monkeypatch) -> Path:
    """An experiment folder with the guide's plugin in plugins/ and a 2-minute minimum."""
    folder = tmp_path / "exp1"
    (folder / "plugins").mkdir(parents=True)
    shutil.copy(EXAMPLE, folder / "plugins" / "min_time.py")
    configure(folder, "minimum: 2m")
    monkeypatch.chdir(folder)
    return folder


def configure(folder: Path, min_time: str | None) -> None:
    text = (
        "babe:\n"
        "  url: https://example.org/experiment/\n"
        "  title: A short language study\n"
        "  description: Read sentences and rate them.\n"
        '  reward: "0.50"\n'
    )
    if min_time is not None:
        text += f"  plugins:\n    min_time:\n      {min_time}\n"
    (folder / "invoke.yaml").write_text(text)


def slow_worker(state_path: Path, hit_id: str, seconds: int) -> str:
    """One simulated worker who takes `seconds` between accepting and submitting (the clock moves)."""
    from babe_tasks.localturk import assignments, workers
    from babe_tasks.localturk.service import Context, LocalTurk
    from babe_tasks.localturk.store import Store

    turk = LocalTurk(str(state_path))
    try:
        (worker_id,) = workers.add_workers(turk, 1)
        with turk.store.write() as tx:
            assignment_id = assignments.accept(Context(tx, Store.now(tx), turk), hit_id, worker_id)
        turk.store.advance_clock(seconds)
        with turk.store.write() as tx:
            assignments.submit(Context(tx, Store.now(tx), turk), assignment_id, workers.answer_xml({"done": "yes"}))
    finally:
        turk.store.close()
    return assignment_id


def test_min_time_holds_back_fast_assignments(babe, experiment, state_path):
    hit_id = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    fast = babe("local.work", "--workers", "2", "--json").json["submitted"]
    slow = slow_worker(state_path, hit_id, seconds=5 * 60)

    run = babe("approve", "--json")

    assert run.code == 0, run
    assert run.json["approved"] == 1  # only the worker who took five minutes
    assert sorted(held["assignment_id"] for held in run.json["held"]) == sorted(fast)
    for held in run.json["held"]:
        assert held["reason"] == "submitted 0s after accepting, faster than the 2m minimum"
    assert slow not in [held["assignment_id"] for held in run.json["held"]]


def test_the_plugin_is_listed_with_its_hooks(babe, experiment):
    run = babe("plugins", "--json")
    (info,) = [p for p in run.json["plugins"] if p["name"] == "min_time"]
    assert (info["source"], info["status"]) == ("folder", "loaded")
    assert info["hooks"] == ["babe_before_approve", "babe_configure"]


def test_a_bad_minimum_stops_the_run_before_anything_is_done(babe, experiment):
    configure(experiment, "minimum: soon")
    run = babe("approve", "--json")
    assert run.code == 2
    assert run.json["error"] == {
        "exit_code": 2,
        "message": "babe.plugins.min_time.minimum 'soon' is not a duration: write for example 45m, 2h or 7d (units s, m, h, d, w)",
        "plugin": "min_time",
    }


def test_without_a_minimum_it_holds_nothing(babe, experiment):
    configure(experiment, None)
    assert babe("create", "--assignments", "2", "--json").code == 0
    babe("local.work", "--workers", "2", "--json")
    run = babe("approve", "--json")
    assert (run.code, run.json["approved"], run.json["held"]) == (0, 2, [])


def python_blocks(markdown: str) -> list[str]:
    return [block for block in re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)]


def test_the_guide_quotes_the_plugin_and_its_test_verbatim():
    blocks = python_blocks(GUIDE.read_text())
    assert EXAMPLE.read_text() in blocks
    test_source = inspect.getsource(test_min_time_holds_back_fast_assignments)
    assert any(test_source in block for block in blocks)
    assert any(inspect.getsource(slow_worker) in block for block in blocks)
