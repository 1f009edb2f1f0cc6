"""`babe review` on Prolific (the local Prolific): its categories offered, approve and reject with one.

The experiment runs on platform prolific, target local: the `babe review` child process talks to
the same local Prolific state file as the test (`BABE_PROLIFIC_STATE`), whose submissions are the
ground truth checked after each decision.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal


def submissions(state: str) -> dict[str, dict]:
    db = sqlite3.connect(state)
    db.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in db.execute("SELECT * FROM submissions")}
    finally:
        db.close()


def test_approve_and_reject_with_a_category_on_prolific(prolific_study, prolific, start_review, babe):
    from babe_prolific.config import REJECTION_CATEGORIES

    folder, people = prolific_study
    ids = [p["submission_id"] for p in people]
    served = start_review(env=prolific)
    summary = served.api("/api/summary")
    assert (summary["platform"], summary["nouns"]) == ("prolific", ["study", "studies"])
    assert summary["rejection_categories"] == list(REJECTION_CATEGORIES)
    assert summary["counts"] == {"awaiting": 4, "held": 0, "decided": 0}
    symbol = summary["symbol"]

    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": ids[:3]}).json
    money = preview["money"]
    assert money["rewards"] == "4.50" and money["symbol"] == symbol
    assert Decimal(money["rewards"]) + Decimal(money["fees"]) == Decimal(money["total"])
    assert preview["message"].startswith(f"Approve 3 submissions on local for {symbol}{money['total']}")
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Approved 3."
    assert babe("status", "--json").json["spent"] == money["total"]  # the ledger booked what was confirmed

    wrong = served.post("/api/preview", {"action": "reject", "assignment_ids": [ids[3]], "reason": "No code", "category": "LAZY"})
    assert wrong.status == 400 and wrong.json["error"].startswith("category 'LAZY' is not one of TOO_QUICKLY")
    request = {"action": "reject", "assignment_ids": [ids[3]], "reason": "The completion code was missing.", "category": "no_code"}
    preview = served.post("/api/preview", request).json
    assert preview["message"] == "Reject 1 submission on local? The participant will read: NO_CODE: The completion code was missing."
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Rejected 1."

    rows = submissions(prolific["BABE_PROLIFIC_STATE"])
    assert [rows[i]["status"] for i in ids] == ["APPROVED"] * 3 + ["REJECTED"]
    assert rows[ids[3]]["rejection_category"] == "NO_CODE"
    assert rows[ids[3]]["message"].startswith("The completion code was missing.")
    out, _ = served.stop()
    assert f"Review ended: approved 3, rejected 1, bonuses 0 for {symbol}0.00." in out
