"""The hook context (`babe_tasks.context.HookContext`): what a hook may ask of the run, and the
read-only ledger (`babe_tasks.ledger.LedgerView`) behind `context.ledger`.

Through the real `babe` program on the local MTurk: the money the ledger reports is summed to the
cent from what the steps really booked, a hook naming `context` receives the run's, the hooks
talk to the step's own platform object, and no plugin builds a plugin manager of its own.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pluggy
import pytest

from babe_tasks.testing.experiment import write_plugin

from babe_tasks.context import HookContext
from babe_tasks.ledger import LedgerView
from babe_tasks.money import MTURK_PRICING
from babe_tasks.settings import Settings

D = Decimal
REPO = Path(__file__).resolve().parents[2]




def today() -> datetime:
    return datetime.now(UTC)


def test_the_ledger_sums_the_money_the_steps_booked_to_the_cent(babe, experiment, workers):
    # One HIT of 5 at $0.50 + $0.10 fee commits $3.00.
    assert babe("create", "--assignments", "5").code == 0
    workers(5)
    assert babe("approve").code == 0  # 5 × $0.60 spent
    with LedgerView(experiment) as view:
        first = view.assignments("exp1", "local")[0]
    paid = babe("bonus", "--worker", first.worker_id, "--assignment", first.assignment_id, "--amount", "1.05",
                "--reason", "Thanks", "--json")
    assert paid.code == 0, paid  # $1.05 + $0.21 fee
    assert babe("extend", "--assignments", "2").code == 0  # 2 × $0.60 more committed: the HIT now has 7

    with LedgerView(experiment) as view:
        money = view.money("exp1", "local", today().date(), UTC)
        totals = view.payment_totals("exp1", "local")
        assert totals == {"reward": D("2.50"), "fee": D("0.50"), "bonus": D("1.05"), "bonus_fee": D("0.21")}
        assert all(type(value) is Decimal for value in totals.values())
        assert view.bonuses_paid("local") == D("1.05")
        assert [(b.amount, b.fee, b.paid) for b in view.bonuses("local", "exp1")] == [(D("1.05"), D("0.21"), True)]
        (extension,) = view.extensions("local", "exp1")
        assert [(h.assignments_before, h.added, h.size_after) for h in extension.hits] == [(5, 2, 7)]
        assert view.extended("exp1", "local") == {extension.hits[0].hit_id: 2}
        assert view.spent(hit.hit_id for hit in view.hits("exp1", "local")) == D("4.26")
        assert view.experiments("local") == ["exp1"] and view.experiments("sandbox") == []
    assert money.committed == {"experiment": D("5.46"), "daily": D("5.46"), "total": D("5.46")}  # 3.00 + 1.26 + 1.20
    assert money.spent == {"experiment": D("4.26"), "daily": D("4.26"), "total": D("4.26")}  # 3.00 + 1.26
    assert money.elsewhere == {} and money.pricing is MTURK_PRICING
    assert money.committed["experiment"].as_tuple().exponent == -2  # cents, as booked: never a float


def test_a_folder_without_a_ledger_reads_as_empty_and_stays_without_one(tmp_path):
    with LedgerView(tmp_path) as view:
        assert view.hits("exp1", "local") == []
        assert view.money("exp1", "local", today().date(), UTC).committed == dict.fromkeys(
            ("experiment", "daily", "total"), D("0.00")
        )
        assert view.last_plan("exp1", "local", "mturk") is None
        assert view.completion_code("exp1") is None
    assert not (tmp_path / ".babe").exists()  # read-only: nothing created


PROBE = '''
import json
from pathlib import Path

from babe_tasks.plugins import hookimpl


@hookimpl
def babe_status(settings, context, status):
    ledger = context.ledger
    seen = {
        "type": type(context).__name__,
        "same_settings": context.settings is settings,
        "nouns": list(context.nouns),
        "currency": context.pricing.currency,
        "hits": [hit.hit_id for hit in ledger.hits(settings.experiment, settings.target)],
        "committed": str(ledger.money(settings.experiment, settings.target, __import__("datetime").date.today(),
                                      __import__("datetime").UTC).committed["experiment"]),
        "watching": context.watching,
    }
    with open(Path(settings.folder) / "context.jsonl", "a") as f:
        f.write(json.dumps(seen) + "\\n")


@hookimpl
def babe_after_create(result):
    pass  # a hook that names neither settings nor context still fires (`context` is never forced on one)
'''


def test_a_hook_naming_context_gets_the_runs(babe, experiment):
    write_plugin(experiment, "probe", PROBE)
    created = babe("create", "--assignments", "3", "--json")
    assert created.code == 0, created
    status = babe("status", "--json")
    assert status.code == 0, status
    (seen,) = [json.loads(line) for line in (experiment / "context.jsonl").read_text().splitlines()]
    assert seen == {
        "type": "HookContext",
        "same_settings": True,
        "nouns": ["HIT", "HITs"],
        "currency": "USD",
        "hits": [hit["hit_id"] for hit in created.json["hits"]],
        "committed": "1.80",
        "watching": False,
    }


PLATFORM_PROBE = '''
from babe_tasks.plugins import hookimpl

SEEN = []


@hookimpl
def babe_before_create(context, plan):
    SEEN.append(context.platform)
    SEEN.append(context.pricing)
'''


def test_the_hooks_talk_to_the_steps_own_platform(babe, experiment, monkeypatch):
    """`context.platform` inside a step is the object the step connected, not a second one."""
    from babe_mturk.platform import MTurkPlatform

    built: list[MTurkPlatform] = []
    connected: list[MTurkPlatform] = []
    real_init, real_connect = MTurkPlatform.__init__, MTurkPlatform.connect

    def init(self, *args, **kwargs):
        built.append(self)
        real_init(self, *args, **kwargs)

    def connect(self):
        connected.append(self)
        real_connect(self)

    monkeypatch.setattr(MTurkPlatform, "__init__", init)
    monkeypatch.setattr(MTurkPlatform, "connect", connect)
    assert babe("create", "--assignments", "3").code == 0
    without_probe = len(built)

    built.clear()
    connected.clear()
    write_plugin(experiment, "probe", PLATFORM_PROBE)
    assert babe("create", "--assignments", "3", "--again").code == 0
    assert len(built) == without_probe  # the probe's platform is no extra object
    import sys

    (module,) = [m for name, m in sys.modules.items() if name.endswith("_probe") and hasattr(m, "SEEN")]
    platform, pricing = module.SEEN
    assert platform in connected and pricing is MTURK_PRICING


def test_no_plugin_builds_a_plugin_manager_of_its_own(babe, lab_plugins, configure, workers, monkeypatch, receiver):
    """payment-cap (book, prices) and slack (pricing, approve's money) answer from the context: one
    plugin manager per command, however many hooks ask for the platform or the ledger."""
    made: list[object] = []
    real = pluggy.PluginManager.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(pluggy.PluginManager, "__init__", counting)
    lab_plugins("payment-cap", "slack")
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    configure(plugins={"payment-cap": {"experiment": "100.00", "daily": "50.00"}, "slack": {"timeout": 1}})
    for command in (("create", "--assignments", "3"), ("status",), ("cost",)):
        made.clear()
        run = babe(*command)
        assert run.code == 0, run
        assert len(made) == 1, f"babe {' '.join(command)} built {len(made)} plugin managers"
    workers(3)
    made.clear()
    assert babe("approve").code == 0
    assert len(made) == 1
    assert any("approved" in text.lower() for text in receiver.texts)


def test_watching_is_true_only_inside_a_watch_block():
    context = HookContext(Settings.build())
    assert context.watching is False
    with context.watch():
        assert context.watching is True
        with context.watch():
            assert context.watching is True
        assert context.watching is True
    assert context.watching is False


def test_a_platform_handed_over_is_the_contexts_until_the_block_ends(babe_experiment):
    settings = Settings.build()
    context = HookContext(settings)  # no plugin manager: nothing to build a platform with
    step_platform = object()
    with context.use_platform(step_platform):
        assert context.platform is step_platform
    with pytest.raises(RuntimeError, match="no plugin manager"):
        context.platform  # noqa: B018 - the property is the behaviour under test
    assert context.pricing is MTURK_PRICING  # MTurk's fees need no platform object
    assert context.nouns == ("HIT", "HITs")


PLUGIN_PACKAGES = sorted(path.name for path in (REPO / "plugins").iterdir() if path.is_dir() and path.name.startswith("babe_"))


def plugin_sources() -> list[Path]:
    """The plugins' own code; a local stand-in's (`*/local/`) keeps its own state files and is not a plugin's hook code."""
    return [
        path
        for package in PLUGIN_PACKAGES
        for path in sorted((REPO / "plugins" / package).rglob("*.py"))
        if "local" not in path.relative_to(REPO / "plugins" / package).parts[:-1]
    ]


def test_plugins_reach_the_run_only_through_the_context():
    """No second plugin manager, no SQLite of their own, no process-wide watch flag, no other plugin imported."""
    problems = []
    for path in plugin_sources():
        own = path.relative_to(REPO / "plugins").parts[0]
        text = path.read_text(encoding="utf-8")
        for pattern, why in (
            (r"\bplugin_manager\(", "builds a plugin manager"),
            (r"\bPluginManager\(", "builds a plugin manager"),
            (r"^\s*(import sqlite3|from sqlite3 )", "opens SQLite itself"),
            (r"\bwatching\(\)", "reads the process-wide watch flag"),
        ):
            if re.search(pattern, text, re.MULTILINE):
                problems.append(f"{path.relative_to(REPO)} {why}")
        for other in re.findall(r"^\s*(?:from|import)\s+(babe_\w+)", text, re.MULTILINE):
            if other in PLUGIN_PACKAGES and other != own:
                problems.append(f"{path.relative_to(REPO)} imports the plugin {other}")
    assert problems == []


def test_a_platform_the_context_built_is_closed_with_it(experiment, monkeypatch):
    """Outside a step (doctor's preflight, a listing) the context builds the platform itself, once, and closes it."""
    from babe_mturk.platform import MTurkPlatform

    from babe_tasks.plugins import plugin_manager

    closed: list[MTurkPlatform] = []
    real = MTurkPlatform.close
    monkeypatch.setattr(MTurkPlatform, "close", lambda self: (closed.append(self), real(self))[1])
    pm = plugin_manager(Settings.build())
    context = pm.context
    built = context.platform
    assert isinstance(built, MTurkPlatform) and context.platform is built  # built once
    context.close()
    assert closed == [built]
    context.close()  # idempotent
    assert closed == [built]


LOOPY = '''
from babe_tasks.plugins import hookimpl


@hookimpl
def babe_platform(settings, context):
    if settings.platform == "loopy":
        return context.platform  # the platform this very hook is to build
    return None
'''


def test_babe_platform_asking_for_the_context_platform_is_refused_by_name(babe, experiment):
    write_plugin(experiment, "loopy", LOOPY)
    run = babe("status", "--platform", "loopy", "--json")
    assert run.code == 3, run
    assert run.json["error"]["plugin"] == "loopy"
    assert "context.platform was asked for while babe_platform builds it" in run.json["error"]["message"]
