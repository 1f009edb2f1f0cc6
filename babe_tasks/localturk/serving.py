"""Serving a local service over HTTP: what the local MTurk's and the local Prolific's servers share.

Two rules both servers live by, kept here once: an answer leaves in one write on a TCP_NODELAY
socket (a header write followed by a body write on a keep-alive connection stalls ~40 ms on Nagle
versus delayed ACK), and a server run in the foreground (`babe local.serve`, `babe-prolific
serve`) stops on Ctrl-C or SIGTERM alike and always releases its port and state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any


def send_in_one_write(handler: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
    """Status line, headers and body in one write; Content-Length is always the body's own."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {status} {reason}", f"Server: {handler.server_version}", f"Date: {handler.date_time_string()}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() != "content-length"]
    lines.append(f"Content-Length: {len(body)}")
    if handler.close_connection:
        lines.append("Connection: close")
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def serve_until_stopped(
    server: Any,
    stop: Callable[[], None],
    *,
    announce: Callable[[Any], None] | None = None,
    before: Callable[[], None] | None = None,
) -> None:
    """Run `server.serve_forever` until Ctrl-C or SIGTERM, then `stop()` (which must release all).

    `announce(server)` runs first (to print the URL), then `before()` (work that must run only
    while serving, such as the local MTurk's notification courier). SIGTERM is turned into a
    KeyboardInterrupt only on the main thread, where Python allows a signal handler.
    """
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        if announce is not None:
            announce(server)
        if before is not None:
            before()
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        stop()
