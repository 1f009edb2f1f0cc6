"""Several processes on one state file: places are never oversold and the money stays exact."""

from __future__ import annotations

import subprocess
import sys
import time

SCRIPT = """
import os, sys, time
from babe_prolific.local import simulate
while not os.path.exists(sys.argv[4]):  # start together
    time.sleep(0.005)
records = simulate(sys.argv[1], sys.argv[2], 200, seed=int(sys.argv[3]))
print(sum(r["outcome"] == "submit" for r in records))
"""


def test_two_processes_racing_for_places(local, tmp_path):
    sid = local.published(total_available_places=300)["id"]
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, str(local.state), sid, str(seed), str(go)], stdout=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    time.sleep(0.5)
    go.touch()
    taken = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(taken) == 300 and min(taken) >= 100  # both got in; nobody beyond the places
    counts = local.counts(sid)
    assert counts["AWAITING REVIEW"] == counts["TOTAL"] == 300
    assert local.study(sid)["status"] == "AWAITING REVIEW"
    assert local.available() == 1_000_000 - 300 * 133
