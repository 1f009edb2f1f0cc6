"""max_requests_per_second: a hard ceiling on every request of a step, counted on a clock the test moves."""

from __future__ import annotations

import threading
import time

import pytest

from babe_mturk.platform import RequestCeiling

from .conftest import post, work


class FrozenClock:
    """botocore's clock interface, standing still until the test moves it."""

    def __init__(self):
        self.now = 1000.0

    def current_time(self) -> float:
        return self.now


def wait_for(predicate, timeout: float = 10.0) -> None:
    """Synchronisation only (threads run when the scheduler lets them), never a measurement."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the requests to pass"
        time.sleep(0.01)


def test_no_more_requests_pass_than_the_clock_allows():
    clock = FrozenClock()
    ceiling = RequestCeiling(5, clock=clock)
    passed = []

    def requests() -> None:
        for _ in range(12):
            ceiling.before_send()
            passed.append(clock.now)

    thread = threading.Thread(target=requests, daemon=True)
    thread.start()
    # With the clock standing still no token ever appears: the count is exact, whatever the load.
    time.sleep(0.3)
    assert passed == []
    for second, expected in ((1, 5), (2, 10), (3, 12)):
        clock.now += 1.0
        wait_for(lambda expected=expected: len(passed) >= expected)
        time.sleep(0.3)
        assert len(passed) == expected
    thread.join(timeout=10)
    assert not thread.is_alive()
    # Never more than the rate within one second of the clock.
    per_second = {t: passed.count(t) for t in set(passed)}
    assert max(per_second.values()) <= 5


def test_a_ceiling_below_botocores_minimum_rate_is_kept():
    clock = FrozenClock()
    ceiling = RequestCeiling(0.25, clock=clock)
    assert ceiling.bucket.max_rate == 0.25


def test_every_request_of_a_step_goes_through_the_ceiling(babe, server, calls, monkeypatch):
    post(babe, 40)
    work(server, 10)
    seen = []
    original = RequestCeiling.before_send

    def counting(self, **kwargs):
        seen.append(self.rate)
        return original(self, **kwargs)

    monkeypatch.setattr(RequestCeiling, "before_send", counting)
    monkeypatch.setenv("BABE_MAX_REQUESTS_PER_SECOND", "5000")
    calls.reset()
    run = babe("status", "--json")
    assert run.code == 0, run
    served = calls()
    assert served["GetHIT"] == 5
    assert len(seen) == sum(served.values())  # each request once: no retry was needed
    assert set(seen) == {5000.0}


def test_without_the_setting_there_is_no_ceiling(babe, server, monkeypatch):
    post(babe, 9)
    created = []
    monkeypatch.setattr(RequestCeiling, "install", lambda self, client: created.append(self))
    assert babe("status").code == 0
    assert created == []


@pytest.mark.parametrize("value", ["0", "-3", "fast", "1e9"])
def test_a_bad_ceiling_is_one_clear_line_and_exit_2(babe, monkeypatch, value):
    monkeypatch.setenv("BABE_MAX_REQUESTS_PER_SECOND", value)
    run = babe("status")
    assert run.code == 2, run
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "max_requests_per_second" in lines[0] and "BABE_MAX_REQUESTS_PER_SECOND" in lines[0], run
    assert "Traceback" not in run.err
