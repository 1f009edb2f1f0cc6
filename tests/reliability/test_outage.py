"""F6 of issue 6: exit 4 means "the platform never answered"; an outage in the middle of a run is exit 1.

docs/cli.md: 4 is "platform unreachable" (nothing was done), 1 is "some operations failed, the rest
done, and re-running finishes the job". A platform that answered earlier calls of the run and then
drops every attempt of one is the second kind: the run must say which calls failed, exit 1 and ask
for a re-run — not blame an unreachable endpoint (and, on the local target, Amazon's closure).
The outage is a real `babe local.serve` server (in a thread) that starts dropping every connection
once it has answered a chosen number of approvals; with the campaign's fault spec in-process, one
call may also meet a drop or a lost answer on every attempt.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from .helpers import START_BALANCE, assignments, balance, client, hits, ledger_rows

REWARD_AND_FEE = Decimal("0.60")


class OutageAfter:
    """The server's fault injector: answers until `approvals` approvals were answered, then drops everything."""

    def __init__(self, approvals: int):
        self.left = approvals
        self.down = False
        self.dropped = 0
        self._lock = threading.Lock()

    def apply(self, target: str, thunk):
        from babe_tasks.simulation.faults import Dropped

        with self._lock:
            if self.down:
                self.dropped += 1
                raise Dropped()
        answer = thunk()
        if target.endswith(".ApproveAssignment"):
            with self._lock:
                self.left -= 1
                self.down = self.left <= 0
        return answer

    def counts(self) -> dict:  # what `/_local/stats` asks of an injector
        return {"drop": self.dropped}


@pytest.fixture
def server(state_path, monkeypatch):
    from botocore.retries import standard

    from babe_mturk.local.server import serve_in_thread

    # Every retry decision stays botocore's; only the back-off sleep goes, so the test takes seconds.
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("BABE_MAX_CONCURRENCY", "10")
    srv, url = serve_in_thread(str(state_path))
    yield srv, url
    srv.shutdown()


def submitted_work(babe, state_path, n: int, url: str) -> list[str]:
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    run = babe("create", "--assignments", str(n), "--endpoint-url", url, "--json")
    assert run.code == 0, run
    hit_ids = [h["hit_id"] for h in run.json["hits"]]
    turk = LocalTurk(str(state_path))
    try:
        simulate(turk, hit_ids=hit_ids, seed=6)
    finally:
        turk.store.close()
    return hit_ids


def test_an_outage_in_the_middle_of_approve_exits_1_and_a_rerun_finishes(babe, experiment, state_path, server):
    srv, url = server
    n = 90
    hit_ids = submitted_work(babe, state_path, n, url)
    mturk = client(state_path)
    submitted = sum(a["AssignmentStatus"] == "Submitted" for h in hit_ids for a in assignments(mturk, h))
    assert submitted == n

    srv.faults = outage = OutageAfter(approvals=30)
    run = babe("approve", "--endpoint-url", url, "--json")

    assert run.code == 1, run
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.err, run
    assert lines[0].startswith("error: "), run
    assert f"cannot reach the MTurk endpoint {url} for ApproveAssignment" in lines[0], run
    assert "though it answered earlier calls" in lines[0] and "run approve again to finish" in lines[0], run
    assert "closed Mechanical Turk" not in lines[0], run
    document = run.json
    assert document["approved"] >= 30 and document["approved"] + len(document["failed"]) == n, document
    # A dead server ends the run quickly: once the retry budget (500 units, 5 per retry: 100
    # retries) is spent without a success, every remaining call makes one attempt. Calls that were
    # in flight when the outage began may refill the budget once more as they finish: at most
    # max_concurrency (10) of them, each with AWS_MAX_ATTEMPTS - 1 (2) retries of its own.
    retries = outage.dropped - len(document["failed"])
    assert retries <= 100 + 10 * 2, (outage.dropped, len(document["failed"]))

    srv.faults = None  # the server is back
    again = babe("approve", "--endpoint-url", url, "--json")
    assert again.code == 0, again
    assert again.json["approved"] + document["approved"] == n

    statuses = [a["AssignmentStatus"] for h in hit_ids for a in assignments(mturk, h)]
    assert statuses == ["Approved"] * n
    assert balance(mturk) == START_BALANCE - n * REWARD_AND_FEE
    paid = ledger_rows(experiment, "SELECT kind, COUNT(*) n, COUNT(DISTINCT assignment_id) d FROM payments GROUP BY kind")
    assert {r["kind"]: (r["n"], r["d"]) for r in paid} == {"reward": (n, n), "fee": (n, n)}


def test_a_server_that_never_answers_is_exit_4(babe, experiment, state_path, server):
    srv, url = server
    assert babe("create", "--assignments", "5", "--endpoint-url", url).code == 0
    srv.faults = OutageAfter(approvals=0)
    srv.faults.down = True
    before = len(hits(client(state_path)))

    run = babe("status", "--endpoint-url", url, "--json")

    assert run.code == 4, run
    message = run.json["error"]["message"]
    assert message.startswith(f"cannot reach the MTurk endpoint {url} (is `babe local.serve` running there?)"), message
    assert len(hits(client(state_path))) == before


def test_in_process_faults_that_drop_every_attempt_are_exit_4_naming_the_setting(babe, experiment, monkeypatch):
    assert babe("create", "--assignments", "5").code == 0
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "drop=0.5,lost=0.5")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")

    run = babe("status")

    assert run.code == 4, run
    assert run.err.startswith("error: the in-process local MTurk answered no attempt of "), run
    assert "BABE_LOCAL_FAULTS" in run.err and "closed Mechanical Turk" not in run.err, run
    assert len(run.err.strip().splitlines()) == 1, run


def test_the_platform_knows_whether_the_endpoint_ever_answered(state_path):
    """The unit under the exit codes: the same dropped call is exit 4 before any answer, exit 1 after one."""
    from types import SimpleNamespace

    from babe_tasks.errors import PlatformError
    from babe_mturk.local import client as local_client
    from babe_mturk.local.faults import FaultSpec, Injector, parse
    from babe_tasks.platform.base import OperationFailed
    from babe_mturk.platform import MTurkPlatform

    settings = SimpleNamespace(target="local", endpoint_url=None, local_state=str(state_path), max_requests_per_second=None)
    injector = Injector(FaultSpec(drop=1.0))
    platform = MTurkPlatform(settings, client=local_client(str(state_path), faults=injector, retries={"mode": "standard", "total_max_attempts": 2}))
    try:
        with pytest.raises(PlatformError) as cold:
            platform.balance()
        assert cold.value.exit_code == 4 and not platform.answered

        injector.spec = parse("")  # the endpoint answers
        assert platform.balance() == START_BALANCE and platform.answered

        injector.spec = parse("drop=1")  # and then drops every attempt of one call
        with pytest.raises(OperationFailed) as warm:
            platform.balance()
        assert warm.value.exit_code == 1
        assert "though it answered earlier calls; run the command again to finish" in str(warm.value)
    finally:
        platform.client.localturk.store.close()
