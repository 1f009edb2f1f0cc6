"""Paying Prolific bonuses at most once, in bulk: set up, journal, pay, and confirm what was lost.

Prolific's bonus is two calls — `POST /submissions/bonus-payments/` sets up to 200 bonuses of one
study up (free, repeatable), `POST /bulk-bonus-payments/{id}/pay/` pays the whole set-up and pays it
again on every call. Pay calls contend on the workspace wallet, so a bonus file is sent as few
set-ups as Prolific allows: its rows grouped by study, at most `MAX_ROWS` per set-up, a participant
at most once per set-up (two bonuses of one participant go to two set-ups: a set-up prices and pays
per participant), one pay per set-up. 100 rows on one study are 2 requests, where one set-up and one
pay per row were 200 (docs/prolific.md).

The step gives each payment an idempotency token; `journal` records every row under its token with
the set-up id *before* the pay is sent, and the rows of one set-up move together, so:

- a token already `paid` (or `accepted`) answers "already paid" (False) without a call;
- a pay Prolific accepts (it answers 202: "paid asynchronously, in the following minutes") is
  `accepted`: counted as paid (the money is Prolific's to move now), never paid again, and
  confirmed from the study's cost — after a short wait (`settling`) in the same run, else by the
  next `babe status` (or `babe bonus`) of the experiment;
- a token `paying` (a pay whose answer was lost, or a crash after sending) is never paid again: it
  is confirmed from the study's cost — its bonus total must cover every bonus of the study the
  journal has paid or is paying — or reported as unconfirmed, one line per set-up, with what to
  check and how to settle it (`babe-prolific bonuses --paid/--not-paid SETUP_ID`);
- a token `set-up` (a pay Prolific clearly refused, or a journal written one bonus per set-up by an
  older babe-tasks) is paid with its own set-up id, never set up again;
- a pay that Prolific clearly refused (a 4xx such as no funds, a 429 or a connection that never
  left: anything but a lost answer) paid nothing: the set-up goes back to `set-up`, and the next
  run pays that same set-up. A 404 (Prolific no longer knows the set-up) forgets it instead, and the
  next run sets its rows up afresh.
Only the pay call is sent with `idempotent=False`: the client never retries it after it may have
reached Prolific.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babe_tasks.errors import BabeError
from babe_tasks.platform.base import BonusInfo, OperationFailed

from . import mapping
from .client import ProlificClient, ProlificError, Uncertain
from .journal import ACCEPTED, PAID, PAYING, SET_UP, Entry, Journal, Taken
from .settling import Settling

#: Rows one set-up may carry (Prolific's limit for `csv_bonuses`).
MAX_ROWS = 200

#: What `send_many` answers per token: True paid now, False paid before, or the row's error.
Outcome = bool | Exception


@dataclass(frozen=True)
class Bonus:
    """One bonus to pay — the attributes the step's `Payment` has.

    `hit_id` is the study the submission was listed under (the ledger knows it); without it the
    submission is looked up (`GET /submissions/{id}/`) to find its study and check the participant.
    """

    worker_id: str
    assignment_id: str
    amount: Decimal
    reason: str
    token: str
    hit_id: str | None = None


class Bonuses:
    """The bonuses of one run: `client` for the calls, `journal` for the states.

    `submission(id)` answers `GET /submissions/{id}/` (the study and participant of a bonus whose
    study is not given); `symbol()` the account's currency sign, for messages.
    """

    def __init__(
        self,
        client: ProlificClient,
        journal: Journal,
        submission: Callable[[str], dict],
        symbol: Callable[[], str],
        settling: Settling | None = None,
    ):
        self.client = client
        self.journal = journal
        self._submission = submission
        self._symbol = symbol
        self.settling = settling or Settling()

    def send(self, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str) -> bool:
        """Set up and pay one bonus under `token`, at most once (a batch of one, see `send_many`).

        True: paid by this call (or confirmed paid by it); False: the journal had it paid already.
        """
        answer = self.send_many([Bonus(worker_id, assignment_id, Decimal(amount), reason, token)])[token]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def send_many(self, payments: Iterable[Any]) -> dict[str, Outcome]:
        """Pay every payment (objects with the attributes of `Bonus`), at most once each: token → outcome.

        First what earlier runs left (lost answers confirmed, refused set-ups paid as they are), then
        the new rows, one set-up and one pay per batch. Every failure stays with the rows it concerns:
        the call itself raises only for a bug. Prolific's bonus has no reason field: the reason stays
        in the ledger and the journal.
        """
        results: dict[str, Outcome] = {}
        fresh: list[Bonus] = []
        paying: dict[str, list[str]] = {}
        set_up: dict[str, list[str]] = {}
        seen: set[str] = set()
        for payment in payments:
            bonus = _bonus(payment)
            if bonus.token in seen:
                continue
            seen.add(bonus.token)
            entry = self.journal.get(bonus.token)
            if entry is None:
                fresh.append(bonus)
            elif entry.state in (PAID, ACCEPTED):
                results[bonus.token] = False
            elif entry.state == PAYING:
                paying.setdefault(str(entry.setup_id), []).append(bonus.token)
            else:
                set_up.setdefault(str(entry.setup_id), []).append(bonus.token)
        run = _Run(results)
        self._confirm(paying, run)
        for setup_id, tokens in set_up.items():
            self._pay(setup_id, tokens, run)
        for study_id, batch in self._batches(fresh, run):
            setup_id = self._set_up(study_id, batch, run)
            if setup_id is not None:
                self._pay(setup_id, [b.token for b in batch], run)
        if run.halted is None:
            self._settle()
        return results

    # -- new rows: grouped, set up, journalled ---------------------------------------------------------
    def _batches(self, fresh: list[Bonus], run: _Run) -> list[tuple[str, list[Bonus]]]:
        """(study, rows) per set-up: by study, at most `MAX_ROWS` rows, each participant once.

        First fit, in the file's order: a participant's second bonus goes to the study's next set-up.
        """
        by_study: dict[str, list[Bonus]] = {}
        for bonus in fresh:
            study_id = self._study_of(bonus, run)
            if study_id is not None:
                by_study.setdefault(study_id, []).append(bonus)
        batches: list[tuple[str, list[Bonus]]] = []
        for study_id, rows in by_study.items():
            open_batches: list[tuple[list[Bonus], set[str]]] = []
            for bonus in rows:
                for batch, participants in open_batches:
                    if len(batch) < MAX_ROWS and bonus.worker_id not in participants:
                        break
                else:
                    batch, participants = [], set()
                    open_batches.append((batch, participants))
                batch.append(bonus)
                participants.add(bonus.worker_id)
            batches.extend((study_id, batch) for batch, _ in open_batches)
        return batches

    def _study_of(self, bonus: Bonus, run: _Run) -> str | None:
        """The bonus's study: the one it was listed under, else from its submission (checked)."""
        if bonus.hit_id:
            return bonus.hit_id
        if run.halted is not None:
            run.fail([bonus.token], run.halted)
            return None
        try:
            submission = self._submission(bonus.assignment_id)
        except BabeError as exc:
            run.fail([bonus.token], exc)
            return None
        participant = submission.get("participant") or submission.get("participant_id") or ""
        if participant != bonus.worker_id:
            run.fail(
                [bonus.token],
                OperationFailed(f"submission {bonus.assignment_id} belongs to participant {participant}, not {bonus.worker_id}"),
            )
            return None
        return submission.get("study_id") or ""

    def _set_up(self, study_id: str, batch: list[Bonus], run: _Run) -> str | None:
        """Set the batch up and journal its rows under the set-up's id; None (rows failed) if refused."""
        tokens = [b.token for b in batch]
        if run.halted is not None:
            run.fail(tokens, run.halted)
            return None
        rows = "".join(f"{b.worker_id},{b.amount:.2f}\n" for b in batch)
        try:
            answer = self.client.post(
                "submissions/bonus-payments/",
                {"study_id": study_id, "csv_bonuses": rows},
                idempotent=True,  # a repeated set-up costs nothing: only the one journalled is ever paid
            )
        except BabeError as exc:
            run.fail(tokens, exc)
            return None
        asked = sum((b.amount for b in batch), Decimal(0))
        priced = answer.get("amount") if isinstance(answer, dict) else None
        if priced is not None and mapping.minor_to_major(priced) != asked:
            # Prolific read the file otherwise than meant (units, rows): paying it would pay the wrong sum.
            run.fail(
                tokens,
                OperationFailed(
                    f"Prolific priced bonus set-up {answer.get('id')} at {mapping.minor_to_major(priced):.2f} where its "
                    f"{len(batch)} bonus(es) add up to {asked:.2f}: not paid; report this to the babe-tasks maintainers",
                    "BonusMispriced",
                ),
            )
            return None
        setup_id = str(answer["id"])
        try:
            self.journal.set_up_many(setup_id, study_id, [(b.token, b.worker_id, b.assignment_id, b.amount, b.reason) for b in batch])
        except Taken:
            # Another run journalled some of these meanwhile: this set-up is abandoned, never paid.
            run.fail(tokens, _busy())
            return None
        return setup_id

    # -- paying a journalled set-up -------------------------------------------------------------------
    def _pay(self, setup_id: str, tokens: list[str], run: _Run) -> None:
        """Pay one set-up once: claimed (`paying`) before the call, then `paid`, or back to `set-up` on a refusal."""
        if run.halted is not None:
            run.fail(tokens, run.halted)
            return
        if not self.journal.claim(setup_id):
            run.fail(tokens, _busy())
            return
        try:
            self.client.post(f"bulk-bonus-payments/{setup_id}/pay/", None, idempotent=False)
        except Uncertain as exc:
            self.journal.move_setup(setup_id, PAYING, str(exc))
            run.unconfirmed(tokens, setup_id, self.unconfirmed(setup_id))
            return
        except ProlificError as exc:
            if exc.status == 404:
                # Prolific does not know this set-up (any more): nothing was paid; set the rows up afresh.
                self.journal.forget_setup(setup_id)
            else:
                # A clear refusal (no funds, a bad set-up): nothing was paid, the set-up may be paid later.
                self.journal.move_setup(setup_id, SET_UP, str(exc))
            run.fail(tokens, exc, halt=False)
            return
        except BabeError as exc:
            # Refused before Prolific did anything (token refused, throttled or unreachable to the end).
            self.journal.move_setup(setup_id, SET_UP, str(exc))
            run.fail(tokens, exc)
            return
        # Answered (202): Prolific pays asynchronously. Accepted is paid as far as anyone may act on
        # it — never paid again — and the study's cost confirms it once Prolific has moved the money.
        self.journal.move_setup(setup_id, ACCEPTED)
        run.done(tokens)

    def settle_study(self, study_id: str) -> None:
        """Confirm the study's accepted pays from its cost, once, without waiting (`status` asks)."""
        if study_id in self.journal.studies_in(ACCEPTED):
            self._confirm_study(study_id)

    def _settle(self) -> None:
        """Confirm the accepted pays of the experiment from their studies' cost, waiting briefly.

        One `GET /studies/{id}/cost/` per study with accepted pays, per look; what the wait does not
        see settle stays accepted, and the next `babe bonus` looks again.
        """
        studies = set(self.journal.studies_in(ACCEPTED))
        if not studies:
            return

        def settled() -> bool:
            studies.difference_update([s for s in sorted(studies) if self._confirm_study(s)])
            return not studies

        self.settling.until(settled)

    # -- lost answers: confirmed from the study's cost, never paid again -----------------------------
    def _confirm(self, paying: dict[str, list[str]], run: _Run) -> None:
        """Settle the set-ups an earlier run sent to be paid without learning the outcome.

        One `GET /studies/{id}/cost/` per study: its bonus total covering every bonus the journal
        has paid, accepted or is paying for the study confirms them all; anything less confirms none
        (Prolific pays asynchronously: the pay may still be processing), and each set-up is reported.
        """
        confirmed: dict[str, bool] = {}
        for setup_id, tokens in paying.items():
            rows = self.journal.of_setup(setup_id)
            if rows and all(e.state == PAID for e in rows):  # confirmed with an earlier set-up of its study
                run.done(tokens)
                continue
            study_id = rows[0].study_id if rows else ""
            if study_id not in confirmed:
                confirmed[study_id] = run.halted is None and self._confirm_study(study_id)
            if confirmed[study_id]:
                run.done(tokens)
            else:
                run.unconfirmed(tokens, setup_id, self.unconfirmed(setup_id))

    def _confirm_study(self, study_id: str) -> bool:
        """Whether the study's cost shows every bonus the journal has paid, accepted or is paying for
        it (all then `paid`). The cost is Prolific's `StudyTotalCost`: the bonuses' rewards are
        `bonuses.rewards.amount` in minor units; any other shape confirms nothing."""
        entries = self.journal.for_study(study_id)
        paid = sum((e.amount for e in entries if e.state == PAID), Decimal(0))
        paying = [e for e in entries if e.state in (PAYING, ACCEPTED)]
        try:
            cost = self.client.get(f"studies/{study_id}/cost/") or {}
        except BabeError:
            return False
        shown = mapping.cost_amount(cost, "bonuses", "rewards")
        if shown is None or shown < paid + sum((e.amount for e in paying), Decimal(0)):
            return False
        for setup_id in dict.fromkeys(str(e.setup_id) for e in paying):
            self.journal.move_setup(setup_id, PAID, "confirmed from the study's cost")
        return True

    def unconfirmed(self, setup_id: str) -> str:
        """The one line for a pay Prolific did not confirm: what it was, what to check, how to settle it."""
        rows = self.journal.of_setup(setup_id)
        try:
            symbol = self._symbol()
        except Exception:  # noqa: BLE001 - the message must not fail where Prolific did
            symbol = ""
        study_id = rows[0].study_id if rows else "?"
        if len(rows) == 1:
            what = f"{symbol}{rows[0].amount:.2f} to participant {rows[0].participant_id}"
        else:
            total = sum((e.amount for e in rows), Decimal(0))
            what = f"{len(rows)} bonuses, {symbol}{total:.2f} in all"
        return (
            f"bonus set-up {setup_id} ({what}) was sent to be paid but Prolific did not confirm it; it is NOT paid again "
            f"automatically: check the study's bonuses in the Prolific app (study {study_id}), then run babe-prolific "
            f"bonuses --paid {setup_id} (or --not-paid {setup_id} to pay {'it' if len(rows) == 1 else 'them'} on the next run)"
        )

    # -- what was paid (Prolific lists no bonuses per submission: the journal answers) ---------------
    def paid_for_submission(self, submission_id: str) -> list[BonusInfo]:
        return [_info(e) for e in self.journal.for_submission(submission_id) if e.state in (PAID, ACCEPTED)]

    def paid_for_study(self, study_id: str) -> list[BonusInfo]:
        return [_info(e) for e in self.journal.for_study(study_id) if e.state in (PAID, ACCEPTED)]


class _Run:
    """The outcomes of one `send_many`, and the error that stops it from making more calls.

    An error that says Prolific cannot be used now (unreachable, throttled to the end, the token
    refused) halts the run: the rows not tried yet get the same error without a call, and the next
    run sends them. A refusal of one set-up (an `OperationFailed`) or a lost answer does not.
    """

    def __init__(self, results: dict[str, Outcome]):
        self.results = results
        self.halted: BabeError | None = None

    def done(self, tokens: list[str]) -> None:
        for token in tokens:
            self.results[token] = True

    def fail(self, tokens: list[str], error: BabeError, *, halt: bool = True) -> None:
        for token in tokens:
            self.results[token] = error
        if halt and not isinstance(error, OperationFailed):
            self.halted = error

    def unconfirmed(self, tokens: list[str], setup_id: str, line: str) -> None:
        """The set-up's rows are unconfirmed: its one line for the first, a short pointer for the others.

        A set-up carries up to 200 rows; the same long line 200 times would bury it.
        """
        self.results[tokens[0]] = OperationFailed(line, "BonusUnconfirmed")
        rest = OperationFailed(
            f"part of bonus set-up {setup_id}, which Prolific did not confirm: NOT paid again automatically "
            f"(babe-prolific bonuses --paid/--not-paid {setup_id} settles it)",
            "BonusUnconfirmed",
        )
        for token in tokens[1:]:
            self.results[token] = rest


def _busy() -> OperationFailed:
    return OperationFailed(
        "another babe bonus run of this experiment is paying these bonuses right now: run the same command again once "
        "it has finished (nothing was paid by this one)",
        "BonusBusy",
    )


def _bonus(payment: Any) -> Bonus:
    if isinstance(payment, Bonus):
        return payment
    return Bonus(
        payment.worker_id,
        payment.assignment_id,
        Decimal(payment.amount),
        payment.reason,
        payment.token,
        getattr(payment, "hit_id", None) or None,
    )


def _info(entry: Entry) -> BonusInfo:
    return BonusInfo(
        worker_id=entry.participant_id,
        assignment_id=entry.submission_id,
        amount=entry.amount,
        reason=entry.reason,
        grant_time=datetime.fromtimestamp(entry.updated_at, UTC),
    )
