"""Hook wrappers: `@hookimpl(wrapper=True)` runs around the other plugins' implementations, through
pluggy's own call loop, with every failure still named by its plugin; old-style
`hookwrapper=True` wrappers are refused when the plugin is registered, never silently skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pluggy
import pytest

from babe_tasks import hookspecs
from babe_tasks.errors import PluginFailure, UsageError, Veto
from babe_tasks.plugins import (
    call_after,
    call_before,
    call_first,
    collect,
    describe,
    hookimpl,
)

from .plugin_files import manager, plugin

#: A wrapper that logs when it is entered and left, what the others answered or raised, and how long they took.
TIMER = """
import time
from babe_tasks.plugins import hookimpl

LOG = []

@hookimpl(wrapper=True)
def {hook}({arguments}):
    LOG.append("enter")
    started = time.perf_counter()
    try:
        result = yield
    except Exception as exc:
        LOG.append(("raised", type(exc).__name__, str(exc)))
        raise
    LOG.append(("returned", result, time.perf_counter() - started))
    return result
"""


def timer(folder: Path, hook: str, arguments: str) -> None:
    plugin(folder, "timer", TIMER.format(hook=hook, arguments=arguments))


def log_of(pm, name: str = "timer") -> list:
    return pm.get_plugin(name).LOG


def test_a_wrapper_runs_around_a_before_hook_and_sees_its_results(exp):
    plugin(exp, "holder", """
        import time

        def babe_before_approve(settings, assignments):
            time.sleep(0.01)
            return [("X2", "data missing")]
    """)
    timer(exp, "babe_before_approve", "settings, assignments")
    pm, warnings = manager()
    assert warnings == []
    assert call_before(pm, "babe_before_approve", settings=None, assignments=[]) == [[("X2", "data missing")]]
    entered, (kind, result, elapsed) = log_of(pm)
    assert entered == "enter" and kind == "returned"
    assert result == [[("X2", "data missing")]]
    assert elapsed >= 0.01  # it timed the other plugin's work


def test_a_wrapper_sees_a_veto_and_the_veto_still_names_its_plugin(exp):
    heard = exp / "heard.json"
    plugin(exp, "cap", """
        from babe_tasks.plugins import Veto

        def babe_before_expire(settings, hit_ids):
            raise Veto("too many")
    """)
    plugin(exp, "listener", f"""
        import json

        def babe_vetoed(settings, step, plugin, message):
            open({str(heard)!r}, "w").write(json.dumps([step, plugin, message]))
    """)
    timer(exp, "babe_before_expire", "settings, hit_ids")
    pm, _ = manager()
    with pytest.raises(Veto) as caught:
        call_before(pm, "babe_before_expire", settings=None, hit_ids=["H1"])
    assert caught.value.plugin == "cap" and caught.value.exit_code == 3
    assert log_of(pm) == ["enter", ("raised", "Veto", "too many")]
    assert json.loads(heard.read_text()) == ["expire", "cap", "too many"]


def test_a_crash_under_a_wrapper_is_still_the_crashing_plugins(exp):
    plugin(exp, "buggy", "def babe_before_create(settings, plan):\n    return 1 / 0\n")
    timer(exp, "babe_before_create", "settings, plan")
    pm, _ = manager()
    with pytest.raises(PluginFailure) as caught:
        call_before(pm, "babe_before_create", settings=None, plan={})
    assert caught.value.plugin == "buggy"
    assert str(caught.value) == "plugin buggy failed in babe_before_create: ZeroDivisionError: division by zero"
    assert log_of(pm)[-1] == ("raised", "ZeroDivisionError", "division by zero")


def test_a_crashing_wrapper_is_named_as_the_culprit(exp):
    plugin(exp, "fine", "def babe_before_create(settings, plan):\n    plan.append('fine')\n")
    plugin(exp, "strict", """
        from babe_tasks.plugins import hookimpl

        @hookimpl(wrapper=True)
        def babe_before_create(settings, plan):
            result = yield
            raise LookupError(f"saw {len(plan)} change")
    """)
    pm, _ = manager()
    plan: list[str] = []
    with pytest.raises(PluginFailure) as caught:
        call_before(pm, "babe_before_create", settings=None, plan=plan)
    assert plan == ["fine"]  # the wrapper ran around the implementation
    assert caught.value.plugin == "strict"
    assert str(caught.value) == "plugin strict failed in babe_before_create: LookupError: saw 1 change"


def test_after_hooks_under_a_wrapper_all_run_and_failures_stay_warnings(exp):
    plugin(exp, "first", "def babe_after_approve(settings, result):\n    raise RuntimeError('webhook down')\n")
    plugin(exp, "second", "def babe_after_approve(settings, result):\n    result['second'] = True\n    return 'told'\n")
    timer(exp, "babe_after_approve", "settings, result")
    pm, _ = manager()
    result: dict = {}
    seen: list[str] = []
    assert call_after(pm, "babe_after_approve", warn=seen.append, settings=None, result=result) == [
        "plugin first failed in babe_after_approve: RuntimeError: webhook down"
    ]
    assert seen == ["plugin first failed in babe_after_approve: RuntimeError: webhook down"]
    assert result == {"second": True}
    assert log_of(pm)[1][:2] == ("returned", ["told"])  # the wrapper saw the answers, the failure was a warning


def test_a_wrapper_crashing_in_an_after_hook_is_a_warning_naming_it(exp):
    plugin(exp, "ran", "def babe_after_expire(settings, result):\n    result.append('ran')\n")
    plugin(exp, "noisy", """
        from babe_tasks.plugins import hookimpl

        @hookimpl(wrapper=True)
        def babe_after_expire(settings, result):
            yield
            raise OSError("log disk full")
    """)
    pm, _ = manager()
    result: list[str] = []
    warnings = call_after(pm, "babe_after_expire", warn=lambda _: None, settings=None, result=result)
    assert result == ["ran"]
    assert warnings == ["plugin noisy failed in babe_after_expire: OSError: log disk full"]


def test_a_wrapper_may_add_to_a_contribution_and_each_answer_keeps_its_author(exp):
    plugin(exp, "a", "def babe_preflight(settings):\n    return ['a: ok']\n")
    plugin(exp, "b", "def babe_preflight(settings):\n    return ['b: ok']\n")
    plugin(exp, "summary", """
        from babe_tasks.plugins import hookimpl

        @hookimpl(wrapper=True)
        def babe_preflight(settings):
            answers = yield
            return [*answers, [f"{len(answers)} plugins answered"]]
    """)
    pm, warnings = manager()
    assert warnings == []
    assert collect(pm, "babe_preflight", settings=None) == [
        ("b", ["b: ok"]), ("a", ["a: ok"]), ("summary", ["2 plugins answered"]),
    ]


def test_a_wrapper_around_a_firstresult_hook_sees_the_answer(exp):
    plugin(exp, "fetcher", "def babe_fetch_results(settings, destination):\n    return destination\n")
    timer(exp, "babe_fetch_results", "settings, destination")
    pm, _ = manager()
    assert call_first(pm, "babe_fetch_results", settings=None, destination=exp / "out.csv") == exp / "out.csv"
    assert log_of(pm)[1][:2] == ("returned", exp / "out.csv")


def test_a_wrapper_that_does_not_yield_is_its_plugins_failure(exp):
    plugin(exp, "lazy", """
        from babe_tasks.plugins import hookimpl

        @hookimpl(wrapper=True)
        def babe_before_create(settings, plan):
            if False:
                yield
    """)
    pm, _ = manager()
    with pytest.raises(PluginFailure) as caught:
        call_before(pm, "babe_before_create", settings=None, plan={})
    assert caught.value.plugin == "lazy"
    assert "the hook wrapper babe_before_create of plugin lazy did not yield" in str(caught.value)


def test_a_wrapper_crashing_in_babe_configure_drops_its_plugin(exp):
    plugin(exp, "wrapcrash", """
        from babe_tasks.plugins import hookimpl

        @hookimpl(wrapper=True)
        def babe_configure(settings):
            yield
            raise KeyError("channel")

        def babe_preflight(settings):
            return ["should not run"]
    """)
    plugin(exp, "kept", "def babe_preflight(settings):\n    return ['kept']\n")
    pm, warnings = manager()
    assert pm.info("wrapcrash").status == "failed"
    assert len(warnings) == 1 and warnings[0].startswith("plugin wrapcrash") and "failed to configure: KeyError" in warnings[0]
    assert collect(pm, "babe_preflight", settings=None) == [("kept", ["kept"])]
    with pytest.raises(UsageError, match="plugin wrapcrash .* failed to configure"):
        manager(strict_plugins=True)


OLD_STYLE = """
from babe_tasks.plugins import hookimpl

@hookimpl(hookwrapper=True)
def babe_before_create(settings, plan):
    outcome = yield
    outcome.force_result([])

def babe_preflight(settings):
    return ["should not run"]
"""


def test_an_old_style_hookwrapper_is_refused_in_one_line_naming_the_plugin(exp):
    plugin(exp, "oldwrap", OLD_STYLE)
    pm, warnings = manager()
    assert pm.info("oldwrap").status == "failed"
    assert not pm.has_plugin("oldwrap")
    assert collect(pm, "babe_preflight", settings=None) == []
    (warning,) = warnings
    assert "\n" not in warning
    assert warning.startswith(f"plugin oldwrap ({exp / 'plugins' / 'oldwrap.py'}) has invalid hooks: PluginValidationError:")
    assert "babe_before_create is an old-style hookwrapper=True wrapper" in warning and "@hookimpl(wrapper=True)" in warning
    with pytest.raises(UsageError, match="plugin oldwrap .* has invalid hooks") as caught:
        manager(strict_plugins=True)
    assert caught.value.exit_code == 2 and caught.value.plugin == "oldwrap"


def test_a_manager_babe_did_not_build_runs_wrappers_too():
    """The call helpers work on any pluggy manager of babe's hooks (a lab's own tests build one)."""
    order = []

    class Timer:
        @hookimpl(wrapper=True)
        def babe_before_create(self, settings, plan):
            order.append("timer enters")
            result = yield
            order.append(f"timer leaves with {result}")
            return result

    class Cap:
        @hookimpl
        def babe_before_create(self, settings, plan):
            order.append("cap")
            return "checked"

    class Old:
        @hookimpl(hookwrapper=True)
        def babe_before_create(self, settings, plan):
            yield

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(Cap(), name="cap")
    pm.register(Timer(), name="timer")
    assert call_before(pm, "babe_before_create", settings=None, plan=None) == ["checked"]
    assert order == ["timer enters", "cap", "timer leaves with ['checked']"]
    pm.register(Old(), name="old")
    with pytest.raises(pluggy.PluginValidationError, match="old-style hookwrapper=True"):
        call_before(pm, "babe_before_create", settings=None, plan=None)


def test_babe_plugins_shows_wrappers_as_such(exp, babe, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    timer(exp, "babe_before_create", "settings, plan")
    plugin(exp, "plain", "def babe_after_create(settings, plan, result):\n    pass\n")
    run = babe("plugins", "--json")
    assert run.code == 0, run.err
    rows = {row["name"]: row for row in run.json["plugins"]}
    assert (rows["timer"]["hooks"], rows["timer"]["wrappers"]) == (["babe_before_create"], ["babe_before_create"])
    assert (rows["plain"]["hooks"], rows["plain"]["wrappers"]) == (["babe_after_create"], [])
    table = babe("plugins")
    assert table.code == 0
    assert "babe_before_create (wrapper)" in table.out
    assert "babe_after_create (wrapper)" not in table.out
    info = next(info for info in describe(manager()[0]) if info.name == "timer")
    assert info.wrappers == ["babe_before_create"]


def test_a_wrapper_times_a_real_create_on_the_local_mturk(exp, babe, mturk):
    """Through the real program: the wrapper runs around `babe create`'s before- and after-hooks."""
    (exp / "invoke.yaml").write_text(
        'babe:\n  url: https://example.org/exp/\n  title: Timed\n  description: d\n  reward: "0.50"\n', encoding="utf-8"
    )
    log = exp / "timings.jsonl"
    plugin(exp, "timing", f"""
        import json, time
        from babe_tasks.plugins import hookimpl

        def _write(hook, seconds, answers):
            with open({str(log)!r}, "a") as f:
                f.write(json.dumps({{"hook": hook, "seconds": seconds, "answers": answers}}) + "\\n")

        @hookimpl(wrapper=True)
        def babe_before_create(settings, plan):
            started = time.perf_counter()
            answers = yield
            _write("babe_before_create", time.perf_counter() - started, len(answers))
            return answers

        @hookimpl(wrapper=True)
        def babe_after_create(settings, plan, result):
            started = time.perf_counter()
            answers = yield
            _write("babe_after_create", time.perf_counter() - started, [h.hit_id for h in result.hits])
            return answers
    """)
    run = babe("create", "--assignments", "8", "--json")
    assert run.code == 0, run.err
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [entry["hook"] for entry in entries] == ["babe_before_create", "babe_after_create"]
    assert all(entry["seconds"] >= 0 for entry in entries)
    assert entries[1]["answers"] == [hit["HITId"] for hit in mturk.list_hits()["HITs"]] != []
