"""Where the backend is and how to talk to it: `config_deploy.js`, the plugin's settings, the environment.

The experiment already says where its data goes — `experimentID`, `serverAppURL` and `deployMethod`
in `config/config_deploy.js` (or the `deploy: {...}` passed to `babeInit` / `magpieInit`) — so the
plugin reads them from there, and `babe.plugins.babe-backend` may override each one (a staging
backend, an experiment copied to a new id). Secrets never come from `invoke.yaml`: the CSV route's
password only from `BABE_BACKEND_PASSWORD`, so it cannot be committed with the experiment.

The plugin is on when the section `babe.plugins.babe-backend` exists (an empty section is enough:
everything then comes from `config_deploy.js`). A section holding nothing but `approve_without_data`
— what `babe approve --approve-without-data` sets for one run — does not turn it on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from babe_tasks import configvalues, deployconfig
from babe_tasks.errors import UsageError, did_you_mean

NAME = "babe-backend"
SECTION = f"babe.plugins.{NAME}"
#: The plugin's settings; anything else under the section is a typo.
KEYS = (
    "experiment_id", "server_app_url", "deploy_method", "prolific_url", "user", "timeout", "approve_without_data", "review",
)
#: The keys of `babe.plugins.babe-backend.review`: what `babe review` shows of each participant.
REVIEW_KEYS = ("columns", "reaction_time", "attention_checks", "hold_failed_checks")
#: _babe / magpie's reaction-time column (milliseconds).
DEFAULT_REACTION_TIME = "RT"
#: Keys that look like secrets: refused, because invoke.yaml is committed with the experiment.
SECRET_HINTS = ("password", "passwd", "secret", "token", "salt", "auth")
#: Every deployMethod a _babe template knows (the one list, in the one reader of config_deploy.js).
DEPLOY_METHODS = deployconfig.DEPLOY_METHODS
SUBMIT_SUFFIX = "/api/submit_experiment/"
DEFAULT_TIMEOUT = 30.0
PASSWORD_ENV = "BABE_BACKEND_PASSWORD"
USER_ENV = "BABE_BACKEND_USER"
APPROVE_WITHOUT_DATA_ENV = "BABE_APPROVE_WITHOUT_DATA"
#: The `config_deploy.js` field behind each setting, for messages.
JS_FIELDS = {
    "experiment_id": "experimentID",
    "server_app_url": "serverAppURL",
    "deploy_method": "deployMethod",
    "prolific_url": "prolificURL",
}


@dataclass(frozen=True)
class ReviewSettings:
    """What `babe review` shows of each participant, and whether `approve` holds failed attention checks.

    `attention_checks` maps a column to what a passing row holds there: text (compared trimmed,
    in any letter case), True/False (YAML's unquoted yes/no: any true or false word), or None
    (the list form: the cell must be a true word such as `correct`).
    """

    #: None: the default rule (review.default_columns); else the lab's columns, in order.
    columns: tuple[str, ...] | None = None
    reaction_time: str = DEFAULT_REACTION_TIME
    attention_checks: tuple[tuple[str, str | bool | None], ...] = ()
    hold_failed_checks: bool = False


@dataclass(frozen=True)
class BackendConfig:
    """The backend of this experiment, resolved; `sources` says where each field came from."""

    folder: Path
    experiment_id: str | None
    server_app_url: str | None
    deploy_method: str | None
    sources: dict[str, str]
    deploy_file: Path | None
    user: str | None
    #: From the environment only, never shown: not in repr, not in any message.
    password: str | None = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    approve_without_data: bool = False
    #: Where a Prolific participant is sent at the end (`prolificURL`); checked on platform prolific.
    prolific_url: str | None = None
    review: ReviewSettings = field(default_factory=ReviewSettings)

    @property
    def base_url(self) -> str | None:
        """The backend's base URL: serverAppURL without `api/submit_experiment/` (no trailing slash)."""
        if not self.server_app_url:
            return None
        return re.sub(r"/?api/submit_experiment/?$", "", self.server_app_url).rstrip("/")

    @property
    def shown_base_url(self) -> str:
        """The base URL as messages show it: any `user:password@` in it removed."""
        return redact(self.base_url or "")

    def where(self, name: str) -> str:
        """Where a field was set, for messages: `config/config_deploy.js` or the setting's name."""
        return self.sources.get(name) or f"{JS_FIELDS.get(name, name)} (not set)"

    def require(self) -> tuple[str, str]:
        """The experiment id and the backend's base URL, or UsageError saying where to set them."""
        missing = [name for name in ("experiment_id", "server_app_url") if not getattr(self, name)]
        if missing:
            raise UsageError(missing_message(self, missing))
        return self.experiment_id, self.base_url  # type: ignore[return-value]


def active(settings: Any) -> bool:
    """Whether the lab turned the plugin on (see the module's docstring)."""
    plugins = getattr(settings, "plugins", None) or {}
    if NAME not in plugins:
        return False
    section = settings.plugin_settings(NAME)
    return not section or set(section) != {"approve_without_data"}


def validate(section: dict) -> None:
    """Refuse a bad `babe.plugins.babe-backend` section with one line per problem (the first found)."""
    for key in section:
        lowered = str(key).lower()
        if any(hint in lowered for hint in SECRET_HINTS):
            raise UsageError(
                f"{SECTION}.{key}: secrets never go in invoke.yaml (it is committed with the experiment); "
                f"remove it and set {PASSWORD_ENV} in the environment"
            )
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"unknown setting {SECTION}.{key}: {hint}")
    if section.get("experiment_id") is not None:
        _experiment_id(section["experiment_id"], f"{SECTION}.experiment_id")
    if section.get("server_app_url") is not None:
        _url(section["server_app_url"], f"{SECTION}.server_app_url")
    if section.get("deploy_method") is not None and str(section["deploy_method"]) not in DEPLOY_METHODS:
        raise UsageError(
            f"{SECTION}.deploy_method {section['deploy_method']!r} is not a _babe deployMethod: "
            f"use one of {', '.join(DEPLOY_METHODS)}"
        )
    if section.get("prolific_url") is not None:
        _url(section["prolific_url"], f"{SECTION}.prolific_url")
    if section.get("user") is not None and not str(section["user"]).strip():
        raise UsageError(f"{SECTION}.user is empty: remove it or name the backend's AUTH_USERNAME")
    _timeout(section.get("timeout", DEFAULT_TIMEOUT))
    _boolean(section.get("approve_without_data", False), f"{SECTION}.approve_without_data")
    review_settings(section.get("review"))


def review_settings(value: Any) -> ReviewSettings:
    """Read `babe.plugins.babe-backend.review`, refusing each mistake with one line (unset: the defaults)."""
    where = f"{SECTION}.review"
    if value is None:
        return ReviewSettings()
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a mapping of {', '.join(REVIEW_KEYS)}, not {value!r}")
    for key in value:
        if key not in REVIEW_KEYS:
            raise UsageError(f"unknown setting {where}.{key}: {did_you_mean(key, REVIEW_KEYS)}")
    columns = None
    if value.get("columns") is not None:
        columns = tuple(_names(value["columns"], f"{where}.columns", "[trial_number, response, RT]"))
    reaction_time = DEFAULT_REACTION_TIME
    if value.get("reaction_time") is not None:
        reaction_time = _name(value["reaction_time"], f"{where}.reaction_time")
    checks = _attention_checks(value.get("attention_checks"), f"{where}.attention_checks")
    hold = _boolean(value.get("hold_failed_checks", False), f"{where}.hold_failed_checks")
    if hold and not checks:
        raise UsageError(
            f"{where}.hold_failed_checks is true but no attention_checks are named: name the check columns "
            f"in {where}.attention_checks, or remove hold_failed_checks"
        )
    return ReviewSettings(columns, reaction_time, checks, hold)


def _name(value: Any, where: str) -> str:
    """One column name: text (YAML may read a bare number as one), not empty."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise UsageError(f"{where} {value!r} is not a column name: write the column's name as the backend's data has it")
    return str(value).strip()


def _names(value: Any, where: str, example: str) -> list[str]:
    if not isinstance(value, list):
        raise UsageError(f"{where} must be a list of column names, e.g. {example}, not {value!r}")
    if not value:
        raise UsageError(f"{where} is empty: name at least one column, e.g. {example}, or remove it")
    names = [_name(item, f"{where} item") for item in value]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"{where} names {', '.join(repeated)} more than once")
    return names


def _attention_checks(value: Any, where: str) -> tuple[tuple[str, str | bool | None], ...]:
    """A list of columns (a true word passes) or a mapping column → expected value."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple((name, None) for name in _names(value, where, "[attention_correct]"))
    if not isinstance(value, dict):
        raise UsageError(
            f"{where} must be a list of columns (e.g. [attention_correct]) or a mapping column: expected value "
            f"(e.g. {{attention: 'yes'}}), not {value!r}"
        )
    if not value:
        raise UsageError(f"{where} is empty: name the check columns, or remove it")
    checks: list[tuple[str, str | bool | None]] = []
    for column, expected in value.items():
        name = _name(column, f"{where} key")
        if isinstance(expected, bool):
            checks.append((name, expected))
        elif isinstance(expected, (str, int, float)) and str(expected).strip():
            checks.append((name, str(expected).strip()))
        else:
            raise UsageError(f"{where}.{name} {expected!r} is not a value to compare with: write the answer that passes, e.g. 'yes'")
    return tuple(checks)


def load(settings: Any) -> BackendConfig | None:
    """The backend configuration of this run, or None when the plugin is not turned on."""
    if not active(settings):
        return None
    section = settings.plugin_settings(NAME)
    validate(section)
    folder = Path(settings.folder)
    deploy = deployconfig.find(folder)
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for name in JS_FIELDS:
        value = getattr(deploy, name) if deploy is not None else None
        if value:
            values[name] = value
            sources[name] = _relative(deploy.source, folder)
        if section.get(name) is not None and str(section[name]).strip():
            values[name] = str(section[name]).strip()
            sources[name] = f"{SECTION}.{name}"
    user = os.environ.get(USER_ENV, "").strip() or (str(section["user"]).strip() if section.get("user") else None)
    return BackendConfig(
        folder=folder,
        experiment_id=values.get("experiment_id"),
        server_app_url=values.get("server_app_url"),
        deploy_method=values.get("deploy_method"),
        prolific_url=values.get("prolific_url"),
        sources=sources,
        deploy_file=deploy.source if deploy is not None else None,
        user=user or None,
        password=os.environ.get(PASSWORD_ENV) or None,
        timeout=_timeout(section.get("timeout", DEFAULT_TIMEOUT)),
        approve_without_data=_boolean(section.get("approve_without_data", False), f"{SECTION}.approve_without_data")
        or _boolean(os.environ.get(APPROVE_WITHOUT_DATA_ENV, ""), APPROVE_WITHOUT_DATA_ENV),
        review=review_settings(section.get("review")),
    )


def missing_message(config: BackendConfig, missing: list[str]) -> str:
    fields = " and ".join(JS_FIELDS[name] for name in missing)
    settings = " / ".join(f"{SECTION}.{name}" for name in missing)
    if config.deploy_file is None:
        where = f"no config/config_deploy.js (nor a deploy: {{...}} passed to babeInit/magpieInit) in {config.folder}"
        return f"{where}, so the backend's {fields} are unknown: add the file, or set {settings}"
    return f"{_relative(config.deploy_file, config.folder)} has no {fields}: add it there, or set {settings}"


def redact(url: str) -> str:
    """A URL without any `user:password@` part: such URLs must never reach a message or a log."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return str(path)


def _experiment_id(value: Any, where: str) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"\d+", text):
        raise UsageError(f"{where} {text!r} is not a backend experiment id: the backend numbers experiments (e.g. 12)")
    return text


def _url(value: Any, where: str) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{where} {redact(text)!r} is not a web address: write e.g. https://babe.example.org/api/submit_experiment/")
    return text


def _timeout(value: Any) -> float:
    return configvalues.seconds(value, f"{SECTION}.timeout", 600, default=DEFAULT_TIMEOUT, why=f" (default {DEFAULT_TIMEOUT:g})")


def _boolean(value: Any, where: str) -> bool:
    return configvalues.boolean(value, where)
