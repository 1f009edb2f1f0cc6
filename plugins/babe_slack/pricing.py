"""The platform's pricing for a message whose hook was handed none: `babe_after_approve`'s.

`approve` books each assignment at the platform's fee, so the message must say the same amount
in the same currency. The other hooks carry the pricing (`plan.pricing`, `BonusResult.pricing`,
`ExtendResult.plan.pricing`, `StatusResult.pricing`); an approve result carries it too when its
step provides one. Otherwise the platform is asked the way a step asks — a plugin manager for
these settings (quietly: the run printed its warnings), `get_platform`, `platform.base.pricing_of`
— except for MTurk, whose rules are `money.MTURK_PRICING` and need no platform object at all.
"""

from __future__ import annotations

from typing import Any

from babe_tasks import money


def run_pricing(settings: Any, result: Any = None) -> Any:
    """The pricing of the settings' platform (`money.Pricing`); a `BabeError` if it cannot be read."""
    carried = getattr(result, "pricing", None)
    if carried is not None:
        return carried
    if (getattr(settings, "platform", None) or "mturk") == "mturk":
        return money.MTURK_PRICING
    from babe_tasks.platform.base import pricing_of
    from babe_tasks.plugins import get_platform, plugin_manager

    pm = plugin_manager(settings, warn=lambda _message: None)
    platform = get_platform(pm, settings)
    try:
        return pricing_of(platform)
    finally:
        platform.close()
