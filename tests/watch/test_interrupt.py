"""Ctrl-C and SIGTERM: the running step finishes, nothing is half-done, the watch exits 1.

In-process, a plugin presses Ctrl-C (sends SIGINT to its own process) in the middle of an approve;
in a real `babe watch` subprocess the signal arrives while it waits between refreshes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from babe_tasks.testing.experiment import write_plugin

CTRL_C_IN_APPROVE = '''
import os, signal
from pathlib import Path
from babe_tasks.plugins import hookimpl

PRESSES = {presses}

@hookimpl
def babe_before_approve(settings, assignments):
    for _ in range(PRESSES):
        os.kill(os.getpid(), signal.SIGINT)
    (Path(settings.folder) / "pressed").write_text(str(len(assignments)))
'''


def test_ctrl_c_during_approve_lets_the_approve_finish_then_stops(babe, created, experiment, clock, workers, mturk):
    write_plugin(experiment, "ctrlc", CTRL_C_IN_APPROVE.format(presses=1))
    clock.during(lambda: workers(12))

    run = babe("watch", "--interval", "5m", "--json")

    assert run.code == 1, run
    doc = run.json
    assert (doc["reason"], doc["complete"]) == ("interrupted", False)
    assert (experiment / "pressed").read_text() == "12"
    # The approve that was running when Ctrl-C came finished: every assignment is approved, on
    # MTurk and in the ledger's money, and nothing started after it (no expire, no third refresh).
    statuses = [
        a["AssignmentStatus"]
        for hit in created["hits"]
        for a in mturk.list_assignments_for_hit(HITId=hit["hit_id"])["Assignments"]
    ]
    assert statuses == ["Approved"] * 12
    assert doc["approved_now"] == 12
    assert babe("status", "--json").json["spent"] == "7.20"
    assert "warning: stopping after the current step (Ctrl-C again stops at once)" in run.err
    assert "error: interrupted after 2 refresh(es): everything done is recorded; run babe watch again to go on" in run.err

    again = babe("watch", "--interval", "5m", "--json")
    assert again.code == 0, again
    assert again.json["reason"] == "complete"


def test_a_second_ctrl_c_stops_at_once(babe, created, experiment, clock, workers):
    write_plugin(experiment, "ctrlc", CTRL_C_IN_APPROVE.format(presses=2))
    clock.during(lambda: workers(12))

    run = babe("watch", "--interval", "5m")

    assert run.code == 1, run
    assert "interrupted: whatever was done is recorded; run the same command again to finish" in run.err
    assert not (experiment / "pressed").exists()  # stopped inside the hook, before anything was approved


def _start_watch(folder: Path, state: Path, *flags: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BABE_"))}
    env.update(BABE_LOCAL_STATE=str(state), BABE_PLUGINS="", NO_COLOR="1", AWS_EC2_METADATA_DISABLED="true")
    code = "from babe_tasks.program import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "watch", *flags],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(process: subprocess.Popen, words: str, timeout: float = 30) -> str:
    """Read stderr until a line with `words` (the watch's first refresh line)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if words in line:
            return "".join(seen)
    process.kill()
    pytest.fail(f"no {words!r} on stderr: {''.join(seen)!r}")


@pytest.mark.parametrize("sent, name", [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_a_real_babe_watch_stops_cleanly_on_a_signal(babe, created, experiment, state_path, sent, name):
    process = _start_watch(experiment, state_path, "--interval", "1h", "--json")
    before = _wait_for_line(process, "refresh 1:")
    started = time.monotonic()

    process.send_signal(sent)
    out, err = process.communicate(timeout=30)

    assert time.monotonic() - started < 25, f"{name} took too long to stop the watch"  # the interval is 1h
    assert process.returncode == 1, (out, before + err)
    doc = json.loads(out)
    assert (doc["reason"], doc["refreshes"]) == ("interrupted", 1)
    assert doc["status"]["totals"]["available"] == 12
    assert "stopping after the current step" in err
    assert "run babe watch again to go on" in err
    assert "Traceback" not in err
