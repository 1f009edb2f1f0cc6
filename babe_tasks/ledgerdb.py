"""Where the ledger lives: the folder's SQLite file (the default) or a lab's PostgreSQL.

`babe_tasks.ledger` writes the same SQL to either through a `Database`: one connection, rows
addressable by column name (and position), `?` placeholders (translated to psycopg's `%s`), and a
write transaction that serialises writers the same way on both engines:

- SQLite: `BEGIN IMMEDIATE` on `<folder>/.babe/ledger.sqlite` (WAL, a busy timeout: `sqlitefile`);
- PostgreSQL: a transaction whose first statement is `pg_advisory_xact_lock(LOCK_KEY)`, one key
  for the whole ledger, released by the commit. Every writer of every machine waits for it, so a
  "look, then write" inside one transaction (a plan resumed instead of posted twice, a bonus
  recorded once) is as exclusive across machines as `BEGIN IMMEDIATE` is across processes.

Shared SQL stays portable: `INSERT ... ON CONFLICT ... DO NOTHING/UPDATE`, no `INSERT OR IGNORE`,
no `PRAGMA`, no `rowid`. What differs (the catalog, column types in DDL, the version store) is
asked of the `Database`.

psycopg is imported only when a PostgreSQL URL is used: `babe --list` stays light.
"""

from __future__ import annotations

import getpass
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import BabeError, UsageError, one_line
from .sqlitefile import open_shared

SQLITE, POSTGRESQL = "sqlite", "postgresql"
#: The advisory lock every ledger write on PostgreSQL holds: one constant for the whole ledger
#: (the 64-bit number spelling "babeledg"), so all writers queue on it as SQLite's queue on the file.
LOCK_KEY = int.from_bytes(b"babeledg", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: The lab-wide spending lock (`Ledger.spending`): taken after `LOCK_KEY`, inside the write that
#: records a commitment, so a cap is checked and the commitment written as one step ("babespnd").
SPENDING_KEY = int.from_bytes(b"babespnd", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: Seconds `babe doctor` and every process wait for a PostgreSQL server to answer a connection.
CONNECT_TIMEOUT = 5
SCHEMES = ("postgresql", "postgres")


# -- the setting ---------------------------------------------------------------------------------
def parse_url(value: Any, name: str = "ledger_url", folder: Path | None = None) -> str | None:
    """`ledger_url` checked: empty (the folder's SQLite) or a `postgresql://` URL; anything else is
    refused in one line that never shows a password."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in SCHEMES:
        raise UsageError(
            f"{name} {mask(text)!r} is not a PostgreSQL URL: give postgresql://[user@]host[:port]/database,"
            " or leave it empty for the folder's own SQLite ledger"
        )
    parts = urlsplit(text)
    if not parts.path.strip("/"):
        raise UsageError(f"{name} {mask(text)!r} names no database: add /<database> (e.g. postgresql://lab-db/babe)")
    return text


def mask(url: str) -> str:
    """The URL as it may be shown: its password (and any `password=` parameter) removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user = credentials.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = re.sub(r"(?i)(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, url: str | None) -> str:
    """`text` (a driver's error) with the URL's password, if it appears, replaced."""
    if url:
        password = urlsplit(url).password
        if password:
            text = text.replace(password, "***")
    return text


def url_from_environment() -> str | None:
    """`BABE_LEDGER_URL` checked, for a ledger opened without settings (`Ledger(folder)` in a lab's
    script or plugin): the same ledger the settings would name, never a silent folder file beside it."""
    return parse_url(os.environ.get("BABE_LEDGER_URL"), "BABE_LEDGER_URL")


def os_member() -> str:
    """Who is running babe when `member` is not set: the operating system's user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def engine_of(url: str | None) -> str:
    return POSTGRESQL if url else SQLITE


def sqlite_path(folder: str | Path) -> Path:
    return Path(folder) / ".babe" / "ledger.sqlite"


class LedgerUnavailable(BabeError):
    """The ledger file cannot be written: another program holds it, the disk is full, it is read-only.

    A write either happens whole or not at all, so the platform stays ahead of the ledger at worst;
    that is the state every re-run already handles (tokens, annotations, "already approved"). So
    this is exit 1, "re-run to finish", with the file and the fix named instead of an internal error.
    """

    exit_code = 1

    @classmethod
    def of(cls, path: str | Path, exc: BaseException, url: str | None = None) -> LedgerUnavailable:
        text = scrub(one_line(exc), url)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered or "lock timeout" in lowered:
            fix = "another program (a second babe run?) holds it: let it finish, then run the same command again"
        elif "full" in lowered or "i/o" in lowered:
            fix = "the disk is full or failing: free space, then run the same command again"
        elif "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
            fix = "make the .babe folder and its files writable, then run the same command again"
        elif url:
            fix = "check the lab's database (babe doctor), then run the same command again"
        else:
            fix = "repair or move the file, then run the same command again"
        return cls(f"the ledger {path} cannot be written ({text}); {fix}")



# -- rows ------------------------------------------------------------------------------------------
class Row(tuple):
    """A PostgreSQL row read like `sqlite3.Row`: by position or by column name, `keys()`, `dict(row)`."""

    _names: dict[str, int]

    def __new__(cls, names: dict[str, int], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


# -- connections -----------------------------------------------------------------------------------
class Database:
    """One connection to the ledger, whichever engine. Not thread-safe by itself: `Ledger` and
    `LedgerTable` serialise their threads with a lock of their own."""

    engine = SQLITE
    #: What a message may call the ledger: the file, or the URL without its password.
    where = ""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def script(self, sql: str) -> None:
        """Every `;`-separated statement of a DDL script (types translated for the engine)."""
        for statement in filter(None, (s.strip() for s in self.ddl(sql).split(";"))):
            self.execute(statement)

    def ddl(self, sql: str) -> str:
        return sql

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def lock_spending(self) -> None:
        """Inside a write: hold the lab-wide spending lock until it ends. SQLite's `BEGIN IMMEDIATE`
        is already the only writer of the file, so there is nothing more to take."""

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def tables(self) -> set[str]:
        raise NotImplementedError

    def columns(self, table: str) -> set[str]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """What the driver raises for a statement or connection that failed."""
        raise NotImplementedError

    def unavailable(self, exc: BaseException) -> bool:
        """Whether `exc` is the ledger refusing a write (locked, full, read-only, gone), not a bug."""
        raise NotImplementedError

    def busy(self, exc: BaseException) -> bool:
        """Whether `exc` means another writer held the ledger past the wait."""
        text = str(exc).lower()
        return "locked" in text or "busy" in text

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write: all of it or nothing (the `Ledger` adds its failure messages around this)."""
        self.begin()
        try:
            yield self
            self.commit()
        except BaseException:
            if self.in_transaction:
                try:
                    self.rollback()
                except self.errors:
                    pass
            raise


class SqliteDatabase(Database):
    """The folder's file: WAL, a busy timeout, `BEGIN IMMEDIATE` per write (as before issue 16)."""

    engine = SQLITE

    def __init__(self, path: Path, busy_timeout: float, *, read_only: bool = False):
        self.path = path
        self.where = str(path)
        if read_only:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only = ON")
            self.conn = conn
        else:
            self.conn = open_shared(path, busy_timeout)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def tables(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self.conn.close()

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def unavailable(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError)


class PostgresDatabase(Database):
    """A lab's ledger on PostgreSQL (psycopg 3, autocommit between explicit transactions)."""

    engine = POSTGRESQL

    def __init__(self, url: str, busy_timeout: float = 60.0, *, read_only: bool = False, connect_timeout: float = CONNECT_TIMEOUT):
        import psycopg

        self.url = url
        self.busy_timeout = busy_timeout
        self.where = mask(url)
        self._psycopg = psycopg
        options = "-c default_transaction_read_only=on" if read_only else None
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": max(1, int(connect_timeout)), "row_factory": _row_factory}
        if options:
            kwargs["options"] = options
        self.conn = psycopg.connect(url, **kwargs)

    @staticmethod
    def translate(sql: str) -> str:
        """`?` placeholders as psycopg's `%s` (a literal `%` doubled first). The ledger's SQL has no
        `?` inside a string literal; a statement without parameters is sent as it is."""
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if not params:
            return self.conn.execute(sql)
        return self.conn.execute(self.translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(self.translate(sql), [tuple(row) for row in rows])

    def ddl(self, sql: str) -> str:
        """SQLite's DDL in PostgreSQL's types: epoch seconds as DOUBLE PRECISION (PostgreSQL's REAL
        is 4 bytes), integer row ids as BIGINT identities."""
        sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
        return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)

    def begin(self) -> None:
        """The transaction, holding the ledger's lock; waiting for it at most the busy timeout, as
        SQLite waits for its file (then: lock_not_available, "another program holds it")."""
        self.conn.execute("BEGIN")
        try:
            self.conn.execute(f"SET LOCAL lock_timeout = {max(1, int(self.busy_timeout * 1000))}")
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        except BaseException:
            try:
                self.conn.execute("ROLLBACK")
            except self._psycopg.Error:
                pass  # the connection is gone: the server ended the transaction with it
            raise

    def lock_spending(self) -> None:
        """The spending key, released with the transaction (always after `LOCK_KEY`: no deadlock)."""
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (SPENDING_KEY,))

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE

    def tables(self) -> set[str]:
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        return {row[0] for row in rows}

    def columns(self, table: str) -> set[str]:
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
        return {row[0] for row in rows}

    def close(self) -> None:
        self.conn.close()

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (self._psycopg.Error,)

    def unavailable(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.OperationalError)

    def busy(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.LockNotAvailable)


def connect(folder: str | Path, url: str | None, busy_timeout: float, *, read_only: bool = False) -> Database:
    """The ledger's database: PostgreSQL at `url`, else the folder's SQLite file.

    A PostgreSQL that cannot be reached raises `LedgerUnreachable` (one line, host and database,
    never the password); SQLite errors are the caller's to explain, as before.
    """
    if not url:
        return SqliteDatabase(sqlite_path(folder), busy_timeout, read_only=read_only)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency; a broken install says so
        raise UsageError("ledger_url names PostgreSQL but psycopg is not installed: pip install 'psycopg[binary]>=3.1'") from None
    try:
        return PostgresDatabase(url, busy_timeout, read_only=read_only)
    except psycopg.Error as exc:
        raise LedgerUnreachable.unreachable(url, exc) from None


class LedgerUnreachable(LedgerUnavailable):
    """The lab's PostgreSQL did not let us in: down, unreachable, wrong database or role. Exit 4,
    like a platform that cannot be reached; the message names host and database, never the password."""

    exit_code = 4

    @classmethod
    def unreachable(cls, url: str, exc: BaseException) -> LedgerUnreachable:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        database = parts.path.strip("/")
        reason = " ".join(scrub(str(exc), url).split()) or type(exc).__name__
        return cls(
            f"the lab's ledger {database} on {host}{port} cannot be reached ({reason}); check that the server runs"
            f" and that {mask(url)} is right (babe doctor checks it)"
        )
