"""`BABE_TRACE_PLUGINS=1`: one stderr line per hook call — the hook, its arguments' names and types,
the plugins that ran (wrappers marked), the time taken, the shape of the result or the exception —
and never a value: settings and results may hold webhook URLs and participants' ids."""

from __future__ import annotations

import re

import pytest

from babe_tasks.errors import Veto
from babe_tasks.plugins import (
    call_after,
    call_before,
    call_first,
    collect,
    plugin_manager,
    trace,
    tracing_enabled,
)
from babe_tasks.settings import Settings

from .plugin_files import plugin

SECRET = "https://hooks.example.org/services/T000/B000/TRACESECRET"
LINE = re.compile(r"^trace: (?P<hook>babe_\w+)\((?P<arguments>[^)]*)\) ran (?P<plugins>.+) in (?P<ms>\d+\.\d) ms, (?P<ending>.+)$")


def traces(err: str) -> list[dict[str, str]]:
    lines = [line for line in err.splitlines() if line.startswith("trace: ")]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [match.groupdict() for match in matches]


@pytest.fixture
def notifier(exp):
    """A plugin configured with a secret-looking webhook URL, answering and failing in several hooks."""
    (exp / "invoke.yaml").write_text(f"babe:\n  plugins:\n    notifier:\n      webhook: {SECRET}\n", encoding="utf-8")
    plugin(exp, "notifier", """
        from babe_tasks.plugins import Veto

        def babe_status(settings, status):
            return {"webhook": settings.plugin_settings("notifier")["webhook"]}

        def babe_after_approve(settings, result):
            raise RuntimeError("webhook down")

        def babe_before_expire(settings, hit_ids):
            raise Veto("not today")
    """)
    plugin(exp, "quiet", "def babe_after_approve(settings, result):\n    return None\n")
    return exp


def test_tracing_is_off_unless_asked(monkeypatch):
    assert not tracing_enabled()
    for value in ("1", "true", "yes", "on", " ON "):
        monkeypatch.setenv("BABE_TRACE_PLUGINS", value)
        assert tracing_enabled()
    for value in ("", "0", "no"):
        monkeypatch.setenv("BABE_TRACE_PLUGINS", value)
        assert not tracing_enabled()


def test_each_hook_call_is_one_line_with_plugins_time_and_the_shape_of_the_outcome(notifier, monkeypatch, capsys):
    monkeypatch.setenv("BABE_TRACE_PLUGINS", "1")
    pm = plugin_manager(Settings.build(), warn=lambda _: None)
    assert collect(pm, "babe_status", warn=lambda _: None, settings=pm.settings, status={"hits": 2}) == [("notifier", {"webhook": SECRET})]
    call_after(pm, "babe_after_approve", warn=lambda _: None, settings=pm.settings, result={})
    with pytest.raises(Veto):
        call_before(pm, "babe_before_expire", settings=pm.settings, hit_ids=["H1"])
    assert call_first(pm, "babe_platform", settings=pm.settings).__class__.__name__ == "MTurkPlatform"
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = {line["hook"]: line for line in traces(captured.err)}
    assert "babe_configure" in lines  # building the manager fires it: traced too
    status = lines["babe_status"]
    assert status["arguments"] == "settings: Settings, status: dict, context: HookContext"
    assert (status["plugins"], status["ending"]) == ("notifier", "returned [dict]")
    after = lines["babe_after_approve"]
    assert (after["plugins"], after["ending"]) == ("quiet, notifier", "returned []; notifier failed (RuntimeError)")
    assert (lines["babe_before_expire"]["plugins"], lines["babe_before_expire"]["ending"]) == ("notifier", "raised Veto")
    assert lines["babe_vetoed"]["arguments"].startswith("settings: Settings, step: str, plugin: str, message: str")
    assert (lines["babe_platform"]["plugins"], lines["babe_platform"]["ending"]) == ("mturk", "returned MTurkPlatform")
    assert SECRET not in captured.err and "TRACESECRET" not in captured.err
    assert "not today" not in captured.err  # messages go to the error line, not the trace


def test_wrappers_are_marked_and_the_veto_announcement_gets_its_own_line(exp):
    plugin(exp, "timer", """
        from babe_tasks.plugins import hookimpl

        @hookimpl(wrapper=True)
        def babe_before_create(settings, plan):
            return (yield)
    """)
    plugin(exp, "cap", "from babe_tasks.plugins import Veto\ndef babe_before_create(settings, plan):\n    raise Veto('too dear')\n")
    pm = plugin_manager(Settings.build(), warn=lambda _: None)
    lines: list[str] = []
    undo = trace(pm, write=lines.append)
    with pytest.raises(Veto):
        call_before(pm, "babe_before_create", settings=pm.settings, plan=[])
    create, vetoed = traces("\n".join(lines))
    assert vetoed["hook"] == "babe_vetoed"  # announced once the before-hook's call ended in a veto
    assert (create["hook"], create["plugins"], create["ending"]) == ("babe_before_create", "timer (wrapper), cap", "raised Veto")
    assert float(create["ms"]) >= 0
    undo()
    call_after(pm, "babe_after_create", settings=pm.settings, plan=[], result=None)
    assert len(lines) == 2  # the undo stops the tracing


def test_a_hook_called_directly_through_pluggy_is_traced_with_the_plugins_pluggy_was_given(exp):
    plugin(exp, "a", "def babe_preflight(settings):\n    return ['a']\n")
    plugin(exp, "b", "def babe_preflight(settings):\n    return None\n")
    pm = plugin_manager(Settings.build(), warn=lambda _: None)
    lines: list[str] = []
    trace(pm, write=lines.append)
    assert pm.hook.babe_preflight(settings=pm.settings, context=pm.context) == [["a"]]
    (line,) = traces("\n".join(lines))
    assert (line["plugins"], line["ending"]) == ("b, a", "returned [list]")


def test_the_babe_program_traces_a_create_on_stderr_only(exp, babe, mturk, monkeypatch):
    (exp / "invoke.yaml").write_text(
        'babe:\n  url: https://example.org/exp/\n  title: Traced\n  description: d\n  reward: "0.50"\n'
        f"  plugins:\n    watcher:\n      webhook: {SECRET}\n",
        encoding="utf-8",
    )
    plugin(exp, "watcher", "def babe_after_create(settings, plan, result):\n    settings.plugin_settings('watcher')\n")
    monkeypatch.setenv("BABE_TRACE_PLUGINS", "1")
    run = babe("create", "--assignments", "8", "--json")
    assert run.code == 0, run.err
    assert run.json["hits"]  # stdout stays one JSON document
    lines = traces(run.err)
    hooks = [line["hook"] for line in lines]
    assert hooks[0] == "babe_configure"
    assert "babe_platform" in hooks and hooks.index("babe_before_create") < hooks.index("babe_after_create")
    after = next(line for line in lines if line["hook"] == "babe_after_create")
    assert after["arguments"] == "settings: Settings, plan: Plan, result: CreateResult, context: HookContext"
    assert after["plugins"] == "watcher"
    assert SECRET not in run.err
    monkeypatch.delenv("BABE_TRACE_PLUGINS")
    assert "trace:" not in babe("status").err


def test_the_babe_console_script_traces_too(exp, babe_cmd):
    plugin(exp, "counted", "def babe_describe(settings):\n    return {'channel': '#lab'}\n")
    run = babe_cmd(exp, "plugins", "--json", env={"BABE_TRACE_PLUGINS": "1", "BABE_PLUGINS": "counted"})
    assert run.code == 0, run
    assert {row["name"] for row in run.json["plugins"]} >= {"counted", "mturk"}
    describe = next(line for line in traces(run.err) if line["hook"] == "babe_describe")
    assert describe["plugins"] == "counted" and describe["ending"] == "returned [dict]"
