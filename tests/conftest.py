"""Shared fixtures: every test gets its own local MTurk state and a clean environment."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

# Every answer of the local Prolific is held to Prolific's published API in every test (a
# non-conforming one becomes a loud 500); set at import so `babe` subprocesses inherit it.
os.environ.setdefault("BABE_PROLIFIC_CONFORM", "1")


#: The ledger engines the suite runs on (`pytest --ledger=postgresql`): babe's two storage engines.
LEDGER_ENGINES = ("sqlite", "postgresql")


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False, help="run long campaigns at full size")
    parser.addoption(
        "--ledger", choices=LEDGER_ENGINES, default="sqlite",
        help="the ledger engine every test runs on: sqlite (each folder's file, the default) or postgresql "
        "(a fresh database on a real local server per test, as BABE_LEDGER_URL)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "sqlite_ledger(reason): the test's subject is the SQLite ledger file itself (its lock, a full disk, "
        "a file seeded by hand); skipped under --ledger=postgresql, with the reason",
    )


def pytest_collection_modifyitems(config, items):
    """Under `--ledger=postgresql`, a test about the SQLite file itself is skipped, saying why."""
    if config.getoption("--ledger") == "sqlite":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_ledger")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "about the SQLite ledger file")
            item.add_marker(pytest.mark.skip(reason=f"SQLite ledger only: {reason}"))


def pytest_report_header(config):
    return f"ledger: {config.getoption('--ledger')}"


@pytest.fixture(scope="session")
def ledger_engine(request) -> str:
    """The engine this run's ledgers are on: "sqlite" or "postgresql" (`pytest --ledger=…`)."""
    return str(request.config.getoption("--ledger"))


@pytest.fixture
def full_size(request) -> bool:
    """True when the campaign should run at its full size (`pytest --full`)."""
    return bool(request.config.getoption("--full"))


@pytest.fixture(autouse=True)
def babe_env(monkeypatch, tmp_path, request, ledger_engine):
    """Every test is hermetic, the way a lab's tests are (babe_tasks.pytest_plugin.BabeEnvironment):
    no AWS configuration, no BABE_* setting (but the session's BABE_PROLIFIC_CONFORM) and no user
    state leak in; installed lab plugins load only where a test asks; the platforms stay real; the
    working directory is tmp_path, never the repository (it holds a tasks.py a test must not take for
    its experiment folder). The pytest plugin's fixtures (babe_run, babe_turk, …) run in it.
    Under `--ledger=postgresql` every test's ledger is a fresh database of the session's PostgreSQL
    server (BABE_LEDGER_URL, which the `babe` processes a test starts inherit)."""
    from babe_tasks.pytest_plugin import BabeEnvironment

    env = BabeEnvironment(monkeypatch, tmp_path, keep=("BABE_PROLIFIC_CONFORM",))
    if ledger_engine == "postgresql":
        env.use_ledger(request.getfixturevalue("babe_postgres").url)
    yield env
    env.close()


@pytest.fixture
def state_path(babe_env):
    return babe_env.state


@pytest.fixture
def turk(babe_turk):
    """The local MTurk service over this test's state file."""
    return babe_turk.service


@pytest.fixture
def mturk(babe_turk):
    """A real boto3 MTurk client answered in-process by `turk`."""
    return babe_turk.client


@pytest.fixture
def babe(babe_run):
    """The real `babe` program in-process (the pytest plugin's `babe_run`): `babe("create", "--json")`
    → BabeRun(code, out, err, .json); `namespace=` for a test's own tasks; capfd when the test uses it."""
    return babe_run


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """An experiment folder `exp1` (the working directory) whose invoke.yaml names the page and the
    HIT texts (reward 0.50). Folders whose tests need another one define their own `experiment`."""
    from babe_tasks.testing.experiment import ExperimentFolder

    folder = ExperimentFolder(tmp_path / "exp1").path
    monkeypatch.chdir(folder)
    return folder


@dataclass
class Clock:
    """The wait between refreshes of `babe watch` and `babe wait`, replaced: `during(fn)` queues what
    happens in the next waits (one action per wait, in order), then `advance(seconds)` moves time."""

    advance: Callable[[float], Any]
    waits: list[float] = field(default_factory=list)
    plan: list[Callable[[], Any]] = field(default_factory=list)

    def during(self, *actions: Callable[[], Any]) -> None:
        self.plan.extend(actions)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.plan:
            self.plan.pop(0)()
        self.advance(seconds)


@pytest.fixture
def seam(monkeypatch):
    """`seam(advance)`: install a Clock moving some platform's clock as `watch.default_sleep`."""
    from babe_tasks.steps import watch as step

    def install(advance: Callable[[float], Any]) -> Clock:
        fake = Clock(advance)
        monkeypatch.setattr(step, "default_sleep", fake)
        return fake

    return install


@pytest.fixture
def clock(seam, turk):
    """The fake wait for every watch and wait of this test (also those run through `babe`): it moves
    the local MTurk's clock. (tests/automation/test_wait_prolific.py moves the local Prolific's.)"""
    return seam(turk.store.advance_clock)


@pytest.fixture
def workers(turk):
    """`workers(n, **options)`: n simulated workers take the open HITs now (babe_mturk.local.workers)."""
    from babe_mturk.local import workers as sim

    def work(n: int, **options: Any) -> dict:
        return sim.simulate(turk, workers=n, **options)

    return work


@pytest.fixture
def lose_ledger(request, ledger_engine):
    """`lose_ledger(experiment, how)`: `.babe/` removed ("missing"), or the ledger file left at zero
    bytes (its WAL files gone with it). Under `--ledger=postgresql` the ledger is the test's
    database: it is emptied (dropped and made again, same URL) and the folder's `.babe/` removed."""

    def lose(experiment, how: str) -> None:
        if ledger_engine == "postgresql":
            database = request.getfixturevalue("babe_postgres")
            database.server.lose_database(database)
            shutil.rmtree(experiment / ".babe", ignore_errors=True)
            return
        if how == "missing":
            shutil.rmtree(experiment / ".babe")
            return
        ledger = experiment / ".babe" / "ledger.sqlite"
        for extra in ("-wal", "-shm"):
            (ledger.parent / (ledger.name + extra)).unlink(missing_ok=True)
        ledger.write_bytes(b"")

    return lose


@pytest.fixture
def ledger_write():
    """`ledger_write(folder, sql, params)`: one writing statement on the test's ledger, committed, with
    the engine's own driver rather than the code under test (`?` placeholders, as sqlite3's): the
    folder's `.babe/ledger.sqlite`, or the test's PostgreSQL database under `--ledger=postgresql`."""

    def write(folder, sql: str, params: tuple = ()) -> None:
        url = os.environ.get("BABE_LEDGER_URL")
        if not url:
            import sqlite3

            db = sqlite3.connect(folder / ".babe" / "ledger.sqlite")
            try:
                with db:
                    db.execute(sql, params)
            finally:
                db.close()
            return
        import psycopg

        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute(sql.replace("?", "%s").encode(), params)

    return write


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver's servers (stand-ins for someone else's service) listen on 127.0.0.1, any free port."""
    return ("127.0.0.1", 0)
