"""Targets and endpoints: where calls go, credentials, and the errors that must never be tracebacks."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from babe_mturk.local.server import serve_in_thread
from babe_tasks.planning import MASTERS_IDS, make_plan
from babe_tasks.platform.base import HitInfo
from babe_mturk.platform import ENDPOINTS, MTurkPlatform
from babe_tasks.settings import Settings

from .conftest import hit_ids


@pytest.fixture
def fake_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


@pytest.fixture
def server(state_path):
    """`babe local.serve` in a thread, over this test's state: the URL."""
    srv, url = serve_in_thread(str(state_path))
    yield url
    srv.shutdown()


@pytest.fixture
def refusing_server(httpserver):
    """A server answering every call as AWS does for unknown credentials (400 UnrecognizedClientException)."""
    body = json.dumps({"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."})
    httpserver.expect_request(re.compile("/.*"), method="POST").respond_with_data(
        body, status=400, content_type="application/x-amz-json-1.1"
    )
    return httpserver.url_for("/").rstrip("/")


@pytest.mark.parametrize("task", ["create", "status", "expire"])
def test_an_unreachable_endpoint_exits_4_naming_the_closure(babe, created, monkeypatch, task):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    beside = ("--again",) if task == "create" else ()  # a batch beside the posted one, not a refusal
    run = babe(task, "--endpoint-url", "http://127.0.0.1:1", "--json", *beside)
    assert run.code == 4, run
    message = run.json["error"]["message"]
    assert "cannot reach the MTurk endpoint http://127.0.0.1:1" in message
    assert "Amazon closed Mechanical Turk on 2026-09-30" in message
    assert "Traceback" not in run.err
    assert run.err.strip().splitlines()[-1] == f"error: {message}"


@pytest.mark.parametrize("target", ["sandbox", "live"])
@pytest.mark.parametrize("task", [("create", "--yes"), ("status",), ("approve", "--yes"), ("expire",)])
def test_sandbox_and_live_without_credentials_exit_2(babe, experiment, target, task):
    run = babe(*task, "--target", target)
    assert run.code == 2, run
    assert f"no AWS credentials for {target}" in run.err and "2026-09-30" in run.err


def test_a_missing_profile_exits_2(babe, experiment):
    run = babe("status", "--target", "sandbox", "--profile", "nosuchprofile")
    assert run.code == 2
    assert "AWS profile 'nosuchprofile' is not configured" in run.err


def test_refused_credentials_exit_4_naming_the_closure(babe, experiment, fake_credentials, refusing_server):
    run = babe("create", "--target", "sandbox", "--endpoint-url", refusing_server, "--json")
    assert run.code == 4, run
    message = run.json["error"]["message"]
    assert "refused the credentials for sandbox (UnrecognizedClientException" in message
    assert "2026-09-30" in message


def test_the_lifecycle_over_http_with_endpoint_url(babe, experiment, server, turk, mturk):
    from babe_mturk.local.workers import simulate

    created = babe("create", "--assignments", "20", "--endpoint-url", server, "--json")
    assert created.code == 0, created
    assert all(h["preview_url"] is None for h in created.json["hits"])  # custom endpoint: no worker site
    assert len(hit_ids(mturk)) == 3  # the server shares the test's state
    simulate(turk, workers=20, seed=1)
    assert babe("status", "--endpoint-url", server, "--json").json["totals"]["submitted"] == 20
    assert babe("approve", "--endpoint-url", server, "--json").json["approved"] == 20
    assert len(babe("expire", "--delete", "--endpoint-url", server, "--json").json["deleted"]) == 3


def test_live_over_an_endpoint_asks_before_spending(babe, experiment, server, turk, fake_credentials):
    from babe_mturk.local.workers import simulate

    refused = babe("create", "--target", "live", "--endpoint-url", server, "--assignments", "3")
    assert refused.code == 2 and "needs confirmation" in refused.err
    created = babe("create", "--target", "live", "--endpoint-url", server, "--assignments", "3", "--yes", "--json")
    assert created.code == 0, created
    simulate(turk, workers=3, seed=2)
    refused = babe("approve", "--target", "live", "--endpoint-url", server)
    assert refused.code == 2
    assert "Approve 3 assignments on live for $1.80? needs confirmation" in refused.err
    approved = babe("approve", "--target", "live", "--endpoint-url", server, "--yes", "--json")
    assert approved.json["approved"] == 3
    # the ledger keeps live HITs apart from local ones
    assert babe("status", "--json").json["hits"] == []


def _settings(tmp_path, target, endpoint_url=None):
    return Settings.build(
        None, folder=tmp_path, experiment="exp", target=target, endpoint_url=endpoint_url,
        url="https://example.org/", title="T", description="D", reward="1.00",
    )


@pytest.mark.parametrize(
    "target, preview",
    [
        ("sandbox", "https://workersandbox.mturk.com/mturk/preview?groupId=G123"),
        ("live", "https://worker.mturk.com/mturk/preview?groupId=G123"),
        ("local", None),
    ],
)
def test_preview_url_follows_the_target(tmp_path, target, preview):
    hit = HitInfo("H123", "Assignable", 1, 1, 0, 0, Decimal("0.50"), None, hit_type_id="T123", hit_group_id="G123")
    assert MTurkPlatform(_settings(tmp_path, target)).preview_url(hit) == preview
    assert MTurkPlatform(_settings(tmp_path, target, "http://127.0.0.1:9")).preview_url(hit) is None


@pytest.mark.parametrize("target", ["sandbox", "live"])
def test_clients_for_amazon_use_its_endpoint_region_and_the_shipped_retries(tmp_path, fake_credentials, target):
    client = MTurkPlatform(_settings(tmp_path, target)).client
    assert client.meta.endpoint_url == ENDPOINTS[target]
    assert client.meta.region_name == "us-east-1"
    # babe_mturk/retries.py: standard mode, 8 attempts (docs/reliability.md, issue 14)
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}


@pytest.mark.parametrize("target, masters", [("sandbox", MASTERS_IDS["sandbox"]), ("live", MASTERS_IDS["live"])])
def test_the_target_decides_the_masters_id_even_over_an_endpoint(tmp_path, target, masters):
    settings = _settings(tmp_path, target, "http://127.0.0.1:9")
    plan = make_plan(settings)
    plan.masters = True
    assert MTurkPlatform(settings).requirements(plan) == [{"QualificationTypeId": masters, "Comparator": "Exists"}]


def test_profile_credentials_are_used_for_sandbox(babe, experiment, server, tmp_path):
    (tmp_path / "no-aws-credentials").write_text(
        "[lab]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = secret\n"
    )
    run = babe("create", "--target", "sandbox", "--profile", "lab", "--endpoint-url", server, "--assignments", "3", "--json")
    assert run.code == 0, run
    assert babe("status", "--target", "sandbox", "--profile", "lab", "--endpoint-url", server, "--json").json["totals"][
        "available"
    ] == 3
    assert babe("status", "--target", "sandbox", "--endpoint-url", server).code == 2  # no profile: no credentials


def test_a_malformed_babe_local_faults_exits_2_before_anything(babe, experiment, monkeypatch, mturk):
    monkeypatch.setenv("BABE_LOCAL_FAULTS", "throttle=2")
    run = babe("create", "--assignments", "3", "--json")
    assert run.code == 2
    assert "BABE_LOCAL_FAULTS" in run.json["error"]["message"] and "Traceback" not in run.err
    monkeypatch.delenv("BABE_LOCAL_FAULTS")
    assert mturk.list_hits()["HITs"] == []


def test_the_platform_reads_the_clock_of_a_local_server_behind_endpoint_url(experiment, server, turk):
    """`babe local.clock --advance` moves a served local MTurk's time; deadlines (`watch --until`)
    and expiry arithmetic must follow it over HTTP as they do in-process."""
    from datetime import UTC, datetime

    turk.store.advance_clock(25 * 3600)
    platform = MTurkPlatform(Settings.build(endpoint_url=server))
    ahead = (platform.now() - datetime.now(UTC)).total_seconds()
    assert 25 * 3600 - 60 < ahead < 25 * 3600 + 60
    elsewhere = MTurkPlatform(Settings.build(endpoint_url="http://127.0.0.1:1"))
    assert abs((elsewhere.now() - datetime.now(UTC)).total_seconds()) < 60  # not our server: machine time
