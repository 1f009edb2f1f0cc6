"""Approve, reject and bonus from the page: the CLI's own steps, each behind a confirmation the server keeps.

A click must not pay anything by itself, and what is paid must be exactly what the reviewer saw.
So a decision takes two requests. The preview runs the real step (its hooks, holds, payment caps
and prices) and stops it at the step's own `review` callback, before anything is paid or
rejected: the ids and the money the callback was shown are what the reviewer confirms, under a
random, single-use confirmation id that expires after `CONFIRM_SECONDS`. The decision runs the
step again with a callback that lets it go on only when the ids and the money are still those
confirmed; anything else (another plugin hold, a changed price) is a 409 and nothing is done.

A preview first runs the step as a dry run: when nothing is left to do (all held, already
decided, already paid) it says so without ever letting the real step finish — which would fire
the after-hooks (a Slack message) for a decision nobody made.

One decision (or preview, or refresh) at a time: the plugin manager and the platform's
session are not shared between threads, and two approvals racing would confirm each other's money.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import money, output
from ..errors import BabeError, PartialFailure, PlatformError, PluginFailure, UsageError, Veto, describe_unexpected
from ..steps import approve, bonus, reject
from .queue import ReviewQueue, reload_statuses

#: How long a preview's confirmation may be used (seconds).
CONFIRM_SECONDS = 600
ACTIONS = ("approve", "reject", "bonus")
#: The most submissions one decision may name (a page selection, far below the steps' own bounds).
MAX_SELECTION = 1000


class Refused(Exception):
    """A request answered with an HTTP `status` and one line (`extra` goes into the JSON answer too)."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


class _Stop(Exception):
    """Raised by a preview's `review` callback: the step stops before paying or rejecting anything."""


class _Changed(Exception):
    """Raised by a decision's `review` callback: what the step would do now is not what was confirmed."""


@dataclass(frozen=True)
class Money:
    """What a decision costs, from the step's own numbers: rewards (or bonuses), fees, their total."""

    rewards: Decimal
    fees: Decimal
    total: Decimal

    def as_json(self, pricing: Any) -> dict:
        return {
            "rewards": money.fmt(self.rewards),
            "fees": money.fmt(self.fees),
            "total": money.fmt(self.total),
            "currency": getattr(pricing, "currency", "USD"),
            "symbol": getattr(pricing, "symbol", "$"),
        }


@dataclass(frozen=True)
class Pending:
    """A confirmed-to-be decision: exactly what the preview showed."""

    action: str
    ids: tuple[str, ...]
    reason: str | None
    amount: Decimal | None
    money: Money | None
    created: float
    #: The bonus rows of `ids` (bonus only).
    rows: tuple[bonus.Row, ...] = ()


@dataclass
class Tally:
    """What this review session did, for the line printed when it ends."""

    approved: int = 0
    rejected: int = 0
    bonuses: int = 0
    bonus_total: Decimal = Decimal("0.00")

    def line(self, pricing: Any = None) -> str:
        return (
            f"approved {self.approved}, rejected {self.rejected}, bonuses {self.bonuses} for "
            f"{money.shown(self.bonus_total, pricing)}"
        )


@dataclass
class _Request:
    action: str
    ids: list[str]
    reason: str | None = None
    category: str | None = None
    amount: str | None = None


class Decisions:
    """The previews, the confirmations they hand out, and the decisions made with them."""

    def __init__(self, settings, pm, queue: ReviewQueue, clock: Callable[[], float] = time.monotonic):
        self.settings, self.pm, self.queue, self.clock = settings, pm, queue, clock
        #: Held while a step runs: one at a time (also what the server waits for before it exits).
        self.lock = threading.Lock()
        self._pending: dict[str, Pending] = {}
        self.tally = Tally()

    # -- the two requests ---------------------------------------------------------------------------
    def preview(self, body: Any) -> dict:
        request = self._parse(body)
        with self.lock:
            self._prune()
            return _guarded(lambda: getattr(self, f"_preview_{request.action}")(request))

    def decide(self, body: Any) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("confirmation"), str) or not body["confirmation"]:
            raise Refused(400, "confirmation is required: the id a preview answered")
        with self.lock:
            self._prune()
            pending = self._pending.pop(body["confirmation"], None)
            if pending is None:
                raise Refused(409, "this confirmation is unknown, used or expired: preview the decision again")
            run = getattr(self, f"_decide_{pending.action}")
            try:
                return _guarded(lambda: run(pending))
            except PartialFailure as failure:
                raise self._partly(pending, failure) from None

    def refresh(self) -> dict:
        with self.lock:
            _guarded(self.queue.load)
            return self.queue.summary()

    # -- approve ------------------------------------------------------------------------------------
    def _preview_approve(self, request: _Request) -> dict:
        dry = approve.run(self._dry(), self.pm, assignment_ids=request.ids)
        todo = [a.assignment_id for a in dry.assignments]
        if not todo:
            return self._nothing(request, dry.held, f"Nothing to approve: {_approve_left(dry.already_approved, dry.held)}.")
        seen: dict[str, Any] = {}

        def capture(assignments, cost, pricing) -> bool:
            seen.update(ids=[a.assignment_id for a in assignments], cost=cost)
            raise _Stop

        try:
            approve.run(self.settings, self.pm, assignment_ids=todo, review=capture)
        except _Stop:
            pass
        if not seen:
            return self._nothing(request, dry.held, "Nothing to approve now: refresh to see why.")
        rewards = sum((self._reward(i) for i in seen["ids"]), Decimal("0.00"))
        cost = Money(rewards, seen["cost"] - rewards, seen["cost"])
        n = len(seen["ids"])
        message = (
            f"Approve {_submissions(n)} on {self.settings.target} for {self._shown(cost.total)} "
            f"(rewards {self._shown(cost.rewards)} + fees {self._shown(cost.fees)})?"
        )
        return self._confirmable(Pending("approve", tuple(seen["ids"]), None, None, cost, self.clock()), dry.held, message)

    def _decide_approve(self, pending: Pending) -> dict:
        def check(assignments, cost, pricing) -> bool:
            self._same(pending, [a.assignment_id for a in assignments], cost)
            return True

        result = self._run(approve.run, self.settings, self.pm, assignment_ids=list(pending.ids), review=check)
        failed = {f["assignment_id"] for f in result.failed}
        held = {h["assignment_id"] for h in result.held}
        self.queue.set_holds(result.held)
        self.queue.set_status([i for i in pending.ids if i not in failed and i not in held], "Approved")
        self.tally.approved += result.approved
        message = f"approved {result.approved}" + (
            f" ({result.already_approved} already approved)" if result.already_approved else ""
        )
        return self._answer(pending, result, message + _held_words(result.held))

    # -- reject -------------------------------------------------------------------------------------
    def _preview_reject(self, request: _Request) -> dict:
        reason = self._rejection(request)
        dry = reject.run(self._dry(), self.pm, assignment_ids=request.ids, reason=reason)
        todo = [a.assignment_id for a in dry.rejected]
        if not todo:
            already = f"{len(dry.already_rejected)} already rejected" if dry.already_rejected else "none is Submitted"
            return self._nothing(request, dry.held, f"Nothing to reject: {already}{_held_words(dry.held)}.")
        message = f"Reject {_submissions(len(todo))} on {self.settings.target}? The {_participant(len(todo))} read: {reason}"
        return self._confirmable(Pending("reject", tuple(todo), reason, None, None, self.clock()), dry.held, message)

    def _decide_reject(self, pending: Pending) -> dict:
        def check(assignments) -> bool:
            self._same(pending, [a.assignment_id for a in assignments], None)
            return True

        result = self._run(reject.run, self.settings, self.pm, assignment_ids=list(pending.ids), reason=pending.reason, review=check)
        self.queue.set_holds(result.held)
        self.queue.set_status([a.assignment_id for a in result.rejected] + list(result.already_rejected), "Rejected")
        self.tally.rejected += len(result.rejected)
        message = f"rejected {len(result.rejected)}" + (
            f" ({len(result.already_rejected)} already rejected)" if result.already_rejected else ""
        )
        return self._answer(pending, result, message + _held_words(result.held))

    # -- bonus --------------------------------------------------------------------------------------
    def _preview_bonus(self, request: _Request) -> dict:
        if request.amount is None or not str(request.amount).strip():
            raise Refused(400, "amount is required: the bonus per submission, e.g. 1.50")
        if request.reason is None or not request.reason.strip():
            raise Refused(400, "reason is required: the worker reads why they get the bonus")
        assert self.queue.capabilities is not None  # a preview comes after the queue's load
        rows = []
        for assignment_id in request.ids:
            item = self.queue.get(assignment_id)
            assert item is not None  # `_parse` refused unknown ids
            rows.append(
                bonus.row_from_fields(item.worker_id, assignment_id, str(request.amount), request.reason, self.queue.capabilities)
            )
        seen: dict[str, Any] = {}

        def capture(payments, total, pricing) -> bool:
            seen.update(payments=list(payments), total=total)
            return True

        dry = bonus.run(self._dry(), self.pm, rows=rows, review=capture)
        held = [{"assignment_id": p.assignment_id, "reason": "held by a plugin (babe_before_bonus)"} for p in dry.held]
        payments = seen.get("payments") or []
        if not payments:
            paid = f"{len(dry.already_paid)} already paid (the ledger has them)" if dry.already_paid else "nothing to pay"
            return self._nothing(request, held, f"Nothing to pay: {paid}{_held_words(held)}.")
        amounts = sum((p.amount for p in payments), Decimal("0.00"))
        cost = Money(amounts, seen["total"] - amounts, seen["total"])
        ids = tuple(p.assignment_id for p in payments)
        kept = tuple(row for row in rows if row.assignment_id in ids)
        amount = kept[0].amount
        n = len(payments)
        message = (
            f"Pay {n} bonus{'es' if n != 1 else ''} of {self._shown(amount)} on {self.settings.target} for "
            f"{self._shown(cost.total)} (bonuses {self._shown(cost.rewards)} + fees {self._shown(cost.fees)})? "
            f"The {_participant(n)} read: {kept[0].reason}"
        )
        pending = Pending("bonus", ids, kept[0].reason, amount, cost, self.clock(), kept)
        return self._confirmable(pending, held, message)

    def _decide_bonus(self, pending: Pending) -> dict:
        def check(payments, total, pricing) -> bool:
            self._same(pending, [p.assignment_id for p in payments], total)
            return True

        result = self._run(bonus.run, self.settings, self.pm, rows=list(pending.rows), review=check)
        self.queue.add_bonuses([(p.assignment_id, p.amount) for p in result.paid])
        self.tally.bonuses += len(result.paid)
        self.tally.bonus_total += result.total
        message = f"paid {len(result.paid)} bonus{'es' if len(result.paid) != 1 else ''} for {self._shown(result.total)} with fees"
        if result.already_paid:
            message += f" ({len(result.already_paid)} already paid: nothing is paid twice)"
        if result.held:
            message += f", held {len(result.held)} by a plugin"
        return self._answer(pending, result, message)

    # -- shared -------------------------------------------------------------------------------------
    def _parse(self, body: Any) -> _Request:
        if not isinstance(body, dict):
            raise Refused(400, "the request must be a JSON object")
        action = body.get("action")
        if action not in ACTIONS:
            raise Refused(400, f"action must be one of {', '.join(ACTIONS)}")
        ids = body.get("assignment_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
            raise Refused(400, "assignment_ids must be a non-empty list of submission ids")
        ids = list(dict.fromkeys(i.strip() for i in ids))
        if len(ids) > MAX_SELECTION:
            raise Refused(400, f"at most {MAX_SELECTION} submissions per decision")
        unknown = [i for i in ids if self.queue.get(i) is None]
        if unknown:
            raise Refused(400, f"submission {unknown[0]} is not one of this experiment's under review: refresh the page")
        texts = {}
        for key in ("reason", "category", "amount"):
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise Refused(400, f"{key} must be a string")
            texts[key] = value
        return _Request(action, ids, texts["reason"], texts["category"], texts["amount"])

    def _rejection(self, request: _Request) -> str:
        """The reason as the step takes it; a platform's category goes first as `CATEGORY: reason`."""
        reason = reject.check_reason(request.reason, flag="reason")
        category = (request.category or "").strip().upper()
        if not category:
            return reason
        allowed = self.queue.capabilities.rejection_categories if self.queue.capabilities else ()
        if not allowed:
            raise Refused(400, f"{self.settings.platform} has no rejection categories: give only a reason")
        if category not in allowed:
            raise Refused(400, f"category {request.category!r} is not one of {', '.join(allowed)}")
        return reject.check_reason(f"{category}: {reason}", flag="reason")

    def _dry(self):
        return dataclasses.replace(self.settings, dry_run=True)

    def _reward(self, assignment_id: str) -> Decimal:
        item = self.queue.get(assignment_id)
        return item.reward if item is not None else Decimal("0.00")

    def _shown(self, value: Decimal) -> str:
        return money.shown(value, self.queue.pricing)

    def _same(self, pending: Pending, ids: list[str], total: Decimal | None) -> None:
        """Let the step go on only with the confirmed submissions and money (else `_Changed`)."""
        if sorted(ids) != sorted(pending.ids):
            raise _Changed(
                f"the submissions changed since you confirmed (were {len(pending.ids)}, now {len(ids)}): confirm again"
            )
        if pending.money is not None and total != pending.money.total:
            raise _Changed(
                f"the amount changed since you confirmed (was {self._shown(pending.money.total)}, now "
                f"{self._shown(total or Decimal('0.00'))}): confirm again"
            )

    def _run(self, step, *args, **kwargs):
        try:
            return step(*args, **kwargs)
        except _Changed as changed:
            raise Refused(409, str(changed)) from None

    def _confirmable(self, pending: Pending, held: list[dict], message: str) -> dict:
        confirmation = secrets.token_urlsafe(24)
        self._pending[confirmation] = pending
        return {
            "confirmation": confirmation,
            "action": pending.action,
            "assignment_ids": list(pending.ids),
            "held": list(held),
            "money": pending.money.as_json(self.queue.pricing) if pending.money is not None else None,
            "message": message,
        }

    def _nothing(self, request: _Request, held: list[dict], message: str) -> dict:
        self.queue.set_holds(held)
        return {
            "confirmation": None,
            "action": request.action,
            "assignment_ids": [],
            "held": list(held),
            "money": None,
            "message": message,
        }

    def _answer(self, pending: Pending, result: Any, message: str) -> dict:
        return output.jsonable(
            {
                "action": pending.action,
                "message": message[:1].upper() + message[1:] + ".",
                "result": result.as_json(),
                "warnings": list(getattr(result, "warnings", []) or []),
                "items": self.queue.items_json(list(pending.ids)),
            }
        )

    def _partly(self, pending: Pending, failure: PartialFailure) -> Refused:
        """Some of the decision was done: the platform is asked where each submission stands now."""
        document = failure.result if isinstance(failure.result, dict) else {}
        if pending.action == "approve":
            self.tally.approved += int(document.get("approved", 0))
        elif pending.action == "reject":
            self.tally.rejected += len(document.get("rejected", []))
        else:
            paid = document.get("paid", [])
            self.queue.add_bonuses([(p["assignment_id"], Decimal(str(p["amount"]))) for p in paid])
            self.tally.bonuses += len(paid)
            self.tally.bonus_total += sum((Decimal(str(p["amount"])) + Decimal(str(p["fee"])) for p in paid), Decimal("0.00"))
        try:
            self.queue.set_statuses(reload_statuses(self.settings, self.pm, list(pending.ids)))
        except BabeError as exc:
            output.warn(f"the submissions' statuses could not be read back ({exc}): refresh the page")
        return Refused(
            502, str(failure), result=output.jsonable(document), items=self.queue.items_json(list(pending.ids))
        )

    def _prune(self) -> None:
        now = self.clock()
        for key in [k for k, p in self._pending.items() if now - p.created > CONFIRM_SECONDS]:
            del self._pending[key]


def _guarded(run: Callable[[], Any]) -> Any:
    """A step's BabeError as the page's one line and status; a PartialFailure is the caller's to answer."""
    try:
        return run()
    except (Refused, PartialFailure, _Stop):
        raise
    except UsageError as exc:
        raise Refused(400, str(exc)) from None
    except PluginFailure as exc:
        raise Refused(409, str(exc)) from None
    except Veto as exc:
        who = f"plugin {exc.plugin}" if exc.plugin else "a plugin"
        raise Refused(409, f"vetoed by {who}: {exc}") from None
    except PlatformError as exc:
        raise Refused(502, str(exc)) from None
    except BabeError as exc:
        raise Refused(500, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a bug or a library surprise: one line, never a traceback in the page
        output.warn(describe_unexpected(exc))
        raise Refused(500, describe_unexpected(exc)) from None


def _submissions(n: int) -> str:
    return f"{n} submission{'s' if n != 1 else ''}"


def _participant(n: int) -> str:
    return "participant will" if n == 1 else "participants will"


def _approve_left(already: int, held: list[dict]) -> str:
    parts = []
    if already:
        parts.append(f"{already} already approved")
    if held:
        parts.append(f"{len(held)} held")
    return ", ".join(parts) or "none is Submitted"


def _held_words(held: list[dict]) -> str:
    if not held:
        return ""
    more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
    return f", held {len(held)}: {held[0]['reason']}{more}"
