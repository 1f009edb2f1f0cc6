"""The local Prolific's state: one SQLite file shared by every thread and process that opens it.

Like a Prolific account, the state outlives one command: `babe` runs, a `babe-prolific serve`
server, simulated participants and tests all see one account. Every request runs in one
transaction (`BEGIN IMMEDIATE` for writes) so balances stay exact when approvals, publishes and
bonus payments race. The clock is the machine's clock plus an offset stored here, so advancing it
(`advance_clock`) moves time for every process at once — that is how a test reaches the 21-day
auto-approval or a participant's time-out without waiting. Connections, transactions and the clock
are the `StateFile` the local MTurk uses too (`babe_tasks.simulation.statefile`); this module adds the
Prolific tables and the account's settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babe_tasks.simulation.statefile import StateFile

from .errors import not_found

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    status TEXT NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0,
    funded_places INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    study_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    deadline REAL NOT NULL,
    completed_at REAL,
    study_code TEXT,
    reward INTEGER NOT NULL,
    rejection_category TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_study ON submissions (study_id, status);
CREATE INDEX IF NOT EXISTS submissions_by_participant ON submissions (participant_id);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions (status);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    approval_rate REAL NOT NULL DEFAULT 100
);
CREATE TABLE IF NOT EXISTS bonus_setups (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    study_id TEXT NOT NULL,
    rows TEXT NOT NULL,
    amount INTEGER NOT NULL,
    fees INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    created_at REAL NOT NULL,
    pay_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bonus_payments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    setup_id TEXT NOT NULL,
    study_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    fees INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    paid_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS return_requests (
    submission_id TEXT PRIMARY KEY,
    requested_at REAL NOT NULL,
    reasons TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    payload TEXT NOT NULL,
    due REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_by_due ON pending (due);
CREATE TABLE IF NOT EXISTS calls (
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (route, status)
);
"""

#: The account a fresh state starts with (the contract's defaults); `configure_account` changes it.
DEFAULT_ACCOUNT = {
    "currency_code": "USD",
    "balance": "1000000",  # minor units: 10000.00 USD
    "fees_percentage": "33.33",
    "vat_percentage": "0",
    "minimum_reward_per_hour": "800",  # minor units per hour: $8.00 (Prolific's USD minimum)
    "settle_seconds": "3",  # how long publishing, bulk approval and bonus payment take (pending.py)
    "user_id": "5f0c0ffee0000000000000a1",
    "workspace_id": "5f0c0ffee0000000000000b2",
    "clock_offset": "0",
}

#: Settings that may be changed after creation, with the parser that checks each.
ACCOUNT_FIELDS = ("currency_code", "balance", "fees_percentage", "vat_percentage", "minimum_reward_per_hour", "settle_seconds")
SETTLE_ENV = "BABE_PROLIFIC_SETTLE_SECONDS"
CURRENCIES = {"USD": "$", "GBP": "£", "EUR": "€"}


def default_state_path() -> Path:
    """`BABE_PROLIFIC_STATE`, else `prolific.sqlite` in the current directory's `.babe/`."""
    env = os.environ.get("BABE_PROLIFIC_STATE")
    if env:
        return Path(env).expanduser()
    return Path(".babe") / "prolific.sqlite"


class Store(StateFile):
    """The local Prolific's state file: its tables, the clock and the account's settings."""

    clock_name = "the local Prolific's clock"

    @classmethod
    def default_path(cls) -> Path:
        return default_state_path()

    def schemas(self) -> Iterable[str]:
        return (SCHEMA,)

    def initial_meta(self) -> Iterable[tuple[str, str]]:
        """The defaults, with `BABE_PROLIFIC_SETTLE_SECONDS` read once, when the state is created."""
        settle = os.environ.get(SETTLE_ENV)
        account = dict(DEFAULT_ACCOUNT)
        if settle:
            account["settle_seconds"] = _check_setting("settle_seconds", settle)
        return account.items()

    # -- the account -----------------------------------------------------------------------------
    @classmethod
    def meta(cls, tx: sqlite3.Connection, key: str) -> str:
        """An account setting, or its default when the row is missing."""
        value = cls.get_meta(tx, key)
        return value if value is not None else DEFAULT_ACCOUNT[key]

    @classmethod
    def balance(cls, tx: sqlite3.Connection) -> int:
        """The available balance in minor units (`charge` takes cents/pence)."""
        return int(cls.meta(tx, "balance"))

    @classmethod
    def percentage(cls, tx: sqlite3.Connection, key: str) -> Decimal:
        return Decimal(cls.meta(tx, key))

    @classmethod
    def token_refused(cls, tx: sqlite3.Connection, token: str) -> bool:
        """True for the token configured as refused (only its hash is stored, never a token)."""
        digest = cls.get_meta(tx, "refused_token_sha256")
        return bool(digest) and hashlib.sha256(token.encode()).hexdigest() == digest

    def configure(self, *, refused_token: str | None = None, **settings) -> dict:
        """Change the account (currency_code, balance in minor units, fees_percentage and
        vat_percentage as percents, minimum_reward_per_hour, settle_seconds) and/or the token the
        server refuses."""
        unknown = set(settings) - set(ACCOUNT_FIELDS)
        if unknown:
            raise ValueError(f"unknown account setting(s) {', '.join(sorted(unknown))}; known: {', '.join(ACCOUNT_FIELDS)}")
        checked = {key: _check_setting(key, value) for key, value in settings.items() if value is not None}
        with self.write() as tx:
            for key, value in checked.items():
                self.set_meta(tx, key, value)
            if refused_token:
                self.set_meta(tx, "refused_token_sha256", hashlib.sha256(refused_token.encode()).hexdigest())
        return self.account()

    def account(self) -> dict:
        with self.read() as tx:
            return {key: self.meta(tx, key) for key in ACCOUNT_FIELDS}


def _check_setting(key: str, value) -> str:
    if key == "currency_code":
        if value not in CURRENCIES:
            raise ValueError(f"currency_code {value!r} is not one of {', '.join(CURRENCIES)}")
        return value
    if key in ("balance", "minimum_reward_per_hour"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number of minor units (cents/pence), 0 or more")
        return str(value)
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{key} {value!r} is not a number") from None
    if key == "settle_seconds":
        if not number.is_finite() or number < 0:
            raise ValueError("settle_seconds must be a number of seconds, 0 or more")
        return str(number)
    if not (0 <= number <= 100):
        raise ValueError(f"{key} must be between 0 and 100")
    return str(number)


def iso(timestamp: float | None) -> str | None:
    """Epoch seconds as the API's ISO 8601 UTC form (`2026-11-28T18:25:30.123000Z`)."""
    if timestamp is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load_row(tx: sqlite3.Connection, table: str, row_id: str, what: str, *, live: bool = False) -> sqlite3.Row:
    """The row `row_id` of one of the state's tables, else Prolific's 404 naming `what` ("Study").

    `live`: only a row not marked `deleted` (a resource Prolific still shows)."""
    row = tx.execute(f"SELECT * FROM {table} WHERE id = ?{' AND deleted = 0' if live else ''}", (row_id,)).fetchone()
    if row is None:
        raise not_found(what, row_id)
    return row


def merge_data(tx: sqlite3.Connection, table: str, row: sqlite3.Row, changes: dict) -> None:
    """Write `changes` over the row's JSON `data` (a PATCH of a resource kept as JSON)."""
    data = {**json.loads(row["data"]), **changes}
    tx.execute(f"UPDATE {table} SET data = ? WHERE id = ?", (json.dumps(data), row["id"]))


def new_id() -> str:
    """A 24-hex-digit id, the shape of Prolific's (MongoDB ObjectId) ids."""
    import secrets

    return secrets.token_hex(12)
