"""Shell completion through invoke's `--print-completion-script` and `--complete`, for `babe`."""

from __future__ import annotations

import shutil
import subprocess

import pytest


@pytest.mark.parametrize(
    "shell, registers, asks",
    [
        ("bash", "complete -F _complete_babe -o default babe", "babe --complete -- ${COMP_WORDS[*]}"),
        ("zsh", "compctl -K _complete_babe + -f babe", "babe ${=collection_arg} --complete -- ${words}"),
        ("fish", "complete --command babe --no-files --arguments '(__complete_babe)'", "babe --complete --"),
    ],
)
def test_babe_prints_a_completion_script_for_itself(babe, shell, registers, asks):
    run = babe("--print-completion-script", shell)

    assert run.code == 0, run
    assert registers in run.out  # the script completes the `babe` command ...
    assert asks in run.out  # ... by asking babe itself, not invoke
    assert "invoke --complete" not in run.out


def test_completion_offers_the_tasks_and_a_tasks_flags(babe, tmp_path):
    tasks = babe("--complete", "--", "babe")
    flags = babe("--complete", "--", "babe", "watch", "--")

    assert tasks.code == 0, tasks
    assert {"watch", "report", "create", "status", "approve", "local.work"} <= set(tasks.out.split())
    assert {"--goal", "--until", "--interval", "--queue", "--no-approve", "--json"} <= set(flags.out.split())


def test_the_bash_script_completes_in_a_real_bash(tmp_path):
    """Source the script in bash and ask it to complete `babe wat` as a shell would."""
    bash = shutil.which("bash")
    babe_command = shutil.which("babe")
    if bash is None or babe_command is None:
        pytest.fail("bash and the installed babe command are needed for this test")
    script = subprocess.run([babe_command, "--print-completion-script", "bash"], capture_output=True, text=True, check=True)
    (tmp_path / "completion.sh").write_text(script.stdout)
    probe = (
        f"source {tmp_path / 'completion.sh'}; COMP_WORDS=(babe wat); COMP_CWORD=1; "
        "_complete_babe babe wat; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    answer = subprocess.run([bash, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False)

    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["watch"]
