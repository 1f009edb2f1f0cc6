"""A fake _babe / magpie backend over real HTTP on 127.0.0.1, for tests and demonstrations.

It implements the routes of _babe's backend (docs/plugin-babe-backend.md) as the Phoenix server answers them, so the
`babe-backend` plugin, `babe results` and the simulated workers (`babe local.work --post-to
<url>/api/submit_experiment/<id>`) talk to it exactly as they would to a lab's server:

| route | answer |
|---|---|
| `POST /api/submit_experiment/:id` | 201; 404 unknown id; 403 inactive; 400 not JSON; 422 not a non-empty array of flat objects |
| `GET /api/retrieve_experiment/:id` | JSON, one array per submission, reduced to the dynamic retrieval keys; 403 no keys; 404 unknown or no submissions |
| `GET /api/check_experiment/:id` | 200 active, 403 inactive, 404 unknown |
| `GET /experiments/:id/retrieve` | CSV (HTTP Basic auth when a password is set): `submission_id`, then the trial keys |
| `GET /experiments/:id/toggle` | (Basic auth) switch active/inactive |

Faults a test may switch on (attributes of `FakeBackend`): `delay` (seconds before answering any
route), `csv_fault` (`"ragged"`: a row with too many fields; `"html"`: a login page with status
200; `"truncated"`: the body cut mid-row), `status_override` (answer every route with this status).
Nothing here is imported by the `babe` program itself: it is test equipment that ships with the
package so a lab's own tests (and a later pytest plugin) can use it too.
"""

from __future__ import annotations

import base64
import csv
import hmac
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"
_ROUTE = re.compile(
    r"^/(?:api/(?P<api>submit_experiment|retrieve_experiment|check_experiment)/(?P<api_id>[^/?#]+)"
    r"|experiments/(?P<browser_id>[^/?#]+)/(?P<browser>retrieve|toggle))/?$"
)


@dataclass
class Experiment:
    """One experiment of the backend: its numeric id, whether it takes submissions, what it stores."""

    experiment_id: str
    name: str = "experiment"
    author: str = "lab"
    active: bool = True
    #: The keys `GET /api/retrieve_experiment` returns; empty means the route answers 403.
    retrieval_keys: list[str] = field(default_factory=list)
    #: (submission id, trials) in arrival order.
    submissions: list[tuple[int, list[dict]]] = field(default_factory=list)


class FakeBackend:
    """The backend's state, shared by the server's threads; every method takes the lock."""

    def __init__(self, *, user: str = "admin", password: str | None = None, union_columns: bool = True):
        self.user = user
        #: With a password the browser routes need HTTP Basic auth, as with the server's AUTH_PASSWORD.
        self.password = password
        #: Newer servers take the CSV's columns from every trial; older ones from the first trial only.
        self.union_columns = union_columns
        self.experiments: dict[str, Experiment] = {}
        self.delay = 0.0
        self.csv_fault: str | None = None
        self.status_override: int | None = None
        #: (method, path, status) of every request, for tests that count calls.
        self.requests: list[tuple[str, str, int]] = []
        self._next_submission = 1
        self._lock = threading.Lock()

    def add_experiment(
        self,
        experiment_id: str | int,
        *,
        name: str = "experiment",
        author: str = "lab",
        active: bool = True,
        retrieval_keys: list[str] | None = None,
    ) -> Experiment:
        with self._lock:
            experiment = Experiment(str(experiment_id), name, author, active, list(retrieval_keys or []))
            self.experiments[experiment.experiment_id] = experiment
            return experiment

    def submit(self, experiment_id: str, trials: list[dict]) -> int:
        """Store one submission (what the POST route does after validating); returns its id."""
        with self._lock:
            experiment = self.experiments[str(experiment_id)]
            submission_id = self._next_submission
            self._next_submission += 1
            experiment.submissions.append((submission_id, [dict(trial) for trial in trials]))
            return submission_id

    def submissions(self, experiment_id: str) -> list[tuple[int, list[dict]]]:
        with self._lock:
            return list(self.experiments[str(experiment_id)].submissions)

    def rows(self, experiment_id: str) -> int:
        """Trials stored for the experiment (the CSV's row count)."""
        return sum(len(trials) for _, trials in self.submissions(experiment_id))

    # -- what the routes produce ---------------------------------------------------------------
    def csv_text(self, experiment_id: str) -> str:
        experiment = self.experiments[str(experiment_id)]
        with self._lock:
            submissions = list(experiment.submissions)
        keys: list[str] = []
        for _, trials in submissions:
            for trial in trials if self.union_columns else trials[:1]:
                for key in trial:
                    if key not in keys:
                        keys.append(key)
            if not self.union_columns and keys:
                break
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["submission_id", *keys])
        for submission_id, trials in submissions:
            for trial in trials:
                writer.writerow([submission_id, *(_cell(trial.get(key)) for key in keys)])
        return out.getvalue()

    def retrieval(self, experiment_id: str) -> list[list[dict]]:
        experiment = self.experiments[str(experiment_id)]
        with self._lock:
            submissions = list(experiment.submissions)
        keys = experiment.retrieval_keys
        return [[{key: trial.get(key) for key in keys} for trial in trials] for _, trials in submissions]


def _cell(value: Any) -> str:
    """A trial value as the backend's CSV writes it: lists joined with `|`, missing values empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeBabeBackend/1"
    sys_version = ""
    server: BackendServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: tests read what they need from `FakeBackend.requests`."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing ------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        backend = self.server.backend
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
        if backend.delay:
            time.sleep(backend.delay)
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if backend.status_override is not None:
            status, content_type, payload = backend.status_override, "text/plain", b"forced status\n"
        elif match is None:
            status, content_type, payload = 404, "text/plain", b"not found\n"
        else:
            route = match.group("api") or match.group("browser")
            experiment_id = match.group("api_id") or match.group("browser_id")
            status, content_type, payload = self._answer(method, route, experiment_id, body)
        backend.requests.append((method, self.path, status))
        self._send(status, content_type, payload)

    def _send(self, status: int, content_type: str, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self) -> bool:
        backend = self.server.backend
        if backend.password is None:
            return True
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, backend.user) and hmac.compare_digest(password, backend.password)

    def _answer(self, method: str, route: str, experiment_id: str, body: bytes) -> tuple[int, str, bytes]:
        backend = self.server.backend
        wanted = "POST" if route == "submit_experiment" else "GET"
        if method != wanted:
            return 405, "text/plain", b"method not allowed\n"
        if route in ("retrieve", "toggle") and not self._authorized():
            return 401, "text/plain", b"unauthorized\n"
        experiment = backend.experiments.get(experiment_id)
        if experiment is None:
            return 404, "application/json", _json({"error": "experiment not found"})
        if route == "check_experiment":
            if not experiment.active:
                return 403, "application/json", _json({"error": "experiment inactive"})
            return 200, "application/json", _json({})
        if route == "submit_experiment":
            return self._submit(experiment, body)
        if route == "retrieve_experiment":
            if not experiment.retrieval_keys:
                return 403, "application/json", _json({"error": "no dynamic retrieval keys"})
            if not experiment.submissions:
                return 404, "application/json", _json({"error": "no submissions yet"})
            return 200, "application/json", _json(backend.retrieval(experiment_id))
        if route == "toggle":
            experiment.active = not experiment.active
            return 200, "text/plain", f"experiment {experiment_id} active: {experiment.active}\n".encode()
        return self._csv(experiment_id)

    def _submit(self, experiment: Experiment, body: bytes) -> tuple[int, str, bytes]:
        if not experiment.active:
            return 403, "application/json", _json({"error": "experiment inactive: submissions are just lost"})
        try:
            trials = json.loads(body or b"null")
        except ValueError:
            return 400, "application/json", _json({"error": "body is not JSON"})
        if not (isinstance(trials, list) and trials and all(isinstance(t, dict) for t in trials)):
            return 422, "application/json", _json({"error": "results must be a non-empty array of objects"})
        submission_id = self.server.backend.submit(experiment.experiment_id, trials)
        return 201, "application/json", _json({"submission_id": submission_id})

    def _csv(self, experiment_id: str) -> tuple[int, str, bytes]:
        backend = self.server.backend
        if backend.csv_fault == "html":
            return 200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><body><form>Log in</form></body></html>\n"
        text = backend.csv_text(experiment_id)
        if backend.csv_fault == "ragged":
            lines = text.splitlines()
            lines.insert(min(2, len(lines)), "1,only,too,many,fields" + ",x" * 40)
            text = "\n".join(lines) + "\n"
        elif backend.csv_fault == "truncated":
            text = text[: max(1, len(text) * 2 // 3)].rstrip("\n") + ',"unterminated'
        return 200, "text/csv; charset=utf-8", text.encode("utf-8")


def _json(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


class BackendServer(ThreadingHTTPServer):
    """The HTTP server; `backend` is its `FakeBackend`, `url` its base URL (no trailing slash)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, backend: FakeBackend, host: str = HOST, port: int = 0):
        super().__init__((host, port), _Handler)
        self.backend = backend
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is expected; anything else is printed as usual."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if not isinstance(host, str):  # an AF_UNIX-style bytes address never serves HTTP here
            host = bytes(host).decode()
        return f"http://{host}:{port}"

    def start(self) -> BackendServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and release the port (safe to call twice)."""
        if self._thread is not None:
            super().shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def serve_backend(
    backend: FakeBackend | None = None, *, host: str = HOST, port: int = 0, **options: Any
) -> tuple[BackendServer, str]:
    """A running fake backend: `(server, url)`; `server.backend` holds its state; `server.shutdown()` after.

    `options` build the `FakeBackend` when none is given (`user`, `password`, `union_columns`).
    Port 0 picks a free port.
    """
    server = BackendServer(backend or FakeBackend(**options), host, port).start()
    return server, server.url
