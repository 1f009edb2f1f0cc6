"""The fee rules, checked against hand-computed figures (docs/payments.md, "bonus": MTurk's fee)."""

from decimal import Decimal

import pytest

from babe_tasks import money

D = Decimal


@pytest.mark.parametrize(
    "reward, assignments, masters, fee",
    [
        ("0.33", 1, False, "0.07"),  # 0.066 -> 0.07
        ("0.52", 9, False, "0.10"),  # 0.104 -> 0.10 (Amazon's FAQ)
        ("0.525", 9, False, "0.11"),  # 0.105 -> 0.11, half up
        ("0.01", 1, False, "0.01"),  # 0.002 -> the $0.01 minimum
        ("0.04", 9, False, "0.01"),  # 0.008 -> minimum
        ("0.05", 9, False, "0.01"),  # 0.010 exactly
        ("1.00", 9, False, "0.20"),
        ("1.00", 10, False, "0.40"),  # 10+ assignments: another 20%
        ("1.00", 9, True, "0.25"),  # Masters: 5% more
        ("1.00", 10, True, "0.45"),
        ("2.50", 20, False, "1.00"),
        ("0.02", 10, False, "0.01"),  # 0.008 -> minimum even with the surcharge
    ],
)
def test_assignment_fee(reward, assignments, masters, fee):
    assert money.assignment_fee(D(reward), assignments, masters) == D(fee)


@pytest.mark.parametrize("amount, fee", [("0.04", "0.01"), ("1.00", "0.20"), ("0.33", "0.07"), ("12.34", "2.47")])
def test_bonus_fee_never_has_the_surcharge(amount, fee):
    assert money.bonus_fee(D(amount)) == D(fee)


@pytest.mark.parametrize("text, value", [("0.50", "0.50"), ("5", "5.00"), ("5.", "5.00"), ("12.3", "12.30")])
def test_parse_amount_accepts_plain_dollars(text, value):
    assert money.parse_amount(text) == D(value)


@pytest.mark.parametrize(
    "text, words",
    [
        ("$0.50", "not a dollar amount"),
        ("-1", "not a dollar amount"),
        ("0.123", "not a dollar amount"),
        ("1e3", "not a dollar amount"),
        ("nan", "not a dollar amount"),
        ("", "not a dollar amount"),
        ("0", "more than 0.00"),
        ("0.00", "more than 0.00"),
    ],
)
def test_parse_amount_refuses_with_a_reason(text, words):
    with pytest.raises(money.MoneyError, match=words):
        money.parse_amount(text, what="reward")


def test_zero_allowed_where_asked_and_format():
    assert money.parse_amount("0", allow_zero=True) == D("0.00")
    assert money.fmt(D("12")) == "12.00"
    assert money.fmt(D("0.105")) == "0.11"
