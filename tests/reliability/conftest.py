"""Fixtures of the reliability campaign: faults, a shortened retry clock. (The experiment folder `exp1`
and `babe` in-process are the suite's: tests/conftest.py.)"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from babe_tasks.testing import BabeRun

from .helpers import FAULTS


class ShortClock:
    """The clock retries sleep on (`babe_tasks.sleeping.CLOCK`), sleeping `SHORTEN` times less.

    Every retry decision, attempt count, budget and back-off delay stays the shipped one; only the
    wall time each sleep takes is shortened, so a campaign of thousands of faults runs in seconds.
    `asked` is the sleeping the code asked for, in seconds.
    """

    SHORTEN = 10

    def __init__(self):
        import threading

        self.asked = 0.0
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        import time

        with self._lock:
            self.asked += seconds
        if seconds > 0:
            time.sleep(seconds / self.SHORTEN)


class Faults:
    """Switches the campaign's faults on for the in-process target and counts what they did.

    The retry settings are the shipped defaults (`babe_mturk/retries.py`): no AWS_RETRY_MODE, no
    AWS_MAX_ATTEMPTS; only the retries' clock is shortened (`ShortClock`).
    """

    def __init__(self, monkeypatch):
        from babe_tasks import sleeping

        self.monkeypatch = monkeypatch
        self.clock = ShortClock()
        monkeypatch.setattr(sleeping, "CLOCK", self.clock)
        self.injectors: list = []
        from babe_tasks.simulation import faults

        original = faults.FaultInjector.__init__
        injectors = self.injectors

        def spying_init(injector, spec):
            original(injector, spec)
            injectors.append(injector)

        monkeypatch.setattr(faults.FaultInjector, "__init__", spying_init)

    def on(self, seed: int, spec: str = FAULTS) -> None:
        self.seed, self.spec, self.runs = seed, spec, 0
        self.monkeypatch.setenv("BABE_LOCAL_FAULTS", f"{spec},seed={seed}")
        for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
            assert name not in os.environ, f"the campaign runs with the shipped retry defaults, not {name}"

    def rerun(self) -> None:
        """A re-run meets other faults than the run before, as it would on a real network."""
        self.runs += 1
        self.monkeypatch.setenv("BABE_LOCAL_FAULTS", f"{self.spec},seed={self.seed * 1000 + self.runs}")

    def off(self) -> None:
        self.monkeypatch.delenv("BABE_LOCAL_FAULTS", raising=False)

    def counts(self) -> Counter:
        total: Counter = Counter()
        for injector in self.injectors:
            total.update(injector.counts())
        return total


@pytest.fixture
def faults(monkeypatch) -> Faults:
    return Faults(monkeypatch)


def until_done(babe, *args: str, reruns: int = 1, faults: Faults | None = None) -> list[BabeRun]:
    """Run a command, and again (at most `reruns` times) while it exits 1; every run, in order.

    Only exit 1 promises that a re-run finishes the job; any other code ends the sequence (and the
    test's assertions say whether it was expected). With `faults`, each re-run draws a new fault
    sequence (a seed of its own, still fixed).
    """
    runs = [babe(*args)]
    while runs[-1].code == 1 and len(runs) <= reruns:
        if faults is not None:
            faults.rerun()
        runs.append(babe(*args))
    return runs
