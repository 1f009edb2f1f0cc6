"""`babe-prolific demo`: a Prolific study's whole life, offline, in a scratch folder, command by command.

It runs the commands docs/prolific.md walks a lab through — `babe-prolific code` (the experiment's
completion code, drawn and kept), the page's config/config_deploy.js carrying it, `babe init` (which
reads the page's deployMethod Prolific and sets the platform), the plugin lines of invoke.yaml,
`babe create`, simulated
participants (one returns her place), `babe status`, `babe approve`, a `babe bonus` for one
participant (Prolific's set-up and pay), `babe expire`, `babe results`, `babe cost` — through the
real `babe` and `babe-prolific` programs in-process, so what it prints is what they print.

The scratch folder has its own local Prolific (`.babe/prolific.sqlite`) and local MTurk state,
and a fake _babe backend on 127.0.0.1 (what `babe local.backend` serves) takes the participants'
trials, so approve checks data and `results` downloads it. The caller's BABE_* and PROLIFIC_*
variables are set aside for the run (a lab's BABE_PROLIFIC_STATE, token or plugin choice never
reaches it; no token is needed on the local Prolific) and restored after. The scaffolding — the
folder, the environment, showing or collecting each step, the JSON document — is `babe demo`'s
(`babe_tasks.tasks.demo`); this module only says which steps a Prolific lab takes.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babe_tasks.tasks.demo import (
    Step,
    babe_step,
    finish,
    isolated_environment,
    run_steps,
    scratch_folder,
)

EXPERIMENT = "prolific-demo"
URL = "https://example.org/babe-demo/"
TITLE = "A 5-minute language study"
DESCRIPTION = "Read short sentences and say how natural they sound."
PLACES = 8
#: The backend's experimentID (the number a lab finds in config_deploy.js).
BACKEND_EXPERIMENT = "1"
BACKEND_USER = "admin"
#: What a lab adds to the invoke.yaml `babe init` wrote (docs/prolific.md, "Configure the experiment").
INVOKE_YAML = """\
  plugins:
    prolific:
      estimated_minutes: 5
    babe-backend: {}
"""
STATE = Path(".babe") / "prolific.sqlite"


def run(folder: str | None = None, keep: bool = False, as_json: bool = False) -> None:
    """The demo (`babe-prolific demo`): raises BabeError with the failing step's exit code."""
    from babe_tasks.testing.backend import BackendServer, FakeBackend

    with scratch_folder(folder, keep, EXPERIMENT) as scratch:
        root = scratch.root
        state = root / STATE
        password = secrets.token_urlsafe(16)  # the results' password: only ever in this run's environment
        fake = FakeBackend(user=BACKEND_USER, password=password)
        fake.add_experiment(BACKEND_EXPERIMENT, name=EXPERIMENT)
        with BackendServer(fake).start() as backend:
            if not as_json:
                from babe_tasks import output

                output.console().print(
                    f"A fake _babe backend for the page's data (as `babe local.backend` serves it) on {backend.url}; "
                    "it stops with the demo.",
                    soft_wrap=True,
                )
            settings = {
                "BABE_PROLIFIC_STATE": str(state),
                "BABE_LOCAL_STATE": str(root / ".babe" / "localturk.sqlite"),
                "BABE_BACKEND_USER": BACKEND_USER,
                "BABE_BACKEND_PASSWORD": password,
                **_no_proxy_for_loopback(),
            }
            with isolated_environment(settings, prefixes=("BABE_", "PROLIFIC_")):
                steps = run_steps(_steps(root, state, backend.url), as_json)
    look_around = f"BABE_PROLIFIC_STATE={shlex.quote(str(state))} babe status"
    finish(as_json, scratch, steps, look_around, "babe-prolific demo --keep")


def _steps(root: Path, state: Path, backend_url: str) -> Iterator[Step]:
    """The walk-through; a generator, so the study and participant ids come from the steps before."""
    submit_url = f"{backend_url}/api/submit_experiment/{BACKEND_EXPERIMENT}"
    yield _babe_prolific(["code"], ["--folder", str(root)])
    yield _write(root, "config/config_deploy.js", _deploy_config(root, backend_url))
    yield babe_step(root, ["init"])  # platform: prolific, from the page's deployMethod
    yield _write(root, "invoke.yaml", INVOKE_YAML, append=True)
    yield babe_step(
        root,
        [
            "create",
            "--url", URL,
            "--title", TITLE,
            "--description", DESCRIPTION,
            "--reward", "1.00",
            "--assignments", str(PLACES),
        ],
    )
    study = _the_study(state)
    yield _babe_prolific(
        ["participants", "--study", study, "--count", str(PLACES), "--post-to", submit_url, "--return-rate", "0.125"]
    )
    yield babe_step(root, ["status"])
    yield babe_step(root, ["approve"])
    participant, submission = _an_approved_submission(state, study)
    yield babe_step(
        root,
        ["bonus", "--worker", participant, "--assignment", submission, "--amount", "0.50", "--reason", "accurate ratings"],
    )
    yield babe_step(root, ["expire"])
    yield babe_step(root, ["results"])
    yield babe_step(root, ["cost"])


def _babe_prolific(args: list[str], hidden: list[str] | None = None) -> Step:
    """`babe-prolific ARGS` through its own `main`; `hidden` are location flags a lab in the folder
    does not type (the local Prolific's state comes from BABE_PROLIFIC_STATE)."""

    def run_it(as_json: bool) -> int:
        from .cli import main

        return main([*args, *(hidden or []), *(["--json"] if as_json else [])])

    return Step("babe-prolific " + shlex.join(args), run_it)


def _write(root: Path, relative: str, text: str, *, append: bool = False) -> Step:
    """A file the lab writes by hand, shown as the shell here-document that writes it."""
    folder = str(Path(relative).parent)
    shown = ("" if folder == "." else f"mkdir -p {folder} && ") + f"cat {'>>' if append else '>'} {relative} <<'EOF'"

    def run_it(as_json: bool) -> int:
        import json

        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
        if as_json:
            print(json.dumps({"file": relative, "appended" if append else "written": text}))
        else:
            print(text + "EOF", flush=True)
        return 0

    return Step(shown, run_it)


def _deploy_config(root: Path, backend_url: str) -> str:
    """The page's config_deploy.js as _babe's Prolific mode needs it: the backend, and the
    completion link with the study's code (the same code `babe-prolific code` printed)."""
    from babe_tasks.settings import Settings

    from .codes import completion_code
    from .platform import COMPLETION_URL

    settings = Settings.build(None, folder=str(root))
    code = completion_code(settings).code
    return (
        "var config_deploy = {\n"
        f'    "experimentID": "{BACKEND_EXPERIMENT}",\n'
        f'    "serverAppURL": "{backend_url}/api/submit_experiment/",\n'
        '    "deployMethod": "Prolific",\n'
        '    "contact_email": "lab@example.org",\n'
        f'    "prolificURL": "{COMPLETION_URL.format(code=code)}"\n'
        "};\n"
    )


# -- reading the demo's local Prolific, as a lab reads the Prolific app ----------------------------------
def _ask(state: Path, path: str) -> Any:
    """GET `path` (below /api/v1/) from the demo's local Prolific, in-process."""
    import httpx

    from .routing import INPROCESS_URL, LOCAL_TOKEN, InProcess, local_app

    app = local_app(state)
    try:
        headers = {"Authorization": f"Token {LOCAL_TOKEN}"}
        with httpx.Client(transport=InProcess(app), base_url=INPROCESS_URL, headers=headers) as client:
            response = client.get(path)
            response.raise_for_status()
            return response.json()
    finally:
        app.close()


def _the_study(state: Path) -> str:
    """The study `babe create` just posted (the demo's local Prolific holds only the demo's)."""
    from babe_tasks.errors import BabeError

    studies = _ask(state, "studies/")["results"]
    if not studies:
        raise BabeError("demo: babe create reported success but the local Prolific has no study")
    return studies[-1]["id"]


def _an_approved_submission(state: Path, study: str) -> tuple[str, str]:
    """(participant, submission) of the first approved submission: who gets the demo's bonus."""
    from babe_tasks.errors import BabeError

    approved = _ask(state, f"studies/{study}/submissions/?status=APPROVED")["results"]
    if not approved:
        raise BabeError(f"demo: babe approve reported success but study {study} has no approved submission")
    return approved[0]["participant_id"], approved[0]["id"]


def _no_proxy_for_loopback() -> dict[str, str]:
    """NO_PROXY (both spellings) extended with 127.0.0.1 for the run: the participants and the
    babe-backend plugin talk to the demo's backend on this machine, never through a lab's proxy."""
    import os

    values = {}
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "").strip()
        values[name] = f"{current},127.0.0.1,localhost" if current else "127.0.0.1,localhost"
    return values
