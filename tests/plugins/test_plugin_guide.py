"""The "write your own plugin" guide: its example plugin works, and the guide shows it as it is.

`docs/examples/min_time.py` is copied into an experiment's `plugins/` folder and loaded by the
real plugin manager; simulated workers submit fast and slowly (one takes five minutes on the local
MTurk's clock); `babe approve` must pay only the slow one. The tests use the fixtures a lab uses
(`babe_experiment`, `babe_run`, `babe_workers`: babe-tasks' pytest plugin, docs/testing-plugins.md).
The guide (`docs/writing-plugins.md`) quotes the plugin, this file's fixture and its main test verbatim.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "min_time.py"
GUIDE = REPO / "docs" / "writing-plugins.md"


@pytest.fixture
def experiment(babe_experiment):
    """An experiment with the guide's plugin in plugins/ and a 2-minute minimum."""
    babe_experiment.add_plugin(EXAMPLE)
    babe_experiment.configure(plugins={"min_time": {"minimum": "2m"}})
    return babe_experiment


def test_min_time_holds_back_fast_assignments(experiment, babe_run, babe_workers):
    hit_id = babe_run("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    fast = babe_workers.work(workers=2)["submitted"]
    slow = babe_workers.complete(hit_id, took="5m")

    run = babe_run("approve", "--json")

    assert run.code == 0, run
    assert run.json["approved"] == 1  # only the worker who took five minutes
    assert sorted(held["assignment_id"] for held in run.json["held"]) == sorted(fast)
    for held in run.json["held"]:
        assert held["reason"] == "submitted 0s after accepting, faster than the 2m minimum"
    assert slow not in [held["assignment_id"] for held in run.json["held"]]


def test_the_plugin_is_listed_with_its_hooks(experiment, babe_run):
    run = babe_run("plugins", "--json")
    (info,) = [p for p in run.json["plugins"] if p["name"] == "min_time"]
    assert (info["source"], info["status"]) == ("folder", "loaded")
    assert info["hooks"] == ["babe_before_approve", "babe_configure"]


def test_a_bad_minimum_stops_the_run_before_anything_is_done(experiment, babe_run):
    experiment.configure(plugins={"min_time": {"minimum": "soon"}})
    run = babe_run("approve", "--json")
    assert run.code == 2
    assert run.json["error"] == {
        "exit_code": 2,
        "message": "babe.plugins.min_time.minimum 'soon' is not a duration: write for example 45m, 2h or 7d (units s, m, h, d, w)",
        "plugin": "min_time",
    }


def test_without_a_minimum_it_holds_nothing(experiment, babe_run, babe_workers):
    experiment.configure(plugins={"min_time": None})
    assert babe_run("create", "--assignments", "2", "--json").code == 0
    assert len(babe_workers.work(workers=2)["submitted"]) == 2
    run = babe_run("approve", "--json")
    assert (run.code, run.json["approved"], run.json["held"]) == (0, 2, [])


def python_blocks(markdown: str) -> list[str]:
    return [block for block in re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)]


def test_the_guide_quotes_the_plugin_and_its_test_verbatim():
    blocks = python_blocks(GUIDE.read_text())
    assert EXAMPLE.read_text() in blocks
    for quoted in (experiment, test_min_time_holds_back_fast_assignments):
        source = inspect.getsource(getattr(quoted, "__wrapped__", quoted))
        assert any(source in block for block in blocks), f"the guide does not quote {quoted.__name__} as it is"
