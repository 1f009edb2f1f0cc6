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
def babe_env(monkeypatch, tmp_path):
    """Every test is hermetic, the way a lab's tests are (babe_tasks.pytest_plugin.BabeEnvironment):
    no AWS configuration, no BABE_* setting (but the session's BABE_PROLIFIC_CONFORM) and no user
    state leak in; installed lab plugins load only where a test asks; the platforms stay real; the
    working directory is tmp_path, never the repository (it holds a tasks.py a test must not take for
    its experiment folder). The pytest plugin's fixtures (babe_run, babe_turk, …) run in it."""
    from babe_tasks.pytest_plugin import BabeEnvironment

    env = BabeEnvironment(monkeypatch, tmp_path, keep=("BABE_PROLIFIC_CONFORM",))
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


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver's servers (stand-ins for someone else's service) listen on 127.0.0.1, any free port."""
    return ("127.0.0.1", 0)
