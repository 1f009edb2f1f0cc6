"""Finding, loading and calling plugins (pluggy), with the failure rules DESIGN.md promises.

Plugins come from three places, in this order: the built-ins (`BUILTINS`), installed packages
(entry point group `babe_tasks`), and the experiment folder's `plugins/*.py` (one plugin per file,
named by the file; files starting with `_` are helpers, not plugins). `BABE_PLUGINS=a,b` keeps only
those besides the built-ins (set but empty: none); `BABE_DISABLE_PLUGINS=a,b` blocks those, built-ins
included. A plugin that fails to import or to configure is reported by name and skipped, or is fatal
(exit 2) with `strict_plugins`. The same plugin is never loaded twice: a folder file that is an
installed entry-point plugin's own file, or has the name of one already loaded, is skipped.

A fresh manager is built on every call to `plugin_manager`: nothing leaks between runs or tests.
Hooks are called one implementation at a time so every failure can name its plugin — pluggy itself
stops at the first implementation that raises and does not say which one it was.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .errors import BabeError, PluginFailure, UsageError, Veto, did_you_mean, one_line

__all__ = [
    "hookimpl", "Veto", "UsageError", "BUILTINS", "ENTRY_POINT_GROUP", "PluginInfo", "BabePluginManager",
    "plugin_manager", "call_before", "call_after", "call_first", "collect", "get_platform",
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
    source: str  # "builtin" | "entry point" | "folder"
    origin: str  # module name, "dist version (module)", or file path
    status: str = "loaded"  # "loaded" | "failed" | "disabled" | "skipped"
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


class BabePluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and what went wrong."""

    def __init__(self, settings: Any):
        super().__init__(hookspecs.PROJECT)
        self.settings = settings
        self.infos: list[PluginInfo] = []
        self.warnings: list[str] = []

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """Marked functions as usual; an unmarked function named exactly like a hook counts too.

        Forgetting `@hookimpl` would otherwise make a lab's hook silently never fire.
        """
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("babe_") and hasattr(hookspecs, name):
            if callable(getattr(plugin, name, None)):
                return {}
        return opts

    def info(self, name: str) -> PluginInfo | None:
        return next((info for info in self.infos if info.name == name), None)


def builtin_name(module: str) -> str:
    """`babe_mturk` → `mturk`."""
    last = module.rsplit(".", 1)[-1]
    return last[: -len("_plugin")] if last.endswith("_plugin") else last


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
        except Exception as exc:
            failed(info, "failed to import", exc)
            return
        if pm.is_registered(plugin):
            info.status, info.error = "skipped", f"already loaded as plugin {pm.get_name(plugin)}"
            pm.infos.append(info)
            return
        try:
            pm.register(plugin, name=info.name)
            pm.check_pending()
        except Exception as exc:
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
    """Fire babe_configure plugin by plugin: a bad setting is the user's error (exit 2), a crash is the plugin's."""
    hook = pm.hook.babe_configure
    for impl in _impls(hook):
        arguments = _arguments(hook, impl, {"settings": settings})
        try:
            impl.function(*arguments)
        except BabeError as exc:
            if exc.plugin is None:
                exc.plugin = impl.plugin_name
            raise
        except Exception as exc:
            info = pm.info(impl.plugin_name)
            pm.unregister(name=impl.plugin_name)
            if info is not None:
                pm.infos.remove(info)
            failed(info or PluginInfo(impl.plugin_name, "unknown", "?"), "failed to configure", exc)


def _impls(hook: Any) -> list[Any]:
    """Implementations in pluggy's call order (last registered first, tryfirst/trylast honoured)."""
    return [impl for impl in reversed(hook.get_hookimpls()) if not (impl.hookwrapper or getattr(impl, "wrapper", False))]


def _arguments(hook: Any, impl: Any, kwargs: dict[str, Any]) -> list[Any]:
    missing = [name for name in hook.spec.argnames if name not in kwargs]
    if missing:
        raise TypeError(f"{hook.name} called without {', '.join(missing)}")
    return [kwargs[name] for name in impl.argnames]


def _hook(pm: pluggy.PluginManager, name: str) -> Any:
    hook = getattr(pm.hook, name, None)
    if hook is None or hook.spec is None:
        raise TypeError(f"no hook named {name}")
    return hook


def call_before(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any]:
    """Fire a before-hook; return the non-None results. A veto or crash stops the step (exit 3).

    `Veto` (and any BabeError) passes through with `plugin` filled in; any other exception becomes
    `PluginFailure` (exit 3) naming the plugin and the hook, because the step must not go on with
    a check that did not run.
    """
    hook = _hook(pm, name)
    results = []
    for impl in _impls(hook):
        arguments = _arguments(hook, impl, kwargs)
        try:
            result = impl.function(*arguments)
        except BabeError as exc:
            if exc.plugin is None:
                exc.plugin = impl.plugin_name
            _announce_veto(pm, name, kwargs, exc)
            raise
        except Exception as exc:
            failure = PluginFailure(
                f"plugin {impl.plugin_name} failed in {name}: {type(exc).__name__}: {one_line(exc)}",
                plugin=impl.plugin_name,
            )
            _announce_veto(pm, name, kwargs, failure)
            raise failure from exc
        if result is not None:
            results.append(result)
    return results


def _announce_veto(pm: pluggy.PluginManager, hook_name: str, kwargs: dict[str, Any], exc: BabeError) -> None:
    """Tell every plugin (`babe_vetoed`) that a before-hook stopped its step; never raises."""
    step = hook_name.removeprefix("babe_before_")
    call_after(pm, "babe_vetoed", settings=kwargs.get("settings"), step=step, plugin=exc.plugin, message=str(exc))


def call_after(pm: pluggy.PluginManager, name: str, warn: Callable[[str], None] | None = None, **kwargs: Any) -> list[str]:
    """Fire an after-hook plugin by plugin; never raises. Returns (and prints) one warning per failure.

    The warnings are already printed on stderr; callers may add them to their JSON result.
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
    hook = _hook(pm, name)
    results: list[tuple[str, Any]] = []
    warnings: list[str] = []
    for impl in _impls(hook):
        arguments = _arguments(hook, impl, kwargs)
        try:
            result = impl.function(*arguments)
        except Exception as exc:
            warnings.append(_failure(impl.plugin_name, name, exc))
            continue
        if result is not None:
            results.append((impl.plugin_name, result))
    for message in warnings:
        warn(message)
    return results, warnings


def _failure(plugin: str, hook: str, exc: BaseException) -> str:
    return f"plugin {plugin} failed in {hook}: {type(exc).__name__}: {one_line(exc)}"


def call_first(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> Any:
    """Fire a firstresult hook (babe_platform, babe_fetch_results): the first non-None answer, or None.

    A BabeError passes through naming the plugin; any other exception is a `PluginFailure` (exit 3).
    """
    hook = _hook(pm, name)
    for impl in _impls(hook):
        arguments = _arguments(hook, impl, kwargs)
        try:
            result = impl.function(*arguments)
        except BabeError as exc:
            if exc.plugin is None:
                exc.plugin = impl.plugin_name
            raise
        except Exception as exc:
            raise PluginFailure(_failure(impl.plugin_name, name, exc), plugin=impl.plugin_name) from exc
        if result is not None:
            return result
    return None


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
    """Every plugin seen, with the hooks each loaded one implements (for `babe plugins`)."""
    for info in pm.infos:
        if info.status == "loaded":
            plugin = pm.get_plugin(info.name)
            callers = (pm.get_hookcallers(plugin) or []) if plugin is not None else []
            info.hooks = sorted(caller.name for caller in callers)
    return list(pm.infos)
