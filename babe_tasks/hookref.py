"""The hook reference (`docs/hooks.md`), generated from the hook specs' docstrings — and their check.

Why generated: the docstrings in `babe_tasks/hookspecs.py` are what pluggy, an editor and a reader
of the code see. A page written by hand beside them drifts the first time a hook changes; a page
made from them cannot, and a test (`tests/authors/test_hook_reference.py`) fails when the committed
page differs from what the specs give today.

    python -m babe_tasks.hookref                         # the page on stdout
    python -m babe_tasks.hookref --write docs/hooks.md   # (re)write the page
    python -m babe_tasks.hookref --check docs/hooks.md   # exit 1 when out of date or incomplete

A hook's docstring is complete when it
- says when the hook fires (the words "fires" or "called"),
- names each argument in backticks (`plan`) — arguments every hook gets, like `settings` and
  `context`, may be described once in the spec module's own docstring instead,
- types each argument with the class it receives (not `Any`),
- says what it returns (the word "return"), unless the spec is annotated `-> None`,
- says what raising in it does (the words "raise" or "exception"),
- ends with an `Example::` block: a plugin function with the hook's name, marked `@hookimpl`,
  taking only arguments the hook has.
An incomplete docstring is listed by `problems`, and `--write` refuses to write the page.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Sequence

__all__ = ["Argument", "Hook", "hooks", "problems", "all_problems", "render", "main"]

REGENERATE = "python -m babe_tasks.hookref --write docs/hooks.md"
EXAMPLE_MARK = "Example::"


@dataclass(frozen=True)
class Argument:
    name: str
    annotation: str


@dataclass(frozen=True)
class Hook:
    """One hook spec as the reference shows it: signature, prose, example."""

    name: str
    arguments: tuple[Argument, ...]
    returns: str
    firstresult: bool
    #: The docstring's first paragraph, on one line.
    summary: str
    #: The docstring without its example (the summary included), as written.
    prose: str
    #: The `Example::` block's code, dedented; "" when there is none.
    example: str

    @property
    def argnames(self) -> tuple[str, ...]:
        return tuple(argument.name for argument in self.arguments)

    @property
    def signature(self) -> str:
        arguments = ", ".join(f"{a.name}: {a.annotation}" if a.annotation else a.name for a in self.arguments)
        return f"def {self.name}({arguments}) -> {self.returns}"


def _spec_module(module: ModuleType | None) -> ModuleType:
    if module is None:
        from . import hookspecs

        return hookspecs
    return module


def _marker(module: ModuleType) -> str:
    """pluggy marks a spec function with the attribute `<project>_spec`."""
    return f"{getattr(module, 'PROJECT', 'babe_tasks')}_spec"


def hooks(module: ModuleType | None = None) -> list[Hook]:
    """Every hook spec of the module (default: `babe_tasks.hookspecs`), in the order written."""
    module = _spec_module(module)
    marker = _marker(module)
    found = []
    for name, function in vars(module).items():
        if not inspect.isfunction(function) or getattr(function, marker, None) is None:
            continue
        options = getattr(function, marker) or {}
        signature = inspect.signature(function)
        arguments = tuple(
            Argument(parameter.name, _annotation(parameter.annotation)) for parameter in signature.parameters.values()
        )
        returns = _annotation(signature.return_annotation) or "None"
        prose, example = split_docstring(function.__doc__ or "")
        summary = " ".join(prose.split("\n\n", 1)[0].split())
        found.append(Hook(name, arguments, returns, bool(options.get("firstresult")), summary, prose, example))
    return found


def _annotation(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):  # `from __future__ import annotations`: as written
        return annotation
    return inspect.formatannotation(annotation)


def split_docstring(doc: str) -> tuple[str, str]:
    """(prose, example code): the `Example::` line's indented block is the example, the rest prose."""
    lines = inspect.cleandoc(doc).splitlines() if doc.strip() else []
    for index, line in enumerate(lines):
        if line.strip() == EXAMPLE_MARK:
            block: list[str] = []
            rest = index + 1
            while rest < len(lines) and (not lines[rest].strip() or lines[rest].startswith((" ", "\t"))):
                block.append(lines[rest])
                rest += 1
            prose = "\n".join(lines[:index] + lines[rest:]).strip()
            return prose, textwrap.dedent("\n".join(block)).strip("\n")
    return "\n".join(lines).strip(), ""


# -- the check ---------------------------------------------------------------------------------------
def problems(hook: Hook, common: str = "") -> list[str]:
    """What the hook's docstring fails to say, one line each with the fix; [] when complete.

    `common` is text that documents arguments for every hook (the spec module's docstring).
    """
    name = hook.name
    if not hook.prose and not hook.example:
        return [f"{name}: no docstring: say when it fires, what its arguments are, what it may return or raise, and add an {EXAMPLE_MARK} block"]
    found = []
    prose = hook.prose
    if not re.search(r"\b(fires|fired|called)\b", prose, re.IGNORECASE):
        found.append(f"{name}: the docstring does not say when the hook fires: write 'Fires when …' or 'Called by …'")
    for argument in hook.argnames:
        pattern = rf"`{re.escape(argument)}\b"
        if not re.search(pattern, prose) and not re.search(pattern, common):
            found.append(f"{name}: argument {argument} is not described: name it in backticks (`{argument}`) and say what it is")
    for argument in hook.arguments:
        if argument.annotation in ("", "Any", "typing.Any"):
            found.append(
                f"{name}: argument {argument.name} has no type: annotate it with the class the hook receives"
                " (imported under TYPE_CHECKING), so the reference and an editor show what it is"
            )
    if hook.returns != "None" and not re.search(r"\breturn", prose, re.IGNORECASE):
        found.append(f"{name}: the docstring does not say what the hook returns (it is annotated -> {hook.returns})")
    if not re.search(r"\b(raise[sd]?|exceptions?)\b", prose, re.IGNORECASE):
        found.append(f"{name}: the docstring does not say what raising in the hook does: write what a raise or an exception there causes")
    found.extend(_example_problems(hook))
    return found


def _example_problems(hook: Hook) -> list[str]:
    name = hook.name
    if not hook.example:
        return [f"{name}: no example: end the docstring with an {EXAMPLE_MARK} block holding a plugin function {name}"]
    try:
        tree = ast.parse(hook.example)
    except SyntaxError as exc:
        return [f"{name}: the example is not valid Python (line {exc.lineno}: {exc.msg})"]
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name]
    if not functions:
        return [f"{name}: the example defines no function named {name}"]
    function = functions[0]
    found = []
    if not any(_is_hookimpl(decorator) for decorator in function.decorator_list):
        found.append(f"{name}: the example's {name} is not marked @hookimpl")
    parameters = [a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs]
    unknown = [p for p in parameters if p not in hook.argnames]
    if unknown:
        found.append(f"{name}: the example's {name} takes {', '.join(unknown)}, which the hook does not pass (it passes {', '.join(hook.argnames)})")
    return found


def _is_hookimpl(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "hookimpl") or (
        isinstance(target, ast.Attribute) and target.attr == "hookimpl"
    )


def all_problems(module: ModuleType | None = None) -> list[str]:
    """Every problem of every hook of the module."""
    module = _spec_module(module)
    common = inspect.getdoc(module) or ""
    return [problem for hook in hooks(module) for problem in problems(hook, common)]


# -- the page ----------------------------------------------------------------------------------------
def render(module: ModuleType | None = None) -> str:
    """The Markdown page: an introduction (the spec module's docstring), a summary table, each hook."""
    module = _spec_module(module)
    items = hooks(module)
    intro = inspect.getdoc(module) or ""
    out = [
        "# Hook reference",
        "",
        f"<!-- Generated from the docstrings in {_module_path(module)} by",
        f"     {REGENERATE}",
        "     Do not edit by hand: change the docstrings and regenerate (a test checks). -->",
        "",
        intro,
        "",
        "How to write, test and ship a plugin: [writing-plugins.md](writing-plugins.md) and",
        "[testing-plugins.md](testing-plugins.md); which plugins load and how: [plugins.md](plugins.md).",
        "",
        "## The hooks at a glance",
        "",
        "| hook | arguments | returns | when |",
        "|---|---|---|---|",
    ]
    for hook in items:
        arguments = ", ".join(f"`{name}`" for name in hook.argnames)
        returns = _returns(hook, short=True)
        out.append(f"| [`{hook.name}`](#{hook.name}) | {arguments} | {_cell(returns)} | {_cell(hook.summary)} |")
    for hook in items:
        out += ["", f"## {hook.name}", "", "```python", hook.signature, "```", ""]
        out += [f"**Arguments:** {', '.join(f'`{name}`' for name in hook.argnames)}. **Returns:** {_returns(hook)}", ""]
        out += [hook.prose]
        if hook.example:
            out += ["", "Example:", "", "```python", hook.example, "```"]
    return "\n".join(out).rstrip("\n") + "\n"


def _returns(hook: Hook, short: bool = False) -> str:
    if hook.returns == "None":
        return "nothing" if short else "nothing; a value returned is ignored."
    text = f"`{hook.returns}`"
    if hook.firstresult:
        return f"{text} (first answer wins)" if short else f"{text}; the first plugin whose answer is not None wins, the others are not asked."
    return text if short else f"{text}."


def _cell(text: str) -> str:
    """A table cell: a `|` (also inside code, e.g. `list[str] | None`) must not end the cell."""
    return text.replace("|", "\\|")


def _module_path(module: ModuleType) -> str:
    if module.__name__ == "babe_tasks.hookspecs":
        return "babe_tasks/hookspecs.py"
    return module.__name__


# -- command line ------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """`python -m babe_tasks.hookref [--write PATH | --check PATH]`; returns the exit code.

    0: done (or up to date); 1: a docstring is incomplete, or (--check) the page differs;
    2: bad arguments or a page that cannot be read or written.
    """
    parser = argparse.ArgumentParser(
        prog="python -m babe_tasks.hookref", description="The hook reference, generated from babe_tasks/hookspecs.py."
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PATH", help="write the page to PATH (refused while a docstring is incomplete)")
    group.add_argument("--check", metavar="PATH", help="exit 1 unless PATH is the page the specs give today")
    parser.add_argument("--specs", metavar="MODULE", default="babe_tasks.hookspecs", help="the module of hook specs (default: %(default)s)")
    args = parser.parse_args(argv)

    try:
        module = importlib.import_module(args.specs)
    except ImportError as exc:
        print(f"error: --specs {args.specs}: cannot import it ({exc}); give an importable module name", file=sys.stderr)
        return 2
    found = all_problems(module)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    page = render(module)
    if args.check:
        path = Path(args.check)
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror or exc}; create it with: {REGENERATE}", file=sys.stderr)
            return 2
        if current != page:
            print(f"error: {path} is out of date with babe_tasks/hookspecs.py: run {REGENERATE}", file=sys.stderr)
            return 1
        return 1 if found else 0
    if args.write:
        if found:
            print(f"error: {len(found)} problem(s) in the hook docstrings; {args.write} was not written", file=sys.stderr)
            return 1
        path = Path(args.write)
        try:
            path.write_text(page, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {path} ({len(hooks(module))} hooks)", file=sys.stderr)
        return 0
    sys.stdout.write(page)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
