"""The README's "A first experiment, step by step" runs as printed and prints what it shows.

Every `$ babe …` line of that section is run in a fresh folder named like the README's, and its
output compared with the README's, ids and times aside (they differ on every run, as the README
says). A README command that fails, or output that drifted from the README, fails this test.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## A first experiment, step by step"


def walkthrough() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each `$ babe` line of the section's code block."""
    text = README.read_text()
    block = text[text.index(SECTION):].split("```", 2)[1]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and line.strip():
            steps[-1][1].append(line)
    return steps


def normalised(lines: list[str], folder: str) -> list[str]:
    out = []
    for line in lines:
        line = line.replace(folder, "/home/me/garden-path").rstrip()
        line = re.sub(r"\b[A-Z0-9]{12,}\b", "ID", line)
        line = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}Z", "TIME", line)
        line = re.sub(r"^(Median time to submit: ).*", r"\1…", line)
        out.append(line)
    return out


def test_the_readmes_walkthrough_runs_as_printed(babe, tmp_path, monkeypatch):
    folder = tmp_path / "garden-path"
    folder.mkdir()
    monkeypatch.chdir(folder)
    steps = walkthrough()
    assert [command.split()[:2] for command, _ in steps][:3] == [["babe", "init"], ["babe", "create"], ["babe", "local.work"]]

    for command, expected in steps:
        run = babe(*shlex.split(command)[1:])
        assert run.code == 0, (command, run)
        assert normalised(run.out.splitlines(), str(folder)) == normalised(expected, str(folder)), command
