"""The slack plugin's settings: where the webhook URL comes from, how long to wait, what to announce.

Read from `babe.plugins.slack` in `invoke.yaml`; the plugin does nothing while that section is
absent. The webhook URL itself is a secret (anyone holding it can post to the lab's channel), so
it never lives in `invoke.yaml`: it comes from an environment variable (`webhook_env`, default
`BABE_SLACK_WEBHOOK`) or from a file outside the experiment folder and its repository
(`webhook_file`), and only its redacted form (`https://hooks.slack.com/…`) is ever shown.

Two kinds of problems, two outcomes, following the `babe_configure` contract:
- a wrong setting (`timeout: 30`, an unknown event, a webhook file inside the repository) is the
  lab's mistake in a committed file: `UsageError`, exit 2, before anything is done;
- a missing secret (the variable is not set on this machine, the file is not there) is
  `WebhookMissing`: the framework reports it as a one-line warning and runs without the plugin
  (fatal only with `strict_plugins`), so a colleague without the secret can still run `status`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babe_tasks import configvalues
from babe_tasks.errors import UsageError, did_you_mean

NAME = "slack"
DEFAULT_ENV = "BABE_SLACK_WEBHOOK"
DEFAULT_TIMEOUT = 3.0
#: The issue's bound: a webhook may never hold a step up longer than this.
MAX_TIMEOUT = 5.0
#: What can be announced, in the order a lifecycle meets them. `status` covers HITs seen filling
#: up or expiring; `veto` a step stopped by any plugin.
EVENTS = ("create", "status", "approve", "reject", "bonus", "extend", "expire", "veto", "milestone")
KEYS = ("webhook_env", "webhook_file", "timeout", "events")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOPBACK = {"localhost"}


class WebhookMissing(Exception):
    """The webhook URL is not available on this machine (variable unset, file absent or unreadable)."""


@dataclass(frozen=True)
class SlackConfig:
    """The validated section. `webhook` is the secret: kept out of `repr`, shown only as `redacted`."""

    webhook: str = field(repr=False)
    #: Where the URL came from, for messages: "BABE_SLACK_WEBHOOK" or "file /home/me/.slack-webhook".
    source: str
    timeout: float
    events: frozenset[str]

    @property
    def redacted(self) -> str:
        return redact(self.webhook)

    def wants(self, event: str) -> bool:
        return event in self.events

    def describe(self) -> dict[str, Any]:
        """The configuration as `babe plugins` may show it: the URL redacted, nothing secret."""
        return {
            "webhook": self.redacted,
            "webhook_from": self.source,
            "timeout": self.timeout,
            "events": [event for event in EVENTS if event in self.events],
        }


def configured(settings: Any) -> bool:
    """Whether the lab asked for Slack at all (`babe.plugins.slack` present, even empty)."""
    return NAME in (getattr(settings, "plugins", None) or {})


def load(settings: Any) -> SlackConfig | None:
    """The configuration, or None when the section is absent. UsageError / WebhookMissing as above."""
    if not configured(settings):
        return None
    section = settings.plugin_settings(NAME)
    _check_keys(section)
    timeout = _timeout(section.get("timeout", DEFAULT_TIMEOUT))
    events = _events(section.get("events"))
    webhook, source = _webhook(settings, section)
    return SlackConfig(webhook=webhook, source=source, timeout=timeout, events=events)


def describe(settings: Any) -> dict[str, Any] | None:
    """What `babe plugins` should show for this plugin (None when not configured); never the secret.

    Unlike `load`, a missing webhook is described rather than raised: listing the configuration is
    how a lab finds out that the variable is not set.
    """
    if not configured(settings):
        return None
    try:
        return load(settings).describe()  # type: ignore[union-attr]
    except WebhookMissing as exc:
        section = settings.plugin_settings(NAME)
        return {
            "webhook": f"not available: {exc}",
            "webhook_from": _source_label(settings, section),
            "timeout": _timeout(section.get("timeout", DEFAULT_TIMEOUT)),
            "events": [event for event in EVENTS if event in _events(section.get("events"))],
        }


def redact(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/XYZ` → `https://hooks.slack.com/…`: host kept, path never."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:  # an IPv6 literal goes back into brackets
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


# -- the pieces -----------------------------------------------------------------------------------
def _setting(key: str) -> str:
    return f"babe.plugins.{NAME}.{key}"


#: Keys a lab may try for the URL itself; refused with the reason instead of "unknown setting".
_SECRET_KEYS = ("webhook", "url", "webhook_url")


def _check_keys(section: dict) -> None:
    for key in section:
        if key in _SECRET_KEYS:
            raise UsageError(
                f"{_setting(key)}: the webhook URL is a secret and never goes in invoke.yaml; remove it, put it in "
                f"{DEFAULT_ENV} or in a file outside the repository named by {_setting('webhook_file')}"
            )
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"unknown setting {_setting(key)}: {hint}")


def _timeout(value: Any) -> float:
    return configvalues.seconds(
        value, _setting("timeout"), MAX_TIMEOUT, default=DEFAULT_TIMEOUT, why=", so a slow Slack never holds a step up"
    )


def _events(value: Any) -> frozenset[str]:
    if value is None or value == "all":
        return frozenset(EVENTS)
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        names = [str(part).strip() for part in value]
    else:
        raise UsageError(f"{_setting('events')} must be a list of events ({', '.join(EVENTS)}) or all")
    for name in names:
        if name not in EVENTS:
            hint = did_you_mean(name, EVENTS, "choose from")
            raise UsageError(f"{_setting('events')} names {name!r}, which is not an event: {hint}")
    return frozenset(names)


def _source_label(settings: Any, section: dict) -> str:
    if section.get("webhook_file") not in (None, ""):
        return f"file {_file_path(settings, section['webhook_file'])}"
    return str(section.get("webhook_env") or DEFAULT_ENV)


def _webhook(settings: Any, section: dict) -> tuple[str, str]:
    """The URL and where it came from. Error messages name the source, never the value."""
    file_value = section.get("webhook_file")
    if file_value not in (None, "") and section.get("webhook_env") not in (None, ""):
        raise UsageError(f"set either {_setting('webhook_env')} or {_setting('webhook_file')}, not both")
    if file_value not in (None, ""):
        path = _file_path(settings, file_value)
        _refuse_inside_repository(settings, path)
        try:
            url = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise WebhookMissing(f"{_setting('webhook_file')} {path} does not exist: put the webhook URL in it") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise WebhookMissing(f"{_setting('webhook_file')} {path} cannot be read ({type(exc).__name__})") from None
        source = f"file {path}"
    else:
        variable = str(section.get("webhook_env") or DEFAULT_ENV).strip()
        if not _ENV_NAME.match(variable):
            raise UsageError(f"{_setting('webhook_env')} {variable!r} is not an environment variable name")
        url = os.environ.get(variable, "").strip()
        if not url:
            raise WebhookMissing(
                f"{variable} is not set: export it with the Slack incoming-webhook URL, "
                f"or point {_setting('webhook_file')} at a file outside the repository"
            )
        source = variable
    _check_url(url, source)
    return url, source


def _file_path(settings: Any, value: Any) -> Path:
    path = Path(str(value).strip()).expanduser()
    if not path.is_absolute():
        path = Path(settings.folder) / path
    return path.resolve()


def _refuse_inside_repository(settings: Any, path: Path) -> None:
    """A secret inside the experiment folder (or its git repository) ends up committed sooner or later."""
    folder = Path(settings.folder).resolve()
    roots = [folder]
    for parent in (folder, *folder.parents):
        if (parent / ".git").exists():
            roots.append(parent)
            break
    for root in roots:
        if path == root or root in path.parents:
            what = "experiment folder" if root == folder else "repository"
            raise UsageError(
                f"{_setting('webhook_file')} {path} is inside the {what} {root}: a webhook URL is a secret, "
                "keep it in a file outside (e.g. ~/.config/babe/slack-webhook) or in BABE_SLACK_WEBHOOK"
            )


def _check_url(url: str, source: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise UsageError(
            f"{source} does not hold a webhook URL (value not shown): it must be one https:// address, "
            "as Slack gives it (https://hooks.slack.com/services/…)"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(
            f"{source} holds an http:// webhook URL (value not shown): Slack webhooks are https://; "
            "plain http is accepted only on this machine (127.0.0.1, localhost)"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
