"""The ledger on PostgreSQL against the folder's SQLite: approve 1,000 and a 500-row bonus file,
and the ledger's own cost per recorded payment.

Issue 16 asks what a lab pays in time for one shared ledger. Two identical labs (1,000 submitted
assignments on the in-process local MTurk, every worker already seen by a `status`) run the real
`babe approve` and then `babe bonus --csv` of 500 rows in a subprocess; they differ only in
`BABE_LEDGER_URL` (unset: `.babe/ledger.sqlite`; set: a fresh database on a PostgreSQL server
started here from the machine's own programs, on 127.0.0.1, as the test suite starts it).
Reported: wall time of each step on each engine, their ratio, and whether every assignment ended
Approved once and every bonus was paid once, to the cent.

"Per recorded payment" times `Ledger.record_approved` — one transaction per payment, the ledger's
work for one approval without the platform — N times on each engine, in this process.

The server here runs with fsync off (as the test suite's does): a lab's server that syncs each
commit to disk pays that on top of the PostgreSQL figures.

`python benchmarks/ledger.py` (about a minute), `--assignments 200 --bonuses 100` for a quick look,
`--json` for machines. A figure, not a check: tests/ledger proves the end state on both engines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bulk import INVOKE_YAML, clean_env, precompiled  # noqa: E402

BONUS = Decimal("0.25")


class EngineLab:
    """One experiment folder of `assignments` submitted assignments, its ledger on one engine."""

    def __init__(self, root: Path, name: str, assignments: int, ledger_url: str | None):
        from babe_mturk.local.service import LocalTurk
        from babe_mturk.local.workers import simulate

        self.state = root / f"{name}.sqlite"
        self.ledger_url = ledger_url
        self.folder = root / name
        self.folder.mkdir()
        (self.folder / "invoke.yaml").write_text(INVOKE_YAML)
        self.babe("create", "--assignments", str(assignments), "--yes", "--json")
        self.turk = LocalTurk(str(self.state))
        simulate(self.turk, workers=assignments, seed=7)
        self.babe("status", "--json")

    def env(self) -> dict[str, str]:
        env = clean_env()
        env.update(BABE_LOCAL_STATE=str(self.state), BABE_TARGET="local", AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
        if self.ledger_url:
            env["BABE_LEDGER_URL"] = self.ledger_url
        return env

    def babe(self, *args: str) -> tuple[float, subprocess.CompletedProcess]:
        start = time.perf_counter()
        done = subprocess.run(["babe", *args], cwd=self.folder, env=self.env(), capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"babe {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return wall, done

    def bonus_file(self, rows: int) -> Path:
        approved = self.turk.store.conn.execute(
            "SELECT worker_id, id FROM assignments WHERE status = 'Approved' ORDER BY id LIMIT ?",
            (rows,),
        ).fetchall()
        path = self.folder / "bonus.csv"
        lines = ["worker_id,assignment_id,amount,reason"]
        lines += [f"{worker},{assignment},{BONUS},Thank you for your careful work" for worker, assignment in approved]
        path.write_text("\n".join(lines) + "\n")
        return path

    def outcome(self, assignments: int, bonuses: int) -> dict:
        conn = self.turk.store.conn
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM assignments GROUP BY status").fetchall())
        amounts = [Decimal(amount) for (amount,) in conn.execute("SELECT amount FROM bonus_payments")]
        return {
            "statuses": statuses,
            "bonuses_paid": len(amounts),
            "exact": statuses == {"Approved": assignments} and len(amounts) == bonuses and sum(amounts) == bonuses * BONUS,
        }

    def close(self) -> None:
        self.turk.store.close()


def run_lab(root: Path, name: str, assignments: int, bonuses: int, ledger_url: str | None) -> dict:
    lab = EngineLab(root, name, assignments, ledger_url)
    try:
        approve_s, _ = lab.babe("approve", "--yes", "--json")
        bonus_s, _ = lab.babe("bonus", "--csv", str(lab.bonus_file(bonuses)), "--yes", "--json")
        sqlite_file = (lab.folder / ".babe" / "ledger.sqlite").exists()
        if sqlite_file == bool(ledger_url):  # the run must have used the engine it is reported under
            raise SystemExit(f"the {name} lab's ledger went to the wrong engine (SQLite file present: {sqlite_file})")
        return {"engine": name, "approve_s": round(approve_s, 2), "bonus_s": round(bonus_s, 2), **lab.outcome(assignments, bonuses)}
    finally:
        lab.close()


def per_payment(root: Path, n: int, ledger_url: str | None, name: str) -> float:
    """Milliseconds `Ledger.record_approved` takes per payment on this engine (one transaction each)."""
    from datetime import datetime, timezone

    from babe_tasks.ledger import Ledger
    from babe_tasks.platform.base import AssignmentInfo

    folder = root / f"record-{name}"
    folder.mkdir()
    now = datetime.now(timezone.utc)
    with Ledger(folder, url=ledger_url or "", member="bench") as ledger:
        start = time.perf_counter()
        for i in range(n):
            assignment = AssignmentInfo(f"A{i:029d}", "H" + "0" * 29, f"W{i:013d}", "Submitted", now, now)
            ledger.record_approved("bench", "local", assignment, Decimal("0.50"), Decimal("0.10"))
        return (time.perf_counter() - start) * 1000 / n


def main(argv: list[str] | None = None) -> int:
    from babe_tasks.testing.postgres import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--assignments", type=int, default=1000)
    parser.add_argument("--bonuses", type=int, default=500)
    parser.add_argument("--records", type=int, default=500, help="payments recorded directly, per engine")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, precompiled(), PostgresServer() as server:
        root = Path(tmp)
        sqlite = run_lab(root, "sqlite", args.assignments, args.bonuses, None)
        postgresql = run_lab(root, "postgresql", args.assignments, args.bonuses, server.create_database().url)
        record_sqlite = per_payment(root, args.records, None, "sqlite")
        record_postgresql = per_payment(root, args.records, server.create_database().url, "postgresql")
    result = {
        "rows": [sqlite, postgresql],
        "approve_ratio": round(postgresql["approve_s"] / sqlite["approve_s"], 2),
        "bonus_ratio": round(postgresql["bonus_s"] / sqlite["bonus_s"], 2),
        "record_ms": {"sqlite": round(record_sqlite, 3), "postgresql": round(record_postgresql, 3)},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"approve {args.assignments}, bonus file of {args.bonuses} rows; in-process local MTurk, `babe` as a subprocess")
        print(f"{'ledger':<11} {'approve s':>9} {'bonus s':>8}  exact")
        for row in result["rows"]:
            print(f"{row['engine']:<11} {row['approve_s']:>9.2f} {row['bonus_s']:>8.2f}  {'yes' if row['exact'] else 'NO'}")
        print(f"ratio PostgreSQL / SQLite: approve {result['approve_ratio']}, bonus {result['bonus_ratio']}")
        print(
            f"per recorded payment (Ledger.record_approved, {args.records} each): "
            f"SQLite {record_sqlite:.3f} ms, PostgreSQL {record_postgresql:.3f} ms"
        )
    return 0 if sqlite["exact"] and postgresql["exact"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
