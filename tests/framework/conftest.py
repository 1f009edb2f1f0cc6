"""Fixtures of the framework tests: an empty experiment folder as cwd, and the program's two entry
points as child processes. (`babe` in-process and the hermetic environment are the suite's: tests/conftest.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture
def exp(tmp_path, monkeypatch) -> Path:
    """An empty experiment folder, made the working directory."""
    folder = tmp_path / "my-exp"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def invoke_cmd():
    """Run plain `invoke` (python -m invoke) in a folder: the other entry point → BabeRun."""
    from babe_tasks.testing.processes import run_command

    def run(cwd: Path, *argv: str, env: dict | None = None):
        return run_command([sys.executable, "-m", "invoke", *argv], cwd, extra_env=env, timeout=60)

    return run


@pytest.fixture
def babe_cmd():
    """Run the installed `babe` console script in a folder → BabeRun."""
    from babe_tasks.testing.processes import run_command

    def run(cwd: Path, *argv: str, env: dict | None = None):
        return run_command(["babe", *argv], cwd, extra_env=env, timeout=60)

    return run
