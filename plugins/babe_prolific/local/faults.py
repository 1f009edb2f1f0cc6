"""Fault injection for the local Prolific: throttling (429), server faults (500), dropped
connections and — the one that makes a second payment — answers lost after the work was done.

The spec language, its strict parser and the seeded injector are the local MTurk's
(`babe_tasks.simulation.faults`): `throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7`,
from `BABE_PROLIFIC_FAULTS`, `make_app(faults=...)` or `POST /_local/faults`. One random draw per API
request, so a seed fixes the whole sequence. Only `/api/v1/` is subject to faults; the private
`/_local` routes never are (a test must always be able to read the truth). What is Prolific's
here: which paths meet faults and how an injected refusal is answered (Prolific's error body).
"""

from __future__ import annotations

from babe_tasks.simulation.faults import (
    KINDS,
    AnswerLost,
    Dropped,
    FaultInjector,
    FaultSpec,
    parse,
)

from .errors import SERVER, THROTTLED, ApiError

__all__ = ["KINDS", "AnswerLost", "Dropped", "FaultSpec", "Injector", "from_environment", "injector", "parse"]

ENV = "BABE_PROLIFIC_FAULTS"
API_PREFIX = "/api/v1/"


class Injector(FaultInjector):
    """Decides, per API request (by its URL path), whether and how it fails; thread-safe and seeded."""

    target_prefix = API_PREFIX
    ENV = ENV

    def refusal(self, kind: str) -> tuple[int, list[tuple[str, str]], bytes]:
        from .app import encode_error

        if kind == "throttle":
            return encode_error(ApiError(429, "Request was throttled. Please retry with exponential back-off.", code=THROTTLED))
        return encode_error(ApiError(500, "A server error occurred (injected fault).", code=SERVER))


def injector(spec: FaultSpec | str | Injector | None) -> Injector | None:
    """An injector from a spec (string or parsed), or None for no faults."""
    return Injector.of(spec)


def from_environment() -> Injector | None:
    """The injector `BABE_PROLIFIC_FAULTS` describes, or None when unset or empty."""
    return Injector.from_environment()
