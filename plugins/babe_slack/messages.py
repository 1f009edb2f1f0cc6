"""The Slack messages: one per step, short enough to read in a channel, built from the step's result.

Each builder takes what the hook received and returns a `Message` — or None when the step did
nothing worth a message (an `approve` with nothing to approve, a `status` with nothing new). Text
is Slack mrkdwn: `*bold*`, `` `ids` ``, `<url|links>`; anything that came from people (titles,
reasons, plugin messages) is escaped, so a `<` in a rejection reason cannot turn into a mention.
Long lists stop after `LIST_LIMIT` items with "… and N more": one message per step, never one per
assignment.

Results are read through the attributes their steps define (`steps.create.CreateResult`,
`steps.approve.ApproveResult`, `steps.reject.RejectResult`, `steps.bonus.BonusResult`,
`steps.extend.ExtendResult`, `steps.expire.ExpireResult`), as the hook specs hand them over.

Money is shown in the platform's currency (`money.shown` with its `money.Pricing`: `$0.50` on
MTurk, `£0.50` on a Prolific account in pounds) and fees are named after the platform that
charges them ("MTurk fees", "Prolific fees", VAT shown when the platform charges it). Each
builder gets the pricing from what its hook received: the plan (`create`), the result
(`bonus`, `extend`), the status (`milestone`); `approved` is handed it by the hook.

Times are only those that are true: where a platform's HITs do not expire by time (Prolific: a
study runs until stopped or full), the step's results carry no expiry for an open one, so
`created` has no "Open until" line, and a study that closed before filling "stopped" rather than
"expired" (`status.expires_by_time`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babe_tasks import money
from babe_tasks.plugins import DEFAULT_PLATFORM

#: Items listed per kind before "… and N more".
LIST_LIMIT = 10
#: Slack refuses a section block longer than 3000 characters.
SECTION_LIMIT = 3000


@dataclass
class Message:
    """A headline, detail lines, and the context line (experiment, target) under them."""

    headline: str
    lines: list[str] = field(default_factory=list)
    context: str = ""

    @property
    def text(self) -> str:
        """The plain fallback Slack shows in notifications, and what tests read."""
        return "\n".join([self.headline, *self.lines, *([self.context] if self.context else [])])

    def payload(self) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [_section(self.headline)]
        if self.lines:
            blocks.append(_section("\n".join(self.lines)))
        if self.context:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": self.context}]})
        return {"text": self.text, "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def escape(text: Any) -> str:
    """Slack's three control characters, escaped as its docs require."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: How platforms are written in a sentence; any other is written as its setting (`babe.platform`).
PLATFORM_NAMES = {"mturk": "MTurk", "prolific": "Prolific"}


def dollars(value: Any, pricing: Any = None) -> str:
    """An amount with the platform's currency symbol (MTurk's `$` when no pricing is given)."""
    return money.shown(Decimal(str(value)), pricing)


def platform_name(settings: Any) -> str:
    name = str(getattr(settings, "platform", None) or "mturk")
    return escape(PLATFORM_NAMES.get(name, name))


def fees_text(settings: Any, cost: Any, pricing: Any) -> str:
    """`MTurk fees $2.00`, or with a VAT share: `Prolific fees £3.60 (VAT £0.60 included)`."""
    text = f"{platform_name(settings)} fees {dollars(cost.fees, pricing)}"
    vat = getattr(cost, "vat", None)
    if vat:
        text += f" (VAT {dollars(vat, pricing)} included)"
    return text


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def nouns(result: Any) -> tuple[str, str]:
    """What the platform calls a HIT, as the step's result says it (("study", "studies") on Prolific)."""
    return tuple(getattr(result, "nouns", None) or ("HIT", "HITs"))  # type: ignore[return-value]


def listed(items: list[str]) -> list[str]:
    """Bullet lines, at most LIST_LIMIT, then how many more."""
    lines = [f"• {item}" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(f"• … and {len(items) - LIST_LIMIT} more")
    return lines


def context(settings: Any) -> str:
    """Under every message: the experiment, the platform (when it is not the default one) and the target."""
    platform = str(getattr(settings, "platform", None) or DEFAULT_PLATFORM)
    where = "" if platform == DEFAULT_PLATFORM else f" · platform {platform_name(settings)}"
    return f"babe-tasks · experiment {escape(settings.experiment)}{where} · target {escape(settings.target)}"


def _who(settings: Any) -> str:
    return f"*{escape(settings.experiment)}*"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%MZ") if value is not None else "-"


def _with_reasons(items: list[dict], key: str, why: str) -> list[str]:
    return [f"`{escape(item.get(key))}` — {escape(item.get(why, ''))}" for item in items or []]


# -- create ---------------------------------------------------------------------------------------
def created(settings: Any, plan: Any, result: Any) -> Message | None:
    hits = list(result.hits)
    posted = [hit for hit in hits if hit.hit_id]
    if not posted:
        return None
    cost, pricing = plan.cost, plan.pricing
    one, many = nouns(result)
    headline = (
        f":rocket: {_who(settings)} is on *{escape(settings.target)}*: {plural(len(posted), one, many)}, "
        f"{plural(sum(h.assignments for h in posted), 'assignment')} at {dollars(plan.reward, pricing)}"
    )
    cost_line = (
        f"Cost if all approved: *{dollars(cost.total, pricing)}* "
        f"(rewards {dollars(cost.rewards, pricing)} + {fees_text(settings, cost, pricing)})"
    )
    lines = [cost_line]
    if len(posted) < len(hits):
        lines.append(
            f":warning: only {len(posted)} of {len(hits)} {many} are posted — run `babe create` again to post the rest"
        )
    elif getattr(result, "resumed", False):
        lines.append(f"Resumed an unfinished create: {plural(result.posted_now, one, many)} posted now, the rest earlier")
    lines.append(f"{many[:1].upper()}{many[1:]}: " + ", ".join(f"`{h.hit_id}` ({h.assignments})" for h in posted[:LIST_LIMIT])
                 + (f", … and {len(posted) - LIST_LIMIT} more" if len(posted) > LIST_LIMIT else ""))
    # None where the platform's HITs do not expire by time (`PostedHit.expires_at`): no line then.
    expiry = max((h.expires_at for h in posted if h.expires_at is not None), default=None)
    if expiry is not None:
        lines.append(f"Open until {_when(expiry)}")
    previews = sorted({h.preview_url for h in posted if h.preview_url})
    for url in previews[:1]:
        lines.append(f"<{url}|Preview the HIT as workers see it>")
    return Message(headline, lines, context(settings))


# -- status: HITs that filled up or expired --------------------------------------------------------
def hit_changes(settings: Any, changes: list[tuple[Any, str]], status: Any) -> Message | None:
    """`changes` are (HitStatus, new state) for HITs whose state changed to filled or expired.

    A HIT closed before filling "expired" on MTurk; where HITs do not expire by time
    (`status.expires_by_time` False, Prolific) it was stopped, and the message says so."""
    if not changes:
        return None
    filled = [hit for hit, state in changes if state == "filled"]
    expired = [hit for hit, state in changes if state == "expired"]
    closed = "expired" if getattr(status, "expires_by_time", True) else "stopped"
    parts = []
    one, many = nouns(status)
    if filled:
        parts.append(f"{plural(len(filled), one, many)} filled")
    if expired:
        parts.append(f"{plural(len(expired), one, many)} {closed}")
    headline = f":bar_chart: {_who(settings)} on *{escape(settings.target)}*: {' and '.join(parts)}"
    items = [f"`{h.hit_id}` filled — all {h.max_assignments} assignments submitted" for h in filled]
    items += [
        f"`{h.hit_id}` {closed} with {h.submitted + h.approved + h.rejected} of {h.max_assignments} assignments in"
        for h in expired
    ]
    lines = listed(items)
    totals = status.totals
    arrived = totals["submitted"] + totals["approved"] + totals["rejected"]
    expected = sum(h.max_assignments for h in status.hits)
    summary = f"Now {arrived} of {expected} assignments are in; {totals['submitted']} wait for review"
    if totals["submitted"]:
        summary += " — `babe approve`"
    lines.append(summary)
    return Message(headline, lines, context(settings))


# -- approve --------------------------------------------------------------------------------------
def approved(
    settings: Any, result: Any, paid_now: Decimal | None, spent: Decimal | None, pricing: Any = None
) -> Message | None:
    """`paid_now` and `spent` are in the platform's currency (`pricing`; None: MTurk's)."""
    held, failed = list(result.held or []), list(result.failed or [])
    if not (result.approved or held or failed):
        return None
    headline = f":white_check_mark: {_who(settings)} on *{escape(settings.target)}*: approved {plural(result.approved, 'assignment')}"
    if paid_now is not None and result.approved:
        headline += f", paid {dollars(paid_now, pricing)} (rewards and fees)"
    lines = []
    if result.already_approved:
        lines.append(f"{plural(result.already_approved, 'assignment')} had been approved already")
    if held:
        lines.append(f"Held back {len(held)} (left Submitted):")
        lines += listed(_with_reasons(held, "assignment_id", "reason"))
    if failed:
        lines.append(f":warning: {len(failed)} failed — run `babe approve` again:")
        lines += listed(_with_reasons(failed, "assignment_id", "error"))
    if spent is not None:
        lines.append(f"Spent on this experiment so far: {dollars(spent, pricing)}")
    return Message(headline, lines, context(settings))


# -- reject ---------------------------------------------------------------------------------------
def rejected(settings: Any, result: Any) -> Message | None:
    """From `steps.reject.RejectResult`: rejected (assignments), already rejected (ids), held, failed."""
    done = [a.assignment_id for a in result.rejected]
    held, failed = list(result.held or []), list(result.failed or [])
    if not (done or held or failed):
        return None
    headline = f":no_entry_sign: {_who(settings)} on *{escape(settings.target)}*: rejected {plural(len(done), 'assignment')}"
    lines = []
    if done:
        lines.append(f"Reason given to the workers: “{escape(result.reason)}”")
    lines += listed([f"`{escape(i)}`" for i in done])
    if result.already_rejected:
        lines.append(f"{plural(len(result.already_rejected), 'assignment')} had been rejected already")
    if held:
        lines.append(f"Held back {len(held)}:")
        lines += listed(_with_reasons(held, "assignment_id", "reason"))
    if failed:
        lines.append(f":warning: {len(failed)} failed — run `babe reject` again:")
        lines += listed(_with_reasons(failed, "assignment_id", "error"))
    return Message(headline, lines, context(settings))


# -- bonus ----------------------------------------------------------------------------------------
def bonused(settings: Any, result: Any) -> Message | None:
    """From `steps.bonus.BonusResult`: paid, already paid, held (Payments), failed ((Payment, error))."""
    paid, held, failed = list(result.paid), list(result.held or []), list(result.failed or [])
    if not (paid or held or failed):
        return None
    pricing = result.pricing

    def cash(value: Any) -> str:
        return dollars(value, pricing)

    headline = (
        f":gift: {_who(settings)} on *{escape(settings.target)}*: paid {plural(len(paid), 'bonus', 'bonuses')}, "
        f"{cash(result.total)} with fees"
    )
    lines = listed([f"`{escape(p.worker_id)}` {cash(p.amount)} — {escape(p.reason)}" for p in paid])
    if result.already_paid:
        lines.append(f"{plural(len(result.already_paid), 'bonus', 'bonuses')} had been paid already (not paid twice)")
    if held:
        lines.append(f"Held back {len(held)} by a plugin:")
        lines += listed([f"`{escape(p.worker_id)}` {cash(p.amount)}" for p in held])
    if failed:
        lines.append(f":warning: {len(failed)} failed — run the same `babe bonus` again (nothing is paid twice):")
        lines += listed([f"`{escape(p.worker_id)}` {cash(p.amount)} — {escape(error)}" for p, error in failed])
    return Message(headline, lines, context(settings))


# -- extend ---------------------------------------------------------------------------------------
def extended(settings: Any, result: Any) -> Message | None:
    """From `steps.extend.ExtendResult`: HITs extended (ids; their changes in `plan.hits`), new HITs, failed."""
    changes = {hit.hit_id: hit for hit in result.plan.hits}
    done = list(result.extended)
    posted = [hit for hit in result.new_hits if hit.hit_id]
    failed = list(result.failed or [])
    if not (done or posted or failed):
        return None
    parts = []
    if done:
        parts.append(f"extended {plural(len(done), *nouns(result.plan))}")
    if posted:
        parts.append(f"posted {plural(len(posted), 'new HIT')} in the same group")
    headline = f":arrows_clockwise: {_who(settings)} on *{escape(settings.target)}*: {' and '.join(parts) or 'extend failed'}"
    items = []
    for hit_id in done:
        change = changes.get(hit_id)
        detail = []
        if change is not None and change.add:
            detail.append(f"+{plural(change.add, 'assignment')} (now {change.assignments_after})")
        if change is not None and change.expires_at is not None:
            detail.append(f"open until {_when(change.expires_at)}")
        items.append(f"`{escape(hit_id)}` " + ", ".join(detail))
    items += [f"`{escape(hit.hit_id)}` new, {hit.assignments} assignments" for hit in posted]
    lines = listed(items)
    if result.cost.total:
        lines.append(f"Commits up to {dollars(result.cost.total, result.plan.pricing)} more if all is approved")
    if failed:
        lines.append(f":warning: {len(failed)} failed — run the same `babe extend` again:")
        lines += listed([f"`{escape(item.get('hit_id') or 'new HITs')}` — {escape(item.get('error', ''))}" for item in failed])
    return Message(headline, lines, context(settings))


# -- expire ---------------------------------------------------------------------------------------
def expired(settings: Any, result: Any) -> Message | None:
    done = list(result.expired or [])
    deleted = list(getattr(result, "deleted", []) or [])
    not_deleted = list(getattr(result, "not_deleted", []) or [])
    failed = list(getattr(result, "failed", []) or [])
    if not (done or deleted or not_deleted or failed):
        return None
    parts = [f"expired {plural(len(done), *nouns(result))}"]
    if deleted:
        parts.append(f"deleted {len(deleted)}")
    headline = f":stop_sign: {_who(settings)} on *{escape(settings.target)}*: {', '.join(parts)}"
    lines = listed([f"`{escape(i)}`" for i in done])
    if done:
        lines.append("Workers who already accepted may still submit until their time runs out")
    if not_deleted:
        lines.append(f"Not deleted {len(not_deleted)}:")
        lines += listed(_with_reasons(not_deleted, "hit_id", "reason"))
    if failed:
        lines.append(f":warning: {len(failed)} failed — run `babe expire` again:")
        lines += listed(_with_reasons(failed, "hit_id", "error"))
    return Message(headline, lines, context(settings))


# -- milestones (babe watch) ---------------------------------------------------------------------
def milestone(settings: Any, reached: Any, status: Any) -> Message:
    """One message per milestone of a watched experiment, with where the experiment stands."""
    headline = f":triangular_flag_on_post: {_who(settings)} on *{escape(settings.target)}*: {escape(reached.text)}"
    totals = status.totals
    open_hits = sum(1 for hit in status.hits if hit.status in ("Assignable", "Unassignable"))
    lines = [
        (
            f"{totals['submitted']} waiting for review, {totals['pending']} being worked on, "
            f"{plural(open_hits, *nouns(status))} still open"
        ),
        f"Spent on this experiment so far: {dollars(status.spent, status.pricing)}",
    ]
    return Message(headline, lines, context(settings))


# -- vetoes ---------------------------------------------------------------------------------------
def vetoed(settings: Any, step: str, plugin: str | None, message: str) -> Message:
    who = f"*{escape(plugin)}*" if plugin else "a plugin"
    headline = f":no_entry: {_who(settings)} on *{escape(settings.target)}*: {who} stopped *{escape(step)}* — nothing was done"
    return Message(headline, [f"> {escape(message)}"], context(settings))
