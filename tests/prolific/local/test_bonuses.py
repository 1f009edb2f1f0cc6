"""Bonuses: the set-up's rules and prices, and the trap the adapter must avoid — a second pay pays again."""

from __future__ import annotations

import pytest
from babe_prolific.local import configure_account, payments

from .conftest import error_of


@pytest.fixture
def done(api):
    """A published study with three finished participants; returns (study id, participant ids)."""
    sid = api.published()["id"]
    people = [r["participant_id"] for r in api.simulate(sid, 3)]
    return sid, people


def test_setup_prices_rows_in_major_units_and_pays_nothing(api, done):
    sid, people = done
    configure_account(api.state, vat_percentage=20)
    before = api.available()
    response = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{people[0]},1.50\n{people[1]},0.25\n"})
    assert response.status_code == 201
    setup = response.json()
    # 1.50 → 150 + fee 50 (49.995) + VAT 10; 0.25 → 25 + fee 8 (8.3325) + VAT 2 (1.6)
    assert (setup["amount"], setup["fees"], setup["vat"], setup["total_amount"]) == (175, 58, 12, 245)
    assert setup["study"] == sid and len(setup["id"]) == 24
    assert api.available() == before and payments(api.state) == []


def test_pay_charges_and_records_each_row(api, done):
    sid, people = done
    setup = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{people[0]},1.50\n{people[2]},2"}).json()
    before = api.available()
    paid = api.post(f"bulk-bonus-payments/{setup['id']}/pay/")
    assert paid.status_code == 202 and isinstance(paid.json(), str)  # the spec's answer: a JSON string
    assert api.available() == before - setup["total_amount"] == before - (150 + 50 + 200 + 67)
    made = payments(api.state)
    assert [(p["participant_id"], p["amount"], p["fees"]) for p in made] == [(people[0], 150, 50), (people[2], 200, 67)]
    subs = {s["participant_id"]: s["id"] for s in api.submissions(sid)}
    assert made[0]["submission_id"] == subs[people[0]] and made[0]["setup_id"] == setup["id"]
    cost = api.get(f"studies/{sid}/cost/").json()
    assert cost["bonuses"] == {"rewards": {"amount": 350, "currency": "USD"}, "fees": {"amount": 117, "currency": "USD"}, "tax": {"amount": 0, "currency": "USD"}}
    detail = api.get(f"submissions/{subs[people[0]]}/").json()
    assert detail["bonus_payments"] == [150]


def test_rows_may_name_submissions_instead_of_participants(api, done):
    """The spec: `<participant_id>,<amount>` or `<submission_id>,<amount>` rows, mixed freely."""
    sid, people = done
    subs = {s["participant_id"]: s["id"] for s in api.submissions(sid)}
    response = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{subs[people[0]]},1.00\n{people[1]},2.00"})
    assert response.status_code == 201, response.text
    assert api.post(f"bulk-bonus-payments/{response.json()['id']}/pay/").status_code == 202
    made = payments(api.state)
    assert [(p["participant_id"], p["submission_id"], p["amount"]) for p in made] == [
        (people[0], subs[people[0]], 100),
        (people[1], subs[people[1]], 200),
    ]


def test_a_second_pay_of_the_same_setup_pays_again(api, done):
    """Prolific's pay call is not idempotent; the local one keeps that trap so the adapter's journal
    can be proven to avoid it."""
    sid, people = done
    setup = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{people[0]},1.00"}).json()
    before = api.available()
    assert api.post(f"bulk-bonus-payments/{setup['id']}/pay/").status_code == 202
    assert api.post(f"bulk-bonus-payments/{setup['id']}/pay/").status_code == 202
    assert len(payments(api.state)) == 2
    assert api.available() == before - 2 * 133
    assert payments(api.state, sid) == payments(api.state) and payments(api.state, "other") == []


@pytest.mark.parametrize(
    "csv, expected",
    [
        ("{p},1.505", "more than 2 decimals"),
        ("{p},0", "more than 0"),
        ("{p},-1", "more than 0"),
        ("{p},abc", "not an amount"),
        ("{p}", "<participant_id or submission_id>,<amount>"),
        ("{p},1,2", "<participant_id or submission_id>,<amount>"),
        ("ffffffffffffffffffffffff,1.00", "nor a participant with one"),
        ("", "Lines of"),
    ],
)
def test_setup_refusals(local, csv, expected):
    sid = local.published()["id"]
    person = local.simulate(sid, 1)[0]["participant_id"]
    response = local.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": csv.format(p=person)})
    assert response.status_code == 400
    assert expected in " ".join(error_of(response)["detail"]["csv_bonuses"])


def test_setup_limits_and_unknowns(api, done):
    sid, people = done
    rows = "\n".join(f"{people[0]},0.01" for _ in range(201))
    too_many = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": rows})
    assert too_many.status_code == 400 and "At most 200 rows" in error_of(too_many)["detail"]["csv_bonuses"][0]
    rows200 = "\n".join(f"{people[i % 3]},0.01" for i in range(200))
    assert api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": rows200}).status_code == 201
    no_study = api.post("submissions/bonus-payments/", {"study_id": "000000000000000000000000", "csv_bonuses": f"{people[0]},1"})
    assert no_study.status_code == 400 and "study_id" in error_of(no_study)["detail"]
    # a participant of another study is not a participant of this one
    other = api.published()["id"]
    stranger = api.simulate(other, 1)[0]["participant_id"]
    wrong = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{stranger},1.00"})
    assert wrong.status_code == 400
    unknown_pay = api.post("bulk-bonus-payments/000000000000000000000000/pay/")
    assert unknown_pay.status_code == 404 and error_of(unknown_pay)["error_code"] == 140404


def test_pay_without_funds_is_refused_whole(api, done):
    sid, people = done
    setup = api.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{people[0]},5.00\n{people[1]},5.00"}).json()
    configure_account(api.state, balance=setup["total_amount"] - 1)
    refused = api.post(f"bulk-bonus-payments/{setup['id']}/pay/")
    assert refused.status_code == 400 and error_of(refused)["error_code"] == 140003
    assert payments(api.state) == [] and api.available() == setup["total_amount"] - 1
