"""The two entry points: `babe` (invoke Program, bundled collection) and `invoke` with a tasks.py.

Both must list the same tasks, read the same invoke.yaml and BABE_* variables, and keep `--list`
and `--help` light (no boto3, httpx, rich).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from invoke import Collection

import babe_tasks
from babe_tasks import __version__
from babe_tasks.tasks import collection, module_tasks

REPO = Path(__file__).resolve().parents[2]

SHOW_TASKS_PY = textwrap.dedent(
    '''
    import babe_tasks
    from babe_tasks.output import emit
    from babe_tasks.settings import Settings
    from babe_tasks.taskkit import babe_task


    @babe_task
    def show(c, reward=None, target=None, json=False):
        """Print the settings this run would use."""
        settings = Settings.build(c, reward=reward, target=target, json=True)
        emit(settings, settings.as_dict())


    ns = babe_tasks.collection()
    ns.add_task(show)
    '''
)


def load_tasks(folder: Path) -> Collection:
    spec = importlib.util.spec_from_file_location(f"tasks_{abs(hash(str(folder)))}", folder / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ns


def listed(text: str) -> list[str]:
    return re.findall(r"^  (\S+)", text, flags=re.M)


def test_version(babe):
    run = babe("--version")
    assert run.code == 0 and run.out.startswith(f"babe {__version__} (invoke ")


def test_babe_list_shows_the_collection_with_one_line_help(exp, babe):
    run = babe("--list")
    assert run.code == 0 and run.err == ""
    names = listed(run.out)
    for name in ("init", "plugins", "local.serve", "local.work"):
        assert name in names
    assert names == listed(babe("--list").out)  # stable
    root = collection()
    assert sorted(names) == sorted(root.task_names)


def test_invoke_list_with_the_tasks_py_shows_the_same(exp, babe, invoke_cmd):
    (exp / "tasks.py").write_text("from babe_tasks import ns\n", encoding="utf-8")
    via_invoke = invoke_cmd(exp, "--list")
    assert via_invoke.code == 0, via_invoke.err
    assert listed(via_invoke.out) == listed(babe("--list").out)


def test_the_repository_tasks_py_is_the_example():
    assert (REPO / "tasks.py").read_text(encoding="utf-8").count("from babe_tasks import ns") == 1
    assert load_tasks(REPO).task_names == collection().task_names


def test_list_and_help_stay_light(exp):
    """`babe --list`, `babe --help` must not import boto3, botocore, httpx or rich."""
    code = textwrap.dedent(
        """
        import sys
        from babe_tasks.program import BabeProgram
        for argv in (["babe", "--list"], ["babe", "--help"], ["babe", "--help", "init"]):
            BabeProgram().run(argv, exit=False)
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"boto3", "botocore", "httpx", "rich", "sqlite3"})
        print("HEAVY", heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=exp, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_task_flags_are_kebab_case_without_short_flags(babe):
    run = babe("--help", "init")
    assert run.code == 0
    assert "--folder=STRING" in run.out and "--experiment=STRING" in run.out and "--json" in run.out
    assert not re.search(r"^\s+-\w[ ,]", run.out.split("Options:")[1], flags=re.M)
    run = babe("--help", "plugins")
    assert "--strict-plugins" in run.out


def test_babe_reads_the_experiment_folders_invoke_yaml_from_a_subfolder(exp, babe, monkeypatch):
    (exp / "invoke.yaml").write_text('babe:\n  reward: "0.40"\n  title: From yaml\n', encoding="utf-8")
    (exp / "tasks.py").write_text(SHOW_TASKS_PY, encoding="utf-8")
    ns = load_tasks(exp)
    sub = exp / "data" / "raw"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    run = babe("show", namespace=ns)
    assert run.code == 0, run.err
    shown = run.json
    assert (shown["reward"], shown["title"], shown["folder"]) == ("0.40", "From yaml", str(exp.resolve()))


def test_both_entry_points_read_the_same_file_environment_and_flags(exp, babe, invoke_cmd, monkeypatch):
    (exp / "invoke.yaml").write_text(
        'babe:\n  reward: "0.40"\n  title: From yaml\n  assignments: 20\n  lifetime: 2d\n', encoding="utf-8"
    )
    (exp / "tasks.py").write_text(SHOW_TASKS_PY, encoding="utf-8")
    env = {"BABE_ASSIGNMENTS": "27", "BABE_TARGET": "sandbox"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    via_babe = babe("show", "--reward", "0.55", namespace=load_tasks(exp))
    via_invoke = invoke_cmd(exp, "show", "--reward", "0.55", env=env)
    assert via_babe.code == via_invoke.code == 0, via_invoke.err
    assert via_babe.json == via_invoke.json
    shown = via_babe.json
    assert (shown["reward"], shown["title"], shown["assignments"], shown["lifetime"], shown["target"]) == (
        "0.55", "From yaml", 27, 172800, "sandbox"
    )


def test_search_root_points_babe_at_another_experiment(exp, tmp_path, babe):
    other = tmp_path / "other-exp"
    other.mkdir()
    (other / "invoke.yaml").write_text("babe:\n  title: Other\n", encoding="utf-8")
    (exp / "tasks.py").write_text(SHOW_TASKS_PY, encoding="utf-8")
    run = babe("-r", str(other), "show", namespace=load_tasks(exp))
    assert run.code == 0, run.err
    assert (run.json["title"], run.json["experiment"]) == ("Other", "other-exp")


def test_collection_is_fresh_and_ns_is_shared():
    assert babe_tasks.ns is babe_tasks.ns
    first, second = babe_tasks.collection(), babe_tasks.collection()
    assert first is not second and first is not babe_tasks.ns
    from invoke import task

    @task
    def extra(c):
        pass

    first.add_task(extra)
    assert "extra" in first.task_names and "extra" not in babe_tasks.ns.task_names
    assert babe_tasks.ns.configuration()["babe"]["batch_size"] == 9
    assert babe_tasks.ns.configuration()["babe"]["target"] == "local"


def test_module_tasks_takes_only_the_tasks_a_module_defines():
    from babe_tasks.tasks import init as init_module, plugins as plugins_module

    assert [t.name for t in module_tasks(init_module)] == ["init"]
    assert [t.name for t in module_tasks(plugins_module)] == ["plugins"]


def test_lazy_package_attributes():
    from babe_tasks.errors import Veto
    from babe_tasks.plugins import hookimpl

    assert babe_tasks.hookimpl is hookimpl and babe_tasks.Veto is Veto
    with pytest.raises(AttributeError):
        babe_tasks.nothing_here  # noqa: B018 - the attribute access is what raises


def test_no_task_prints_help_and_exits_0(babe):
    run = babe()
    assert run.code == 0 and "Usage: babe" in run.out


@pytest.mark.parametrize(
    "argv, message",
    [
        (("create", "--asignments", "3"), "error: babe create has no flag --asignments: did you mean --assignments? (`babe --help create` lists its flags)"),
        (("create", "--asignments=3"), "error: babe create has no flag --asignments: did you mean --assignments?"),
        (("approve", "--dryrun"), "error: babe approve has no flag --dryrun: did you mean --dry-run?"),
        (("--lisst",), "error: babe has no flag --lisst: did you mean --list?"),
        (("creat", "--assignments", "3"), "error: no task named creat: did you mean create? (`babe --list` shows the tasks)"),
        (("local.serv",), "error: no task named local.serv: did you mean local.serve?"),
        # Nothing close: invoke's own words, with where to look.
        (("create", "--zzz"), "error: No idea what '--zzz' is! (`babe --help create` lists its flags)"),
        (("qqqq",), "error: No idea what 'qqqq' is!"),
    ],
)
def test_a_misspelt_flag_or_task_gets_the_nearest_one(exp, babe, argv, message):
    run = babe(*argv)
    assert run.code == 2 and run.out == ""
    assert run.err.startswith(message) and run.err.count("\n") == 1, run.err
