"""The experiment's create settings, remembered: the ledger's last plan of the experiment.

`babe create --url … --title … --reward 0.50 --assignments 20` is how the README starts an
experiment, and flags live nowhere afterwards: `babe doctor` then said "url is not set", and a later
`babe create` needed every flag again. Every create already writes its parameters into the ledger
(the `plans` table, before any call), so that is where they are kept: no second copy to drift
from what was posted, and `babe doctor` shows where each came from.

The rule: when the settings lack what create needs (url, title, description or reward: not in
invoke.yaml, the environment or a flag), every create setting still at its default is taken from
the experiment's newest plan on this target and platform. invoke.yaml, `BABE_*` and flags win
over the ledger (a value equal to the default counts as not given). A lab that wants the settings
in view writes them under `babe:` in invoke.yaml; the ledger is the memory of what was posted.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from ..errors import UsageError
from ..ledger import LedgerUnavailable, LedgerView

#: What create needs and has no default for: missing any of these is when the ledger is read.
REQUIRED = ("url", "title", "description", "reward")
#: The plan parameters that are settings of the same name (qualification requirements and the
#: exclusion flags are not restored: they change who may work, and stay the lab's to state).
REMEMBERED = (*REQUIRED, "keywords", "assignments", "batch_size", "lifetime", "duration", "auto_approve", "frame_height")


def last_create(settings) -> tuple[dict, float] | None:
    """The parameters and creation time of the experiment's newest plan on this target and platform."""
    try:
        with LedgerView.of(settings) as ledger:
            plan = ledger.last_plan(settings.experiment, settings.target, settings.platform)
    except LedgerUnavailable:
        return None  # a ledger another command reports on
    return (plan.parameters, plan.created_at) if plan is not None else None


def fill(settings) -> tuple[object, list[str], float | None]:
    """The settings with create's missing values from the ledger; the names filled and the plan's time."""
    if all(getattr(settings, name) not in (None, "") for name in REQUIRED):
        return settings, [], None
    found = last_create(settings)
    if found is None:
        return settings, [], None
    parameters, created_at = found
    defaults = {f.name: f.default for f in fields(settings)}
    changes = {
        name: parameters[name]
        for name in REMEMBERED
        if parameters.get(name) not in (None, "") and getattr(settings, name) in (None, "", defaults.get(name))
    }
    try:
        filled = settings.replace(**changes)
    except UsageError:
        return settings, [], None  # values an older babe accepted and this one refuses: not taken
    changed = [name for name in changes if getattr(filled, name) != getattr(settings, name)]
    if not changed:
        return settings, [], None
    return filled, changed, created_at


def source_note(filled: list[str], created_at: float | None) -> str:
    """Where the filled values came from, for doctor and create (empty when nothing was filled)."""
    if not filled or created_at is None:
        return ""
    when = datetime.fromtimestamp(created_at, UTC).strftime("%Y-%m-%d %H:%MZ")
    return f"{', '.join(filled)} from the experiment's last create ({when}, in the ledger)"
