"""The AWS CLI, unmodified, against `babe local.serve`: the proof that any MTurk client works.

`aws` comes from the `awscli` package (a test dependency that `.ci/run` installs): when it is
missing this test fails rather than skips, because a silent skip would hide the one check that
the server speaks the protocol to a client we did not write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from babe_mturk.local.server import serve_in_thread

QUESTION = """<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">
  <ExternalURL>https://example.org/experiment/?condition=a&amp;list=2</ExternalURL>
  <FrameHeight>0</FrameHeight>
</ExternalQuestion>"""


@pytest.fixture
def server(tmp_path):
    srv, url = serve_in_thread(str(tmp_path / "awscli.sqlite"))
    yield srv
    srv.shutdown()


@pytest.fixture
def aws(server, tmp_path):
    executable = shutil.which("aws")
    assert executable, "the AWS CLI (`aws`, package awscli) is not installed: `pip install awscli`"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDUMMYDUMMYDUMMY00", AWS_SECRET_ACCESS_KEY="dummy", AWS_PAGER="")

    def run(*args: str, expect_ok: bool = True):
        command = [executable, "mturk", *args, "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
        if expect_ok:
            assert result.returncode == 0, (args, result.stderr)
            return json.loads(result.stdout) if result.stdout.strip() else {}
        return result

    return run


def test_a_hit_life_through_the_aws_cli(aws, server, tmp_path):
    question = tmp_path / "question.xml"
    question.write_text(QUESTION)
    created = aws(
        "create-hit",
        "--title", "An experiment (AWS CLI)",
        "--description", "Posted with the AWS CLI",
        "--keywords", "experiment",
        "--reward", "0.75",
        "--max-assignments", "2",
        "--lifetime-in-seconds", "3600",
        "--assignment-duration-in-seconds", "600",
        "--auto-approval-delay-in-seconds", "86400",
        "--question", f"file://{question}",
        "--unique-request-token", "awscli-test-1",
    )["HIT"]
    hit_id = created["HITId"]
    assert created["Reward"] == "0.75" and created["MaxAssignments"] == 2
    assert created["HITStatus"] == "Assignable"
    assert "condition=a&amp;list=2" in created["Question"]

    fetched = aws("get-hit", "--hit-id", hit_id)["HIT"]
    assert fetched["HITId"] == hit_id and fetched["Title"] == "An experiment (AWS CLI)"
    assert [h["HITId"] for h in aws("list-hits")["HITs"]] == [hit_id]

    work = subprocess.run(
        ["babe", "local.work", "--endpoint-url", server.url, "--hit", hit_id, "--workers", "2", "--seed", "5", "--json"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "BABE_LOCAL_TOKEN": server.token},  # the token `babe local.serve` prints
    )
    assert work.returncode == 0, work.stderr
    submitted = json.loads(work.stdout)["submitted"]
    assert len(submitted) == 2

    listed = aws("list-assignments-for-hit", "--hit-id", hit_id)["Assignments"]
    assert sorted(a["AssignmentId"] for a in listed) == sorted(submitted)
    assert {a["AssignmentStatus"] for a in listed} == {"Submitted"}
    assert all(a["Answer"].startswith("<?xml") or "<QuestionFormAnswers" in a["Answer"] for a in listed)

    balance_before = aws("get-account-balance")["AvailableBalance"]
    for assignment_id in submitted:
        aws("approve-assignment", "--assignment-id", assignment_id, "--requester-feedback", "Thanks!")
    statuses = {a["AssignmentStatus"] for a in aws("list-assignments-for-hit", "--hit-id", hit_id)["Assignments"]}
    assert statuses == {"Approved"}
    balance_after = aws("get-account-balance")["AvailableBalance"]
    from decimal import Decimal

    assert Decimal(balance_before) - Decimal(balance_after) == Decimal("1.80")  # 2 × (0.75 + 0.15 fee)

    aws("update-expiration-for-hit", "--hit-id", hit_id, "--expire-at", "0")
    assert aws("get-hit", "--hit-id", hit_id)["HIT"]["HITStatus"] == "Reviewable"
    aws("delete-hit", "--hit-id", hit_id)
    assert aws("list-hits")["HITs"] == []

    refused = aws("approve-assignment", "--assignment-id", submitted[0], expect_ok=False)
    assert refused.returncode != 0
    assert "RequestError" in refused.stderr and "Traceback" not in refused.stderr

    requests = server.turk.stats()["requests"]
    assert requests["CreateHIT"] == 1 and requests["ApproveAssignment"] == 3 and requests["DeleteHIT"] == 1
