"""The receiver `watch --events` runs for Prolific's webhooks, over real HTTP on 127.0.0.1.

It must believe exactly what Prolific signed: the spec's recipe (its "Verifying" Python example,
copied here as the test's oracle), a fresh timestamp, the receiver's own path — and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import time

import httpx
import pytest
from babe_prolific.receiver import MAX_BODY, TOLERANCE, Receiver, parse_listen

from babe_tasks.errors import UsageError

SECRET = "workspace-secret-for-the-test"
EVENT = {"resource_id": "6394cee383e14a167638b368", "event_type": "submission.status.change",
         "participant_id": "60a0c0ffee0000000000abcd", "status": "AWAITING REVIEW"}


def spec_signature(secret: str, timestamp: str, body: dict) -> str:
    """Prolific's documented way to compute the signature (the spec's Python example)."""
    encoded_secret = secret.encode()
    text = json.dumps(body)
    return base64.b64encode(hmac.new(encoded_secret, str.encode(timestamp + text), hashlib.sha256).digest()).decode()


@pytest.fixture
def receiver():
    made = Receiver("127.0.0.1", 0, "tok3n", (SECRET,))
    yield made
    made.close()


def url(receiver: Receiver, path: str = "/tok3n") -> str:
    host, port = receiver.address
    return f"http://{host}:{port}{path}"


def send(target: str, raw: bytes, signature: str | None, stamp: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Prolific-Request-Signature"] = signature
    if stamp is not None:
        headers["X-Prolific-Request-Timestamp"] = stamp
    return httpx.post(target, content=raw, headers=headers, timeout=5, trust_env=False).status_code


def queued(receiver: Receiver) -> list[dict]:
    found = []
    while True:
        try:
            found.append(receiver.events.get(timeout=0.2))
        except queue.Empty:
            return found


def test_an_event_signed_as_the_spec_says_is_believed_however_its_body_is_spaced(receiver):
    stamp = str(int(time.time()))
    signature = spec_signature(SECRET, stamp, EVENT)
    assert send(url(receiver), json.dumps(EVENT).encode(), signature, stamp) == 200
    compact = json.dumps(EVENT, separators=(",", ":")).encode()  # what another serialiser might send
    assert send(url(receiver, "/prolific/hooks/tok3n/"), compact, signature, stamp) == 200  # a proxy's prefix
    assert queued(receiver) == [EVENT, EVENT]
    assert receiver.forged == 0


def test_unsigned_forged_stale_and_tampered_requests_are_refused_and_never_queued(receiver):
    now = int(time.time())
    body = json.dumps(EVENT)
    good = spec_signature(SECRET, str(now), EVENT)
    tampered = json.dumps({**EVENT, "status": "APPROVED"})
    answers = [
        send(url(receiver), body.encode(), None, None),
        send(url(receiver), body.encode(), good, None),
        send(url(receiver), body.encode(), spec_signature("another secret", str(now), EVENT), str(now)),
        send(url(receiver), tampered.encode(), good, str(now)),
        send(url(receiver), body.encode(), spec_signature(SECRET, str(now - TOLERANCE - 60), EVENT), str(now - TOLERANCE - 60)),
        send(url(receiver), body.encode(), spec_signature(SECRET, str(now + TOLERANCE + 60), EVENT), str(now + TOLERANCE + 60)),
        send(url(receiver), b"not json", good, str(now)),
    ]
    assert answers == [401] * 7
    assert receiver.forged == 7 and queued(receiver) == []


def test_only_the_receivers_own_path_answers_and_big_bodies_are_refused(receiver):
    stamp = str(int(time.time()))
    signature = spec_signature(SECRET, stamp, EVENT)
    assert send(url(receiver, "/"), json.dumps(EVENT).encode(), signature, stamp) == 404
    assert send(url(receiver, "/tok3nX"), json.dumps(EVENT).encode(), signature, stamp) == 404
    assert httpx.get(url(receiver), timeout=5, trust_env=False).status_code == 405
    assert send(url(receiver), b" " * (MAX_BODY + 1), signature, stamp) == 413
    assert queued(receiver) == [] and receiver.forged == 0


def test_a_rotated_secret_is_believed_once_the_receiver_is_told(receiver):
    stamp = str(int(time.time()))
    rotated = spec_signature("the new secret", stamp, EVENT)
    assert send(url(receiver), json.dumps(EVENT).encode(), rotated, stamp) == 401
    receiver.keys = ("the new secret",)
    assert send(url(receiver), json.dumps(EVENT).encode(), rotated, stamp) == 200
    old = spec_signature(SECRET, stamp, EVENT)
    assert send(url(receiver), json.dumps(EVENT).encode(), old, stamp) == 401
    assert queued(receiver) == [EVENT]


def test_listen_addresses():
    assert parse_listen("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_listen("8765") == ("127.0.0.1", 8765)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    with pytest.raises(UsageError):
        parse_listen("localhost:http")


def test_a_port_in_use_is_the_labs_to_fix(receiver):
    host, port = receiver.address
    with pytest.raises(UsageError, match="cannot receive there"):
        Receiver(host, port, "other")
