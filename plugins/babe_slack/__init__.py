"""slack: one message in the lab's Slack channel per lifecycle step, through an incoming webhook.

What is announced: a `create` (HITs, assignments, cost, preview link), HITs that `status` sees fill
up or expire (once per change), an `approve` (counts, money paid, what was held back and why),
`reject`, `bonus`, `extend`, `expire`, and any step a plugin vetoed. Which of these is chosen with
`babe.plugins.slack.events`; nothing at all happens until `babe.plugins.slack` exists in
`invoke.yaml`. The webhook URL comes from `BABE_SLACK_WEBHOOK` (or `webhook_env` / `webhook_file`)
and is never printed, logged or written anywhere (see `config` and `post`).

A notification never stops or slows a step beyond the timeout (≤ 5 s): a Slack that is down, slow
or answering an error makes the after-hook raise `WebhookFailed`, which babe prints as one warning
line naming the plugin while the step's work and exit code stand.

Amounts are in the platform's currency and fees carry its name (`messages`, `pricing`).

The plugin uses only babe-tasks' public API: `hookimpl`, `Settings.plugin_settings`, the hook
arguments and the hook `context` (its read-only ledger, the platform's pricing, `watching`),
`babe_tasks.money` and `babe_tasks.pluginstate` (its own file of announced states).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babe_tasks.errors import BabeError
from babe_tasks.plugins import hookimpl

from . import config as _config
from . import messages, seen
from .config import SlackConfig, WebhookMissing
from .post import WebhookFailed, post
from .pricing import run_pricing

__all__ = ["SlackConfig", "WebhookFailed", "WebhookMissing", "describe_config"]


def describe_config(settings: Any) -> dict[str, Any] | None:
    """This plugin's configuration for a listing (`babe plugins`), the webhook redacted; None if unused."""
    return _config.describe(settings)


@hookimpl
def babe_describe(settings):
    """The configuration `babe plugins` lists (secrets redacted)."""
    return describe_config(settings)


def _send(cfg: SlackConfig, message: messages.Message | None) -> None:
    if message is not None:
        post(cfg, message.payload())


def _active(settings: Any, event: str) -> SlackConfig | None:
    """The configuration if this event is to be announced (never for dry runs), else None."""
    if getattr(settings, "dry_run", False):
        return None
    cfg = _config.load(settings)
    return cfg if cfg is not None and cfg.wants(event) else None


@hookimpl
def babe_configure(settings):
    """Check the section once per run: bad settings exit 2, a missing webhook skips the plugin with a warning."""
    _config.load(settings)


@hookimpl
def babe_after_create(settings, plan, result):
    cfg = _active(settings, "create")
    if cfg is not None and not getattr(result, "dry_run", False):
        _send(cfg, messages.created(settings, plan, result))


@hookimpl
def babe_status(settings, status):
    """Announce HITs newly filled or expired; contributes no status fields."""
    cfg = _active(settings, "status")
    if cfg is None:
        return
    seen.announce_changes(
        settings, status.hits, lambda changes: _send(cfg, messages.hit_changes(settings, changes, status))
    )
    return


@hookimpl
def babe_after_approve(settings, context, result):
    cfg = _active(settings, "approve")
    if cfg is None or getattr(result, "dry_run", False) or context.watching:
        return  # a watch announces milestones instead: one message per milestone, not per poll
    try:
        pricing = run_pricing(context, result)
    except BabeError:  # the fees cannot be read now: the message goes out without amounts
        _send(cfg, messages.approved(settings, result, None, None))
        return
    paid_now, spent = _approve_money(context, result, pricing)
    _send(cfg, messages.approved(settings, result, paid_now, spent, pricing))


def _approve_money(context: Any, result: Any, pricing: Any) -> tuple[Decimal | None, Decimal | None]:
    """What this approve paid (reward + the platform's fee of each assignment approved now) and the
    experiment's spending on this platform (another platform's money may be another currency).

    From the ledger, which approve has just written, priced as approve books it; HITs it does not
    know (posted by another tool) make the amount unknown rather than wrong.
    """
    settings, ledger = context.settings, context.ledger
    paid_now: Decimal | None = Decimal("0.00")
    for assignment in getattr(result, "assignments", []) or []:
        record = ledger.hit(assignment.hit_id)
        if record is None:
            paid_now = None
            break
        paid_now += record.reward + pricing.assignment_fee(record.reward, record.max_assignments, record.masters)
    hits = ledger.hits(settings.experiment, settings.target, getattr(settings, "platform", None) or "mturk")
    spent = ledger.spent(hit.hit_id for hit in hits) if hits else None
    return paid_now, spent


@hookimpl
def babe_after_reject(settings, result):
    cfg = _active(settings, "reject")
    if cfg is not None and not _field_dry_run(result):
        _send(cfg, messages.rejected(settings, result))


@hookimpl
def babe_after_bonus(settings, result):
    cfg = _active(settings, "bonus")
    if cfg is not None and not _field_dry_run(result):
        _send(cfg, messages.bonused(settings, result))


@hookimpl
def babe_after_extend(settings, result):
    cfg = _active(settings, "extend")
    if cfg is not None and not _field_dry_run(result):
        _send(cfg, messages.extended(settings, result))


@hookimpl
def babe_after_expire(settings, result):
    """Announce the expiry, and remember those HITs as expired so `status` does not announce them again.

    Only once the message went out: if it did not (or `expire` is not among the events), the next
    `status` announces the expiry instead.
    """
    cfg = _active(settings, "expire")
    if cfg is None:
        return
    _send(cfg, messages.expired(settings, result))
    expired_ids = list(getattr(result, "expired", []) or [])
    if expired_ids:
        seen.mark(settings, expired_ids, "expired")


@hookimpl
def babe_milestone(settings, milestone, status):
    cfg = _active(settings, "milestone")
    if cfg is not None:
        _send(cfg, messages.milestone(settings, milestone, status))


@hookimpl
def babe_vetoed(settings, step, plugin, message):
    cfg = _active(settings, "veto")
    if cfg is not None:
        _send(cfg, messages.vetoed(settings, step, plugin, message))


def _field_dry_run(result: Any) -> bool:
    return bool(getattr(result, "dry_run", False))
