"""approve of N assignments over K HITs costs the list pages plus N approvals, nothing per assignment."""

from __future__ import annotations

import math

from .conftest import per_hit, post, work


def test_approve_costs_the_list_pages_and_one_call_per_approval(babe, server, calls):
    hits = post(babe, 40)
    submitted = work(server, 40)
    assert babe("status").code == 0  # grants the experiment's qualification, as a lab's status does
    calls.reset()
    run = babe("approve", "--yes", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == len(submitted) == 40
    # No GetHIT (prices come from the ledger), no GetAssignment, no grant: each worker has it.
    assert calls() == {"ListAssignmentsForHIT": len(hits), "ApproveAssignment": 40}


def test_a_hit_of_more_than_100_assignments_is_read_in_pages_of_100(babe, server, calls):
    hits = post(babe, 230, "--batch-size", "230")
    assert len(hits) == 1
    work(server, 230)
    assert babe("status").code == 0
    calls.reset()
    run = babe("approve", "--yes", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 230
    assert calls() == {"ListAssignmentsForHIT": math.ceil(230 / 100), "ApproveAssignment": 230}


def test_getassignment_only_for_an_invalid_assignment_state(babe, server, calls, experiment):
    post(babe, 20)
    work(server, 20)
    assert babe("status").code == 0
    # Between approve's listing and its approvals, two assignments get approved elsewhere (as
    # MTurk's auto-approval would): only those two cost a GetAssignment, to learn they are done.
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "elsewhere.py").write_text(
        "import boto3\n"
        "def babe_before_approve(settings, assignments):\n"
        "    session = boto3.session.Session(aws_access_key_id='LOCALTURKLOCALTURK00',\n"
        "                                    aws_secret_access_key='localturk', region_name='us-east-1')\n"
        "    mturk = session.client('mturk', endpoint_url=settings.endpoint_url)\n"
        "    for a in sorted(assignments, key=lambda a: a.assignment_id)[:2]:\n"
        "        mturk.approve_assignment(AssignmentId=a.assignment_id)\n"
        "    return []\n"
    )
    calls.reset()
    run = babe("approve", "--yes", "--json")
    assert run.code == 0, run
    assert (run.json["approved"], run.json["already_approved"], run.json["failed"]) == (18, 2, [])
    counted = calls()
    assert counted["GetAssignment"] == 2
    assert counted["ApproveAssignment"] == 20 + 2  # the plugin's two, then babe's twenty
    assert counted["ListAssignmentsForHIT"] == len(per_hit(server))
    assert set(counted) == {"GetAssignment", "ApproveAssignment", "ListAssignmentsForHIT"}


def test_a_second_approve_only_lists(babe, server, calls):
    hits = post(babe, 20)
    work(server, 20)
    assert babe("approve", "--yes").code == 0
    calls.reset()
    run = babe("approve", "--yes", "--json")
    assert run.code == 0, run
    assert (run.json["approved"], run.json["already_approved"]) == (0, 20)
    assert calls() == {"ListAssignmentsForHIT": len(hits)}
