"""A webhook receiver over real HTTP on 127.0.0.1: what a Slack-like plugin posts to, in a test.

A plugin that notifies (Slack, Mattermost, a lab's own endpoint) is only tested for real when its
request crosses a socket: the receiver records every POST (path, headers, body — JSON parsed when
it is JSON) and answers the way the test asks (`mode`):

- `"ok"`   — 200 `ok`, as Slack does;
- `"500"`  — 500 `internal_error`;
- `"404"`  — 404 `no_service` (a webhook that was revoked);
- `"slow"` — holds each request for `delay` seconds before answering 200 (released at `close`).

`down_url` is a webhook URL where nothing listens (connection refused at once). Every URL carries
a random secret path, as real webhook URLs do, so a test can look for it in everything a run
printed or wrote: it must never appear.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Post", "WebhookReceiver"]

HOST = "127.0.0.1"
MODES = ("ok", "500", "404", "slow")
_ANSWERS = {"500": (500, b"internal_error"), "404": (404, b"no_service")}


@dataclass
class Post:
    """One request the receiver got; `body` is the parsed JSON, or the text when it was not JSON."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def text(self) -> str:
        """Slack's message text (`{"text": …}`), "" for any other body."""
        return self.body.get("text", "") if isinstance(self.body, dict) else ""


class WebhookReceiver:
    """A running receiver; `url` to hand to the plugin, `posts` to read back, `close()` when done."""

    def __init__(self, host: str = HOST, *, mode: str = "ok", delay: float = 10.0):
        self.secret = f"T0LAB/B0BABE/{secrets.token_hex(12)}"
        self.mode = mode
        self.delay = delay
        self.posts: list[Post] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._release = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode {value!r} is not one of {', '.join(MODES)}")
        self._mode = value

    @property
    def host(self) -> str:
        host = self._server.server_address[0]
        return host if isinstance(host, str) else bytes(host).decode()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The webhook URL, secret path included."""
        return f"http://{self.host}:{self.port}/services/{self.secret}"

    @property
    def down_url(self) -> str:
        """A webhook URL on a port where nothing listens (connection refused at once)."""
        with socket.socket() as sock:
            sock.bind((self.host, 0))
            port = sock.getsockname()[1]
        return f"http://{self.host}:{port}/services/{self.secret}"

    @property
    def texts(self) -> list[str]:
        """The `text` of every post, in arrival order."""
        with self._lock:
            return [post.text for post in self.posts]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Post]:
        """Wait until at least `count` posts arrived (for plugins that post from a thread); all posts.

        Raises AssertionError naming what arrived when `timeout` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.posts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook post(s) within {timeout}s, got {len(self.posts)}: {[p.text for p in self.posts]}")
                self._arrived.wait(left)
            return list(self.posts)

    def clear(self) -> None:
        """Forget the posts so far (between the steps of one test)."""
        with self._lock:
            self.posts.clear()

    def _record(self, post: Post) -> None:
        with self._arrived:
            self.posts.append(post)
            self._arrived.notify_all()

    def close(self) -> None:
        """Release slow requests, stop serving, free the port (safe to call twice)."""
        self._release.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            receiver._record(Post(self.path, dict(self.headers), body))
            if receiver.mode == "slow":
                receiver._release.wait(receiver.delay)
            status, payload = _ANSWERS.get(receiver.mode, (200, b"ok"))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up waiting: the slow mode's point
                pass

        def log_message(self, *args: Any) -> None:
            """Quiet: a test reads `posts`, not a log."""

    return Handler
