"""Serving a local service over HTTP: what the local MTurk's and the local Prolific's servers share.

Two rules both servers live by, kept here once: an answer leaves in one write on a TCP_NODELAY
socket (a header write followed by a body write on a keep-alive connection stalls ~40 ms on Nagle
versus delayed ACK), and a server run in the foreground (`babe local.serve`, `babe-prolific
serve`) stops on Ctrl-C or SIGTERM alike and always releases its port and state.

And one rule for their private routes (`/_local/...`: the clock, simulated workers, faults, the
account), which the real services do not have and which move money on the local one (advancing the
clock auto-approves pending work). Any web page open in a browser on the same machine can send a
request to 127.0.0.1, so these routes answer only this machine's own tools
(`private_route_refusal`): the Host must be a loopback name (a DNS-rebinding page's Host is its own
name), an Origin must be the server's own (a page's fetch carries its origin), and a request that
changes something must be JSON (a page cannot send that cross-origin without a CORS pre-flight,
which these servers never grant) and carry the state file's token (`X-Babe-Local-Token`).
"""

from __future__ import annotations

import hmac
import ipaddress
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


#: The header carrying a state file's private-route token (`StateFile.token`).
TOKEN_HEADER = "X-Babe-Local-Token"

_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback"}


def _host_name(host_header: str) -> str:
    """The name in a Host header, without its port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_local_host(name: str, bound: str) -> bool:
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    if name == bound.lower() and bound not in ("", "0.0.0.0", "::"):
        return True  # the address the server was told to listen on, written as an IP: no DNS to rebind
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def private_route_refusal(
    method: str, headers: Any, *, bound_host: str, token: str, check_token: bool = True
) -> tuple[int, str] | None:
    """(status, one-line reason) when a private-route request must be refused, else None.

    `headers` is anything with a case-insensitive `get` (http.server's message, or a dict with
    lower-case keys). GETs only read, so they need no token — but still a local Host and no
    foreign Origin. `check_token=False` checks Host and Origin alone (the local Prolific's HTTP
    layer; its app checks the token, since it also answers in-process).
    """
    host = headers.get("Host") or headers.get("host") or ""
    name = _host_name(host)
    if not name or not _is_local_host(name, bound_host):
        return 403, (
            f"private routes answer only this machine's own tools: Host {host.strip()!r} is not a loopback name "
            "(use http://127.0.0.1:<port> or http://localhost:<port>)"
        )
    origin = (headers.get("Origin") or headers.get("origin") or "").strip()
    if origin and origin.lower().rstrip("/") not in (f"http://{host.strip().lower()}", f"https://{host.strip().lower()}"):
        return 403, f"private routes refuse cross-origin requests (Origin {origin!r} is not this server's own)"
    if check_token and method.upper() not in ("GET", "HEAD"):
        return change_refusal(headers, token)
    return None


def change_refusal(headers: Any, token: str) -> tuple[int, str] | None:
    """(status, reason) when a request that changes something is not JSON or lacks the token."""
    kind = (headers.get("Content-Type") or headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        shown = kind or "none"
        return 415, f"private routes take a JSON body (Content-Type: application/json), not {shown}"
    sent = (headers.get(TOKEN_HEADER) or headers.get(TOKEN_HEADER.lower()) or "").strip()
    if not sent or not token or not hmac.compare_digest(sent.encode(), token.encode()):
        what = "a wrong" if sent else "no"
        return 403, f"{what} {TOKEN_HEADER} header: private routes need the token of the server's state file (printed when it starts)"
    return None


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
