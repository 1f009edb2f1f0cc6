"""Fault injection for the local MTurk: throttling, server faults, dropped connections and answers
lost after the work was done — the injector every local stand-in shares
(`babe_tasks.simulation.faults`), with what is MTurk's own.

That is: only requester API calls meet faults (their X-Amz-Target names the requester service; the
private `/_local` routes never do), an injected refusal is MTurk's own error document (HTTP 400
`ThrottlingException`, HTTP 500 `ServiceFault`), the spec may come from `BABE_LOCAL_FAULTS`, and
the in-process transport raises what botocore's HTTP layer raises for a drop or a lost answer.
"""

from __future__ import annotations

from collections.abc import Callable

from babe_tasks.simulation.faults import (
    KINDS,
    Answer,
    AnswerLost,
    Dropped,
    FaultInjector,
    FaultSpec,
    TokenBucket,
    parse,
)

__all__ = [
    "ENV", "KINDS", "REQUESTER_TARGET_PREFIX", "AnswerLost", "Dropped", "FaultSpec", "Injector", "TokenBucket",
    "from_environment", "injector", "parse",
]

#: The X-Amz-Target prefix of every requester API call.
REQUESTER_TARGET_PREFIX = "MTurkRequesterServiceV20170117."
ENV = "BABE_LOCAL_FAULTS"


class Injector(FaultInjector):
    """Decides, per requester call (by its X-Amz-Target), whether and how it fails; thread-safe and seeded."""

    target_prefix = REQUESTER_TARGET_PREFIX
    ENV = ENV

    def refusal(self, kind: str) -> Answer:
        from .errors import ServiceFault, Throttled
        from .inprocess import encode_answer

        error = Throttled() if kind == "throttle" else ServiceFault()
        return error.status, encode_answer(error.body())

    def run(self, target: str, thunk: Callable[[], Answer], url: str) -> Answer:
        """The in-process variant: a drop or a lost answer raises what botocore's HTTP layer would.

        botocore retries both (`ConnectionClosedError`, `ReadTimeoutError`), which is the point:
        after a lost answer the retry finds the operation already done.
        """
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        try:
            return self.apply(target, thunk)
        except Dropped:
            raise ConnectionClosedError(endpoint_url=url) from None
        except AnswerLost:
            raise ReadTimeoutError(endpoint_url=url) from None


def injector(spec: FaultSpec | str | Injector | None) -> Injector | None:
    """An injector from whatever a caller holds; None (or an empty spec) means no faults."""
    return Injector.of(spec)


def from_environment() -> Injector | None:
    """The injector `BABE_LOCAL_FAULTS` describes, or None when it is unset or empty."""
    return Injector.from_environment()
