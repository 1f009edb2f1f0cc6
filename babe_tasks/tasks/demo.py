"""`babe demo`: the whole lifecycle in a scratch folder on the local MTurk, command by command.

It runs the very commands a lab types — `babe init`, `babe create … --assignments 20`,
`babe local.work --workers 20`, `babe status`, `babe approve`, `babe expire --delete` — through
the same `babe` program, in-process, so what it prints is exactly what they print. The scratch
folder gets its own local MTurk state, and the caller's BABE_* settings are set aside for the
run, so the demo never touches the lab's experiments or account and needs no credentials.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
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
    import tempfile

    from .. import output
    from ..errors import UsageError

    if folder:
        root = Path(folder).expanduser().resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"--folder {root} is not an empty folder: the demo only runs in a new one")
        keep = True
        scratch = None
    else:
        scratch = tempfile.TemporaryDirectory(prefix="babe-demo-")
        root = Path(scratch.name) / EXPERIMENT
    root.mkdir(parents=True, exist_ok=True)
    state = root / "localturk.sqlite"
    try:
        steps = _run_all(root, state, json)
    finally:
        if scratch is not None and not keep:
            scratch.cleanup()
    document = {"folder": root, "kept": bool(keep), "steps": steps}

    def render(console) -> None:
        console.rule("done")
        if keep:
            console.print(f"The demo experiment is in {root}; to look around:")
            console.print(f"  cd {shlex.quote(str(root))} && BABE_LOCAL_STATE={shlex.quote(str(state))} babe status")
        else:
            console.print("The scratch folder is removed; `babe demo --keep` keeps it to look around.")

    output.emit(json, document, render)


def _run_all(root: Path, state: Path, as_json: bool) -> list[dict]:
    """Each command through the `babe` program; stop at the first that fails, with its exit code."""
    import io
    import json as jsonlib
    from contextlib import redirect_stdout

    from .. import output
    from ..errors import BabeError
    from ..program import BabeProgram

    steps = []
    with _isolated_environment(state):
        for args in commands():
            shown = "babe " + shlex.join(args)
            argv = ["babe", "--search-root", str(root), *args]
            if args[0] == "init":
                argv += ["--folder", str(root)]
            if as_json:
                argv.append("--json")
                captured = io.StringIO()
                with redirect_stdout(captured):
                    code = BabeProgram().run(argv, exit=False)
                text = captured.getvalue()
                steps.append({"command": shown, "exit_code": code, "result": jsonlib.loads(text) if text.strip() else None})
            else:
                output.console().print(f"\n$ {shown}", soft_wrap=True)
                code = BabeProgram().run(argv, exit=False)
                steps.append({"command": shown, "exit_code": code})
            if code != 0:
                raise BabeError(f"demo step `{shown}` failed with exit code {code}", exit_code=code)
    return steps


@contextmanager
def _isolated_environment(state: Path) -> Iterator[None]:
    """The caller's BABE_* variables set aside, the scratch state in their place; restored after."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("BABE_") and k != "BABE_DEBUG"}
    for key in saved:
        del os.environ[key]
    os.environ["BABE_LOCAL_STATE"] = str(state)
    try:
        yield
    finally:
        os.environ.pop("BABE_LOCAL_STATE", None)
        os.environ.update(saved)
