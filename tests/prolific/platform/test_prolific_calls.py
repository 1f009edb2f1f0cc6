"""Exactly which requests each step makes on Prolific, counted by the local Prolific itself.

benchmarks/prolific.py reports these counts beside the minimum Prolific's API allows; the tests
pin them, so a change that adds a request per page, per study or per submission shows up as a
failing count here rather than as a slower figure nobody reruns. Bonus files have their own
count tests (test_prolific_bonus.py: 100 rows are one set-up, one pay and its confirmation; 250 rows two set-ups).

The expected numbers are built from the adapter's own limits (`PAGE_SIZE` submissions per list
page, `BULK_APPROVE` ids per bulk approval), so they say what each request is for. Prolific
documents no per-status counts of a study's submissions: a study's counts are its list (every
page), which the step's next listing of the study reuses. Fees come from the cost calculator, asked
once per run for a step that prices anything.
"""

from __future__ import annotations

import math

from babe_prolific.client import PAGE_SIZE
from babe_prolific.platform import BULK_APPROVE


def requests(local) -> dict[str, int]:
    """API requests the local Prolific has answered so far, per route."""
    from babe_prolific.local import stats

    return dict(stats(local.state)["calls"])


def made(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {route: after[route] - before.get(route, 0) for route in after if after[route] != before.get(route, 0)}


def pages(count: int) -> int:
    """List pages of submissions the adapter reads for `count` of them (an empty list is one page)."""
    return max(1, math.ceil(count / PAGE_SIZE))


def study_of(babe, people, places: int, submit: int) -> str:
    """A published study of `places` places, `submit` of them taken and submitted."""
    run = babe("create", "--assignments", str(places), "--json")
    assert run.code == 0, run
    study = run.json["hits"][0]["hit_id"]
    visits = [v for v in people(study, submit) if v["outcome"] == "submit"]
    assert len(visits) == submit
    return study


def test_create_is_the_account_a_name_lookup_the_draft_its_publication_and_the_counts(babe, experiment, local):
    before = requests(local)
    run = babe("create", "--assignments", "1000", "--json")
    assert run.code == 0, run
    assert made(before, requests(local)) == {
        "GET /users/me/": 1,  # currency and minimum pay: the cost shown and checked
        "POST /study-cost-calculator/": 1,  # the fees (the account's rates are only a cross-check)
        # the experiment's studies (the ledger knows none: a lost `.babe/` must not hide them), then a
        # study named after the plan? (a re-run must not post a second draft)
        "GET /studies/": 2,
        "POST /studies/": 1,  # the draft
        "POST /studies/{id}/transition/": 1,  # PUBLISH (settled at once here: no second look)
        "GET /studies/{id}/submissions/": 1,  # the posted study's counts, for the ledger
    }


def test_status_reads_the_account_the_study_its_counts_and_every_page_of_submissions(babe, experiment, people, local):
    study_of(babe, people, 250, 250)
    before = requests(local)
    run = babe("status", "--json")
    assert run.code == 0, run
    assert run.json["hits"][0]["submitted"] == 250
    assert made(before, requests(local)) == {
        "GET /users/me/": 1,
        "POST /study-cost-calculator/": 1,
        "GET /studies/{id}/": 1,
        "GET /studies/{id}/submissions/": pages(250),  # 3 pages of 100: the counts, and the list
    }


def test_approve_lists_once_approves_in_one_bulk_call_and_confirms_by_listing_once(babe, experiment, people, local):
    study_of(babe, people, 250, 250)
    before = requests(local)
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 250
    assert made(before, requests(local)) == {
        "GET /users/me/": 1,
        "POST /study-cost-calculator/": 1,
        "GET /studies/{id}/submissions/": 2 * pages(250),  # the list, then the confirmation
        "POST /submissions/bulk-approve/": 1,
    }


def test_more_than_a_thousand_approvals_take_one_bulk_call_per_thousand(babe, experiment, people, local):
    study_of(babe, people, BULK_APPROVE + 1, BULK_APPROVE + 1)
    before = requests(local)
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert (run.json["approved"], run.json["failed"]) == (BULK_APPROVE + 1, [])
    chunks = 2  # the approve step hands the adapter at most APPROVE_CHUNK (1,000) ids per call
    assert made(before, requests(local)) == {
        "GET /users/me/": 1,
        "POST /study-cost-calculator/": 1,
        # The list, then one confirmation per chunk: each call confirms by listing the whole study.
        "GET /studies/{id}/submissions/": (1 + chunks) * pages(BULK_APPROVE + 1),
        "POST /submissions/bulk-approve/": chunks,
    }
    # Both accepted: the local Prolific refuses (400) a bulk call of more than 1,000 ids.
    assert local.calls("POST /submissions/bulk-approve/", 200) == 2
    assert {s["status"] for s in local.submissions().values()} == {"APPROVED"}


def test_a_second_approve_with_nothing_new_only_lists(babe, experiment, people, local):
    study_of(babe, people, 250, 250)
    assert babe("approve", "--json").code == 0
    before = requests(local)
    again = babe("approve", "--json")
    assert (again.code, again.json["approved"], again.json["already_approved"]) == (0, 0, 250)
    assert made(before, requests(local)) == {
        "GET /users/me/": 1,
        "POST /study-cost-calculator/": 1,
        "GET /studies/{id}/submissions/": pages(250),
    }


def test_expire_of_an_open_study_is_one_stop(babe, experiment, people, local):
    study = study_of(babe, people, 10, 4)
    before = requests(local)
    run = babe("expire", "--json")
    assert run.code == 0, run
    assert made(before, requests(local)) == {
        "GET /studies/{id}/": 1,
        "GET /studies/{id}/submissions/": 1,  # its counts
        "POST /studies/{id}/transition/": 1,  # STOP
    }
    assert [s["status"] for s in local.studies() if s["id"] == study] == ["COMPLETED"]  # stopped


def test_expire_of_a_full_study_reads_it_and_changes_nothing(babe, experiment, people, local):
    study_of(babe, people, 10, 10)
    before = requests(local)
    run = babe("expire", "--json")
    assert run.code == 0, run
    assert made(before, requests(local)) == {"GET /studies/{id}/": 1, "GET /studies/{id}/submissions/": 1}
