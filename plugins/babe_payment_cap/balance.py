"""The requester account's balance (GetAccountBalance), for the live check before a create.

Hooks receive the settings and the plan, not the platform, so the plugin asks babe-tasks for the
platform the same way a step does: a plugin manager for these settings (quietly: its warnings were
already printed by the run's own), then `get_platform`. Whatever platform the lab configured
answers — the plugin never talks to MTurk itself. A balance that cannot be read stops the create
(its error passes through with its own exit code), since on live the check exists to avoid
posting HITs nobody can pay.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def account_balance(settings: Any) -> Decimal:
    from babe_tasks.plugins import get_platform, plugin_manager

    pm = plugin_manager(settings, warn=lambda _message: None)
    platform = get_platform(pm, settings)
    platform.connect()
    try:
        return Decimal(platform.balance())
    finally:
        platform.close()
