"""babe-tasks as a lab gets it: a wheel, installed into a fresh virtual environment, used anywhere.

The wheel is built from a copy of just what the distribution is made of (pyproject.toml, README.md,
babe_tasks/, plugins/), so a file the package needs but does not declare shows up here and not on a
lab's machine. It is installed into a new venv without this environment's packages — its
dependencies come from the package index, as for `pip install babe-tasks` — and then used from a
folder outside the repository: `babe init`, `babe --list`, `invoke --list`, `babe demo`,
`babe plugins` (the platforms and lab plugins, registered by entry point), and a lab's own plugin
test run by pytest with nothing but the installed fixtures (entry point `pytest11`). About 30 seconds.

The lower bounds of the dependencies are pinned in constraints/lower-bounds.txt; a test here keeps
that file equal to pyproject.toml's bounds (docs/packaging.md says how CI installs with it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = ("pyproject.toml", "README.md", "babe_tasks", "plugins")
#: Entry-point group `babe_tasks`: the lab plugins shipped in plugins/.
LAB_PLUGINS = {"slack": "babe_slack", "payment-cap": "babe_payment_cap", "babe-backend": "babe_backend"}
#: Entry-point group `babe_tasks.platforms`: the platforms shipped in plugins/ (only the chosen one loads).
PLATFORMS = {"mturk": "babe_mturk.plugin", "prolific": "babe_prolific"}
#: Entry-point group `babe_tasks.namespaces`: task namespaces shipped in plugins/.
NAMESPACES = {"local": "babe_mturk.tasks"}
#: Every package of plugins/, installed under its own import name.
PLUGIN_PACKAGES = (*LAB_PLUGINS.values(), "babe_mturk", "babe_prolific")
TIMEOUT = 300


def run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
    return result


def clean_env(home: Path, path_first: Path | None = None) -> dict[str, str]:
    """The environment of a lab member's shell: no BABE_/AWS_ settings, no PYTHONPATH, a fresh home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BABE_", "AWS_", "PYTHON", "VIRTUAL_ENV", "PYTEST_"))}
    env["HOME"] = str(home)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "120"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the distribution's files (nothing else of the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in DISTRIBUTION:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(origin, source / name)
    dist = tmp_path_factory.mktemp("dist")
    home = tmp_path_factory.mktemp("home")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)], cwd=source, env=clean_env(home))
    (built,) = dist.glob("babe_tasks-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh virtual environment (none of this one's packages) with the wheel and pytest installed."""
    folder = tmp_path_factory.mktemp("venv")
    home = tmp_path_factory.mktemp("home")
    run([sys.executable, "-m", "venv", str(folder)], cwd=folder, env=clean_env(home))
    python = folder / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel), "pytest"], cwd=folder, env=clean_env(home))
    return folder


def test_the_wheel_holds_the_package_the_platforms_the_lab_plugins_and_the_entry_points(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    for module in ("babe_tasks/__init__.py", "babe_tasks/pytest_plugin.py", "babe_tasks/hookref.py",
                   "babe_tasks/testing/backend.py", "babe_tasks/testing/webhook.py", "babe_tasks/simulation/statefile.py",
                   "babe_tasks/tasks/namespaces.py", "babe_mturk/plugin.py", "babe_mturk/tasks.py",
                   "babe_mturk/local/service.py", "babe_prolific/local/app.py"):
        assert module in names
    for package in PLUGIN_PACKAGES:
        assert f"{package}/__init__.py" in names
    for data in package_data():  # templates and other non-Python files the code opens at run time
        assert data in names, f"{data} is not in the wheel: declare it in [tool.setuptools.package-data]"
    assert not any(name.startswith(("tests/", "docs/", "plugins/", "babe_tasks/localturk/")) for name in names)  # plugins under their own names

    sections = parse_entry_points(entry_points)
    assert sections["console_scripts"] == {"babe": "babe_tasks.program:main", "babe-prolific": "babe_prolific.cli:main"}
    assert sections["babe_tasks"] == LAB_PLUGINS
    assert sections["babe_tasks.platforms"] == PLATFORMS
    assert sections["babe_tasks.namespaces"] == NAMESPACES
    assert sections["pytest11"] == {"babe_tasks": "babe_tasks.pytest_plugin"}

    assert "Requires-Python: >=3.11" in metadata
    requirements = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    runtime = [r for r in requirements if "extra ==" not in r]
    assert len(runtime) >= 8
    for requirement in requirements:
        assert re.search(r">=\s*\d", requirement), f"{requirement}: every dependency needs a lower bound"


def package_data() -> list[str]:
    """Every file of the packages that is not Python source: the wheel must carry them all."""
    roots = [REPO / "babe_tasks"] + [REPO / "plugins" / package for package in PLUGIN_PACKAGES]
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
                found.append(path.relative_to(root.parent).as_posix())
    return sorted(found)


def parse_entry_points(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line and current is not None:
            name, value = (part.strip() for part in line.split("=", 1))
            current[name] = value
    return sections


def test_babe_works_from_the_wheel_in_any_folder(venv, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, venv / "bin")
    folder = tmp_path / "my-study"
    folder.mkdir()

    where = run(["python", "-c", "import babe_tasks; print(babe_tasks.__file__)"], cwd=folder, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout

    init = run(["babe", "init", "--json"], cwd=folder, env=env)
    assert json.loads(init.stdout)["written"] == ["invoke.yaml", "tasks.py", "plugins/README.txt"]

    listing = run(["babe", "--list"], cwd=folder, env=env).stdout
    for task in ("create", "status", "approve", "expire", "local.work"):
        assert re.search(rf"^\s+{re.escape(task)}\s", listing, re.MULTILINE), listing
    assert run(["invoke", "--list"], cwd=folder, env=env).stdout.splitlines()[2:] == listing.splitlines()[2:]

    demo = run(["babe", "demo"], cwd=folder, env=env, timeout=120)
    assert "$ babe approve" in demo.stdout and "Approved 20" in demo.stdout, demo.stdout

    # A short lifecycle of the folder's own experiment, and the report page (a template in the wheel).
    env["BABE_LOCAL_STATE"] = str(tmp_path / "localturk.sqlite")
    texts = ["--url", "https://example.org/study/", "--title", "Word order", "--description", "Rate sentences"]
    run(["babe", "create", *texts, "--reward", "0.50", "--assignments", "3", "--yes"], cwd=folder, env=env)
    run(["babe", "local.work"], cwd=folder, env=env)
    assert json.loads(run(["babe", "approve", "--json"], cwd=folder, env=env).stdout)["approved"] == 3
    (report,) = json.loads(run(["babe", "report", "--json"], cwd=folder, env=env).stdout)["reports"]
    assert (report["approved"], report["spent"]) == (3, "1.80")
    assert Path(report["path"]).read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")

    # The same experiment on the second platform, the local Prolific (a plugin from the wheel).
    created = json.loads(
        run(["babe", "create", *texts, "--reward", "5.00", "--assignments", "4", "--platform", "prolific", "--yes", "--json"],
            cwd=folder, env=env).stdout
    )
    (study,) = created["hits"]
    code = run(["babe-prolific", "code"], cwd=folder, env=env).stdout
    assert created["platform"]["completion_code"] in code, code
    run(["babe-prolific", "participants", "--study", study["hit_id"], "--count", "4"], cwd=folder, env=env)
    approved = run(["babe", "approve", "--platform", "prolific", "--json"], cwd=folder, env=env)
    assert json.loads(approved.stdout)["approved"] == 4, approved.stdout

    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    plugins = json.loads(run(["babe", "plugins", "--json"], cwd=folder, env=env).stdout)["plugins"]
    installed = {p["name"]: p for p in plugins if p["source"] == "entry point"}
    assert set(installed) == set(LAB_PLUGINS)
    for name, module in LAB_PLUGINS.items():
        assert installed[name]["status"] == "loaded", installed[name]
        assert installed[name]["origin"] == f"babe-tasks {version} ({module})", installed[name]
    platforms = {p["name"]: p for p in plugins if p["name"] in PLATFORMS}
    assert platforms["mturk"]["status"] == "loaded", platforms  # the folder's platform, and only it
    assert platforms["mturk"]["origin"] == f"babe-tasks {version} (babe_mturk.plugin)", platforms
    assert platforms.get("prolific", {}).get("status") != "loaded", platforms


def test_a_labs_plugin_test_finds_the_fixtures_by_itself(venv, tmp_path):
    """`pip install babe-tasks pytest`, then a lab's test uses babe_* fixtures with no conftest.py at all."""
    lab = tmp_path / "lab"
    (lab / "tests").mkdir(parents=True)
    shutil.copy(REPO / "docs" / "examples" / "min_time.py", lab / "min_time.py")
    (lab / "tests" / "test_min_time.py").write_text(
        "from pathlib import Path\n\n"
        "def test_fast_workers_are_held(babe_experiment, babe_run, babe_workers):\n"
        "    babe_experiment.add_plugin(Path(__file__).parent.parent / 'min_time.py')\n"
        "    babe_experiment.configure(plugins={'min_time': {'minimum': '2m'}})\n"
        "    hit_id = babe_run('create --assignments 3 --json').json['hits'][0]['hit_id']\n"
        "    fast = babe_workers.work(workers=2)['submitted']\n"
        "    babe_workers.complete(hit_id, took='5m')\n"
        "    run = babe_run('approve --json')\n"
        "    assert run.json['approved'] == 1\n"
        "    assert sorted(h['assignment_id'] for h in run.json['held']) == sorted(fast)\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    home.mkdir()
    result = run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=lab, env=clean_env(home, venv / "bin"))
    assert result.stdout.strip().splitlines()[-1].startswith("1 passed"), result.stdout


def test_the_lower_bounds_file_pins_every_dependency_at_its_bound():
    """constraints/lower-bounds.txt = pyproject.toml's lower bounds, dependency for dependency."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"]) + [r for group in project.get("optional-dependencies", {}).values() for r in group]
    bounds = {}
    for requirement in declared:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(?:,.*)?", requirement.strip())
        assert match, f"{requirement}: write it as name>=version"
        bounds[canonical(match.group(1))] = match.group(2)
    pinned = {}
    for line in (REPO / "constraints" / "lower-bounds.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pinned[canonical(name)] = version.strip()
    differences = [
        f"{name}: pyproject.toml >={bounds.get(name, '(not a dependency)')}, "
        f"lower-bounds.txt =={pinned.get(name, '(not pinned)')}"
        for name in sorted(set(bounds) | set(pinned))
        if bounds.get(name) != pinned.get(name)
    ]
    assert differences == [], "pin each dependency of pyproject.toml at its lower bound, and nothing else"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
