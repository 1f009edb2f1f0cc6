"""`babe` (or `invoke`, `make`, the AWS CLI) as a child process, the way a person runs it.

Most tests run `babe` in-process (`babe_run`): fast, and a failing assertion shows the run. Some
things only a real process shows — a console script's exit status, a SIGKILL halfway through a
step, two runs at once on one ledger, the environment a child inherits. Those tests start the
child here, so every one of them gets the same result type as in-process runs (`BabeRun`) and
the same hermetic environment (`child_env`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import BabeRun

__all__ = ["BABE", "babe_process", "child_env", "run_babe_process", "run_command", "start_command"]

#: The `babe` console script's code, run by this interpreter (no PATH lookup, no installed script needed).
BABE = [sys.executable, "-c", "import sys\nfrom babe_tasks.program import main\nsys.exit(main())"]


#: The variables a child keeps from this process: the test's AWS files (pointed at nowhere), its
#: local Prolific's conformance check, its ledger and its lab member.
KEPT = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BABE_PROLIFIC_CONFORM", "BABE_LEDGER_URL", "BABE_MEMBER")


def child_env(state: str | Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, minus every AWS_* and BABE_* variable.

    Inside a hermetic test this process's environment is already clean; the filter is for children
    started outside one. The AWS configuration files of the test stay pointed at nowhere, installed
    lab plugins stay out (`BABE_PLUGINS` set but empty, as in-process runs hide them), and
    `state` (the local MTurk's state file) is the test's one, when given. The test's ledger
    (`BABE_LEDGER_URL`, e.g. its PostgreSQL database) and lab member (`BABE_MEMBER`) are kept: a
    child `babe` must write the ledger the test reads, as the member the test set.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BABE_"))}
    for key in KEPT:
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(AWS_EC2_METADATA_DISABLED="true", BABE_PLUGINS="", NO_COLOR="1", COLUMNS="120")
    if state is not None:
        env["BABE_LOCAL_STATE"] = str(state)
    env.update(extra)
    return env


def start_command(argv: Sequence[str], cwd: str | Path, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start a command with its output captured as text (to `finish` it, signal it, or read it live)."""
    return subprocess.Popen(
        list(argv), cwd=cwd, env=None if env is None else dict(env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def run_command(
    argv: Sequence[str], cwd: str | Path, env: Mapping[str, str] | None = None, *, extra_env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> BabeRun:
    """Run a command to its end, no terminal: exit code, stdout, stderr as a `BabeRun`.

    `env` replaces the environment (default: this process's); `extra_env` adds to it.
    """
    full = dict(os.environ if env is None else env)
    full.update(extra_env or {})
    proc = start_command(argv, cwd, full)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{' '.join(map(str, argv))} ran longer than {timeout}s: {BabeRun(-9, out, err)!r}") from None
    return BabeRun(proc.returncode, out, err)


def babe_process(args: Sequence[str], cwd: str | Path, env: Mapping[str, str], command: Sequence[str] = BABE) -> subprocess.Popen:
    """`babe ARGS` started as a child process (killable: SIGINT, SIGKILL)."""
    return start_command([*command, *args], cwd, env)


def run_babe_process(
    args: Sequence[str], cwd: str | Path, env: Mapping[str, str] | None = None, *, command: Sequence[str] = BABE,
    timeout: float = 120,
) -> BabeRun:
    """`babe ARGS` in a child process, run to its end."""
    return run_command([*command, *args], cwd, env, timeout=timeout)
