"""The Prolific plugin's figures: requests and wall time of each step, and the local Prolific's speed.

Every step figure runs against the local Prolific over real HTTP (`babe_prolific.local.server`,
what `babe-prolific serve` runs) with `latency_ms=50` on every API request — a realistic round
trip to api.prolific.com — so the figures are dominated by what a lab would wait for: round trips
and Prolific's asynchronous work, not local CPU. `babe` runs in a subprocess as a lab runs it (its
own interpreter, no GIL shared with the server) and its wall time includes starting that
interpreter. Requests are counted by the server itself (`GET /_local/stats`, reset before each step).

Asynchrony is in the figures, as a lab meets it. The main lab runs on a fresh state's shipped
default, `settle_seconds` 3: PUBLISH answers PUBLISHING, a bulk approval and a bonus pay are done
3 s (on the local Prolific's clock) after they were answered. Each step's wall time and requests
include whatever the adapter does about that — today it looks again on a doubling schedule for at
most `babe_prolific.settling.BOUND` seconds of pauses, so `create`, `approve` and `bonus` include
that wait and those extra reads — and nothing else: no clock is advanced for `babe`. Beside each
step stands the same step on a second lab with `settle_seconds` 0 (work done before the answer),
so what asynchrony costs is one subtraction. After the lifecycle the benchmark checks, unmeasured,
that the work really settled (every submission APPROVED, one payment per bonus row).

1. lifecycle: `babe create` of N places, N simulated participants submit, `babe status`,
   `babe approve`, `babe bonus --csv` of N rows, `babe expire` — per step the wall time, the
   requests made and the minimum the API allows (below), and two floors: a step's fixed cost
   (`babe status` with nothing posted and no latency, measured in the same run) + the minimum to
   ask × latency; and for asynchronous work, what a step that reports the settled outcome cannot
   beat: fixed cost + `settle_seconds` + (the minimum to ask + the looks that see it settled) ×
   latency. "of floor" is against the second where the step's work is asynchronous.
2. naive: the same status, approve and bonus as a per-item script does them on a second lab of N
   submissions (httpx, the same latency, the shipped settle default): list `SubmissionShort` items
   at Prolific's default page size of 20, one APPROVE transition per submission (synchronous on
   Prolific), one set-up and one pay per bonus (each pay answered 202 and left to settle: such a
   script does not wait, so its bonus figure excludes the settling `babe`'s includes). Request
   counts and the time ratio naive / babe, measured in the same run.
3. throughput: requests per second of the local Prolific against a ceiling measured in the same
   run with the same client (the plugin's `ProlificClient`), in alternating slices so a
   neighbour's load weighs on both alike: in-process (the local Prolific's WSGI transport vs the
   same httpx WSGI transport over an app that answers canned bytes) and over HTTP (the server vs a
   minimal keep-alive `http.server` answering the same bytes). A read (`GET /users/me/`) and a
   write (a bonus set-up of one row, `POST /submissions/bonus-payments/`: validated, priced and
   inserted; synchronous); no latency, `settle_seconds` 0 (only to publish the study it needs).

The minimum the API allows for a step. The published OpenAPI description states no page or batch
limits; these are Prolific's documented ones (docs/localprolific.md), which the local
Prolific enforces: list pages of at most 200, bulk approval of at most 1,000 ids, a bonus set-up of
at most 200 rows. The spec has no per-status counts endpoint (a study's counts are its list) and
prices through the cost calculator. "ask" is what puts the work in; "+ see" the reads after
`settle_seconds` that show it done:
- create: 4 + 1 — the price (one request: the cost calculator), the study's name looked up (one
  page: the idempotency that makes a re-run post nothing), the draft, the PUBLISH transition; then
  one read of the study, ACTIVE;
- status: 2 + ceil(N/200) — the price (what is spent and committed), the study, and every
  submission (the counts and the median time to submit need them all);
- approve: ceil(N/200) + ceil(N/1000), + ceil(N/200) — list, bulk-approve; then the list once
  more, every submission APPROVED;
- bonus: 1 + 2 × ceil(N/200), + 1 — the price (for the review), one set-up and one pay per 200
  rows; then one `GET /studies/{id}/cost/` whose bonuses cover the pays;
- expire: 1 — the STOP transition, or one read of a study that is full already (as here: N
  participants fill N places).

`python benchmarks/prolific.py` (N = 1,000, a few minutes: the naive per-item script makes over
3,000 requests at 50 ms), `--quick` (N = 100, about a minute: a smoke run), `--only
lifecycle,naive,throughput`, `--json` (the rows for machines), `--table FILE` (the table of such
rows). No test asserts a time: these are figures, not checks; the adapter's exact request counts
(with `settle_seconds` 0) are pinned in tests/prolific/platform/test_prolific_calls.py.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
# localturk.py's method: the service and its ceiling in alternating slices.
from localturk import compare

LATENCY_MS = 50
#: Prolific's limits (the reference), which set each step's minimum number of requests.
MAX_PAGE = 200
MAX_BULK_APPROVE = 1000
MAX_BONUS_ROWS = 200
#: What a script that does not set `page_size` gets.
DEFAULT_PAGE = 20
#: The comparison lab's `settle_seconds`: asynchronous work done before the answer.
NO_WAIT = 0
TOKEN = "benchmark-token"
INVOKE_YAML = (
    "babe:\n"
    "  platform: prolific\n"
    "  url: https://example.org/experiment/\n"
    "  title: A short language study\n"
    "  description: Read sentences and rate them.\n"
    '  reward: "2.00"\n'
    "  plugins:\n"
    "    prolific:\n"
    "      estimated_minutes: 10\n"
)
BONUS = "0.10"
#: Settings that would change the local Prolific under the benchmark (faults, its settle delay).
LOCAL_ENV = ("BABE_PROLIFIC_FAULTS", "BABE_PROLIFIC_SETTLE_SECONDS")


@contextmanager
def precompiled():
    """babe_tasks and the plugins compiled to bytecode for the run, as `pip install` does.

    The same reason as benchmarks/bulk.py: an editable install on a machine with
    PYTHONDONTWRITEBYTECODE has no bytecode, so each `babe` would compile its modules again —
    time no installed copy pays. The `__pycache__/` folders made here are removed afterwards.
    """
    import babe_prolific

    import babe_tasks

    packages = [Path(babe_tasks.__file__).parent, Path(babe_prolific.__file__).parent.parent]
    before = {p for package in packages for p in package.rglob("__pycache__")}
    for package in packages:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    try:
        yield
    finally:
        made = {p for package in packages for p in package.rglob("__pycache__")} - before
        for path in sorted(made, reverse=True):
            shutil.rmtree(path, ignore_errors=True)


def clean_env() -> dict[str, str]:
    """This environment without BABE_*/AWS_*/PROLIFIC_* settings, which would leak into the lab's runs."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("BABE_", "AWS_", "PROLIFIC_"))}


def pages(n: int, size: int) -> int:
    """List pages for n items (an empty list is still one page)."""
    return max(1, math.ceil(n / size))


class Lab:
    """One local Prolific server (its own state, `latency_ms` on every API request) and one experiment folder.

    `settle_seconds` None keeps a fresh state's shipped default; a number configures it."""

    def __init__(self, root: Path, name: str, latency_ms: float, settle_seconds: float | None = None):
        from babe_prolific.local.server import make_server

        self.folder = root / name
        self.folder.mkdir()
        (self.folder / "invoke.yaml").write_text(INVOKE_YAML)
        spec = f"latency_ms={latency_ms:g}" if latency_ms else ""
        self.server = make_server(root / f"{name}.sqlite", port=0, faults=spec).start()
        self.url = self.server.url
        # The private routes ask for the state's own token (babe_tasks.simulation.serving).
        self.control = httpx.Client(base_url=self.url, headers={"X-Babe-Local-Token": self.server.app.local_token}, timeout=300)
        if settle_seconds is not None:
            self.control.post("/_local/account", json={"settle_seconds": settle_seconds}).raise_for_status()
        account = self.control.get("/_local/account")
        account.raise_for_status()
        self.settle_seconds = float(account.json()["settle_seconds"])
        self.api = httpx.Client(base_url=f"{self.url}/api/v1/", headers={"Authorization": f"Token {TOKEN}"}, timeout=300)

    def env(self) -> dict[str, str]:
        env = clean_env()
        env.update(BABE_ENDPOINT_URL=self.url, BABE_TARGET="local", BABE_PLATFORM="prolific", NO_COLOR="1", COLUMNS="120")
        return env

    def babe(self, *args: str) -> tuple[float, dict]:
        """Run `babe ARGS --json` in the folder: (wall seconds, its JSON document); exit 0 or the run stops."""
        start = time.perf_counter()
        done = subprocess.run(["babe", *args, "--json"], check=False, cwd=self.folder, env=self.env(), capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"babe {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return wall, json.loads(done.stdout)

    def reset(self) -> None:
        self.control.post("/_local/stats/reset", json={}).raise_for_status()

    def calls(self) -> dict[str, int]:
        """API requests answered since the last reset, per route (`"GET /users/me/": 1`)."""
        answer = self.control.get("/_local/stats")
        answer.raise_for_status()
        return answer.json()["calls"]

    def wait_until(self, what: str, check, extra: float = 15.0) -> None:
        """Wait (real time, unmeasured) until `check()` holds: the settle delay and `extra` seconds at most."""
        deadline = time.monotonic() + self.settle_seconds + extra
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit(f"benchmark stopped: {what} did not settle within {self.settle_seconds + extra:g} s")
            time.sleep(0.2)

    def study_status(self, study_id: str) -> str:
        answer = self.api.get(f"studies/{study_id}/")
        answer.raise_for_status()
        return answer.json()["status"]

    def statuses(self, study_id: str) -> dict[str, int]:
        """How many of the study's submissions are in each status (every page of its list)."""
        counts: dict[str, int] = {}
        answer = self.api.get(f"studies/{study_id}/submissions/", params={"page_size": MAX_PAGE})
        while True:
            answer.raise_for_status()
            body = answer.json()
            for submission in body["results"]:
                counts[submission["status"]] = counts.get(submission["status"], 0) + 1
            following = body["_links"]["next"]["href"]
            if not following:
                return counts
            answer = self.api.get(following)

    def payments(self, study_id: str) -> int:
        """Bonus payments made for the study; due work is settled first (a clock advance of 0 does
        that: the local Prolific settles on API requests and clock moves, not on its private reads)."""
        self.control.post("/_local/clock", json={"advance_seconds": 0}).raise_for_status()
        answer = self.control.get("/_local/payments", params={"study": study_id})
        answer.raise_for_status()
        return len(answer.json()["payments"])

    def participants(self, study_id: str, count: int) -> tuple[float, list[dict]]:
        """`count` simulated participants take the study and submit (the server's `/_local/participants`).

        Participants cannot start a study that is still PUBLISHING: if `create` left it so, this
        waits for it first (outside the figure — on Prolific people arrive later anyway)."""
        self.wait_until(f"the publication of {study_id}", lambda: self.study_status(study_id) != "PUBLISHING")
        start = time.perf_counter()
        answer = self.control.post("/_local/participants", json={"study_id": study_id, "count": count, "seed": 7})
        wall = time.perf_counter() - start
        answer.raise_for_status()
        visits = [v for v in answer.json()["participants"] if v["outcome"] == "submit"]
        if len(visits) != count:
            raise SystemExit(f"only {len(visits)} of {count} participants submitted")
        return wall, visits

    def close(self) -> None:
        self.api.close()
        self.control.close()
        self.server.stop()


def bonus_file(folder: Path, visits: list[dict]) -> Path:
    path = folder / "bonuses.csv"
    rows = ["worker_id,assignment_id,amount,reason"]
    rows += [f"{v['participant_id']},{v['submission_id']},{BONUS},accurate ratings" for v in visits]
    path.write_text("\n".join(rows) + "\n")
    return path


def fixed_cost(root: Path, runs: int = 5) -> float:
    """Median wall time of a step that has nothing to do: `babe status` of an experiment with nothing
    posted, against a server without latency — the interpreter, the imports, the settings, the
    plugins and the ledger, which every step pays before its first request matters."""
    lab = Lab(root, "empty", 0)
    times = []
    try:
        for _ in range(runs + 1):
            wall, _ = lab.babe("status")
            times.append(wall)
    finally:
        lab.close()
    return round(statistics.median(times[1:]), 3)  # the first run warms the file cache


# -- 1. the lifecycle with babe ----------------------------------------------------------------------
def minima(n: int) -> dict[str, tuple[int, int]]:
    """Per step: (requests to ask for the work, further reads that see asynchronous work settled)."""
    return {
        "create": (4, 1),
        "status": (2 + pages(n, MAX_PAGE), 0),
        "approve": (pages(n, MAX_PAGE) + pages(n, MAX_BULK_APPROVE), pages(n, MAX_PAGE)),
        "bonus": (1 + 2 * pages(n, MAX_BONUS_ROWS), 1),
        "expire": (1, 0),
    }


def lifecycle(root: Path, n: int, latency_ms: float, start_s: float, name: str, settle_seconds: float | None) -> tuple[list[dict], float]:
    """The rows of each step on a lab with that `settle_seconds` (None: the shipped default), and the delay used."""
    lab = Lab(root, name, latency_ms, settle_seconds)
    settle = lab.settle_seconds
    least = minima(n)
    rows: list[dict] = []
    try:

        def step(key: str, label: str, *args: str) -> dict:
            lab.reset()
            wall, document = lab.babe(*args)
            rows.append(_step_row(key, label, wall, lab.calls(), least[key], start_s, latency_ms, settle))
            return document

        created = step("create", f"create {n} places", "create", "--assignments", str(n), "--yes")
        study = created["hits"][0]["hit_id"]
        wall, visits = lab.participants(study, n)
        lab.reset()  # the wait for the publication (if any) is not the participants' figure
        rows.append({"key": "participants", "step": f"{n} participants submit (simulated)", "wall_s": round(wall, 2), "requests": 0,
                     "by_route": {}, "minimum": None, "floor_s": None, "note": "the server's /_local route, not the API"})
        status = step("status", f"status, {n} submissions", "status")
        _expect(status["hits"][0]["submitted"] == n, f"status saw {status['hits'][0]['submitted']} submitted, not {n}")
        approved = step("approve", f"approve {n}", "approve", "--yes")
        _expect(approved["approved"] == n, f"approve approved {approved['approved']}, not {n}")
        csv = bonus_file(lab.folder, visits)
        paid = step("bonus", f"bonus file of {n} rows", "bonus", "--csv", str(csv), "--yes")
        _expect(len(paid["paid"]) == n, f"bonus paid {len(paid['paid'])}, not {n}")
        step("expire", "expire (the study is full)", "expire")
        # Unmeasured: what the steps asked for really happened once Prolific's work settled.
        lab.wait_until(f"the approval of {n} submissions", lambda: lab.statuses(study) == {"APPROVED": n})
        lab.wait_until(f"the payment of {n} bonuses", lambda: lab.payments(study) >= n)
        _expect(lab.payments(study) == n, f"{lab.payments(study)} bonus payments made for {n} rows")
    finally:
        lab.close()
    return rows, settle


def _step_row(key: str, name: str, wall: float, by_route: dict[str, int], least: tuple[int, int], start_s: float, latency_ms: float,
              settle: float) -> dict:
    ask, see = least
    floor = start_s + ask * latency_ms / 1000
    settled = start_s + settle + (ask + see) * latency_ms / 1000 if see else None
    return {
        "key": key,
        "step": name,
        "wall_s": round(wall, 2),
        "requests": sum(by_route.values()),
        "by_route": by_route,
        "minimum": ask,
        "minimum_seen": ask + see if see else None,
        "floor_s": round(floor, 2),
        "settled_floor_s": round(settled, 2) if settled is not None else None,
        "of_floor": round(wall / (settled if settled is not None else floor), 2),
    }


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark stopped: {message}")


def with_no_wait(rows: list[dict], no_wait: list[dict]) -> list[dict]:
    """The shipped-default rows, each with the same step's wall and requests at settle 0 beside it."""
    other = {row["key"]: row for row in no_wait}
    for row in rows:
        twin = other.get(row["key"])
        if twin is not None and row["key"] != "participants":
            row["no_wait_wall_s"], row["no_wait_requests"], row["no_wait_by_route"] = twin["wall_s"], twin["requests"], twin["by_route"]
    return rows


# -- 2. the same steps, per item -----------------------------------------------------------------------
class Naive:
    """What a lab's own script does: plain httpx, Prolific's defaults, one request per item."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=f"{url}/api/v1/", headers={"Authorization": f"Token {TOKEN}"}, timeout=60)

    def _ok(self, response: httpx.Response) -> dict | str | None:
        response.raise_for_status()
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text

    def submissions(self, study_id: str) -> list[dict]:
        """Every `SubmissionShort` of the study, following the next links at the default page size."""
        found: list[dict] = []
        answer = self._ok(self.http.get(f"studies/{study_id}/submissions/"))
        while True:
            found += answer["results"]
            following = answer["_links"]["next"]["href"]
            if not following:
                return found
            answer = self._ok(self.http.get(following))

    def status(self, study_id: str) -> int:
        self._ok(self.http.get(f"studies/{study_id}/"))
        return sum(1 for s in self.submissions(study_id) if s["status"] == "AWAITING REVIEW")

    def approve(self, study_id: str) -> int:
        approved = 0
        for submission in self.submissions(study_id):
            if submission["status"] == "AWAITING REVIEW":
                done = self._ok(self.http.post(f"submissions/{submission['id']}/transition/", json={"action": "APPROVE"}))
                approved += done["status"] == "APPROVED"
        return approved

    def bonus(self, study_id: str, visits: list[dict]) -> int:
        """One set-up and one pay per row; a pay is answered 202 and paid later, which such a script does not wait for."""
        accepted = 0
        for visit in visits:
            setup = self._ok(self.http.post("submissions/bonus-payments/",
                                            json={"study_id": study_id, "csv_bonuses": f"{visit['participant_id']},{BONUS}"}))
            pay = self.http.post(f"bulk-bonus-payments/{setup['id']}/pay/")
            self._ok(pay)
            accepted += pay.status_code == 202
        return accepted

    def close(self) -> None:
        self.http.close()


def naive(root: Path, n: int, latency_ms: float, babe_rows: list[dict]) -> list[dict]:
    lab = Lab(root, "naive", latency_ms)
    naive_client = Naive(lab.url)
    rows = []
    babe_wall = {row["key"]: row["wall_s"] for row in babe_rows}
    least = minima(n)
    try:
        _, created = lab.babe("create", "--assignments", str(n), "--yes")  # set-up, not measured
        study = created["hits"][0]["hit_id"]
        _, visits = lab.participants(study, n)
        for key, name, action in (
            ("status", f"status, {n} submissions", lambda: naive_client.status(study)),
            ("approve", f"approve {n}", lambda: naive_client.approve(study)),
            ("bonus", f"bonus file of {n} rows", lambda: naive_client.bonus(study, visits)),
        ):
            lab.reset()
            start = time.perf_counter()
            done = action()
            wall = time.perf_counter() - start
            _expect(done == n, f"the naive {name} handled {done}, not {n}")
            by_route = lab.calls()
            ask, see = least[key]
            rows.append({
                "key": key,
                "step": f"naive {name}",
                "wall_s": round(wall, 2),
                "requests": sum(by_route.values()),
                "by_route": by_route,
                "minimum": ask,
                "minimum_seen": ask + see if see else None,
                "babe_wall_s": babe_wall.get(key),
                "naive_over_babe": round(wall / babe_wall[key], 1) if babe_wall.get(key) else None,
            })
        # Unmeasured: the naive pays were accepted, not yet made; they are made once settled.
        lab.wait_until(f"the naive script's {n} bonus payments", lambda: lab.payments(study) >= n)
        _expect(lab.payments(study) == n, f"the naive script's {n} pays made {lab.payments(study)} payments")
    finally:
        naive_client.close()
        lab.close()
    return rows


# -- 3. the server's throughput against its ceilings ---------------------------------------------------
# `compare` is benchmarks/localturk.py's: the service and its ceiling in alternating slices.


class _CannedHandler(BaseHTTPRequestHandler):
    """The HTTP ceiling: reads the request, answers canned bytes in one write (keep-alive, TCP_NODELAY)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    bodies: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = self.bodies[f"{self.command} {self.path.split('?', 1)[0]}"]
        head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def canned_server(bodies: dict[str, tuple[int, bytes]]) -> ThreadingHTTPServer:
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False

        def server_bind(self):  # skip the reverse DNS look-up HTTPServer does
            socketserver.TCPServer.server_bind(self)

    server = Server(("127.0.0.1", 0), type("Handler", (_CannedHandler,), {"bodies": bodies}))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def throughput(root: Path, calls: int) -> list[dict]:
    from babe_prolific.client import ProlificClient
    from babe_prolific.local.inprocess import BASE_URL, transport
    from babe_prolific.local.participants import simulate
    from babe_prolific.local.server import LocalProlificServer

    def client(base: str, via: httpx.BaseTransport | None = None) -> ProlificClient:
        return ProlificClient(base, TOKEN, token_env="PROLIFIC_TOKEN", transport=via, where="benchmark")

    state = root / "throughput.sqlite"
    local = transport(state, faults="")
    local.local_app.store.configure(settle_seconds=NO_WAIT)  # the study must be ACTIVE before its participant comes
    service_inproc = client(BASE_URL, local)
    study = service_inproc.post("studies/", {
        "name": "benchmark", "internal_name": "benchmark", "description": "benchmark", "external_study_url": "https://example.org/",
        "prolific_id_option": "url_parameters", "completion_codes": [{"code": "C0DE", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]}],
        "total_available_places": 1, "estimated_completion_time": 10, "maximum_allowed_time": 60, "reward": 200,
        "device_compatibility": ["desktop"],
    }, idempotent=False)
    service_inproc.post(f"studies/{study['id']}/transition/", {"action": "PUBLISH"}, idempotent=True)
    (visit,) = simulate(local.local_app.store, study["id"], 1, seed=3)
    setup_body = {"study_id": study["id"], "csv_bonuses": f"{visit['participant_id']},0.10"}
    me = service_inproc.get("users/me/")
    setup = service_inproc.post("submissions/bonus-payments/", setup_body, idempotent=True)
    bodies = {
        "GET /api/v1/users/me/": (200, json.dumps(me).encode()),
        "POST /api/v1/submissions/bonus-payments/": (201, json.dumps(setup).encode()),
    }

    def canned(environ, start_response):
        """A WSGI app that answers canned bytes: the in-process way in, minus the service."""
        environ["wsgi.input"].read()
        status, body = bodies[f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}"]
        start_response(f"{status} OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    ceiling_inproc = client(BASE_URL, httpx.WSGITransport(app=canned))

    def read(c):
        return lambda i: c.get("users/me/")

    def write(c):
        return lambda i: c.post("submissions/bonus-payments/", setup_body, idempotent=True)

    rows = [
        _rate_row("GET /users/me/", "in-process", *compare(calls, read(service_inproc), read(ceiling_inproc))),
        _rate_row("POST /submissions/bonus-payments/", "in-process", *compare(calls, write(service_inproc), write(ceiling_inproc))),
    ]
    server = LocalProlificServer(("127.0.0.1", 0), local.local_app).start()
    canned_http = canned_server(bodies)
    try:
        service_http = client(f"{server.url}/api/v1/")
        ceiling_http = client(f"http://127.0.0.1:{canned_http.server_address[1]}/api/v1/")
        rows.append(_rate_row("GET /users/me/", "HTTP", *compare(calls, read(service_http), read(ceiling_http))))
        rows.append(_rate_row("POST /submissions/bonus-payments/", "HTTP", *compare(calls, write(service_http), write(ceiling_http))))
        service_http.close()
        ceiling_http.close()
    finally:
        canned_http.shutdown()
        canned_http.server_close()
        server.stop()  # closes the app (and its store) too
        ceiling_inproc.close()
        service_inproc.close()
    return rows


def _rate_row(request: str, way: str, service: float, ceiling: float) -> dict:
    return {"request": request, "way": way, "per_s": round(service, 1), "ceiling_per_s": round(ceiling, 1), "ratio": round(service / ceiling, 3)}


# -- the table -------------------------------------------------------------------------------------------
def table(document: dict) -> str:
    lines = []
    meta = document["meta"]
    if document.get("lifecycle"):
        settle = meta["settle_seconds"]
        lines += [
            (
                f"Lifecycle with `babe` (subprocess) against the local Prolific over HTTP, latency {meta['latency_ms']:g} ms, "
                f"N = {meta['n']}, settle_seconds {settle:g} (the shipped default); fixed cost of a step {meta['startup_s']} s "
                f"(`babe status` with nothing posted, no latency). Floor: fixed cost + minimum to ask × latency; settled floor "
                f"(asynchronous work): fixed cost + {settle:g} s + (ask + see) × latency. The last columns: the same step on a lab "
                f"with settle_seconds {NO_WAIT}"
            ),
            "",
            "| step | wall | requests (minimum: ask + see) | floor | settled floor | of floor | at settle 0: wall, requests | requests by route |",
            "| --- | ---: | --- | ---: | ---: | ---: | --- | --- |",
        ]
        for row in document["lifecycle"]:
            if row["minimum"] is None:
                lines.append(f"| {row['step']} | {row['wall_s']} s | — | — | — | — | — | {row.get('note', '')} |")
                continue
            minimum = f"{row['minimum']} + {row['minimum_seen'] - row['minimum']}" if row["minimum_seen"] else str(row["minimum"])
            settled = f"{row['settled_floor_s']} s" if row["settled_floor_s"] is not None else "—"
            twin = f"{row['no_wait_wall_s']} s, {row['no_wait_requests']}" if "no_wait_wall_s" in row else "not run"
            lines.append(
                f"| {row['step']} | {row['wall_s']} s | {row['requests']} ({minimum}) | {row['floor_s']} s | {settled} | {row['of_floor']}× "
                f"| {twin} | {_routes(row['by_route'])} |"
            )
    if document.get("naive"):
        lines += [
            "",
            f"The same steps as a per-item script does them (httpx, default page size {DEFAULT_PAGE}, one request per item), same run, "
            "same settle delay (its bonus pays are left to settle, not waited for)",
            "",
            "| step | wall | babe's wall | naive / babe | requests (babe's minimum: ask + see) | requests by route |",
            "| --- | ---: | ---: | ---: | --- | --- |",
        ]
        for row in document["naive"]:
            ratio = f"{row['naive_over_babe']}×" if row["naive_over_babe"] is not None else "—"
            babe_wall = f"{row['babe_wall_s']} s" if row["babe_wall_s"] is not None else "not run"
            minimum = f"{row['minimum']} + {row['minimum_seen'] - row['minimum']}" if row["minimum_seen"] else str(row["minimum"])
            lines.append(f"| {row['step']} | {row['wall_s']} s | {babe_wall} | {ratio} | {row['requests']} ({minimum}) | {_routes(row['by_route'])} |")
    if document.get("throughput"):
        lines += [
            "",
            f"The local Prolific's throughput, {meta['calls']} sequential requests per figure, one ProlificClient, no latency",
            "",
            "| request | way in | requests/s | ceiling requests/s | of ceiling |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for row in document["throughput"]:
            lines.append(f"| {row['request']} | {row['way']} | {row['per_s']:.0f} | {row['ceiling_per_s']:.0f} | {row['ratio']:.0%} |")
    lines.append(
        f"\nmachine: {meta['cores']} cores, load average {meta['load_before']:.1f} before the run and {meta['load_after']:.1f} after "
        f"(shared with other work); {meta['seconds']:.0f} s in all"
    )
    return "\n".join(lines)


def _routes(by_route: dict[str, int]) -> str:
    return ", ".join(f"{route} {count}" for route, count in sorted(by_route.items())) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 100 requests per throughput figure: a smoke run of about a minute")
    parser.add_argument("--n", type=int, help="places, participants and bonus rows (default 1000, or 100 with --quick)")
    parser.add_argument("--calls", type=int, help="requests per throughput figure (default 2000, or 100 with --quick)")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help=f"latency of every API request in the step figures (default {LATENCY_MS})")
    parser.add_argument("--only", default="lifecycle,naive,throughput", help="comma-separated parts: lifecycle, naive, throughput")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--table", metavar="FILE", help="print the table of a JSON file written by --json, run nothing")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return 0
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = only - {"lifecycle", "naive", "throughput"}
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}; choose from lifecycle, naive, throughput")
    n = args.n or (100 if args.quick else 1000)
    calls = args.calls or (100 if args.quick else 2000)
    if n < 1 or calls < 1:
        parser.error("--n and --calls must be 1 or more")
    meta = {"n": n, "calls": calls, "latency_ms": args.latency_ms, "cores": os.cpu_count(), "load_before": os.getloadavg()[0],
            "startup_s": None, "settle_seconds": None}  # the fixed cost of a step, the shipped settle delay
    document: dict = {"meta": meta}
    began = time.perf_counter()
    for name in LOCAL_ENV:  # the servers run in this process: a fresh state's defaults, no faults
        os.environ.pop(name, None)
    with precompiled(), tempfile.TemporaryDirectory(prefix="babe-prolific-bench-") as tmp:
        root = Path(tmp)
        if "lifecycle" in only:
            meta["startup_s"] = fixed_cost(root)
            rows, meta["settle_seconds"] = lifecycle(root, n, args.latency_ms, meta["startup_s"], "babe", None)
            no_wait, _ = lifecycle(root, n, args.latency_ms, meta["startup_s"], "babe-settle0", NO_WAIT)
            document["lifecycle"] = with_no_wait(rows, no_wait)
        if "naive" in only:
            document["naive"] = naive(root, n, args.latency_ms, document.get("lifecycle", []))
        if "throughput" in only:
            document["throughput"] = throughput(root, calls)
    meta.update(load_after=os.getloadavg()[0], seconds=round(time.perf_counter() - began, 1))
    print(json.dumps(document, indent=2) if args.json else table(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
