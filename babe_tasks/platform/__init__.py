"""Recruiting platforms: what the steps need from one (`base.Platform`) and the MTurk one.

The steps never talk to a platform's API themselves: they ask the plugin manager for the platform
(`babe_platform`, firstresult, through `plugins.get_platform`) and call the protocol, so another
platform needs no change to them.
"""

from __future__ import annotations

from .base import Platform

__all__ = ["Platform"]
