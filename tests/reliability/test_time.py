"""Part 6 of issue 6: time passes while the tool is not running.

The local MTurk's clock is moved forward (as `babe local.clock --advance` does, for every process
sharing the state): submitted work is auto-approved after the HITs' auto-approval delay (3 days)
and the HITs expire after their lifetime (7 days), with no babe process running. The next `status`
must report exactly that, and no later `approve`, `expire` or `status` may approve or pay again.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from .helpers import START_BALANCE, assignments, balance, client, hits, ledger_rows

SUBMITTED = 12


def advance(babe, duration: str) -> None:
    run = babe("local.clock", "--advance", duration)
    assert run.code == 0, run


@pytest.mark.parametrize("seen_before", [True, False], ids=["seen-submitted-first", "never-seen-before"])
def test_auto_approval_and_expiry_while_away(seen_before, babe, experiment, state_path):
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    created = babe("create", "--assignments", "18", "--json")
    assert created.code == 0, created
    hit_ids = [h["hit_id"] for h in created.json["hits"]]
    turk = LocalTurk(str(state_path))
    try:
        assert len(simulate(turk, workers=SUBMITTED, seed=4)["submitted"]) == SUBMITTED
    finally:
        turk.store.close()
    if seen_before:
        seen = babe("status", "--json")
        assert seen.json["totals"]["submitted"] == SUBMITTED, seen

    advance(babe, "4d")  # past the 3-day auto-approval; nobody ran babe meanwhile
    status = babe("status", "--json")
    assert status.code == 0, status
    totals = status.json["totals"]
    assert (totals["submitted"], totals["approved"], totals["available"]) == (0, SUBMITTED, 18 - SUBMITTED)
    assert status.json["spent"] == "7.20"  # 12 × ($0.50 + $0.10 fee), paid by MTurk itself
    platform = {h["HITId"]: h["HITStatus"] for h in hits(client(state_path))}
    assert {h["hit_id"]: h["status"] for h in status.json["hits"]} == platform
    assert "Assignable" in platform.values()  # the HIT with open slots is still open

    approve = babe("approve", "--json")
    assert approve.code == 0, approve
    assert (approve.json["approved"], approve.json["already_approved"]) == (0, SUBMITTED)

    advance(babe, "4d")  # past the 7-day lifetime
    status = babe("status", "--json")
    assert status.code == 0, status
    mturk = client(state_path)
    platform = {h["HITId"]: h["HITStatus"] for h in hits(mturk)}
    assert {h["hit_id"]: h["status"] for h in status.json["hits"]} == platform
    assert set(platform.values()) == {"Reviewable"}  # expired: nothing pending, nobody can take them
    assert status.json["totals"]["approved"] == SUBMITTED and status.json["spent"] == "7.20"
    for command in (("approve", "--json"), ("expire", "--json"), ("status", "--json")):
        again = babe(*command)
        assert again.code == 0, again

    assert balance(mturk) == START_BALANCE - SUBMITTED * Decimal("0.60")
    statuses = [a["AssignmentStatus"] for h in hit_ids for a in assignments(mturk, h)]
    assert statuses == ["Approved"] * SUBMITTED
    paid = ledger_rows(experiment, "SELECT kind, COUNT(*) n, COUNT(DISTINCT assignment_id) d FROM payments GROUP BY kind")
    assert {r["kind"]: (r["n"], r["d"]) for r in paid} == {"reward": (SUBMITTED,) * 2, "fee": (SUBMITTED,) * 2}
