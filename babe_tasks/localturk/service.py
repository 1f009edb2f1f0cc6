"""The local MTurk as one object: `LocalTurk(state).call("GetHIT", {...})`.

Both ways in (the in-process boto3 handler and the HTTP server) call `LocalTurk.call` with the
operation name and the decoded JSON body, and turn what it returns or raises into the wire answer.
Operations are plain functions registered with `@operation`; each runs inside one SQLite
transaction with the local clock's `now`, after validation against botocore's service model and
after time-driven events (abandoned assignments, auto-approvals) have been settled.
"""

from __future__ import annotations

import importlib
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from .errors import RequestError, TurkError
from .store import Store

Handler = Callable[["Context", dict], dict]


@dataclass
class Operation:
    name: str
    handler: Handler
    write: bool


_OPERATIONS: dict[str, Operation] = {}
#: Functions run at the start of every write request to apply what the clock made due.
_SETTLERS: list[Callable[["Context"], None]] = []

#: The modules that register operations; imported once, when the first LocalTurk is built.
OPERATION_MODULES = (
    "babe_tasks.localturk.hits",
    "babe_tasks.localturk.assignments",
    "babe_tasks.localturk.qualifications",
    "babe_tasks.localturk.workers",
    "babe_tasks.localturk.misc",
)


def operation(name: str, *, write: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for one MTurk operation (`write=True` takes the write lock)."""

    def register(fn: Handler) -> Handler:
        _OPERATIONS[name] = Operation(name, fn, write)
        return fn

    return register


def settler(fn: Callable[["Context"], None]) -> Callable[["Context"], None]:
    """Register a function that applies clock-driven events (runs inside write transactions)."""
    _SETTLERS.append(fn)
    return fn


@dataclass
class Context:
    """What a handler gets: the open transaction, the local time, and the service."""

    tx: sqlite3.Connection
    now: float
    turk: "LocalTurk"


def _load_operation_modules() -> None:
    for module in OPERATION_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module not written yet must not break the rest
            if exc.name != module:
                raise


class LocalTurk:
    """One local MTurk over one state file; thread-safe, and safe beside other processes."""

    def __init__(self, state: str | None = None):
        _load_operation_modules()
        self.store = Store(state)
        self._counts: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    # -- the requester API -------------------------------------------------------------------
    def call(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Carry out one requester operation; raises `TurkError` exactly as MTurk would answer."""
        params = params or {}
        with self._counts_lock:
            self._counts[name] += 1
        try:
            op = _OPERATIONS.get(name)
            if op is None:
                raise RequestError(f"Operation {name} is not supported by this service.", "UnknownOperation")
            from . import validation

            validation.validate(name, params)
            if op.write:
                with self.store.write() as tx:
                    ctx = Context(tx, Store.now(tx), self)
                    for settle in _SETTLERS:
                        settle(ctx)
                    return op.handler(ctx, params)
            self.settle_if_due()
            with self.store.read() as tx:
                return op.handler(Context(tx, Store.now(tx), self), params)
        except TurkError as exc:
            with self._counts_lock:
                self._errors[f"{name}:{exc.turk_code or exc.error_type}"] += 1
            raise

    def settle_if_due(self) -> None:
        """Apply clock-driven events before a read, so reads never show a stale state."""
        if not _SETTLERS:
            return
        with self.store.write() as tx:
            ctx = Context(tx, Store.now(tx), self)
            for settle in _SETTLERS:
                settle(ctx)

    # -- counters for tests and benchmarks ---------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._counts_lock:
            return {"requests": dict(self._counts), "errors": dict(self._errors), "total": sum(self._counts.values())}

    def reset_stats(self) -> None:
        with self._counts_lock:
            self._counts.clear()
            self._errors.clear()

    @staticmethod
    def operations() -> list[str]:
        _load_operation_modules()
        return sorted(_OPERATIONS)
