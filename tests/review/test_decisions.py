"""Decisions made on the page: the CLI's steps, behind a confirmation, and the platform and ledger agree.

Every decision here goes preview → confirm through the real server, and is then checked where it
lands: the local MTurk (statuses, the balance, bonus payments) and the ledger (`babe status`).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from babe_tasks.testing.experiment import write_plugin


def statuses(babe_turk, ids) -> dict[str, str]:
    client = babe_turk.client
    return {i: client.get_assignment(AssignmentId=i)["Assignment"]["AssignmentStatus"] for i in ids}


def bonuses(babe_turk, ids) -> list[dict]:
    client = babe_turk.client
    return [b for i in ids for b in client.list_bonus_payments(AssignmentId=i)["BonusPayments"]]


def test_approving_a_selection_pays_what_the_preview_showed_platform_and_ledger_to_the_cent(
    submitted, start_review, babe_turk, babe
):
    work = submitted(4)
    chosen = [w.assignment_id for w in work[:3]]
    balance = babe_turk.balance()
    served = start_review()

    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": chosen}).json
    assert preview["money"] == {"rewards": "1.50", "fees": "0.30", "total": "1.80", "currency": "USD", "symbol": "$"}
    assert preview["message"] == "Approve 3 submissions on local for $1.80 (rewards $1.50 + fees $0.30)?"
    assert sorted(preview["assignment_ids"]) == sorted(chosen) and preview["held"] == []
    assert statuses(babe_turk, chosen) == dict.fromkeys(chosen, "Submitted")  # a preview pays nothing
    assert babe_turk.balance() == balance

    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["action"] == "approve" and answer["message"] == "Approved 3."
    assert answer["result"] == {"approved": 3, "already_approved": 0, "held": [], "failed": []}
    assert {i["assignment_id"]: i["status"] for i in answer["items"]} == dict.fromkeys(chosen, "Approved")

    assert statuses(babe_turk, [w.assignment_id for w in work]) == {**dict.fromkeys(chosen, "Approved"), work[3].assignment_id: "Submitted"}
    assert Decimal(str(babe_turk.balance())) == Decimal(str(balance)) - Decimal("1.80")
    status = babe("status", "--json").json
    assert status["spent"] == "1.80"
    out, _ = served.stop()
    assert "Review ended: approved 3, rejected 0, bonuses 0 for $0.00." in out


def test_a_confirmation_is_used_once(submitted, start_review, babe_turk):
    work = submitted(2)
    served = start_review()
    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": [work[0].assignment_id]}).json
    assert served.post("/api/decide", {"confirmation": preview["confirmation"]}).status == 200
    again = served.post("/api/decide", {"confirmation": preview["confirmation"]})
    assert (again.status, again.json) == (409, {"error": "this confirmation is unknown, used or expired: preview the decision again"})
    made_up = served.post("/api/decide", {"confirmation": "A" * 32})
    assert made_up.status == 409
    assert statuses(babe_turk, [w.assignment_id for w in work]) == {work[0].assignment_id: "Approved", work[1].assignment_id: "Submitted"}
    # Approving it again: nothing left to do, so no confirmation is handed out.
    nothing = served.post("/api/preview", {"action": "approve", "assignment_ids": [work[0].assignment_id]}).json
    assert nothing["confirmation"] is None and nothing["money"] is None
    assert nothing["message"] == "Nothing to approve: 1 already approved."
    served.stop()


def test_a_decision_whose_money_changed_since_the_preview_is_refused_and_nothing_is_paid(
    submitted, start_review, babe_turk, experiment, ledger_write
):
    work = submitted(2)
    ids = [w.assignment_id for w in work]
    served = start_review()
    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": ids}).json
    assert preview["money"]["total"] == "1.20"
    ledger_write(experiment, "UPDATE hits SET reward = ?", ("0.60",))  # the step now prices them higher

    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]})
    assert answer.status == 409
    assert answer.json == {"error": "the amount changed since you confirmed (was $1.20, now $1.44): confirm again"}
    assert statuses(babe_turk, ids) == dict.fromkeys(ids, "Submitted")
    out, _ = served.stop()
    assert "approved 0" in out


SECOND_HOLD = '''
from pathlib import Path
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    flag = Path(settings.folder) / "hold-now"
    if not flag.exists():
        return None
    return [(a.assignment_id, "held since") for a in assignments if a.assignment_id == flag.read_text()]
'''


def test_a_decision_whose_submissions_changed_is_refused(submitted, start_review, babe_turk, experiment):
    write_plugin(experiment, "later", SECOND_HOLD)
    work = submitted(2)
    ids = [w.assignment_id for w in work]
    served = start_review()
    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": ids}).json
    (experiment / "hold-now").write_text(ids[1])
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]})
    assert (answer.status, answer.json) == (409, {"error": "the submissions changed since you confirmed (were 2, now 1): confirm again"})
    assert statuses(babe_turk, ids) == dict.fromkeys(ids, "Submitted")
    served.stop()


def test_reject_with_a_reason(submitted, start_review, babe_turk, babe):
    work = submitted(2)
    target = work[0].assignment_id
    served = start_review()
    missing = served.post("/api/preview", {"action": "reject", "assignment_ids": [target]})
    assert missing.status == 400 and missing.json["error"].startswith("reason is required")
    category = served.post("/api/preview", {"action": "reject", "assignment_ids": [target], "reason": "x", "category": "LOW_EFFORT"})
    assert (category.status, category.json) == (400, {"error": "mturk has no rejection categories: give only a reason"})
    too_long = served.post("/api/preview", {"action": "reject", "assignment_ids": [target], "reason": "x" * 1025})
    assert too_long.status == 400 and "at most 1024" in too_long.json["error"]

    reason = "The attention checks were not answered."
    preview = served.post("/api/preview", {"action": "reject", "assignment_ids": [target], "reason": reason}).json
    assert preview["money"] is None and preview["assignment_ids"] == [target]
    assert preview["message"] == f"Reject 1 submission on local? The participant will read: {reason}"
    assert statuses(babe_turk, [target]) == {target: "Submitted"}
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Rejected 1."
    assert answer["result"]["rejected"] == [{"assignment_id": target, "worker_id": work[0].worker_id, "hit_id": work[0].hit_id}]
    assert answer["items"][0]["status"] == "Rejected"
    found = babe_turk.client.get_assignment(AssignmentId=target)["Assignment"]
    assert (found["AssignmentStatus"], found["RequesterFeedback"]) == ("Rejected", reason)
    assert babe("status", "--json").json["hits"][0]["rejected"] == 1
    # Approving a rejected one is nothing to do; rejecting an approved one is refused by the step.
    assert served.post("/api/preview", {"action": "approve", "assignment_ids": [target]}).json["confirmation"] is None
    served.decide("approve", [work[1].assignment_id])
    refused = served.post("/api/preview", {"action": "reject", "assignment_ids": [work[1].assignment_id], "reason": reason})
    assert refused.status == 400 and "is Approved, not Submitted" in refused.json["error"]
    out, _ = served.stop()
    assert "Review ended: approved 1, rejected 1, bonuses 0 for $0.00." in out


def test_a_bonus_is_paid_once_also_on_a_decided_submission(submitted, start_review, babe_turk, babe):
    work = submitted(2)
    ids = [w.assignment_id for w in work]
    served = start_review()
    served.decide("approve", [ids[0]])
    bad = served.post("/api/preview", {"action": "bonus", "assignment_ids": [ids[0]], "amount": "1.234", "reason": "Thanks"})
    assert bad.status == 400 and bad.json["error"].startswith("amount '1.234' is not a dollar amount: write digits with at most two")
    for fields, error in (({"reason": "Thanks"}, "amount is required"), ({"amount": "1.00"}, "reason is required")):
        answer = served.post("/api/preview", {"action": "bonus", "assignment_ids": [ids[0]], **fields})
        assert answer.status == 400 and answer.json["error"].startswith(error)

    request = {"action": "bonus", "assignment_ids": ids, "amount": "1.00", "reason": "Careful work, thank you."}
    preview = served.post("/api/preview", request).json
    assert preview["money"] == {"rewards": "2.00", "fees": "0.40", "total": "2.40", "currency": "USD", "symbol": "$"}
    assert preview["message"] == (
        "Pay 2 bonuses of $1.00 on local for $2.40 (bonuses $2.00 + fees $0.40)? The participants will read: Careful work, thank you."
    )
    assert bonuses(babe_turk, ids) == []
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Paid 2 bonuses for $2.40 with fees."
    assert [p["assignment_id"] for p in answer["result"]["paid"]] == ids
    assert {i["assignment_id"]: i["bonus_paid"] for i in answer["items"]} == dict.fromkeys(ids, "1.00")

    again = served.post("/api/preview", request).json
    assert again["confirmation"] is None
    assert again["message"] == "Nothing to pay: 2 already paid (the ledger has them)."
    paid = bonuses(babe_turk, ids)
    assert sorted((b["AssignmentId"], b["BonusAmount"], b["Reason"]) for b in paid) == sorted(
        (i, "1.00", "Careful work, thank you.") for i in ids
    )
    assert babe("status", "--json").json["spent"] == "3.00"  # a reward of 0.50 + 0.10, and 2 × (1.00 + 0.20)
    out, _ = served.stop()
    assert "Review ended: approved 1, rejected 0, bonuses 2 for $2.40." in out

    # A later review reads the bonuses from the ledger: nobody pays a second one by mistake.
    later = start_review()
    items = later.api("/api/submissions?filter=all")["items"]
    assert {i["assignment_id"]: i["bonus_paid"] for i in items} == dict.fromkeys(ids, "1.00")
    later.stop()


DATA_PLUGIN = '''
from babe_tasks.plugins import hookimpl
from babe_tasks.reviewdata import Checks, ParticipantData, ReviewData

@hookimpl
def babe_review_data(settings, assignments):
    first = assignments[0]
    return ReviewData(
        source="lab-notes",
        columns=["trial", "response"],
        participants={first.assignment_id: ParticipantData(
            rows=[{"trial": "1", "response": "<script>alert(1)</script>"}, {"trial": "2", "response": "ok"}],
            reaction_times=[400.0, 650.0],
            checks=Checks(passed=1, failed=1, failures=["trial 2: attention is 'no', expected 'yes'"]),
        )},
        group_reaction_times=[float(v) for v in range(100, 1100, 10)] + [99999.0],
        reaction_time_column="rt",
        notes=["1 row matches no submission"],
    )
'''

BROKEN_PLUGIN = '''
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_review_data(settings, assignments):
    raise RuntimeError("the lab store is down")
'''


def test_data_and_answers_come_back_as_data_never_markup(babe, experiment, babe_workers, start_review):
    write_plugin(experiment, "notes", DATA_PLUGIN)
    write_plugin(experiment, "broken", BROKEN_PLUGIN)
    created = babe("create", "--assignments", "2", "--json")
    hit_id = created.json["hits"][0]["hit_id"]
    first = babe_workers.complete(hit_id, took="2m", answer={"comments": "<img src=x onerror=alert(1)>"})
    second = babe_workers.complete(hit_id, took="3m")
    assert babe("status").code == 0
    served = start_review()

    summary = served.api("/api/summary")
    assert summary["data_sources"] == ["lab-notes"]
    assert "lab-notes: 1 row matches no submission" in summary["warnings"]
    assert any("plugin broken failed in babe_review_data: RuntimeError: the lab store is down" in w for w in summary["warnings"])
    group = summary["group"]
    assert len(group["bins"]) == 20 and sum(b["count"] for b in group["bins"]) == 101
    assert group["bins"][0]["from"] == 100 and group["bins"][-1]["to"] < 2000  # the outlier is clipped, not drawn to scale
    assert group["median"] == 600.0

    items = {i["assignment_id"]: i for i in served.api("/api/submissions")["items"]}
    assert (items[first]["has_data"], items[first]["checks"]) == (True, {"passed": 1, "failed": 1})
    assert (items[second]["has_data"], items[second]["checks"]) == (False, None)
    answer = served.get(f"/api/submissions/{first}")
    assert answer.headers["content-type"].startswith("application/json")
    detail = answer.json
    assert detail["answer"] == {"assignmentId": first, "comments": "<img src=x onerror=alert(1)>"}
    assert detail["data"] == [
        {
            "source": "lab-notes",
            "columns": ["trial", "response"],
            "rows": [["1", "<script>alert(1)</script>"], ["2", "ok"]],
            "reaction_times": [400.0, 650.0],
            "checks": {"passed": 1, "failed": 1, "failures": ["trial 2: attention is 'no', expected 'yes'"]},
        }
    ]
    assert "<script>" not in served.get("/").text
    served.stop()


VETO_PLUGIN = '''
from babe_tasks.errors import Veto
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    raise Veto("the grant is spent")
'''


def test_a_veto_is_shown_and_nothing_is_approved(submitted, start_review, babe_turk, experiment):
    write_plugin(experiment, "grant", VETO_PLUGIN)
    work = submitted(1)
    served = start_review()
    assert "approve is vetoed by plugin grant: the grant is spent" in served.api("/api/summary")["warnings"]
    answer = served.post("/api/preview", {"action": "approve", "assignment_ids": [work[0].assignment_id]})
    assert (answer.status, answer.json) == (409, {"error": "vetoed by plugin grant: the grant is spent"})
    assert statuses(babe_turk, [work[0].assignment_id]) == {work[0].assignment_id: "Submitted"}
    served.stop()


def test_a_confirmation_expires_after_ten_minutes(submitted, babe_turk):
    """In-process, with the decisions' clock in the test's hand (the server runs the same objects)."""
    from babe_tasks.plugins import plugin_manager
    from babe_tasks.review.decisions import CONFIRM_SECONDS, Decisions, Refused
    from babe_tasks.review.queue import ReviewQueue
    from babe_tasks.settings import Settings

    work = submitted(2)
    settings = Settings.build(None)
    pm = plugin_manager(settings)
    queue = ReviewQueue(settings, pm)
    queue.load()
    now = [1000.0]
    decisions = Decisions(settings, pm, queue, clock=lambda: now[0])

    late = decisions.preview({"action": "approve", "assignment_ids": [work[0].assignment_id]})
    now[0] += CONFIRM_SECONDS + 1
    with pytest.raises(Refused) as refused:
        decisions.decide({"confirmation": late["confirmation"]})
    assert (refused.value.status, refused.value.message) == (409, "this confirmation is unknown, used or expired: preview the decision again")
    assert statuses(babe_turk, [work[0].assignment_id]) == {work[0].assignment_id: "Submitted"}

    in_time = decisions.preview({"action": "approve", "assignment_ids": [work[1].assignment_id]})
    now[0] += CONFIRM_SECONDS - 1
    assert decisions.decide({"confirmation": in_time["confirmation"]})["message"] == "Approved 1."
    assert statuses(babe_turk, [work[1].assignment_id]) == {work[1].assignment_id: "Approved"}
    assert decisions.tally.line(queue.pricing) == "approved 1, rejected 0, bonuses 0 for $0.00"


def test_a_decision_done_in_part_says_where_each_submission_stands(submitted, babe_turk, monkeypatch):
    """One approval refused by the platform: the other is paid and counted, the page learns both
    statuses from the platform (502 with the step's result), and approving again finishes the job."""
    from babe_mturk.platform import MTurkPlatform

    from babe_tasks.platform.base import OperationFailed
    from babe_tasks.plugins import plugin_manager
    from babe_tasks.review.decisions import Decisions, Refused
    from babe_tasks.review.queue import ReviewQueue
    from babe_tasks.settings import Settings

    work = submitted(2)
    refused_id, paid_id = work[0].assignment_id, work[1].assignment_id
    settings = Settings.build(None)
    pm = plugin_manager(settings)
    queue = ReviewQueue(settings, pm)
    queue.load()
    decisions = Decisions(settings, pm, queue)
    real_approve = MTurkPlatform.approve

    def approve(platform, assignment_id, feedback=None):
        if assignment_id == refused_id:
            raise OperationFailed("This operation can be called with a status of: Submitted", code="RequestError")
        return real_approve(platform, assignment_id, feedback)

    preview = decisions.preview({"action": "approve", "assignment_ids": [refused_id, paid_id]})
    monkeypatch.setattr(MTurkPlatform, "approve", approve)
    with pytest.raises(Refused) as partly:
        decisions.decide({"confirmation": preview["confirmation"]})

    assert partly.value.status == 502
    assert partly.value.message.startswith(f"1 of 2 approvals failed ({refused_id}: "), partly.value.message
    assert partly.value.extra["result"]["approved"] == 1
    assert {i["assignment_id"]: i["status"] for i in partly.value.extra["items"]} == {refused_id: "Submitted", paid_id: "Approved"}
    assert statuses(babe_turk, [refused_id, paid_id]) == {refused_id: "Submitted", paid_id: "Approved"}
    assert decisions.tally.approved == 1

    monkeypatch.setattr(MTurkPlatform, "approve", real_approve)
    again = decisions.preview({"action": "approve", "assignment_ids": [refused_id, paid_id]})
    assert again["assignment_ids"] == [refused_id] and again["message"].startswith("Approve 1 submission on local for $0.60")
    assert decisions.decide({"confirmation": again["confirmation"]})["message"] == "Approved 1."
    assert statuses(babe_turk, [refused_id, paid_id]) == dict.fromkeys([refused_id, paid_id], "Approved")
