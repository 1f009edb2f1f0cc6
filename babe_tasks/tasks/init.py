"""`babe init`: set up an experiment folder — a commented invoke.yaml, a tasks.py, a plugins/ folder.

It never overwrites a file: re-running it only adds what is missing, so it is safe to run in a
folder that is already set up (or half set up by hand). The target written is always `local`,
whatever the experiment's deployMethod says: a fresh setup must not be able to spend money; the
deployMethod is noted next to the target with what to set when the local run looks right.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from ..taskkit import babe_task

TASKS_PY = '''\
"""Tasks of this experiment: `invoke --list` (or `babe --list`) shows them.

A lab that wants tasks of its own builds a fresh collection instead of changing the shared one:

    import babe_tasks
    from invoke import task

    @task
    def hello(c):
        print("hello")

    ns = babe_tasks.collection()
    ns.add_task(hello)
"""

from babe_tasks import ns  # noqa: F401
'''

PLUGINS_README = """\
Plugins of this experiment: every *.py file here is a plugin named after the file
(files starting with _ are helpers, not plugins). A plugin implements hooks, e.g.

    from babe_tasks.plugins import hookimpl, Veto

    @hookimpl
    def babe_before_create(settings, plan):
        if settings.target == "live" and settings.reward > 1:
            raise Veto("reward above $1.00 on live")

Settings for a plugin go under babe.plugins.<file name> in invoke.yaml.
`babe plugins` lists what is loaded and which hooks each plugin implements;
see docs/plugins.md of babe-tasks for the hooks.
"""


@babe_task(
    help={
        "folder": "experiment folder to set up (default: the current directory; created if missing)",
        "experiment": "experiment name to write (default: the folder's name)",
        "json": "print one JSON document on stdout",
    }
)
def init(c, folder=None, experiment=None, json=False):
    """Set up an experiment folder: commented invoke.yaml, tasks.py, plugins/ (never overwrites)."""
    from .. import deployconfig, folders
    from ..errors import UsageError
    from ..output import emit, warn
    from ..settings import parse_value

    root = Path(folder).expanduser().resolve() if folder else Path.cwd().resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--folder {root} is a file, not a folder")
    name = parse_value("experiment", experiment, root) if experiment else folders.experiment_name(root)
    deploy = deployconfig.find(root) if root.is_dir() else None
    warnings = deploy_warnings(deploy)
    if deploy is None and (root / deployconfig.CONFIG_FILE).is_file():
        warnings.append(
            f"{deployconfig.CONFIG_FILE} has no `var config_deploy = {{...}}` that could be read: "
            "nothing was taken from it"
        )
    for message in warnings:
        warn(message)

    root.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    kept: list[str] = []
    for relative, content in (
        ("invoke.yaml", config_template(name, deploy)),
        ("tasks.py", TASKS_PY),
        ("plugins/README.txt", PLUGINS_README),
    ):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(content)
        except FileExistsError:
            kept.append(relative)
        else:
            written.append(relative)

    result = {
        "folder": root,
        "experiment": name,
        "written": written,
        "kept": kept,
        "deploy": deploy.as_dict() if deploy else None,
        "warnings": warnings,
    }

    def render(console: Any) -> None:
        console.print(f"Experiment folder {root} (experiment {name})")
        for relative in written:
            console.print(f"  wrote {relative}")
        for relative in kept:
            console.print(f"  kept existing {relative}")
        if deploy:
            console.print(
                f"  read {deploy.source.relative_to(root)}: experimentID {deploy.experiment_id}, "
                f"deployMethod {deploy.deploy_method}"
            )
        console.print("Next: babe create --url https://… --title … --reward 0.50 --assignments 20  (target local)")

    emit(json, result, render)


def deploy_warnings(deploy: Any) -> list[str]:
    """What would make workers' submissions go nowhere, said before any HIT is posted."""
    if deploy is None:
        return []
    method = deploy.deploy_method
    where = deploy.source.name
    if method is None:
        return [f"{where} has no deployMethod: set it to MTurkSandbox or MTurk before posting HITs"]
    if deploy.mturk_target is None:
        return [
            f"deployMethod {method!r} in {where} is not an MTurk method: the page would submit no MTurk form "
            "and workers could not submit their assignment; set it to MTurkSandbox or MTurk before posting HITs"
        ]
    return []


def config_template(experiment: str, deploy: Any = None) -> str:
    """The commented invoke.yaml: every core setting, set or commented out with its default or an example."""
    from ..settings import KEYS

    lines = [
        "# babe-tasks settings of this experiment, read by `babe` and by `invoke` alike.",
        "# Precedence: task flags > BABE_<KEY> environment variables > this file > defaults.",
        "# Uncomment what you need; every setting is described in babe-tasks' docs/settings.md.",
        "# Secrets (webhook URLs, passwords, tokens) never go here: use environment variables.",
        "babe:",
    ]
    for key in KEYS:
        lines.extend(_comment(key.meaning))
        if key.name == "experiment":
            lines.append(f"  experiment: {_yaml_scalar(experiment)}")
        elif key.name == "target":
            lines.extend(_deploy_notes(deploy))
            lines.append("  target: local")
        elif key.name == "plugins":
            lines.extend(["  # plugins:", "  #   my_plugin:", "  #     some_setting: value"])
        elif key.default is None:
            lines.append(f"  # {key.name}: {_yaml_scalar(key.example)}")
        else:
            lines.append(f"  # {key.name}: {_yaml_scalar(key.default)}")
    return "\n".join(lines) + "\n"


def _comment(text: str) -> list[str]:
    return ["", *("  # " + line for line in textwrap.wrap(text, width=96))]


def _deploy_notes(deploy: Any) -> list[str]:
    if deploy is None:
        return []
    source = deploy.source.name
    notes = [
        f"  # From {source}: experimentID {deploy.experiment_id}, deployMethod {deploy.deploy_method},",
        f"  #   serverAppURL {deploy.server_app_url}.",
    ]
    if deploy.mturk_target:
        notes.append(
            f"  # deployMethod {deploy.deploy_method} submits to MTurk's {deploy.mturk_target}: set target: "
            f"{deploy.mturk_target} once the local run looks right."
        )
    else:
        notes.append(f"  # deployMethod {deploy.deploy_method} submits no MTurk form: change it before posting HITs.")
    return notes


def _yaml_scalar(value: Any) -> str:
    """A value as YAML text that reads back as what the settings expect (money and times as strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text == "" or text[0] in "!&*[]{}|>'\"%@`#,?:-" or ": " in text or " #" in text or _looks_typed(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _looks_typed(text: str) -> bool:
    """Strings YAML would read as a number, bool or null (reward 0.50 must stay the string "0.50")."""
    from invoke.util import yaml

    try:
        return not isinstance(yaml.safe_load(text), str)
    except yaml.YAMLError:
        return True
