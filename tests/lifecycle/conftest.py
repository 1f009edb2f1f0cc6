"""Fixtures for the lifecycle tests: an experiment folder and the real `babe` program, in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

URL = "https://example.org/experiment/"


@dataclass
class Run:
    """One `babe` command: exit code, stdout, stderr and, with --json, the parsed document."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Run(code={self.code}, out={self.out[-2000:]!r}, err={self.err[-2000:]!r})"


@pytest.fixture
def experiment(tmp_path, monkeypatch) -> Path:
    """An experiment folder (working directory) whose invoke.yaml names the page and the HIT texts."""
    folder = tmp_path / "exp1"
    folder.mkdir()
    (folder / "invoke.yaml").write_text(
        "babe:\n"
        f"  url: {URL}\n"
        "  title: A short language study\n"
        "  description: Read sentences and rate them.\n"
        '  reward: "0.50"\n'
    )
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def babe(capsys, monkeypatch):
    """Run the real `babe` program in-process: `babe("create", "--json")` → Run (120 columns wide)."""
    from babe_tasks.program import BabeProgram

    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = BabeProgram().run(["babe", *args], exit=False)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def created(babe, experiment):
    """20 assignments posted on the local MTurk (3 HITs of 7, 7, 6); the create's JSON document."""
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    return run.json


def hit_ids(mturk) -> list[str]:
    """Every HIT on the local MTurk, through boto3's own paginator."""
    return [h["HITId"] for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


def write_plugin(folder: Path, name: str, source: str) -> Path:
    """A plugin file in the experiment's plugins/ folder (loaded by the real plugin manager)."""
    plugins = folder / "plugins"
    plugins.mkdir(exist_ok=True)
    path = plugins / f"{name}.py"
    path.write_text(source)
    return path
