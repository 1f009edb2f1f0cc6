"""`babe init`: set up an experiment folder — a commented invoke.yaml, a tasks.py, a plugins/ folder.

It never overwrites a file: re-running it only adds what is missing, so it is safe to run in a
folder that is already set up (or half set up by hand). The target written is always `local`,
whatever the experiment's deployMethod says: a fresh setup must not be able to spend money; the
deployMethod is noted next to the target with what to set when the local run looks right.

The platform, though, follows the page: a page whose deployMethod is `Prolific` can only send
participants back to Prolific, so a new invoke.yaml says `platform: prolific` (an MTurk method, or
none, keeps the default, mturk). A platform already chosen — `babe.platform` in an existing
invoke.yaml, or `BABE_PLATFORM` — wins, and is judged against the page instead. Init says which
platform it chose and why.

A `config/config_deploy.js` that is broken — an object or string never closed, a missing comma, an
unquoted word as a value, a deployMethod _babe does not know — is refused (exit 2, the file, the
line and the fix), before anything is written: that file decides where workers' submissions go,
and a page that cannot run is better found now than after HITs are posted and paid for.
`--ignore-deploy-config` sets the folder up without taking anything from it.
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
    settings=True,
    help={
        "folder": "experiment folder to set up (default: the current directory; created if missing)",
        "ignore-deploy-config": "take nothing from config/config_deploy.js (e.g. while it is broken)",
        "json": "print one JSON document on stdout",
        "makefile": "also write a Makefile whose targets run the study: pilot, launch, wait, pay, close, data, report",
    }
)
def init(c, folder=None, ignore_deploy_config=False, json=False, makefile=False, **common):
    """Set up an experiment folder: commented invoke.yaml, tasks.py, plugins/ (never overwrites)."""
    from .. import deployconfig, folders
    from ..errors import UsageError
    from ..output import emit, warn
    from ..settings import parse_value

    experiment = common.pop("experiment", None)
    root = Path(folder).expanduser().resolve() if folder else Path.cwd().resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--folder {root} is a file, not a folder")
    name = parse_value("experiment", experiment, root) if experiment else folders.experiment_name(root)
    deploy = None
    if root.is_dir() and not ignore_deploy_config:
        problem = deployconfig.problem(root / deployconfig.CONFIG_FILE)
        if problem is not None:
            raise UsageError(
                f"{deployconfig.CONFIG_FILE} {problem}; fix the file, or pass --ignore-deploy-config "
                "to set up without it"
            )
        deploy = deployconfig.find(root)
    platform, why, by_page = _platform_of(c, root, deploy)
    warnings = deploy_warnings(deploy, platform)
    if deploy is None and not ignore_deploy_config and (root / deployconfig.CONFIG_FILE).is_file():
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
        ("invoke.yaml", config_template(name, deploy, platform, why if by_page else None)),
        ("tasks.py", TASKS_PY),
        ("plugins/README.txt", PLUGINS_README),
        *((("Makefile", makefile_template(name)),) if makefile else ()),
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
        "platform": platform,
        "platform_reason": why,
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
                f"  read {deploy.source.relative_to(root)}: experimentID {_printable(deploy.experiment_id)}, "
                f"deployMethod {_printable(deploy.deploy_method)}"
            )
        console.print(f"  platform {platform}: {_printable(why)}")
        if platform == "prolific":
            console.print("Next: babe-prolific code  (the completion code and prolificURL for config_deploy.js)")
        console.print("Next: babe create --url https://… --title … --reward 0.50 --assignments 20  (target local)")

    emit(json, result, render)


#: The platforms whose participants a _babe page can send back (`babe.platform` names): init
#: checks a page's deployMethod for these; another platform's pages are its plugin's to check.
PAGE_PLATFORMS = ("mturk", "prolific")
#: The _babe deployMethod a page needs on each platform whose participants _babe can send back.
PROLIFIC_METHOD = "Prolific"
#: What the Prolific method needs besides itself (the completion link carries the study's code).
PROLIFIC_FIX = f"set it to {PROLIFIC_METHOD} (with its prolificURL) before posting the study"


def makefile_template(experiment: str) -> str:
    """The package's Makefile template for `experiment` (`babe init --makefile`; docs/automation.md)."""
    from importlib.resources import files

    template = files("babe_tasks").joinpath("Makefile.template").read_text(encoding="utf-8")
    return template.replace("@EXPERIMENT@", experiment)


def _platform_of(c, root: Path, deploy: Any = None) -> tuple[str, str, bool]:
    """The platform the folder is set up for, why, and whether the page chose it (then the new
    invoke.yaml says so): which deployMethod is right depends on it.

    One already chosen wins (`BABE_PLATFORM`, `babe.platform` in the folder's settings); a kept
    invoke.yaml without one stays mturk (init never edits it); else the page decides: deployMethod
    `Prolific` → prolific, anything else → mturk. Settings that cannot be read count as none
    (init does not judge invoke.yaml; every other task does).
    """
    import os

    from ..errors import UsageError
    from ..settings import KEY_BY_NAME, Settings

    key = KEY_BY_NAME["platform"]
    if os.environ.get(key.env_var or "", "").strip():
        chosen = os.environ[key.env_var or ""].strip()
        return chosen, f"{key.env_var} is {chosen}", False
    configured = key.default
    if root.is_dir():
        try:
            configured = Settings.build(c, folder=root).platform
        except UsageError:
            pass
    if configured != key.default:
        return configured, f"babe.platform in the folder's settings is {configured}", False
    if (root / "invoke.yaml").is_file():
        return configured, f"the existing invoke.yaml is kept and does not set babe.platform (default {configured})", False
    method = getattr(deploy, "deploy_method", None)
    if method == PROLIFIC_METHOD:
        return "prolific", f"deployMethod {method} in {deploy.source.name} sends participants back to Prolific", True
    if method is not None:
        return configured, f"deployMethod {method} in {deploy.source.name} is not Prolific's (default {configured})", False
    return configured, "the default (no deployMethod to go by)", False


def deploy_warnings(deploy: Any, platform: str = "mturk") -> list[str]:
    """What would make participants' submissions go nowhere, said before anything is posted.

    The right deployMethod is the platform's: MTurk or MTurkSandbox on MTurk, Prolific on Prolific
    (a Prolific lab is never told to switch to MTurk). Another platform's pages are its plugin's
    to check (`babe doctor`): nothing is said here.
    """
    if deploy is None or platform not in PAGE_PLATFORMS:
        return []
    method = deploy.deploy_method
    where = deploy.source.name
    if platform == "prolific":
        if method is None:
            return [f"{where} has no deployMethod: {PROLIFIC_FIX}"]
        if deploy.mturk_target is not None:
            return [f"deployMethod {method!r} in {where} submits to MTurk, but the platform is prolific: {PROLIFIC_FIX}"]
        if method != PROLIFIC_METHOD:
            return [
                (f"deployMethod {method!r} in {where} is not Prolific's: participants would get no completion link "
                f"and could not submit; {PROLIFIC_FIX}")
            ]
        return []
    if method is None:
        return [f"{where} has no deployMethod: set it to MTurkSandbox or MTurk before posting HITs"]
    if method == PROLIFIC_METHOD:
        return [
            (f"deployMethod {method!r} in {where} is not an MTurk method: the page submits to Prolific; set "
            "platform: prolific in invoke.yaml to post it as a Prolific study, or set the deployMethod to "
            "MTurkSandbox or MTurk before posting HITs")
        ]
    if deploy.mturk_target is None:
        return [
            (f"deployMethod {method!r} in {where} is not an MTurk method: the page would submit no MTurk form "
            "and workers could not submit their assignment; set it to MTurkSandbox or MTurk before posting HITs")
        ]
    return []


def config_template(experiment: str, deploy: Any = None, platform: str = "mturk", why: str | None = None) -> str:
    """The commented invoke.yaml: every core setting, set or commented out with its default or an example.

    `platform` is the one the folder is set up for: the deployMethod note says what it needs. With
    `why` (init chose the platform from the page) a platform other than the default is written, with
    `why` as its comment; one chosen by the settings or the environment stays where it was set.

    Every `key: value` line, set or commented, comes from PyYAML's emitter (`_entry`), and every
    text taken from the page goes into comments through `_printable`: no value — an experimentID
    holding a CR, NEL, U+2028 or U+2029 included — can start a line of its own and add a key. The
    text is read back before it is returned, and must give exactly the values set.
    """
    from ..settings import KEYS, parse_value

    values: dict[str, Any] = {"experiment": parse_value("experiment", experiment), "target": "local"}
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
            lines.append("  " + _entry("experiment", values["experiment"]))
        elif key.name == "target":
            lines.extend(_deploy_notes(deploy, platform))
            lines.append("  " + _entry("target", values["target"]))
        elif key.name == "platform" and platform != key.default and why:
            values["platform"] = parse_value("platform", platform)
            lines.extend(_comment(f"Chosen by babe init: {_printable(why)}.")[1:])  # under the setting's own comment
            lines.append("  " + _entry("platform", values["platform"]))
        elif key.name == "plugins":
            lines.extend(["  # plugins:", "  #   my_plugin:", "  #     some_setting: value"])
        elif key.default is None:
            lines.append("  # " + _entry(key.name, key.example))
        else:
            lines.append("  # " + _entry(key.name, key.default))
    text = "\n".join(lines) + "\n"
    _check_reads_back(text, values)
    return text


def _entry(name: str, value: Any) -> str:
    """One `name: value` line as PyYAML's emitter writes it (quoting, escapes: its business, not ours)."""
    from invoke.util import yaml

    line = yaml.safe_dump({name: value}, default_flow_style=False, allow_unicode=True, width=1_000_000, sort_keys=False)
    line = line.removesuffix("\n")
    if "\n" in line:  # a value YAML can only write over several lines: never one of ours
        raise ValueError(f"{name} cannot be written on one line")
    return line


def _printable(text: Any) -> str:
    """Text for a comment: control, format and line-separator characters written as escapes (`\\u2028`)."""
    import unicodedata

    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in str(text)
    )


def _check_reads_back(text: str, values: dict[str, Any]) -> None:
    """The written file must hold exactly the values set: anything else would be a key nobody chose."""
    from invoke.util import yaml

    loaded = yaml.safe_load(text)
    if loaded != {"babe": values}:
        raise RuntimeError(f"babe init would write settings it did not choose: {loaded!r}")


def _comment(text: str) -> list[str]:
    return ["", *("  # " + line for line in textwrap.wrap(text, width=96))]


def _deploy_notes(deploy: Any, platform: str = "mturk") -> list[str]:
    """The comment beside `target:` on what the page's deployMethod submits to, for this platform."""
    if deploy is None:
        return []
    source = deploy.source.name
    notes = [
        (f"  # From {_printable(source)}: experimentID {_printable(deploy.experiment_id)}, deployMethod "
        f"{_printable(deploy.deploy_method)},"),
        f"  #   serverAppURL {_printable(deploy.server_app_url)}.",
    ]
    method = _printable(deploy.deploy_method)
    if platform == "prolific":
        if method == PROLIFIC_METHOD:
            notes.append(
                f"  # deployMethod {method} sends participants to prolificURL: it must carry the study's completion code."
            )
        else:
            notes.append(f"  # deployMethod {method} is not Prolific's: {PROLIFIC_FIX}.")
    elif deploy.mturk_target:
        notes.append(
            f"  # deployMethod {method} submits to MTurk's {deploy.mturk_target}: set target: "
            f"{deploy.mturk_target} once the local run looks right."
        )
    elif method == PROLIFIC_METHOD and platform in PAGE_PLATFORMS:  # (Prolific's own was the first case)
        notes.append(
            f"  # deployMethod {method} submits no MTurk form: set platform: prolific to post a Prolific study, "
            "or change it before posting HITs."
        )
    else:
        notes.append(f"  # deployMethod {method} submits no MTurk form: change it before posting HITs.")
    return notes
