"""Fault injection: the failures a real platform and a real network produce, on demand and seeded.

A lab's tooling is only trustworthy if it survives throttling, server faults, dropped connections
and — the dangerous one — a request that was carried out but whose answer never arrived (a retry
of a create or a bonus must not pay twice). Every local stand-in draws, counts and fails requests
with the one injector here; what is a platform's own is a subclass's: which requests meet faults
(`target_prefix`: e.g. the local MTurk's X-Amz-Target, the local Prolific's URL path), how an
injected refusal is answered (`refusal`) and the environment variable a spec may come from (`ENV`)
— each in its platform plugin's `local.faults` module. A stand-in's HTTP server closes the
socket without answering on a drop or a lost answer; its in-process transport raises what its
client's HTTP layer would. The private `/_local` routes never meet faults.

Spec strings (e.g. `BABE_LOCAL_FAULTS`, `babe local.serve --faults`, `POST /_local/faults`):
`throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7`.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Self

#: The kinds a request can be hit by, drawn with one random number per request (so a seed fixes
#: the whole sequence). Their probabilities add up to at most 1.
PROBABILISTIC = ("throttle", "fault", "drop", "lost")
#: Every counter an injector keeps: the drawn kinds, the rate limiter, and delayed answers.
KINDS = (*PROBABILISTIC, "rate", "latency")

#: An answer: a tuple whose first item is the HTTP status and whose last is the body (e.g. the
#: local MTurk's (status, body), the local Prolific's (status, headers, body)).
Answer = tuple


@dataclass(frozen=True)
class FaultSpec:
    """What to inject; the parsed form of a spec string."""

    throttle: float = 0.0
    fault: float = 0.0
    drop: float = 0.0
    lost: float = 0.0
    latency_ms: float = 0.0
    rate: float | None = None
    seed: int | None = None

    def __str__(self) -> str:
        parts = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or (field.name != "seed" and value == 0):
                continue
            parts.append(f"{field.name}={_number(value)}")
        return ",".join(parts)

    @property
    def empty(self) -> bool:
        return not str(self)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _parse_float(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"fault spec: {key}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"fault spec: {key}={text!r} is not a finite number")
    return value


def parse(spec: str) -> FaultSpec:
    """Parse a spec string strictly: an unknown key or a bad value is a one-line ValueError."""
    values: dict[str, float | int] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not text:
            raise ValueError(f"fault spec: {item!r} is not key=value")
        if key in values:
            raise ValueError(f"fault spec: {key} is given twice")
        if key in PROBABILISTIC:
            value = _parse_float(key, text)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault spec: {key}={text} is not a probability between 0 and 1")
            values[key] = value
        elif key == "latency_ms":
            value = _parse_float(key, text)
            if value < 0:
                raise ValueError(f"fault spec: latency_ms={text} must be 0 or more")
            values[key] = value
        elif key == "rate":
            value = _parse_float(key, text)
            if value <= 0:
                raise ValueError(f"fault spec: rate={text} must be more than 0 requests per second")
            values[key] = value
        elif key == "seed":
            try:
                values[key] = int(text)
            except ValueError:
                raise ValueError(f"fault spec: seed={text!r} is not an integer") from None
        else:
            known = ", ".join([*PROBABILISTIC, "latency_ms", "rate", "seed"])
            raise ValueError(f"fault spec: unknown key {key!r} (known: {known})")
    total = sum(float(values.get(key, 0.0)) for key in PROBABILISTIC)
    if total > 1.0 + 1e-9:
        raise ValueError(f"fault spec: throttle+fault+drop+lost add up to {total:g}, more than 1")
    return FaultSpec(**values)  # type: ignore[arg-type]


class Dropped(Exception):
    """The connection is dropped before the request is processed."""


class AnswerLost(Exception):
    """The request was carried out, then the connection dropped before the answer was sent."""

    def __init__(self, status: int, body: bytes):
        super().__init__("the answer was lost")
        self.status = status
        self.body = body


class TokenBucket:
    """A request-rate limit like the real service's: `rate` per second, bursts up to `rate`."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class FaultInjector(ABC):
    """Decides, per request, whether and how it fails; thread-safe and seeded.

    A local service subclasses it (see the module's docstring): `target_prefix` and `ENV` as class
    attributes, `refusal` as a method.
    """

    #: Only requests whose target starts with this meet faults (never the private routes).
    target_prefix: str
    #: The environment variable `from_environment` reads.
    ENV: str

    def __init__(self, spec: FaultSpec | str):
        self.spec = parse(spec) if isinstance(spec, str) else spec
        self._random = random.Random(self.spec.seed)
        self._bucket = TokenBucket(self.spec.rate) if self.spec.rate else None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.spec)!r})"

    def decide(self, target: str) -> str | None:
        """The fault for the next request to `target` (a kind from `KINDS` but "latency"), or None.

        One random draw per request subject to faults, whatever the outcome, so a seed fixes the
        sequence.
        """
        if not target.startswith(self.target_prefix):
            return None
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

    def apply(self, target: str, thunk: Callable[[], Answer]) -> Answer:
        """Answer one request through `thunk`, or fail it; raises `Dropped` / `AnswerLost`."""
        if not target.startswith(self.target_prefix):
            return thunk()
        kind = self.decide(target)
        if self.spec.latency_ms:
            with self._lock:
                self._counts["latency"] += 1
            time.sleep(self.spec.latency_ms / 1000.0)
        if kind in ("rate", "throttle"):
            return self.refusal("throttle")
        if kind == "fault":
            return self.refusal("fault")
        if kind == "drop":
            raise Dropped()
        answer = thunk()
        if kind == "lost":
            raise AnswerLost(answer[0], answer[-1])
        return answer

    @abstractmethod
    def refusal(self, kind: str) -> Answer:
        """The service's answer to a request refused by an injected "throttle" or "fault"."""

    def counts(self) -> dict[str, int]:
        """Injected faults by kind (every kind present, zeros included)."""
        with self._lock:
            return {kind: self._counts[kind] for kind in KINDS}

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    @classmethod
    def of(cls, spec: FaultSpec | str | Self | None) -> Self | None:
        """An injector from whatever a caller holds; None (or an empty spec) means no faults."""
        if spec is None or isinstance(spec, cls):
            return spec
        if isinstance(spec, FaultInjector):
            raise TypeError(f"a {type(spec).__name__} injects another service's faults, not {cls.__name__}'s")
        parsed = parse(spec) if isinstance(spec, str) else spec
        return None if parsed.empty else cls(parsed)

    @classmethod
    def from_environment(cls) -> Self | None:
        """The injector described by `cls.ENV`, or None when it is unset or empty."""
        spec = os.environ.get(cls.ENV, "").strip()
        if not spec:
            return None
        try:
            return cls.of(spec)
        except ValueError as exc:
            raise ValueError(f"{cls.ENV}: {exc}") from None

