"""Hooks through both ways in, delivered over real HTTP to a receiver on 127.0.0.1: the subscription
flow, signed study and submission events, the events list, retries and failures, and that a slow
or broken receiver never holds up an API answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from babe_prolific.local import advance_clock
from babe_tasks.testing.webhook import WebhookReceiver

from .conftest import SPEC_AUTH, error_of


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def _workspace(api) -> str:
    return api.get("users/me/").json()["current_workspace_id"]


def _secret(api) -> str:
    response = api.post("hooks/secrets/", {"workspace_id": _workspace(api)})
    assert response.status_code == 201, response.text
    return response.json()["value"]


def _subscribe(api, url, event_type="study.status.change", *, confirm=True) -> str:
    made = api.post("hooks/subscriptions/", {"workspace_id": _workspace(api), "event_type": event_type, "target_url": url})
    assert made.status_code == 201, made.text
    subscription_id = made.json()["id"]
    if confirm:
        confirmed = api.post(f"hooks/subscriptions/{subscription_id}/", {"secret": made.headers["X-Hook-Secret"]})
        assert confirmed.status_code == 200, confirmed.text
    return subscription_id


def _events(api, subscription_id, **params) -> list[dict]:
    return api.get(f"hooks/subscriptions/{subscription_id}/events/", params=params).json()["results"]


def _until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _signed_by(post, secret: str) -> bool:
    """The spec's own verification recipe, applied to what the receiver got."""
    timestamp = post.headers["X-Prolific-Request-Timestamp"]
    calculated = base64.b64encode(hmac.new(secret.encode(), str.encode(timestamp + json.dumps(post.body)), hashlib.sha256).digest())
    return hmac.compare_digest(calculated, str.encode(post.headers["X-Prolific-Request-Signature"]))


def test_event_types_and_secrets(api):
    types = {t["event_type"] for t in api.get("hooks/event-types/").json()["results"]}
    assert {"study.status.change", "submission.status.change"} <= types
    first = _secret(api)
    listed = api.get("hooks/secrets/", params={"workspace_id": _workspace(api)}).json()["results"]
    assert [s["value"] for s in listed] == [first] and listed[0]["workspace_id"] == _workspace(api)
    second = _secret(api)  # one per workspace: a new one replaces the old
    assert second != first
    assert [s["value"] for s in api.get("hooks/secrets/", params={"workspace_id": _workspace(api)}).json()["results"]] == [second]
    assert api.get("hooks/secrets/").status_code == 400


def test_the_subscription_flow_and_its_refusals(api, receiver):
    body = {"workspace_id": _workspace(api), "event_type": "study.status.change", "target_url": receiver.url}
    assert "workspace_id" in error_of(api.post("hooks/subscriptions/", body))["detail"]  # no secret yet
    _secret(api)
    outside = error_of(api.post("hooks/subscriptions/", {**body, "target_url": "https://example.com/hooks"}))
    assert "127.0.0.1" in outside["detail"]["target_url"][0]
    assert "event_type" in error_of(api.post("hooks/subscriptions/", {**body, "event_type": "study.created"}))["detail"]

    made = api.post("hooks/subscriptions/", body)
    assert made.status_code == 201 and made.headers["X-Hook-Secret"]
    created = made.json()
    assert created["results"][0]["id"] == created["id"] and created["target_url"] == receiver.url
    wrong = api.post(f"hooks/subscriptions/{created['id']}/", {"secret": "not-it"})
    assert "secret" in error_of(wrong)["detail"]
    confirmed = api.post(f"hooks/subscriptions/{created['id']}/", {"secret": made.headers["X-Hook-Secret"]})
    assert confirmed.status_code == 200 and confirmed.json()["is_enabled"] is True
    assert api.get(f"hooks/subscriptions/{created['id']}/").json() == confirmed.json()

    disabled = api.patch(f"hooks/subscriptions/{created['id']}/", {"is_enabled": False})
    assert disabled.status_code == 200 and disabled.json()["is_enabled"] is False
    assert api.get("hooks/subscriptions/").json()["results"] == []  # enabled ones only, by default
    assert [s["id"] for s in api.get("hooks/subscriptions/", params={"is_enabled": "false"}).json()["results"]] == [created["id"]]
    assert api.patch(f"hooks/subscriptions/{created['id']}/", {"target_url": "http://10.0.0.1/x"}).status_code == 400
    assert api.delete(f"hooks/subscriptions/{created['id']}/").status_code == 204
    assert api.get(f"hooks/subscriptions/{created['id']}/").status_code == 404


def test_study_and_submission_events_are_delivered_signed(api, receiver):
    secret = _secret(api)
    studies_hook = _subscribe(api, receiver.url)
    submissions_hook = _subscribe(api, receiver.url, "submission.status.change")
    study = api.published(total_available_places=2)
    people = api.simulate(study["id"], 2, seed=5)
    api.get("users/me/")  # the next request wakes the deliverer for what the participants did
    posts = receiver.wait_for(5, timeout=10)
    bodies = [p.body for p in posts]
    study_events = [b for b in bodies if b["event_type"] == "study.status.change"]
    # Publishing passes through PUBLISHING; both places filled make it AWAITING REVIEW.
    assert [b["status"] for b in study_events] == ["PUBLISHING", "ACTIVE", "AWAITING REVIEW"]
    assert all(b["resource_id"] == study["id"] and b["metadata"] == {} for b in study_events)
    submission_events = [b for b in bodies if b["event_type"] == "submission.status.change"]
    assert sorted((b["resource_id"], b["participant_id"], b["status"]) for b in submission_events) == sorted(
        (p["submission_id"], p["participant_id"], "AWAITING REVIEW") for p in people)
    assert all(_signed_by(p, secret) for p in posts)
    assert all(abs(int(p.headers["X-Prolific-Request-Timestamp"]) - time.time()) < 60 for p in posts)

    recorded = _until(lambda: (lambda e: e if all(x["status"] == "SUCCEEDED" for x in e) else None)(_events(api, studies_hook)))
    assert recorded and [e["payload"] for e in recorded] == study_events
    assert all(e["target_url"] == receiver.url and e["attempts"][0]["status_code"] == 200 for e in recorded)
    assert len(_events(api, submissions_hook, resource_id=people[0]["submission_id"])) == 1
    assert _events(api, studies_hook, status="FAILED") == []
    assert len(_events(api, studies_hook, status='["SUCCEEDED", "FAILED"]', limit=1)) == 1
    assert api.get(f"hooks/subscriptions/{studies_hook}/events/", params={"status": "DONE"}).status_code == 400


def test_unconfirmed_and_disabled_subscriptions_get_nothing(local, receiver):
    _secret(local)
    pending = _subscribe(local, receiver.url, confirm=False)
    off = _subscribe(local, receiver.url)
    local.patch(f"hooks/subscriptions/{off}/", {"is_enabled": False})
    local.published()
    local.get("users/me/")
    assert _events(local, pending) == [] and _events(local, off) == []
    time.sleep(0.3)
    assert receiver.posts == []


def test_failures_are_retried_then_failed_and_never_hold_up_an_answer(local, receiver):
    _secret(local)
    receiver.mode = "500"
    broken = _subscribe(local, receiver.url)
    gone = _subscribe(local, receiver.down_url)
    study = local.draft()
    started = time.monotonic()
    assert local.post(f"studies/{study['id']}/transition/", {"action": "PUBLISH"}).status_code == 200
    assert time.monotonic() - started < 1.0
    receiver.wait_for(1)
    for _ in range(3):  # the retries are due 1 s and 4 s later on the local clock
        advance_clock(local.state, 5)
        local.get("users/me/")
        time.sleep(0.3)
    failed = _until(lambda: (lambda e: e if e and all(x["status"] == "FAILED" for x in e) else None)(_events(local, broken)))
    assert failed, _events(local, broken)
    assert [a["status_code"] for a in failed[0]["attempts"]] == [500, 500, 500]
    down = _until(lambda: (lambda e: e if e and all(x["status"] == "FAILED" for x in e) else None)(_events(local, gone)))
    assert down and all(a["status_code"] is None and a["error"] for a in down[0]["attempts"])


def test_a_slow_receiver_does_not_slow_the_api(local):
    with WebhookReceiver(mode="slow", delay=5) as slow:
        _secret(local)
        _subscribe(local, slow.url)
        study = local.draft()
        started = time.monotonic()
        local.post(f"studies/{study['id']}/transition/", {"action": "PUBLISH"})
        slow.wait_for(1)
        for _ in range(5):
            local.get("users/me/")
        assert time.monotonic() - started < 2.0


def test_pyrolific_reads_every_answer(local, spec_client):
    """A client generated from the spec (nobody here wrote it) parses each hooks answer."""
    from pyrolific.api.hooks import (
        confirm_subscription,
        create_secret,
        create_subscription,
        delete_subscription,
        get_event_types,
        get_events,
        get_secrets,
        get_subscription,
        get_subscriptions,
        update_subscription,
    )
    from pyrolific.models import CreateSecret, SubscriptionDetail, SubscriptionUpdateDetail

    client, token = spec_client, SPEC_AUTH
    workspace_id = _workspace(local)
    assert get_event_types.sync_detailed(client=client, authorization=token).parsed.results
    secret = create_secret.sync_detailed(client=client, body=CreateSecret(workspace_id=workspace_id), authorization=token).parsed
    assert get_secrets.sync_detailed(client=client, workspace_id=workspace_id, authorization=token).parsed.results[0].value == secret.value
    detail = SubscriptionDetail(event_type="study.status.change", target_url="http://127.0.0.1:9/hooks", workspace_id=workspace_id)
    made = create_subscription.sync_detailed(client=client, body=detail, authorization=token)
    subscription_id = made.parsed.results[0].id
    detail["secret"] = made.headers["X-Hook-Secret"]  # the guide's confirmation member, beside the schema's
    assert confirm_subscription.sync_detailed(subscription_id, client=client, body=detail, authorization=token).parsed.id == subscription_id
    assert get_subscription.sync_detailed(subscription_id, client=client, authorization=token).parsed.is_enabled is True
    assert [s.id for s in get_subscriptions.sync_detailed(client=client, authorization=token).parsed.results] == [subscription_id]
    local.published()
    assert get_events.sync_detailed(subscription_id, client=client, authorization=token).parsed.results[0].event_type == "study.status.change"
    off = SubscriptionUpdateDetail(event_type="study.status.change", target_url="http://127.0.0.1:9/hooks", is_enabled=False)
    assert update_subscription.sync_detailed(subscription_id, client=client, body=off, authorization=token).parsed.is_enabled is False
    assert delete_subscription.sync_detailed(subscription_id, client=client, authorization=token).status_code == 204
