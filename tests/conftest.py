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


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False, help="run long campaigns at full size")


@pytest.fixture
def full_size(request) -> bool:
    """True when the campaign should run at its full size (`pytest --full`)."""
    return bool(request.config.getoption("--full"))


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch, tmp_path):
    """No AWS configuration, no BABE_* settings and no user state leak into a test."""
    import os

    for key in list(os.environ):
        if key.startswith(("AWS_", "BABE_")) and key != "BABE_PROLIFIC_CONFORM":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("BABE_LOCAL_STATE", str(tmp_path / "localturk.sqlite"))
    monkeypatch.setenv("NO_COLOR", "1")
    # Installed plugins (the lab plugins of this repository included) load only where a test asks.
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks_tests")
    # The repository holds a tasks.py: a test must never take it for its experiment folder.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def no_debug_leak(monkeypatch):
    """`--debug` runs in-process turn on invoke's logging and babe's debug flag: undo both after the test."""
    import logging

    import babe_tasks.errors as errors

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    monkeypatch.setattr(errors, "_DEBUG", False)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "localturk.sqlite"


@pytest.fixture
def turk(state_path):
    """The local MTurk service over this test's state file."""
    from babe_mturk.local.service import LocalTurk

    service = LocalTurk(str(state_path))
    yield service
    service.store.close()


@pytest.fixture
def mturk(turk):
    """A real boto3 MTurk client answered in-process by `turk`."""
    from babe_mturk.local import client

    return client(turk=turk)


@pytest.fixture
def babe(capsys, monkeypatch):
    """Run the real `babe` program in-process: `babe("create", "--json")` → BabeRun(code, out, err, .json).

    120 columns wide, so tables print as tables. Folders whose tests need another runner (the
    framework's namespaces, the performance tests' server) define their own `babe`.
    """
    from babe_tasks.testing import run_babe

    monkeypatch.setenv("COLUMNS", "120")
    return lambda *args: run_babe(capsys, *args)


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """An experiment folder `exp1` (the working directory) whose invoke.yaml names the page and the
    HIT texts (reward 0.50). Folders whose tests need another one define their own `experiment`."""
    from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

    folder = ExperimentFolder(tmp_path / "exp1", DEFAULT_SETTINGS).path
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
def lose_ledger():
    """`lose_ledger(experiment, how)`: `.babe/` removed ("missing"), or the ledger file left at zero
    bytes (its WAL files gone with it)."""

    def lose(experiment, how: str) -> None:
        if how == "missing":
            shutil.rmtree(experiment / ".babe")
            return
        ledger = experiment / ".babe" / "ledger.sqlite"
        for extra in ("-wal", "-shm"):
            (ledger.parent / (ledger.name + extra)).unlink(missing_ok=True)
        ledger.write_bytes(b"")

    return lose
