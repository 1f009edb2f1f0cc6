"""The in-process way in: a handler on the boto3 client's `before-send` event.

It runs after botocore has serialised and signed the request, so the client cannot tell it from a
network peer: retries, error parsing and fault injection behave exactly as over HTTP, but there is
no server and no port. Requests never leave the process (the client's endpoint is `.invalid`).
"""

from __future__ import annotations

import json
import os
from typing import Any

from babe_mturk.local.errors import TurkError

#: An endpoint no DNS server answers: if the handler were ever missing, nothing reaches Amazon.
INPROCESS_ENDPOINT = "https://mturk-requester.localturk.invalid"
TARGET_PREFIX = "MTurkRequesterServiceV20170117."


def encode_answer(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def answer(turk, target: str, body: bytes) -> tuple[int, bytes]:
    """Turn one wire request into (status, body), as the HTTP server does too."""
    if not target.startswith(TARGET_PREFIX):
        err = TurkError(f"Unknown target {target!r}", "AWS.MechanicalTurk.UnknownOperation")
        return err.status, encode_answer(err.body())
    operation = target[len(TARGET_PREFIX):]
    try:
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            raise ValueError("the body is not a JSON object")
    except ValueError as exc:
        err = TurkError(f"The request body is not valid JSON: {exc}", "AWS.MechanicalTurk.InvalidRequest")
        return err.status, encode_answer(err.body())
    try:
        return 200, encode_answer(turk.call(operation, params))
    except TurkError as exc:
        return exc.status, encode_answer(exc.body())


class InProcessHandler:
    """The `before-send` handler; holds the service and, optionally, a fault injector.

    `faults` may be an `Injector` (babe_mturk.local.faults), a spec string or None; `handler.faults` can be replaced
    while the client is in use.
    """

    def __init__(self, turk, faults=None):
        from babe_mturk.local.faults import injector

        self.turk = turk
        self.faults = injector(faults)

    def __call__(self, request, **_: Any):
        from botocore.awsrequest import AWSResponse

        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        if self.faults is not None:
            status, payload = self.faults.run(target, lambda: answer(self.turk, target, body), request.url)
        else:
            status, payload = answer(self.turk, target, body)
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": _request_id()}
        return AWSResponse(request.url, status, headers, _Raw(payload))


class _Raw:
    """The minimal raw-response object botocore reads a body from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_: Any):
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def _request_id() -> str:
    """A UUID-shaped request id like Amazon's, without uuid4's object overhead on every call."""
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{'89ab'[int(raw[16], 16) & 3]}{raw[17:20]}-{raw[20:]}"


def attach(client, turk, faults=None) -> InProcessHandler:
    """Route every call of a boto3 MTurk client to `turk`."""
    handler = InProcessHandler(turk, faults)
    client.meta.events.register("before-send.mturk", handler)
    return handler
