"""F1 of issue 6 and item 1 of issue 14: the client's retry settings, on their own.

botocore's retry quota is 500 units for a client's whole life; `RetryBudget` is refilled by every
success. The same in-process client with the shipped retry defaults (no AWS_* retry settings; only
the clock retries sleep on is shortened), the same seeded faults, the same calls: with the budget
none fails; with botocore's quota in its place the quota runs dry and calls fail. A server that
stops answering still empties the budget: from then on each call makes one attempt, and no further
pass is made. The defaults themselves, the back-off and the passes are checked here too.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from babe_tasks.errors import BabeError


@pytest.fixture
def platform_for(state_path, monkeypatch, faults):
    from babe_mturk.platform import MTurkPlatform

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


SPEC = "throttle=0.2,fault=0.1,drop=0.05,lost=0.1,seed=4"  # the campaign's faults: 45 % of attempts fail


def test_with_the_budget_no_call_fails_under_steady_faults(platform_for, faults):
    platform = platform_for(SPEC)
    assert failures(platform, 400) == 0
    assert faults.clock.asked > 0  # the project's back-off slept between attempts, on the clock
    assert platform.retry_budget is not None and platform.retry_budget.available_capacity == 500
    assert platform.still_answering


def test_with_botocores_quota_the_same_calls_fail(platform_for, monkeypatch):
    from botocore.retries.quota import RetryQuota

    from babe_mturk import platform as mturk

    install = mturk.install_retry_budget
    monkeypatch.setattr(mturk, "install_retry_budget", lambda client, budget=None: install(client, RetryQuota()))
    platform = platform_for(SPEC)
    # Once the quota is dry, every fault fails its call until first-attempt successes refill it by 1.
    assert failures(platform, 400) > 10


def test_a_dead_server_empties_the_budget_and_each_call_then_tries_once(platform_for, faults):
    from botocore.retries.standard import RetryQuotaChecker

    platform = platform_for("drop=1")
    assert failures(platform, 200) == 200
    assert not platform.still_answering  # no further pass over the failed items
    cost = RetryQuotaChecker._RETRY_COST  # a retry's price: 5 up to botocore 1.43, 14 from 1.44
    assert platform.retry_budget.available_capacity < cost  # not one retry left
    # 500 units: 500 // cost retries in all (100 or 35), then one attempt per call (not 8).
    assert faults.counts()["drop"] == 200 + 500 // cost


# -- the shipped defaults (issue 14) ------------------------------------------------------------------
def test_the_shipped_defaults_are_standard_mode_8_attempts_the_budget_and_the_backoff(platform_for):
    from botocore.retries.quota import RetryQuota

    from babe_mturk import retries

    platform = platform_for("")
    client = platform.client
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}
    assert isinstance(platform.retry_budget, retries.RetryBudget) and not isinstance(platform.retry_budget, RetryQuota)


def test_the_environment_and_the_profile_still_choose(monkeypatch, tmp_path):
    from babe_mturk import retries

    assert (retries.retry_mode(), retries.max_attempts()) == ("standard", 8)
    assert (retries.retry_mode({"retry_mode": "adaptive"}), retries.max_attempts({"max_attempts": "4"})) == ("adaptive", 4)
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert (retries.retry_mode({"retry_mode": "adaptive"}), retries.max_attempts({"max_attempts": "4"})) == ("legacy", 2)


def test_the_backoff_sleeps_on_the_clock_and_tells_botocore_to_sleep_no_more(faults):
    from types import SimpleNamespace

    from botocore.retries.standard import RetryContext

    from babe_mturk import retries

    backoff = retries.Backoff(rand=lambda: 1.0)  # the jitter's upper end
    throttled = RetryContext(attempt_number=3, parsed_response={"Error": {"Code": "ThrottlingException"}})
    failed = RetryContext(attempt_number=3, http_response=SimpleNamespace(status_code=503, headers={}))
    assert backoff.delay(throttled) == pytest.approx(retries.Backoff.THROTTLE_BASE * 4)
    assert backoff.delay(failed) == pytest.approx(retries.Backoff.BASE * 4)
    assert backoff.delay(RetryContext(attempt_number=30)) == retries.Backoff.CAP
    assert backoff.delay_amount(throttled) == 0
    assert faults.clock.asked == pytest.approx(retries.Backoff.THROTTLE_BASE * 4)


def test_retryable_is_what_botocore_would_retry():
    import botocore.exceptions as bx

    from babe_mturk.retries import retryable

    def client_error(code: str, status: int):
        return bx.ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "ApproveAssignment")

    assert retryable(client_error("ThrottlingException", 400))
    assert retryable(client_error("ServiceUnavailable", 503))
    assert retryable(bx.EndpointConnectionError(endpoint_url="https://x"))
    assert not retryable(client_error("RequestError", 400))
    assert not retryable(client_error("AccessDenied", 403))
    assert not retryable(ValueError("a bug"))


def test_a_further_pass_runs_only_what_failed_retryably_and_only_while_the_platform_answers(faults):
    from types import SimpleNamespace

    from babe_tasks.platform.base import OperationFailed
    from babe_tasks.steps import passes

    def transient(message):
        failed = OperationFailed(message, "ServiceUnavailable")
        failed.retryable = True
        return failed

    calls: list[str] = []
    settings = SimpleNamespace(max_concurrency=1)

    def fn(item):
        calls.append(item)
        if item == "refused":
            raise OperationFailed("refused", "RequestError")
        if item == "flaky" and calls.count("flaky") < 3:
            raise transient("flaky")
        if item == "down":
            raise transient("down")
        return item

    answering = SimpleNamespace(still_answering=True)
    outcomes = passes.in_passes(settings, answering, fn, ["ok", "refused", "flaky", "down"])
    assert [o.value for o in outcomes] == ["ok", None, "flaky", None]
    assert calls.count("ok") == 1 and calls.count("refused") == 1  # done, or not mendable: once
    assert calls.count("flaky") == 3 and calls.count("down") == passes.PASSES
    assert faults.clock.asked == pytest.approx(passes.PAUSE + 2 * passes.PAUSE)  # 0.1 s, then 0.2 s

    calls.clear()
    silent = SimpleNamespace(still_answering=False)  # the retry budget ran dry: no further pass
    passes.in_passes(settings, silent, fn, ["down"])
    assert calls == ["down"]


def test_throttles_of_a_rate_limit_back_off_longer_than_random_ones(faults):
    from botocore.retries.standard import RetryContext

    from babe_mturk import retries

    meter = retries.ThrottleMeter()
    backoff = retries.Backoff(meter, rand=lambda: 1.0)
    throttled = RetryContext(attempt_number=1, parsed_response={"Error": {"Code": "ThrottlingException"}})
    answer = ({}, {"Error": {"Code": "ThrottlingException"}})
    for i in range(200):  # a fifth of the answers throttled: noise, not a limit
        meter.observe(response=answer if i % 5 == 0 else ({}, {}))
    assert not meter.limiting and backoff.delay(throttled) == retries.Backoff.THROTTLE_BASE
    for _ in range(40):  # nearly every answer throttled: the service enforces a rate
        meter.observe(response=answer)
    assert meter.limiting and backoff.delay(throttled) == retries.Backoff.LIMITED_BASE
    meter.observe(response=None)  # a dropped connection says nothing either way
    assert meter.limiting


@pytest.mark.parametrize("value", ["abc", "0", "-3", "2.5", "1000", "9" * 5000])
def test_a_bad_attempt_count_is_one_line_exit_2(babe, experiment, monkeypatch, value):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", value)
    run = babe("status")
    assert run.code == 2, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: AWS_MAX_ATTEMPTS "), run
    assert "whole number from 1 to 100" in lines[0] and "Traceback" not in run.err


def test_no_further_pass_once_most_recent_attempts_got_no_answer(platform_for):
    """An outage that began with calls in flight: a late success refills the budget, yet nothing answers."""
    platform = platform_for("")
    platform.balance()
    assert platform.still_answering and platform.retry_budget.available_capacity == 500
    for _ in range(40):
        platform._saw_attempt(response=None)  # what botocore's needs-retry says of a dropped attempt
    assert platform.retry_budget.available_capacity == 500 and not platform.still_answering
    platform.balance()  # answers again
    for _ in range(40):
        platform._saw_attempt(response=({}, {}))
    assert platform.still_answering


def test_a_sequential_step_is_resumed_while_it_fails_retryably(faults):
    """create's posting: `repeated` runs it again (it resumes) while it fails as botocore would retry."""
    from types import SimpleNamespace

    from babe_tasks.platform.base import OperationFailed
    from babe_tasks.steps import passes

    answering = SimpleNamespace(still_answering=True)
    transient = OperationFailed("CreateHITWithHITType: Rate exceeded", "ThrottlingException")
    transient.retryable = True
    results = iter([(3, transient), (5, transient), None])
    assert passes.repeated(answering, lambda: next(results), lambda f: f and f[1]) is None  # third time posted

    raised = iter([transient, transient, transient, "unreached"])

    def always():
        value = next(raised)
        if isinstance(value, Exception):
            raise value
        return value

    with pytest.raises(OperationFailed):
        passes.repeated(answering, always)
    assert next(raised) == "unreached"  # PASSES (3) attempts in all, no more

    refused = OperationFailed("CreateHITWithHITType: bad reward", "ParameterValidationError")
    calls = []
    assert passes.repeated(answering, lambda: calls.append(1) or (0, refused), lambda f: f and f[1]) == (0, refused)
    assert calls == [1]  # a refusal is not tried again
