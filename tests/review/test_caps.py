"""The lab's payment cap holds on the page exactly as on the command line: a bonus past it is vetoed."""

from __future__ import annotations

from decimal import Decimal

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder


def test_a_bonus_past_the_payment_cap_is_vetoed_on_the_page_and_nothing_is_paid(
    submitted, start_review, babe_turk, babe_env, experiment
):
    work = submitted(2)  # $1.20 committed: 2 x ($0.50 + $0.10 fee)
    babe_env.use_installed_plugins("payment-cap")
    ExperimentFolder(experiment, {**DEFAULT_SETTINGS, "plugins": {"payment-cap": {"experiment": "2.00"}}})
    first = work[0]
    balance = babe_turk.balance()
    served = start_review(env={"BABE_PLUGINS": "payment-cap"})

    too_much = served.post(
        "/api/preview",
        {"action": "bonus", "assignment_ids": [first.assignment_id], "amount": "1.00", "reason": "Careful work"},
    )
    assert too_much.status == 409, too_much.text
    assert too_much.json["error"].startswith("vetoed by plugin payment-cap: "), too_much.json
    assert "2.00" in too_much.json["error"]

    within = served.decide("bonus", [first.assignment_id], amount="0.50", reason="Careful work")
    assert within["result"]["paid"][0]["amount"] == "0.50", within

    bonuses = babe_turk.client.list_bonus_payments(AssignmentId=first.assignment_id)["BonusPayments"]
    assert [b["BonusAmount"] for b in bonuses] == ["0.50"]
    assert Decimal(str(babe_turk.balance())) == Decimal(str(balance)) - Decimal("0.60")
    out, _ = served.stop()
    assert "Review ended: approved 0, rejected 0, bonuses 1 for $0.60." in out
