"""Fixtures for automation: the clock seam of `babe watch` (so `babe wait` sleeps on the platform's
clock, moved by the test), simulated workers, and an experiment with HITs on the local MTurk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Clock:
    """The wait between refreshes, replaced: the planned action runs, then `advance(seconds)`."""

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
