"""The common flags are declared once (`taskkit.COMMON_FLAGS`) and every task that takes --target has them all."""

from __future__ import annotations

import pytest

from babe_tasks import collection
from babe_tasks.taskkit import COMMON_FLAGS, babe_task


def _flags(task) -> set[str]:
    return {name for argument in task.get_arguments() for name in argument.names}


def test_every_task_with_a_target_takes_every_common_flag():
    ns = collection()
    # `lab --target` filters the lab's ledger (every target by default): a view, not a run on one target.
    with_target = {name: ns[name] for name in ns.task_names if "target" in _flags(ns[name]) and name != "lab"}
    assert {"create", "status", "approve", "expire", "extend", "reject", "bonus", "cost", "watch", "doctor", "report"} <= set(with_target)
    for name, task in with_target.items():
        assert "platform" in _flags(task), name
        if name != "report":  # report reads the ledger only: no endpoint, profile or plugins to be strict about
            assert {flag.replace("_", "-") for flag, _ in COMMON_FLAGS} <= _flags(task), name


def test_the_common_flags_reach_the_body_with_their_defaults():
    @babe_task(common=True)
    def probe(c, hit=None, **common):
        """A probe."""
        return hit, common

    assert probe.body(None, hit="H1", json=True) == ("H1", {"json": True})
    defaults = {argument.name: argument.default for argument in probe.get_arguments()}
    assert defaults == {"hit": None, "json": False, "target": None, "endpoint_url": None, "profile": None,
                        "platform": None, "strict_plugins": False}


def test_a_task_that_declares_a_common_flag_itself_is_a_mistake_seen_at_import():
    def twice(c, target=None, **common):
        """Declares target although common=True adds it."""

    with pytest.raises(TypeError, match="declares target itself"):
        babe_task(common=True)(twice)

    def closed(c, hit=None):
        """No **common to receive the flags."""

    with pytest.raises(TypeError, match="needs a \\*\\*common parameter"):
        babe_task(common=True)(closed)


def test_every_task_that_spends_or_cannot_be_undone_takes_yes_and_dry_run_from_one_list():
    from babe_tasks.taskkit import SPENDING_FLAGS

    ns = collection()
    for name in ("create", "approve", "extend", "reject", "bonus"):
        assert {flag.replace("_", "-") for flag, _ in SPENDING_FLAGS} <= _flags(ns[name]), name
    for name in ("status", "expire", "cost", "doctor"):
        assert "dry-run" not in _flags(ns[name]), name

    @babe_task(common=True, spending=True)
    def probe(c, **common):
        """A probe."""
        return common

    defaults = {argument.name: argument.default for argument in probe.get_arguments()}
    assert (defaults["yes"], defaults["dry_run"]) == (False, False)
    with pytest.raises(TypeError, match="yes"):
        babe_task(common=True, spending=True)(lambda c, yes=False, **common: None)
