"""cost: what something will cost, to the cent, before it is done — and what the experiment cost so far.

Four questions, one report shape (`CostReport`):
- `create`: the HITs the settings would post — batched exactly as `create` batches them
  (`planning`), each assignment's fee (20%, at least $0.01) rounded once as MTurk does, the 20%
  surcharge of HITs with 10 or more assignments, Masters' 5%;
- `extend`: the extension engineer EXCLUSION's `steps.extend.plan` would make (its `cost`);
- `bonus`: a bonus file — every row checked as `bonus` checks its format, each payment's fee
  (20%, at least $0.01), and what the ledger shows as paid already (not paid again);
- `experiment`: spent (the ledger's payments: rewards, fees, bonuses and their fees) and
  committed — what the posted HITs may still cost (one GetHIT per HIT that is not gone: work
  submitted or in progress, and open slots of HITs still open; the same number `status` shows)
  plus bonuses whose outcome is not confirmed yet.
Every figure is priced by the platform's `pricing` (MTurk's rules above unless another platform
is chosen; `vat` appears when the platform charges it). Nothing is spent and nothing is changed on the platform. `babe_cost` plugins add fields (a payment
cap shows its room); their failures are warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import money, output
from ..planning import Cost, Plan
from ..platform.base import capabilities_of, pricing_of
from ..plugins import collect
from . import (
    chosen_hits,
    concurrently,
    first_error,
    hit_id_of,
    nouns_for,
    pricing_for,
    session,
    vanished,
)

ZERO = Decimal("0.00")
#: Keys of the report a plugin may not take over.
RESERVED = ("kind", "total", "committed", "spent")


@dataclass
class CostReport:
    """What is being costed (`kind`), its money in display order (`parts`), and the total.

    For `kind == "experiment"`, `spent` and `committed` are set and `total` is their sum: the most
    the experiment will have cost when every open slot is filled and approved. `extra` holds what
    `babe_cost` plugins returned.
    """

    kind: str
    total: Decimal
    parts: dict[str, Any] = field(default_factory=dict)
    committed: Decimal | None = None
    spent: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: The platform's fee rules and currency (`money.Pricing`): what text output shows money in.
    pricing: Any = field(default=money.MTURK_PRICING, repr=False)
    #: What the platform calls a HIT, singular and plural (`output.count`): text only, not in the JSON.
    nouns: tuple[str, str] = field(default=output.MTURK_NOUNS, repr=False)

    def as_json(self) -> dict:
        document: dict[str, Any] = {"kind": self.kind, **self.parts}
        if self.kind == "experiment":
            document["spent"] = self.spent
            document["committed"] = self.committed
        document["total"] = self.total
        document.update(self.extra)
        return document


def cost_parts(cost: Cost) -> dict[str, Any]:
    """A `planning.Cost` as report parts: assignments, rewards, each fee (VAT when charged), all fees."""
    parts = {
        "assignments": cost.assignments,
        "rewards": cost.rewards,
        "commission": cost.commission,
        "surcharge": cost.surcharge,
        "masters": cost.masters,
    }
    if cost.vat:
        parts["vat"] = cost.vat
    parts["fees"] = cost.fees
    return parts


# -- the four questions ------------------------------------------------------------------------------
def of_create(settings, pm=None) -> CostReport:
    """The HITs `create` would post with these settings: only `reward` is needed, not the page or texts.

    Qualification requirements other than Masters cost nothing, so they are not planned here;
    `babe create --dry-run` shows the plan as the before-create plugins leave it. With `pm`, the
    settings' platform prices it (`pricing_for`, no call); without, MTurk's rules.
    """
    reward = settings.require("reward")
    pricing = pricing_for(settings, pm) if pm is not None else money.MTURK_PRICING
    nouns = nouns_for(settings, pm) if pm is not None else output.MTURK_NOUNS
    plan = Plan(
        experiment=settings.experiment,
        target=settings.target,
        url=settings.url or "",
        title=settings.title or "",
        description=settings.description or "",
        keywords=settings.keywords or "",
        reward=reward,
        assignments=settings.assignments,
        batch_size=settings.batch_size,
        lifetime=settings.lifetime,
        duration=settings.duration,
        auto_approve=settings.auto_approve,
        masters=bool(getattr(settings, "masters", False)),
        platform=settings.platform,
        pricing=pricing,
    )
    plan.rebatch()
    cost = plan.cost
    parts = {"reward": plan.reward, "hits": [hit.assignments for hit in plan.hits], **cost_parts(cost)}
    return CostReport("create", cost.total, parts, pricing=pricing, nouns=nouns)


def of_extend(settings, pm, **extension: Any) -> CostReport:
    """The extension `steps.extend.plan(settings, pm, **extension)` would make, and its cost."""
    from . import extend

    plan = extend.plan(settings, pm, **extension)
    new_hits = [hit.assignments for hit in plan.new_hits.hits if hit.hit_id is None] if plan.new_hits else []
    parts = {"hits": [hit.as_json() for hit in plan.hits], "new_hits": new_hits, **cost_parts(plan.cost)}
    return CostReport("extend", plan.cost.total, parts, pricing=plan.pricing, nouns=plan.nouns)


def of_bonus_file(settings, path, pm=None) -> CostReport:
    """A bonus file's payments and fees; those the ledger shows as paid are counted apart (not paid again).

    With `pm`, the settings' platform's bonus fee and id shapes (no call); without, MTurk's fee and
    ids checked loosely.
    """
    from ..ledger import Ledger
    from ..platform import Capabilities, capabilities_for
    from .bonus import bonus_token, read_csv

    rows = read_csv(path, capabilities_for(settings, pm) if pm is not None else Capabilities(title=settings.platform))
    pricing = pricing_for(settings, pm) if pm is not None else money.MTURK_PRICING
    with Ledger.of(settings) as ledger:
        paid = [
            row
            for row in rows
            if any(
                attempt.paid
                for attempt in ledger.bonus_attempts(
                    bonus_token(settings.experiment, row.worker_id, row.assignment_id, row.amount, row.reason)
                )
            )
        ]
    todo = [row for row in rows if row not in paid]
    bonuses = sum((row.amount for row in todo), ZERO)
    fees = sum((pricing.bonus_fee(row.amount) for row in todo), ZERO)
    parts = {
        "payments": len(todo),
        "bonuses": bonuses,
        "fees": fees,
        "already_paid": len(paid),
        "already_paid_total": sum((row.amount + pricing.bonus_fee(row.amount) for row in paid), ZERO),
    }
    return CostReport("bonus", bonuses + fees, parts, pricing=pricing)


def of_experiment(settings, pm) -> CostReport:
    """Spent (from the ledger) and committed (one GetHIT per HIT not gone, plus unconfirmed bonuses)."""
    with session(settings, pm) as (platform, ledger):
        paid = ledger.payment_totals(settings.experiment, settings.target)
        nouns = capabilities_of(platform).nouns
        hits = chosen_hits(settings, ledger, None, nouns=nouns)
        now = platform.now()
        pricing = pricing_of(platform)
        outcomes = concurrently(settings, lambda hit: _still_payable(platform, hit_id_of(hit), now), hits)
        outcomes = [outcome for outcome in outcomes if not vanished(settings, ledger, outcome, nouns)]
        first_error(outcomes)
        open_rewards = sum((o.value[0] for o in outcomes), ZERO)
        open_fees = sum((o.value[1] for o in outcomes), ZERO)
        sending = [b for b in ledger.bonuses(settings.experiment, settings.target) if not b.paid]
        unconfirmed = sum((b.amount + b.fee for b in sending), ZERO)
    spent = sum(paid.values(), ZERO)
    committed = open_rewards + open_fees + unconfirmed
    parts = {
        "hits": len(hits),
        "rewards_paid": paid["reward"],
        "fees_paid": paid["fee"],
        "bonuses_paid": paid["bonus"],
        "bonus_fees_paid": paid["bonus_fee"],
        "rewards_committed": open_rewards,
        "fees_committed": open_fees,
        "bonuses_unconfirmed": unconfirmed,
    }
    return CostReport(
        "experiment", spent + committed, parts, committed=committed, spent=spent, pricing=pricing, nouns=nouns
    )


def _still_payable(platform, hit_id: str, now) -> tuple[Decimal, Decimal]:
    """(rewards, fees) one HIT may still cost: work submitted or in progress, and its open slots.

    On MTurk available + pending + submitted + approved + rejected = MaxAssignments and
    completed = approved + rejected, so GetHIT alone gives the submitted-but-unreviewed count.
    """
    info = platform.get_hit(hit_id)
    submitted = max(0, info.max_assignments - info.available - info.pending - info.completed)
    count = submitted + info.pending + (info.available if info.is_open(now) else 0)
    fee = pricing_of(platform).assignment_fee(info.reward, info.max_assignments, info.masters)
    return info.reward * count, fee * count


# -- plugins ---------------------------------------------------------------------------------------
def with_plugins(settings, pm, report: CostReport) -> CostReport:
    """Let `babe_cost` plugins add fields; a non-dict answer or a taken key is a warning."""
    for plugin, fields in collect(pm, "babe_cost", settings=settings, report=report):
        if not isinstance(fields, dict):
            report.warnings.append(f"plugin {plugin}: babe_cost returned {type(fields).__name__}, not a dict; ignored")
            output.warn(report.warnings[-1])
            continue
        for key, value in fields.items():
            if key in RESERVED or key in report.parts or key in report.extra:
                report.warnings.append(f"plugin {plugin}: cost field {key!r} is taken; ignored")
                output.warn(report.warnings[-1])
            else:
                report.extra[key] = value
    return report
