"""The Prolific plugin's figures: requests and wall time of each step, and the local server's speed.

Every step figure runs against the local Prolific over real HTTP (`babe_prolific.local.server`,
what `babe-prolific serve` runs) with `latency_ms=50` on every API request — a realistic round
trip to api.prolific.com — so the figures are dominated by what a lab would wait for: round trips,
not local CPU. `babe` runs in a subprocess as a lab runs it (its own interpreter, no GIL shared
with the server) and its wall time includes starting that interpreter. Requests are counted by
the server itself (`GET /_local/stats`, reset before each step).

1. lifecycle: `babe create` of N places, N simulated participants submit, `babe status`,
   `babe approve`, `babe bonus --csv` of N rows, `babe expire` — per step the wall time, the
   requests made and the minimum the API allows for the step (below), and the floor: a step's
   fixed cost (`babe status` with nothing posted and no latency, measured in the same run) +
   minimum × latency.
2. naive: the same status, approve and bonus as a per-item script does them on a second lab of N
   submissions (httpx, the same latency): list at Prolific's default page size of 20, one APPROVE
   transition per submission, one set-up and one pay per bonus. Request counts and the time
   ratio naive / babe, measured in the same run.
3. throughput: requests per second of the local Prolific against a ceiling measured in the same
   run with the same client (the plugin's `ProlificClient`), in alternating slices so a
   neighbour's load weighs on both alike: in-process (the local Prolific's WSGI transport vs the
   same httpx WSGI transport over an app that answers canned bytes) and over HTTP (the server vs a minimal keep-alive
   `http.server` answering the same bytes). A read (`GET /users/me/`) and a write (a bonus set-up
   of one row, `POST /submissions/bonus-payments/`: validated, priced and inserted); no latency.

The minimum the API allows for a step (Prolific's limits: list pages of at most 200, bulk
approval of at most 1,000 ids, a bonus set-up of at most 200 rows):
- create: 4 — the account (`users/me`, for the cost), the study's name looked up (one page: the
  idempotency that makes a re-run post nothing), the draft, the publish transition;
- status: 2 + ceil(N/200) — the account (the fees of what is spent and committed), the study, and
  every submission (the median time to submit needs them);
- approve: ceil(N/200) + ceil(N/1000) — list, then bulk-approve (the adapter also confirms by
  listing again, because the real bulk call answers before it has done its work);
- bonus: 1 + 2 × ceil(N/200) — the account (fees), one set-up and one pay per 200 rows;
- expire: 1 — the STOP transition, or one read of a study that is full already (as here: N
  participants fill N places).

`python benchmarks/prolific.py` (N = 1,000, a few minutes: the naive per-item script makes over
3,000 requests at 50 ms), `--quick` (N = 100, about half a minute: a smoke run), `--only
lifecycle,naive,throughput`, `--json` (the rows for machines). No test asserts a time: these are
figures, not checks; the exact request counts are tested in
tests/prolific/platform/test_prolific_calls.py.
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
    """One local Prolific server (its own state, `latency_ms` on every API request) and one experiment folder."""

    def __init__(self, root: Path, name: str, latency_ms: float):
        from babe_prolific.local.server import make_server

        self.folder = root / name
        self.folder.mkdir()
        (self.folder / "invoke.yaml").write_text(INVOKE_YAML)
        spec = f"latency_ms={latency_ms:g}" if latency_ms else ""
        self.server = make_server(root / f"{name}.sqlite", port=0, faults=spec).start()
        self.url = self.server.url
        self.control = httpx.Client(base_url=self.url, timeout=300)

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
        self.control.post("/_local/stats/reset").raise_for_status()

    def calls(self) -> dict[str, int]:
        """API requests answered since the last reset, per route (`"GET /users/me/": 1`)."""
        answer = self.control.get("/_local/stats")
        answer.raise_for_status()
        return answer.json()["calls"]

    def participants(self, study_id: str, count: int) -> tuple[float, list[dict]]:
        """`count` simulated participants take the study and submit (the server's `/_local/participants`)."""
        start = time.perf_counter()
        answer = self.control.post("/_local/participants", json={"study_id": study_id, "count": count, "seed": 7})
        wall = time.perf_counter() - start
        answer.raise_for_status()
        visits = [v for v in answer.json()["participants"] if v["outcome"] == "submit"]
        if len(visits) != count:
            raise SystemExit(f"only {len(visits)} of {count} participants submitted")
        return wall, visits

    def close(self) -> None:
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
def lifecycle(root: Path, n: int, latency_ms: float) -> tuple[list[dict], float]:
    """The rows of each step, and the fixed cost of a step measured in the same run."""
    start_s = fixed_cost(root)
    lab = Lab(root, "babe", latency_ms)
    rows: list[dict] = []
    try:

        def step(name: str, minimum: int, *args: str) -> dict:
            lab.reset()
            wall, document = lab.babe(*args)
            rows.append(_step_row(name, wall, lab.calls(), minimum, start_s, latency_ms))
            return document

        created = step(f"create {n} places", 4, "create", "--assignments", str(n), "--yes")
        study = created["hits"][0]["hit_id"]
        lab.reset()
        wall, visits = lab.participants(study, n)
        rows.append({"step": f"{n} participants submit (simulated)", "wall_s": round(wall, 2), "requests": sum(lab.calls().values()),
                     "by_route": lab.calls(), "minimum": 0, "floor_s": None, "note": "the server's /_local route, not the API"})
        status = step(f"status, {n} submissions", 2 + pages(n, MAX_PAGE), "status")
        _expect(status["hits"][0]["submitted"] == n, f"status saw {status['hits'][0]['submitted']} submitted, not {n}")
        approved = step(f"approve {n}", pages(n, MAX_PAGE) + pages(n, MAX_BULK_APPROVE), "approve", "--yes")
        _expect(approved["approved"] == n, f"approve approved {approved['approved']}, not {n}")
        csv = bonus_file(lab.folder, visits)
        paid = step(f"bonus file of {n} rows", 1 + 2 * pages(n, MAX_BONUS_ROWS), "bonus", "--csv", str(csv), "--yes")
        _expect(len(paid["paid"]) == n, f"bonus paid {len(paid['paid'])}, not {n}")
        step("expire (the study is full)", 1, "expire")
    finally:
        lab.close()
    return rows, start_s


def _step_row(name: str, wall: float, by_route: dict[str, int], minimum: int, start_s: float, latency_ms: float) -> dict:
    floor = start_s + minimum * latency_ms / 1000
    return {
        "step": name,
        "wall_s": round(wall, 2),
        "requests": sum(by_route.values()),
        "by_route": by_route,
        "minimum": minimum,
        "floor_s": round(floor, 2),
        "of_floor": round(wall / floor, 2),
    }


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark stopped: {message}")


# -- 2. the same steps, per item -----------------------------------------------------------------------
class Naive:
    """What a lab's own script does: plain httpx, Prolific's defaults, one request per item."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=f"{url}/api/v1/", headers={"Authorization": f"Token {TOKEN}"}, timeout=60)

    def _ok(self, response: httpx.Response) -> dict | str | None:
        response.raise_for_status()
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text

    def submissions(self, study_id: str) -> list[dict]:
        """Every submission, following the next links at the default page size."""
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
                self._ok(self.http.post(f"submissions/{submission['id']}/transition/", json={"action": "APPROVE"}))
                approved += 1
        return approved

    def bonus(self, study_id: str, visits: list[dict]) -> int:
        for visit in visits:
            setup = self._ok(self.http.post("submissions/bonus-payments/",
                                            json={"study_id": study_id, "csv_bonuses": f"{visit['participant_id']},{BONUS}"}))
            self._ok(self.http.post(f"bulk-bonus-payments/{setup['id']}/pay/"))
        return len(visits)

    def close(self) -> None:
        self.http.close()


def naive(root: Path, n: int, latency_ms: float, babe_rows: list[dict]) -> list[dict]:
    lab = Lab(root, "naive", latency_ms)
    naive_client = Naive(lab.url)
    rows = []
    babe_wall = {row["step"].split(",")[0].split(" ")[0]: row["wall_s"] for row in babe_rows}
    try:
        _, created = lab.babe("create", "--assignments", str(n), "--yes")  # set-up, not measured
        study = created["hits"][0]["hit_id"]
        _, visits = lab.participants(study, n)
        for name, action, minimum in (
            (f"status, {n} submissions", lambda: naive_client.status(study), 2 + pages(n, MAX_PAGE)),
            (f"approve {n}", lambda: naive_client.approve(study), pages(n, MAX_PAGE) + pages(n, MAX_BULK_APPROVE)),
            (f"bonus file of {n} rows", lambda: naive_client.bonus(study, visits), 1 + 2 * pages(n, MAX_BONUS_ROWS)),
        ):
            lab.reset()
            start = time.perf_counter()
            done = action()
            wall = time.perf_counter() - start
            _expect(done == n, f"the naive {name} handled {done}, not {n}")
            by_route = lab.calls()
            key = name.split(",")[0].split(" ")[0]
            rows.append({
                "step": f"naive {name}",
                "wall_s": round(wall, 2),
                "requests": sum(by_route.values()),
                "by_route": by_route,
                "minimum": minimum,
                "babe_wall_s": babe_wall.get(key),
                "naive_over_babe": round(wall / babe_wall[key], 1) if babe_wall.get(key) else None,
            })
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
        lines += [
            (
                f"Lifecycle with `babe` (subprocess) against the local Prolific over HTTP, latency {meta['latency_ms']:g} ms, "
                f"N = {meta['n']}; fixed cost of a step {meta['startup_s']} s (`babe status` with nothing posted, no latency)"
            ),
            "",
            "| step | wall | requests (minimum) | floor: fixed cost + minimum × latency | of floor | requests by route |",
            "| --- | ---: | --- | ---: | ---: | --- |",
        ]
        for row in document["lifecycle"]:
            floor = f"{row['floor_s']} s" if row["floor_s"] is not None else "—"
            of_floor = f"{row['of_floor']}×" if row.get("of_floor") is not None else "—"
            lines.append(f"| {row['step']} | {row['wall_s']} s | {row['requests']} ({row['minimum']}) | {floor} | {of_floor} | {_routes(row['by_route'])} |")
    if document.get("naive"):
        lines += [
            "",
            f"The same steps as a per-item script does them (httpx, default page size {DEFAULT_PAGE}, one request per item), same run",
            "",
            "| step | wall | babe's wall | naive / babe | requests (babe's minimum) | requests by route |",
            "| --- | ---: | ---: | ---: | --- | --- |",
        ]
        for row in document["naive"]:
            ratio = f"{row['naive_over_babe']}×" if row["naive_over_babe"] is not None else "—"
            babe_wall = f"{row['babe_wall_s']} s" if row["babe_wall_s"] is not None else "not run"
            lines.append(f"| {row['step']} | {row['wall_s']} s | {babe_wall} | {ratio} | {row['requests']} ({row['minimum']}) | {_routes(row['by_route'])} |")
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
    parser.add_argument("--quick", action="store_true", help="N = 100 and 100 requests per throughput figure: a smoke run of about half a minute")
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
    meta = {"n": n, "calls": calls, "latency_ms": args.latency_ms, "cores": os.cpu_count(), "load_before": os.getloadavg()[0], "startup_s": None}  # the fixed cost of a step
    document: dict = {"meta": meta}
    began = time.perf_counter()
    with precompiled(), tempfile.TemporaryDirectory(prefix="babe-prolific-bench-") as tmp:
        root = Path(tmp)
        os.environ.pop("BABE_PROLIFIC_FAULTS", None)
        if "lifecycle" in only:
            document["lifecycle"], meta["startup_s"] = lifecycle(root, n, args.latency_ms)
        if "naive" in only:
            document["naive"] = naive(root, n, args.latency_ms, document.get("lifecycle", []))
        if "throughput" in only:
            document["throughput"] = throughput(root, calls)
    meta.update(load_after=os.getloadavg()[0], seconds=round(time.perf_counter() - began, 1))
    print(json.dumps(document, indent=2) if args.json else table(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
