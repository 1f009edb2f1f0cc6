"""Each setting is declared once (`babe_tasks.settingspec`): the tasks' flags, their help, the
values that reach `Settings` and docs/settings.md all come from the declaration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from babe_tasks import settingspec
from babe_tasks.settingspec import COMMON, KEYS, LIST, RUN_FLAGS, SPENDING, SWITCH
from babe_tasks.taskkit import babe_task

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "settings.md"


def _arguments(task) -> dict:
    """The task's arguments by parameter name (invoke hands each flag's help out once: call this once per task)."""
    return {argument.attr_name or argument.name: argument for argument in task.get_arguments()}


#: Every task's flags as a fresh process sees them: invoke's `Task.get_arguments` hands each help text
#: out once, and other tests in this process may have asked already.
PROBE = """
import json
from babe_tasks import collection
ns = collection()
print(json.dumps({
    name: {a.attr_name or a.name: {"help": a.help, "kind": a.kind.__name__} for a in ns[name].get_arguments()}
    for name in ns.task_names
}))
"""


def _all_arguments() -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_settings_page_is_up_to_date():
    assert settingspec.main(["--check", str(PAGE)]) == 0, f"run {settingspec.REGENERATE}"


def test_the_check_fails_on_a_stale_page_and_write_repairs_it(tmp_path, capsys):
    page = tmp_path / "settings.md"
    stale = PAGE.read_text(encoding="utf-8").replace("| `reward` | `BABE_REWARD` |", "| `reward` | `BABE_REWARDS` |")
    page.write_text(stale, encoding="utf-8")
    assert settingspec.main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert settingspec.main(["--write", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    page.write_text("# no generated part\n", encoding="utf-8")
    assert settingspec.main(["--check", str(page)]) == 2


def test_every_declared_task_takes_the_flag_with_the_declared_help_and_kind():
    arguments = _all_arguments()
    groups = {group: set(settingspec.tasks_in(group)) for group in (COMMON, SPENDING)}
    assert {"create", "status", "approve", "doctor"} <= groups[COMMON]
    checked = 0
    for key in [*KEYS, *RUN_FLAGS]:
        names = set()
        for name in key.tasks:
            names |= groups.get(name, {name})
        parameter = getattr(key, "parameter", key.name)
        for task_name in names:
            argument = arguments[task_name].get(parameter)
            assert argument is not None, (key.name, task_name)
            if key.name == "json":  # a task may describe the document it prints
                assert argument["help"].startswith("print one JSON document"), task_name
            else:
                assert argument["help"] == key.help_for(task_name), (key.name, task_name)
            kind = getattr(key, "kind", SWITCH)
            assert argument["kind"] == {LIST: "list", SWITCH: "bool"}.get(kind, "str"), (key.name, task_name)
            checked += 1
    assert checked > 60


def test_no_task_takes_a_setting_flag_the_declaration_does_not_name():
    """A flag named like a setting on a task the declaration does not list would be a second, undocumented
    way in (cost's and extend's --assignments and --lifetime mean something else: they are their own)."""
    arguments = _all_arguments()
    own = {("cost", "assignments"), ("cost", "lifetime"), ("extend", "assignments"), ("extend", "lifetime"),
           ("report", "target"), ("report", "platform"), ("lab", "target")}
    groups = {group: set(settingspec.tasks_in(group)) for group in (COMMON, SPENDING)}
    for key in KEYS:
        named = set()
        for name in key.tasks:
            named |= groups.get(name, {name})
        for task_name, taken in arguments.items():
            if key.parameter in taken and task_name not in named:
                assert (task_name, key.parameter) in own or task_name.startswith("local."), (key.name, task_name)


def test_the_body_receives_settings_by_name_ready_for_settings_build():
    @babe_task(common=True, spending=True, settings=True, name="create")
    def probe(c, **common):
        """A probe with create's flags."""
        return common

    assert probe.body(None, qualification=["A:Exists"], masters=False, reward="0.50", allow_repeat_workers=True, yes=True) == {
        "qualifications": ["A:Exists"],
        "masters": None,
        "reward": "0.50",
        "allow_repeat_workers": True,
        "yes": True,
    }
    assert probe.body(None, locale=[], exclude_experiment=("pilot",)) == {"locale": None, "exclude_experiments": ["pilot"]}
    arguments = _arguments(probe)
    assert arguments["qualification"].kind is list and arguments["locale"].kind is list
    assert arguments["masters"].default is False and arguments["reward"].default is None


def test_settings_true_on_a_task_no_setting_names_is_a_mistake_seen_at_import():
    def unknown(c, **common):
        """No setting names this task."""

    with pytest.raises(TypeError, match="no setting in babe_tasks/settingspec.py names 'unknown'"):
        babe_task(settings=True)(unknown)


def test_declared_flags_reach_the_settings(babe, experiment):
    """cost's --reward, --batch-size and --masters come from the declaration; what they set is what is costed."""
    run = babe("cost", "--reward", "1.00", "--assignments", "10", "--batch-size", "5", "--masters", "--json")
    assert run.code == 0, run
    assert {k: run.json[k] for k in ("reward", "hits", "rewards", "commission", "masters", "total")} == {
        "reward": "1.00", "hits": [5, 5], "rewards": "10.00", "commission": "2.00", "masters": "0.50", "total": "12.50",
    }
    plain = babe("cost", "--reward", "1.00", "--assignments", "10", "--batch-size", "5", "--json")
    assert (plain.json["masters"], plain.json["total"]) == ("0.00", "12.00"), plain


def test_docs_list_the_flags_and_tasks_of_every_setting():
    text = PAGE.read_text(encoding="utf-8")
    for key in KEYS:
        if key.has_flag:
            assert f"`{key.flag}` (" in text, key.name
    assert "`--max-concurrency`" not in text  # no task has that flag: the page no longer claims one
