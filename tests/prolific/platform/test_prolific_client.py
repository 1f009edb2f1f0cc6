"""The Prolific client, config and pricing on their own: retries, error translation, paging, secrets."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from babe_prolific import client as client_module
from babe_prolific.client import ProlificClient, ProlificError, Uncertain
from babe_prolific.config import minimum_allowed, parse
from babe_prolific.pricing import ProlificPricing

from babe_tasks.errors import PlatformError, UsageError

TOKEN = "s3cr3t-prolific-token-9f8e7d"


def make(handler, sleeps=None) -> ProlificClient:
    return ProlificClient(
        "https://api.example/api/v1/",
        TOKEN,
        token_env="PROLIFIC_TOKEN",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def error(status, detail, code=140001):
    return httpx.Response(status, json={"error": {"status": status, "error_code": code, "title": "Bad", "detail": detail}})


def test_the_token_goes_in_the_authorization_header_only():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    make(handler).get("users/me/", page=2)
    (request,) = seen
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert TOKEN not in str(request.url)


def test_pages_follow_next_href_until_null():
    def handler(request):
        page = int(request.url.params.get("page", "1"))
        following = f"https://api.example/api/v1/studies/?page={page + 1}" if page < 3 else None
        return httpx.Response(200, json={"results": [{"id": f"s{page}a"}, {"id": f"s{page}b"}], "_links": {"next": {"href": following}}})

    assert [s["id"] for s in make(handler).pages("studies/")] == ["s1a", "s1b", "s2a", "s2b", "s3a", "s3b"]


def test_429_is_retried_with_back_off_and_retry_after():
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(429), httpx.Response(200, json={"n": 1})])
    sleeps: list[float] = []
    assert make(lambda r: next(answers), sleeps).post("submissions/bonus-payments/", {}, idempotent=False) == {"n": 1}
    assert sleeps == [2.0, 0.2]


def test_a_5xx_is_retried_only_when_repeating_is_safe():
    answers = iter([httpx.Response(502), httpx.Response(200, json={"id": "x"})])
    assert make(lambda r: next(answers)).get("studies/x/") == {"id": "x"}
    with pytest.raises(Uncertain, match="answered 500; it may have been done"):
        make(lambda r: httpx.Response(500)).post("bulk-bonus-payments/b/pay/", None, idempotent=False)


def test_a_lost_answer_is_uncertain_for_a_payment_and_retried_for_a_read():
    def lost(request):
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(Uncertain, match="got no answer"):
        make(lost).post("bulk-bonus-payments/b/pay/", None, idempotent=False)
    with pytest.raises(PlatformError, match="cannot reach Prolific"):
        make(lost).get("studies/")


def test_connection_refused_is_exit_4_after_the_retries(monkeypatch):
    calls = []

    def refused(request):
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(PlatformError) as caught:
        make(refused).post("bulk-bonus-payments/b/pay/", None, idempotent=False)
    assert len(calls) == client_module.ATTEMPTS and caught.value.exit_code == 4  # never sent: safe to resend


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_names_the_variable_and_never_the_token(status):
    with pytest.raises(UsageError) as caught:
        make(lambda r: error(status, f"Invalid token {TOKEN}", 140401)).get("users/me/")
    assert "PROLIFIC_TOKEN" in str(caught.value) and caught.value.exit_code == 2
    assert TOKEN not in str(caught.value)  # even when the server echoes it


def test_prolifics_error_shapes_become_one_line():
    with pytest.raises(ProlificError) as caught:
        make(lambda r: error(400, {"reward": ["Too low."], "name": ["Required."]})).post("studies/", {}, idempotent=False)
    assert str(caught.value) == "POST /studies/: 400 Bad; reward: Too low.; name: Required."
    assert (caught.value.status, caught.value.code) == (400, "140001")
    with pytest.raises(ProlificError, match="404 Not here; gone"):
        make(lambda r: httpx.Response(404, json={"message": "Not here", "detail": "gone"})).get("studies/x/")


def test_the_config_refuses_typos_secrets_and_bad_values():
    assert parse({}).devices == ("desktop",)
    for section, words in [
        ({"estimated_minuts": 5}, "did you mean estimated_minutes?"),
        ({"api_token": "x"}, "secrets never go in invoke.yaml"),
        ({"estimated_minutes": 0}, "out of range"),
        ({"estimated_minutes": "ten"}, "whole number of minutes"),
        ({"token_env": "MY TOKEN"}, "not an environment variable name"),
        ({"completion_code": "AB CD"}, "not a completion code"),
        ({"rejection_category": "RUDE"}, "not a Prolific rejection category"),
        ({"filters": [{"selected_values": ["x"]}]}, "every filter needs a filter_id"),
    ]:
        with pytest.raises(UsageError, match=words):
            parse(section)


def test_the_estimate_from_duration_respects_prolifics_time_limit():
    config = parse({})
    for minutes in (6, 45, 60, 600):
        estimate = config.estimate(minutes * 60)
        assert minimum_allowed(estimate) <= minutes < minimum_allowed(estimate + 1)
    with pytest.raises(UsageError, match="too short for a Prolific study"):
        config.estimate(300)


def test_pricing_rounds_per_place_half_up_with_vat_on_the_fee_only():
    pricing = ProlificPricing("GBP", Decimal("33.33"), Decimal(20))
    assert pricing.symbol == "£" and pricing.single_batch and pricing.large_hit_assignments is None
    assert pricing.fee(Decimal("1.50")) == (Decimal("0.50"), Decimal("0.10"))
    assert pricing.assignment_fee(Decimal("1.50"), 500) == Decimal("0.60")  # no size surcharge
    cost = pricing.assignments_cost(Decimal("1.50"), 7, 7)
    assert (cost.rewards, cost.fees, cost.vat, cost.total) == (Decimal("10.50"), Decimal("4.20"), Decimal("0.70"), Decimal("14.70"))
    assert pricing.bonus_fee(Decimal("0.03")) == Decimal("0.01")
