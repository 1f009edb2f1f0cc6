"""Fixtures of the reliability campaign: an experiment folder, the real `babe` in-process, faults."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from .helpers import FAULTS, Run, make_experiment


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """An experiment folder `exp1` (the working directory) whose invoke.yaml names the page and texts."""
    folder = make_experiment(tmp_path)
    monkeypatch.chdir(folder)
    return folder


#: AWS_MAX_ATTEMPTS of the fault campaign (see `Faults.on`); `RELIABILITY_ATTEMPTS=8` to compare.
ATTEMPTS = int(os.environ.get("RELIABILITY_ATTEMPTS") or 12)


class Faults:
    """Switches the campaign's faults on for the in-process target and counts what they did."""

    def __init__(self, monkeypatch):
        from botocore.retries import standard

        self.monkeypatch = monkeypatch
        # botocore still decides every retry (and spends its retry quota); only its exponential
        # back-off sleep is removed, so a campaign of thousands of faults runs in seconds.
        monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
        self.injectors: list = []
        from babe_tasks.localturk import faults

        original = faults.FaultInjector.__init__
        injectors = self.injectors

        def spying_init(injector, spec):
            original(injector, spec)
            injectors.append(injector)

        monkeypatch.setattr(faults.FaultInjector, "__init__", spying_init)

    def on(self, seed: int, spec: str = FAULTS) -> None:
        self.seed, self.spec, self.runs = seed, spec, 0
        # Correctness, not speed, is on trial: standard retries (no adaptive sleeping after
        # throttles). A call fails only if all its attempts meet a fault (0.45 each): 12 attempts
        # make that 7e-5 a call, so approve's ~2,000 calls over 1,000 assignments need at most one
        # re-run (measured: 24 of 24 seeds; with 8 attempts, 1.7e-3 a call, 4 of 20 seeds needed
        # two). The client's retry budget (platform/mturk.py) lets every call use all 12.
        self.monkeypatch.setenv("BABE_LOCAL_FAULTS", f"{spec},seed={seed}")
        self.monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        self.monkeypatch.setenv("AWS_MAX_ATTEMPTS", str(ATTEMPTS))

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


def until_done(babe, *args: str, reruns: int = 1, faults: Faults | None = None) -> list[Run]:
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
