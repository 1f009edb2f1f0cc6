"""babe-tasks: take a _babe/magpie experiment to paid participants and back.

Kept import-light on purpose: `babe --list` and `invoke --list` import this package, and must
not pay for boto3. Heavy modules are imported inside the functions that need them, and the
names below are resolved lazily (module `__getattr__`):

- `ns` — the task collection; an experiment's `tasks.py` is `from babe_tasks import ns`.
- `collection()` — a fresh collection, for a lab that adds tasks of its own without mutating `ns`.
- `hookimpl`, `Veto` — what a plugin module needs.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ns", "collection", "hookimpl", "Veto", "__version__"]

_ns = None


def __getattr__(name: str) -> Any:
    global _ns
    if name == "ns":
        if _ns is None:
            from .tasks import collection

            _ns = collection()
        return _ns
    if name == "collection":
        from .tasks import collection

        return collection
    if name == "hookimpl":
        from .plugins import hookimpl

        return hookimpl
    if name == "Veto":
        from .errors import Veto

        return Veto
    raise AttributeError(f"module 'babe_tasks' has no attribute {name!r}")
