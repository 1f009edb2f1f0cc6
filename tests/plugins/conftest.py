"""Fixtures for the lab plugins: a Slack webhook receiver on 127.0.0.1, an experiment, the real `babe`.

The receiver is a real HTTP server in a thread; it records every POST (path, headers, JSON body)
and answers according to its `mode`:
- "ok"   — 200 `ok`, as Slack does;
- "500"  — 500 `internal_error`;
- "404"  — 404 `no_service` (a webhook that was revoked);
- "slow" — holds the request for `delay` seconds before answering 200 (released at teardown);
- "down" is not a mode but a URL: `receiver.down_url` points at a port where nothing listens.
Every webhook URL carries a random secret path, which the tests then look for in every output.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

URL = "https://example.org/experiment/"


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def text(self) -> str:
        return self.body.get("text", "") if isinstance(self.body, dict) else ""


@dataclass
class Receiver:
    """A webhook receiver: `url` (secret path included), the `posts` it got, and the `mode` it answers in."""

    host: str
    port: int
    secret: str
    mode: str = "ok"
    delay: float = 10.0
    posts: list[Post] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
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
        return [post.text for post in self.posts]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with receiver.lock:
                receiver.posts.append(Post(self.path, dict(self.headers), body))
            mode = receiver.mode
            if mode == "slow":
                receiver.release.wait(receiver.delay)
            status, text = {"500": (500, "internal_error"), "404": (404, "no_service")}.get(mode, (200, "ok"))
            data = text.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting (the slow mode's point)
                pass

        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

    return Handler


@pytest.fixture
def receiver():
    """A running webhook receiver on 127.0.0.1 (mode "ok"); shut down after the test."""
    box = Receiver("127.0.0.1", 0, f"T0LAB/B0BABE/{secrets.token_hex(12)}")
    server = ThreadingHTTPServer((box.host, 0), _handler(box))
    server.daemon_threads = True
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield box
    box.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def experiment(tmp_path, monkeypatch) -> Path:
    """An experiment folder `exp1` (the working directory) with the HIT texts in invoke.yaml."""
    folder = tmp_path / "exp1"
    folder.mkdir()
    write_config(folder)
    monkeypatch.chdir(folder)
    return folder


def write_config(folder: Path, plugins: dict | None = None, **babe: Any) -> Path:
    """invoke.yaml with the standard HIT texts, `babe` overrides, and `babe.plugins` sections."""
    section: dict[str, Any] = {
        "url": URL,
        "title": "A short language study",
        "description": "Read sentences and rate them.",
        "reward": "0.50",
        **babe,
    }
    if plugins is not None:
        section["plugins"] = plugins
    path = folder / "invoke.yaml"
    path.write_text(yaml.safe_dump({"babe": section}, sort_keys=False))
    return path


@pytest.fixture
def configure(experiment):
    """`configure(plugins={...}, **babe)` rewrites the experiment's invoke.yaml."""

    def write(plugins: dict | None = None, **babe: Any) -> Path:
        return write_config(experiment, plugins, **babe)

    return write


@pytest.fixture
def lab_plugins(monkeypatch):
    """Load the repository's lab plugins the way an installed plugin is loaded: by entry point.

    The autouse fixture points the entry-point group elsewhere so installed plugins stay out of
    other tests; here it is set back, and BABE_PLUGINS picks the plugins a test names.
    """

    def load(*names: str) -> None:
        monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
        monkeypatch.setenv("BABE_PLUGINS", ",".join(names))

    return load


def hit_ids(mturk) -> list[str]:
    """Every HIT on the local MTurk, through boto3's own paginator."""
    return [h["HITId"] for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


@pytest.fixture
def list_hits():
    return hit_ids
