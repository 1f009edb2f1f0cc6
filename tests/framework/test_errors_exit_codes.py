"""Exit codes and one-line errors, through the real `babe` program and through plain `invoke`.

docs/cli.md: 0 done, 1 some operations failed (or an internal error), 2 bad input or configuration,
3 stopped by a plugin, 4 platform unreachable or refused; one line on stderr, the JSON error
document on stdout under --json, tracebacks only with --debug or BABE_DEBUG=1.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap

import pytest

from babe_tasks.errors import BabeError, PartialFailure, PlatformError, UsageError, Veto

TASKS_PY = textwrap.dedent(
    '''
    """A lab's tasks.py with a task of its own: the babe collection plus `fail`."""
    import babe_tasks
    from babe_tasks.errors import PartialFailure, PlatformError, UsageError, Veto
    from babe_tasks.output import emit
    from babe_tasks.settings import Settings
    from babe_tasks.taskkit import babe_task


    @babe_task(help={"kind": "which failure"})
    def fail(c, kind="usage", json=False, target=None):
        """Fail in the way asked for."""
        settings = Settings.build(c, json=json, target=target)
        if kind == "usage":
            raise UsageError("reward '$0.50' is not a dollar amount")
        if kind == "veto":
            raise Veto("budget exceeded: $12.00 of $10.00", plugin="capper")
        if kind == "platform":
            raise PlatformError("sandbox did not answer (MTurk closed on 2026-09-30?)")
        if kind == "partial":
            raise PartialFailure("2 of 5 approvals failed; run again to finish", result={"approved": 3, "failed": 2})
        if kind == "multiline":
            raise UsageError("first line\\nsecond line")
        if kind == "bug":
            return 1 / 0
        emit(settings, {"target": settings.target}, lambda console: console.print(f"fine on {settings.target}"))


    @babe_task
    def count(c, number=0):
        """A typed flag."""
        print(number + 1)


    ns = babe_tasks.collection()
    ns.add_task(fail)
    ns.add_task(count)
    '''
)


@pytest.fixture
def lab(exp):
    """The experiment folder with the lab's tasks.py; returns its collection for the in-process babe."""
    (exp / "tasks.py").write_text(TASKS_PY, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("lab_tasks_under_test", exp / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ns


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_the_exception_classes_carry_the_codes():
    assert [cls("x").exit_code for cls in (BabeError, UsageError, Veto, PlatformError, PartialFailure)] == [1, 2, 3, 4, 1]
    assert Veto("too much", "capper").plugin == "capper"
    assert str(UsageError("a\n  b")) == "a b"
    assert UsageError("bad", plugin="p").document() == {"error": {"exit_code": 2, "message": "bad", "plugin": "p"}}
    assert PartialFailure("2 failed", result={"failed": 2}).result == {"failed": 2}


@pytest.mark.parametrize(
    "kind, code, line",
    [
        ("usage", 2, "error: reward '$0.50' is not a dollar amount"),
        ("veto", 3, "error: stopped by plugin capper: budget exceeded: $12.00 of $10.00"),
        ("platform", 4, "error: sandbox did not answer (MTurk closed on 2026-09-30?)"),
        ("partial", 1, "error: 2 of 5 approvals failed; run again to finish"),
        ("multiline", 2, "error: first line second line"),
        ("bug", 1, "error: internal error: ZeroDivisionError: division by zero (run with --debug or BABE_DEBUG=1 for the traceback)"),
    ],
)
def test_babe_exit_codes_and_one_line(lab, babe, kind, code, line):
    run = babe("fail", "--kind", kind, namespace=lab)
    assert run.code == code
    assert one_line(run.err) == line
    assert run.out == ""


@pytest.mark.parametrize("kind, code, plugin", [("usage", 2, None), ("veto", 3, "capper"), ("platform", 4, None)])
def test_json_error_document(lab, babe, kind, code, plugin):
    run = babe("fail", "--kind", kind, "--json", namespace=lab)
    assert run.code == code
    document = run.json
    assert set(document) == {"error"} and document["error"]["exit_code"] == code
    assert document["error"]["plugin"] == plugin and "\n" not in document["error"]["message"]
    one_line(run.err)


def test_a_partial_failure_still_prints_its_result_as_json(lab, babe):
    run = babe("fail", "--kind", "partial", "--json", namespace=lab)
    assert run.code == 1
    assert run.json == {"approved": 3, "failed": 2}


def test_success_is_exit_0(lab, babe):
    run = babe("fail", "--kind", "none", "--json", "--target", "sandbox", namespace=lab)
    assert (run.code, run.json, run.err) == (0, {"target": "sandbox"}, "")


def test_bad_settings_are_exit_2_before_the_task_does_anything(lab, babe, monkeypatch):
    monkeypatch.setenv("BABE_TARGET", "prod")
    run = babe("fail", "--kind", "none", namespace=lab)
    assert run.code == 2
    assert one_line(run.err) == "error: target 'prod' is not one of local, sandbox, live (set by BABE_TARGET)"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["nosuchtask"], "No idea what 'nosuchtask' is!"),
        (["fail", "--nosuchflag"], "No idea what '--nosuchflag' is! (`babe --help fail` lists its flags)"),
        (["fail", "--kind"], "--kind needed value and was not given one!"),
        (["count", "--number", "many"], "a flag value has the wrong type"),
        (["--list", "nosuchnamespace"], "Sub-collection 'nosuchnamespace' not found!"),
        (["--help", "nosuchtask"], "No idea what 'nosuchtask' is!"),
    ],
)
def test_parse_errors_are_exit_2_and_one_line(lab, babe, argv, fragment):
    run = babe(*argv, namespace=lab)
    assert run.code == 2
    assert fragment in one_line(run.err)


def test_parse_errors_print_the_json_document_when_json_was_asked(lab, babe):
    run = babe("fail", "--json", "--nosuchflag", namespace=lab)
    assert run.code == 2
    assert "--nosuchflag" in run.json["error"]["message"]


def test_a_malformed_invoke_yaml_is_exit_2_naming_file_and_line(lab, babe, exp):
    (exp / "invoke.yaml").write_text("babe:\n  reward: 0.50\n  title: [unclosed\n", encoding="utf-8")
    run = babe("fail", "--kind", "none", namespace=lab)
    assert run.code == 2
    line = one_line(run.err)
    assert line.startswith(f"error: {exp / 'invoke.yaml'} line ") and "not valid YAML" in line


def test_a_malformed_user_config_is_exit_2_naming_the_file(lab, babe, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".invoke.yaml").write_text("run: {echo: [\n", encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    run = babe("fail", "--kind", "none", namespace=lab)
    assert run.code == 2
    line = one_line(run.err)
    assert str(home / ".invoke.yaml") in line and "line" in line


def test_tracebacks_with_babe_debug_env(lab, babe, monkeypatch):
    monkeypatch.setenv("BABE_DEBUG", "1")
    run = babe("fail", "--kind", "bug", namespace=lab)
    assert run.code == 1
    assert "Traceback" in run.err and "ZeroDivisionError" in run.err
    run = babe("fail", "--kind", "veto", namespace=lab)
    assert run.code == 3 and "Traceback" in run.err


def test_tracebacks_with_babe_dash_dash_debug(lab, babe):
    run = babe("--debug", "fail", "--kind", "bug", namespace=lab)
    assert run.code == 1
    assert "Traceback" in run.err and "ZeroDivisionError" in run.err


@pytest.mark.parametrize("kind, code", [("usage", 2), ("veto", 3), ("platform", 4), ("partial", 1), ("bug", 1), ("none", 0)])
def test_plain_invoke_gives_the_same_codes(lab, exp, invoke_cmd, kind, code):
    run = invoke_cmd(exp, "fail", "--kind", kind, "--json")
    assert run.code == code, run.err
    if code in (2, 3, 4):
        assert run.json["error"]["exit_code"] == code
    if code:
        one_line(run.err)


def test_plain_invoke_debug_shows_the_traceback(lab, exp, invoke_cmd):
    run = invoke_cmd(exp, "--debug", "fail", "--kind", "bug")
    assert run.code == 1 and "Traceback" in run.err and "ZeroDivisionError" in run.err


def test_installed_babe_script_exit_codes(exp, babe_cmd):
    """The console script itself (a subprocess): a parse error and a settings error, one line each."""
    run = babe_cmd(exp, "plugins", "--nosuchflag")
    assert run.code == 2 and "--nosuchflag" in one_line(run.err)
    run = babe_cmd(exp, "plugins", env={"BABE_MAX_CONCURRENCY": "0"})
    assert run.code == 2
    assert one_line(run.err) == "error: max_concurrency 0 is out of range: use 1 to 64 (set by BABE_MAX_CONCURRENCY)"
    run = babe_cmd(exp, "plugins", "--json", env={"BABE_MAX_CONCURRENCY": "0"})
    assert json.loads(run.out)["error"]["exit_code"] == 2


def test_a_reader_that_goes_away_is_not_an_error():
    """`babe --list | head`: the pipe closes early; babe says nothing and exits 0."""
    import subprocess
    import sys

    code = (
        "import io, os, sys\n"
        "class Closed(io.TextIOWrapper):\n"
        "    def write(self, text):\n"
        "        raise BrokenPipeError(32, 'Broken pipe')\n"
        "sys.stdout = Closed(open(os.devnull, 'wb'))\n"
        "from babe_tasks.program import main\n"
        "main(['babe', '--list'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
