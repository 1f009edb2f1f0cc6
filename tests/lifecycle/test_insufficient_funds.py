"""A spending step refused for want of money says so: "add funds", not just "run approve again"
(a re-run with the same balance fails the same way)."""

from __future__ import annotations

from babe_mturk.local.store import Store
from babe_mturk.local.workers import simulate
from babe_tasks.steps.funds import insufficient, rerun_advice


def set_balance(turk, dollars: str) -> None:
    with turk.store.write() as tx:
        Store.set_meta(tx, "balance", dollars)


def test_approve_with_too_low_a_balance_says_insufficient_funds(babe, experiment, turk):
    assert babe("create", "--assignments", "3", "--reward", "1.00").code == 0
    simulate(turk, workers=3, seed=1)
    set_balance(turk, "1.50")  # one approval ($1.20) fits, the next does not

    run = babe("approve")

    assert run.code == 1, run
    assert "the account has insufficient funds: add funds (babe doctor shows the balance), then run approve again" in run.err
    set_balance(turk, "100.00")
    assert babe("approve").code == 0


def test_other_failures_keep_the_plain_advice():
    assert rerun_advice(["Read timeout on endpoint URL"], "run approve again to finish") == "run approve again to finish"
    assert insufficient("Insufficient funds: the bonuses cost £3.00 and £1.00 is free.")  # Prolific's words
    assert insufficient(type("E", (), {"code": "InsufficientFunds"})())
