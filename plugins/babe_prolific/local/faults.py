"""Fault injection for the local Prolific: throttling (429), server faults (500), dropped
connections and — the one that makes a second payment — answers lost after the work was done.

The spec language and its strict parser are the local MTurk's (`babe_tasks.localturk.faults`):
`throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7`, from
`BABE_PROLIFIC_FAULTS`, `make_app(faults=...)` or `POST /_local/faults`. One random draw per API
request, so a seed fixes the whole sequence. Only `/api/v1/` is subject to faults; the private
`/_local` routes never are (a test must always be able to read the truth).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

from babe_tasks.localturk.faults import (
    PROBABILISTIC,
    AnswerLost,
    Dropped,
    FaultSpec,
    TokenBucket,
    parse,
)

from .errors import SERVER, THROTTLED, ApiError

__all__ = ["AnswerLost", "Dropped", "FaultSpec", "Injector", "from_environment", "injector", "parse"]

KINDS = (*PROBABILISTIC, "rate", "latency")
ENV = "BABE_PROLIFIC_FAULTS"

Answer = tuple[int, list[tuple[str, str]], bytes]


class Injector:
    """Decides, per API request, whether and how it fails; thread-safe and seeded."""

    def __init__(self, spec: FaultSpec | str):
        self.spec = parse(spec) if isinstance(spec, str) else spec
        self._random = random.Random(self.spec.seed)
        self._bucket = TokenBucket(self.spec.rate) if self.spec.rate else None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def decide(self) -> str | None:
        with self._lock:
            draw = self._random.random()
            if self._bucket is not None and not self._bucket.take():
                self._counts["rate"] += 1
                return "rate"
            edge = 0.0
            for kind in PROBABILISTIC:
                edge += getattr(self.spec, kind)
                if draw < edge:
                    self._counts[kind] += 1
                    return kind
            return None

    def apply(self, thunk: Callable[[], Answer], error: Callable[[ApiError], Answer]) -> Answer:
        """Answer through `thunk` or fail; raises `Dropped` (nothing done) or `AnswerLost` (done)."""
        kind = self.decide()
        if self.spec.latency_ms:
            with self._lock:
                self._counts["latency"] += 1
            time.sleep(self.spec.latency_ms / 1000.0)
        if kind in ("rate", "throttle"):
            return error(ApiError(429, "Request was throttled. Please retry with exponential back-off.", code=THROTTLED))
        if kind == "fault":
            return error(ApiError(500, "A server error occurred (injected fault).", code=SERVER))
        if kind == "drop":
            raise Dropped()
        answer = thunk()
        if kind == "lost":
            raise AnswerLost(answer[0], answer[2])
        return answer

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {kind: self._counts[kind] for kind in KINDS}

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()


def injector(spec: FaultSpec | str | Injector | None) -> Injector | None:
    """An injector from a spec (string or parsed), or None for no faults."""
    if spec is None or isinstance(spec, Injector):
        return spec
    parsed = parse(spec) if isinstance(spec, str) else spec
    return None if parsed.empty else Injector(parsed)


def from_environment() -> Injector | None:
    """The injector `BABE_PROLIFIC_FAULTS` describes, or None when unset or empty."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    try:
        return injector(spec)
    except ValueError as exc:
        raise ValueError(f"{ENV}: {exc}") from None
