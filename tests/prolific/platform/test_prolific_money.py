"""Money on Prolific from the documented places: the cost calculator and the study's cost.

`GET /users/me/` documents only `id` and `email`; the `fees_percentage` accounts carry has been seen
as a percent (33.33) and as a fraction (0.3333). The adapter prices from `POST
/study-cost-calculator/` and uses the account's rates only to split the fee from its VAT when they
reproduce the calculator, so plan, cost and caps are right whichever form the account shows — or
none. The local Prolific shows fractions; `shown_as` rewrites its `/users/me/` answer to the other
forms, on the wire, the way another account would show them.
"""

from __future__ import annotations

import json

import pytest


class ShowsRates:
    """The local Prolific, its `/users/me/` answer showing the account's rates another way."""

    def __init__(self, app, rewrite):
        self.app, self.rewrite = app, rewrite

    def __getattr__(self, name):
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").endswith("/users/me/"):
            return self.app(environ, start_response)
        answered: dict = {}

        def start(status, headers, exc_info=None):
            answered.update(status=status, headers=headers)

        document = json.loads(b"".join(self.app(environ, start)))
        self.rewrite(document)
        body = json.dumps(document).encode()
        headers = [(k, v) for k, v in answered["headers"] if k.lower() != "content-length"]
        start_response(answered["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


def as_percent(me: dict) -> None:
    me["fees_percentage"] = round(me["fees_percentage"] * 100, 4)
    me["vat_percentage"] = round(me["vat_percentage"] * 100, 4)


def absent(me: dict) -> None:
    me.pop("fees_percentage", None)
    me.pop("vat_percentage", None)


def wrong(me: dict) -> None:
    me["fees_percentage"], me["vat_percentage"] = 0.25, 0  # neither reading is what the account is charged


FORMS = {"fraction": None, "percent": as_percent, "absent": absent, "wrong": wrong}


@pytest.fixture
def shown_as(monkeypatch):
    """`shown_as(form)`: the account's rates as a fraction (the local Prolific's), a percent, not at all, or wrong."""
    import babe_prolific.routing as routing

    real = routing.local_app

    def show(form: str) -> None:
        rewrite = FORMS[form]
        if rewrite is not None:
            monkeypatch.setattr(routing, "local_app", lambda path: ShowsRates(real(path), rewrite))

    return show


@pytest.mark.parametrize("form", sorted(FORMS))
def test_create_costs_what_the_account_is_charged_whichever_way_it_shows_its_rates(babe, experiment, local, account, shown_as, form):
    account(currency_code="GBP", vat_percentage=20, minimum_reward_per_hour=600)
    shown_as(form)
    before = local.balance()
    run = babe("create", "--assignments", "7", "--json")
    assert run.code == 0, run
    # per place: fee 33.33% of 1.50 = 0.50 (half up), VAT 20% of the fee = 0.10: what publishing locks
    assert before - local.balance() == 1470
    assert (run.json["cost"]["rewards"], run.json["cost"]["fees"], run.json["cost"]["total"]) == ("10.50", "4.20", "14.70")
    # The VAT is shown apart only where the account's rates reproduce the calculator's answer.
    assert run.json["cost"].get("vat") == ("0.70" if form in ("fraction", "percent") else None)
    assert local.calls("POST /study-cost-calculator/") == 1


@pytest.mark.parametrize("form", ["fraction", "percent"])
def test_approve_books_and_cost_reports_the_fees_the_account_paid(babe, experiment, local, account, shown_as, people, form):
    account(vat_percentage=0)
    shown_as(form)
    study = babe("create", "--json").json["hits"][0]["hit_id"]  # 5 places at 1.50
    assert len([v for v in people(study, 2) if v["outcome"] == "submit"]) == 2
    assert babe("approve").code == 0
    run = babe("cost", "--json")
    assert run.code == 0, run
    assert (run.json["rewards_paid"], run.json["fees_paid"], run.json["spent"], run.json["committed"]) == (
        "3.00",
        "1.00",
        "4.00",
        "6.00",
    )


@pytest.mark.parametrize("form", ["fraction", "percent"])
def test_the_payment_cap_counts_prolifics_real_fees(babe, experiment, configure, local, shown_as, monkeypatch, form):
    monkeypatch.setenv("BABE_PLUGINS", "prolific,payment-cap")
    configure(plugins={"prolific": {"estimated_minutes": 10}, "payment-cap": {"experiment": "9.00"}})
    shown_as(form)
    # 5 places at 1.50 cost 10.00 with the fee; read as 0.3333 %, the fee would vanish and 7.50 fit the cap.
    run = babe("create")
    assert run.code == 3, run
    assert "commits $10.00" in run.err
    assert local.studies() == []
