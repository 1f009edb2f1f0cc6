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

from babe_mturk.local import validation
from babe_mturk.local.errors import RequestError, TurkError
from babe_mturk.local.store import Store

Handler = Callable[["Context", dict], dict]


@dataclass
class Operation:
    name: str
    handler: Handler
    write: bool


_OPERATIONS: dict[str, Operation] = {}
#: Functions run at the start of every write request to apply what the clock made due.
_SETTLERS: list[Callable[["Context"], None]] = []
#: For each settler, its cheap "is anything due?" check (None: always due); see `settler`.
DueCheck = Callable[[sqlite3.Connection, float], bool]
_DUE_CHECKS: list["DueCheck | None"] = []

#: The modules that register operations; imported once, when the first LocalTurk is built.
OPERATION_MODULES = (
    "babe_mturk.local.hits",
    "babe_mturk.local.assignments",
    "babe_mturk.local.qualifications",
    "babe_mturk.local.blocks",
    "babe_mturk.local.notifications",
    "babe_mturk.local.workers",
    "babe_mturk.local.misc",
)


def operation(name: str, *, write: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for one MTurk operation (`write=True` takes the write lock)."""

    def register(fn: Handler) -> Handler:
        _OPERATIONS[name] = Operation(name, fn, write)
        return fn

    return register


def settler(fn: Callable[["Context"], None] | None = None, *, due: DueCheck | None = None):
    """Register a function that applies clock-driven events (runs inside write transactions).

    `due(tx, now) -> bool` is the settler's cheap, read-only question "is anything of mine due?"
    (an indexed `SELECT 1 ... LIMIT 1`). Reads ask it inside their own snapshot and take the write
    lock only when some settler answers yes; a settler registered without one counts as always
    due, which is correct but makes every read a write. Use as `@settler` or `@settler(due=...)`.
    """

    def register(f: Callable[["Context"], None]) -> Callable[["Context"], None]:
        _SETTLERS.append(f)
        _DUE_CHECKS.append(due)
        return f

    return register(fn) if fn is not None else register


@dataclass
class Context:
    """What a handler gets: the open transaction, the local time, and the service."""

    tx: sqlite3.Connection
    now: float
    turk: "LocalTurk"


def _anything_due(tx: sqlite3.Connection, now: float) -> bool:
    return any(due is None or due(tx, now) for due in _DUE_CHECKS)


def run_settlers(ctx: Context) -> None:
    """Apply what the clock made due, inside the caller's write transaction.

    Every write request starts with this; the worker side calls it too, since it opens its own
    transactions (a slot freed by an abandoned assignment must be free for the next worker).
    """
    for settle in _SETTLERS:
        settle(ctx)


def _load_operation_modules() -> None:
    for module in OPERATION_MODULES:
        importlib.import_module(module)


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
            # Validation first: a wrong request is refused the same way whatever handles it.
            validation.validate(name, params)
            op = _OPERATIONS.get(name)
            if op is None:
                raise RequestError(f"Operation {name} is not supported by this service.", "UnknownOperation")
            if op.write:
                with self.store.write() as tx:
                    ctx = Context(tx, Store.now(tx), self)
                    run_settlers(ctx)
                    return op.handler(ctx, params)
            # Reads see the clock's events applied: the due check runs in the read's own snapshot,
            # so the common case (nothing due) costs a few indexed lookups and no write lock.
            with self.store.read() as tx:
                now = Store.now(tx)
                if not _anything_due(tx, now):
                    return op.handler(Context(tx, now, self), params)
            self.settle()
            with self.store.read() as tx:
                return op.handler(Context(tx, Store.now(tx), self), params)
        except TurkError as exc:
            with self._counts_lock:
                self._errors[f"{name}:{exc.turk_code or exc.error_type}"] += 1
            raise

    def settle_if_due(self) -> bool:
        """Apply clock-driven events if any are due; returns whether it took the write lock."""
        with self.store.read() as tx:
            if not _anything_due(tx, Store.now(tx)):
                return False
        self.settle()
        return True

    def settle(self) -> None:
        """Apply every clock-driven event that is due, in one write transaction."""
        with self.store.write() as tx:
            run_settlers(Context(tx, Store.now(tx), self))

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
