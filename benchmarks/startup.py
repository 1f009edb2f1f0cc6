"""Start-up: `babe --list` against `python -c "import invoke"`, the floor any invoke program stands on.

Issue 15 holds `babe --list` within 1.3 times `import invoke`: listing tasks imports invoke,
babe_tasks' task modules and every installed package's task namespace (entry-point group
`babe_tasks.namespaces`), and nothing heavy (pluggy, boto3, httpx, rich wait for a command that
needs them; tests/performance/test_startup.py checks which modules load, this measures the time).

Both commands run alternately, `--runs` times each, from an empty folder (no experiment), each a
fresh process started straight from this interpreter's folder (no version manager's shim); the
medians of wall time and of CPU time (the child's user + system time: what the command itself
costs, steadier than wall time on a shared machine) and their ratios are printed (`--json` for a
machine). One warm-up run of each comes first,
so the file cache and bytecode are hot for both.

`python benchmarks/startup.py` (21 runs each, a few seconds), `--runs 51` on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The ratio issue 15 allows.
TARGET = 1.3
#: The children's environment: this one, but free to write bytecode as an installed package's
#: users are (with PYTHONDONTWRITEBYTECODE set, every run would compile each edited module again).
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], folder: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run: the child's user + system time is what the command
    itself cost, unlike the wall time, which on a busy machine includes waiting for a CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, env=ENVIRONMENT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def console_script() -> str:
    """The `babe` script installed beside this interpreter, else the one on PATH.

    Beside the interpreter first: a version manager's shim on PATH (pyenv's is a bash script that
    execs pyenv) would add its own start-up to babe's and not to `python -c`'s.
    """
    beside = Path(sys.executable).with_name("babe")
    if beside.is_file():
        return str(beside)
    found = shutil.which("babe")
    if found is None:
        raise SystemExit("babe is not installed: install the project first (pip install -e .)")
    return found


def measure(runs: int) -> dict:
    babe = console_script()
    commands = {"babe --list": [babe, "--list"], "import invoke": [sys.executable, "-c", "import invoke"]}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="babe-startup-") as folder:
        for command in commands.values():
            timed(command, folder)
        for _ in range(runs):
            for name, command in commands.items():
                wall, cpu = timed(command, folder)
                walls[name].append(wall)
                cpus[name].append(cpu)
    result: dict = {"runs": runs, "target": TARGET}
    for kind, times in (("wall", walls), ("cpu", cpus)):
        medians = {name: statistics.median(values) for name, values in times.items()}
        ratio = medians["babe --list"] / medians["import invoke"]
        result[kind] = {"median_s": medians, "ratio": round(ratio, 3), "within": ratio <= TARGET}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (default 21)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    result = measure(args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"medians over {result['runs']} runs each        wall      cpu")
        for name in result["wall"]["median_s"]:
            print(f"  {name:<28} {result['wall']['median_s'][name] * 1000:6.1f} ms {result['cpu']['median_s'][name] * 1000:6.1f} ms")
        print(f"  {'ratio (target: at most ' + str(TARGET) + ')':<28} {result['wall']['ratio']:6.2f}    {result['cpu']['ratio']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
