"""Waiting, briefly, for Prolific's asynchronous work to settle — through one injectable sleep.

Prolific answers before it has done some of its work: a study answered PUBLISHING becomes ACTIVE
later, a bulk approval leaves its submissions AWAITING REVIEW until processed, a bonus pay
answered 202 is paid later. The adapter looks again a few times, for at most `BOUND` seconds of
sleeping in all, then leaves what has not settled as pending work that a later `status`, `approve`
or `bonus` finishes (never a failure, never sent twice). The bound counts the sleeps asked for,
not the wall clock, so a test that replaces `Settling.sleep` (e.g. with one that advances the
local Prolific's clock) changes how long a wait takes, never how many times the adapter looks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds of sleeping, in all, one wait may take (the local Prolific settles in 3 by default).
BOUND = 5.0
#: The first pause; each next one doubles, up to `LONGEST`.
FIRST = 0.25
LONGEST = 2.0


class Settling:
    """Looks again until a check holds or `bound` seconds of pauses have passed."""

    #: How a pause is taken (replaceable in tests: `monkeypatch.setattr(Settling, "sleep", ...)`).
    sleep = staticmethod(time.sleep)

    def __init__(self, bound: float = BOUND):
        self.bound = bound

    def until(self, check: Callable[[], bool]) -> bool:
        """Whether `check()` came true within the bound (checked first without waiting)."""
        waited, pause = 0.0, FIRST
        while True:
            if check():
                return True
            if waited >= self.bound:
                return False
            step = min(pause, self.bound - waited)
            self.sleep(step)
            waited += step
            pause = min(pause * 2, LONGEST)
