"""Where retries and the passes after them sleep: one clock, so a test shortens the sleeping by
replacing `CLOCK` and never the attempts, budgets or back-off decisions a user would have."""

from __future__ import annotations

import time


class Clock:
    """Where retries sleep: the back-off between attempts and the pause between passes."""

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


#: The clock every retry sleeps on; tests replace it to shorten the sleeping (never the attempts).
CLOCK = Clock()
