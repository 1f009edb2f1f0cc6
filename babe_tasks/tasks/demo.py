"""`babe demo`: the whole lifecycle in a scratch folder on the local MTurk, command by command.

It runs the very commands a lab types — `babe init`, `babe create … --assignments 20`,
`babe local.work --workers 20`, `babe status`, `babe approve`, `babe expire --delete` — through
the same `babe` program, in-process, so what it prints is exactly what they print. The scratch
folder gets its own local MTurk state, and the caller's BABE_* settings are set aside for the
run, so the demo never touches the lab's experiments or account and needs no credentials.

The machinery is shared with other platforms' demos (`babe-prolific demo`): a `Step` is one
command as the reader sees it and a way to run it; `scratch_folder` makes (and removes) the
folder, `isolated_environment` sets the caller's settings aside, `run_steps` shows or collects
each step and stops at the first that fails, and `finish` prints the closing lines or the JSON
document `{"folder", "kept", "steps": [{"command", "exit_code", "result"}]}`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..taskkit import babe_task

URL = "https://example.org/babe-demo/"
TITLE = "A 5-minute language study"
DESCRIPTION = "Read short sentences and say how natural they sound."
EXPERIMENT = "babe-demo"


def commands() -> list[list[str]]:
    """The lifecycle as a lab types it in the experiment folder (README, "First run")."""
    return [
        ["init"],
        [
            "create",
            "--url", URL,
            "--title", TITLE,
            "--description", DESCRIPTION,
            "--reward", "0.50",
            "--assignments", "20",
        ],
        ["local.work", "--workers", "20"],
        ["status"],
        ["approve"],
        ["expire", "--delete"],
    ]


@babe_task(
    help={
        "folder": "run in this (new or empty) folder and keep it; default: a temporary folder, removed after",
        "keep": "keep the temporary folder and print how to look around in it",
        "json": 'print one JSON document: {"folder", "steps": [{"command", "exit_code", "result"}]}',
    }
)
def demo(c, folder=None, keep=False, json=False):
    """Run the whole lifecycle on the local MTurk in a scratch folder, showing each command."""
    with scratch_folder(folder, keep, EXPERIMENT) as scratch:
        state = scratch.root / "localturk.sqlite"
        with isolated_environment({"BABE_LOCAL_STATE": str(state)}):
            steps = run_steps((babe_step(scratch.root, args) for args in commands()), json)
    look_around = f"BABE_LOCAL_STATE={shlex.quote(str(state))} babe status"
    finish(json, scratch, steps, look_around, "babe demo --keep")


# -- the machinery every platform's demo shares --------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One command of a demo: `shown` is what the reader sees after `$`; `run(as_json)` runs it and
    returns its exit code, printing its own output (one JSON document on stdout when `as_json`)."""

    shown: str
    run: Callable[[bool], int]


@dataclass
class Scratch:
    """The demo's experiment folder and whether it stays after the demo."""

    root: Path
    keep: bool


@contextmanager
def scratch_folder(folder: str | None, keep: bool, name: str) -> Iterator[Scratch]:
    """`folder` (new or empty, always kept), else `<a temporary folder>/<name>`, removed on leaving
    unless `keep`. A folder with anything in it is refused before anything is done (exit 2): the
    demo writes an experiment there and must not mix it with someone's files.

    The temporary folder is made with `mkdtemp` and removed here, not by a `TemporaryDirectory`,
    whose finalizer would remove a kept folder as soon as the object is garbage-collected."""
    import shutil
    import tempfile

    from ..errors import UsageError

    temporary = None
    if folder:
        root = Path(folder).expanduser().resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"--folder {root} is not an empty folder: the demo only runs in a new one")
        keep = True
    else:
        temporary = tempfile.mkdtemp(prefix=f"{name}-")
        root = Path(temporary) / name
    root.mkdir(parents=True, exist_ok=True)
    scratch = Scratch(root, bool(keep))
    try:
        yield scratch
    finally:
        if temporary is not None and not scratch.keep:
            shutil.rmtree(temporary, ignore_errors=True)


@contextmanager
def isolated_environment(values: Mapping[str, str], prefixes: tuple[str, ...] = ("BABE_",)) -> Iterator[None]:
    """The caller's variables starting with `prefixes` set aside (BABE_DEBUG stays: it only shows
    tracebacks), `values` in their place; everything restored after, whatever happened."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(prefixes) and k != "BABE_DEBUG"}
    replaced = {k: os.environ[k] for k in values if k in os.environ and k not in saved}
    for key in saved:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        for key in values:
            os.environ.pop(key, None)
        os.environ.update(saved)
        os.environ.update(replaced)


def babe_step(root: Path, args: list[str]) -> Step:
    """`babe ARGS` run by the `babe` program in-process, in the experiment folder `root` (found by
    `--search-root`, and `init` told `--folder`: the shown command is what a lab types there)."""

    def run(as_json: bool) -> int:
        from ..program import BabeProgram

        argv = ["babe", "--search-root", str(root), *args]
        if args[0] == "init":
            argv += ["--folder", str(root)]
        if as_json:
            argv.append("--json")
        return BabeProgram().run(argv, exit=False)

    return Step("babe " + shlex.join(args), run)


def run_steps(steps: Iterable[Step], as_json: bool) -> list[dict]:
    """Each step shown (`$ command`, then its own output) or, with `as_json`, its JSON document
    collected as `result`; stop at the first that fails, with its exit code and its name.

    `steps` may be a generator: it resumes only after the previous step ran, so a later step can
    be built from what an earlier one did (a study id, a participant)."""
    import io
    import json as jsonlib
    from contextlib import redirect_stdout

    from .. import output
    from ..errors import BabeError

    done = []
    for step in steps:
        if as_json:
            captured = io.StringIO()
            with redirect_stdout(captured):
                code = step.run(True)
            text = captured.getvalue()
            done.append({"command": step.shown, "exit_code": code, "result": jsonlib.loads(text) if text.strip() else None})
        else:
            output.console().print(f"\n$ {step.shown}", soft_wrap=True)
            code = step.run(False)
            done.append({"command": step.shown, "exit_code": code})
        if code != 0:
            raise BabeError(f"demo step `{step.shown}` failed with exit code {code}", exit_code=code)
    return done


def finish(as_json: bool, scratch: Scratch, steps: list[dict], look_around: str, keep_command: str) -> None:
    """The JSON document, or the closing lines: where the kept folder is and one command to look
    around in it (`look_around`, run after `cd` into it), or how to keep it next time."""
    from .. import output

    root = scratch.root
    document = {"folder": root, "kept": scratch.keep, "steps": steps}

    def render(console) -> None:
        console.rule("done")
        if scratch.keep:
            console.print(f"The demo experiment is in {root}; to look around:")
            console.print(f"  cd {shlex.quote(str(root))} && {look_around}")
        else:
            console.print(f"The scratch folder is removed; `{keep_command}` keeps it to look around.")

    output.emit(as_json, document, render)
