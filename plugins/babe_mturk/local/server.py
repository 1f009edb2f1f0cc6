"""The local MTurk over HTTP (`babe local.serve`): for the AWS CLI, other languages, other processes.

It speaks MTurk's JSON 1.1 wire protocol and answers through `inprocess.answer`, so a request
gets the same status and body over HTTP as in-process. Beside the requester API it has the
private routes the real service does not: the worker side and the test controls
(`/_local/work`, `/_local/clock`, `/_local/faults`, `/_local/stats`). Those answer only this
machine's own tools: a loopback Host, no foreign Origin, and for a change a JSON body with the
state file's token (`serving.private_route_refusal`; the token is printed by `babe local.serve`).

Two details decide its speed: every response goes out in one write on a socket with TCP_NODELAY
(`serving.send_in_one_write`: a header write followed by a body write on a keep-alive connection
stalls ~40 ms on Nagle versus delayed ACK), and connections are served by a bounded pool of reused
threads, so each thread's SQLite connection is opened once rather than per client connection.
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from babe_tasks.durations import parse_duration
from babe_mturk.local import stats as stats_module
from babe_mturk.local.errors import ServiceFault, TurkError
from babe_mturk.local.faults import AnswerLost, Dropped, Injector, injector
from babe_mturk.local.inprocess import answer, encode_answer
from babe_tasks.simulation.serving import private_route_refusal, send_in_one_write, serve_until_stopped

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8044
JSON_11 = "application/x-amz-json-1.1"

class _PrivateRouteError(Exception):
    """A bad request to a `/_local` route: answered as `{"error": {"message": ...}}`."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


class RequestHandler(BaseHTTPRequestHandler):
    """One client connection (HTTP/1.1 keep-alive): the requester API on `/`, test controls on `/_local`."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalTurk/2017-01-17"
    sys_version = ""
    disable_nagle_algorithm = True
    #: An idle keep-alive connection gives its pool thread back after this many seconds.
    timeout = 30
    server: "LocalTurkServer"

    # -- plumbing ------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str = JSON_11) -> None:
        """Status line, headers and body in one write (see the module docstring)."""
        send_in_one_write(self, status, (("Content-Type", content_type), ("x-amzn-RequestId", str(uuid.uuid4()))), body)
        if self.server.verbose:
            self.log_request(status, len(body))

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, default=str).encode(), "application/json")

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            return None
        return self.rfile.read(n) if n > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _drop(self) -> None:
        """Close the connection without answering, as a network failure would."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- routes --------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send_json(400, {"error": {"message": "Content-Length is not a number"}})
            return
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._requester(body)
        elif path.startswith("/_local/"):
            self._private("POST", path, body)
        else:
            self._send_json(404, {"error": {"message": f"no route POST {path}"}})

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path.startswith("/_local/"):
            self._private("GET", path, b"")
        elif path == "/":
            self._send_json(200, {"service": "local MTurk", "api": "MTurkRequesterServiceV20170117"})
        else:
            self._send_json(404, {"error": {"message": f"no route GET {path}"}})

    def _requester(self, body: bytes) -> None:
        target = self.headers.get("X-Amz-Target", "")
        started = time.perf_counter()
        try:
            status, payload = self.server.answer_requester(target, body)
        except Dropped:
            self._drop()
            return
        except AnswerLost:
            self._drop()
            return
        except Exception:  # noqa: BLE001 - a bug in an operation: answer as a server fault, never hang the client
            traceback.print_exc(file=sys.stderr)
            error = ServiceFault("The local MTurk failed on this request (see the server's log).")
            status, payload = error.status, encode_answer(error.body())
        self._send(status, payload)
        if self.server.verbose:
            sys.stderr.write(f"  {target.rsplit('.', 1)[-1]} {status} {1000 * (time.perf_counter() - started):.1f} ms\n")

    def _private(self, method: str, path: str, body: bytes) -> None:
        refused = private_route_refusal(method, self.headers, bound_host=self.server.server_address[0], token=self.server.token)
        if refused is not None:
            self._send_json(refused[0], {"error": {"message": refused[1]}})
            return
        try:
            params = json.loads(body) if body.strip() else {}
            if not isinstance(params, dict):
                raise _PrivateRouteError("the body must be a JSON object")
            route = self.server.private_routes().get((method, path))
            if route is None:
                raise _PrivateRouteError(f"no route {method} {path}", 404)
            self._send_json(200, route(params))
        except _PrivateRouteError as exc:
            self._send_json(exc.status, {"error": {"message": exc.message}})
        except json.JSONDecodeError as exc:
            self._send_json(400, {"error": {"message": f"the body is not valid JSON: {exc}"}})
        except TurkError as exc:
            self._send(exc.status, encode_answer(exc.body()))
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"error": {"message": str(exc)}})
        except Exception as exc:  # noqa: BLE001 - a private route's bug is a 500, not a dead connection
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, {"error": {"message": f"{type(exc).__name__}: {exc}"}})


class LocalTurkServer(socketserver.TCPServer):
    """An HTTP server over one `LocalTurk`; connections are served by a pool of reused threads."""

    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128
    #: How many connections are served at once; more wait in the listen queue.
    max_workers = 64

    def __init__(self, address: tuple[str, int], turk, faults=None, *, verbose: bool = False, owns_turk: bool = False):
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__(address, RequestHandler)
        self.turk = turk
        self.faults: Injector | None = injector(faults)
        #: The state file's private-route token (`StateFile.token`), asked of every change.
        self.token: str = turk.store.token()
        self.verbose = verbose
        self._owns_turk = owns_turk
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="localturk-http")
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- socketserver hooks ----------------------------------------------------------------------
    def server_bind(self) -> None:
        # Not HTTPServer.server_bind: its socket.getfqdn() is a reverse DNS look-up we never need.
        super().server_bind()
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        self._pool.submit(self._serve_connection, request, client_address)

    def _serve_connection(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - socketserver's own rule: report it, keep serving
            self.handle_error(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client went away or idled out: routine on keep-alive connections
        if self.verbose or not isinstance(exc, OSError):
            super().handle_error(request, client_address)

    # -- the service -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def answer_requester(self, target: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) for one requester request, through the fault injector when one is set."""
        faults = self.faults
        if faults is None:
            return answer(self.turk, target, body)
        return faults.apply(target, lambda: answer(self.turk, target, body))

    def private_routes(self) -> dict[tuple[str, str], Callable[[dict], Any]]:
        return {
            ("POST", "/_local/work"): self.route_work,
            ("GET", "/_local/clock"): self.route_clock,
            ("POST", "/_local/clock"): self.route_clock,
            ("GET", "/_local/faults"): self.route_faults,
            ("POST", "/_local/faults"): self.route_faults,
            ("GET", "/_local/stats"): self.route_stats,
            ("POST", "/_local/stats/reset"): self.route_stats_reset,
        }

    def route_work(self, params: dict) -> dict:
        """Simulated workers (`workers.simulate`'s keyword arguments in, its summary out)."""
        from babe_mturk.local.workers import simulate

        return simulate(self.turk, **params)

    def route_clock(self, params: dict) -> dict:
        """`{"advance": 90000 | "25h"}` moves the shared clock; answers `{"now", "offset"}`."""
        unknown = set(params) - {"advance"}
        if unknown:
            raise _PrivateRouteError(f"unknown field(s) {', '.join(sorted(unknown))}; expected 'advance'")
        if params.get("advance") is not None:
            self.turk.store.advance_clock(parse_duration(params["advance"]))
        return clock_reading(self.turk.store)

    def route_faults(self, params: dict) -> dict:
        """`{"spec": "throttle=0.2,seed=7"}` replaces the injector, `{"spec": ""}` clears it."""
        if "spec" in params:
            spec = params["spec"]
            if spec is not None and not isinstance(spec, str):
                raise _PrivateRouteError("'spec' must be a string like 'throttle=0.2,seed=7'")
            self.faults = injector(spec or None)
        faults = self.faults
        return {"spec": str(faults.spec) if faults else None, "counts": faults.counts() if faults else None}

    def route_stats(self, params: dict) -> dict:
        return stats_module.snapshot(self.turk, self.faults)

    def route_stats_reset(self, params: dict) -> dict:
        stats_module.reset(self.turk, self.faults)
        return stats_module.snapshot(self.turk, self.faults)

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> "LocalTurkServer":
        """Serve in a daemon thread (tests, benchmarks); stop with `shutdown()`."""
        self.start_courier()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="localturk-server", daemon=True)
        self._thread.start()
        return self

    def start_courier(self, every: float = 1.0) -> None:
        """Deliver notifications (UpdateNotificationSettings) to their SQS queues / SNS topics, as
        MTurk does, for as long as this server runs (`localturk.delivery.Courier`)."""
        from babe_mturk.local.delivery import Courier

        if getattr(self, "courier", None) is None:
            self.courier = Courier(self.turk, every=every).start()

    def shutdown(self) -> None:
        """Stop serving, close every open connection, wait for the threads, release the state."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            super().shutdown()
            self._thread.join()
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._pool.shutdown(wait=True)
        if getattr(self, "courier", None) is not None:
            self.courier.stop()
        if self._owns_turk:
            self.turk.store.close()


def clock_reading(store) -> dict:
    """`{"now": epoch seconds, "offset": seconds}` of a state's shared clock."""
    return store.clock()


def make_server(state=None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, faults=None, *, verbose: bool = False) -> LocalTurkServer:
    """A server over `state` (a path, None for the default state, or a `LocalTurk` to share)."""
    from babe_mturk.local.service import LocalTurk

    owns = not isinstance(state, LocalTurk)
    turk = LocalTurk(state) if owns else state
    try:
        return LocalTurkServer((host, port), turk, faults, verbose=verbose, owns_turk=owns)
    except BaseException:
        if owns:
            turk.store.close()
        raise


def serve_in_thread(state=None, host: str = DEFAULT_HOST, port: int = 0, faults=None, *, verbose: bool = False) -> tuple[LocalTurkServer, str]:
    """A running server for tests and benchmarks: `(server, url)`; call `server.shutdown()` after."""
    server = make_server(state, host, port, faults, verbose=verbose).start()
    return server, server.url


def serve(state=None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, faults=None, *, verbose: bool = False, announce: Callable[[LocalTurkServer], None] | None = None) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM, then close cleanly (`babe local.serve`)."""
    server = make_server(state, host, port, faults, verbose=verbose)
    serve_until_stopped(server, server.shutdown, announce=announce, before=server.start_courier)
