"""Finding, loading and calling plugins (pluggy), with the failure rules docs/plugins.md promises.

Plugins come from three places, in this order: the chosen platform's plugin (entry point group
`babe_tasks.platforms`), installed packages (entry point group `babe_tasks`), and the experiment
folder's `plugins/*.py` (one plugin per file, named by the file; files starting with `_` are
helpers, not plugins). `BABE_PLUGINS=a,b` keeps only those besides the platform (set but empty:
none); `BABE_DISABLE_PLUGINS=a,b` blocks those, the platform included. A plugin that fails to
import or to configure is reported by name and skipped, or is fatal (exit 2) with
`strict_plugins`. The same plugin is never loaded twice: a folder file that is an installed
entry-point plugin's own file, or has the name of one already loaded, is skipped.

A fresh manager is built on every call to `plugin_manager`: nothing leaks between runs or tests.
Hooks are called by pluggy itself — its order, `firstresult`, `wrapper=True` wrappers and
monitoring — with every implementation wrapped once so that a failure names its plugin and, in
after-hooks and contributions, does not keep the other plugins from running (pluggy alone stops
at the first implementation that raises and does not say which one it was).
`BABE_TRACE_PLUGINS=1` prints every hook call on stderr (`trace`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import BabeError, PluginFailure, UsageError, Veto, did_you_mean, one_line

__all__ = [
    "BUILTINS",
    "ENTRY_POINT_GROUP",
    "BabePluginManager",
    "PluginInfo",
    "UsageError",
    "Veto",
    "call_after",
    "call_before",
    "call_first",
    "collect",
    "get_platform",
    "hookimpl",
    "plugin_manager",
    "trace",
]

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

#: Modules registered as plugins before any other, named by `builtin_name`. None today: every
#: platform, MTurk included, is an installed plugin (entry point) like any lab's.
BUILTINS: tuple[str, ...] = ()
#: Installed packages announce plugins here (pyproject: [project.entry-points.babe_tasks]).
ENTRY_POINT_GROUP = "babe_tasks"
#: Installed packages announce platforms here, named as `babe.platform` names them
#: (`mturk = "babe_mturk.plugin"`, `prolific = "babe_prolific"`). Only the chosen platform's plugin is
#: loaded; BABE_PLUGINS does not select it away (BABE_DISABLE_PLUGINS can still block it).
PLATFORM_GROUP = "babe_tasks.platforms"
#: The platform of a run whose settings name none.
DEFAULT_PLATFORM = "mturk"
FOLDER = "plugins"


@dataclass
class PluginInfo:
    """One plugin as `babe plugins` shows it."""

    name: str
    source: str  # "builtin" | "platform" | "entry point" | "folder"
    origin: str  # module name, "dist version (module)", or file path
    status: str = "loaded"  # "loaded" | "failed" | "disabled" | "skipped"
    hooks: list[str] = field(default_factory=list)
    wrappers: list[str] = field(default_factory=list)  # the hooks among `hooks` it wraps (`wrapper=True`)
    error: str | None = None


class BabePluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and what went wrong."""

    def __init__(self, settings: Any):
        super().__init__(hookspecs.PROJECT)
        self.settings = settings
        self.infos: list[PluginInfo] = []
        self.warnings: list[str] = []
        #: The run's `babe_tasks.context.HookContext`, passed to every hook taking `context`.
        self.context: Any = None

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        """Register as pluggy does, then make each implementation name its plugin when it fails.

        A plugin with an old-style `hookwrapper=True` wrapper is refused here (PluginValidationError,
        one line naming the hook), not registered and then silently never run.
        """
        registered = super().register(plugin, name)
        if registered is None:
            return None
        try:
            for caller in self.get_hookcallers(plugin) or []:
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin:
                        _attribute(caller.name, impl)
        except pluggy.PluginValidationError:
            self.unregister(plugin)
            raise
        return registered

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """Marked functions as usual; an unmarked function named exactly like a hook counts too.

        Forgetting `@hookimpl` would otherwise make a lab's hook silently never fire.
        """
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("babe_") and hasattr(hookspecs, name) and callable(getattr(plugin, name, None)):
            return {}
        return opts

    def info(self, name: str) -> PluginInfo | None:
        return next((info for info in self.infos if info.name == name), None)


def builtin_name(module: str) -> str:
    """`babe_mturk` → `mturk`."""
    last = module.rsplit(".", 1)[-1]
    return last.removesuffix("_plugin")


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _entry_points(group: str) -> Iterable[Any]:
    from importlib.metadata import entry_points

    return entry_points(group=group)


def _origin(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version} ({ep.value})" if dist is not None else ep.value


def plugin_manager(settings: Any, *, warn: Callable[[str], None] | None = None) -> BabePluginManager:
    """A new plugin manager for this run: every plugin found, loaded, registered and configured.

    Failures are printed as warnings (through `warn`, default `output.warn`) and kept in
    `pm.warnings`; with `settings.strict_plugins` the first failure raises UsageError (exit 2).
    """
    if warn is None:
        from .output import warn
    pm = BabePluginManager(settings)
    pm.add_hookspecs(hookspecs)
    if tracing_enabled():
        trace(pm)
    strict = bool(getattr(settings, "strict_plugins", False))
    selected = _names("BABE_PLUGINS")
    disabled = _names("BABE_DISABLE_PLUGINS") or set()
    files: dict[Path, str] = {}

    def failed(info: PluginInfo, what: str, exc: BaseException) -> None:
        info.status, info.error = "failed", f"{type(exc).__name__}: {one_line(exc)}"
        pm.infos.append(info)
        message = f"plugin {info.name} ({info.origin}) {what}: {info.error}"
        if strict:
            raise UsageError(f"{message} (strict_plugins is on)", plugin=info.name) from None
        pm.warnings.append(f"{message}; skipped")
        warn(f"{message}; skipped")

    def register(info: PluginInfo, load: Callable[[], Any]) -> None:
        if info.name in disabled:
            info.status, info.error = "disabled", "BABE_DISABLE_PLUGINS"
            pm.infos.append(info)
            return
        if info.source not in ("builtin", "platform") and selected is not None and info.name not in selected:
            info.status, info.error = "disabled", "not in BABE_PLUGINS"
            pm.infos.append(info)
            return
        try:
            plugin = load()
        except Exception as exc:  # noqa: BLE001 - whatever a plugin raises on import, it is that plugin's failure
            failed(info, "failed to import", exc)
            return
        if pm.is_registered(plugin):
            info.status, info.error = "skipped", f"already loaded as plugin {pm.get_name(plugin)}"
            pm.infos.append(info)
            return
        try:
            pm.register(plugin, name=info.name)
            pm.check_pending()
        except Exception as exc:  # noqa: BLE001 - a hook pluggy refuses, or one babe refuses (old-style wrapper)
            if pm.has_plugin(info.name):
                pm.unregister(name=info.name)
            failed(info, "has invalid hooks", exc)
            return
        pm.infos.append(info)
        module_file = getattr(plugin, "__file__", None)
        if module_file:
            files[Path(module_file).resolve()] = info.name

    for module in BUILTINS:
        register(PluginInfo(builtin_name(module), "builtin", module), lambda module=module: importlib.import_module(module))

    chosen = getattr(settings, "platform", None) or DEFAULT_PLATFORM
    for ep in _entry_points(PLATFORM_GROUP):
        info = PluginInfo(ep.name, "platform", _origin(ep))
        if ep.name != chosen:
            # Not imported: a platform's plugin matters only to runs on that platform.
            info.status, info.error = "skipped", f"the platform is {chosen}"
            pm.infos.append(info)
        elif pm.info(ep.name) is None:
            register(info, ep.load)

    seen_entry_points: set[str] = set()
    for ep in _entry_points(ENTRY_POINT_GROUP):
        if ep.name in seen_entry_points:
            continue
        seen_entry_points.add(ep.name)
        info = PluginInfo(ep.name, "entry point", _origin(ep))
        if pm.info(ep.name) is not None:
            info.status, info.error = "skipped", f"a plugin named {ep.name} is already loaded"
            pm.infos.append(info)
            continue
        register(info, ep.load)

    folder = Path(getattr(settings, "folder", Path.cwd())) / FOLDER
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        if path.name.startswith("_"):
            continue
        info = PluginInfo(path.stem, "folder", str(path))
        same_file = files.get(path.resolve())
        if same_file is not None:
            info.status, info.error = "skipped", f"already loaded as plugin {same_file}"
            pm.infos.append(info)
            continue
        if pm.info(path.stem) is not None and pm.info(path.stem).status == "loaded":
            info.status, info.error = "skipped", f"a plugin named {path.stem} is already loaded"
            pm.infos.append(info)
            message = f"plugin file {path} skipped: {info.error} ({pm.info(path.stem).origin})"
            pm.warnings.append(message)
            warn(message)
            continue
        register(info, lambda path=path: _load_file(path))

    if selected:
        missing = sorted(selected - {info.name for info in pm.infos})
        if missing:
            message = f"BABE_PLUGINS names {', '.join(missing)}, but no such plugin was found"
            if strict:
                raise UsageError(f"{message} (strict_plugins is on)")
            pm.warnings.append(message)
            warn(message)

    _check_sections(pm, settings)
    from .context import HookContext

    pm.context = HookContext.for_run(pm, settings)
    _configure(pm, settings, failed)
    return pm


def _check_sections(pm: BabePluginManager, settings: Any) -> None:
    """Refuse a `babe.plugins.<name>` section that names no plugin found (loaded, disabled or failed).

    A misspelt section (`payment_cap` for `payment-cap`) would otherwise leave its plugin on its
    defaults — a payment cap that never caps — and the run would go on as if all were well.
    """
    known = sorted({info.name for info in pm.infos})
    for section in getattr(settings, "plugins", None) or {}:
        if section not in known:
            hint = did_you_mean(section, known, "the plugins found are")
            raise UsageError(f"babe.plugins.{section} names no plugin babe found: {hint} (`babe plugins` lists them)")


def _load_file(path: Path) -> Any:
    """Import one plugin file as its own module (a fresh one each time: plugins never share state)."""
    module_name = f"babe_folder_plugin_{abs(hash(str(path.parent.resolve())))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-.py files
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _configure(pm: BabePluginManager, settings: Any, failed: Callable[[PluginInfo, str, BaseException], None]) -> None:
    """Fire babe_configure: a bad setting is the user's error (exit 2), a crash is the plugin's.

    A crashing plugin is unregistered and reported (the others are still configured); with
    `strict_plugins` the first crash stops the call and is fatal.
    """
    strict = bool(getattr(settings, "strict_plugins", False))
    call = _fire(pm, "babe_configure", {"settings": settings}, _tolerate_nothing if strict else _tolerate_crashes)
    failures = list(call.failures)
    refusal: BabeError | None = None
    if call.error is not None:
        plugin = call.culprit(call.error)
        if plugin is None:
            raise call.error
        if isinstance(call.error, BabeError):
            refusal = call.error
            if refusal.plugin is None:
                refusal.plugin = plugin
        else:
            failures.append((plugin, call.error))
    for plugin, exc in failures:
        if not pm.has_plugin(plugin):
            continue  # a plugin whose implementation and wrapper both crashed is reported once
        info = pm.info(plugin)
        pm.unregister(name=plugin)
        if info is not None:
            pm.infos.remove(info)
        failed(info or PluginInfo(plugin, "unknown", "?"), "failed to configure", exc)
    if refusal is not None:
        raise refusal


# -- calling hooks ------------------------------------------------------------------------------
#
# Hooks are called by pluggy (`pm.hook.<name>(**kwargs)`): its order, its `firstresult`, its
# wrappers, its monitoring. What pluggy does not do is say which plugin raised, or let the other
# implementations run after one failed. So every implementation is wrapped once (`_attribute`):
# while babe calls a hook, the wrapped function tells the call in progress (`_Call`, in a context
# variable) that it ran, what it returned and what it raised — and, where the call's rule says a
# failure is only a warning (after-hooks, contributions), it keeps the failure and returns None so
# pluggy goes on to the next implementation.


def _tolerate_nothing(exc: Exception) -> bool:
    """Before-hooks and firstresult hooks: any failure stops the call."""
    return False


def _tolerate_everything(exc: Exception) -> bool:
    """After-hooks and contributions: every failure is a warning, the other plugins still run."""
    return True


def _tolerate_crashes(exc: Exception) -> bool:
    """babe_configure: a UsageError stops the run; a crash only drops its plugin."""
    return not isinstance(exc, BabeError)


@dataclass
class _Call:
    """One hook call in progress, as its implementations report it."""

    hook: str
    tolerate: Callable[[Exception], bool]  # True: keep the failure as a warning, go on
    called: list[tuple[str, bool]] = field(default_factory=list)  # (plugin, is a wrapper), in call order
    results: list[tuple[str, Any]] = field(default_factory=list)  # (plugin, non-None result)
    failures: list[tuple[str, Exception]] = field(default_factory=list)  # tolerated
    wrapped: list[tuple[str, Any]] = field(default_factory=list)  # (wrapper's plugin, what it returned), innermost first
    blamed: dict[int, tuple[BaseException, str]] = field(default_factory=dict)
    outcome: Any = None
    error: Exception | None = None

    def blame(self, exc: BaseException, plugin: str) -> None:
        """Remember who raised `exc` first: a wrapper re-raising its implementation's error is not its author."""
        self.blamed.setdefault(id(exc), (exc, plugin))

    def culprit(self, exc: BaseException) -> str | None:
        """The plugin that raised `exc`; None when no plugin ran (then the error is babe's own)."""
        entry = self.blamed.get(id(exc))
        if entry is not None and entry[0] is exc:
            return entry[1]
        return self.called[-1][0] if self.called else None

    def pairs(self) -> list[tuple[str, Any]]:
        """`(plugin, item)` for every non-None item of the hook's outcome, wrappers' changes included.

        An item an implementation returned is that implementation's; one a wrapper put in is the
        innermost wrapper's whose result holds it.
        """
        if self.error is not None:
            return list(self.results)
        items = self.outcome if isinstance(self.outcome, list) else [self.outcome]
        produced = list(self.results)
        pairs = []
        for item in items:
            if item is None:
                continue
            index = next((i for i, (_, result) in enumerate(produced) if result is item), None)
            if index is not None:
                pairs.append(produced.pop(index))
                continue
            holders = [plugin for plugin, returned in self.wrapped if returned is item or (isinstance(returned, list) and any(r is item for r in returned))]
            pairs.append((holders[0] if holders else self.wrapped[-1][0], item))
        return pairs


_CALL: ContextVar[_Call | None] = ContextVar("babe_hook_call", default=None)


def _current(hook_name: str) -> _Call | None:
    call = _CALL.get()
    return call if call is not None and call.hook == hook_name else None


def _attribute(hook_name: str, impl: Any) -> None:
    """Make `impl` report to the call in progress (idempotent). Old-style wrappers are refused.

    `hookwrapper=True` wrappers get pluggy's `Result` and may force another outcome without
    returning it, so what they changed could not be told apart from what the plugins answered;
    `wrapper=True` (pluggy ≥ 1.1) returns what it changed, and is supported.
    """
    if getattr(impl.function, "__babe_attributed__", False):
        return
    if impl.hookwrapper:
        raise pluggy.PluginValidationError(
            impl.plugin,
            f"{hook_name} is an old-style hookwrapper=True wrapper, which babe does not run: "
            "use @hookimpl(wrapper=True) (a generator that returns the result)",
        )
    function = _wrapper(hook_name, impl.plugin_name, impl.function) if impl.wrapper else _implementation(hook_name, impl.plugin_name, impl.function)
    function.__babe_attributed__ = True  # type: ignore[attr-defined]
    function.__wrapped__ = impl.function  # type: ignore[attr-defined]
    impl.function = function


def _implementation(hook_name: str, plugin: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def attributed(*args: Any) -> Any:
        call = _current(hook_name)
        if call is None:
            return original(*args)
        call.called.append((plugin, False))
        try:
            result = original(*args)
        except Exception as exc:
            if call.tolerate(exc):
                call.failures.append((plugin, exc))
                return None
            call.blame(exc, plugin)
            raise
        if result is not None:
            call.results.append((plugin, result))
        return result

    return attributed


def _wrapper(hook_name: str, plugin: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A new-style wrapper driven step by step, so a failure inside it is its plugin's."""

    def attributed(*args: Any) -> Any:
        call = _current(hook_name)
        if call is not None:
            call.called.append((plugin, True))
        teardown = original(*args)

        def fault(message: str) -> RuntimeError:
            error = RuntimeError(f"the hook wrapper {hook_name} of plugin {plugin} {message}")
            if call is not None:
                call.blame(error, plugin)
            return error

        try:
            next(teardown)
        except StopIteration:
            raise fault("did not yield") from None
        except Exception as exc:
            if call is not None:
                call.blame(exc, plugin)
            raise
        try:
            try:
                result = yield
            except GeneratorExit:
                teardown.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - what pluggy throws in is the wrapper's to see, whatever it is
                teardown.throw(exc)
            else:
                teardown.send(result)
        except StopIteration as stop:
            returned = stop.value
        except Exception as exc:
            if call is not None:
                call.blame(exc, plugin)
            raise
        else:
            teardown.close()
            raise fault("has a second yield")
        if call is not None:
            call.wrapped.append((plugin, returned))
        return returned

    return attributed


def _hook(pm: pluggy.PluginManager, name: str) -> Any:
    hook = getattr(pm.hook, name, None)
    if hook is None or hook.spec is None:
        raise TypeError(f"no hook named {name}")
    return hook


def _arguments(pm: pluggy.PluginManager, hook: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments, with the run's `context` when the hook takes one (callers never pass it)."""
    if "context" in hook.spec.argnames and "context" not in kwargs:
        kwargs = {**kwargs, "context": _context(pm, kwargs.get("settings"))}
    missing = [name for name in hook.spec.argnames if name not in kwargs]
    if missing:
        raise TypeError(f"{hook.name} called without {', '.join(missing)}")
    return kwargs


def _context(pm: pluggy.PluginManager, settings: Any) -> Any:
    """`pm.context`, made on first use for a manager `plugin_manager` did not build (tests' own)."""
    context = getattr(pm, "context", None)
    if context is None:
        from .context import HookContext

        context = HookContext.for_run(pm, settings)
        pm.context = context  # type: ignore[attr-defined]
    return context


def _fire(pm: pluggy.PluginManager, name: str, kwargs: dict[str, Any], tolerate: Callable[[Exception], bool]) -> _Call:
    """Call hook `name` through pluggy; the returned `_Call` holds the outcome or the error, and who did what."""
    hook = _hook(pm, name)
    kwargs = _arguments(pm, hook, kwargs)
    for impl in hook.get_hookimpls():
        _attribute(name, impl)
    call = _Call(name, tolerate)
    token = _CALL.set(call)
    try:
        call.outcome = hook(**kwargs)
    except Exception as exc:  # noqa: BLE001 - kept with who raised it; each caller applies its hook's rule
        call.error = exc
    finally:
        _CALL.reset(token)
    return call


def _stopping(call: _Call, name: str, exc: Exception) -> BabeError:
    """The error a failed before-hook or firstresult call stops the step with, naming the plugin.

    A `BabeError` keeps its own exit code (a `Veto` is 3, a `UsageError` 2) with `plugin` filled
    in; anything else is a `PluginFailure` (exit 3), because the step must not go on with a check
    that did not run.
    """
    plugin = call.culprit(exc)
    if plugin is None:
        raise exc
    if isinstance(exc, BabeError):
        if exc.plugin is None:
            exc.plugin = plugin
        return exc
    failure = PluginFailure(_failure(plugin, name, exc), plugin=plugin)
    failure.__cause__ = exc
    return failure


def call_before(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any]:
    """Fire a before-hook; return the non-None results. A veto or crash stops the step (exit 3).

    `Veto` (and any BabeError) passes through with `plugin` filled in; any other exception becomes
    `PluginFailure` (exit 3) naming the plugin and the hook. Either way every plugin hears of it
    through `babe_vetoed` first.
    """
    call = _fire(pm, name, kwargs, _tolerate_nothing)
    if call.error is None:
        return call.outcome
    stop = _stopping(call, name, call.error)
    _announce_veto(pm, name, kwargs, stop)
    raise stop


def _announce_veto(pm: pluggy.PluginManager, hook_name: str, kwargs: dict[str, Any], exc: BabeError) -> None:
    """Tell every plugin (`babe_vetoed`) that a before-hook stopped its step; never raises.

    The step is the hook's own `step` argument where it has one (`babe_before_commit` serves
    create, extend and bonus), else the hook's name (`babe_before_approve` → approve)."""
    step = kwargs.get("step") if isinstance(kwargs.get("step"), str) else hook_name.removeprefix("babe_before_")
    call_after(pm, "babe_vetoed", settings=kwargs.get("settings"), step=step, plugin=exc.plugin, message=str(exc))


def call_after(pm: pluggy.PluginManager, name: str, warn: Callable[[str], None] | None = None, **kwargs: Any) -> list[str]:
    """Fire an after-hook; never raises. Returns (and prints) one warning per failure, naming the plugin.

    Every implementation runs even when another failed. The warnings are already printed on
    stderr; callers may add them to their JSON result.
    """
    if warn is None:
        from .output import warn
    return _each(pm, name, kwargs, warn)[1]


def collect(pm: pluggy.PluginManager, name: str, warn: Callable[[str], None] | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
    """Fire a contributing hook (babe_status, babe_preflight): `(plugin, result)` for each non-None.

    Failures become printed warnings, as for after-hooks: a report never fails because of a plugin.
    """
    if warn is None:
        from .output import warn
    return _each(pm, name, kwargs, warn)[0]


def _each(pm: pluggy.PluginManager, name: str, kwargs: dict[str, Any], warn: Callable[[str], None]) -> tuple[list[tuple[str, Any]], list[str]]:
    call = _fire(pm, name, kwargs, _tolerate_everything)
    failures = list(call.failures)
    if call.error is not None:  # a wrapper failed: the implementations' answers still count
        plugin = call.culprit(call.error)
        if plugin is None:
            raise call.error
        failures.append((plugin, call.error))
    warnings = [_failure(plugin, name, exc) for plugin, exc in failures]
    for message in warnings:
        warn(message)
    return call.pairs(), warnings


def _failure(plugin: str, hook: str, exc: BaseException) -> str:
    return f"plugin {plugin} failed in {hook}: {type(exc).__name__}: {one_line(exc)}"


def call_first(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> Any:
    """Fire a firstresult hook (babe_platform, babe_fetch_results): the first non-None answer, or None.

    A BabeError passes through naming the plugin; any other exception is a `PluginFailure` (exit 3).
    """
    call = _fire(pm, name, kwargs, _tolerate_nothing)
    if call.error is not None:
        raise _stopping(call, name, call.error)
    return call.outcome


# -- tracing ------------------------------------------------------------------------------------


def tracing_enabled() -> bool:
    """`BABE_TRACE_PLUGINS=1` (or true/yes/on): print every hook call on stderr."""
    from .configvalues import switched_on

    return switched_on("BABE_TRACE_PLUGINS")


def trace(pm: pluggy.PluginManager, write: Callable[[str], None] | None = None) -> Callable[[], None]:
    """Print one line per hook call — its arguments' names and types, the plugins that ran, the time
    it took, the shape of its result or the exception — through pluggy's hook-call monitoring.

    Values are never printed: settings and results may hold webhook URLs, keys or participants'
    ids, so a line shows what kind of thing went in and came out, not what it was. Returns
    pluggy's undo function.
    """
    starts = threading.local()

    def emit(line: str) -> None:
        if write is not None:
            write(line)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def before(hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        if not hasattr(starts, "stack"):
            starts.stack = []
        starts.stack.append(time.perf_counter())

    def after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        elapsed = (time.perf_counter() - starts.stack.pop()) * 1000
        call = _current(hook_name)
        if call is not None:
            ran = call.called
        else:  # called without babe's helpers: what pluggy was given
            ran = [(impl.plugin_name, bool(impl.wrapper or impl.hookwrapper)) for impl in reversed(hook_impls)]
        plugins = ", ".join(f"{plugin} (wrapper)" if wrapper else plugin for plugin, wrapper in ran) or "no plugin"
        arguments = ", ".join(f"{name}: {type(value).__name__}" for name, value in kwargs.items())
        if outcome.exception is not None:
            ending = f"raised {type(outcome.exception).__name__}"
        else:
            ending = f"returned {_shape(outcome.get_result())}"
        if call is not None and call.failures:
            ending += "; " + "; ".join(f"{plugin} failed ({type(exc).__name__})" for plugin, exc in call.failures)
        emit(f"trace: {hook_name}({arguments}) ran {plugins} in {elapsed:.1f} ms, {ending}")

    return pm.add_hookcall_monitoring(before, after)


def _shape(value: Any) -> str:
    """What a result is, without what it holds: `None`, `MTurkPlatform`, `[dict, list]`."""
    if isinstance(value, list):
        return "[" + ", ".join(type(item).__name__ for item in value) + "]"
    return type(value).__name__ if value is not None else "None"


def get_platform(pm: pluggy.PluginManager, settings: Any) -> Any:
    """The platform object for `settings.platform`, or UsageError (exit 2) when no plugin provides it."""
    platform = call_first(pm, "babe_platform", settings=settings)
    if platform is None:
        raise UsageError(
            f"no plugin provides platform {settings.platform!r}: install the plugin that provides it, or check "
            "BABE_DISABLE_PLUGINS (babe plugins lists what is loaded)"
        )
    return platform


def describe(pm: BabePluginManager) -> list[PluginInfo]:
    """Every plugin seen, with the hooks each loaded one implements and those it wraps (for `babe plugins`)."""
    for info in pm.infos:
        if info.status == "loaded":
            plugin = pm.get_plugin(info.name)
            callers = (pm.get_hookcallers(plugin) or []) if plugin is not None else []
            info.hooks = sorted(caller.name for caller in callers)
            info.wrappers = sorted(
                caller.name for caller in callers
                if any(impl.plugin is plugin and impl.wrapper for impl in caller.get_hookimpls())
            )
    return list(pm.infos)
