"""wait: block until a condition on the experiment holds, so a Makefile or script can go on from there.

The conditions (all given ones must hold at once): `submitted` — at least N assignments have
arrived (submitted, approved or rejected); `reviewed` — no arrived work is still waiting for a
decision; `closed` — no HIT (study) takes workers any more; `until` — a time has passed on the
platform's clock. A wait changes nothing on the platform: it never approves, expires or pays.

It is `babe watch` with the acting taken out (`Waiter` subclasses `steps.watch.Watch`): the same
status refreshes, the same wake-ups — the platform's event source (`events`: MTurk's
notifications through a queue, Prolific's webhooks) — the same polling every
`interval` on the platform's clock otherwise, the same Ctrl-C handling and the same clock seam
for tests (`watch.default_sleep`). Reusing the loop keeps one definition of "waiting politely".

Not reached by `timeout` is its own exit code, `NOT_REACHED` (5): 1 means "some operations failed,
re-run to finish", which a wait that simply ran out of time is not, and 2–4 mean bad input, a veto
or an unreachable platform. A script can tell "not yet" from "broken" without parsing text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..durations import DurationError, parse_duration
from ..errors import PartialFailure, UsageError
from . import watch as watch_step

#: Exit code of a wait whose condition was not reached by its timeout (docs/cli.md, "Exit codes").
NOT_REACHED = 5
#: A wait without `--timeout` gives up after this long: an unattended make run must end some day.
DEFAULT_TIMEOUT = "24h"


class NotReached(PartialFailure):
    """The condition did not hold by the timeout (exit 5); `result` is the wait's document."""

    exit_code = NOT_REACHED


@dataclass(frozen=True)
class Condition:
    """What to wait for; every field given must hold. `until` is seconds from the start or a datetime."""

    submitted: int | None = None
    reviewed: bool = False
    closed: bool = False
    until: int | datetime | None = None

    def describe(self) -> str:
        parts = []
        if self.submitted is not None:
            parts.append(f"{self.submitted} submitted")
        if self.reviewed:
            parts.append("all reviewed")
        if self.closed:
            parts.append("all closed")
        if self.until is not None:
            parts.append("the time passed")
        return " and ".join(parts)

    def as_json(self) -> dict:
        return {"submitted": self.submitted, "reviewed": self.reviewed, "closed": self.closed}


def parse_condition(submitted: Any, reviewed: bool, closed: bool, until: Any) -> Condition:
    """The flags as a `Condition`; a wait for nothing is refused (it would return at once, silently)."""
    count = None
    if submitted is not None and str(submitted).strip() != "":
        text = str(submitted).strip()
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"--submitted {text!r} is not a positive whole number of assignments, e.g. 20")
        count = int(text)
    moment = watch_step.parse_until(until)
    condition = Condition(count, bool(reviewed), bool(closed), moment)
    if not condition.describe():
        raise UsageError("wait for what? give --submitted N, --reviewed, --closed and/or --until TIME")
    return condition


def parse_timeout(value: Any) -> int:
    text = DEFAULT_TIMEOUT if value is None or str(value).strip() == "" else str(value).strip()
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise UsageError(f"--timeout {exc}") from None
    if seconds < 1:
        raise UsageError(f"--timeout {text} is too short: write for example 30m, 6h or 2d")
    return seconds


def arrived(status: Any) -> int:
    return sum(h.submitted + h.approved + h.rejected for h in status.hits)


class Waiter(watch_step.Watch):
    """A watch that only looks: each refresh is a status, and it ends when the condition holds."""

    def __init__(self, settings, pm, *, condition: Condition, timeout: int, **options: Any):
        super().__init__(settings, pm, goal=None, until=timeout, approve=False, **options)
        self.condition = condition
        self.until_at: datetime | None = None
        self.timeout_at: datetime | None = None
        self.reached = False

    def start(self):
        first = super().start()
        until, started = self.condition.until, self.result.started_at
        self.timeout_at = self.result.deadline
        if until is not None:
            self.until_at = started + timedelta(seconds=until) if isinstance(until, int) else until
            if self.result.deadline is None or self.until_at < self.result.deadline:
                self.result.deadline = self.until_at  # wake up then, to see the time has passed
        return first

    def refresh(self, events: int, status=None) -> watch_step.Refresh:
        result = self.result
        result.status = status = status or self.status()
        result.refreshes += 1
        return watch_step.Refresh(result.refreshes, self.now(), status, result.goal, events=events)

    def finished(self, status) -> bool:
        self.reached = self.holds(status)
        if not self.reached and self.until_at is not None and self.now() >= self.until_at:
            self.result.deadline = self.timeout_at  # the time has passed; the rest may still come
        return self.reached

    def holds(self, status) -> bool:
        condition = self.condition
        if condition.submitted is not None and arrived(status) < condition.submitted:
            return False
        if condition.reviewed and status.totals["submitted"] > 0:
            return False
        if condition.closed and any(h.open for h in status.hits):
            return False
        return not (self.until_at is not None and self.now() < self.until_at)


@dataclass
class WaitResult:
    """What the wait saw last; `watch` is the underlying `WatchResult` (refreshes, times, events)."""

    reached: bool
    condition: Condition
    timeout_at: datetime | None
    watch: Any
    until_at: datetime | None = None

    def as_json(self) -> dict:
        watch = self.watch
        status = watch.status
        return {
            "reached": self.reached,
            "reason": "reached" if self.reached else watch.reason,
            "condition": {**self.condition.as_json(), "until": self.until_at},
            "arrived": arrived(status) if status is not None else 0,
            "totals": dict(status.totals) if status is not None else {},
            "refreshes": watch.refreshes,
            "started_at": watch.started_at,
            "ended_at": watch.ended_at,
            "timeout_at": self.timeout_at,
            "events": watch.as_json().get("events"),
        }


def run(
    settings,
    pm,
    *,
    condition: Condition,
    timeout: int,
    interval: int = 30,
    hit_ids: list[str] | None = None,
    events: watch_step.EventsWanted | None = None,
    sleep=None,
    on_refresh=None,
    long_poll: int | None = None,
    stop: threading.Event | None = None,
) -> WaitResult:
    """Wait until `condition` holds; raises `NotReached` (exit 5) at `timeout` seconds, and
    `PartialFailure` (exit 1) when interrupted — both carrying the wait's document."""
    stop = stop or threading.Event()
    waiter = Waiter(
        settings,
        pm,
        condition=condition,
        timeout=timeout,
        interval=interval,
        hit_ids=hit_ids,
        sleep=sleep,
        on_refresh=on_refresh,
        long_poll=watch_step.LONG_POLL if long_poll is None else long_poll,
        stop=stop,
        events=events,
    )

    def notice() -> None:
        from .. import output

        output.warn("stopping (Ctrl-C again stops at once)")

    with watch_step.interruptible(stop, notice):
        watch = waiter.run()
    started = watch.started_at
    timeout_at = started + timedelta(seconds=timeout) if started is not None else None
    result = WaitResult(waiter.reached, condition, timeout_at, watch, waiter.until_at)
    if watch.reason == "interrupted":
        raise PartialFailure("interrupted: nothing was changed; run babe wait again to go on waiting", result.as_json())
    if not waiter.reached:
        raise NotReached(
            f"not reached by the timeout ({condition.describe()}; {result.as_json()['arrived']} arrived): "
            "run babe wait again, with a longer --timeout, or see babe status",
            result.as_json(),
        )
    return result


__all__ = ["DEFAULT_TIMEOUT", "NOT_REACHED", "Condition", "NotReached", "WaitResult", "Waiter", "parse_condition", "parse_timeout", "run"]
