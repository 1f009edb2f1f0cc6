"""Money through boto3: the balance charged at approval and for bonuses, exact to the cent against
hand-computed figures; SendBonus's rules and tokens; ListBonusPayments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from babe_mturk.local import ids, workers
from babe_mturk.local.qualifications import MASTERS_SANDBOX
from babe_mturk.local.store import Store

from .helpers import DAY, make_hit, turk_code, work

START = Decimal("10000.00")


def balance(mturk) -> Decimal:
    answer = mturk.get_account_balance()
    assert answer["OnHoldBalance"] == "0.00"
    return Decimal(answer["AvailableBalance"])


# -- approval costs, computed by hand ------------------------------------------------------------
@pytest.mark.parametrize(
    "reward, max_assignments, masters, cost",
    [
        ("0.33", 3, False, "0.40"),  # fee 20% of 0.33 = 0.066 -> 0.07
        ("1.00", 10, False, "1.40"),  # 10 or more assignments: 40%
        ("1.00", 9, False, "1.20"),
        ("0.02", 1, False, "0.03"),  # the fee is at least a cent
        ("0.52", 1, False, "0.62"),  # 0.104 -> 0.10
        ("0.53", 1, False, "0.64"),  # 0.106 -> 0.11
        ("1.00", 3, True, "1.25"),  # Masters: another 5%
        ("2.00", 12, True, "2.90"),  # 20% + 20% + 5%
    ],
)
def test_approval_charges_reward_plus_fee(turk, mturk, reward, max_assignments, masters, cost):
    requirements = [{"QualificationTypeId": MASTERS_SANDBOX, "Comparator": "Exists"}] if masters else []
    hit = make_hit(mturk, Reward=reward, MaxAssignments=max_assignments, QualificationRequirements=requirements)["HITId"]
    worker = "AMASTERWORKER1" if masters else ids.new_worker_id()
    if masters:
        workers.add_workers(turk, worker_ids=[worker], profile={"masters": True})
    assignment = work(turk, hit, worker_id=worker)
    assert balance(mturk) == START  # nothing is charged before approval
    mturk.approve_assignment(AssignmentId=assignment)
    assert balance(mturk) == START - Decimal(cost)


def test_rejection_costs_nothing_and_a_batch_adds_up(turk, mturk):
    hit = make_hit(mturk, Reward="0.33", MaxAssignments=9)["HITId"]
    done = [work(turk, hit) for _ in range(9)]
    for assignment in done[:7]:
        mturk.approve_assignment(AssignmentId=assignment)
    for assignment in done[7:]:
        mturk.reject_assignment(AssignmentId=assignment, RequesterFeedback="no data")
    assert balance(mturk) == START - 7 * Decimal("0.40")  # 9997.20


def test_fee_uses_max_assignments_at_approval(turk, mturk):
    hit = make_hit(mturk, Reward="1.00", MaxAssignments=10)["HITId"]
    first = work(turk, hit)
    mturk.create_additional_assignments_for_hit(HITId=hit, NumberOfAdditionalAssignments=2)
    mturk.approve_assignment(AssignmentId=first)
    assert balance(mturk) == START - Decimal("1.40")


def test_approval_refused_when_the_balance_is_short(turk, mturk):
    hit = make_hit(mturk, Reward="4000.00", MaxAssignments=2)["HITId"]  # 2 x 4800: within the balance
    first, second = work(turk, hit), work(turk, hit)
    mturk.approve_assignment(AssignmentId=first)  # 4000 + 800 fee
    assert balance(mturk) == Decimal("5200.00")
    with turk.store.write() as tx:  # only a balance lowered by hand falls short of what a HIT held
        Store.set_meta(tx, "balance", "4000.00")
    with pytest.raises(ClientError) as excinfo:
        mturk.approve_assignment(AssignmentId=second)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InsufficientFunds"
    assert balance(mturk) == Decimal("4000.00")
    assert mturk.get_assignment(AssignmentId=second)["Assignment"]["AssignmentStatus"] == "Submitted"
    mturk.reject_assignment(AssignmentId=second, RequesterFeedback="cannot pay")  # still possible


# -- bonuses -------------------------------------------------------------------------------------
def _submitted(turk, mturk, worker_id="ABONUSWORKER01"):
    hit = make_hit(mturk, Reward="0.50", LifetimeInSeconds=3 * DAY)["HITId"]
    return hit, work(turk, hit, worker_id=worker_id)


@pytest.mark.parametrize(
    "amount, cost",
    [("0.04", "0.05"), ("1.00", "1.20"), ("0.33", "0.40"), ("2.5", "3.00"), ("10.03", "12.04")],
)
def test_bonus_charges_amount_plus_fee(turk, mturk, amount, cost):
    _, assignment = _submitted(turk, mturk)
    mturk.send_bonus(WorkerId="ABONUSWORKER01", AssignmentId=assignment, BonusAmount=amount, Reason="well done")
    assert balance(mturk) == START - Decimal(cost)


def test_bonus_token_is_remembered_for_24_hours(turk, mturk):
    hit, assignment = _submitted(turk, mturk)
    mturk.approve_assignment(AssignmentId=assignment)  # 0.60
    pay = dict(WorkerId="ABONUSWORKER01", AssignmentId=assignment, BonusAmount="1.00", Reason="extra", UniqueRequestToken="bonus-1")
    mturk.send_bonus(**pay)  # 1.20
    with pytest.raises(ClientError) as excinfo:
        mturk.send_bonus(**pay)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.DuplicateRequest"
    assert excinfo.value.response["Error"]["Message"].startswith('The idempotency token "bonus-1" has already been processed.')
    assert balance(mturk) == START - Decimal("1.80")
    turk.store.advance_clock(25 * 3600)
    mturk.send_bonus(**pay)  # forgotten after 24 h: MTurk pays again
    assert balance(mturk) == START - Decimal("3.00")
    assert len(mturk.list_bonus_payments(HITId=hit)["BonusPayments"]) == 2


def test_bonus_refusals(turk, mturk):
    _, assignment = _submitted(turk, mturk)
    hit = make_hit(mturk)["HITId"]
    unsubmitted = work(turk, hit, worker_id="AWORKING000001", submit=False)
    missing = ids.new_id()
    base = dict(WorkerId="ABONUSWORKER01", AssignmentId=assignment, BonusAmount="1.00", Reason="thanks")
    cases = [
        (dict(base, AssignmentId=missing), "AWS.MechanicalTurk.AssignmentDoesNotExist"),
        (dict(base, WorkerId="AOTHERWORKER01"), "AWS.MechanicalTurk.InvalidParameterValue"),
        (dict(base, WorkerId="AWORKING000001", AssignmentId=unsubmitted), "AWS.MechanicalTurk.AssignmentDoesNotExist"),
        (dict(base, BonusAmount="0.00"), "AWS.MechanicalTurk.ValidationError"),
        (dict(base, BonusAmount="0.123"), "AWS.MechanicalTurk.ValidationError"),
        (dict(base, Reason=""), "AWS.MechanicalTurk.ValidationError"),
        (dict(base, BonusAmount="9000.00"), "AWS.MechanicalTurk.InsufficientFunds"),  # 9000 + 1800 fee
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as excinfo:
            mturk.send_bonus(**params)
        assert (params, turk_code(excinfo)) == (params, code)
    assert balance(mturk) == START
    assert mturk.list_bonus_payments(AssignmentId=assignment)["BonusPayments"] == []


def test_list_bonus_payments_by_hit_or_assignment(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=2)["HITId"]
    a, b = work(turk, hit, worker_id="AWORKERA000001"), work(turk, hit, worker_id="AWORKERB000001")
    other_hit, other = _submitted(turk, mturk)
    for i in range(150):
        mturk.send_bonus(WorkerId="AWORKERA000001", AssignmentId=a, BonusAmount="0.01", Reason=f"trial {i}")
    mturk.send_bonus(WorkerId="AWORKERB000001", AssignmentId=b, BonusAmount="0.25", Reason="b")
    mturk.send_bonus(WorkerId="ABONUSWORKER01", AssignmentId=other, BonusAmount="0.25", Reason="other")
    first = mturk.list_bonus_payments(HITId=hit)
    assert first["NumResults"] == 100 and "NextToken" in first
    rest = mturk.list_bonus_payments(HITId=hit, NextToken=first["NextToken"])
    every = first["BonusPayments"] + rest["BonusPayments"]
    assert "NextToken" not in rest
    assert [p["Reason"] for p in every] == [f"trial {i}" for i in range(150)] + ["b"]
    payment = every[-1]
    assert (payment["WorkerId"], payment["AssignmentId"], payment["BonusAmount"]) == ("AWORKERB000001", b, "0.25")
    assert "GrantTime" in payment
    by_assignment = mturk.list_bonus_payments(AssignmentId=b)["BonusPayments"]
    assert [p["Reason"] for p in by_assignment] == ["b"]
    assert [p["Reason"] for p in mturk.list_bonus_payments(HITId=other_hit)["BonusPayments"]] == ["other"]
    # 150 x (0.01 + 0.01) + 2 x (0.25 + 0.05)
    assert balance(mturk) == START - Decimal("3.60")


def test_list_bonus_payments_refusals(turk, mturk):
    hit, assignment = _submitted(turk, mturk)
    cases = [
        (dict(), "AWS.MechanicalTurk.ValidationError"),
        (dict(HITId=hit, AssignmentId=assignment), "AWS.MechanicalTurk.ValidationError"),
        (dict(HITId=ids.new_id()), "AWS.MechanicalTurk.HITDoesNotExist"),
        (dict(AssignmentId=ids.new_id()), "AWS.MechanicalTurk.AssignmentDoesNotExist"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as excinfo:
            mturk.list_bonus_payments(**params)
        assert (params, turk_code(excinfo)) == (params, code)


def test_get_account_balance_starts_at_ten_thousand(mturk):
    assert mturk.get_account_balance()["AvailableBalance"] == "10000.00"
