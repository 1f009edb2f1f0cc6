"""Lint and type checking as CI runs them: the configuration means what the code says, and CI runs it.

`.ci/run` runs `ruff check .` and `mypy` after the install and before the tests, with the tool
versions the README's development section gives; pyproject.toml selects every rule a `noqa`
comment names (a `noqa` for a rule that is not checked would be a comment pretending to matter).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOQA = re.compile(r"#\s*noqa:\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")
PINNED = re.compile(r"pip install\s+(ruff==[\w.]+\s+mypy==[\w.]+\s+types-PyYAML==[\w.]+)")


def python_files() -> list[Path]:
    roots = [REPO / "babe_tasks", REPO / "plugins", REPO / "tests", REPO / "benchmarks", REPO / "docs"]
    return [REPO / "tasks.py"] + [path for root in roots for path in root.rglob("*.py")]


def selected(code: str, rules: list[str]) -> bool:
    """ruff selects by prefix: "E7" selects E731."""
    return any(code.startswith(rule) for rule in rules)


def test_every_rule_a_noqa_names_is_checked():
    rules = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["lint"]["select"]
    named = {
        (str(path.relative_to(REPO)), code.strip())
        for path in python_files()
        for match in NOQA.finditer(path.read_text(encoding="utf-8"))
        for code in match.group(1).split(",")
    }
    assert named, "no noqa comment found: the pattern no longer matches how they are written"
    assert sorted((where, code) for where, code in named if not selected(code, rules)) == []


def test_ci_lints_and_type_checks_before_the_tests_with_the_readmes_tools():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines()]
    ruff = next(i for i, line in enumerate(lines) if line.startswith("ruff check ."))
    mypy = next(i for i, line in enumerate(lines) if line.startswith("mypy ") or line == "mypy")
    install = next(i for i, line in enumerate(lines) if line.startswith("pip install -e '.[test]'"))
    tests = next(i for i, line in enumerate(lines) if "python -m pytest" in line)
    assert install < ruff < tests and install < mypy < tests
    assert "exit 1" in lines[ruff] and "exit 1" in lines[mypy]  # either failing fails CI
    pins = [" ".join(PINNED.search(text).group(1).split()) for text in (ci, readme)]
    assert pins[0] == pins[1], "the README's lint tools are not the ones CI installs"


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed here (.ci/run installs it)")
def test_ruff_passes_on_the_tree():
    result = subprocess.run(["ruff", "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
