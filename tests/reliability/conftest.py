"""Fixtures of the reliability campaign: an experiment folder, the real `babe` in-process, faults."""

from __future__ import annotations

from collections import Counter

import pytest

from .helpers import FAULTS, Run, make_experiment


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """An experiment folder `exp1` (the working directory) whose invoke.yaml names the page and texts."""
    folder = make_experiment(tmp_path)
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def babe(capsys, monkeypatch):
    """Run the real `babe` program in-process: `babe("approve", "--json")` → Run."""
    from babe_tasks.program import BabeProgram

    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = BabeProgram().run(["babe", *args], exit=False)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


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
        # throttles) with enough attempts that a run usually finishes in one go.
        self.monkeypatch.setenv("BABE_LOCAL_FAULTS", f"{spec},seed={seed}")
        self.monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        self.monkeypatch.setenv("AWS_MAX_ATTEMPTS", "8")

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
    """Run a command, and again (at most `reruns` times) while it exits 1 (or 4); every run, in order.

    With `faults`, each re-run draws a new fault sequence (a seed of its own, still fixed).
    """
    runs = [babe(*args)]
    # Exit 4 too: a call whose connection dropped on every attempt says "cannot reach the endpoint"
    # even in the middle of a run (finding F6 in docs/reliability.md).
    while runs[-1].code in (1, 4) and len(runs) <= reruns:
        if faults is not None:
            faults.rerun()
        runs.append(babe(*args))
    return runs
