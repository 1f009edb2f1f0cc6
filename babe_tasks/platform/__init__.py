"""Recruiting platforms: what the steps need from one (`base.Platform`), and how to ask for it.

The steps never talk to a platform's API themselves: they ask the plugin manager for the platform
(`babe_platform`, firstresult, through `plugins.get_platform`) and call the protocol, so another
platform needs no change to them. What differs between platforms is data (`base.Capabilities`).
"""

from __future__ import annotations

from typing import Any

from .base import Capabilities, Platform, capabilities_of

__all__ = ["Capabilities", "Platform", "capabilities_for"]


def capabilities_for(settings: Any, pm: Any) -> Capabilities:
    """The settings' platform's capabilities, for a check made before any call (an id's shape).

    The platform is built, not connected (building one makes no call: the `babe_platform` hook's
    contract), read, and closed again. An unknown platform is the UsageError `get_platform` raises.
    """
    from ..plugins import get_platform

    platform = get_platform(pm, settings)
    try:
        return capabilities_of(platform)
    finally:
        platform.close()
