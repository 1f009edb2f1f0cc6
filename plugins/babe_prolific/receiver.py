"""The receiving end of Prolific's webhooks: a small HTTP server that believes signed requests only.

Whoever can reach the receiver's URL can POST to it, so an event is believed only when its
signature is Prolific's: header `X-Prolific-Request-Signature` = base64(HMAC-SHA256(secret,
`X-Prolific-Request-Timestamp` + body)) under the workspace's hook secret (the spec's "Verifying").
The spec's recipe signs `json.dumps` of the parsed body, which is the raw body when Prolific sends
it that way; both are accepted, so a sender that serialises differently is not refused for it. A
timestamp more than `TOLERANCE` seconds from this machine's clock is refused too: a captured
request cannot be replayed later. A refused request gets a 401 and is counted, never queued.

The URL carries a random path segment (`token`): the receiver answers 404 anywhere else, so a
scanner finds nothing, and a reverse proxy may add or strip a prefix in front of it. The handler
threads only verify and queue; every decision about an event (is it ours, is it new) is the
watch's, in its own thread, where the API client lives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from babe_tasks.errors import UsageError

SIGNATURE = "X-Prolific-Request-Signature"
TIMESTAMP = "X-Prolific-Request-Timestamp"
#: Seconds a request's timestamp may differ from this machine's clock.
TOLERANCE = 300
#: The largest body believed (an event is a few hundred bytes).
MAX_BODY = 64 * 1024


def signature(secret: str, timestamp: str, body: str | bytes) -> str:
    """The spec's signature of a request: base64(HMAC-SHA256(secret, timestamp + body))."""
    data = body if isinstance(body, bytes) else body.encode()
    digest = hmac.new(secret.encode(), timestamp.encode() + data, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(keys: tuple[str, ...], headers: Any, raw: bytes, now: float | None = None) -> dict | None:
    """The event a signed request carries, or None when the request is not Prolific's.

    `keys` are the secrets that may have signed it (one per workspace subscribed); `headers` any
    mapping with `.get` (case as sent); `raw` the body as received.
    """
    if not keys:
        return None
    given = (headers.get(SIGNATURE) or "").strip()
    stamp = (headers.get(TIMESTAMP) or "").strip()
    if not given or not stamp.isdigit():
        return None
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
        return None
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    candidates = {raw, json.dumps(event).encode()}
    expected = (signature(key, stamp, body).encode() for key in keys if key for body in candidates)
    if any(hmac.compare_digest(each, given.encode()) for each in expected):
        return event
    return None


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or a bare port (on 127.0.0.1) → (host, port)."""
    text = value.strip()
    host, _, port = text.rpartition(":") if ":" in text else ("127.0.0.1", "", text)
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen {value!r} is not host:port: write for example 127.0.0.1:8765")
    return host, int(port)


class Receiver:
    """A running receiver on `host:port`: genuine events go to `events` (a queue), refusals are counted.

    `keys` (the secrets that sign genuine events) may be replaced while it runs (a workspace's secret
    was rotated); `close()` stops it.
    """

    def __init__(self, host: str, port: int, token: str, keys: tuple[str, ...] = ()):
        self.token = token
        self.keys = keys
        self.events: queue.Queue[dict] = queue.Queue()
        self.forged = 0
        self.requests = 0
        self._lock = threading.Lock()
        try:
            server = _Server6 if ":" in host else ThreadingHTTPServer
            self._server = server((host, port), _handler(self))
        except OSError as exc:
            raise UsageError(f"--listen {host}:{port}: cannot receive there ({exc.strerror or exc})") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="prolific-events", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def ours(self, path: str) -> bool:
        """True for the receiver's own path (whatever prefix a proxy added), with or without a slash."""
        return path.split("?", 1)[0].rstrip("/").endswith("/" + self.token)

    def take(self, headers: Any, raw: bytes) -> int:
        """The status to answer one POST to our path with; a genuine event is queued."""
        event = verify(self.keys, headers, raw)
        with self._lock:
            self.requests += 1
            if event is None:
                self.forged += 1
                return 401
        self.events.put(event)
        return 200

    def close(self) -> None:
        """Stop serving and free the port (safe to call twice)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "babe-watch"
        sys_version = ""

        def do_POST(self) -> None:
            if not receiver.ours(self.path):
                return self._answer(404)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self._answer(400)
            if length < 0 or length > MAX_BODY:
                return self._answer(413)
            self._answer(receiver.take(self.headers, self.rfile.read(length)))

        def do_GET(self) -> None:
            self._answer(404 if not receiver.ours(self.path) else 405)

        def _answer(self, status: int) -> None:
            body = {200: b"ok", 401: b"signature refused", 404: b"not found"}.get(status, b"")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            """Quiet: the watch counts what it received; a log line could carry the URL's token."""

    return Handler
