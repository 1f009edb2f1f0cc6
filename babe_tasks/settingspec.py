"""Every setting and per-run flag declared once: the source of flags, `--help`, defaults and docs.

A setting's `invoke.yaml` key, parser, default, `BABE_*` variable, flag, the tasks that take the
flag, its help in `babe TASK --help`, its comment in `babe init`'s invoke.yaml and its row in
docs/settings.md all live in its `Key` below. `taskkit.babe_task` builds each task's flags from
it (through invoke's own signature reading), `settings` layers and parses by it, and

    python -m babe_tasks.settingspec --write docs/settings.md   # (re)write the generated tables
    python -m babe_tasks.settingspec --check docs/settings.md   # exit 1 when they are out of date

keeps the page true (tests/framework/test_settingspec.py runs the check). So a new setting, or a
new task taking one, is one edit here, not five that drift.

Imported by `babe --list`: nothing heavy here or in `settingvalues` at import time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import configvalues, settingvalues
from .settingvalues import MAX_AUTO_APPROVE, MAX_LIFETIME, MIN_LIFETIME

#: The group of tasks with `@babe_task(common=True)`: every task that talks to the platform.
COMMON = "common"
#: The group of tasks with `@babe_task(spending=True)`: they spend money or cannot be undone.
SPENDING = "spending"
#: How a flag is given: a value (`--reward 0.50`), a switch that only turns the setting on
#: (`--masters`: a command line cannot say "false"), or a list (one item per repeated flag).
VALUE, SWITCH, LIST = "value", "switch", "list"
REGENERATE = "python -m babe_tasks.settingspec --write docs/settings.md"
#: The generated parts of docs/settings.md, each between its two marker lines.
PARTS = ("settings", "run flags")


@dataclass(frozen=True)
class Key:
    """One setting as the user meets it, everywhere: file key, parser, env var, flag, help, docs."""

    name: str
    default: Any
    #: (value, setting name, experiment folder) → the checked value, or UsageError.
    parse: Callable[[Any, str, Path], Any]
    #: Its comment in the invoke.yaml `babe init` writes (plain text).
    meaning: str
    #: Its meaning in docs/settings.md (Markdown).
    doc: str
    example: str = ""
    #: The default column of docs/settings.md when the default alone would not say it.
    shown_default: str | None = None
    #: The tasks whose flag sets it (`COMMON`: every task with the common flags); none: no flag.
    tasks: tuple[str, ...] = ()
    #: The flag's help in `babe TASK --help`, and another wording for a task where it means more.
    help: str = ""
    task_help: Mapping[str, str] = field(default_factory=dict)
    kind: str = VALUE
    env: bool = True
    #: The flag's parameter when it is not the key: a list takes one item per repeated flag
    #: (`qualifications` ← `--qualification A --qualification B`).
    flag_name: str | None = None
    #: Docs only: how the flag is given besides the tasks (`--state` on `local.*`).
    flag_note: str = ""

    @property
    def env_var(self) -> str | None:
        return f"BABE_{self.name.upper()}" if self.env else None

    @property
    def has_flag(self) -> bool:
        return bool(self.tasks)

    @property
    def parameter(self) -> str:
        """The task parameter (and so the flag, kebab-cased by invoke) that gives this setting."""
        return self.flag_name or self.name

    @property
    def flag(self) -> str | None:
        return key_flag(self.parameter) if self.has_flag else None

    def help_for(self, task: str) -> str:
        return self.task_help.get(task, self.help)


@dataclass(frozen=True)
class RunFlag:
    """A flag that describes one invocation: never read from files or the environment."""

    name: str
    help: str
    doc: str
    tasks: tuple[str, ...]
    task_help: Mapping[str, str] = field(default_factory=dict)

    @property
    def flag(self) -> str:
        return key_flag(self.name)

    def help_for(self, task: str) -> str:
        return self.task_help.get(task, self.help)


def key_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _ledgerdb() -> Any:
    from . import ledgerdb  # only when a ledger_url is parsed: sqlite3 stays out of `babe --list`

    return ledgerdb


def _member(value: Any, name: str) -> str | None:
    from .errors import UsageError

    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if len(text) > 64 or any(not ch.isprintable() for ch in text):
        raise UsageError(f"{name} {text[:64]!r} is not usable: 1 to 64 printable characters (a name, a login)")
    return text


def _hold_threshold(value: Any, name: str, folder: Path) -> int | None:
    """Unset (or empty) holds nothing for speed; a value is a duration like every other, at most the
    longest an assignment can last (no submission could be slower, so a higher one holds them all)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return settingvalues.duration(0, MAX_LIFETIME)(value, name, folder)


#: Every setting, in the order the docs and `babe init`'s invoke.yaml show them.
KEYS: tuple[Key, ...] = (
    Key(
        "experiment",
        None,
        settingvalues.experiment,
        meaning="Name of the experiment, written into every HIT's RequesterAnnotation and idempotency token; letters, digits, '.', '_', '-', at most 64. Default: the experiment folder's name.",
        doc="Name of the experiment, written into every HIT's RequesterAnnotation and idempotency token; 1–64 letters, digits, `.`, `_`, `-`.",
        example="my-experiment",
        shown_default="the folder's name, made safe",
        tasks=("init",),
        help="experiment name to write (default: the folder's name)",
    ),
    Key(
        "target",
        "local",
        settingvalues.target,
        meaning="Where HITs go: local (the platform's local server, e.g. the embedded MTurk: no money, no credentials), sandbox (MTurk), or live (real money).",
        doc="Where HITs go: `local` (the platform's local server — the embedded MTurk, or the local Prolific: no money, no credentials), `sandbox` (MTurk only), or `live` (real money).",
        example="sandbox",
        tasks=(COMMON,),
        task_help={"report": "the target whose HITs (studies on Prolific) are reported: local (default), sandbox or live"},
        help="local (default: the platform's local server), sandbox or live",
    ),
    Key(
        "endpoint_url",
        None,
        settingvalues.endpoint,
        meaning="Any server speaking the platform's API (e.g. `babe local.serve` for MTurk); the target still decides the Masters id, the preview host and the deployMethod preflight expects.",
        doc="Any server speaking the platform's API (e.g. one started by `babe local.serve` for MTurk, `babe-prolific serve` for Prolific). The target still decides the Masters id, the preview host and the deployMethod preflight expects.",
        example="http://127.0.0.1:8443",
        tasks=(COMMON,),
        help="any server speaking the platform's API, e.g. one started by `babe local.serve` (MTurk)",
    ),
    Key(
        "profile",
        None,
        settingvalues.optional_text,
        meaning="AWS profile for sandbox and live (standard boto3 credential chain otherwise).",
        doc="AWS profile for sandbox and live; without it the standard boto3 credential chain (`AWS_PROFILE`, `~/.aws/credentials`).",
        example="lab",
        tasks=(COMMON,),
        help="AWS profile for MTurk's sandbox and live",
    ),
    Key(
        "url",
        None,
        settingvalues.url,
        meaning="The experiment page workers open (HTTPS; http://localhost is allowed on target local).",
        doc="The experiment page workers open. HTTPS; `http://localhost` (or 127.0.0.1, ::1) is accepted on target `local` only.",
        example="https://example.org/my-experiment/",
        shown_default="none (create needs it)",
        tasks=("create",),
        help="the experiment page (https://; http://localhost is accepted on target local)",
    ),
    Key(
        "title",
        None,
        settingvalues.optional_text,
        meaning="Title shown to workers (the HIT's; the study's on Prolific), at most 128 characters.",
        doc="Title shown to workers (the HIT's; the study's on Prolific), at most 128 characters.",
        example="A 10-minute language study",
        shown_default="none (create needs it)",
        tasks=("create",),
        help="title shown to workers: the HIT's, or the study's on Prolific (at most 128 characters)",
    ),
    Key(
        "description",
        None,
        settingvalues.optional_text,
        meaning="Description shown to workers (the HIT's; the study's on Prolific), at most 2000 characters.",
        doc="Description shown to workers (the HIT's; the study's on Prolific), at most 2,000 characters.",
        example="Read sentences and answer questions.",
        tasks=("create",),
        help="description shown to workers (at most 2000 characters)",
    ),
    Key(
        "keywords",
        "",
        settingvalues.keywords,
        meaning="Comma-separated search keywords, at most 1000 characters.",
        doc="Comma-separated search keywords, at most 1,000 characters (a YAML list is joined).",
        example="language, psychology",
        tasks=("create",),
        help="comma-separated search keywords",
    ),
    Key(
        "reward",
        None,
        settingvalues.reward,
        meaning="Reward per assignment in the platform's currency (dollars on MTurk): digits with at most two decimals, no currency sign (quote it in YAML).",
        doc="Reward per assignment in the platform's currency (dollars on MTurk, the account's currency on Prolific): digits with at most two decimals, no currency sign (`0.50`, `2`). `$0.50`, `-1`, `0.123` are refused.",
        example="0.50",
        shown_default="none (create needs it)",
        tasks=("create", "cost"),
        help="reward per assignment in the platform's currency (dollars on MTurk), e.g. 0.50 (no currency sign)",
        task_help={"cost": "reward per assignment for --create, e.g. 0.50"},
    ),
    Key(
        "assignments",
        1,
        settingvalues.bounded(1, 1_000_000),
        meaning="Total number of assignments (participants) to post.",
        doc="Total number of assignments (participants) to post.",
        example="20",
        tasks=("create",),
        help="total number of assignments (participants)",
    ),
    Key(
        "batch_size",
        9,
        settingvalues.bounded(1, 1_000_000),
        meaning="Assignments per HIT: N assignments become ceil(N/batch_size) HITs of one HIT type. 9 avoids MTurk's 20% surcharge on HITs with 10 or more assignments. On Prolific one study holds every place.",
        doc="Assignments per HIT: N assignments become ceil(N / batch_size) HITs of one HIT type (one group for workers). 9 never pays MTurk's 20% surcharge for HITs with 10 or more assignments. On Prolific one study holds every place.",
        example="9",
        tasks=("create", "cost"),
        help="assignments per HIT (default 9: 10 or more costs MTurk's 20% surcharge; one study on Prolific)",
        task_help={"cost": "assignments per HIT for --create (default 9; one study on Prolific)"},
    ),
    Key(
        "lifetime",
        "7d",
        settingvalues.duration(MIN_LIFETIME, MAX_LIFETIME),
        meaning="How long the HITs stay open to workers (30s to 365d; s, m, h, d, w). Not used on Prolific: a study runs until stopped or full.",
        doc="How long the HITs stay open to workers, 30s to 365d. Not used on Prolific: a study runs until stopped or full.",
        example="3d",
        tasks=("create",),
        help="how long the HITs stay open, e.g. 7d, 36h (30s to 365d; not used on Prolific)",
    ),
    Key(
        "duration",
        "1h",
        settingvalues.duration(MIN_LIFETIME, MAX_LIFETIME),
        meaning="Time a worker has to finish one assignment (30s to 365d).",
        doc="Time a worker has to finish one assignment, 30s to 365d.",
        example="45m",
        tasks=("create",),
        help="time a worker has for one assignment, e.g. 45m",
    ),
    Key(
        "auto_approve",
        "3d",
        settingvalues.duration(0, MAX_AUTO_APPROVE),
        meaning="Delay after submission before MTurk approves an assignment by itself (0s to 30d).",
        doc="Delay after submission before MTurk approves an assignment by itself, 0s to 30d.",
        example="2d",
        tasks=("create",),
        help="delay before MTurk approves submitted work by itself, e.g. 3d (0s to 30d)",
    ),
    Key(
        "frame_height",
        0,
        settingvalues.bounded(0, None),
        meaning="ExternalQuestion frame height in pixels; 0 fits the worker's window.",
        doc="ExternalQuestion frame height in pixels; 0 fits the worker's window.",
        example="0",
        tasks=("create",),
        help="frame height in pixels; 0 (default) fits the worker's window",
    ),
    Key(
        "feedback",
        None,
        settingvalues.optional_text,
        meaning="Message to workers sent with approvals, at most 1024 characters.",
        doc="Message to workers sent with approvals, at most 1,024 characters.",
        example="Thank you for taking part!",
        tasks=("approve",),
        help="message to the workers with the approval (at most 1024 characters)",
    ),
    Key(
        "max_concurrency",
        16,
        settingvalues.bounded(1, 64),
        meaning="Most MTurk requests in flight at once for bulk steps (approve, reject, bonus, status, expire), 1 to 64.",
        doc="Most requests in flight at once in bulk steps (approve, reject, bonus, status, expire), 1 to 64. 16 keeps 1,000 approvals at 50 ms a round trip within 1.5× of the floor on 2 cores (docs/performance.md).",
        example="16",
    ),
    Key(
        "max_requests_per_second",
        None,
        settingvalues.optional_rate,
        meaning="Hard ceiling on MTurk requests per second across all threads of a step (retries included); none by default: botocore's adaptive retry mode already slows down when throttled.",
        doc="Hard ceiling on requests per second across all threads of a step, retries included (`20`, `0.5`). Unset, the retry back-off alone paces the calls, lengthening when most attempts are throttled (docs/reliability.md).",
        example="20",
    ),
    Key(
        "platform",
        "mturk",
        settingvalues.platform,
        meaning="Recruiting platform, provided by a plugin through babe_platform; mturk is built in, prolific is a plugin (docs/platforms.md).",
        doc="Recruiting platform, provided by a plugin through the `babe_platform` hook; `mturk` is built in, `prolific` is the plugin of that name ([platforms](platforms.md)). `babe init` writes `prolific` into a new invoke.yaml when the page's deployMethod is `Prolific`.",
        example="mturk",
        tasks=(COMMON,),
        task_help={"report": "the platform whose HITs (or studies) are reported: mturk (default) or one a plugin provides"},
        help="recruiting platform: mturk (built in, default) or one a plugin provides, e.g. prolific",
    ),
    Key(
        "strict_plugins",
        False,
        settingvalues.boolean,
        meaning="Make a plugin that fails to import or configure fatal (exit 2) instead of a warning.",
        doc="A plugin that fails to import or to configure is fatal (exit 2) instead of a warning.",
        example="true",
        tasks=(COMMON, "results", "plugins"),
        help="fail (exit 2) when a plugin cannot be imported or configured",
        kind=SWITCH,
    ),
    Key(
        "plugins",
        {},
        settingvalues.plugins,
        meaning="Per-plugin settings: babe.plugins.<plugin name>.<key>. Not read from the environment; BABE_PLUGINS / BABE_DISABLE_PLUGINS select plugins instead. Secrets never go here.",
        doc="Per-plugin settings, `babe.plugins.<plugin name>.<key>`. Only in `invoke.yaml`. Secrets never go here (environment variables or a file outside the repository).",
        env=False,
    ),
    Key(
        "locale",
        None,
        settingvalues.locales,
        meaning="Workers' locations (MTurk's Locale qualification): ISO 3166 country codes, or country-subdivision (US-NY), comma-separated or a YAML list; one value requires EqualTo, several In (at most 30).",
        doc="Workers' locations (MTurk's Locale qualification): ISO 3166 country codes (`US`, `CA`) or country-subdivision (`US-NY`), comma-separated, repeated flags or a YAML list. One value requires `EqualTo`, several `In` (at most 30). `usa` or `XX` is refused.",
        example="US,CA",
        tasks=("create",),
        help="workers' countries (ISO 3166), or country-subdivision: US,CA or US-NY (repeat or comma-separate)",
        kind=LIST,
    ),
    Key(
        "min_approval",
        None,
        settingvalues.optional_bounded(0, 100, " (a percentage)"),
        meaning="Lowest share of a worker's assignments that requesters approved, in percent (0 to 100; MTurk's PercentAssignmentsApproved).",
        doc="Lowest approval rate of a worker in percent, 0–100 (PercentAssignmentsApproved `GreaterThanOrEqualTo`).",
        example="95",
        tasks=("create",),
        help="lowest approval rate of a worker, in percent (0 to 100)",
    ),
    Key(
        "min_approved",
        None,
        settingvalues.optional_bounded(0, None),
        meaning="Fewest approved HITs a worker must have (MTurk's NumberHITsApproved).",
        doc="Fewest approved HITs of a worker (NumberHITsApproved `GreaterThanOrEqualTo`).",
        example="500",
        tasks=("create",),
        help="fewest approved HITs of a worker (MTurk)",
    ),
    Key(
        "masters",
        False,
        settingvalues.boolean,
        meaning="Require Masters (the target's Masters id: live and sandbox differ); MTurk charges 5% of the reward more.",
        doc="Require Masters: the target's id (live and sandbox differ; the local MTurk knows both). Adds MTurk's 5% Masters fee to the cost.",
        example="true",
        tasks=("create", "cost"),
        help="only Masters workers (MTurk charges 5% more)",
        task_help={"cost": "with --create: require Masters (5% more)"},
        kind=SWITCH,
    ),
    Key(
        "qualifications",
        None,
        settingvalues.qualification_specs,
        meaning="More QualificationRequirements as ID:Comparator:Values (Values comma-separated; none for Exists/DoesNotExist). A YAML list, or `;`-separated in the environment. At most 10 requirements per HIT, with those above.",
        doc="Other requirements as `ID:Comparator:Values`: ID a qualification type id or `Locale`, `NumberHITsApproved`, `PercentAssignmentsApproved`, `Adult`; Comparator one of MTurk's ten; Values comma-separated (none for `Exists`/`DoesNotExist`). A YAML list, or `;`-separated in the environment. Together with the keys above, Masters and the experiment's own type: at most 10 per HIT.",
        example="00000000000000000060:EqualTo:1",
        tasks=("create",),
        help="another requirement as ID:Comparator:Values, e.g. 00000000000000000060:EqualTo:1 (repeat the flag)",
        kind=LIST,
        flag_name="qualification",
    ),
    Key(
        "allow_repeat_workers",
        False,
        settingvalues.boolean,
        meaning="Let one worker take several HITs of the experiment. By default create requires DoesNotExist on the experiment's own qualification type, granted to every worker status and approve see, and approve holds all but a repeat worker's first assignment.",
        doc="Let one worker take several HITs of the experiment. By default `create` requires `DoesNotExist` on the experiment's own qualification type, `status` and `approve` grant it to every worker they see, and `approve` holds all but a repeat worker's first assignment.",
        example="true",
        tasks=("create", "approve", "review"),
        help="let a worker take several HITs (studies on Prolific) of the experiment (default: once per experiment)",
        task_help={
            "approve": "approve every assignment of a repeat worker, not only the first",
            "review": "do not hold a repeat worker's later assignments (the page may approve them)",
        },
        kind=SWITCH,
    ),
    Key(
        "hold_faster_than",
        None,
        _hold_threshold,
        meaning="Hold back at approve (and show on babe review) a submission done faster than this, accept to submit, e.g. 2m for a 10-minute study (0s to 365d); unset or 0: nothing is held for speed.",
        doc="`approve` holds a submission done faster than this, accept to submit, with the reason `too fast: 40s (threshold 2m)`; a submission whose times the platform does not give is never held for speed. Unset or `0`: nothing is held for speed. At most 365d.",
        example="2m",
        shown_default="none (nothing held for speed)",
        tasks=("approve", "review"),
        help="hold submissions done faster than this, accept to submit, e.g. 2m (default: none held for speed)",
        task_help={"review": "show as held (and keep from approval) submissions done faster than this, e.g. 2m"},
    ),
    Key(
        "exclude_previous",
        False,
        settingvalues.boolean,
        meaning="Keep out every worker of earlier experiments (those named by exclude_experiments, default all earlier ones in the ledger): create grants them this experiment's qualification type before posting.",
        doc="Keep out every worker of earlier experiments: `create` grants them the experiment's type before posting.",
        example="true",
        tasks=("create",),
        help="keep out every worker of earlier experiments (default all earlier ones in the ledger)",
        kind=SWITCH,
    ),
    Key(
        "exclude_experiments",
        None,
        settingvalues.experiments,
        meaning="The earlier experiments whose workers exclude_previous keeps out (comma-separated or a YAML list); naming any turns exclude_previous on.",
        doc="Which earlier experiments `exclude_previous` keeps out; naming any turns it on. An experiment unknown here (no HITs in this ledger, no qualification type of it on the target) is refused.",
        example="pilot-1,pilot-2",
        shown_default="none (all earlier ones in the ledger)",
        tasks=("create",),
        help="keep out the workers of this earlier experiment (repeat the flag, or comma-separate)",
        kind=LIST,
        flag_name="exclude_experiment",
    ),
    Key(
        "local_state",
        None,
        settingvalues.path,
        meaning="SQLite file of the local MTurk (shared by every experiment of the user). Default: the user's data directory. The local.* tasks take it as --state.",
        doc="SQLite file of the local MTurk. It belongs to the person, like an MTurk account, and is shared by every experiment. A relative path is relative to the experiment folder.",
        example="~/localturk.sqlite",
        shown_default="the user's data directory",
        flag_note="`--state` on `local.*`",
    ),
    Key(
        "ledger_url",
        None,
        lambda value, name, folder: _ledgerdb().parse_url(value, name, folder),
        meaning="The lab's shared ledger on PostgreSQL (postgresql://[user@]host[:port]/database); empty: this folder's own .babe/ledger.sqlite. Keep the password out of this file: use ~/.pgpass or BABE_LEDGER_URL.",
        doc="The lab's shared ledger on PostgreSQL, `postgresql://[user@]host[:port]/database` ([lab](lab.md)); empty: the folder's own `.babe/ledger.sqlite`. Any other scheme is refused. A password in it is never printed (messages show the URL without it); better kept in `~/.pgpass` or the environment than in `invoke.yaml`.",
        example="postgresql://lab@lab-db/babe",
        shown_default="none (the folder's SQLite ledger)",
    ),
    Key(
        "member",
        None,
        lambda value, name, folder: _member(value, name),
        meaning="Who the ledger's rows say did it (plans, HITs, approvals, payments, bonuses). Default: the operating system's user name.",
        doc="Who every row the ledger writes (plans, HITs, approvals, payments, bonuses, rejections, extensions) says did it; in a lab's shared ledger, the member. 1–64 characters.",
        example="ada",
        shown_default="the OS user name",
    ),
)
KEY_BY_NAME: dict[str, Key] = {key.name: key for key in KEYS}

#: The per-run flags, in the order the docs show them (`folder` is `Settings.build`'s, no flag).
RUN_FLAGS: tuple[RunFlag, ...] = (
    RunFlag(
        "json",
        "print one JSON document on stdout (everything else goes to stderr)",
        "Print one JSON document on stdout; everything else goes to stderr (see `docs/cli.md`).",
        (COMMON,),
    ),
    RunFlag(
        "yes",
        "do not ask for confirmation (needed on live without a terminal)",
        "Do not ask for confirmation (needed on `live` without a terminal).",
        (SPENDING,),
    ),
    RunFlag(
        "dry_run",
        "show what would be done and what it would cost; do nothing",
        "Show what would be done and what it would cost; do nothing.",
        (SPENDING,),
        task_help={"reject": "list what would be rejected; reject nothing"},
    ),
    RunFlag(
        "again",
        "post a second batch beside the experiment's HITs (without it, a create of an experiment that has HITs is "
        "refused, and the same create posts nothing)",
        "Post a second batch beside the experiment's HITs: without it, the same create posts nothing.",
        ("create",),
    ),
)
RUN_FLAG_BY_NAME: dict[str, RunFlag] = {flag.name: flag for flag in RUN_FLAGS}
#: What `collection()` installs as the `babe` configuration section.
DEFAULTS: dict[str, Any] = {key.name: key.default for key in KEYS}


@dataclass(frozen=True)
class TaskFlag:
    """One flag a task gets from the declarations: its parameter, default, help, and what it sets."""

    parameter: str
    default: Any
    help: str
    #: The setting it gives (`Settings.build` keyword); None for a per-run flag (passed as it is).
    setting: str | None
    kind: str


def task_flags(task: str, groups: Sequence[str] = ()) -> list[TaskFlag]:
    """The flags `task` takes by declaration: those naming it, and those of its `groups` (`COMMON`, `SPENDING`)."""
    wanted = {task, *groups}
    flags = [
        TaskFlag(key.parameter, False if key.kind == SWITCH else None, key.help_for(task), key.name, key.kind)
        for key in KEYS
        if wanted & set(key.tasks)
    ]
    flags += [TaskFlag(flag.name, False, flag.help_for(task), None, SWITCH) for flag in RUN_FLAGS if wanted & set(flag.tasks)]
    return flags


def declared_help(task: str) -> dict[str, str]:
    """Help for every declared flag by parameter name: a task that takes one as a plain parameter
    (e.g. `report`'s `--target`) still shows the declared words."""
    helps = {key.parameter: key.help_for(task) for key in KEYS if key.help or key.task_help}
    helps.update({flag.name: flag.help_for(task) for flag in RUN_FLAGS})
    return helps


def flag_value(flag: TaskFlag, value: Any) -> Any:
    """What a flag's value means to `Settings.build`: None is "not given", so the files and
    `BABE_*` show through; an unset switch is not given (it can only turn a setting on)."""
    if flag.kind == SWITCH:
        return value or None
    if flag.kind == LIST:
        return list(value) if value else None
    return value


# -- docs/settings.md ---------------------------------------------------------------------------------
def _default_cell(key: Key) -> str:
    if key.shown_default is not None:
        return key.shown_default
    if key.default is None:
        return "none"
    if isinstance(key.default, bool):
        return f"`{str(key.default).lower()}`"
    if key.default == "":
        return '`""`'
    return f"`{key.default}`"


def _tasks_text(tasks: Sequence[str]) -> str:
    groups = {COMMON: "every lifecycle task", SPENDING: "every spending task"}
    return ", ".join(groups.get(task, task) for task in tasks)


def tasks_in(group: str) -> list[str]:
    """The collection's tasks in a group (`COMMON`, `SPENDING`), as `babe_task` marked them."""
    from .tasks import collection

    ns = collection()
    return sorted(name for name in ns.task_names if group in getattr(ns[name].body, "babe_groups", ()))


def _flag_cell(key: Key) -> str:
    if not key.has_flag:
        return f"none{f' ({key.flag_note})' if key.flag_note else ''}"
    repeat = ", repeat it" if key.kind == LIST else ""
    return f"`{key.flag}` ({_tasks_text(key.tasks)}{repeat})"


def begin(part: str) -> str:
    return f"<!-- generated part {part!r}: edit babe_tasks/settingspec.py, then run {REGENERATE} -->"


def end(part: str) -> str:
    return f"<!-- end of generated part {part!r} -->"


def render(part: str) -> str:
    """One generated part of docs/settings.md, its marker lines included."""
    if part == "settings":
        lines = ["| key | environment | flag | default | meaning |", "|---|---|---|---|---|"]
        for key in KEYS:
            env = f"`{key.env_var}`" if key.env_var else "none"
            lines.append(f"| `{key.name}` | {env} | {_flag_cell(key)} | {_default_cell(key)} | {key.doc} |")
        true_words = "/".join(f"`{word}`" for word in configvalues.TRUE_WORDS)
        false_words = "/".join(f"`{word}`" for word in configvalues.FALSE_WORDS)
        lines += [
            "",
            "Durations are whole seconds or a human form: `90`, `90s`, `45m`, `2h`, `7d`, `1w`, `1h30m`, `1d 12h`.",
            (
                f"Booleans, in the environment, `invoke.yaml` and every shipped plugin's section: {true_words} and "
                f"{false_words}, in any letter case; empty means the default."
            ),
        ]
    elif part == "run flags":
        lines = ["| flag | tasks | meaning |", "|---|---|---|"]
        for flag in RUN_FLAGS:
            lines.append(f"| `{flag.flag}` | {_tasks_text(flag.tasks)} | {flag.doc} |")
        lines += [
            "",
            (
                f"The lifecycle tasks (`common=True`): {', '.join(f'`{name}`' for name in tasks_in(COMMON))}. "
                f"The spending ones (`spending=True`): {', '.join(f'`{name}`' for name in tasks_in(SPENDING))}."
            ),
        ]
    else:
        raise ValueError(f"no generated part {part!r}: the parts are {', '.join(PARTS)}")
    return "\n".join([begin(part), "", *lines, "", end(part)]) + "\n"


def update(page: str) -> str:
    """`page` with each generated part replaced by today's; ValueError when a part's markers are missing."""
    for part in PARTS:
        start, stop = page.find(begin(part)), page.find(end(part))
        if start < 0 or stop < start:
            raise ValueError(f"no generated part {part!r}: put the lines {begin(part)!r} and {end(part)!r} where it goes")
        page = page[:start] + render(part) + page[page.index("\n", stop) + 1 :]
    return page


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m babe_tasks.settingspec [--write PATH | --check PATH]`; returns the exit code.

    0: written (or up to date); 1: (--check) the page differs; 2: a page that cannot be read,
    written, or has no generated part. Without an option the tables go to stdout.
    """
    parser = argparse.ArgumentParser(
        prog="python -m babe_tasks.settingspec", description="The settings tables of docs/settings.md, from the declarations."
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PATH", help="rewrite the generated part of PATH")
    group.add_argument("--check", metavar="PATH", help="exit 1 unless the generated part of PATH is today's")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        sys.stdout.write("\n".join(render(part) for part in PARTS))
        return 0
    path = Path(args.write or args.check)
    try:
        current = path.read_text(encoding="utf-8")
        page = update(current)
    except (OSError, ValueError) as exc:
        print(f"error: {path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    if args.check:
        if page != current:
            print(f"error: {path} is out of date with babe_tasks/settingspec.py: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({len(KEYS)} settings, {len(RUN_FLAGS)} per-run flags)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
