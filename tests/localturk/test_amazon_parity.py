"""Differences from Amazon found by running other MTurk clients against `babe local.serve` (issue 14,
item 8), each through boto3: a deleted HIT's rejected work cannot be paid, ListHITs pages as
Amazon pages, and spending beyond the balance is refused as Amazon refuses it. (Empty
RequesterFeedback: test_assignments.py; the score of a revoked qualification: test_qualifications.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from babe_mturk.local import funds
from babe_mturk.local.workers import simulate

from .helpers import DAY, make_hit, turk_code, work

AMAZON_FUNDS_MESSAGE = (
    "This Requester has insufficient funds in their account to complete this transaction. "
    "Please visit https://requester.mturk.com/prepayments/new to purchase Prepaid HITs."
)


def balance(mturk) -> Decimal:
    return Decimal(mturk.get_account_balance()["AvailableBalance"])


def assert_insufficient_funds(excinfo) -> None:
    error = excinfo.value.response["Error"]
    assert error["Code"] == "RequestError"
    assert error["Message"].startswith(AMAZON_FUNDS_MESSAGE)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InsufficientFunds"


# -- approving a rejected assignment of a deleted HIT -------------------------------------------------
def test_a_rejection_cannot_be_overridden_once_the_hit_is_deleted(turk, mturk):
    hit = make_hit(mturk, MaxAssignments=2)["HITId"]
    kept, dropped = work(turk, hit), work(turk, hit)
    mturk.reject_assignment(AssignmentId=kept, RequesterFeedback="no data")
    mturk.reject_assignment(AssignmentId=dropped, RequesterFeedback="no data")
    mturk.approve_assignment(AssignmentId=kept, OverrideRejection=True)  # before DeleteHIT: allowed
    spent = balance(mturk)
    mturk.delete_hit(HITId=hit)
    with pytest.raises(ClientError) as excinfo:
        mturk.approve_assignment(AssignmentId=dropped, OverrideRejection=True)
    assert turk_code(excinfo) == "AWS.MechanicalTurk.InvalidHITState"
    assert "currently in the state 'Disposed'" in excinfo.value.response["Error"]["Message"]
    assert mturk.get_assignment(AssignmentId=dropped)["Assignment"]["AssignmentStatus"] == "Rejected"
    assert balance(mturk) == spent


# -- ListHITs pages as Amazon pages --------------------------------------------------------------------
def test_list_hits_gives_a_token_on_its_last_page_and_both_kinds_of_client_end(mturk):
    made = [make_hit(mturk, MaxAssignments=1)["HITId"] for _ in range(5)]
    first = mturk.list_hits(MaxResults=3)
    last = mturk.list_hits(MaxResults=3, NextToken=first["NextToken"])
    assert last["NumResults"] == 2 and "NextToken" in last  # Amazon: every non-empty page has one
    empty = mturk.list_hits(MaxResults=3, NextToken=last["NextToken"])
    assert empty["NumResults"] == 0 and empty["HITs"] == [] and "NextToken" not in empty
    # Mephisto's loop (until an empty page) and botocore's paginator (until no token) both end.
    seen, token = [], None
    while True:
        page = mturk.list_hits(MaxResults=3, **({"NextToken": token} if token else {}))
        if not page["HITs"]:
            break
        seen += [h["HITId"] for h in page["HITs"]]
        token = page["NextToken"]
    assert seen == made
    walked = [h["HITId"] for p in mturk.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 3}) for h in p["HITs"]]
    assert walked == made
    assert "NextToken" not in mturk.list_assignments_for_hit(HITId=made[0])  # the other lists as before


# -- spending beyond the balance -------------------------------------------------------------------------
def test_a_hit_costing_more_than_the_balance_is_refused_as_amazon_refuses_it(turk, mturk):
    """The issue's case: a HIT of 2 x $5,000 on a $10,000 account was posted, and auto-approval then
    drove the balance to -$2,000 (and lower with more). Amazon refuses the CreateHIT."""
    with pytest.raises(ClientError) as excinfo:
        make_hit(mturk, Reward="5000.00", MaxAssignments=2, AutoApprovalDelayInSeconds=0)
    assert_insufficient_funds(excinfo)
    assert mturk.list_hits()["NumResults"] == 0 and balance(mturk) == Decimal("10000.00")
    hit_type = mturk.create_hit_type(
        Title="t", Description="d", Reward="5000.00", AssignmentDurationInSeconds=600, AutoApprovalDelayInSeconds=0
    )["HITTypeId"]
    with pytest.raises(ClientError) as excinfo:
        mturk.create_hit_with_hit_type(
            HITTypeId=hit_type, MaxAssignments=2, LifetimeInSeconds=3600,
            Question=make_question(),
        )
    assert_insufficient_funds(excinfo)
    assert mturk.list_hits()["NumResults"] == 0


def make_question() -> str:
    from .helpers import hit_params

    return hit_params()["Question"]


def test_posted_work_holds_its_cost_so_auto_approval_never_goes_below_zero(turk, mturk):
    # $4,000 + 20% fee = $4,800 a slot: two slots fit the $10,000, a third does not.
    first = make_hit(mturk, Reward="4000.00", MaxAssignments=2, AutoApprovalDelayInSeconds=0, LifetimeInSeconds=DAY)["HITId"]
    with pytest.raises(ClientError) as excinfo:
        make_hit(mturk, Reward="4000.00", MaxAssignments=1)
    assert_insufficient_funds(excinfo)
    with pytest.raises(ClientError) as excinfo:
        mturk.create_additional_assignments_for_hit(HITId=first, NumberOfAdditionalAssignments=1, UniqueRequestToken="more-1")
    assert_insufficient_funds(excinfo)
    assert mturk.get_hit(HITId=first)["HIT"]["MaxAssignments"] == 2
    done = simulate(turk, hit_ids=[first], workers=2, seed=1)  # auto-approved and paid at submission
    assert len(done["submitted"]) == 2
    assert balance(mturk) == Decimal("400.00")
    with pytest.raises(ClientError) as excinfo:  # a bonus beyond what is left
        mturk.send_bonus(WorkerId=mturk.list_assignments_for_hit(HITId=first)["Assignments"][0]["WorkerId"],
                         AssignmentId=done["submitted"][0], BonusAmount="400.00", Reason="thanks", UniqueRequestToken="bonus-1")
    assert_insufficient_funds(excinfo)
    assert balance(mturk) == Decimal("400.00")
    assert mturk.list_bonus_payments(AssignmentId=done["submitted"][0])["NumResults"] == 0


def held(turk) -> Decimal:
    now = turk.store.clock()["now"]
    with turk.store.read() as tx:
        return funds.committed(tx, now)


def test_what_is_held_comes_back_when_work_ends_unpaid(turk, mturk):
    """An expired HIT's free slots and a rejected assignment hold nothing any more."""
    hit = make_hit(mturk, Reward="4000.00", MaxAssignments=2, LifetimeInSeconds=DAY)["HITId"]
    assert held(turk) == Decimal("9600.00")
    taken = work(turk, hit)
    mturk.update_expiration_for_hit(HITId=hit, ExpireAt=0)  # the second slot can no longer be taken
    assert held(turk) == Decimal("4800.00")
    mturk.reject_assignment(AssignmentId=taken, RequesterFeedback="")
    assert held(turk) == Decimal("0")
    assert make_hit(mturk, Reward="4000.00", MaxAssignments=2)["MaxAssignments"] == 2  # the whole balance again
    # Overriding the rejection pays from what is free, which a new HIT has just taken.
    with pytest.raises(ClientError) as excinfo:
        mturk.approve_assignment(AssignmentId=taken, OverrideRejection=True)
    assert_insufficient_funds(excinfo)
    assert balance(mturk) == Decimal("10000.00")


def test_babe_create_says_insufficient_funds(babe, experiment, turk):
    """The lab's message names the reason and what to do, not only "run the same create again"."""
    from babe_mturk.local.store import Store

    with turk.store.write() as tx:
        Store.set_meta(tx, "balance", "1.00")
    run = babe("create", "--assignments", "3")
    assert run.code != 0, run
    assert "insufficient funds" in run.err and "add funds" in run.err, run.err
    assert "Traceback" not in run.err
    assert Decimal(turk.call("GetAccountBalance", {})["AvailableBalance"]) == Decimal("1.00")
