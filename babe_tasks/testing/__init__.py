"""Test equipment that ships with babe-tasks, for this project's tests and a lab's own.

- `serve_backend(...) -> (server, url)`: a fake _babe backend over real HTTP on 127.0.0.1
  (`babe_tasks.testing.backend`);
- `write_deploy_config(folder, ...)`: an experiment's `config/config_deploy.js`, as _babe's
  templates write it;
- `run_babe(capture, *argv) -> BabeRun`: the real `babe` program in-process, its exit code, stdout,
  stderr and (with `--json`) the parsed document; `babe_tasks.testing.processes` runs it (or any
  command) as a child process with the same result type;
- `ExperimentFolder` (`babe_tasks.testing.experiment`), the local MTurk's handles
  (`babe_tasks.testing.localmturk`), a webhook receiver (`babe_tasks.testing.webhook`): what the
  pytest plugin's fixtures are made of (docs/testing-plugins.md).

Nothing in the `babe` program imports this package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backend import BackendServer, Experiment, FakeBackend, serve_backend

__all__ = ["BabeRun", "BackendServer", "Experiment", "FakeBackend", "run_babe", "serve_backend", "write_deploy_config"]


@dataclass
class BabeRun:
    """One `babe` command: exit code, stdout, stderr; `.json` parses stdout."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:  # what pytest shows when an assertion about the run fails
        return f"BabeRun(code={self.code}, out={self.out[-3000:]!r}, err={self.err[-3000:]!r})"


def run_babe(capture: Any, *argv: str, namespace: Any = None) -> BabeRun:
    """Run the real `babe` program in-process; `capture` (pytest's `capsys` or `capfd`) holds what it prints.

    `namespace` replaces the program's invoke task collection (a test's own tasks).
    """
    from ..program import BabeProgram

    capture.readouterr()
    code = BabeProgram(namespace=namespace).run(["babe", *argv], exit=False)
    captured = capture.readouterr()
    return BabeRun(code, captured.out, captured.err)


def write_deploy_config(
    folder: str | Path,
    *,
    experiment_id: str | int,
    server_app_url: str,
    deploy_method: str = "MTurkSandbox",
    contact_email: str = "lab@example.org",
) -> Path:
    """Write `<folder>/config/config_deploy.js` in the style of the _babe templates; returns its path."""
    path = Path(folder) / "config" / "config_deploy.js"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "// In this file you can specify all sort of updates regarding the deployment\n"
        "var config_deploy = {\n"
        f'    "experimentID": "{experiment_id}",\n'
        f'    "serverAppURL": "{server_app_url}",\n'
        "    // Possible deployment methods are:\n"
        '    // "debug", "directLink", "Prolific", "MTurk", "MTurkSandbox", "localServer"\n'
        f'    "deployMethod": "{deploy_method}",\n'
        f'    "contact_email": "{contact_email}",\n'
        '    "prolificURL": "https://app.prolific.ac/submissions/complete?cc=ABCD1234"\n'
        "};\n",
        encoding="utf-8",
    )
    return path
