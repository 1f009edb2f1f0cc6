"""An approval whose answer was lost is reported as approved by this run, not as "already approved".

Every assignment is Submitted when approve starts and nothing else approves them, so each one the
platform shows Approved afterwards was approved by this run; under lost answers (the work done,
the answer dropped, botocore's retry told "not Submitted") the summary must say so.
"""

from __future__ import annotations

from babe_mturk.local.workers import simulate


def test_lost_answers_count_as_approved_now(babe, experiment, turk, mturk, monkeypatch):
    assert babe("create", "--assignments", "20", "--reward", "0.10").code == 0
    simulate(turk, workers=20, seed=12)
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "lost=0.3,seed=4")
    run = babe("approve", "--json")
    monkeypatch.delenv("BABE_LOCAL_FAULTS")

    assert run.json["already_approved"] == 0, run
    statuses = [
        a["AssignmentStatus"]
        for page in mturk.get_paginator("list_hits").paginate()
        for hit in page["HITs"]
        for a in mturk.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]
    ]
    failed = {item["assignment_id"] for item in run.json["failed"]}
    assert run.json["approved"] == statuses.count("Approved") - len(failed) > 0
    again = babe("approve", "--json")  # every one was approved by the first run
    assert again.json["approved"] == 0 and again.json["failed"] == []
