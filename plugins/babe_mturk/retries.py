"""How Mechanical Turk calls are retried: botocore's standard retry handler, with the project's defaults.

The defaults are chosen so that one run of a bulk step finishes under the reliability campaign's
faults (throttling 20 %, server faults 10 %, dropped connections 5 %, lost answers 10 %: 45 % of
all attempts fail) with nothing set in the environment (docs/reliability.md, issue 14):

- botocore's `standard` mode, not `adaptive`: adaptive's client-side limiter cuts the send rate
  by 30 % at every throttle and regrows it over seconds, so a service that throttles a fifth of
  the requests at random (not from a rate) holds it at its floor of 0.5 requests a second — 400
  calls took 195 s. A lab that knows its rate sets `max_requests_per_second` (a fixed ceiling) or
  chooses `AWS_RETRY_MODE=adaptive`.
- `DEFAULT_ATTEMPTS` attempts a call (botocore's default is 3: 0.45³ = 9 % of calls fail under
  the campaign's faults; 8 make that 0.17 %), unless `AWS_MAX_ATTEMPTS` or the profile's
  `max_attempts` says otherwise.
- `Backoff`: botocore's jittered exponential back-off, from a base of `BASE` seconds for errors
  and `THROTTLE_BASE` for throttling instead of botocore's 1 s, capped at `CAP`. botocore's own
  next policy (its `AWS_NEW_RETRIES_2026` switch) already shortens the base for errors to 0.05 s;
  with whole seconds a 45 % fault rate made the retries' sleeping, not the work, the run's length
  (approve of 1,000 over 15 minutes with 12 attempts). Throttles that are a rate limit (most
  recent attempts throttled, `ThrottleMeter`) get `LIMITED_BASE`: without it, approve of 1,000
  against a server limited to 20 requests a second failed 29 approvals after three passes.
- `RetryBudget`: botocore's retry quota refilled by every success (finding F1).
- The items a step's first pass could not finish get further passes within the run
  (`steps.passes`): calls through the same handler, after a pause.

Every retry's sleep goes through `babe_tasks.sleeping.CLOCK`: a test shortens the sleeping by replacing it, never the
attempts, the budget or the back-off's decisions.
"""

from __future__ import annotations

import os
import random
import threading
from types import SimpleNamespace
from typing import Any

from babe_tasks import sleeping

#: botocore's retry mode when neither AWS_RETRY_MODE nor the profile names one.
DEFAULT_MODE = "standard"
#: Attempts per call (the first and its retries) when neither AWS_MAX_ATTEMPTS nor the profile sets them.
DEFAULT_ATTEMPTS = 8
#: The most attempts a setting may ask for: beyond it a dead service would hold each call for minutes.
MOST_ATTEMPTS = 100


def retry_mode(scoped: dict | None = None) -> str:
    """AWS_RETRY_MODE, else the profile's `retry_mode`, else `DEFAULT_MODE`."""
    return os.environ.get("AWS_RETRY_MODE") or (scoped or {}).get("retry_mode") or DEFAULT_MODE


def max_attempts(scoped: dict | None = None) -> int:
    """AWS_MAX_ATTEMPTS, else the profile's `max_attempts`, else `DEFAULT_ATTEMPTS`.

    A value that is not a whole number from 1 to `MOST_ATTEMPTS` is refused in one line: botocore
    would only raise a bare ValueError when it builds the client.
    """
    from babe_tasks.errors import UsageError

    env = os.environ.get("AWS_MAX_ATTEMPTS")
    text = env or (scoped or {}).get("max_attempts")
    if not text:
        return DEFAULT_ATTEMPTS
    text = str(text).strip()
    if not (text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MOST_ATTEMPTS):
        where = "AWS_MAX_ATTEMPTS" if env else "the AWS profile's max_attempts"
        raise UsageError(
            f"{where} {text[:20]!r} is not a number of attempts: use a whole number from 1 to {MOST_ATTEMPTS}, "
            f"or unset it for the default ({DEFAULT_ATTEMPTS})"
        )
    return int(text)


def _throttled(context) -> bool:
    from botocore.retries import standard

    return standard.ThrottledRetryableChecker().is_retryable(context)


class ThrottleMeter:
    """The share of a client's recent attempts that were throttled: random noise, or a rate limit?

    A service that throttles a steady fifth of all requests whatever the rate (the campaign's
    faults) is not asking anyone to slow down, and long sleeps only stretch the run; a service
    that throttles most requests is enforcing a rate, and only slowing down helps. The meter is an
    exponentially weighted share over about the last `1 / WEIGHT` attempts of every thread, fed by
    botocore's `needs-retry` event (it fires after every attempt).
    """

    WEIGHT = 0.05
    #: Above this share the service is taken to be enforcing a rate limit.
    LIMITING = 0.5

    def __init__(self):
        self.share = 0.0
        self._lock = threading.Lock()

    def observe(self, response=None, **_: Any) -> None:
        if response is None:
            return None  # no answer: a dropped connection says nothing about throttling
        error = (response[1] or {}).get("Error", {}) if isinstance(response, tuple) else {}
        throttled = 1.0 if _throttled_code(error.get("Code")) else 0.0
        with self._lock:
            self.share += self.WEIGHT * (throttled - self.share)
        return None  # the retry decision is botocore's

    @property
    def limiting(self) -> bool:
        return self.share > self.LIMITING


def _throttled_code(code: str | None) -> bool:
    from botocore.retries import standard

    # botocore's own list of throttling codes (a class attribute since its standard mode exists).
    return bool(code) and code in standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES


def _throttled(context) -> bool:
    from botocore.retries import standard

    return standard.ThrottledRetryableChecker().is_retryable(context)


class Backoff:
    """botocore's truncated binary exponential back-off with full jitter, on bases chosen per cause.

    The n-th retry waits `random() × min(base × 2ⁿ⁻¹, CAP)` seconds on `CLOCK`. The base is `BASE`
    after an error or a dropped connection (botocore's own next policy uses 0.05 s there), and
    after a throttle `THROTTLE_BASE` — unless most recent attempts were throttled (`ThrottleMeter`):
    then the service is enforcing a rate and botocore's base for throttling, `LIMITED_BASE` (1 s),
    spreads the threads' retries out until it stops. The wait happens here, on the project's clock,
    and botocore is told to wait 0 more seconds (its own sleep is `time.sleep` inside the
    endpoint, out of reach of any clock).
    """

    BASE = 0.005
    THROTTLE_BASE = 0.01
    LIMITED_BASE = 0.25
    CAP = 4.0

    def __init__(self, meter: ThrottleMeter | None = None, rand=random.random):
        self.meter = meter or ThrottleMeter()
        self._random = rand

    def delay(self, context) -> float:
        if _throttled(context):
            base = self.LIMITED_BASE if self.meter.limiting else self.THROTTLE_BASE
        else:
            base = self.BASE
        return self._random() * min(base * 2 ** (context.attempt_number - 1), self.CAP)

    def delay_amount(self, context) -> float:
        sleeping.CLOCK.sleep(self.delay(context))
        return 0


class RetryBudget:
    """botocore's retry quota, refilled by every successful answer instead of one unit at a time.

    botocore's standard and adaptive modes give each client a quota of 500 units: a retry costs 5
    (10 after a timeout), a call that succeeds at its first attempt gives back 1, one that succeeds
    after retries gives back what its last retry cost. That spares a failing service a storm of
    retries, but it is a budget for the client's whole life: a bulk step's thousands of calls to a
    service that throttles or drops a fraction of them drain it (about 100 faulted calls at the
    reliability campaign's rates), and from then on every fault fails its call at the first attempt
    — an `approve` of 1,000 needed 3 to 5 runs (finding F1 in docs/reliability.md).

    Here the units count the retries made *since the last success*: any 2xx answer refills the
    budget. A platform that keeps answering gives every call its full `max_attempts`; one that
    stops answering empties the budget after about 100 retries without a success (as botocore's
    quota does for a fresh client), and every call fails at its first attempt from then on, so a
    dead server still ends the run quickly — and no further pass is made (`dry`). The interface
    is botocore's `RetryQuota`'s.
    """

    CAPACITY = 500

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._available = capacity
        self._lock = threading.Lock()

    def acquire(self, capacity_amount: int) -> bool:
        with self._lock:
            if capacity_amount > self._available:
                return False
            self._available -= capacity_amount
            return True

    def release(self, capacity_amount: int) -> None:
        # botocore passes what to give back; any success gives back everything, whatever it was.
        with self._lock:
            self._available = self.capacity

    @property
    def available_capacity(self) -> int:
        return self._available

    @property
    def dry(self) -> bool:
        """No retry is affordable: nothing has succeeded for about 100 retries (a dead service)."""
        from botocore.retries.standard import RetryQuotaChecker

        return self._available < getattr(RetryQuotaChecker, "_RETRY_COST", 5)


def install_retry_budget(client, budget: Any = None) -> RetryBudget | None:
    """Give a client in standard or adaptive retry mode a `RetryBudget` and the project's `Backoff`.

    botocore has no setting for its quota or its back-off, so its standard retry handler is
    registered again by botocore's own `register_retry_handler` (the same conditions, throttling
    detection, costs and `max_attempts` as the client's configuration) under the unique id botocore
    uses; its quota checker is handed the budget (or `budget`, any object with `RetryQuota`'s
    interface) and its policy the back-off. Retry costs differ between botocore versions (5 a retry
    up to 1.43, 14 from 1.44, throttling 5): the budget counts whatever they are. The adaptive rate
    limiter is a separate handler and stays as it is. Legacy mode has no quota: the client is left
    alone and None returned.
    """
    from botocore.retries import standard

    retries = client.meta.config.retries or {}
    if retries.get("mode") not in ("standard", "adaptive"):
        return None
    budget = budget if budget is not None else RetryBudget()
    service = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    events.unregister(f"needs-retry.{service}", unique_id=f"retry-config-{service}")
    handler = standard.register_retry_handler(
        client, max_attempts=retries.get("total_max_attempts") or standard.DEFAULT_MAX_ATTEMPTS
    )
    # The checker's quota (`_quota`, a `quota.RetryQuota`) and the policy's back-off are the two
    # attributes botocore gives no way to set; every botocore from the lower bound on keeps them
    # there (tests/reliability/test_retry_budget.py).
    handler._retry_quota._quota = budget
    meter = ThrottleMeter()
    events.register_first(f"needs-retry.{service}", meter.observe)
    handler._retry_policy._retry_backoff = Backoff(meter)
    return budget


def retryable(exc: BaseException | None) -> bool:
    """Whether botocore itself would retry this final failure (throttled, 5xx, connection lost).

    Decided by botocore's own transient and throttling checkers, so a further pass retries exactly
    what the retry handler would have retried with more attempts.
    """
    import botocore.exceptions as bx
    from botocore.retries import standard

    if isinstance(exc, bx.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        context = standard.RetryContext(
            attempt_number=1, parsed_response=exc.response, http_response=SimpleNamespace(status_code=status, headers={})
        )
    elif isinstance(exc, Exception):
        context = standard.RetryContext(attempt_number=1, caught_exception=exc)
    else:
        return False
    checkers = (standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker())
    return any(checker.is_retryable(context) for checker in checkers)
