"""Listing tasks must stay light: `babe --list/--help` and `invoke --list` import invoke, babe_tasks
and the task namespaces installed packages contribute, and nothing else.

Time is not asserted (benchmarks/startup.py measures it against `import invoke`); what makes it
slow is, and that is exact: which modules get imported. Beyond invoke's own, only babe_tasks, the
`decimal` module it needs for settings, and babe_mturk (whose `local` namespace is listed: its
package and tasks module import nothing — no pluggy, boto3, httpx or rich) may load.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

ALLOWED_EXTRA = {"babe_tasks", "babe_mturk", "decimal", "_decimal", "numbers", "tasks"}

PROBE = textwrap.dedent(
    """
    import sys
    import invoke
    from invoke.main import program as invoke_program
    baseline = {m.split(".")[0] for m in sys.modules}
    {run}
    extra = sorted({m.split(".")[0] for m in sys.modules} - baseline)
    print("EXTRA", ",".join(extra))
    """
)


def probe(folder, run: str) -> set[str]:
    code = PROBE.replace("{run}", run)
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=folder, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("EXTRA"), result.stdout
    return set(filter(None, line.split(" ", 1)[1].split(","))) if " " in line else set()


def test_babe_list_and_help_import_nothing_heavy(experiment):
    extra = probe(
        experiment,
        "from babe_tasks.program import BabeProgram\n"
        "for argv in (['babe', '--list'], ['babe', '--help'], ['babe', '--help', 'approve']):\n"
        "    BabeProgram().run(argv, exit=False)",
    )
    assert "babe_mturk" in extra  # the `local` namespace was really listed
    assert extra <= ALLOWED_EXTRA, extra - ALLOWED_EXTRA


def test_invoke_list_in_an_experiment_folder_imports_nothing_heavy(experiment):
    (experiment / "tasks.py").write_text("from babe_tasks import ns\n")
    extra = probe(experiment, "invoke_program.run(['invoke', '--list'], exit=False)")
    assert "babe_tasks" in extra  # the collection was really loaded
    assert extra <= ALLOWED_EXTRA, extra - ALLOWED_EXTRA
