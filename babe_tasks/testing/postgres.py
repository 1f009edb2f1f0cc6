"""A throwaway PostgreSQL server for tests: the lab's ledger engine, real, started from the system's binaries.

A ledger test on PostgreSQL means nothing against a mock: the guarantees it checks (unique
constraints, transactions, advisory locks) are the server's own. So a test session starts a real
server (`PostgresServer.start`) from the PostgreSQL the machine has installed (Debian's
`postgresql`, Homebrew's, …: found through `pg_config --bindir` or `/usr/lib/postgresql/*/bin`),
in a temporary folder, on 127.0.0.1 at a free port, without fsync (a test's data need not survive
a power cut), and gives every test its own database (`create_database`) made from `template0`.

PostgreSQL refuses to run as root, and CI and containers run the suite as root: then the server's
programs run as an unprivileged account (`postgres`, which the packages create, else `nobody`)
through `runuser`. A lab member running the suite as themselves runs the binaries directly.

The server listens on TCP only (no Unix socket to place or clean up) and asks a password
generated for this one server, so another account on a shared lab machine cannot use it.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "INSTALL_HINT", "PostgresDatabase", "PostgresServer", "PostgresUnavailable", "find_bindir", "in_ci", "ledger_rows",
]

#: What makes PostgreSQL available where it is missing (the CI image and lab machines are Debian-like).
INSTALL_HINT = "apt-get install -y postgresql"
#: The superuser the test server is made with (the URL's user).
SUPERUSER = "babe"
#: Where Debian and Ubuntu keep the server programs, off PATH (one folder per installed major version).
PACKAGED_BINDIRS = "/usr/lib/postgresql/*/bin"
_PROGRAMS = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server programs on this machine (or no driver to talk to one): tests needing it cannot run."""


def in_ci() -> bool:
    """True under CI (`CI=true`), where a missing PostgreSQL is a broken set-up, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _has_programs(folder: Path) -> bool:
    return all((folder / name).is_file() and os.access(folder / name, os.X_OK) for name in _PROGRAMS)


def _version_key(folder: str) -> tuple[int, ...]:
    """`/usr/lib/postgresql/15/bin` → (15,): the newest installed major version wins."""
    version = Path(folder).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_bindir() -> Path:
    """The folder holding `initdb`, `pg_ctl` and `postgres`.

    `pg_config --bindir` names it where the server was built or packaged with its pg_config; Debian
    keeps the server programs off PATH in `/usr/lib/postgresql/<version>/bin`; else `initdb` on PATH.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += [Path(found) for found in sorted(glob.glob(PACKAGED_BINDIRS), key=_version_key, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if _has_programs(folder):
            return folder
    raise PostgresUnavailable(f"PostgreSQL's server programs (initdb, pg_ctl, postgres) are not installed: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unprivileged_account() -> pwd.struct_passwd:
    """Whom the server runs as when the suite runs as root: the packages' `postgres`, else `nobody`."""
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root, and there is no `postgres` or `nobody` account to run PostgreSQL as")


class Row(tuple):
    """A row read by `ledger_rows` from PostgreSQL, used as sqlite3.Row is: `row["amount"]`, `row[0]`, `dict(row)`."""

    _names: tuple[str, ...]

    def __new__(cls, values: tuple[Any, ...], names: tuple[str, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def ledger_rows(folder: str | Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows of a test's ledger, read with the engine's own driver rather than the code under test.

    The database `BABE_LEDGER_URL` names (what `pytest --ledger=postgresql` and `use_ledger` set),
    else the folder's `.babe/ledger.sqlite`; so a test that checks the ledger's rows checks them on
    either engine. `sql` uses `?` placeholders, as sqlite3 does (no literal `?` or `%` in it).
    """
    import sqlite3

    url = os.environ.get("BABE_LEDGER_URL")
    if not url:
        db = sqlite3.connect(Path(folder) / ".babe" / "ledger.sqlite")
        db.row_factory = sqlite3.Row
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        cursor = conn.execute(sql.replace("?", "%s").encode(), params)
        names = tuple(column.name for column in cursor.description or ())
        return [Row(values, names) for values in cursor.fetchall()]


@dataclass(frozen=True)
class PostgresDatabase:
    """One test's own database on the session's server: `url` is what `BABE_LEDGER_URL` is set to."""

    name: str
    url: str = field(repr=False)  # it carries the server's password: kept out of failure reports
    server: PostgresServer = field(repr=False)

    def connect(self, **options: Any) -> Any:
        """A psycopg connection to this database (the caller closes it; `with` does)."""
        import psycopg

        return psycopg.connect(self.url, **options)


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, for the length of a test session (one per xdist worker)."""

    def __init__(self, bindir: Path | None = None, *, parent: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.parent = parent
        self.password = secrets.token_hex(16)
        self.port = 0
        self.root: Path | None = None
        self._admin: Any = None
        self._count = 0
        self._runas: pwd.struct_passwd | None = _unprivileged_account() if os.geteuid() == 0 else None

    # -- life -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._admin is not None

    @property
    def data(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "data"

    def start(self, *, attempts: int = 5) -> PostgresServer:
        """initdb, then start on a free port (again on another port if a parallel session took that one)."""
        try:
            import psycopg  # noqa: F401  (the fixtures hand out connections and make databases with it)
        except ImportError as error:
            raise PostgresUnavailable("the PostgreSQL driver is not installed: pip install 'psycopg[binary]'") from error
        self.root = Path(tempfile.mkdtemp(prefix="babe-postgres-", dir=self.parent))
        atexit.register(self.stop)
        try:
            self._initdb()
            for attempt in range(attempts):
                self.port = _free_port()
                if self._pg_ctl_start():
                    break
                if attempt == attempts - 1:
                    raise RuntimeError(f"PostgreSQL did not start; its log:\n{self.log_tail()}")
            self._admin = self._connect("postgres")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and remove its folder."""
        if self.root is None:
            return
        if self._admin is not None:
            try:
                self._admin.close()
            finally:
                self._admin = None
        if (self.data / "postmaster.pid").exists():
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        atexit.unregister(self.stop)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for a failure's message."""
        log = self.root / "server.log" if self.root else None
        if log is None or not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    # -- databases --------------------------------------------------------------------------------

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> PostgresDatabase:
        """A new, empty database (`t_<n>`, from template0: nothing a previous test left behind)."""
        if self._admin is None:
            raise RuntimeError("the server is not started")
        self._count += 1
        name = f"t_{self._count}"
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return PostgresDatabase(name=name, url=self.url(name), server=self)

    def lose_database(self, database: PostgresDatabase) -> None:
        """Make it empty again under the same name and URL: the lab's ledger lost (a restore from nothing)."""
        self.drop_database(database)
        self._admin.execute(f'CREATE DATABASE "{database.name}" TEMPLATE template0')

    def drop_database(self, database: PostgresDatabase | str) -> None:
        """Drop it, ending whatever connections a test (or its `babe` children) left open to it."""
        if self._admin is None:
            return
        name = database.name if isinstance(database, PostgresDatabase) else database
        self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def databases(self) -> list[str]:
        """The databases the tests made that still exist (cleanup checks this)."""
        rows = self._admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%' ORDER BY oid").fetchall()
        return [row[0] for row in rows]

    # -- the programs ------------------------------------------------------------------------------

    def _connect(self, database: str) -> Any:
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=10)

    def _initdb(self) -> None:
        assert self.root is not None
        pwfile = self.root / "password"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self._runas is not None:
            for path in (self.root, pwfile):
                os.chown(path, self._runas.pw_uid, self._runas.pw_gid)
        try:
            self._run([
                "initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                "-E", "UTF8", "--locale=C", "--no-sync",
            ])
        finally:
            pwfile.unlink(missing_ok=True)

    def _pg_ctl_start(self) -> bool:
        # No fsync, no waiting for WAL writes: tests are throwaway. TCP on 127.0.0.1 only, no socket file.
        options = shlex.join([
            "-F", "-h", "127.0.0.1", "-p", str(self.port), "-k", "",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
        ])
        log = self.root / "server.log" if self.root else None
        started = self._run(
            ["pg_ctl", "-D", str(self.data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"], check=False,
        )
        return started.returncode == 0

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self._runas is not None:
            command = ["runuser", "-u", self._runas.pw_name, "--", *command]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=self.root or None, timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done
