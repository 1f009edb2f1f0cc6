"""`babe assignments` on Prolific: the study's submissions with participant, status and time."""

from __future__ import annotations

import re


def test_lists_the_studys_submissions_in_prolifics_words(babe, study_id, people, local):
    people(study_id, 3)

    run = babe("assignments", "--json")

    assert run.code == 0, run
    rows = run.json["assignments"]
    truth = local.submissions()
    assert sorted(r["assignment_id"] for r in rows) == sorted(truth)
    assert {r["worker_id"] for r in rows} == {s["participant_id"] for s in truth.values()}
    assert {r["hit_id"] for r in rows} == {study_id} and all(r["submit_time"] for r in rows)

    text = babe("assignments")
    assert text.code == 0
    assert text.out.splitlines()[1].split() == ["study", "submission", "participant", "status", "submitted"]
    assert text.out.splitlines()[-1].startswith("3 submission(s): ")
    assert not re.search(r"\bHITs?\b", text.out + text.err)
