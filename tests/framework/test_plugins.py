"""Plugins: where they come from, selection, failures, and how hooks are called (vetoes, warnings)."""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

import pytest

from babe_tasks import hookspecs
from babe_tasks.errors import PluginFailure, UsageError, Veto
from babe_tasks.plugins import (
    BUILTINS,
    call_after,
    call_before,
    call_first,
    collect,
    describe,
    get_platform,
    hookimpl,
)
from babe_tasks.settings import Settings

from .plugin_files import manager, plugin

#: The hooks of the contract and their keyword arguments, exactly.
CONTRACT = {
    "babe_configure": ["settings", "context"],
    "babe_platform": ["settings", "context"],
    "babe_before_create": ["settings", "context", "plan"],
    "babe_after_create": ["settings", "context", "plan", "result"],
    "babe_before_approve": ["settings", "context", "assignments"],
    "babe_after_approve": ["settings", "context", "result"],
    "babe_before_expire": ["settings", "context", "hit_ids"],
    "babe_after_expire": ["settings", "context", "result"],
    "babe_before_reject": ["settings", "context", "assignments"],
    "babe_after_reject": ["settings", "context", "result"],
    "babe_before_bonus": ["settings", "context", "payments", "pricing"],
    "babe_after_bonus": ["settings", "context", "result"],
    "babe_before_extend": ["settings", "context", "plan"],
    "babe_after_extend": ["settings", "context", "result"],
    "babe_vetoed": ["settings", "context", "step", "plugin", "message"],
    "babe_cost": ["settings", "context", "report"],
    "babe_describe": ["settings", "context"],
    "babe_milestone": ["settings", "context", "milestone", "status"],
    "babe_status": ["settings", "context", "status"],
    "babe_fetch_results": ["settings", "context", "destination"],
    "babe_preflight": ["settings", "context"],
    "babe_doctor": ["settings", "context"],
    "babe_before_commit": ["settings", "context", "step", "amount", "ledger"],
    "babe_review_data": ["settings", "context", "assignments"],
}


def loaded(pm) -> list[str]:
    return [info.name for info in describe(pm) if info.status == "loaded"]


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A directory on sys.path where tests install distributions announcing entry-point plugins."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    before = set(sys.modules)
    yield path
    for name in set(sys.modules) - before:
        if name.startswith("labplug"):
            del sys.modules[name]


def install(site: Path, dist: str, module: str, entry_name: str, code: str) -> Path:
    info = site / f"{dist}-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2\n")
    import babe_tasks.plugins as plugins

    (info / "entry_points.txt").write_text(f"[{plugins.ENTRY_POINT_GROUP}]\n{entry_name} = {module}\n")
    path = site / f"{module}.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def test_hook_specs_match_the_contract_and_each_has_a_docstring():
    specs = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("babe_") and callable(fn)}
    assert {name: list(inspect.signature(fn).parameters) for name, fn in specs.items()} == CONTRACT
    for name, fn in specs.items():
        assert fn.__doc__ and len(fn.__doc__.strip()) > 40, name
    assert specs["babe_platform"].babe_tasks_spec["firstresult"] is True
    assert specs["babe_fetch_results"].babe_tasks_spec["firstresult"] is True
    assert not specs["babe_before_create"].babe_tasks_spec["firstresult"]


def test_the_mturk_platform_is_an_installed_platform_plugin(exp):
    assert BUILTINS == ()
    pm, warnings = manager()
    assert warnings == []
    info = pm.info("mturk")
    assert (info.source, info.status) == ("platform", "loaded") and info.origin.endswith("(babe_mturk.plugin)")
    other = pm.info("prolific")
    assert (other.source, other.status, other.error) == ("platform", "skipped", "the platform is mturk")
    assert "babe_platform" in info.hooks or "babe_platform" in describe(pm)[0].hooks


def test_folder_plugins_are_named_by_their_file_and_helpers_are_skipped(exp):
    plugin(exp, "slack", """
        from babe_tasks.plugins import hookimpl

        @hookimpl
        def babe_after_create(settings, plan, result):
            pass

        @hookimpl
        def babe_status(settings):
            return {"slack": "ok"}
    """)
    plugin(exp, "_shared", "raise RuntimeError('helpers are not plugins')")
    (exp / "plugins" / "README.txt").write_text("not python")
    pm, warnings = manager()
    assert warnings == []
    info = pm.info("slack")
    assert (info.source, info.origin, info.status) == ("folder", str(exp / "plugins" / "slack.py"), "loaded")
    assert describe(pm) and info.hooks == ["babe_after_create", "babe_status"]
    assert pm.info("_shared") is None


def test_a_hook_without_the_marker_still_counts_when_named_exactly_like_a_hook(exp):
    plugin(exp, "plain", """
        def babe_status(settings, status):
            return {"plain": True}

        def babe_helper():
            return "not a hook"
    """)
    pm, _ = manager()
    assert collect(pm, "babe_status", settings=None, status={}) == [("plain", {"plain": True})]


def test_a_plugin_that_fails_to_import_is_reported_by_name_and_skipped(exp):
    plugin(exp, "broken", "import nosuchmodule_xyz\n")
    plugin(exp, "fine", "def babe_preflight(settings):\n    return ['x']\n")
    pm, warnings = manager()
    assert loaded(pm) == ["mturk", "fine"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"plugin broken ({exp / 'plugins' / 'broken.py'}) failed to import: ModuleNotFoundError")
    assert warnings[0].endswith("; skipped")
    assert pm.info("broken").status == "failed"


def test_strict_plugins_makes_an_import_failure_fatal(exp):
    plugin(exp, "broken", "raise ValueError('bad config line')\n")
    with pytest.raises(UsageError, match=r"plugin broken .* failed to import: ValueError: bad config line \(strict_plugins is on\)") as caught:
        manager(strict_plugins=True)
    assert caught.value.exit_code == 2 and caught.value.plugin == "broken"


def test_a_misspelt_hook_is_a_plugin_failure(exp):
    plugin(exp, "typo", """
        from babe_tasks.plugins import hookimpl

        @hookimpl
        def babe_befor_create(settings, plan):
            pass
    """)
    pm, warnings = manager()
    assert "typo" not in loaded(pm)
    assert "plugin typo" in warnings[0] and "has invalid hooks" in warnings[0]


def test_a_hook_asking_for_an_argument_the_spec_lacks_is_a_plugin_failure(exp):
    plugin(exp, "greedy", """
        from babe_tasks.plugins import hookimpl

        @hookimpl
        def babe_before_create(settings, plan, money):
            pass
    """)
    pm, warnings = manager()
    assert "greedy" not in loaded(pm) and "has invalid hooks" in warnings[0]


def test_babe_plugins_selects_and_babe_disable_plugins_blocks(exp, monkeypatch):
    for name in ("a", "b", "c"):
        plugin(exp, name, "def babe_preflight(settings):\n    return None\n")
    monkeypatch.setenv("BABE_PLUGINS", "a, c")
    pm, warnings = manager()
    assert loaded(pm) == ["mturk", "a", "c"] and warnings == []
    assert pm.info("b").status == "disabled" and pm.info("b").error == "not in BABE_PLUGINS"
    monkeypatch.setenv("BABE_PLUGINS", "")
    assert loaded(manager()[0]) == ["mturk"]
    monkeypatch.delenv("BABE_PLUGINS")
    monkeypatch.setenv("BABE_DISABLE_PLUGINS", "b,mturk")
    pm, _ = manager()
    assert loaded(pm) == ["a", "c"]
    assert pm.info("mturk").status == "disabled"


def test_babe_plugins_naming_an_unknown_plugin_warns_or_fails_when_strict(exp, monkeypatch):
    monkeypatch.setenv("BABE_PLUGINS", "ghost")
    _, warnings = manager()
    assert warnings == ["BABE_PLUGINS names ghost, but no such plugin was found"]
    with pytest.raises(UsageError, match="BABE_PLUGINS names ghost"):
        manager(strict_plugins=True)


def test_entry_point_plugins_carry_their_distribution(exp, site):
    install(site, "labplug", "labplug_slack", "slack", "def babe_after_approve(settings, result):\n    pass\n")
    pm, warnings = manager()
    assert warnings == []
    info = pm.info("slack")
    assert (info.source, info.origin, info.status) == ("entry point", "labplug 1.2 (labplug_slack)", "loaded")
    assert loaded(pm) == ["mturk", "slack"]


def test_an_entry_point_plugin_also_in_the_folder_is_loaded_once(exp, site):
    source = install(site, "labplug", "labplug_cap", "cap", "COUNT = []\ndef babe_before_create(settings, plan):\n    plan.append('cap')\n")
    (exp / "plugins").mkdir()
    (exp / "plugins" / "cap.py").symlink_to(source)
    (exp / "plugins" / "cap_copy.py").symlink_to(source)
    pm, warnings = manager()
    assert warnings == []
    plan: list[str] = []
    call_before(pm, "babe_before_create", settings=None, plan=plan)
    assert plan == ["cap"]
    statuses = {(info.name, info.source): (info.status, info.error) for info in describe(pm)}
    assert statuses[("cap", "entry point")] == ("loaded", None)
    assert statuses[("cap", "folder")] == ("skipped", "already loaded as plugin cap")
    assert statuses[("cap_copy", "folder")] == ("skipped", "already loaded as plugin cap")


def test_a_folder_plugin_with_the_name_of_an_installed_one_is_skipped_with_a_warning(exp, site):
    install(site, "labplug", "labplug_cap2", "cap", "def babe_preflight(settings):\n    return ['installed']\n")
    plugin(exp, "cap", "def babe_preflight(settings):\n    return ['folder']\n")
    pm, warnings = manager()
    assert collect(pm, "babe_preflight", settings=None) == [("cap", ["installed"])]
    assert len(warnings) == 1 and "plugin file" in warnings[0] and "a plugin named cap is already loaded" in warnings[0]


def test_every_manager_is_fresh(exp):
    plugin(exp, "counter", """
        CALLS = []

        def babe_preflight(settings):
            CALLS.append(1)
            return [f"call {len(CALLS)}"]
    """)
    for _ in range(3):
        pm, _ = manager()
        assert collect(pm, "babe_preflight", settings=None) == [("counter", ["call 1"])]


def test_babe_configure_gets_the_settings_and_may_refuse_them(exp):
    (exp / "invoke.yaml").write_text("babe:\n  plugins:\n    capper:\n      limit: lots\n")
    plugin(exp, "capper", """
        from babe_tasks.errors import UsageError

        def babe_configure(settings):
            limit = settings.plugin_settings("capper")["limit"]
            if not str(limit).isdigit():
                raise UsageError(f"babe.plugins.capper.limit {limit!r} is not a number of dollars")
    """)
    with pytest.raises(UsageError, match="limit 'lots' is not a number") as caught:
        manager()
    assert caught.value.plugin == "capper" and caught.value.exit_code == 2


def test_a_plugin_crashing_in_babe_configure_is_skipped(exp):
    plugin(exp, "crashy", """
        def babe_configure(settings):
            raise KeyError("channel")

        def babe_preflight(settings):
            return ["should not run"]
    """)
    pm, warnings = manager()
    assert "crashy" not in loaded(pm)
    assert warnings[0].startswith("plugin crashy") and "failed to configure: KeyError" in warnings[0]
    assert collect(pm, "babe_preflight", settings=None) == []
    with pytest.raises(UsageError, match="failed to configure"):
        manager(strict_plugins=True)


def test_a_veto_stops_with_exit_3_naming_the_plugin(exp):
    plugin(exp, "aaa_ok", "def babe_before_expire(settings, hit_ids):\n    hit_ids.append('seen')\n")
    plugin(exp, "zzz_cap", """
        from babe_tasks.plugins import Veto

        def babe_before_expire(settings, hit_ids):
            raise Veto(f"{len(hit_ids)} HITs is too many")
    """)
    pm, _ = manager()
    hit_ids = ["H1", "H2"]
    with pytest.raises(Veto) as caught:
        call_before(pm, "babe_before_expire", settings=None, hit_ids=hit_ids)
    assert caught.value.exit_code == 3 and caught.value.plugin == "zzz_cap"
    assert str(caught.value) == "2 HITs is too many"
    assert hit_ids == ["H1", "H2"]  # last registered runs first: the veto came before aaa_ok ran


def test_a_crash_in_a_before_hook_stops_the_step_with_exit_3(exp):
    plugin(exp, "buggy", "def babe_before_create(settings, plan):\n    return 1 / 0\n")
    pm, _ = manager()
    with pytest.raises(PluginFailure) as caught:
        call_before(pm, "babe_before_create", settings=None, plan={})
    assert caught.value.exit_code == 3 and caught.value.plugin == "buggy"
    assert str(caught.value) == "plugin buggy failed in babe_before_create: ZeroDivisionError: division by zero"


def test_before_hooks_return_their_results(exp):
    plugin(exp, "holder", """
        def babe_before_approve(settings, assignments):
            return [(a["assignment_id"], "data missing") for a in assignments if a["worker_id"] == "A2"]
    """)
    plugin(exp, "quiet", "def babe_before_approve(settings, assignments):\n    return None\n")
    pm, _ = manager()
    assignments = [{"assignment_id": "X1", "worker_id": "A1"}, {"assignment_id": "X2", "worker_id": "A2"}]
    assert call_before(pm, "babe_before_approve", settings="S", assignments=assignments) == [[("X2", "data missing")]]


def test_after_hook_failures_are_warnings_and_the_others_still_run(exp, capsys):
    plugin(exp, "first", "SEEN = []\ndef babe_after_approve(settings, result):\n    raise RuntimeError('webhook down')\n")
    plugin(exp, "second", "def babe_after_approve(settings, result):\n    result['second'] = True\n")
    pm, _ = manager()
    result = {"approved": 3}
    warnings = call_after(pm, "babe_after_approve", settings=None, result=result)
    assert result == {"approved": 3, "second": True}
    assert warnings == ["plugin first failed in babe_after_approve: RuntimeError: webhook down"]
    captured = capsys.readouterr()
    assert captured.err == "warning: plugin first failed in babe_after_approve: RuntimeError: webhook down\n"
    assert captured.out == ""


def test_hooks_must_get_every_documented_argument(exp):
    plugin(exp, "p", "def babe_after_create(settings, result):\n    pass\n")
    pm, _ = manager()
    with pytest.raises(TypeError, match="babe_after_create called without plan"):
        call_after(pm, "babe_after_create", settings=None, result={})
    with pytest.raises(TypeError, match="no hook named babe_after_nothing"):
        call_after(pm, "babe_after_nothing", settings=None)


def test_every_call_helper_passes_the_runs_context_callers_never_do(exp):
    plugin(exp, "ctx", """
        SEEN = []

        def babe_configure(settings, context):
            SEEN.append(("configure", context))

        def babe_before_expire(settings, hit_ids, context):
            SEEN.append(("before", context))

        def babe_after_expire(settings, context):
            SEEN.append(("after", context))

        def babe_preflight(context):
            SEEN.append(("preflight", context))
            return [context.settings.experiment]

        def babe_fetch_results(settings, destination, context):
            SEEN.append(("first", context))
    """)
    pm, warnings = manager()
    assert warnings == [] and pm.context is not None and pm.context.settings is pm.settings
    call_before(pm, "babe_before_expire", settings=pm.settings, hit_ids=[])
    call_after(pm, "babe_after_expire", settings=pm.settings, result=None)
    assert collect(pm, "babe_preflight", settings=pm.settings) == [("ctx", ["my-exp"])]
    assert call_first(pm, "babe_fetch_results", settings=pm.settings, destination=exp) is None
    seen = pm.get_plugin("ctx").SEEN
    assert [step for step, _ in seen] == ["configure", "before", "after", "preflight", "first"]
    assert all(context is pm.context for _, context in seen)
    other = manager()[0]
    assert other.context is not pm.context  # one per manager: nothing leaks between runs


def test_a_manager_babe_did_not_build_gets_a_context_on_first_call():
    import pluggy

    seen = []

    class Listener:
        @hookimpl
        def babe_after_create(self, settings, context):
            seen.append(context)

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(Listener(), name="listener")
    settings = Settings.build()
    call_after(pm, "babe_after_create", settings=settings, plan=None, result=None)
    call_after(pm, "babe_after_create", settings=settings, plan=None, result=None)
    assert seen[0] is seen[1] is pm.context and pm.context.settings is settings


def test_call_first_and_get_platform(exp):
    plugin(exp, "prolific", """
        class Prolific:
            name = "prolific"

        def babe_platform(settings):
            return Prolific() if settings.platform == "prolific" else None
    """)
    pm, _ = manager(platform="prolific")
    assert get_platform(pm, pm.settings).name == "prolific"
    pm, _ = manager(platform="nowhere")
    with pytest.raises(UsageError, match="no plugin provides platform 'nowhere'"):
        get_platform(pm, pm.settings)
    plugin(exp, "fetcher", "def babe_fetch_results(settings, destination):\n    raise OSError('backend down')\n")
    pm, _ = manager()
    with pytest.raises(PluginFailure, match="plugin fetcher failed in babe_fetch_results: OSError: backend down"):
        call_first(pm, "babe_fetch_results", settings=None, destination=exp)


def test_the_babe_plugins_task_lists_plugins_sources_and_hooks(exp, babe, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the table's content is checked here, not its folding
    plugin(exp, "slack", "def babe_after_create(settings, plan, result):\n    pass\n")
    plugin(exp, "counted", "def babe_describe(settings):\n    return {'channel': '#lab'}\n")
    plugin(exp, "broken", "import nosuchmodule_xyz\n")
    run = babe("plugins", "--json")
    assert run.code == 0, run.err
    rows = {row["name"]: row for row in run.json["plugins"]}
    assert rows["slack"] == {
        "name": "slack", "source": "folder", "origin": str(exp / "plugins" / "slack.py"), "status": "loaded",
        "hooks": ["babe_after_create"], "wrappers": [], "error": None, "config": None,
    }
    assert rows["counted"]["config"] == {"channel": "#lab"}
    assert rows["mturk"]["source"] == "platform" and "babe_platform" in rows["mturk"]["hooks"]
    assert rows["broken"]["status"] == "failed" and rows["broken"]["error"].startswith("ModuleNotFoundError")
    assert "warning: plugin broken" in run.err
    table = babe("plugins")
    assert table.code == 0
    for text in ("slack", "folder", "babe_after_create", "broken", "failed", "mturk", "platform", "channel: #lab"):
        assert text in table.out
    strict = babe("plugins", "--strict-plugins", "--json")
    assert strict.code == 2
    assert strict.json["error"]["plugin"] == "broken"
    assert strict.err.startswith("error: plugin broken")


RECORDER = '''
import json
from pathlib import Path

from babe_tasks.plugins import hookimpl


def _log(settings, hook, **arguments):
    path = Path(settings.plugin_settings("recorder")["log"])
    entries = json.loads(path.read_text()) if path.exists() else []
    entries.append({"hook": hook, "experiment": settings.experiment,
                    "arguments": {name: type(value).__name__ for name, value in arguments.items()},
                    "detail": _detail(hook, arguments)})
    path.write_text(json.dumps(entries))


def _detail(hook, arguments):
    if hook == "babe_before_create":
        return {"hits": len(arguments["plan"].hits), "total": str(arguments["plan"].cost.total)}
    if hook == "babe_before_approve":
        return {"assignments": len(arguments["assignments"]), "first": arguments["assignments"][0].worker_id[:1]}
    if hook == "babe_before_expire":
        return {"hit_ids": len(arguments["hit_ids"])}
    if hook == "babe_status":
        return {"has_as_json": hasattr(arguments["status"], "as_json")}
    return None


@hookimpl
def babe_configure(settings):
    _log(settings, "babe_configure")


@hookimpl
def babe_before_create(settings, plan):
    _log(settings, "babe_before_create", plan=plan)


@hookimpl
def babe_after_create(settings, plan, result):
    _log(settings, "babe_after_create", plan=plan, result=result)


@hookimpl
def babe_status(settings, status):
    _log(settings, "babe_status", status=status)
    return {"recorded": True}


@hookimpl
def babe_before_approve(settings, assignments):
    _log(settings, "babe_before_approve", assignments=assignments)
    return [(assignments[0].assignment_id, "data not in the backend")]


@hookimpl
def babe_after_approve(settings, result):
    _log(settings, "babe_after_approve", result=result)


@hookimpl
def babe_before_expire(settings, hit_ids):
    _log(settings, "babe_before_expire", hit_ids=hit_ids)


@hookimpl
def babe_after_expire(settings, result):
    _log(settings, "babe_after_expire", result=result)
    raise RuntimeError("chat server down")
'''


@pytest.fixture
def lifecycle_folder(exp):
    log = exp / "hooks.json"
    (exp / "invoke.yaml").write_text(
        "babe:\n  url: https://example.org/exp/\n  title: Hooks\n  description: d\n  reward: \"0.50\"\n"
        f"  plugins:\n    recorder:\n      log: {log}\n",
        encoding="utf-8",
    )
    plugin(exp, "recorder", RECORDER)
    return exp, log


def test_every_step_hook_fires_with_its_documented_arguments(lifecycle_folder, babe):
    """A recording plugin through a whole run of the real program: create, work, status, approve, expire."""
    import json

    exp, log = lifecycle_folder
    assert babe("create", "--assignments", "12", "--json").code == 0
    assert babe("local.work", "--workers", "12").code == 0
    status = babe("status", "--json")
    assert status.code == 0 and status.json["recorded"] is True
    approve = babe("approve", "--json")
    assert approve.code == 0, approve.err
    assert approve.json["held"][0]["reason"] == "data not in the backend"
    assert approve.json["approved"] == 11
    expire = babe("expire", "--json")
    assert expire.code == 0  # an after-hook failure never fails the step
    assert "warning: plugin recorder failed in babe_after_expire: RuntimeError: chat server down" in expire.err
    entries = json.loads(log.read_text())
    fired = [(e["hook"], e["arguments"]) for e in entries if e["hook"] != "babe_configure"]
    assert [hook for hook, _ in fired] == [
        "babe_before_create", "babe_after_create", "babe_status", "babe_before_approve", "babe_after_approve",
        "babe_before_expire", "babe_after_expire",
    ]
    arguments = dict(fired)
    assert arguments["babe_before_create"] == {"plan": "Plan"}
    assert set(arguments["babe_after_create"]) == {"plan", "result"}
    assert arguments["babe_before_approve"] == {"assignments": "list"}
    assert arguments["babe_before_expire"] == {"hit_ids": "list"}
    details = {e["hook"]: e["detail"] for e in entries}
    assert details["babe_before_create"] == {"hits": 2, "total": "7.20"}  # 12 = 6 + 6 at $0.50, fee $0.10 each
    assert details["babe_before_approve"] == {"assignments": 12, "first": "A"}
    assert details["babe_before_expire"] == {"hit_ids": 2}
    assert details["babe_status"] == {"has_as_json": True}
    # once per plugin manager: create, status, approve, expire (local.work has no hooks)
    assert sum(e["hook"] == "babe_configure" for e in entries) == 4
    assert all(e["experiment"] == "my-exp" for e in entries)


def test_a_veto_in_create_posts_nothing_and_exits_3(exp, babe, mturk):
    (exp / "invoke.yaml").write_text(
        'babe:\n  url: https://example.org/exp/\n  title: Capped\n  description: d\n  reward: "0.50"\n', encoding="utf-8"
    )
    plugin(exp, "capper", """
        from decimal import Decimal
        from babe_tasks.plugins import hookimpl, Veto

        @hookimpl
        def babe_before_create(settings, plan):
            if plan.cost.total > Decimal("5.00"):
                raise Veto(f"this run costs ${plan.cost.total}, more than the $5.00 cap")
    """)
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 3
    assert run.json == {"error": {"exit_code": 3, "message": "this run costs $12.00, more than the $5.00 cap", "plugin": "capper"}}
    assert run.err.strip() == "error: stopped by plugin capper: this run costs $12.00, more than the $5.00 cap"
    assert mturk.list_hits()["NumResults"] == 0
    assert babe("create", "--assignments", "8", "--json").code == 0
    assert mturk.list_hits()["NumResults"] == 1


def test_a_veto_is_announced_to_every_plugin_through_babe_vetoed():
    """`babe_vetoed` fires once with the step, the vetoing plugin and its message; the veto stands."""
    import pluggy

    from babe_tasks import hookspecs
    from babe_tasks.errors import Veto
    from babe_tasks.plugins import call_before, hookimpl

    heard = []

    class Cap:
        @hookimpl
        def babe_before_create(self, settings, plan):
            raise Veto("this create commits $151.20")

    class Listener:
        @hookimpl
        def babe_vetoed(self, settings, step, plugin, message):
            heard.append((step, plugin, message))

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(Cap(), name="payment-cap")
    pm.register(Listener(), name="slack")
    with pytest.raises(Veto) as caught:
        call_before(pm, "babe_before_create", settings=None, plan=None)
    assert caught.value.plugin == "payment-cap"
    assert heard == [("create", "payment-cap", "this create commits $151.20")]
