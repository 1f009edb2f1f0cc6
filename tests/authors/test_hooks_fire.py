"""Every hook in babe_tasks/hookspecs.py fires, through the real `babe` program on the local MTurk.

One table, one row per hook: what to set up, the command that must fire it, its exit code, and
what each argument must be. The plugin that watches is generated from the specs themselves — one
function per hook, with the spec's own arguments, marked `tryfirst` so a firstresult hook
(`babe_platform`, `babe_fetch_results`) reaches it before another plugin answers — and writes what
it received to `hooks.jsonl`. A hook added to hookspecs.py without a row here fails
`test_every_hook_has_a_row`; a row whose command does not fire its hook fails its own test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from babe_tasks.hookref import hooks

REASON = "Did not follow the instructions"


def observer_source() -> str:
    """A plugin implementing every hook in hookspecs.py, logging each call's arguments."""
    lines = [
        "import json, pathlib",
        "from babe_tasks import hookimpl",
        "LOG = pathlib.Path(__file__).parent.parent / 'hooks.jsonl'",
        "",
        "def describe(value):",
        "    if value is None or isinstance(value, (bool, int, float, str)):",
        "        return value",
        "    if isinstance(value, pathlib.PurePath):",
        "        return {'type': 'Path', 'name': value.name}",
        "    if isinstance(value, (list, tuple)):",
        "        return {'type': 'list', 'of': sorted({type(v).__name__ for v in value}), 'len': len(value)}",
        "    return {'type': type(value).__name__}",
        "",
        "def log(hook, **arguments):",
        "    with open(LOG, 'a') as f:",
        "        f.write(json.dumps({'hook': hook, 'arguments': {k: describe(v) for k, v in arguments.items()}}) + '\\n')",
    ]
    for hook in hooks():
        arguments = ", ".join(hook.argnames)
        passed = ", ".join(f"{name}={name}" for name in hook.argnames)
        lines += ["", "@hookimpl(tryfirst=True)", f"def {hook.name}({arguments}):", f"    log({hook.name!r}, {passed})"]
    return "\n".join(lines) + "\n"


#: A plugin that answers `babe_fetch_results` with a small CSV, so `babe results` completes.
CSV_SOURCE = """
from babe_tasks import hookimpl

@hookimpl
def babe_fetch_results(settings, destination):
    destination.write_text("submission_id,response\\n1,yes\\n2,no\\n")
    return destination
"""

#: A plugin that stops every create.
GATE = """
from babe_tasks import Veto, hookimpl

@hookimpl
def babe_before_create(settings, plan):
    raise Veto("the lab's budget is spent")
"""


@dataclass
class World:
    """What a row's setup and command work with."""

    experiment: Any
    run: Callable[..., Any]
    workers: Any
    values: dict[str, str] = field(default_factory=dict)

    def post(self, assignments: int = 3) -> None:
        created = self.run("create", "--assignments", str(assignments), "--json")
        assert created.code == 0, created
        self.values["hit"] = created.json["hits"][0]["hit_id"]

    def submit(self, workers: int = 2) -> None:
        self.post()
        report = self.workers.work(workers=workers, seed=7)
        assert len(report["submitted"]) == workers, report
        self.values["assignment"] = report["submitted"][0]
        self.values["worker"] = report["workers"][0]
        status = self.run("status")  # the ledger learns who did which assignment
        assert status.code == 0, status


def nothing(world: World) -> None:
    pass


def _type(name: str) -> dict:
    return {"type": name}


def _list(of: str, length: int) -> dict:
    return {"type": "list", "of": [of], "len": length}


#: Every hook gets the run's settings and its hook context (`babe_tasks.context.HookContext`).
SETTINGS = {"settings": _type("Settings"), "context": _type("HookContext")}


@dataclass
class Row:
    command: tuple[str, ...]
    arguments: dict[str, Any]
    setup: Callable[[World], None] = nothing
    code: int = 0
    #: How often the hook fires in the command: exactly this many times, or None for at least once.
    times: int | None = 1


CREATE = ("create", "--assignments", "3", "--json")
APPROVE = ("approve", "--json")
EXPIRE = ("expire", "--json")
REJECT = ("reject", "--assignment", "{assignment}", "--reason", REASON, "--yes", "--json")
BONUS = ("bonus", "--worker", "{worker}", "--assignment", "{assignment}", "--amount", "1.00", "--reason", "Thanks", "--json")
EXTEND = ("extend", "--assignments", "2", "--json")
WATCH = ("watch", "--goal", "2", "--interval", "1s", "--until", "2m", "--json")

ROWS: dict[str, Row] = {
    "babe_configure": Row(("status", "--json"), SETTINGS),
    "babe_platform": Row(("status", "--json"), SETTINGS, times=None),
    "babe_before_create": Row(CREATE, {**SETTINGS, "plan": _type("Plan")}),
    "babe_after_create": Row(CREATE, {**SETTINGS, "plan": _type("Plan"), "result": _type("CreateResult")}),
    "babe_before_approve": Row(APPROVE, {**SETTINGS, "assignments": _list("AssignmentInfo", 2)}, World.submit),
    "babe_after_approve": Row(APPROVE, {**SETTINGS, "result": _type("ApproveResult")}, World.submit),
    "babe_before_expire": Row(EXPIRE, {**SETTINGS, "hit_ids": _list("str", 1)}, World.post),
    "babe_after_expire": Row(EXPIRE, {**SETTINGS, "result": _type("ExpireResult")}, World.post),
    "babe_before_reject": Row(REJECT, {**SETTINGS, "assignments": _list("AssignmentInfo", 1)}, World.submit),
    "babe_after_reject": Row(REJECT, {**SETTINGS, "result": _type("RejectResult")}, World.submit),
    "babe_before_bonus": Row(
        BONUS, {**SETTINGS, "payments": _list("Payment", 1), "pricing": _type("MTurkPricing")}, World.submit
    ),
    "babe_after_bonus": Row(BONUS, {**SETTINGS, "result": _type("BonusResult")}, World.submit),
    "babe_before_extend": Row(EXTEND, {**SETTINGS, "plan": _type("ExtendPlan")}, World.post),
    "babe_after_extend": Row(EXTEND, {**SETTINGS, "result": _type("ExtendResult")}, World.post),
    "babe_vetoed": Row(
        CREATE,
        {**SETTINGS, "step": "create", "plugin": "gate", "message": "the lab's budget is spent"},
        lambda world: world.experiment.write_plugin("gate", GATE),
        code=3,
    ),
    "babe_cost": Row(("cost", "--json"), {**SETTINGS, "report": _type("CostReport")}),
    "babe_milestone": Row(WATCH, {**SETTINGS, "milestone": _type("Milestone"), "status": _type("StatusResult")}, World.submit, times=None),
    "babe_status": Row(("status", "--json"), {**SETTINGS, "status": _type("StatusResult")}, World.post),
    "babe_describe": Row(("plugins", "--json"), SETTINGS),
    "babe_fetch_results": Row(
        ("results", "--json"),
        {**SETTINGS, "destination": {"type": "Path", "name": "<the results file being written>"}},
        lambda world: world.experiment.write_plugin("answers", CSV_SOURCE),
    ),
    "babe_preflight": Row(("doctor", "--json"), SETTINGS),
    "babe_doctor": Row(("doctor", "--json"), SETTINGS),
    "babe_before_commit": Row(CREATE, {**SETTINGS, "step": "create", "amount": _type("Decimal"), "ledger": _type("LedgerView")}),
    "babe_review_data": Row(("review", "--print", "--json"), {**SETTINGS, "assignments": _list("AssignmentInfo", 2)}, World.submit),
}


def logged(experiment) -> list[dict]:
    path = experiment / "hooks.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_hook_has_a_row():
    specs = [hook.name for hook in hooks()]
    assert [name for name in specs if name not in ROWS] == [], "add a row to ROWS for each new hook: how to fire it"
    assert [name for name in ROWS if name not in specs] == [], "these rows are for hooks hookspecs.py no longer has"


def test_the_observer_implements_every_hook(babe_experiment, babe_run):
    babe_experiment.write_plugin("observer", observer_source())
    listing = babe_run("plugins", "--json")
    (observer,) = [p for p in listing.json["plugins"] if p["name"] == "observer"]
    assert observer["status"] == "loaded", observer
    assert observer["hooks"] == sorted(hook.name for hook in hooks())


@pytest.mark.parametrize("hook", list(ROWS))
def test_the_hook_fires(hook, babe_experiment, babe_run, babe_workers):
    row = ROWS[hook]
    world = World(babe_experiment, babe_run, babe_workers)
    row.setup(world)
    babe_experiment.write_plugin("observer", observer_source())  # after the setup: only the command is watched

    command = tuple(part.format(**world.values) for part in row.command)
    run = babe_run(*command)

    assert run.code == row.code, run
    calls = [entry["arguments"] for entry in logged(babe_experiment) if entry["hook"] == hook]
    if row.times is None:
        assert calls, f"{hook} did not fire in `babe {' '.join(command)}`"
    else:
        assert len(calls) == row.times, f"{hook} fired {len(calls)} time(s) in `babe {' '.join(command)}`, not {row.times}"
    expected = dict(row.arguments)
    if hook == "babe_fetch_results":  # a hidden temporary name, different every run
        name = calls[0]["destination"]["name"]
        assert name.startswith(f".{babe_experiment.name}-") and name.endswith(".part"), name
        expected["destination"] = {"type": "Path", "name": name}
    for arguments in calls:
        assert arguments == expected
