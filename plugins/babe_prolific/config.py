"""The Prolific plugin's settings: the section `babe.plugins.prolific` of `invoke.yaml`, validated.

```yaml
babe:
  platform: prolific
  plugins:
    prolific:
      token_env: PROLIFIC_TOKEN     # the environment variable holding the API token (never the token)
      estimated_minutes: 10         # estimated_completion_time; default: derived from `duration`
      devices: [desktop]            # device_compatibility; default desktop only
      completion_code: 3F9A0C1B     # default: drawn at random once and kept in the ledger (codes.py)
      workspace_id: 60a...          # where the balance is read (default: the account's balance)
      project_id: 60b...            # the study's project (default: the account's default project)
      rejection_category: OTHER     # the category `babe reject` sends (Prolific requires one)
      filters: []                   # Prolific filters passed as they are (e.g. a country filter)
      exclusion: blocklist          # how earlier participants are kept out: blocklist | group
      participant_group: my lab     # with exclusion: group, the group's name or id (groups.py)
```

Every key is optional, and a key that is not one of these is refused (exit 2): a misspelt setting
would otherwise be one that silently never applies. The token never goes here — `invoke.yaml` is
committed with the experiment — only the *name* of the variable holding it.

Why the estimated time defaults from `duration`: Prolific requires an estimate and derives the
longest time a participant may take from it (`maximum_allowed_time` ≥ 2 + 2·est + 2·√est minutes),
while MTurk's `duration` is that longest time. The default estimate is the largest one whose limit
fits within `duration` (1h → 24 minutes), so the study's time limit is the lab's `duration`. Labs
should set `estimated_minutes` to their pilot's median: Prolific judges pay per hour on it, and the
plugin warns before publishing a study that would pay less than Prolific's minimum.

Why two ways to keep earlier participants out: `blocklist` (the default) names the experiment's
earlier studies in each new study (`previous_studies_blocklist`), which needs nothing set up but
knows only this experiment's studies; `group` keeps a participant group of the lab's Prolific
workspace that every study adds its participants to and every study blocks, so a lab's earlier
participants stay out of all its later experiments, across folders and machines.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babe_tasks import configvalues
from babe_tasks.errors import UsageError, did_you_mean

NAME = "prolific"
SECTION = f"babe.plugins.{NAME}"
KEYS = (
    "token_env",
    "estimated_minutes",
    "devices",
    "completion_code",
    "workspace_id",
    "project_id",
    "rejection_category",
    "filters",
    "exclusion",
    "participant_group",
)
#: How earlier participants are kept out: the previous-studies blocklist, or a participant group.
BLOCKLIST, GROUP = "blocklist", "group"
EXCLUSIONS = (BLOCKLIST, GROUP)
#: The group `exclusion: group` uses when `participant_group` is not set: one per workspace.
DEFAULT_GROUP = "babe-tasks participants"
DEFAULT_TOKEN_ENV = "PROLIFIC_TOKEN"
DEVICES = ("desktop", "tablet", "mobile")
DEFAULT_DEVICES = ("desktop",)
#: Prolific's categories, checked before any call (the local server keeps its own copy on purpose).
REJECTION_CATEGORIES = (
    "TOO_QUICKLY",
    "TOO_SLOWLY",
    "FAILED_INSTRUCTIONS",
    "INCOMP_LONGITUDINAL",
    "FAILED_CHECK",
    "LOW_EFFORT",
    "MALINGERING",
    "NO_CODE",
    "BAD_CODE",
    "NO_DATA",
    "UNSUPP_DEVICE",
    "OTHER",
)
#: Keys that look like secrets: refused, because invoke.yaml is committed with the experiment.
SECRET_HINTS = ("token", "password", "secret", "api_key")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE = re.compile(r"^[A-Za-z0-9]{1,40}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Prolific's hourly minimum (judged on the estimated time), by account currency.
MINIMUM_HOURLY = {"GBP": Decimal("6.00"), "USD": Decimal("8.00")}


@dataclass(frozen=True)
class ProlificConfig:
    """The section, resolved: what the platform needs beyond the core settings."""

    token_env: str = DEFAULT_TOKEN_ENV
    estimated_minutes: int | None = None
    devices: tuple[str, ...] = DEFAULT_DEVICES
    completion_code: str | None = None
    workspace_id: str | None = None
    project_id: str | None = None
    rejection_category: str = "OTHER"
    filters: tuple[dict, ...] = field(default_factory=tuple)
    exclusion: str = BLOCKLIST
    participant_group: str | None = None

    @property
    def group_name(self) -> str | None:
        """The participant group's name or id with `exclusion: group`, else None."""
        return (self.participant_group or DEFAULT_GROUP) if self.exclusion == GROUP else None

    def token(self) -> str | None:
        """The API token from the environment (None when unset); never stored, printed or logged."""
        value = os.environ.get(self.token_env, "").strip()
        return value or None

    def estimate(self, duration_seconds: int) -> int:
        """The estimated completion time in minutes: configured, else the largest that fits `duration`."""
        if self.estimated_minutes is not None:
            return self.estimated_minutes
        limit = duration_seconds // 60
        best = 0
        for minutes in range(1, limit + 1):
            if minimum_allowed(minutes) <= limit:
                best = minutes
            else:
                break
        if best < 1:
            raise UsageError(
                f"duration {duration_seconds}s is too short for a Prolific study (at least 6 minutes for a 1-minute "
                f"estimate): raise babe.duration or set {SECTION}.estimated_minutes"
            )
        return best

    def describe(self) -> dict[str, Any]:
        return {
            "token_env": self.token_env,
            "token": "set" if self.token() else "missing",
            "estimated_minutes": self.estimated_minutes,
            "devices": list(self.devices),
            "completion_code": self.completion_code,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
            "rejection_category": self.rejection_category,
            "filters": len(self.filters),
            "exclusion": self.exclusion,
            "participant_group": self.group_name,
        }


def minimum_allowed(estimated: int) -> int:
    """Prolific's smallest `maximum_allowed_time` for an estimate: 2 + 2·est + 2·√est, rounded up."""
    return math.ceil(2 + 2 * estimated + 2 * math.sqrt(estimated))


def load(settings: Any) -> ProlificConfig:
    """The section of these settings, checked (an absent section is all defaults)."""
    plugins = getattr(settings, "plugins", None) or {}
    section = dict(plugins.get(NAME) or {}) if isinstance(plugins, dict) else {}
    return parse(section)


def parse(section: dict) -> ProlificConfig:
    """Refuse a bad section with one line naming the key, what is wrong and what to write."""
    for key in section:
        if key != "token_env" and any(hint in str(key).lower() for hint in SECRET_HINTS):
            raise UsageError(
                f"{SECTION}.{key}: secrets never go in invoke.yaml (it is committed with the experiment); put the "
                f"token in the environment variable named by {SECTION}.token_env (default {DEFAULT_TOKEN_ENV})"
            )
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"unknown setting {SECTION}.{key}: {hint}")
    values: dict[str, Any] = {}
    if section.get("token_env") is not None:
        name = str(section["token_env"]).strip()
        if not _ENV_NAME.match(name):
            raise UsageError(
                f"{SECTION}.token_env {name!r} is not an environment variable name: write e.g. {DEFAULT_TOKEN_ENV}"
            )
        values["token_env"] = name
    if section.get("estimated_minutes") is not None:
        values["estimated_minutes"] = _minutes(section["estimated_minutes"])
    if section.get("devices") is not None:
        values["devices"] = _devices(section["devices"])
    if section.get("completion_code") is not None:
        code = str(section["completion_code"]).strip()
        if not _CODE.match(code):
            raise UsageError(
                f"{SECTION}.completion_code {code!r} is not a completion code: 1 to 40 letters and digits (e.g. C1A2B3C4)"
            )
        values["completion_code"] = code
    for key in ("workspace_id", "project_id"):
        if section.get(key) is not None:
            text = str(section[key]).strip()
            if not _ID.match(text):
                raise UsageError(f"{SECTION}.{key} {text!r} is not a Prolific id: copy it from the Prolific app's URL")
            values[key] = text
    if section.get("rejection_category") is not None:
        category = str(section["rejection_category"]).strip().upper()
        if category not in REJECTION_CATEGORIES:
            raise UsageError(
                f"{SECTION}.rejection_category {section['rejection_category']!r} is not a Prolific rejection category: "
                f"use one of {', '.join(REJECTION_CATEGORIES)}"
            )
        values["rejection_category"] = category
    if section.get("filters") is not None:
        values["filters"] = _filters(section["filters"])
    values.update(_exclusion(section))
    return ProlificConfig(**values)


def _minutes(value: Any) -> int:
    return configvalues.whole(value, f"{SECTION}.estimated_minutes", 1, 1440, "minutes", example=10)


def _devices(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise UsageError(f"{SECTION}.devices must list one or more of {', '.join(DEVICES)} (e.g. [desktop])")
    chosen: list[str] = []
    for item in items:
        text = str(item).strip().lower()
        if text not in DEVICES:
            raise UsageError(f"{SECTION}.devices: {item!r} is not a device Prolific knows; use {', '.join(DEVICES)}")
        if text not in chosen:
            chosen.append(text)
    return tuple(chosen)


def _filters(value: Any) -> tuple[dict, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UsageError(
            f"{SECTION}.filters must be a list of Prolific filters (mappings with filter_id and selected_values "
            "or selected_range)"
        )
    for item in value:
        if not str(item.get("filter_id") or "").strip():
            raise UsageError(f"{SECTION}.filters: every filter needs a filter_id (e.g. current-country-of-residence)")
    return tuple(dict(item) for item in value)


def _exclusion(section: dict) -> dict[str, Any]:
    """`exclusion` and `participant_group`, consistent: a group named under the blocklist never applies."""
    values: dict[str, Any] = {}
    if section.get("exclusion") is not None:
        chosen = str(section["exclusion"]).strip().lower()
        if chosen not in EXCLUSIONS:
            raise UsageError(
                f"{SECTION}.exclusion {section['exclusion']!r} is not a way to keep earlier participants out: write "
                f"{BLOCKLIST} (the experiment's earlier studies, the default) or {GROUP} (a participant group)"
            )
        values["exclusion"] = chosen
    if section.get("participant_group") is not None:
        name = str(section["participant_group"]).strip()
        if not name or len(name) > 200:
            raise UsageError(f"{SECTION}.participant_group must be a participant group's name or id (1 to 200 characters)")
        if values.get("exclusion") != GROUP:
            raise UsageError(
                f"{SECTION}.participant_group is used only with exclusion: {GROUP}; add `exclusion: {GROUP}` to "
                "keep earlier participants out through the group, or drop participant_group"
            )
        values["participant_group"] = name
    return values
