"""payment-cap: caps on the money a lab can commit — per experiment, per calendar day and month, in total.

Before `create`, `extend` and `bonus` touch the platform, the plugin adds what the step would
commit to what the ledger shows as committed already (`book`), and vetoes the step when that
crosses a cap (`caps`), twice: early (`babe_before_<step>`, so the answer comes before the
prompt) and exactly (`babe_before_commit`, inside the transaction that writes the commitment down
under the ledger's spending lock, so two members of a lab can never both take the last $10).
The veto names the numbers: `payment-cap: this create commits $151.20; the experiment
cap is $400.00 and $312.00 is already committed ($88.00 left); …` — exit 3, nothing posted, no
bonus sent. On `live` it also refuses a create that costs more than the account's balance.
`babe status` and `babe cost` show each cap and what is left (`payment_caps`).

Caps are amounts in the run's platform currency: each ledger row is priced by the platform it
was posted on, and only commitments in the run's currency count (`book`, `prices`). The run's
pricing comes from the hook arguments (`plan.pricing`, `status.pricing`, `report.pricing`, the
`pricing` of `babe_before_bonus`).

Nothing happens until `babe.plugins.payment-cap` exists in `invoke.yaml` (see `config`). The
plugin uses only babe-tasks' public API: `hookimpl`, `Veto`, `Settings.plugin_settings`, the hook
arguments and the hook `context` — its read-only ledger (`context.ledger`, or the transaction's
view `babe_before_commit` hands over), its platform
(the account balance) and other platforms' fees (`context.pricing_for`) — plus
`babe_tasks.commitments` and `babe_tasks.money`. It builds no plugin manager and opens no file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babe_tasks.plugins import hookimpl

from . import book as _book
from . import caps as _caps
from . import config as _config
from .balance import account_balance
from .prices import Prices

__all__ = ["describe_config"]

ZERO = Decimal("0.00")


def describe_config(settings: Any) -> dict[str, Any] | None:
    """This plugin's configuration for a listing (`babe plugins`); None when it is not configured."""
    caps = _config.load(settings)
    return caps.describe() if caps is not None else None


@hookimpl
def babe_describe(settings):
    """The configuration `babe plugins` lists (secrets redacted)."""
    return describe_config(settings)


def _book_of(context: Any, caps: _config.CapSettings, pricing: Any = None) -> _book.Book:
    """The run's book; `pricing` is the run's platform's as the hook got it (None: asked of the platform)."""
    return _book.book(context, caps.zone, Prices(context, pricing))


@hookimpl
def babe_configure(settings):
    """Check the section once per run: a wrong cap is refused (exit 2) before anything happens."""
    _config.load(settings)


@hookimpl
def babe_before_create(settings, context, plan):
    """Veto a create that would cross a cap, or (live) cost more than the account balance.

    A create that resumes an unfinished plan commits only the HITs not posted yet: the others are
    in the ledger's committed money already.
    """
    caps = _config.load(settings)
    if caps is None:
        return
    posted = _book.already_posted(context, plan)
    amount = sum(
        (
            _book.hit_commitment(plan.reward, hit.assignments, plan.uses_masters, plan.pricing)
            for hit in plan.hits
            if hit.index not in posted
        ),
        ZERO,
    )
    if amount <= 0:
        return
    if caps.caps():
        _caps.check(caps, _book_of(context, caps, plan.pricing), amount, "create")
    if caps.check_balance and settings.target == "live":
        _caps.check_balance(amount, account_balance(context), settings.target, plan.pricing)


@hookimpl
def babe_before_extend(settings, context, plan):
    """Veto an extension that would cross a cap.

    A resumed extension is in the ledger already (its added assignments count from the moment it
    was written, the new HITs of its `--split` from the moment their plan was), so it commits nothing new.
    """
    caps = _config.load(settings)
    if caps is None or not caps.caps():
        return
    amount = ZERO if plan.resumed else Decimal(plan.cost.total)
    if amount > 0:
        _caps.check(caps, _book_of(context, caps, plan.pricing), amount, "extend")


@hookimpl
def babe_before_bonus(settings, context, payments, pricing):
    """Veto bonuses that would cross a cap. Payments an earlier run left unconfirmed are committed already.

    Each payment's `fee` is the platform's already; the book is priced with the run's `pricing`.
    """
    caps = _config.load(settings)
    if caps is None or not caps.caps():
        return
    amount = sum((p.total for p in payments if not p.resumed), ZERO)
    if amount > 0:
        _caps.check(caps, _book_of(context, caps, pricing), amount, "bonus")


@hookimpl
def babe_before_commit(settings, context, step, amount, ledger):
    """The exact check: `ledger` is read inside the write that records the commitment, under the
    lab-wide spending lock, so what it sums is every commitment made before this one — by any
    member, on any machine — and none can slip in before this one is written or vetoed."""
    caps = _config.load(settings)
    if caps is None or not caps.caps() or amount <= 0:
        return
    _caps.check(caps, _book.book(context, caps.zone, Prices(context, context.pricing), ledger=ledger), Decimal(amount), step)


@hookimpl
def babe_status(settings, context, status):
    caps = _config.load(settings)
    if caps is None or not caps.caps():
        return None
    return {"payment_caps": _caps.report(caps, _book_of(context, caps, status.pricing))}


@hookimpl
def babe_cost(settings, context, report):
    """Each cap and what is left; for a create, extend or bonus also what would be left after it."""
    caps = _config.load(settings)
    if caps is None or not caps.caps():
        return None
    kind = getattr(report, "kind", None)
    amount = Decimal(report.total) if kind in ("create", "extend", "bonus") else None
    return {"payment_caps": _caps.report(caps, _book_of(context, caps, report.pricing), amount)}
