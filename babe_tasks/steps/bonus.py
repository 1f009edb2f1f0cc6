"""bonus: pay workers extra, each payment exactly once — across re-runs, crashes and lost answers.

One payment (`--worker --assignment --amount --reason`) or a CSV file of them (header
`worker_id,assignment_id,amount,reason`). Everything is checked before the first cent moves: every
row's format (amount a plain dollar figure above 0.00 with at most two decimals, ids shaped like
MTurk's, a reason within MTurk's limits, one payment per assignment and file), then every
assignment against the platform and the ledger (it exists, it belongs to a HIT this experiment
posted on this target, and that worker did it). A file with one bad row pays nothing.

Idempotency (docs/payments.md, "Exactly once"): a payment's identity is a hash of (experiment, worker, assignment, amount,
reason), and so is its UniqueRequestToken. The ledger records the payment as "sending" just
before the call and "paid" right after, so:
- the same command again finds it paid and pays nothing (`already_paid`), even years later, when
  MTurk has long forgotten the token — unless `--pay-again` asks for one more payment, which gets
  a token of its own (the identity plus the repeat's number);
- a call whose answer was lost is retried by botocore with the same token, and MTurk's "already
  processed" answer means it was paid: recorded as paid, not an error;
- a run whose answer was lost (every retry failed, or it died between the call and the record)
  leaves the payment "sending"; the next run first asks the platform what happened — the
  assignment's bonus payments (ListBonusPayments) — and sends the same token again only if the
  payment is not there. It always asks: the token's age says nothing reliable, since MTurk
  forgets a token after 24 hours by its own clock, and the machine's clock may be a day off.

A platform with `send_bonuses` (Prolific) pays in bulk: the payments go to it in chunks of at most
`BONUS_CHUNK`, grouped by HIT (so it can set up and pay each HIT's rows together), every one
recorded "sending" just before its chunk is sent, and each token's answer recorded as above. An
unfinished payment is looked for first (`list_bonus_payments`) as on MTurk; one not found is sent
again, and such a platform settles a lost answer itself (Prolific: from the study's cost, never
paying a set-up twice).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import inputfiles, money, output
from ..errors import BabeError, PartialFailure, UsageError
from ..ledger import Ledger
from ..platform.base import (
    AssignmentInfo,
    Capabilities,
    OperationFailed,
    optional,
    pricing_of,
)
from ..plugins import call_after, call_before
from . import Outcome, session
from .create import spending_check
from .funds import rerun_advice
from .passes import in_passes
from .reject import MAX_REASON, lookup_assignments, refuse

#: The CSV header a bonus file must have (extra columns are ignored).
COLUMNS = ("worker_id", "assignment_id", "amount", "reason")
#: The most payments one `send_bonuses` call carries: the progress bar moves, and a stopped run
#: leaves the rest unsent, chunk by chunk. A multiple of Prolific's 200 rows per set-up.
BONUS_CHUNK = 1000


def bonus_token(experiment: str, worker_id: str, assignment_id: str, amount: Decimal, reason: str, attempt: int = 0) -> str:
    """The payment's UniqueRequestToken (64 hex characters); attempt 0 is also its identity."""
    parts = ["babe-tasks-bonus", experiment, worker_id, assignment_id, money.fmt(amount), reason]
    if attempt:
        parts.append(f"again={attempt}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    """One requested payment as given (a CSV line or the flags), format-checked, not yet matched."""

    worker_id: str
    assignment_id: str
    amount: Decimal
    reason: str
    #: Where it came from, for messages: "bonus.csv line 3", or "" for the flags.
    where: str = ""


@dataclass(frozen=True)
class Payment:
    """A bonus ready to pay: checked against the platform and the ledger, its fee and token known.

    Frozen: a `babe_before_bonus` plugin may drop payments from the list, not change one (its token
    is the hash of exactly these values).
    """

    worker_id: str
    assignment_id: str
    hit_id: str
    amount: Decimal
    fee: Decimal
    reason: str
    token: str
    identity: str
    attempt: int = 0
    #: An earlier run recorded it as "sending" and never learned the outcome: this run finishes it.
    resumed: bool = False
    #: The platform clock when its token was last sent (resumed payments only).
    sent_at: float | None = None
    where: str = ""

    @property
    def total(self) -> Decimal:
        return self.amount + self.fee

    def as_json(self) -> dict:
        return {
            "worker_id": self.worker_id,
            "assignment_id": self.assignment_id,
            "hit_id": self.hit_id,
            "amount": self.amount,
            "fee": self.fee,
            "reason": self.reason,
            "token": self.token,
        }


@dataclass
class BonusResult:
    paid: list[Payment] = field(default_factory=list)
    already_paid: list[Payment] = field(default_factory=list)
    held: list[Payment] = field(default_factory=list)
    failed: list[tuple[Payment, str]] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    #: The platform's fee rules and currency (`money.Pricing`): what text output shows money in.
    pricing: Any = field(default=money.MTURK_PRICING, repr=False)

    @property
    def total(self) -> Decimal:
        """Bonuses plus fees of the payments made now (on a dry run: that would be made)."""
        return sum((p.total for p in self.paid), Decimal("0.00"))

    def as_json(self) -> dict:
        document: dict = {
            "paid": [p.as_json() for p in self.paid],
            "already_paid": [p.as_json() for p in self.already_paid],
            "failed": [{**p.as_json(), "error": error} for p, error in self.failed],
            "total": self.total,
        }
        if self.held:
            document["held"] = [p.as_json() for p in self.held]
        if self.dry_run:
            document["dry_run"] = True
        return document


# -- reading what to pay ----------------------------------------------------------------------------
def row_from_flags(
    worker: str | None, assignment: str | None, amount: str | None, reason: str | None, capabilities: Capabilities
) -> Row:
    """The one payment given by `--worker --assignment --amount --reason` (all four required)."""
    given = {"--worker": worker, "--assignment": assignment, "--amount": amount, "--reason": reason}
    missing = [flag for flag, value in given.items() if value is None or not str(value).strip()]
    if missing:
        raise UsageError(
            f"{', '.join(missing)} missing: one bonus needs --worker, --assignment, --amount and --reason "
            "(or give a file with --csv)"
        )
    row, problem = _check(str(worker), str(assignment), str(amount), str(reason), where="", flags=True, capabilities=capabilities)
    if problem:
        raise UsageError(problem)
    return row  # type: ignore[return-value]


def row_from_fields(worker: str, assignment: str, amount: str, reason: str, capabilities: Capabilities) -> Row:
    """One payment given as named fields (`babe review`'s form), checked as a file's row is: a
    problem names the field (`amount '1.234' is not …`), not a command-line flag."""
    row, problem = _check(worker, assignment, amount, reason, where="", flags=False, capabilities=capabilities)
    if problem:
        raise UsageError(problem)
    return row  # type: ignore[return-value]


def read_csv(path: str | Path, capabilities: Capabilities) -> list[Row]:
    """Every row of a bonus file, format-checked; the first problem (with a count of the rest) refuses it all."""
    path = Path(path)
    shown = str(path)
    try:
        text = inputfiles.read_text(path)  # size-capped: babe_tasks/inputfiles.py
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{shown} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{shown} is not UTF-8 text: save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise UsageError(f"{shown} cannot be read: {exc.strerror or exc}") from None
    header_hint = "worker_id,assignment_id,amount,reason"
    if not text.strip():
        raise UsageError(f"{shown} is empty: write the header {header_hint} and one line per payment")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(record for record in reader if any(cell.strip() for cell in record))
        header_line = reader.line_num
        names = [cell.strip().lower() for cell in header]
        missing = [column for column in COLUMNS if column not in names]
        if len(missing) == len(COLUMNS):
            raise UsageError(
                f"{shown} line {header_line} is not the header: the first line must be {header_hint}"
            )
        if missing:
            raise UsageError(f"{shown} has no column {', '.join(missing)}: the header must be {header_hint}")
        repeated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
        if repeated:
            raise UsageError(f"{shown} line {header_line}: column {repeated[0]} appears twice in the header")
        index = {column: names.index(column) for column in COLUMNS}
        rows: list[Row] = []
        problems: list[str] = []
        first_line: dict[str, int] = {}
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            where = f"{shown} line {reader.line_num}"
            if len(record) != len(header):
                problems.append(
                    f"{where}: {len(record)} fields where the header has {len(header)} — put a reason that "
                    'contains commas in double quotes ("…")'
                )
                continue
            row, problem = _check(*(record[index[c]] for c in COLUMNS), where=where, flags=False, capabilities=capabilities)
            if problem:
                problems.append(problem)
                continue
            assert row is not None
            earlier = first_line.get(row.assignment_id)
            if earlier is not None:
                problems.append(
                    f"{where}: assignment {row.assignment_id} is already on line {earlier}: one payment per "
                    "assignment and file — add the amounts up into one line, or pay the second in a later run"
                )
                continue
            first_line[row.assignment_id] = reader.line_num
            rows.append(row)
    except csv.Error as exc:
        raise UsageError(f"{shown} line {reader.line_num} is not valid CSV ({exc}): fix the quoting") from None
    except StopIteration:
        raise UsageError(f"{shown} is empty: write the header {header_hint} and one line per payment") from None
    refuse(problems)
    if not rows:
        raise UsageError(f"{shown} has no payments, only the header: add one line per payment")
    return rows


def _check(
    worker: str, assignment: str, amount: str, reason: str, *, where: str, flags: bool, capabilities: Capabilities
) -> tuple[Row | None, str | None]:
    """One payment's format: (Row, None) or (None, the line that says what is wrong and what to do).

    Ids must have the platform's shape (`capabilities.worker_id_pattern`, `submission_id_pattern`).
    """
    prefix = f"{where}: " if where else ""

    def name(column: str) -> str:
        return "--" + column.split("_")[0] if flags else column

    worker, assignment, reason = worker.strip(), assignment.strip(), reason.strip()
    worker_id, worker_what = capabilities.worker_id()
    assignment_id, assignment_what = capabilities.submission_id()
    if not worker_id.match(worker):
        return None, f"{prefix}{name('worker_id')} {worker!r} is not {worker_what}"
    if not assignment_id.match(assignment):
        return None, f"{prefix}{name('assignment_id')} {assignment!r} is not {assignment_what}"
    try:
        value = money.parse_amount(amount, what=name("amount"))
    except money.MoneyError as exc:
        return None, f"{prefix}{exc}"
    if not reason:
        return None, f"{prefix}{name('reason')} is empty: MTurk shows the reason to the worker — say what the bonus is for"
    if len(reason) > MAX_REASON:
        return None, f"{prefix}{name('reason')} is {len(reason)} characters long: MTurk allows at most {MAX_REASON}"
    return Row(worker, assignment, value, reason, where), None


# -- matching rows to the experiment and the ledger -------------------------------------------------
def prepare(settings, platform, ledger: Ledger, rows: list[Row], pay_again: bool) -> tuple[list[Payment], list[Payment], list[str]]:
    """(to pay, already paid, warnings) for the rows; UsageError, nothing paid, if any row is wrong.

    The ledger answers for assignments it has seen in this experiment; the others are looked up
    on the platform (GetAssignment). Then each payment's token comes from the ledger's record of it.
    """
    known: dict[str, AssignmentInfo] = {}
    unknown: list[str] = []
    for assignment_id in dict.fromkeys(row.assignment_id for row in rows):
        seen = ledger.assignment(assignment_id)
        if seen is not None and seen["experiment"] == settings.experiment and seen["target"] == settings.target:
            known[assignment_id] = AssignmentInfo(assignment_id, seen["hit_id"], seen["worker_id"], seen["status"])
        else:
            unknown.append(assignment_id)
    found, problems = lookup_assignments(settings, platform, ledger, unknown) if unknown else ({}, {})
    known.update(found)
    lines = []
    for row in rows:
        prefix = f"{row.where}: " if row.where else ""
        if row.assignment_id in problems:
            lines.append(prefix + problems[row.assignment_id])
        elif known[row.assignment_id].worker_id != row.worker_id:
            lines.append(
                f"{prefix}assignment {row.assignment_id} was done by worker {known[row.assignment_id].worker_id}, "
                f"not {row.worker_id}: correct the worker or the assignment id"
            )
    refuse(lines)
    if found:
        ledger.record_assignments(settings.experiment, settings.target, list(found.values()))
    todo: list[Payment] = []
    done: list[Payment] = []
    warnings: list[str] = []
    for row in rows:
        payment, paid = _payment(settings, ledger, row, known[row.assignment_id].hit_id, pay_again, pricing_of(platform))
        (done if paid else todo).append(payment)
        if not paid and not payment.resumed:
            warnings.extend(_other_bonuses(settings, ledger, payment, pricing_of(platform)))
    return todo, done, warnings


def _payment(settings, ledger: Ledger, row: Row, hit_id: str, pay_again: bool, pricing) -> tuple[Payment, bool]:
    """The row's payment (its fee by the platform's `pricing`) and whether the ledger shows it paid."""
    identity = bonus_token(settings.experiment, row.worker_id, row.assignment_id, row.amount, row.reason)
    attempts = ledger.bonus_attempts(identity)
    base = {
        "worker_id": row.worker_id,
        "assignment_id": row.assignment_id,
        "hit_id": hit_id,
        "amount": row.amount,
        "fee": pricing.bonus_fee(row.amount),
        "reason": row.reason,
        "identity": identity,
        "where": row.where,
    }
    unfinished = next((a for a in attempts if not a.paid), None)
    if unfinished is not None:
        return Payment(**base, token=unfinished.token, attempt=unfinished.attempt, resumed=True, sent_at=unfinished.sent_at), False
    if attempts and not pay_again:
        return Payment(**base, token=attempts[-1].token, attempt=attempts[-1].attempt), True
    attempt = len(attempts)
    token = bonus_token(settings.experiment, row.worker_id, row.assignment_id, row.amount, row.reason, attempt)
    return Payment(**base, token=token, attempt=attempt), False


def _other_bonuses(settings, ledger: Ledger, payment: Payment, pricing=money.MTURK_PRICING) -> list[str]:
    """A heads-up when this assignment already got a different bonus (another amount or reason)."""
    others = [
        b
        for b in ledger.bonuses(settings.experiment, settings.target, assignment_id=payment.assignment_id)
        if b.identity != payment.identity and b.paid
    ]
    if not others:
        return []
    paid = ", ".join(f"{money.shown(b.amount, pricing)} ({b.reason})" for b in others)
    line = (
        f"assignment {payment.assignment_id} already got {paid}; this pays {money.shown(payment.amount, pricing)} more "
        f"({payment.reason})"
    )
    return [line]


# -- paying -----------------------------------------------------------------------------------------
def run(
    settings,
    pm,
    *,
    rows: list[Row],
    pay_again: bool = False,
    review: Callable[[list[Payment], Decimal, Any], bool] | None = None,
) -> BonusResult:
    """Check every row, let the plugins look, then pay what the ledger does not show as paid.

    `review(payments, total, pricing)` is asked before anything is paid (it shows the total in the
    platform's currency; a prompt on live); declining is a UsageError. Raises `PartialFailure` carrying the result when some
    payments failed: running the same command again finishes them, paying none twice.
    """
    if not rows:
        raise UsageError("nothing to pay: give --worker, --assignment, --amount and --reason, or --csv FILE")
    with session(settings, pm) as (platform, ledger):
        todo, done, warnings = prepare(settings, platform, ledger, rows, pay_again)
        result = BonusResult(already_paid=done, dry_run=settings.dry_run)
        tokens = {p.token for p in todo} | {p.token for p in done}
        unfinished = [b for b in ledger.bonuses(settings.experiment, settings.target) if not b.paid and b.token not in tokens]
        if unfinished:
            warnings.append(
                f"{len(unfinished)} bonus(es) of an earlier run are unconfirmed (first: worker {unfinished[0].worker_id}, "
                f"assignment {unfinished[0].assignment_id}, {money.shown(unfinished[0].amount, pricing_of(platform))}): run that bonus "
                "command again to finish them"
            )
        for warning in warnings:
            output.warn(warning)
        offered = list(todo)
        call_before(pm, "babe_before_bonus", settings=settings, payments=offered, pricing=pricing_of(platform))
        kept = {p.token for p in offered}
        result.held = [p for p in todo if p.token not in kept]
        todo = [p for p in todo if p.token in kept]
        total = sum((p.total for p in todo), Decimal("0.00"))
        result.pricing = pricing_of(platform)
        if settings.dry_run:
            if review is not None:
                review(todo, total, result.pricing)
            result.paid = todo
            result.warnings = warnings
            return result
        if todo and review is not None and not review(todo, total, result.pricing):
            raise UsageError("not confirmed: nothing was paid")
        reserve(settings, pm, platform, ledger, todo)

        def pay(payment: Payment) -> str:
            return _pay(settings, platform, ledger, payment)

        many = optional(platform, "send_bonuses")
        with output.progress("paying bonuses", total=len(todo)) as bar:
            if many is not None:
                outcomes = _pay_in_bulk(settings, platform, many, ledger, todo, bar.advance)
            else:
                outcomes = in_passes(settings, platform, pay, todo, advance=bar.advance)
        for outcome in outcomes:
            if outcome.error is not None:
                result.failed.append((outcome.item, str(outcome.error)))
            elif outcome.value == "already":
                result.already_paid.append(outcome.item)
            else:
                result.paid.append(outcome.item)
    result.warnings = warnings + call_after(pm, "babe_after_bonus", settings=settings, result=result)
    if result.failed:
        payment, error = result.failed[0]
        raise PartialFailure(
            f"{len(result.failed)} of {len(todo)} bonuses failed (worker {payment.worker_id}, assignment "
            f"{payment.assignment_id}: {error}); "
            + rerun_advice((e for _, e in result.failed), "run the same command again to finish — nothing is paid twice"),
            result.as_json(),
        )
    return result


def reserve(settings, pm, platform, ledger: Ledger, todo: list[Payment]) -> None:
    """Write the run's new bonuses down as "sending" at once, under the spending reservation —
    when a plugin takes part in it (`create.spending_check`); otherwise each is recorded just before
    its own call, as always.

    `babe_before_commit` sees their whole total against the ledger as it is at that instant
    (a payment cap's last word, exact across the lab's members); a veto writes none and pays none.
    Each is then sent as before, its row already there.
    """
    fresh = [p for p in todo if not p.resumed]
    check = spending_check(pm, settings, "bonus", sum((p.total for p in fresh), Decimal("0.00")))
    if check is not None:
        ledger.reserve_bonuses(
            fresh, experiment=settings.experiment, target=settings.target, location=platform.location,
            sent_at=platform.now().timestamp(), check=check,
        )


def _pay(settings, platform, ledger: Ledger, payment: Payment) -> str:
    """Pay one bonus: "paid" (now, or found done), or "already" (the token was processed before).

    The ledger row goes in before the call; a failure leaves it "sending" with the error, since
    the platform may have paid before the answer was lost — the next run settles it.
    """
    now = platform.now().timestamp()
    if not payment.resumed:
        ledger.start_bonus(
            payment, experiment=settings.experiment, target=settings.target, location=platform.location, sent_at=now
        )
    else:
        # The answer to an earlier send was lost: ask the platform what happened before sending again.
        # The token's age cannot decide it — the machine's clock and the platform's may be a day apart,
        # and a token the platform has forgotten pays again.
        if _listed(platform, ledger, payment):
            ledger.bonus_paid(payment.token)
            return "paid"
        ledger.bonus_resent(payment.token, now)
    try:
        paid_now = platform.send_bonus(payment.worker_id, payment.assignment_id, payment.amount, payment.reason, payment.token)
    except BabeError as exc:
        ledger.bonus_error(payment.token, str(exc))
        raise
    ledger.bonus_paid(payment.token)
    # A resumed payment the platform calls "already processed" was paid by the run that lost track
    # of it — and that run reported it failed or not at all: this run is the one to report it paid.
    return "paid" if paid_now or payment.resumed else "already"


def _pay_in_bulk(settings, platform, send_bonuses, ledger: Ledger, todo: list[Payment], advance) -> list[Outcome]:
    """Pay through the platform's `send_bonuses`, a chunk of each HIT's payments at a time.

    Outcomes come back in the order of `todo`, as `concurrently`'s do, with `_pay`'s values: "paid"
    or "already" (a resumed payment the platform had paid is reported paid: the run that sent it
    never did). A chunk whose call fails as a whole fails each of its payments, which stay
    "sending" with the error — the next run sends them again, and the platform pays none twice.
    """
    first: dict[str, int] = {}
    for payment in todo:
        first.setdefault(payment.hit_id, len(first))
    ordered = sorted(todo, key=lambda p: first[p.hit_id])
    by_token: dict[str, Outcome] = {}
    for start in range(0, len(ordered), BONUS_CHUNK):
        chunk = ordered[start : start + BONUS_CHUNK]
        try:
            now = platform.now().timestamp()
            for payment in chunk:
                if not payment.resumed:
                    ledger.start_bonus(
                        payment, experiment=settings.experiment, target=settings.target, location=platform.location, sent_at=now
                    )
        except BabeError as exc:  # the ledger cannot record them: nothing of this chunk (or after it) is sent
            for payment in ordered[start:]:
                by_token[payment.token] = Outcome(payment, error=exc)
                advance()
            break
        for payment in chunk:
            if payment.resumed:  # an earlier send's answer was lost: ask the platform first, as `_pay` does
                try:
                    if _listed(platform, ledger, payment):
                        ledger.bonus_paid(payment.token)
                        by_token[payment.token] = Outcome(payment, "paid")
                        advance()
                except BabeError as exc:
                    by_token[payment.token] = Outcome(payment, error=exc)
                    advance()
        chunk = [p for p in chunk if p.token not in by_token]
        if not chunk:
            continue
        try:
            answers = send_bonuses(chunk)
        except BabeError as exc:
            answers = {p.token: exc for p in chunk}
        for payment in chunk:
            by_token[payment.token] = _record(ledger, payment, answers.get(payment.token))
            advance()
    return [by_token[p.token] for p in todo]


def _record(ledger: Ledger, payment: Payment, answer) -> Outcome:
    """One payment's answer from `send_bonuses`, written to the ledger as `_pay` writes it."""
    if answer is None:
        answer = OperationFailed("the platform did not answer for this bonus; run the same command again")
    try:
        if isinstance(answer, BaseException):
            error = answer if isinstance(answer, BabeError) else OperationFailed(str(answer))
            ledger.bonus_error(payment.token, str(error))
            return Outcome(payment, error=error)
        ledger.bonus_paid(payment.token)
    except BabeError as exc:  # the ledger failed to record it: the next run finds it paid on the platform
        return Outcome(payment, error=exc)
    return Outcome(payment, "paid" if answer or payment.resumed else "already")


def _listed(platform, ledger: Ledger, payment: Payment) -> bool:
    """Whether ListBonusPayments shows this payment beyond the ones the ledger already has as paid."""
    same = [
        b
        for b in platform.list_bonus_payments(payment.assignment_id)
        if b.worker_id == payment.worker_id and b.amount == payment.amount and b.reason.strip() == payment.reason
    ]
    paid_before = sum(1 for a in ledger.bonus_attempts(payment.identity) if a.paid)
    return len(same) > paid_before

