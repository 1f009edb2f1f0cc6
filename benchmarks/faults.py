"""approve of 1,000 under the reliability campaign's faults, against the same approve without them.

Issue 14 asks that one `babe approve` over 1,000 assignments finish in one run under the campaign's
faults (throttling 20 %, server faults 10 %, dropped connections 5 %, lost answers 10 %) with the
shipped retry defaults, and within twice its fault-free time. Both runs here start from identical
labs (1,000 assignments over 112 HITs, every worker already granted the experiment's
qualification by a `status`) and run the real `babe approve` in a subprocess with no retry
environment variables; only the fault spec differs. Reported: wall time of each, their ratio,
and whether every assignment ended Approved exactly once with the balance exact to the cent.

By default both run in-process, as the fault campaign does (`BABE_LOCAL_FAULTS` in the `babe`
process, the state file shared); `--http` runs them against a local MTurk server in a thread with
50 ms of latency per request, where the server counts the attempts and the injected faults.

`python benchmarks/faults.py` (1,000, about 15 s; `--http` about 30 s), `--assignments 200` for a
quick look, `--seed N` for another fault sequence, `--json` for machines. A figure, not a check:
no test asserts the ratio (tests/reliability/test_faults.py proves the end state with the same
defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bulk import INVOKE_YAML, LATENCY_MS, Lab, clean_env, precompiled  # noqa: E402

FAULTS = "throttle=0.2,fault=0.1,drop=0.05,lost=0.1"
REWARD_AND_FEE = Decimal("0.60")  # $0.50 reward + MTurk's 20 % fee (HITs of fewer than 10 assignments)


class InProcessLab(Lab):
    """The same lab on the in-process local MTurk (`BABE_LOCAL_FAULTS`), as the fault campaign runs it."""

    def __init__(self, root: Path, name: str, assignments: int):
        from babe_mturk.local.service import LocalTurk
        from babe_mturk.local.workers import simulate

        self.state = root / f"{name}.sqlite"
        self.spec: str | None = None
        self.folder = root / name
        self.folder.mkdir()
        (self.folder / "invoke.yaml").write_text(INVOKE_YAML)
        created = self.babe("create", "--assignments", str(assignments), "--yes", "--json")
        self.hit_ids = [h["hit_id"] for h in json.loads(created.stdout)["hits"]]
        self.turk = LocalTurk(str(self.state))
        self.submitted = len(simulate(self.turk, workers=assignments, seed=7)["submitted"])

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env()
        env.update(BABE_LOCAL_STATE=str(self.state), BABE_TARGET="local", AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
        if self.spec:
            env["BABE_LOCAL_FAULTS"] = self.spec
        env.update(extra)
        return env

    def faults(self, spec: str | None) -> None:
        self.spec = spec

    def reset(self) -> None:
        self.turk.reset_stats()

    def calls(self) -> dict:
        # The faults are injected in the `babe` process: its counts die with it.
        return {}

    def close(self) -> None:
        self.turk.store.close()


def approve_once(root: Path, name: str, n: int, spec: str, http: bool) -> dict:
    """One lab of `n` submitted assignments, one `babe approve` under `spec`; its figures."""
    import subprocess

    lab = Lab(root, name, n) if http else InProcessLab(root, name, n)
    try:
        lab.babe("status", "--json")  # grants the experiment's qualification, as a lab's status does
        before = Decimal(lab.turk.call("GetAccountBalance", {})["AvailableBalance"])
        lab.faults(spec)
        lab.reset()
        env = lab.env()
        start = time.perf_counter()
        done = subprocess.run(["babe", "approve", "--yes", "--json"], cwd=lab.folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        calls = lab.calls()
        lab.faults(None)
        statuses = lab.turk.store.conn.execute(
            "SELECT status, COUNT(*) FROM assignments GROUP BY status"
        ).fetchall()
        after = Decimal(lab.turk.call("GetAccountBalance", {})["AvailableBalance"])
    finally:
        lab.close()
    return {
        "run": name,
        "faults": spec,
        "exit": done.returncode,
        "wall_s": round(wall, 2),
        "calls": calls,
        "statuses": dict(statuses),
        "spent": str(before - after),
        "exact": dict(statuses) == {"Approved": n} and before - after == n * REWARD_AND_FEE,
        "stderr": done.stderr.strip()[-600:],
    }


def attempts(calls: dict) -> int:
    """Requests the server saw: those that reached an operation, and those failed before it."""
    failed_before = sum(calls["faults"].get(kind, 0) for kind in ("throttle", "fault", "drop"))
    return calls["total"] + failed_before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--assignments", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--http", action="store_true", help=f"over HTTP with {LATENCY_MS} ms of latency per request")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, precompiled():
        root = Path(tmp)
        latency = f",latency_ms={LATENCY_MS}" if args.http else ""
        quiet = approve_once(root, "fault-free", args.assignments, latency.lstrip(","), args.http)
        faulted = approve_once(root, "faults", args.assignments, f"{FAULTS},seed={args.seed}{latency}", args.http)
    ratio = round(faulted["wall_s"] / quiet["wall_s"], 2)
    if args.json:
        print(json.dumps({"rows": [quiet, faulted], "ratio": ratio}, indent=2))
    else:
        way = f"over HTTP, latency {LATENCY_MS} ms" if args.http else "in-process (the fault campaign's local MTurk)"
        print(f"approve of {args.assignments} {way}, shipped retry defaults")
        print(f"{'run':<11} {'exit':>4} {'wall s':>7} {'attempts':>8}  injected faults                      exact")
        for row in (quiet, faulted):
            injected = {k: v for k, v in row["calls"].get("faults", {}).items() if v and k not in ("latency", "rate")}
            seen = attempts(row["calls"]) if row["calls"] else "-"
            shown = json.dumps(injected) if row["calls"] else "- (counted in the babe process)"
            print(
                f"{row['run']:<11} {row['exit']:>4} {row['wall_s']:>7.2f} {seen:>8}  "
                f"{shown:<36} {'yes' if row['exact'] else 'NO'}"
            )
            if row["exit"]:
                print(f"  stderr: {row['stderr']}")
        print(f"ratio (faults / fault-free): {ratio}  (target: at most 2)")
    return 0 if quiet["exact"] and faulted["exact"] and faulted["exit"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
