"""Money on the local Prolific: exact to the minor unit through publish, stop, rejection, more places,
the cost endpoints and the balance endpoints."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from babe_prolific.local import advance_clock, configure_account
from babe_prolific.local.money import charge, share

from .conftest import amounts, error_of

MESSAGE = "The attention checks in this study were failed, which the instructions said would mean rejection here."


def test_rounding_is_half_up_per_place():
    assert share(137, Decimal("33.33")) == 46  # 45.6621
    assert share(150, Decimal("33.33")) == 50  # 49.995
    assert share(3, Decimal(50)) == 2  # 1.5 rounds up
    one = charge(137, Decimal("33.33"), Decimal(20))
    assert (one.amount, one.fees, one.vat, one.total) == (137, 46, 9, 192)  # VAT on the fee only


def test_publish_locks_places_at_the_unit_price(api):
    configure_account(api.state, currency_code="GBP", vat_percentage=20, balance=100_000)
    me = api.get("users/me/").json()
    # fractions, as Prolific's own objects carry them (configured as percents)
    assert (me["currency_code"], me["fees_percentage"], me["vat_percentage"]) == ("GBP", 0.3333, 0.2)
    study = api.published(reward=137, total_available_places=7)
    assert study["total_cost"] == 7 * 192
    assert api.available() == 100_000 - 7 * 192
    me = api.get("users/me/").json()
    assert me["balance"] == 100_000  # total = available + locked
    cost = api.get(f"studies/{study['id']}/cost/").json()
    assert amounts(cost["rewards"]) == {"rewards": 7 * 137, "fees": 7 * 46, "tax": 7 * 9, "rep_sample_fees": 0, "rep_sample_tax": 0}
    assert amounts(cost["bonuses"]) == {"rewards": 0, "fees": 0, "tax": 0}
    assert {piece["currency"] for part in ("rewards", "bonuses") for piece in cost[part].values()} == {"GBP"}


def test_stop_refunds_the_places_nobody_holds(api):
    start = api.available()
    sid = api.published(total_available_places=7)["id"]  # unit 133
    api.simulate(sid, 3)
    api.simulate(sid, 1, timeout_rate=1.0)  # still ACTIVE: holds a place
    api.simulate(sid, 1, return_rate=1.0)  # gave the place back
    assert api.available() == start - 7 * 133
    api.post(f"studies/{sid}/transition/", {"action": "STOP"})
    assert api.available() == start - 4 * 133
    # the active one times out after the maximum allowed time: its place is refunded too
    advance_clock(api.state, 17 * 60 + 1)
    assert api.counts(sid)["TIMED-OUT"] == 1
    assert api.available() == start - 3 * 133
    # a rejection on a stopped study frees its money; an approval does not
    first, second = [s["id"] for s in api.submissions(sid) if s["status"] == "AWAITING REVIEW"][:2]
    api.post(f"submissions/{first}/transition/", {"action": "REJECT", "rejection_category": "FAILED_CHECK", "message": MESSAGE})
    api.post(f"submissions/{second}/transition/", {"action": "APPROVE"})
    assert api.available() == start - 2 * 133
    assert sum(amounts(api.get(f"studies/{sid}/cost/").json()["rewards"]).values()) == 2 * 133


def test_insufficient_funds_refuse_publishing_and_more_places(api):
    configure_account(api.state, balance=500)
    sid = api.draft(total_available_places=4)["id"]  # 4 × 133 = 532 > 500
    refused = api.post(f"studies/{sid}/transition/", {"action": "PUBLISH"})
    assert refused.status_code == 400 and error_of(refused)["error_code"] == 140003
    assert "Insufficient funds" in error_of(refused)["detail"]
    assert api.study(sid)["status"] == "UNPUBLISHED" and api.available() == 500
    api.patch(f"studies/{sid}/", {"total_available_places": 3})
    assert api.post(f"studies/{sid}/transition/", {"action": "PUBLISH"}).status_code == 200
    assert api.available() == 500 - 399
    more = api.patch(f"studies/{sid}/", {"total_available_places": 4})
    assert more.status_code == 400 and error_of(more)["error_code"] == 140003
    assert api.study(sid)["total_available_places"] == 3 and api.available() == 101
    configure_account(api.state, balance=101 + 133)
    assert api.patch(f"studies/{sid}/", {"total_available_places": 4}).status_code == 200
    assert api.available() == 101


def test_locked_prices_survive_rate_changes(local):
    sid = local.published(total_available_places=2)["id"]
    configure_account(local.state, fees_percentage=50)
    local.post(f"studies/{sid}/transition/", {"action": "STOP"})
    assert local.available() == 1_000_000  # refunded at the price it was locked at (133), not at 150


def test_balance_endpoint(api):
    me = api.get("users/me/").json()
    sid = api.published(total_available_places=2)["id"]
    api.simulate(sid, 1)
    api.post(f"submissions/{api.submissions(sid)[0]['id']}/transition/", {"action": "APPROVE"})
    balance = api.get(f"workspaces/{me['current_workspace_id']}/balance/").json()
    assert balance["available_balance"] == 1_000_000 - 266
    assert balance["balance_breakdown"] == {"rewards": 100, "fees": 33, "vat": 0}  # one unpaid place still locked
    assert balance["total_balance"] == 1_000_000 - 133 and balance["currency_code"] == "USD"
    missing = api.get("workspaces/000000000000000000000000/balance/")
    assert missing.status_code == 404 and error_of(missing)["error_code"] == 140404


def test_cost_calculator(api):
    response = api.post("study-cost-calculator/", {"reward": 150, "total_available_places": 10})
    assert response.status_code == 200
    assert response.json() == {"total_cost": 10 * 200, "rewards": 1500, "fees": 500, "vat": 0}
    bad = api.post("study-cost-calculator/", {"reward": 1.5, "total_available_places": 0})
    assert bad.status_code == 400 and set(error_of(bad)["detail"]) == {"reward", "total_available_places"}
    assert api.get("studies/000000000000000000000000/cost/").status_code == 404


def test_draft_cost_is_what_publishing_would_lock(api):
    sid = api.draft(total_available_places=5)["id"]
    assert sum(amounts(api.get(f"studies/{sid}/cost/").json()["rewards"]).values()) == 5 * 133
    assert api.post("study-cost-calculator/", {"reward": 100, "total_available_places": 5}).json()["total_cost"] == 5 * 133


def test_projected_cost_counts_every_place_and_unsettled_bonuses(local):
    sid = local.published(total_available_places=4)["id"]
    person = local.simulate(sid, 1)[0]["participant_id"]
    local.post(f"studies/{sid}/transition/", {"action": "STOP"})  # three places refunded
    now = amounts(local.get(f"studies/{sid}/cost/").json()["rewards"])
    projected = amounts(local.get(f"studies/{sid}/cost/", params={"is_projected": "true"}).json()["rewards"])
    assert (now["rewards"], projected["rewards"]) == (100, 400)
    configure_account(local.state, settle_seconds=60)
    setup = local.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{person},1.00"}).json()
    local.post(f"bulk-bonus-payments/{setup['id']}/pay/")
    assert amounts(local.get(f"studies/{sid}/cost/").json()["bonuses"])["rewards"] == 0
    assert amounts(local.get(f"studies/{sid}/cost/", params={"is_projected": "true"}).json()["bonuses"])["rewards"] == 100


def test_the_calculator_answers_total_cost(local):
    answer = local.post("study-cost-calculator/", {"reward": 150, "total_available_places": 4}).json()
    assert answer == {"total_cost": 4 * (150 + 50), "rewards": 600, "fees": 200, "vat": 0}
    assert local.post("study-cost-calculator/", {"reward": 1.5, "total_available_places": 4}).status_code == 400


def test_concurrent_publishes_over_http_are_exact(tmp_path):
    """Twelve publishes racing from six threads over real HTTP lock exactly twelve studies' money."""
    import httpx
    from babe_prolific.local import serve_in_thread

    from .conftest import AUTH, study_body

    url, stop = serve_in_thread(tmp_path / "race.sqlite", faults="")
    try:
        with httpx.Client(base_url=f"{url}/api/v1/", headers=AUTH) as client:
            drafts = [client.post("studies/", json=study_body()).json()["id"] for _ in range(12)]

        def publish(sid):
            with httpx.Client(base_url=f"{url}/api/v1/", headers=AUTH) as own:
                return own.post(f"studies/{sid}/transition/", json={"action": "PUBLISH"}).status_code

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(publish, drafts)) == {200}
        with httpx.Client(base_url=f"{url}/api/v1/", headers=AUTH) as client:
            assert client.get("users/me/").json()["available_balance"] == 1_000_000 - 12 * 3 * 133
    finally:
        stop()
