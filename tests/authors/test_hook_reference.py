"""docs/hooks.md is what babe_tasks/hookspecs.py gives today, and every hook's docstring is complete.

A hook added or changed without its documentation fails here: the committed page no longer
matches (`test_the_page_is_up_to_date`), or the docstring lacks one of the things the reference
promises — when it fires, its arguments, what it returns, what raising does, an example
(`test_every_hook_is_fully_documented`). The examples are real plugins: each one is loaded by the
real plugin manager, which checks its arguments against the spec.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from babe_tasks import hookref

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "hooks.md"
REGENERATE = "python -m babe_tasks.hookref --write docs/hooks.md"
UNTYPED = "annotate it with the class the hook receives (imported under TYPE_CHECKING), so the reference and an editor show what it is"

DOCUMENTED = '''
"""Specs of a plugin system under test."""
from __future__ import annotations

import pluggy

PROJECT = "babe_tasks"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def babe_after_watch(settings: Settings, progress: int) -> None:
    """Fires after each round of `watch`, with its `progress`.

    `settings` are the run's settings; `progress` counts what is done. Exceptions become warnings.

    Example::

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_watch(progress):
            print(progress)
    """
'''

UNDOCUMENTED = '''
import pluggy

PROJECT = "babe_tasks"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def babe_watch_target(settings, status) -> int | None:
    """How many approved assignments are enough."""


@hookspec
def babe_bare(settings):
    pass
'''


def spec_module(tmp_path, monkeypatch, name: str, source: str):
    """Write `source` as an importable module `name` and import it."""
    import importlib

    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


def test_the_page_is_up_to_date():
    assert PAGE.read_text(encoding="utf-8") == hookref.render(), f"docs/hooks.md is out of date: run {REGENERATE}"


def test_every_hook_is_fully_documented():
    assert hookref.all_problems() == []


def test_the_page_has_every_hook_its_signature_and_example():
    page = hookref.render()
    specs = hookref.hooks()
    assert len(specs) >= 20
    for hook in specs:
        assert f"\n## {hook.name}\n" in page
        assert f"| [`{hook.name}`](#{hook.name}) |" in page
        assert hook.signature in page
        assert hook.example and f"```python\n{hook.example}\n```" in page
    assert "`list[tuple[str, str]] \\| None`" in page  # a | inside a table cell is escaped


def test_the_firstresult_hooks_say_the_first_answer_wins():
    page = hookref.render()
    firsts = [hook.name for hook in hookref.hooks() if hook.firstresult]
    assert {"babe_platform", "babe_fetch_results"} <= set(firsts)
    for name in firsts:
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert "the first plugin whose answer is not None wins" in section


def test_a_documented_hook_passes_and_renders(tmp_path, monkeypatch):
    module = spec_module(tmp_path, monkeypatch, "documented_specs", DOCUMENTED)
    assert hookref.all_problems(module) == []
    page = hookref.render(module)
    assert "def babe_after_watch(settings: Settings, progress: int) -> None" in page
    assert "**Arguments:** `settings`, `progress`. **Returns:** nothing; a value returned is ignored." in page
    assert "```python\nfrom babe_tasks import hookimpl\n\n@hookimpl\ndef babe_after_watch(progress):\n    print(progress)\n```" in page


def test_a_hook_added_without_documentation_is_caught(tmp_path, monkeypatch):
    module = spec_module(tmp_path, monkeypatch, "undocumented_specs", UNDOCUMENTED)
    assert hookref.all_problems(module) == [
        "babe_watch_target: the docstring does not say when the hook fires: write 'Fires when …' or 'Called by …'",
        "babe_watch_target: argument settings is not described: name it in backticks (`settings`) and say what it is",
        "babe_watch_target: argument status is not described: name it in backticks (`status`) and say what it is",
        f"babe_watch_target: argument settings has no type: {UNTYPED}",
        f"babe_watch_target: argument status has no type: {UNTYPED}",
        "babe_watch_target: the docstring does not say what the hook returns (it is annotated -> int | None)",
        "babe_watch_target: the docstring does not say what raising in the hook does: write what a raise or an exception there causes",
        "babe_watch_target: no example: end the docstring with an Example:: block holding a plugin function babe_watch_target",
        "babe_bare: no docstring: say when it fires, what its arguments are, what it may return or raise, and add an Example:: block",
    ]


@pytest.mark.parametrize(
    ("example", "problem"),
    [
        ("def babe_after_watch(progress):\n    pass", "babe_after_watch: the example's babe_after_watch is not marked @hookimpl"),
        ("@hookimpl\ndef babe_after_watch(progres):\n    pass",
         "babe_after_watch: the example's babe_after_watch takes progres, which the hook does not pass (it passes settings, progress)"),
        ("@hookimpl\ndef after_watch(progress):\n    pass", "babe_after_watch: the example defines no function named babe_after_watch"),
        ("@hookimpl\ndef babe_after_watch(progress)\n    pass", "babe_after_watch: the example is not valid Python (line 2: expected ':')"),
    ],
)
def test_a_wrong_example_is_caught(tmp_path, monkeypatch, example, problem):
    source = DOCUMENTED.replace(
        "        from babe_tasks import hookimpl\n\n        @hookimpl\n        def babe_after_watch(progress):\n            print(progress)\n",
        textwrap.indent(example, " " * 8) + "\n",
    )
    assert source != DOCUMENTED
    module = spec_module(tmp_path, monkeypatch, f"wrong_example_{abs(hash(example))}", source)
    assert hookref.all_problems(module) == [problem]


def test_changing_a_hook_changes_the_page(tmp_path, monkeypatch):
    """A new argument, a new return type or new words in a docstring all make the committed page stale."""
    source = Path(hookref.__file__).with_name("hookspecs.py").read_text(encoding="utf-8")
    changed = source.replace(
        "def babe_status(settings: Settings, context: HookContext, status: StatusResult)",
        "def babe_status(settings: Settings, context: HookContext, status: StatusResult, since: datetime)",
    )
    assert changed != source
    module = spec_module(tmp_path, monkeypatch, "changed_specs", changed)
    assert hookref.render(module) != PAGE.read_text(encoding="utf-8")
    assert "babe_status: argument since is not described: name it in backticks (`since`) and say what it is" in hookref.all_problems(module)


def test_check_and_write_on_the_command_line(tmp_path, monkeypatch, capsys):
    assert hookref.main(["--check", str(PAGE)]) == 0

    stale = tmp_path / "hooks.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("babe_preflight", "babe_preflite", 1), encoding="utf-8")
    capsys.readouterr()
    assert hookref.main(["--check", str(stale)]) == 1
    assert capsys.readouterr().err == f"error: {stale} is out of date with babe_tasks/hookspecs.py: run {REGENERATE}\n"

    assert hookref.main(["--check", str(tmp_path / "missing.md")]) == 2
    assert "cannot read" in capsys.readouterr().err

    written = tmp_path / "written.md"
    assert hookref.main(["--write", str(written)]) == 0
    assert written.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")

    spec_module(tmp_path, monkeypatch, "cli_undocumented_specs", UNDOCUMENTED)
    refused = tmp_path / "refused.md"
    capsys.readouterr()
    assert hookref.main(["--write", str(refused), "--specs", "cli_undocumented_specs"]) == 1
    assert not refused.exists()  # nothing half-done
    err = capsys.readouterr().err
    assert err.count("error: babe_watch_target:") == 8
    assert err.endswith(f"error: 9 problem(s) in the hook docstrings; {refused} was not written\n")


def test_every_example_loads_as_a_plugin(babe_experiment, babe_run):
    """Each example is a working plugin: the real plugin manager registers it against the specs."""
    specs = hookref.hooks()
    for hook in specs:
        babe_experiment.write_plugin(f"example_{hook.name}", hook.example + "\n")
    run = babe_run("plugins", "--json")
    assert run.code == 0, run
    loaded = {p["name"]: p for p in run.json["plugins"] if p["source"] == "folder"}
    for hook in specs:
        plugin = loaded[f"example_{hook.name}"]
        assert (plugin["status"], plugin["hooks"]) == ("loaded", [hook.name]), plugin


def test_the_examples_do_what_they_say(babe_experiment, babe_run, babe_workers):
    """A few examples at work: a configure check, a create cap, approve holds, a status field."""
    # Each example plugin is named after the `babe.plugins.<name>` section it reads (a section that
    # names no plugin is refused).
    for name, plugin in (("babe_configure", "min_time"), ("babe_before_create", "capper"),
                         ("babe_before_approve", "blocklist"), ("babe_status", "target")):
        babe_experiment.write_plugin(plugin, next(h.example for h in hookref.hooks() if h.name == name) + "\n")

    babe_experiment.configure(plugins={"min_time": {"minimum": "soon"}})
    bad = babe_run("status", "--json")
    assert (bad.code, bad.json["error"]["plugin"]) == (2, "min_time")
    assert bad.json["error"]["message"].startswith("babe.plugins.min_time.minimum 'soon' is not a duration")

    babe_experiment.configure(plugins={"min_time": None, "capper": {"limit": "1.00"}})
    capped = babe_run("create", "--assignments", "3", "--json")
    assert capped.json == {"error": {"exit_code": 3, "message": "this run costs $1.80, more than the $1.00 cap", "plugin": "capper"}}

    babe_experiment.configure(plugins={"capper": None, "target": {"participants": 5}})
    assert babe_run("create", "--assignments", "3").code == 0
    report = babe_workers.work(workers=3, seed=3)
    babe_experiment.configure(plugins={"target": {"participants": 5}, "blocklist": {"workers": [report["workers"][0]]}})
    approved = babe_run("approve", "--json")
    assert (approved.json["approved"], approved.json["held"]) == (
        2, [{"assignment_id": report["submitted"][0], "reason": "worker is on the lab's blocklist"}]
    )
    assert babe_run("status", "--json").json["participants_missing"] == 3


def test_every_argument_of_every_hook_has_its_real_type():
    """`Any` tells a plugin author nothing: each argument names the class it receives, `context` included."""
    for hook in hookref.hooks():
        assert hook.arguments[:2] == (hookref.Argument("settings", "Settings"), hookref.Argument("context", "HookContext")), hook.name
        for argument in hook.arguments:
            assert argument.annotation not in ("", "Any"), (hook.name, argument.name)


def test_the_types_the_specs_name_resolve_to_real_classes():
    """The TYPE_CHECKING imports of the spec module name classes that exist, so the types are not made up."""
    import ast
    import importlib
    import typing

    from babe_tasks import hookspecs

    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    guarded = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    names: dict[str, object] = dict(vars(hookspecs))
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom)
        module = importlib.import_module(node.module, package="babe_tasks") if node.level == 0 else importlib.import_module(
            "." * node.level + (node.module or ""), package="babe_tasks"
        )
        for alias in node.names:
            names[alias.asname or alias.name] = getattr(module, alias.name)
    for hook in hookref.hooks():
        hints = typing.get_type_hints(getattr(hookspecs, hook.name), globalns=names)
        assert set(hints) >= set(hook.argnames), hook.name


def test_an_untyped_argument_is_caught(tmp_path, monkeypatch):
    source = DOCUMENTED.replace("progress: int", "progress")
    module = spec_module(tmp_path, monkeypatch, "untyped_specs", source)
    assert hookref.all_problems(module) == [f"babe_after_watch: argument progress has no type: {UNTYPED}"]
