"""F1 of issue 6: the client's retry budget, on its own (the campaign in test_faults.py uses it at scale).

botocore's retry quota is 500 units for a client's whole life; `RetryBudget` is refilled by every
success. The same in-process client, the same seeded faults, the same calls: with the budget none
fails; with botocore's quota (the budget not installed) the quota runs dry and calls fail. And a
server that stops answering still empties the budget: from then on each call makes one attempt.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from babe_tasks.errors import BabeError


@pytest.fixture
def platform_for(state_path, monkeypatch):
    from botocore.retries import standard

    from babe_tasks.platform.mturk import MTurkPlatform

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "15")
    made = []

    def make(faults: str) -> MTurkPlatform:
        monkeypatch.setenv("BABE_LOCAL_FAULTS", faults)
        settings = SimpleNamespace(
            target="local", endpoint_url=None, local_state=str(state_path), max_concurrency=1, profile=None,
            max_requests_per_second=None,
        )
        made.append(MTurkPlatform(settings))
        return made[-1]

    yield make
    for platform in made:
        platform.close()


def failures(platform, calls: int) -> int:
    failed = 0
    for _ in range(calls):
        try:
            platform.balance()
        except BabeError:
            failed += 1
    return failed


SPEC = "throttle=0.3,fault=0.1,lost=0.1,seed=4"  # half the attempts fail


def test_with_the_budget_no_call_fails_under_steady_faults(platform_for):
    platform = platform_for(SPEC)
    assert failures(platform, 400) == 0
    assert platform.retry_budget is not None and platform.retry_budget.available_capacity == 500


def test_with_botocores_quota_the_same_calls_fail(platform_for, monkeypatch):
    from babe_tasks.platform import mturk

    monkeypatch.setattr(mturk, "install_retry_budget", lambda client, budget=None: None)
    platform = platform_for(SPEC)
    assert failures(platform, 400) > 50  # once the quota is dry, every fault fails its call


def test_a_dead_server_empties_the_budget_and_each_call_then_tries_once(platform_for, faults):
    from botocore.retries.standard import RetryQuotaChecker

    platform = platform_for("drop=1")
    assert failures(platform, 200) == 200
    cost = RetryQuotaChecker._RETRY_COST  # a retry's price: 5 up to botocore 1.43, 14 from 1.44
    assert platform.retry_budget.available_capacity < cost  # not one retry left
    # 500 units: 500 // cost retries in all (100 or 35), then one attempt per call (not 15).
    assert faults.counts()["drop"] == 200 + 500 // cost
