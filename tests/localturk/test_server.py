"""The HTTP server: the same answers as in-process, private routes, faults on the wire, concurrency."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from babe_mturk.local import client as inprocess_client
from babe_mturk.local.faults import Injector
from babe_mturk.local.inprocess import answer
from babe_mturk.local.server import serve_in_thread
from babe_tasks.simulation.serving import TOKEN_HEADER
from babe_mturk.local.service import LocalTurk
from babe_mturk.retries import DEFAULT_ATTEMPTS

QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://example.org/exp?list=1&amp;x=2</ExternalURL>'
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)
PATIENT = {"mode": "standard", "total_max_attempts": DEFAULT_ATTEMPTS}  # the attempts babe ships
IMPATIENT = {"mode": "standard", "total_max_attempts": 1}
TARGET_PREFIX = "MTurkRequesterServiceV20170117."


def http_client(url: str, retries: dict | None = None):
    """A boto3 MTurk client talking to a server, set up as any client on any machine would be."""
    session = boto3.session.Session(aws_access_key_id="AKIDUMMYDUMMYDUMMY00", aws_secret_access_key="dummy", region_name="us-east-1")
    return session.client("mturk", endpoint_url=url, config=Config(retries=retries or {"mode": "standard"}))


@pytest.fixture
def server(tmp_path):
    srv, url = serve_in_thread(str(tmp_path / "served.sqlite"))
    yield srv
    srv.shutdown()


@pytest.fixture
def ctl(server):
    """A client of the private routes, as babe's own commands are: the state file's token sent."""
    with httpx.Client(headers={TOKEN_HEADER: server.turk.store.token()}) as client:
        yield client


@pytest.fixture
def no_backoff(monkeypatch):
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def hit_params(token: str, **overrides) -> dict:
    params = dict(
        Title="Server test",
        Description="A HIT created over HTTP",
        Keywords="test",
        Reward="0.50",
        MaxAssignments=3,
        LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600,
        AutoApprovalDelayInSeconds=86400,
        Question=QUESTION,
        RequesterAnnotation="server-test",
        UniqueRequestToken=token,
    )
    params.update(overrides)
    return params


# -- same answers both ways ------------------------------------------------------------------------
#: Each step: (method, arguments built from what the earlier steps answered).
SCENARIO = [
    ("get_account_balance", lambda r: {}),
    ("create_hit", lambda r: hit_params("roundtrip-1")),
    ("create_hit", lambda r: hit_params("roundtrip-1")),  # duplicate token → HitAlreadyExists
    ("create_hit", lambda r: hit_params("roundtrip-2", Reward="0.505")),  # bad reward
    ("get_hit", lambda r: {"HITId": r[1]["HIT"]["HITId"]}),
    ("get_hit", lambda r: {"HITId": "3NOSUCHHIT000000000000000000000"}),
    ("list_hits", lambda r: {"MaxResults": 10}),
    ("list_assignments_for_hit", lambda r: {"HITId": r[1]["HIT"]["HITId"]}),
    ("create_qualification_type", lambda r: {"Name": "roundtrip seen", "Description": "took part", "QualificationTypeStatus": "Active"}),
    ("get_qualification_type", lambda r: {"QualificationTypeId": r[8]["QualificationType"]["QualificationTypeId"]}),
    ("create_worker_block", lambda r: {"WorkerId": "A1ROUNDTRIP0001", "Reason": "test"}),
    ("list_worker_blocks", lambda r: {}),
    ("delete_worker_block", lambda r: {"WorkerId": "A1NEVERBLOCKED1"}),
    ("approve_assignment", lambda r: {"AssignmentId": "3NOSUCHASSIGNMENT0000000000000"}),
    ("delete_hit", lambda r: {"HITId": r[1]["HIT"]["HITId"]}),  # not Reviewable yet
    ("update_expiration_for_hit", lambda r: {"HITId": r[1]["HIT"]["HITId"], "ExpireAt": datetime.fromtimestamp(0, timezone.utc)}),
    ("get_hit", lambda r: {"HITId": r[1]["HIT"]["HITId"]}),
    ("delete_hit", lambda r: {"HITId": r[1]["HIT"]["HITId"]}),
    ("list_hits", lambda r: {}),
]


class Normaliser:
    """Replaces ids by their order of appearance and times by a marker, keeping the structure."""

    ID = re.compile(r"\b[A-Z0-9]{20,64}\b")

    def __init__(self):
        self.ids: dict[str, str] = {}

    def _id(self, match: re.Match) -> str:
        return self.ids.setdefault(match.group(0), f"<id{len(self.ids) + 1}>")

    def __call__(self, value):
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items() if k != "ResponseMetadata"}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, datetime):
            return "<time>"
        if isinstance(value, str):
            return self.ID.sub(self._id, re.sub(r"\(\d{13}\)$", "(<ms>)", value))
        return value


def run_scenario(mturk) -> list:
    results, transcript, normalise = [], [], Normaliser()
    for method, build in SCENARIO:
        try:
            response = getattr(mturk, method)(**build(results))
            results.append(response)
            transcript.append((method, "ok", normalise(response)))
        except ClientError as exc:
            results.append(None)
            error = exc.response
            transcript.append(
                (method, "error", error["ResponseMetadata"]["HTTPStatusCode"], normalise(error["Error"]), error.get("TurkErrorCode"))
            )
    return transcript


def test_the_same_operations_answer_the_same_over_http_and_in_process(tmp_path, server):
    turk = LocalTurk(str(tmp_path / "inprocess.sqlite"))
    try:
        local = run_scenario(inprocess_client(turk=turk, retries=IMPATIENT))
    finally:
        turk.store.close()
    served = run_scenario(http_client(server.url, IMPATIENT))
    assert [step[:2] for step in served] == [step[:2] for step in local]
    for got, expected in zip(served, local, strict=True):
        assert got == expected
    # The scenario covers successes and each kind of refusal.
    kinds = {step[1] for step in local}
    statuses = {step[2] for step in local if step[1] == "error"}
    assert kinds == {"ok", "error"} and statuses == {400}
    assert sum(step[1] == "error" for step in local) >= 5


@pytest.mark.parametrize(
    "target, body",
    [
        ("MTurkRequesterServiceV20170117.GetHIT", b'{"HITId": "3NOSUCHHIT000000000000000000000"}'),
        ("MTurkRequesterServiceV20170117.NoSuchOperation", b"{}"),
        ("SomeOtherService.GetHIT", b"{}"),
        ("MTurkRequesterServiceV20170117.GetAccountBalance", b"not json"),
        ("MTurkRequesterServiceV20170117.GetAccountBalance", b"[1, 2]"),
        ("MTurkRequesterServiceV20170117.GetAccountBalance", b""),
    ],
)
def test_raw_wire_answers_are_identical(server, target, body):
    status, payload = answer(server.turk, target, body)
    response = httpx.post(server.url + "/", content=body, headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.headers["x-amzn-requestid"]

    def strip(document):
        return {k: re.sub(r"\(\d{13}\)$", "", v) if isinstance(v, str) else v for k, v in document.items()}

    assert strip(response.json()) == strip(json.loads(payload))


def test_keep_alive_connection_answers_many_requests_without_stalls(server):
    """One connection, sequential requests: a header/body split write would stall ~40 ms each."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    body = b"{}"
    headers = {"X-Amz-Target": TARGET_PREFIX + "ListWorkerBlocks", "Content-Type": "application/x-amz-json-1.1"}
    started = time.perf_counter()
    for _ in range(40):
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {"NumResults": 0, "WorkerBlocks": []}
    elapsed = time.perf_counter() - started
    first_socket = conn.sock
    assert first_socket is not None, "the server kept the connection open"
    conn.close()
    assert elapsed < 1.2, f"40 keep-alive requests took {elapsed:.2f}s: answers are stalling"


def test_unknown_routes_and_bad_bodies(server, ctl):
    assert httpx.get(server.url + "/nowhere").status_code == 404
    assert ctl.post(server.url + "/_local/nowhere", json={}).status_code == 404
    bad = ctl.post(server.url + "/_local/clock", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]["message"]
    assert ctl.post(server.url + "/_local/clock", json=[1]).status_code == 400
    assert httpx.get(server.url + "/").json()["service"] == "local MTurk"


# -- private routes ----------------------------------------------------------------------------------
def test_clock_route_reads_and_moves_the_shared_clock(server, ctl, tmp_path):
    before = httpx.get(server.url + "/_local/clock").json()
    assert before["offset"] == 0 and abs(before["now"] - time.time()) < 5
    moved = ctl.post(server.url + "/_local/clock", json={"advance": "25h"}).json()
    assert moved["offset"] == 90000
    assert moved["now"] - before["now"] == pytest.approx(90000, abs=5)
    again = ctl.post(server.url + "/_local/clock", json={"advance": 60}).json()
    assert again["offset"] == 90060
    # Another process opening the same state sees the same clock.
    other = LocalTurk(str(server.turk.store.path))
    try:
        assert other.store.clock_offset() == 90060
    finally:
        other.store.close()
    for bad in ({"advance": "yesterday"}, {"advance": -5}, {"advance": "5x"}, {"rewind": 5}):
        response = ctl.post(server.url + "/_local/clock", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["message"]
    assert httpx.get(server.url + "/_local/clock").json()["offset"] == 90060




def test_work_route_runs_simulated_workers(server, ctl):
    mturk = http_client(server.url)
    hit_id = mturk.create_hit(**hit_params("work-route-1"))["HIT"]["HITId"]
    result = ctl.post(server.url + "/_local/work", json={"hit_ids": [hit_id], "workers": 2, "seed": 1}, timeout=30).json()
    assert len(result["workers"]) == 2 and len(result["submitted"]) == 2
    listed = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert sorted(a["AssignmentId"] for a in listed) == sorted(result["submitted"])
    bad = ctl.post(server.url + "/_local/work", json={"no_such_argument": 1})
    assert bad.status_code == 400 and "no_such_argument" in bad.json()["error"]["message"]
    bad_rate = ctl.post(server.url + "/_local/work", json={"return_rate": 3})
    assert bad_rate.status_code == 400


def test_stats_route_counts_requests_errors_and_faults(server, ctl, no_backoff):
    mturk = http_client(server.url, PATIENT)
    mturk.list_worker_blocks()
    with pytest.raises(ClientError):
        mturk.get_hit(HITId="3NOSUCHHIT000000000000000000000")
    stats = httpx.get(server.url + "/_local/stats").json()
    assert stats["requests"] == {"GetHIT": 1, "ListWorkerBlocks": 1}
    assert stats["errors"] == {"GetHIT:AWS.MechanicalTurk.HITDoesNotExist": 1}
    assert stats["total"] == 2 and stats["fault_spec"] is None and not any(stats["faults"].values())

    assert ctl.post(server.url + "/_local/faults", json={"spec": "throttle=0.5,seed=4"}).json()["spec"] == "throttle=0.5,seed=4"
    for _ in range(10):
        mturk.list_worker_blocks()
    stats = httpx.get(server.url + "/_local/stats").json()
    assert stats["requests"]["ListWorkerBlocks"] == 11
    assert stats["faults"]["throttle"] > 0 and stats["fault_spec"] == "throttle=0.5,seed=4"

    reset = ctl.post(server.url + "/_local/stats/reset", json={}).json()
    assert reset["requests"] == {} and reset["total"] == 0 and not any(reset["faults"].values())


def test_faults_route_sets_clears_and_refuses(server, ctl):
    url = server.url + "/_local/faults"
    assert httpx.get(url).json() == {"spec": None, "counts": None}
    assert ctl.post(url, json={"spec": "fault=1.0"}).json()["spec"] == "fault=1"
    assert isinstance(server.faults, Injector)
    # Only the requester API is faulted: every private route still answers.
    assert httpx.get(server.url + "/_local/stats").status_code == 200
    assert httpx.get(server.url + "/_local/clock").status_code == 200
    with pytest.raises(ClientError) as excinfo:
        http_client(server.url, IMPATIENT).list_worker_blocks()
    assert excinfo.value.response["Error"]["Code"] == "ServiceFault"
    bad = ctl.post(url, json={"spec": "fault=2"})
    assert bad.status_code == 400 and "fault" in bad.json()["error"]["message"]
    assert httpx.get(url).json()["spec"] == "fault=1", "a refused spec leaves the injector as it was"
    assert ctl.post(url, json={"spec": ""}).json() == {"spec": None, "counts": None}
    assert http_client(server.url, IMPATIENT).list_worker_blocks()["NumResults"] == 0


# -- faults on the wire ------------------------------------------------------------------------------
def test_dropped_connections_over_http_are_retried(tmp_path, no_backoff):
    srv, url = serve_in_thread(str(tmp_path / "s.sqlite"), faults="drop=0.4,seed=9")
    try:
        mturk = http_client(url, PATIENT)
        retries = sum(mturk.list_worker_blocks()["ResponseMetadata"]["RetryAttempts"] for _ in range(20))
        assert srv.faults.counts()["drop"] == retries > 0
        assert srv.turk.stats()["requests"] == {"ListWorkerBlocks": 20}
        srv.faults = Injector("drop=1.0")
        with pytest.raises(ConnectionClosedError):
            http_client(url, IMPATIENT).list_worker_blocks()
    finally:
        srv.shutdown()


def test_lost_answer_over_http_the_retry_finds_the_hit(tmp_path, no_backoff):
    for seed in range(1000):
        probe = Injector(f"lost=0.5,seed={seed}")
        if [probe.decide(TARGET_PREFIX + "CreateHIT") for _ in range(2)] == ["lost", None]:
            break
    srv, url = serve_in_thread(str(tmp_path / "s.sqlite"), faults=f"lost=0.5,seed={seed}")
    try:
        mturk = http_client(url, PATIENT)
        with pytest.raises(ClientError) as excinfo:
            mturk.create_hit(**hit_params("lost-over-http"))
        error = excinfo.value.response
        assert error["TurkErrorCode"] == "AWS.MechanicalTurk.HitAlreadyExists"
        srv.faults = None
        hits = mturk.list_hits()["HITs"]
        assert len(hits) == 1 and hits[0]["HITId"] in error["Error"]["Message"]
    finally:
        srv.shutdown()


# -- concurrency and life cycle ----------------------------------------------------------------------
def test_sixteen_clients_at_once(server):
    threads, per_thread = 16, 8
    errors: list[BaseException] = []
    created: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def one_client(n: int) -> None:
        try:
            mturk = http_client(server.url, PATIENT)
            start.wait()
            for i in range(per_thread):
                hit = mturk.create_hit(**hit_params(f"concurrent-{n}-{i}", MaxAssignments=1 + i % 3))["HIT"]
                assert mturk.get_hit(HITId=hit["HITId"])["HIT"]["HITId"] == hit["HITId"]
                with lock:
                    created.append(hit["HITId"])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=one_client, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert not errors, errors[:3]
    assert len(set(created)) == threads * per_thread
    mturk = http_client(server.url)
    listed = [h["HITId"] for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]
    assert sorted(listed) == sorted(created)
    requests = server.turk.stats()["requests"]
    assert requests["CreateHIT"] == requests["GetHIT"] == threads * per_thread


def test_shutdown_closes_open_connections_and_the_port(tmp_path):
    srv, url = serve_in_thread(str(tmp_path / "s.sqlite"))
    mturk = http_client(url)
    mturk.list_worker_blocks()  # leaves a keep-alive connection open in botocore's pool
    parts = urlsplit(url)
    idle = socket.create_connection((parts.hostname, parts.port))
    started = time.perf_counter()
    srv.shutdown()
    assert time.perf_counter() - started < 5
    idle.settimeout(5)
    try:
        assert idle.recv(1) == b"", "the idle connection was closed by the server"
    except ConnectionResetError:
        pass  # closed before it was accepted: reset, which is as closed as a connection gets
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection((parts.hostname, parts.port), timeout=1)
    srv.shutdown()  # a second shutdown is harmless
    assert not [t for t in threading.enumerate() if t.name.startswith("localturk-")]


def test_a_shared_service_is_left_open(turk):
    srv, url = serve_in_thread(turk)
    try:
        http_client(url).create_worker_block(WorkerId="A1SHAREDSERVICE", Reason="shared")
    finally:
        srv.shutdown()
    assert inprocess_client(turk=turk).list_worker_blocks()["NumResults"] == 1


# -- private routes answer only this machine's own tools (issue 14, item 6) ------------------------------
def _offset(server) -> float:
    return server.turk.store.clock_offset()


def test_a_web_page_cannot_move_the_clock_or_work_hits(server):
    """What a page in the lab's browser can send to 127.0.0.1 without a CORS pre-flight: a
    text/plain POST with its own Origin (and, after DNS rebinding, its own Host). None moves the
    clock, works a HIT or sets faults."""
    mturk = http_client(server.url)
    hit_id = mturk.create_hit(**hit_params("page-1"))["HIT"]["HITId"]
    page = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    rebound = {"Content-Type": "text/plain", "Host": "evil.example:8044", "Origin": "http://evil.example:8044"}
    for headers in (page, rebound, {"Content-Type": "text/plain"}):
        assert httpx.post(server.url + "/_local/clock", content=b'{"advance": "30d"}', headers=headers).status_code in (403, 415)
        assert httpx.post(server.url + "/_local/work", content=json.dumps({"hit_ids": [hit_id]}).encode(), headers=headers).status_code in (403, 415)
        assert httpx.post(server.url + "/_local/faults", content=b'{"spec": "fault=1"}', headers=headers).status_code in (403, 415)
    assert _offset(server) == 0 and server.faults is None
    assert mturk.list_assignments_for_hit(HITId=hit_id)["NumResults"] == 0


def test_each_rule_of_the_private_routes(server, ctl):
    token = server.turk.store.token()
    url = server.url + "/_local/clock"
    cases = [
        ({}, 403, "no X-Babe-Local-Token"),  # JSON without the token
        ({TOKEN_HEADER: "guessed"}, 403, "a wrong X-Babe-Local-Token"),
        ({TOKEN_HEADER: token, "Content-Type": "text/plain"}, 415, "JSON body"),
        ({TOKEN_HEADER: token, "Origin": "http://evil.example"}, 403, "cross-origin"),
        ({TOKEN_HEADER: token, "Origin": "null"}, 403, "cross-origin"),
        ({TOKEN_HEADER: token, "Host": "evil.example"}, 403, "not a loopback name"),
        ({TOKEN_HEADER: token, "Host": "10.0.0.7:8044"}, 403, "not a loopback name"),
    ]
    for headers, status, fragment in cases:
        sent = {"Content-Type": "application/json", **headers}
        response = httpx.post(url, content=b'{"advance": 60}', headers=sent)
        assert response.status_code == status, (headers, response.text)
        assert fragment in response.json()["error"]["message"], (headers, response.text)
        assert token not in response.text
    assert _offset(server) == 0
    # The server's own origin and the loopback names are this machine's tools.
    port = server.server_address[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"127.0.0.2:{port}"):
        moved = ctl.post(url, json={"advance": 60}, headers={"Host": host, "Origin": f"http://{host}"})
        assert moved.status_code == 200, (host, moved.text)
    assert _offset(server) == 180
    # Reading needs no token, but still a loopback Host and no foreign Origin.
    assert httpx.get(url).status_code == 200
    assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 403
    assert httpx.get(server.url + "/_local/stats", headers={"Origin": "http://evil.example"}).status_code == 403
    # The requester API is not a private route: boto3 and the AWS CLI reach it as before.
    assert http_client(server.url).get_account_balance()["AvailableBalance"] == "10000.00"


def test_the_token_is_the_state_files_own(tmp_path):
    first, second = LocalTurk(str(tmp_path / "a.sqlite")), LocalTurk(str(tmp_path / "b.sqlite"))
    try:
        token = first.store.token()
        assert len(token) >= 32 and token != second.store.token()
    finally:
        first.store.close()
        second.store.close()
    again = LocalTurk(str(tmp_path / "a.sqlite"))
    try:
        assert again.store.token() == token  # drawn once, kept in the file
    finally:
        again.store.close()


def test_the_clock_cannot_be_moved_past_ten_years(server, ctl):
    url = server.url + "/_local/clock"
    bricking = ctl.post(url, json={"advance": "3000000d"})
    assert bricking.status_code == 400 and "10 years" in bricking.json()["error"]["message"]
    for bad in (b'{"advance": Infinity}', b'{"advance": NaN}', b'{"advance": 1e308}'):
        assert ctl.post(url, content=bad, headers={"Content-Type": "application/json"}).status_code == 400, bad
    assert _offset(server) == 0
    assert ctl.post(url, json={"advance": "3650d"}).status_code == 200  # up to the bound is fine
    beyond = ctl.post(url, json={"advance": "1d"})
    assert beyond.status_code == 400 and "3651 days ahead" in beyond.json()["error"]["message"]
    assert _offset(server) == 3650 * 86400
    # The state still works: a HIT is made and read on the moved clock.
    mturk = http_client(server.url)
    hit_id = mturk.create_hit(**hit_params("clock-bound-1"))["HIT"]["HITId"]
    assert mturk.get_hit(HITId=hit_id)["HIT"]["Expiration"].year >= datetime.now(timezone.utc).year + 9
