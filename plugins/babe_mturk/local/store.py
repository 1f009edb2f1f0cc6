"""The local MTurk's state: one SQLite file shared by every thread and process that opens it.

Like an MTurk account, the state belongs to the person, not to one experiment, so separate
command-line runs, a `babe local.serve` server and tests all see one MTurk. Each request runs in
one transaction (`BEGIN IMMEDIATE` for writes), which is what makes concurrent approvals exact to
the cent. The clock is the machine's clock plus an offset stored here, so `local.clock --advance`
moves time for every process at once. Connections, transactions and the clock are the
`StateFile` every local service shares (`babe_tasks.simulation.statefile`); this module adds the MTurk
tables (contributed by the operations modules) and the account's balance.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from babe_tasks.simulation.statefile import StateFile

#: Tables are contributed by the modules that own them (see `register_schema`).
_SCHEMAS: list[str] = []

START_BALANCE = Decimal("10000.00")


def register_schema(sql: str) -> None:
    """Let an operations module declare its tables; they are created when a state file opens."""
    if sql not in _SCHEMAS:
        _SCHEMAS.append(sql)


def default_state_path() -> Path:
    """`BABE_LOCAL_STATE`, else a file in the user's data directory (one MTurk per person)."""
    env = os.environ.get("BABE_LOCAL_STATE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("babe-tasks", appauthor=False)) / "localturk.sqlite"


class Store(StateFile):
    """The local MTurk's state file: its tables, the clock and the account's balance."""

    clock_name = "the local clock"

    @classmethod
    def default_path(cls) -> Path:
        return default_state_path()

    def schemas(self) -> Iterable[str]:
        return list(_SCHEMAS)

    def initial_meta(self) -> Iterable[tuple[str, str]]:
        return (("balance", str(START_BALANCE)), ("clock_offset", "0"))

    # -- money ---------------------------------------------------------------------------
    @classmethod
    def balance(cls, tx: sqlite3.Connection) -> Decimal:
        """The balance in dollars (`charge` takes a Decimal)."""
        return Decimal(cls.get_meta(tx, "balance", str(START_BALANCE)))
