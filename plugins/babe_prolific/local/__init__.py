"""The local Prolific: a faithful, smaller stand-in for Prolific's researcher API (docs/localprolific.md).

The public names are imported lazily so `import babe_prolific.local` stays cheap:
`make_app`, `serve_in_thread`, `transport`, `simulate`, `advance_clock`, `payments`, `stats`,
`configure_account`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["advance_clock", "configure_account", "make_app", "payments", "serve_in_thread", "simulate", "stats", "transport"]

_LAZY = {
    "make_app": ("app", "make_app"),
    "serve_in_thread": ("server", "serve_in_thread"),
    "transport": ("inprocess", "transport"),
    "simulate": ("participants", "simulate"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _with_store(state_path, action):
    from .store import Store

    store = Store(state_path)
    try:
        return action(store)
    finally:
        store.close()


def advance_clock(state_path: str | Path | None, seconds: float) -> dict:
    """Move the shared clock forward (due asynchronous work settles, time-outs and 21-day
    auto-approvals happen); `{"now", "offset"}`."""
    from .submissions import tick

    def run(store):
        store.advance_clock(seconds)
        tick(store)
        return store.clock()

    return _with_store(state_path, run)


def payments(state_path: str | Path | None, study_id: str | None = None) -> list[dict]:
    """Every bonus payment ever made (one per CSV row per pay call), oldest first, minor units."""
    from .bonuses import payments as read

    return _with_store(state_path, lambda store: read(store, study_id))


def stats(state_path: str | Path | None) -> dict:
    """Calls per endpoint (`{"calls": {"POST /studies/": 1, ...}, "by_status": ...}`)."""
    from .app import stats as read

    return _with_store(state_path, lambda store: read(store))


def configure_account(state_path: str | Path | None, *, refused_token: str | None = None, **settings) -> dict:
    """Set currency_code, balance (minor units), fees_percentage and vat_percentage (percents),
    minimum_reward_per_hour, settle_seconds (how long asynchronous work takes; 0 settles at once),
    and/or a token the server refuses (401). With no settings, answers the account as it is."""
    return _with_store(state_path, lambda store: store.configure(refused_token=refused_token, **settings))
