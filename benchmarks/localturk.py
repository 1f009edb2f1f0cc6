"""How fast is the local MTurk, measured against what the client itself can do?

For GetHIT and ApproveAssignment, one boto3 client calls the local MTurk in-process and over HTTP.
Each figure stands beside its ceiling, measured in the same run with the same client setup:

- in-process ceiling: the same client with a `before-send` handler that returns a canned answer
  (serialising, signing, retry bookkeeping and parsing, but no service);
- HTTP ceiling: a minimal `http.server` (HTTP/1.1 keep-alive, one write per answer, TCP_NODELAY)
  answering the same canned body to the same client.

The ratio service/ceiling says how much of the client's possible speed the service keeps; the
target is at least 50% of each ceiling. Run `python benchmarks/localturk.py` (or `--quick` for a
few hundred calls, as CI's smoke run does; `--json` for machines).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from babe_mturk.local import client as inprocess_client
from babe_mturk.local.server import serve_in_thread
from babe_mturk.local.service import LocalTurk
from babe_mturk.local.workers import simulate

TARGET = 0.5
WARM_UP = 20
QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://example.org/benchmark</ExternalURL>'
    "<FrameHeight>0</FrameHeight></ExternalQuestion>"
)
#: The client setup every case shares (`localturk.client` uses the same).
CREDENTIALS = {"aws_access_key_id": "LOCALTURKLOCALTURK00", "aws_secret_access_key": "localturk", "region_name": "us-east-1"}
RETRIES = {"mode": "standard", "max_attempts": 5}


def plain_client(endpoint_url: str):
    session = boto3.session.Session(**CREDENTIALS)
    return session.client("mturk", endpoint_url=endpoint_url, config=Config(retries=RETRIES))


# -- ceilings ----------------------------------------------------------------------------------------
class _Raw:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data

    def read(self, *_):
        data, self._data = self._data, b""
        return data


def canned_inprocess_client(bodies: dict[str, bytes]):
    """The in-process ceiling: a `before-send` handler that answers canned bytes, nothing else."""
    from babe_mturk.local.inprocess import INPROCESS_ENDPOINT

    mturk = plain_client(INPROCESS_ENDPOINT)
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "00000000-0000-0000-0000-000000000000"}

    def handler(request, **_):
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        return AWSResponse(request.url, 200, headers, _Raw(bodies[operation]))

    mturk.meta.events.register("before-send.mturk", handler)
    return mturk


class _CannedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    bodies: dict[str, bytes] = {}

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = self.bodies[self.headers["X-Amz-Target"].rsplit(".", 1)[-1]]
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"Content-Length: {len(body)}\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n\r\n"
        )
        self.wfile.write(head.encode() + body)

    def log_message(self, *args):
        pass


def canned_http_server(bodies: dict[str, bytes]) -> tuple[ThreadingHTTPServer, str]:
    """The HTTP ceiling: a minimal keep-alive `http.server` answering canned bytes in one write."""
    handler = type("Handler", (_CannedHandler,), {"bodies": bodies})

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False

        def server_bind(self):  # skip the reverse DNS look-up HTTPServer does
            import socketserver

            socketserver.TCPServer.server_bind(self)

    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# -- the workload ------------------------------------------------------------------------------------
def prepare(turk: LocalTurk, approvals: int) -> tuple[str, list[str]]:
    """One HIT to read, and `approvals` submitted assignments to approve (in groups of 100)."""
    mturk = inprocess_client(turk=turk)
    params = dict(Description="benchmark", Reward="0.50", LifetimeInSeconds=86400, AssignmentDurationInSeconds=3600,
                  AutoApprovalDelayInSeconds=30 * 86400, Question=QUESTION)
    read_hit = mturk.create_hit(Title="benchmark read", MaxAssignments=1, **params)["HIT"]["HITId"]
    groups = max(1, -(-approvals // 100))
    hit_ids = [mturk.create_hit(Title=f"benchmark approve {g}", MaxAssignments=100, **params)["HIT"]["HITId"] for g in range(groups)]
    work = simulate(turk, hit_ids=hit_ids, workers=min(100, approvals), seed=1)
    submitted = work["submitted"][:approvals]
    if len(submitted) < approvals:
        raise SystemExit(f"prepared only {len(submitted)} of {approvals} submitted assignments")
    return read_hit, submitted


def compare(calls: int, service: Callable[[int], object], ceiling: Callable[[int], object], rounds: int = 10) -> tuple[float, float]:
    """Calls per second of `service(i)` and `ceiling(i)`, i in range(calls), after a warm-up.

    The two are measured in alternating slices, so a neighbour's load on this shared machine
    weighs on both figures alike instead of on whichever ran at the wrong moment.
    """
    for i in range(WARM_UP):
        service(calls + i)
        ceiling(calls + i)
    spent = [0.0, 0.0]
    bounds = [calls * r // rounds for r in range(rounds + 1)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        for slot, fn in enumerate((service, ceiling)):
            began = time.perf_counter()
            for i in range(start, stop):
                fn(i)
            spent[slot] += time.perf_counter() - began
    return calls / spent[0], calls / spent[1]


def measure(calls: int, state_dir: Path) -> list[dict]:
    turk = LocalTurk(str(state_dir / "bench.sqlite"))
    read_hit, to_approve = prepare(turk, 2 * (calls + WARM_UP))
    inproc_approvals, http_approvals = to_approve[: calls + WARM_UP], to_approve[calls + WARM_UP:]
    bodies = {
        "GetHIT": json.dumps(turk.call("GetHIT", {"HITId": read_hit}), separators=(",", ":")).encode(),
        "ApproveAssignment": b"{}",
    }

    def get_hit(mturk):
        return lambda i: mturk.get_hit(HITId=read_hit)

    def approve(mturk, ids):
        return lambda i: mturk.approve_assignment(AssignmentId=ids[i])

    canned_ids = ["3CANNEDASSIGNMENT0000000000000"] * (calls + WARM_UP)
    rows = []
    service_inproc = inprocess_client(turk=turk, retries=RETRIES)
    ceiling_inproc = canned_inprocess_client(bodies)
    rows.append(_row("GetHIT", "in-process", *compare(calls, get_hit(service_inproc), get_hit(ceiling_inproc))))
    rows.append(_row("ApproveAssignment", "in-process",
                     *compare(calls, approve(service_inproc, inproc_approvals), approve(ceiling_inproc, canned_ids))))

    server, url = serve_in_thread(turk)
    canned, canned_url = canned_http_server(bodies)
    try:
        service_http, ceiling_http = plain_client(url), plain_client(canned_url)
        rows.append(_row("GetHIT", "HTTP", *compare(calls, get_hit(service_http), get_hit(ceiling_http))))
        rows.append(_row("ApproveAssignment", "HTTP",
                         *compare(calls, approve(service_http, http_approvals), approve(ceiling_http, canned_ids))))
    finally:
        server.shutdown()
        canned.shutdown()
        canned.server_close()
        turk.store.close()
    return rows


def _row(operation: str, way: str, service: float, ceiling: float) -> dict:
    return {"operation": operation, "way": way, "calls_per_s": round(service, 1), "ceiling_calls_per_s": round(ceiling, 1),
            "ratio": round(service / ceiling, 3), "meets_target": service / ceiling >= TARGET}


def render(rows: list[dict], calls: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"local MTurk, {calls} sequential calls per figure, one boto3 client", title_justify="left")
    for column, justify in (("operation", "left"), ("way in", "left"), ("calls/s", "right"), ("ceiling calls/s", "right"), ("of ceiling", "right")):
        table.add_column(column, justify=justify)
    for row in rows:
        mark = "" if row["meets_target"] else "  (below 50%)"
        table.add_row(row["operation"], row["way"], f"{row['calls_per_s']:.0f}", f"{row['ceiling_calls_per_s']:.0f}", f"{row['ratio']:.0%}{mark}")
    Console(soft_wrap=True).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred calls in all: a smoke run for CI")
    parser.add_argument("--calls", type=int, help="calls per figure (default 2000, or 100 with --quick)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure is below 50%% of its ceiling")
    args = parser.parse_args(argv)
    calls = args.calls or (100 if args.quick else 2000)
    with tempfile.TemporaryDirectory(prefix="localturk-bench-") as scratch:
        rows = measure(calls, Path(scratch))
    if args.json:
        print(json.dumps({"calls": calls, "target_ratio": TARGET, "rows": rows}, indent=2))
    else:
        render(rows, calls)
    return 1 if args.check and not all(row["meets_target"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
