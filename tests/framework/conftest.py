"""Fixtures of the framework tests: an empty experiment folder as cwd, and the real `babe` program in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def hermetic_plugins(monkeypatch):
    """No installed third-party plugin leaks in: entry points are read from a group no package uses.

    Tests that exercise entry points install a distribution of their own into that group.
    """
    import babe_tasks.plugins as plugins

    monkeypatch.setattr(plugins, "ENTRY_POINT_GROUP", "babe_tasks_framework_tests")


@pytest.fixture
def exp(tmp_path, monkeypatch) -> Path:
    """An empty experiment folder, made the working directory."""
    folder = tmp_path / "my-exp"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        import json

        return json.loads(self.out)


@pytest.fixture
def babe(capsys):
    """Run the real `babe` program in-process: `babe("plugins", "--json")` → Run(code, out, err)."""
    from babe_tasks.program import BabeProgram

    def run(*argv: str, namespace=None) -> Run:
        capsys.readouterr()
        code = BabeProgram(namespace=namespace).run(["babe", *argv], exit=False)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def run_command(argv: list[str], cwd: Path, env: dict | None = None, timeout: float = 60) -> Run:
    """A command in a subprocess with the test's environment (plus `env`), no terminal."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run(
        argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def invoke_cmd():
    """Run plain `invoke` (python -m invoke) in a folder: the other entry point."""

    def run(cwd: Path, *argv: str, env: dict | None = None) -> Run:
        return run_command([sys.executable, "-m", "invoke", *argv], cwd, env)

    return run


@pytest.fixture
def babe_cmd():
    """Run the installed `babe` console script in a folder."""

    def run(cwd: Path, *argv: str, env: dict | None = None) -> Run:
        return run_command(["babe", *argv], cwd, env)

    return run
