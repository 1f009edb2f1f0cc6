"""Fault injection, in-process: every kind is observable through a real boto3 client, and seeded.

botocore's retry sleeps are set to zero here (`no_backoff`): these tests check which answers
botocore retries and what the service saw, not how long botocore waits between attempts.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from babe_mturk.local import client
from babe_mturk.local.faults import FaultSpec, Injector, TokenBucket, from_environment, parse
from babe_mturk.retries import DEFAULT_ATTEMPTS

TARGET = "MTurkRequesterServiceV20170117.ListWorkerBlocks"
QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://example.org/exp</ExternalURL>'
    "<FrameHeight>0</FrameHeight></ExternalQuestion>"
)
PATIENT = {"mode": "standard", "total_max_attempts": DEFAULT_ATTEMPTS}  # the attempts babe ships
IMPATIENT = {"mode": "standard", "total_max_attempts": 1}


@pytest.fixture
def no_backoff(monkeypatch):
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _hit_params(token: str) -> dict:
    return dict(
        Title="Fault test",
        Description="A HIT created through injected faults",
        Reward="0.50",
        MaxAssignments=3,
        LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600,
        Question=QUESTION,
        UniqueRequestToken=token,
    )


# -- the spec ------------------------------------------------------------------------------------
def test_full_spec_parses_and_prints_back():
    spec = parse("throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7")
    assert spec == FaultSpec(throttle=0.2, fault=0.05, drop=0.05, lost=0.05, latency_ms=20, rate=50, seed=7)
    assert parse(str(spec)) == spec
    assert str(spec) == "throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7"
    assert parse(" throttle = 0.5 , seed=0 ") == FaultSpec(throttle=0.5, seed=0)
    assert str(parse("seed=0")) == "seed=0"
    assert parse("").empty


@pytest.mark.parametrize(
    "spec, names",
    [
        ("bogus=1", "bogus"),
        ("throttle=2", "throttle"),
        ("fault=-0.1", "fault"),
        ("drop=lots", "drop"),
        ("lost=nan", "lost"),
        ("latency_ms=-5", "latency_ms"),
        ("rate=0", "rate"),
        ("seed=1.5", "seed"),
        ("throttle", "throttle"),
        ("throttle=0.1,throttle=0.2", "throttle"),
        ("throttle=0.6,fault=0.6", "add up"),
    ],
)
def test_bad_specs_are_refused_in_one_line_naming_the_key(spec, names):
    with pytest.raises(ValueError) as excinfo:
        parse(spec)
    message = str(excinfo.value)
    assert names in message
    assert "\n" not in message


def test_environment_spec_is_read_and_checked(monkeypatch):
    assert from_environment() is None
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "throttle=0.25,seed=3")
    injector = from_environment()
    assert injector is not None and injector.spec == FaultSpec(throttle=0.25, seed=3)
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "throttel=0.25")
    with pytest.raises(ValueError, match="BABE_LOCAL_FAULTS: .*unknown key 'throttel'"):
        from_environment()


# -- decisions -----------------------------------------------------------------------------------
def test_same_seed_same_sequence_and_rates_as_asked():
    spec = "throttle=0.2,fault=0.1,drop=0.1,lost=0.1,seed=42"
    first = [Injector(spec).decide(TARGET) for _ in range(1)]
    a, b, c = Injector(spec), Injector(spec), Injector(spec.replace("42", "43"))
    seq_a = [a.decide(TARGET) for _ in range(1000)]
    seq_b = [b.decide(TARGET) for _ in range(1000)]
    seq_c = [c.decide(TARGET) for _ in range(1000)]
    assert seq_a == seq_b
    assert seq_a[:1] == first
    assert seq_a != seq_c
    counts = a.counts()
    assert counts == {kind: seq_a.count(kind) for kind in counts}
    assert 150 <= counts["throttle"] <= 250
    for kind in ("fault", "drop", "lost"):
        assert 60 <= counts[kind] <= 140
    assert 400 <= seq_a.count(None) <= 600


def test_private_routes_and_other_targets_are_never_faulted():
    injector = Injector("fault=1.0")
    assert injector.decide("LocalTurkPrivate.Work") is None
    assert injector.apply("", lambda: (200, b"{}")) == (200, b"{}")
    assert injector.counts()["fault"] == 0
    assert injector.apply(TARGET, lambda: (200, b"{}"))[0] == 500
    assert injector.counts()["fault"] == 1


def test_token_bucket_allows_a_burst_then_the_rate():
    now = [100.0]
    bucket = TokenBucket(5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.2  # one token's worth
    assert bucket.take() is True
    assert bucket.take() is False
    now[0] += 10  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 5


# -- through boto3 ---------------------------------------------------------------------------------
def test_throttling_and_server_faults_are_retried_until_they_succeed(turk, no_backoff):
    injector = Injector("throttle=0.3,fault=0.2,seed=11")
    mturk = client(turk=turk, faults=injector, retries=PATIENT)
    retries = 0
    for i in range(30):
        response = mturk.create_worker_block(WorkerId=f"A{i:013d}", Reason="fault test")
        retries += response["ResponseMetadata"]["RetryAttempts"]
    counts = injector.counts()
    assert counts["throttle"] > 0 and counts["fault"] > 0
    assert retries == counts["throttle"] + counts["fault"]
    # Throttled and faulted requests never reached an operation: the service saw 30 blocks.
    assert turk.stats()["requests"] == {"CreateWorkerBlock": 30}
    assert mturk.list_worker_blocks()["NumResults"] == 30


def test_throttling_answers_like_aws_when_not_retried(turk):
    mturk = client(turk=turk, faults="throttle=1.0", retries=IMPATIENT)
    with pytest.raises(ClientError) as excinfo:
        mturk.list_worker_blocks()
    error = excinfo.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_server_fault_answers_500_service_fault_when_not_retried(turk):
    mturk = client(turk=turk, faults="fault=1.0", retries=IMPATIENT)
    with pytest.raises(ClientError) as excinfo:
        mturk.list_worker_blocks()
    assert excinfo.value.response["Error"]["Code"] == "ServiceFault"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_dropped_connections_are_retried_and_never_reach_the_service(turk, no_backoff):
    injector = Injector("drop=0.4,seed=5")
    mturk = client(turk=turk, faults=injector, retries=PATIENT)
    retries = sum(mturk.list_worker_blocks()["ResponseMetadata"]["RetryAttempts"] for _ in range(25))
    assert injector.counts()["drop"] == retries > 0
    assert turk.stats()["requests"] == {"ListWorkerBlocks": 25}
    lonely = client(turk=turk, faults="drop=1.0", retries=IMPATIENT)
    with pytest.raises(ConnectionClosedError):
        lonely.list_worker_blocks()


def _seed_where(spec: str, pattern: list) -> int:
    """The first seed whose opening decisions follow `pattern` (found through the public API)."""
    for seed in range(1000):
        injector = Injector(f"{spec},seed={seed}")
        if [injector.decide(TARGET) for _ in pattern] == pattern:
            return seed
    raise AssertionError(f"no seed below 1000 gives {pattern}")


def test_a_lost_answer_on_create_hit_is_found_again_by_its_token(turk, no_backoff):
    seed = _seed_where("lost=0.5", ["lost", None])
    injector = Injector(f"lost=0.5,seed={seed}")
    mturk = client(turk=turk, faults=injector, retries=PATIENT)
    with pytest.raises(ClientError) as excinfo:
        mturk.create_hit(**_hit_params("lost-answer-1"))
    error = excinfo.value.response
    assert error["Error"]["Code"] == "RequestError"
    assert error["TurkErrorCode"] == "AWS.MechanicalTurk.HitAlreadyExists"
    assert error["ResponseMetadata"]["RetryAttempts"] == 1
    hits = mturk.list_hits()["HITs"]
    assert len(hits) == 1, "the lost answer's HIT exists exactly once"
    assert hits[0]["HITId"] in error["Error"]["Message"]
    assert injector.counts()["lost"] == 1
    assert turk.stats()["requests"]["CreateHIT"] == 2


def test_a_lost_answer_is_a_read_timeout_when_not_retried(turk):
    mturk = client(turk=turk, faults="lost=1.0", retries=IMPATIENT)
    with pytest.raises(ReadTimeoutError):
        mturk.create_worker_block(WorkerId="A1LOSTANSWER000", Reason="lost")
    # ...but the operation was carried out.
    assert turk.stats()["requests"] == {"CreateWorkerBlock": 1}
    plain = client(turk=turk, faults=None, retries=IMPATIENT)
    assert [b["WorkerId"] for b in plain.list_worker_blocks()["WorkerBlocks"]] == ["A1LOSTANSWER000"]


def test_rate_limit_throttles_above_the_rate(turk):
    rate = 20
    injector = Injector(f"rate={rate}")
    mturk = client(turk=turk, faults=injector, retries=IMPATIENT)
    ok = throttled = 0
    started = time.monotonic()
    for _ in range(3 * rate):
        try:
            mturk.list_worker_blocks()
            ok += 1
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ThrottlingException"
            throttled += 1
    elapsed = time.monotonic() - started
    allowed = rate + rate * elapsed + 1
    assert rate <= ok <= allowed
    assert throttled == injector.counts()["rate"] >= 3 * rate - allowed
    time.sleep(2.5 / rate)  # two tokens come back
    mturk.list_worker_blocks()
    mturk.list_worker_blocks()


def test_latency_delays_every_answer(turk):
    injector = Injector("latency_ms=60")
    mturk = client(turk=turk, faults=injector, retries=IMPATIENT)
    started = time.perf_counter()
    for _ in range(3):
        mturk.list_worker_blocks()
    assert time.perf_counter() - started >= 0.18
    assert injector.counts()["latency"] == 3


def test_environment_faults_apply_to_the_in_process_client(turk, monkeypatch):
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "throttle=1.0")
    mturk = client(turk=turk, retries=IMPATIENT)
    with pytest.raises(ClientError, match="ThrottlingException"):
        mturk.list_worker_blocks()
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert client(turk=turk, retries=IMPATIENT).list_worker_blocks()["NumResults"] == 0
