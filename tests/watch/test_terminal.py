"""Output polish of `babe watch`: colour on a terminal only, never with NO_COLOR, never in a pipe.

A real `babe watch` runs in a pseudo-terminal (pty) here, exactly as in a lab's shell.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

#: An SGR sequence that sets a colour (foreground or background, 8/16/256/truecolour).
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def run_in_terminal(folder, state, *args: str, no_color: bool) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BABE_", "NO_COLOR"))}
    env.update(BABE_LOCAL_STATE=str(state), BABE_PLUGINS="", TERM="xterm-256color", COLUMNS="120", LINES="40")
    if no_color:
        env["NO_COLOR"] = "1"
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from babe_tasks.program import main; main()", *args],
        cwd=folder, env=env, stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True,
    )
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(primary)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_colour(created, experiment, state_path):
    text = run_in_terminal(experiment, state_path, "watch", "--goal", "30", "--until", "0s", no_color=False)

    assert COLOUR.search(text), repr(text[:400])  # the warning is yellow
    assert "goal 30 is more than the 12 assignments posted" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_no_color_turns_colour_off_on_a_terminal(created, experiment, state_path):
    text = run_in_terminal(experiment, state_path, "watch", "--goal", "30", "--until", "0s", no_color=True)

    assert not COLOUR.search(text), repr(text[:400])
    assert "warning: goal 30 is more than the 12 assignments posted" in text


def test_a_pipe_gets_plain_text(babe, created, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR")

    run = babe("watch", "--goal", "30", "--until", "0s")

    assert run.code == 0, run
    assert "\x1b" not in run.out + run.err
    assert "warning: goal 30 is more than the 12 assignments posted" in run.err
