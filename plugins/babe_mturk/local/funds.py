"""What the local MTurk's account may still spend, and Amazon's refusal when a call spends more.

Amazon holds a HIT's rewards and fees when the HIT is posted and refuses a spending call
(CreateHIT, CreateHITWithHITType, CreateAdditionalAssignmentsForHIT, SendBonus) that the account
cannot cover, so auto-approval can never drive a balance below zero. The local MTurk keeps
`AvailableBalance` at what has actually been paid (so a lab, and the tests, read their spending
from it to the cent) and applies the same rule by counting, at each spending call, what the
account's open work may still cost (`committed`): every Accepted or Submitted assignment, and
every slot of a HIT that can still be accepted. A call whose cost is more than the balance less
that is refused with Amazon's RequestError and message, and changes nothing.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from babe_tasks import money
from babe_mturk.local.errors import RequestError
from babe_mturk.local.store import Store

#: Amazon's message (docs/localturk-semantics.md, "Money"; Mephisto #342, nosub #3, resourcecontracts #538).
MESSAGE = (
    "This Requester has insufficient funds in their account to complete this transaction. "
    "Please visit https://requester.mturk.com/prepayments/new to purchase Prepaid HITs."
)
#: The legacy TurkErrorCode those reports show with it.
CODE = "InsufficientFunds"


def unit_cost(reward: Decimal | str, max_assignments: int, masters: bool) -> Decimal:
    """Reward + fee of approving one assignment of such a HIT (what approval will charge)."""
    reward = Decimal(reward)
    return reward + money.assignment_fee(reward, max_assignments, masters=masters)


def committed(tx: sqlite3.Connection, now: float) -> Decimal:
    """What the open work may still cost: Accepted and Submitted assignments at the reward their
    worker accepted, and the free slots of HITs that have not expired at their HIT type's reward.

    Both queries run on the partial indexes the clock's settlers use (assignments by deadline
    and by auto-approval time, HITs not yet expired), so the cost grows with the open work only.
    """
    total = Decimal(0)
    costs: dict[tuple[str, int, bool], Decimal] = {}

    def cost(reward: str, size: int, masters: int) -> Decimal:
        key = (reward, size, bool(masters))
        if key not in costs:
            costs[key] = unit_cost(reward, size, bool(masters))
        return costs[key]

    def add(rows) -> None:
        nonlocal total
        for row in rows:
            total += cost(row["reward"], row["max_assignments"], row["masters"]) * row["n"]

    for status in ("Accepted", "Submitted"):
        add(tx.execute(
            "SELECT a.reward, h.max_assignments, t.masters, COUNT(*) AS n FROM assignments a"
            " JOIN hits h ON h.id = a.hit_id JOIN hit_types t ON t.id = h.hit_type_id"
            " WHERE a.status = ? GROUP BY a.reward, h.max_assignments, t.masters",
            (status,),
        ))
    add(tx.execute(
        "SELECT t.reward, h.max_assignments, t.masters, SUM(h.available) AS n FROM hits h"
        " JOIN hit_types t ON t.id = h.hit_type_id"
        " WHERE h.expired = 0 AND h.expiration > ? AND h.available > 0 AND h.status IN ('Assignable', 'Unassignable')"
        " GROUP BY t.reward, h.max_assignments, t.masters",
        (now,),
    ))
    return total


def spendable(tx: sqlite3.Connection, now: float) -> Decimal:
    """The balance less what the open work may still cost."""
    return Store.balance(tx) - committed(tx, now)


def refusal() -> RequestError:
    return RequestError(MESSAGE, CODE)


def require(tx: sqlite3.Connection, now: float, amount: Decimal) -> None:
    """Refuse (Amazon's InsufficientFunds) a new spending of `amount` the account cannot cover."""
    if amount > spendable(tx, now):
        raise refusal()
