"""The local Prolific over real HTTP (`babe-prolific serve`, tests, other processes).

A threading HTTP/1.1 server (keep-alive) in front of the same WSGI app the in-process transport
calls, so both answer identically. Each answer leaves in one write on a TCP_NODELAY socket, and
the foreground server stops on Ctrl-C or SIGTERM alike, both as the local MTurk's server does
(`babe_tasks.simulation.serving`), and its private routes answer only a loopback Host with no foreign
Origin (`serving.private_route_refusal`; the app checks a change's token). An injected drop or lost answer closes the socket without a
reply — exactly what a client sees when a network fails, before or after the server did the work.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from babe_tasks.simulation.serving import private_route_refusal, send_in_one_write, serve_until_stopped

from .app import LocalProlific, encode_error, make_app
from .errors import AUTH, ApiError
from .faults import AnswerLost, Dropped

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8045


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalProlific/1"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 30
    server: LocalProlificServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _handle(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self._reply(400, [("Content-Type", "application/json")], b'{"error": {"status": 400, "detail": "Content-Length is not a number"}}')
            self.close_connection = True
            return
        body = self.rfile.read(int(length)) if int(length) else b""
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        if path.startswith("/_local/"):  # the app checks a change's token; over HTTP, Host and Origin too
            refused = private_route_refusal(self.command, self.headers, bound_host=host, token="", check_token=False)
            if refused is not None:
                self._reply(*encode_error(ApiError(refused[0], refused[1], code=AUTH)))
                return
        environ = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        for name, value in self.headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        try:
            status, headers, payload = self.server.app.respond(environ)
        except (Dropped, AnswerLost):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._reply(status, headers, payload)

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        send_in_one_write(self, status, headers, payload)
        if self.server.verbose:
            self.log_request(status, len(payload))

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle


class LocalProlificServer(ThreadingHTTPServer):
    """An HTTP server over one `LocalProlific` app; one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: LocalProlific, *, verbose: bool = False):
        super().__init__(address, _Handler)
        self.app = app
        self.verbose = verbose
        self._thread: threading.Thread | None = None
        self._closed = False

    def server_bind(self) -> None:
        # Not HTTPServer.server_bind: its socket.getfqdn() is a reverse DNS look-up we never need.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client went away or idled out: routine with keep-alive
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalProlificServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="localprolific", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release the port and the state (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
        self.app.close()


def make_server(state_path: str | Path | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, faults=None, *, verbose: bool = False) -> LocalProlificServer:
    app = make_app(state_path, faults=faults)
    try:
        return LocalProlificServer((host, port), app, verbose=verbose)
    except BaseException:
        app.close()
        raise


def serve_in_thread(state_path: str | Path | None = None, host: str = DEFAULT_HOST, port: int = 0, faults=None, *, verbose: bool = False) -> tuple[str, Callable[[], None]]:
    """A running server: `(url, stop)`; call `stop()` when done. Port 0 picks a free port."""
    server = make_server(state_path, host, port, faults, verbose=verbose).start()
    return server.url, server.stop


def serve(state_path: str | Path | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, faults=None, *, verbose: bool = False, announce: Callable[[LocalProlificServer], None] | None = None) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM, then close cleanly (`babe-prolific serve`)."""
    server = make_server(state_path, host, port, faults, verbose=verbose)
    serve_until_stopped(server, server.stop, announce=announce)
