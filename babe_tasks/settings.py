"""One validated `Settings` object per run, built from invoke's layers plus our environment variables.

Layers, lowest first: the declared defaults (`settingspec.DEFAULTS`, also installed as the collection's configuration) → the
`babe:` section of the experiment folder's `invoke.yaml` (and invoke's other config files) →
`BABE_<KEY>` environment variables → task flags whose value is not None. Everything is checked here,
once, before any step runs, so a bad value is refused with one line that names the setting, where it
came from and the fix — and nothing has been spent.

What each setting is — key, parser, default, variable, flag, help — is declared once in
`settingspec`; how each kind of value is read is in `settingvalues`.

The environment variables are ours, not invoke's `INVOKE_BABE_*`: they must mean the same under
`babe` and `invoke`, and read naturally in a lab's shell scripts.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import folders
from .configfile import check_config_file, check_sections
from .errors import UsageError, did_you_mean
from .settingspec import DEFAULTS, KEY_BY_NAME, KEYS, RUN_FLAG_BY_NAME, Key, key_flag
from .settingvalues import (
    EXPERIMENT_PATTERN,
    MAX_AUTO_APPROVE,
    MAX_LIFETIME,
    MAX_NUMBER_DIGITS,
    MAX_URL_LENGTH,
    MIN_LIFETIME,
    TARGETS,
    TEXT_LIMITS,
    check_url,
    plain,
)

__all__ = [
    "DEFAULTS",
    "EXPERIMENT_PATTERN",
    "KEYS",
    "KEY_BY_NAME",
    "MAX_AUTO_APPROVE",
    "MAX_LIFETIME",
    "MAX_NUMBER_DIGITS",
    "MAX_URL_LENGTH",
    "MIN_LIFETIME",
    "TARGETS",
    "TEXT_LIMITS",
    "Key",
    "Settings",
    "check_config_file",
    "key_flag",
    "parse_value",
]

#: Per-invocation switches (on when given): never read from files or the environment.
RUN_SWITCHES = tuple(RUN_FLAG_BY_NAME)
#: Per-invocation flags: never read from files or the environment.
RUN_FLAGS = (*RUN_SWITCHES, "folder")


@dataclass(frozen=True)
class Settings:
    """Everything a step needs to know about this run, validated. Money is Decimal, durations seconds."""

    experiment: str
    target: str = "local"
    endpoint_url: str | None = None
    profile: str | None = None
    url: str | None = None
    title: str | None = None
    description: str | None = None
    keywords: str = ""
    reward: Decimal | None = None
    assignments: int = 1
    batch_size: int = 9
    lifetime: int = 7 * 86400
    duration: int = 3600
    auto_approve: int = 3 * 86400
    frame_height: int = 0
    feedback: str | None = None
    max_concurrency: int = 16
    max_requests_per_second: float | None = None
    platform: str = "mturk"
    strict_plugins: bool = False
    plugins: dict = field(default_factory=dict)
    #: Who may work: normalised locales ("US", "US-NY"), approval floors, Masters, other requirements
    #: (normalised "ID:Comparator:Values" texts; `babe_tasks.qualifications` builds MTurk's shapes).
    locale: tuple[str, ...] = ()
    min_approval: int | None = None
    min_approved: int | None = None
    masters: bool = False
    qualifications: tuple[str, ...] = ()
    #: Workers unique per experiment unless this is set; earlier experiments' workers kept out.
    allow_repeat_workers: bool = False
    #: approve holds work submitted faster than this many seconds after it was accepted (None: off).
    hold_faster_than: int | None = None
    exclude_previous: bool = False
    exclude_experiments: tuple[str, ...] = ()
    folder: Path = field(default_factory=Path.cwd)
    local_state: Path | None = None
    #: The lab's PostgreSQL ledger (None: the folder's SQLite); its password is never shown (repr, as_dict).
    ledger_url: str | None = field(default=None, repr=False)
    #: Who the ledger's rows say did it (None: the OS user name).
    member: str | None = None
    yes: bool = False
    dry_run: bool = False
    json: bool = False
    #: `create` posts a batch identical to one it finished before (otherwise it posts nothing).
    again: bool = False

    @classmethod
    def build(cls, ctx: Any = None, **flags: Any) -> Settings:
        """Merge defaults → invoke configuration (`babe:`) → `BABE_*` → flags, and validate once.

        `ctx` is the task's invoke Context (or a Config, or None outside invoke: then the experiment
        folder's `invoke.yaml` is read through invoke's own Config). Flags are keyword arguments named
        like the settings (plus `yes`, `dry_run`, `json`, `again`, `folder`); None means "not given".
        """
        unknown = sorted(set(flags) - set(KEY_BY_NAME) - set(RUN_FLAGS))
        if unknown:
            raise TypeError(f"Settings.build got unknown flags: {', '.join(unknown)}")
        config = getattr(ctx, "config", ctx)
        folder = _folder(config, flags.get("folder"))
        file_values, file_label = _file_layer(config, folder)
        raw: dict[str, tuple[Any, str]] = {name: (key.default, "default") for name, key in KEY_BY_NAME.items()}
        for name, value in file_values.items():
            if value != KEY_BY_NAME[name].default:
                raw[name] = (value, f"babe.{name} in {file_label}")
        for key in KEYS:
            if key.env_var and os.environ.get(key.env_var, "").strip():
                raw[key.name] = (os.environ[key.env_var], key.env_var)
        for name, value in flags.items():
            if name in KEY_BY_NAME and value is not None:
                raw[name] = (value, KEY_BY_NAME[name].flag or key_flag(name))
        values = {name: _parse(name, value, source, folder) for name, (value, source) in raw.items()}
        if values["experiment"] is None:
            values["experiment"] = folders.experiment_name(folder)
        values["folder"] = folder
        for name in RUN_SWITCHES:
            values[name] = bool(flags.get(name) or False)
        settings = cls(**values)
        settings._check_combinations({name: source for name, (_, source) in raw.items()})
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, validated like flags (so `replace(reward="0.50")` works)."""
        parsed = {}
        for name, value in changes.items():
            if name in KEY_BY_NAME:
                parsed[name] = _parse(name, value, "replace()", self.folder)
            elif name in RUN_SWITCHES:
                parsed[name] = bool(value)
            elif name == "folder":
                parsed[name] = Path(value).resolve()
            else:
                raise TypeError(f"Settings has no field {name!r}")
        settings = dataclasses.replace(self, **parsed)
        settings._check_combinations({name: "replace()" for name in changes})
        return settings

    def require(self, *names: str) -> Any:
        """The value of each named setting, or UsageError saying how to give the first one missing.

        Steps call it for what they cannot do without (`create` needs reward, url, title), so a
        missing value is refused before any call with the three ways to set it.
        """
        values = []
        for name in names:
            value = getattr(self, name)
            if value is None or value == "":
                key = KEY_BY_NAME[name]
                example = f" {key.example}" if key.example else ""
                raise UsageError(
                    f"{name} is not set: pass {key.flag or key_flag(name)}{example}, or set babe.{name} in "
                    f"{self.folder / 'invoke.yaml'}" + (f" or {key.env_var}" if key.env_var else "")
                )
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)

    def plugin_settings(self, name: str) -> dict:
        """The `babe.plugins.<name>` section (empty when absent)."""
        return dict(self.plugins.get(name) or {})

    @property
    def state_dir(self) -> Path:
        """The experiment's private directory (`.babe/`), home of the ledger."""
        return folders.state_dir(self.folder)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data (for `--json` documents and debugging; profile names are not secrets)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if values.get("ledger_url"):
            from .ledgerdb import mask

            values["ledger_url"] = mask(values["ledger_url"])
        return values

    def _check_combinations(self, sources: Mapping[str, str]) -> None:
        """Rules that involve two settings (only the url/target pair so far)."""
        if self.url:
            check_url(self.url, self.target, sources.get("url", "url"))


def parse_value(name: str, value: Any, folder: Path | None = None) -> Any:
    """Validate one setting on its own (as a flag would be), e.g. for `babe init --target`."""
    return _parse(name, value, key_flag(name), Path(folder) if folder is not None else Path.cwd())


def _folder(config: Any, flag_folder: Any) -> Path:
    """The experiment folder: the flag, else where invoke found its project config, else discovery."""
    if flag_folder is not None:
        return Path(flag_folder).expanduser().resolve()
    prefix = getattr(config, "_project_prefix", None) if config is not None else None
    if prefix:
        return Path(prefix).resolve()
    return folders.experiment_folder()


def _file_layer(config: Any, folder: Path) -> tuple[dict[str, Any], str]:
    """The `babe` section as invoke merged it (collection defaults, config files), checked for typos."""
    configured = list(getattr(config, "_collection", None) or {})  # sections the task collection reads
    if config is None or getattr(config, "_project_prefix", None) is None or _project_differs(config, folder):
        # No project file loaded for this folder (outside invoke, a bare Context, or --folder):
        # load it through invoke's own Config, with what the given config holds underneath it.
        check_config_file(folder)
        from invoke import Config

        base = dict(DEFAULTS)
        if config is not None and not _project_differs(config, folder) and hasattr(config, "get"):
            base.update(plain(config.get("babe") or {}))
        config = Config(defaults={"babe": base})
        config.set_project_location(str(folder))
        config.load_project()
    section = config.get("babe") if hasattr(config, "get") else None
    project_path = getattr(config, "_project_path", None)
    label = str(project_path) if project_path else "the invoke configuration"
    check_sections(config, label, also=configured)
    if section is None:
        return {}, label
    if not isinstance(section, Mapping):
        raise UsageError(f"babe in {label} must be a mapping of settings, not {type(section).__name__}")
    values = {}
    for name, value in section.items():
        if name not in KEY_BY_NAME:
            hint = did_you_mean(name, KEY_BY_NAME, "known settings are")
            raise UsageError(f"unknown setting babe.{name} in {label}: {hint}")
        values[name] = plain(value)
    return values, label


def _project_differs(config: Any, folder: Path) -> bool:
    prefix = getattr(config, "_project_prefix", None)
    return prefix is not None and Path(prefix).resolve() != folder


# -- parsing one value -------------------------------------------------------------------------


def _parse(name: str, value: Any, source: str, folder: Path) -> Any:
    """Validate one setting; failures name the setting and, unless it was a flag, where it was set."""
    try:
        return KEY_BY_NAME[name].parse(value, name, folder)
    except UsageError as exc:
        if source.startswith("--") or source in ("default", "replace()"):
            raise
        raise UsageError(f"{exc} (set by {source})") from None
