"""Bulk steps at the limit: approve, status, startup and memory, against a local MTurk over HTTP.

Every figure runs against `babe_mturk.local.server.serve_in_thread` (what `babe local.serve`
runs) with `latency_ms=50`, a realistic round trip to Amazon, so the figures are dominated by
what a real lab would wait for: round trips, not local CPU. `babe` itself runs in a subprocess,
as a lab runs it (its own interpreter, so it shares no GIL with the server), and its wall time
includes starting the interpreter.

1. approve N submitted assignments over ceil(N/9) HITs: `babe approve` vs the baseline a lab
   uses today (the MTurkDeployTemplate approach — one HIT at a time, list its submitted
   assignments, approve them one by one — corrected to paginate); wall time, ratio, calls vs
   the minimum (list pages + N approvals), and the floor N × latency / max_concurrency.
2. the same with `rate=20` (the server throttles above 20 requests/s): failures, and time vs
   N / 20 seconds.
3. status of 120 HITs with work on most: calls made vs the minimum (one GetHIT per HIT, the list
   pages of HITs whose counts the ledger cannot explain, one grant per new worker), then a
   second status with nothing new (minimum: one GetHIT per HIT).
4. startup: `babe --list` vs `python -c "import invoke"`, medians of 15 runs each.
5. memory: peak RSS of `babe approve` over 10,000 assignments (os.wait4's rusage of the child).

`python benchmarks/bulk.py` (about five minutes on 2 cores), `--quick` (smaller sizes, about half a
minute: CI's smoke run), `--json` (the rows for machines). No test asserts a time: these are
figures, not checks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

LATENCY_MS = 50
RATE = 20
BATCH = 9
INVOKE_YAML = (
    "babe:\n"
    "  url: https://example.org/experiment/\n"
    "  title: A short language study\n"
    "  description: Read sentences and rate them.\n"
    '  reward: "0.50"\n'
)


@contextmanager
def precompiled():
    """babe_tasks compiled to bytecode for the run, as `pip install` does for a lab's installation.

    An editable install on a machine with PYTHONDONTWRITEBYTECODE (this one) has none, and invoke
    turns bytecode writing off in every run it starts (`--write-pyc` is off by default), so each
    `babe` step would compile its modules from source again: 0.1 s to 0.6 s that no installed
    copy pays. The `__pycache__/` folders made here are removed afterwards (they would change the
    start-up time of other people's runs on this shared tree).
    """
    import babe_tasks

    package = Path(babe_tasks.__file__).parent
    before = {p for p in package.rglob("__pycache__")}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    try:
        yield
    finally:
        for made in sorted({p for p in package.rglob("__pycache__")} - before, reverse=True):
            shutil.rmtree(made, ignore_errors=True)


def clean_env() -> dict[str, str]:
    """This environment without BABE_*/AWS_* settings, which would leak into the lab's runs."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("BABE_", "AWS_"))}


class Lab:
    """One local MTurk server and one experiment folder with `assignments` submitted assignments."""

    def __init__(self, root: Path, name: str, assignments: int, *, submit: int | None = None):
        from babe_mturk.local.server import serve_in_thread
        from babe_mturk.local.workers import simulate

        self.folder = root / name
        self.folder.mkdir()
        (self.folder / "invoke.yaml").write_text(INVOKE_YAML)
        self.server, self.url = serve_in_thread(root / f"{name}.sqlite")
        self.turk = self.server.turk
        created = self.babe("create", "--assignments", str(assignments), "--yes", "--json")
        self.hit_ids = [h["hit_id"] for h in json.loads(created.stdout)["hits"]]
        work = simulate(self.turk, workers=submit if submit is not None else assignments, seed=7)
        self.submitted = len(work["submitted"])

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env()
        env.update(BABE_ENDPOINT_URL=self.url, BABE_TARGET="local", AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
        env.update(extra)
        return env

    def babe(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        done = subprocess.run(["babe", *args], check=False, cwd=self.folder, env=self.env(**env), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"babe {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return done

    def faults(self, spec: str | None) -> None:
        from babe_mturk.local.faults import injector

        self.server.faults = injector(spec)

    def reset(self) -> None:
        from babe_mturk.local import stats

        stats.reset(self.turk, self.server.faults)

    def calls(self) -> dict:
        from babe_mturk.local import stats

        return stats.snapshot(self.turk, self.server.faults)

    def close(self) -> None:
        self.server.shutdown()


def per_hit(lab: Lab) -> dict[str, int]:
    """Assignments per HIT, read from the local MTurk's state (what a full listing must read)."""
    rows = lab.turk.store.conn.execute("SELECT hit_id, COUNT(*) FROM assignments GROUP BY hit_id").fetchall()
    return {hit_id: count for hit_id, count in rows}


def list_pages(lab: Lab) -> int:
    """ListAssignmentsForHIT pages needed to read every assignment of every HIT (at least one each)."""
    counts = per_hit(lab)
    return sum(max(1, math.ceil(counts.get(h, 0) / 100)) for h in lab.hit_ids)


# -- 1. approve vs the baseline ---------------------------------------------------------------------
def baseline_approve(url: str, hit_ids: list[str]) -> int:
    """MTurkDeployTemplate's approve, corrected to paginate: per HIT, list Submitted, approve each."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="LOCALTURKLOCALTURK00", aws_secret_access_key="localturk", region_name="us-east-1"
    )
    mturk = session.client("mturk", endpoint_url=url, config=Config(retries={"mode": "standard"}))
    approved = 0
    for hit_id in hit_ids:
        token = None
        while True:
            kwargs = {"HITId": hit_id, "AssignmentStatuses": ["Submitted"], "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = mturk.list_assignments_for_hit(**kwargs)
            for assignment in page["Assignments"]:
                mturk.approve_assignment(AssignmentId=assignment["AssignmentId"])
                approved += 1
            token = page.get("NextToken")
            if not token or not page["Assignments"]:
                break
    return approved


def approve_figures(root: Path, n: int, concurrency: int | None, *, baseline: bool = True) -> list[dict]:
    hits = math.ceil(n / BATCH)
    rows = []
    base_wall = None
    if baseline:
        lab = Lab(root, "baseline", n)
        try:
            lab.faults(f"latency_ms={LATENCY_MS}")
            lab.reset()
            start = time.perf_counter()
            approved = baseline_approve(lab.url, lab.hit_ids)
            base_wall = time.perf_counter() - start
            base_calls = lab.calls()
        finally:
            lab.close()
        rows.append(_approve_row("baseline (sequential)", n, hits, approved, base_wall, base_calls, None, None))
    # babe approve.
    lab = Lab(root, "babe", n)
    try:
        lab.babe("status", "--json")  # grants the experiment's qualification, as a lab's status does
        lab.faults(f"latency_ms={LATENCY_MS}")
        lab.reset()
        env = {"BABE_MAX_CONCURRENCY": str(concurrency)} if concurrency else {}
        start = time.perf_counter()
        done = lab.babe("approve", "--yes", "--json", **env)
        wall = time.perf_counter() - start
        calls = lab.calls()
        pages = list_pages(lab)
    finally:
        lab.close()
    result = json.loads(done.stdout)
    used = concurrency or _default_concurrency()
    floor = n * LATENCY_MS / 1000 / used
    row = _approve_row(f"babe approve (max_concurrency {used})", n, hits, result["approved"], wall, calls, floor, pages)
    row["failed"] = len(result["failed"])
    row["speedup"] = round(base_wall / wall, 1) if base_wall else None
    rows.append(row)
    return rows


def _approve_row(name, n, hits, approved, wall, calls, floor, pages) -> dict:
    requests = calls["requests"]
    minimum = (pages if pages is not None else requests.get("ListAssignmentsForHIT", 0)) + n
    return {
        "figure": f"approve {n} over {hits} HITs: {name}",
        "approved": approved,
        "wall_s": round(wall, 2),
        "calls": calls["total"],
        "calls_by_operation": requests,
        "minimum_calls": minimum,
        "floor_s": round(floor, 2) if floor else None,
        "of_floor": round(wall / floor, 2) if floor else None,
    }


def _default_concurrency() -> int:
    from babe_tasks.settings import DEFAULTS

    return int(DEFAULTS["max_concurrency"])


# -- 2. approve under a rate limit ----------------------------------------------------------------------
def rate_figure(root: Path, n: int, concurrency: int | None) -> dict:
    lab = Lab(root, "rate", n)
    try:
        lab.babe("status", "--json")
        lab.faults(f"latency_ms={LATENCY_MS},rate={RATE}")
        lab.reset()
        env = {"BABE_MAX_CONCURRENCY": str(concurrency)} if concurrency else {}
        start = time.perf_counter()
        done = subprocess.run(
            ["babe", "approve", "--yes", "--json"], check=False, cwd=lab.folder, env=lab.env(**env), capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        calls = lab.calls()
    finally:
        lab.close()
    result = json.loads(done.stdout) if done.stdout.strip() else {"approved": 0, "failed": ["no output"]}
    allowed = calls["total"] / RATE  # every request that reached the service used one of the rate's slots
    ideal = n / RATE
    return {
        "figure": f"approve {n} with rate={RATE}/s",
        "exit": done.returncode,
        "approved": result["approved"],
        "failed": len(result["failed"]),
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "of_ideal": round(wall / ideal, 2),
        "served": calls["total"],
        "throttled": calls["faults"]["rate"],
        "served_time_s": round(allowed, 2),
    }


# -- 3. status --------------------------------------------------------------------------------------------
def status_figures(root: Path, hits: int) -> list[dict]:
    n = hits * BATCH
    lab = Lab(root, "status", n, submit=n * 2 // 3)
    rows = []
    try:
        lab.faults(f"latency_ms={LATENCY_MS}")
        counts = per_hit(lab)
        workers = lab.submitted
        for label, minimum in (
            ("first status (nothing known)", hits + sum(max(1, math.ceil(c / 100)) for c in counts.values() if c) + workers),
            ("second status (nothing new)", hits),
        ):
            lab.reset()
            start = time.perf_counter()
            lab.babe("status", "--json")
            wall = time.perf_counter() - start
            calls = lab.calls()
            rows.append(
                {
                    "figure": f"status of {hits} HITs: {label}",
                    "wall_s": round(wall, 2),
                    "calls": calls["total"],
                    "calls_by_operation": calls["requests"],
                    "minimum_calls": minimum,
                }
            )
    finally:
        lab.close()
    return rows


# -- 4. startup ---------------------------------------------------------------------------------------------
def startup_figure(runs: int) -> dict:
    """Wall-time medians of interleaved runs, measured as benchmarks/startup.py measures them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from startup import measure

    wall = measure(runs)["wall"]
    b, p = wall["median_s"]["babe --list"], wall["median_s"]["import invoke"]
    return {
        "figure": f"startup, median of {runs}",
        "babe_list_s": round(b, 3),
        "import_invoke_s": round(p, 3),
        "ratio": round(b / p, 2),
    }


# -- 5. memory -----------------------------------------------------------------------------------------------
def memory_figure(root: Path, n: int) -> dict:
    lab = Lab(root, "memory", n)
    try:
        lab.babe("status", "--json")
        lab.faults(f"latency_ms={LATENCY_MS}")
        start = time.perf_counter()
        child = subprocess.Popen(
            ["babe", "approve", "--yes", "--json"], cwd=lab.folder, env=lab.env(),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
    finally:
        lab.close()
    result = json.loads(out)
    return {
        "figure": f"approve {n}: peak RSS",
        "approved": result["approved"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "wall_s": round(wall, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run of about half a minute")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--table", metavar="FILE", help="print the table of a JSON file written by --json, run nothing")
    parser.add_argument("--concurrency", type=int, default=None, help="max_concurrency for babe (default: its default)")
    parser.add_argument(
        "--only", default="baseline,approve,rate,status,startup,memory", help="comma-separated figures (approve without baseline skips it)"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return 0
    only = set(args.only.split(","))
    n, rate_n, hits, runs, memory_n = (100, 100, 12, 10, 1000) if args.quick else (1000, 1000, 120, 15, 10000)
    rows: list[dict] = []
    load_before = os.getloadavg()[0]
    with precompiled(), tempfile.TemporaryDirectory(prefix="babe-bulk-") as tmp:
        root = Path(tmp)
        os.environ["BABE_LOCAL_STATE"] = str(root / "unused.sqlite")
        if "approve" in only or "baseline" in only:
            rows += approve_figures(root, n, args.concurrency, baseline="baseline" in only)
        if "rate" in only:
            rows.append(rate_figure(root, rate_n, args.concurrency))
        if "status" in only:
            rows += status_figures(root, hits)
        if "startup" in only:
            rows.append(startup_figure(runs))
        if "memory" in only:
            rows.append(memory_figure(root, memory_n))
    rows.append({"figure": "machine", "cores": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()[0]})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    """The figures as a Markdown table: figure, measured, target, how far, calls vs minimum."""
    lines = ["| figure | measured | target | ratio | calls (minimum) |", "| --- | --- | --- | ---: | --- |"]
    baseline = next((r["wall_s"] for r in rows if r["figure"].endswith("baseline (sequential)")), None)
    for row in rows:
        figure, calls = row["figure"], ""
        if "minimum_calls" in row:
            by_op = ", ".join(f"{op} {n}" for op, n in sorted(row["calls_by_operation"].items()))
            calls = f"{row['calls']} ({row['minimum_calls']}): {by_op}"
        if figure.endswith("baseline (sequential)"):
            lines.append(f"| {figure} | {row['wall_s']} s | — | 1.0× | {calls} |")
        elif "babe approve" in figure:
            speedup = f"{baseline / row['wall_s']:.1f}× faster" if baseline else "no baseline run"
            lines.append(f"| {figure} | {row['wall_s']} s, {row['failed']} failed | ≥ 10× faster than baseline | {speedup} | {calls} |")
            lines.append(
                f"| … vs floor N × latency / max_concurrency = {row['floor_s']} s | {row['wall_s']} s | ≤ 1.5× floor | "
                f"{row['of_floor']}× | |"
            )
        elif "rate=" in figure:
            lines.append(
                f"| {figure} | {row['wall_s']} s, {row['failed']} failed, {row['throttled']} throttled | "
                f"no failures, ≤ 1.25 × N/{RATE} = {row['ideal_s'] * 1.25:.1f} s | {row['of_ideal']}× | "
                f"{row['served']} served ({row['served_time_s']} s at {RATE}/s) |"
            )
        elif figure.startswith("status"):
            lines.append(f"| {figure} | {row['wall_s']} s | calls = minimum | {row['calls'] / row['minimum_calls']:.2f}× | {calls} |")
        elif figure.startswith("startup"):
            lines.append(
                f"| {figure}: `babe --list` vs `python -c \"import invoke\"` | {row['babe_list_s']} s vs "
                f"{row['import_invoke_s']} s | ≤ 1.3× | {row['ratio']}× | |"
            )
        elif "peak RSS" in figure:
            lines.append(f"| {figure} | {row['peak_rss_mb']} MB ({row['wall_s']} s) | < 150 MB | {row['peak_rss_mb'] / 150:.2f}× of limit | |")
    machine = next((r for r in rows if r["figure"] == "machine"), None)
    if machine:
        lines.append(
            f"\nmachine: {machine['cores']} cores, load average {machine['load_before']:.1f} before the run and "
            f"{machine['load_after']:.1f} after (shared with other work)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
