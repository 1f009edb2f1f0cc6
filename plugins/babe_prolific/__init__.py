"""prolific: Prolific as a recruiting platform for babe-tasks (`babe.platform: prolific`).

Selected with `platform: prolific` in invoke.yaml, `BABE_PLATFORM=prolific`, or `--platform
prolific`; the same tasks (create, status, approve, reject, bonus, extend, expire, cost, results,
doctor, watch) then run on Prolific: the plan becomes one study, its assignments the study's
places, workers are participants (docs/prolific.md). Targets: `local` (the local Prolific in this
package, in-process, no token needed), `live` (api.prolific.com, token from `PROLIFIC_TOKEN`), or
any `--endpoint-url` speaking Prolific's API; there is no sandbox.

This module stays cheap to import (every `babe` run loads it): httpx and the platform load only
when a step asks for the platform. It uses only babe-tasks' public plugin API.
"""

from __future__ import annotations

from typing import Any

from babe_tasks import hookimpl

from .config import NAME, load

__all__ = ["NAME"]


def _ours(settings: Any) -> bool:
    return getattr(settings, "platform", None) == NAME


@hookimpl
def babe_configure(settings: Any) -> None:
    """Refuse a bad `babe.plugins.prolific` section (exit 2) before any step runs."""
    if NAME in (getattr(settings, "plugins", None) or {}) or _ours(settings):
        load(settings)


@hookimpl
def babe_platform(settings: Any) -> Any:
    if not _ours(settings):
        return None
    from .platform import ProlificPlatform

    return ProlificPlatform(settings)


@hookimpl
def babe_describe(settings: Any) -> dict[str, Any] | None:
    """The section as `babe plugins` shows it: whether the token is set, never the token."""
    described = load(settings).describe()
    described["active"] = _ours(settings)
    return described


@hookimpl
def babe_preflight(settings: Any) -> list[str] | None:
    """What would stop a Prolific run: no sandbox, no token on live, pay below Prolific's minimum."""
    if not _ours(settings):
        return None
    from .preflight import problems

    return problems(settings)
