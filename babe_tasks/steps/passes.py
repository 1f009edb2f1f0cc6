"""Further passes within one run over the items a step's first pass could not finish.

botocore retries each call a bounded number of times, back to back. Under a high fault rate a few
calls of a bulk step still run out of attempts; before, each such call failed the run, and the lab
had to run the step again — which does exactly what another pass does: the same idempotent calls
(tokens, "already approved") for the items not finished. Here the step does it itself: after its
first pass, the items that failed with an error botocore would have retried (throttled, 5xx,
connection lost: `OperationFailed.retryable`) are run again after a pause, up to `PASSES` passes in
all, each call again through botocore's retry handler with its full attempts. No further pass is
made once the platform has stopped answering (its retry budget ran dry, or most recent attempts
got no answer at all: a dead service would only get doomed attempts), nor for failures a retry
cannot mend (refusals, bad state).
Pauses are slept on `babe_tasks.sleeping.CLOCK`, the clock every retry sleeps on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .. import sleeping
from ..platform.base import OperationFailed
from . import Outcome, concurrently

T = TypeVar("T")
R = TypeVar("R")

#: Passes over a step's items in one run: the first, and at most two more for what failed.
PASSES = 3
#: Seconds before the second pass; each later pass waits twice as long as the one before.
PAUSE = 0.1


def worth_another(error: BaseException | None, platform: Any) -> bool:
    """Whether an item that failed with `error` should be tried again in this run."""
    if not (isinstance(error, OperationFailed) and getattr(error, "retryable", False)):
        return False
    return bool(getattr(platform, "still_answering", True))


def pause(passed: int) -> None:
    """Sleep before pass `passed + 1` (1-based `passed`: the passes made so far)."""
    sleeping.CLOCK.sleep(PAUSE * 2 ** (passed - 1))


def in_passes(
    settings,
    platform: Any,
    fn: Callable[[T], R],
    items: list[T],
    *,
    advance: Callable[[], None] | None = None,
) -> list[Outcome]:
    """`concurrently(settings, fn, items)`, then again for the items that failed retryably.

    Outcomes come back in the order of `items`, each the last pass's for its item; `advance` moves
    once per item, in the first pass.
    """
    outcomes = concurrently(settings, fn, items, advance=advance)
    for passed in range(1, PASSES):
        again = [i for i, outcome in enumerate(outcomes) if worth_another(outcome.error, platform)]
        if not again:
            break
        pause(passed)
        for i, outcome in zip(again, concurrently(settings, fn, [outcomes[i].item for i in again])):
            outcomes[i] = outcome
    return outcomes


def repeated(platform: Any, attempt: Callable[[], R], failed: Callable[[R], BaseException | None] = lambda _: None) -> R:
    """Run a sequential step's `attempt` again while it fails retryably, up to `PASSES` times in all.

    `attempt` resumes where the one before stopped (create posts only the HITs still missing). It
    fails by raising, or by returning a value that `failed` maps to the error; the last attempt's
    outcome is the step's.
    """
    for passed in range(1, PASSES + 1):
        try:
            value = attempt()
        except OperationFailed as exc:
            if passed == PASSES or not worth_another(exc, platform):
                raise
        else:
            if passed == PASSES or not worth_another(failed(value), platform):
                return value
        pause(passed)
    raise AssertionError("unreachable: the last pass returns or raises")
