"""Task namespaces from installed packages (entry-point group `babe_tasks.namespaces`), as a third
party's package would add one: a distribution's metadata folder on the path, its module beside it.

Real `babe` processes in a folder outside the repository; the distribution is made by hand (a
`.dist-info` with an `entry_points.txt`, which is all an installer leaves that the group is read from).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from babe_tasks.tasks.namespaces import GROUP, declared

TASKS = '''
from invoke import task


@task
def greet(c, name="lab"):
    """Say hello."""
    print(f"hello, {name}")
'''


def install(site: Path, dist: str, entry_points: str, modules: dict[str, str]) -> None:
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    for name, text in modules.items():
        (site / f"{name}.py").write_text(text, encoding="utf-8")


def babe(folder: Path, site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABE_")}
    env["PYTHONPATH"] = str(site)
    env["COLUMNS"] = "200"
    script = Path(sys.executable).with_name("babe")
    return subprocess.run([str(script), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_an_installed_package_adds_a_namespace_and_babe_runs_its_tasks(tmp_path):
    site, folder = tmp_path / "site", tmp_path / "study"
    folder.mkdir()
    install(site, "lab_tools", f"[console_scripts]\nx = y:z\n\n[{GROUP}]\ntools = lab_tasks\n", {"lab_tasks": TASKS})

    listing = babe(folder, site, "--list")
    assert listing.returncode == 0, listing.stderr
    assert "tools.greet" in listing.stdout and "local.work" in listing.stdout, listing.stdout
    greeted = babe(folder, site, "tools.greet", "--name", "Ada")
    assert (greeted.returncode, greeted.stdout.strip()) == (0, "hello, Ada"), greeted


def test_a_broken_or_clashing_namespace_is_named_and_skipped_and_babe_goes_on(tmp_path):
    site, folder = tmp_path / "site", tmp_path / "study"
    folder.mkdir()
    install(site, "broken_tools", f"[{GROUP}]\nbroken = broken_tasks\n", {"broken_tasks": "raise RuntimeError('half installed')\n"})
    install(site, "clashing_tools", f"[{GROUP}]\ncreate = clashing_tasks\n", {"clashing_tasks": TASKS})

    listing = babe(folder, site, "--list")
    assert listing.returncode == 0, listing.stderr
    assert "local.work" in listing.stdout and "broken." not in listing.stdout and "create.greet" not in listing.stdout
    assert "task namespace 'broken' (broken_tasks) failed to load: RuntimeError: half installed" in listing.stderr
    assert "task namespace 'create' (clashing_tasks) is skipped: the name is taken" in listing.stderr


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    install(first, "Lab.Tools", f"[{GROUP}]\nlab = first_tasks\n", {})
    install(second, "lab_tools", f"[{GROUP}]\nlab = second_tasks\nextra = extra_tasks\n", {})
    assert declared([str(first), str(second), str(tmp_path / "missing")]) == {"lab": "first_tasks"}
    assert declared([str(second), str(first)]) == {"lab": "second_tasks", "extra": "extra_tasks"}
