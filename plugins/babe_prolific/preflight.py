"""`babe doctor` on Prolific: the problems that would stop a run, found without spending anything.

Checks only (no study posted): the target (Prolific has no sandbox), the token's presence on live
(whether Prolific accepts it is doctor's platform check, `GET /users/me/`), the estimated time
against `duration`, and the pay per hour against the account's minimum — Prolific refuses to
publish below it, which would leave a draft behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babe_tasks.errors import BabeError

from .config import SECTION, load
from .routing import NO_SANDBOX


def problems(settings: Any) -> list[str]:
    found: list[str] = []
    if settings.target == "sandbox":
        return [NO_SANDBOX]
    config = load(settings)
    if settings.target == "live" and not settings.endpoint_url and not config.token():
        found.append(f"no Prolific API token: set {config.token_env} in the environment (Prolific app → API tokens)")
        return found
    try:
        minutes = config.estimate(settings.duration)
    except BabeError as exc:
        found.append(str(exc))
        return found
    if settings.reward is None:
        return found
    try:
        from .platform import ProlificPlatform

        platform = ProlificPlatform(settings)
        try:
            pricing = platform.pricing
            minimum = platform.minimum_hourly(pricing.currency)
        finally:
            platform.close()
    except BabeError:
        return found  # the platform check of doctor reports an unreachable or refusing Prolific
    hourly = (Decimal(settings.reward) * 60 / minutes).quantize(Decimal("0.01"))
    if minimum is not None and hourly < minimum:
        found.append(
            f"reward {pricing.symbol}{settings.reward} for an estimated {minutes} min pays {pricing.symbol}{hourly}/h, "
            f"below Prolific's minimum of {pricing.symbol}{minimum}/h: raise babe.reward or set {SECTION}.estimated_minutes"
        )
    return found
