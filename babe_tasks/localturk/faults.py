"""Fault injection (placeholder interface replaced by the transport work)."""

from __future__ import annotations

import os


def from_environment():
    """The injector described by `BABE_LOCAL_FAULTS`, or None when it is unset."""
    spec = os.environ.get("BABE_LOCAL_FAULTS", "").strip()
    if not spec:
        return None
    raise NotImplementedError("BABE_LOCAL_FAULTS is not implemented yet")
