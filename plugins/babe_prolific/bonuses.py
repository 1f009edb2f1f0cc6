"""Paying Prolific bonuses at most once: set up, journal, pay, and confirm what was lost.

Prolific's bonus is two calls — `POST /submissions/bonus-payments/` sets it up (free, repeatable),
`POST /bulk-bonus-payments/{id}/pay/` pays it and pays again on every call. The step gives each
payment an idempotency token; `journal` records the set-up id under it before paying, so:

- a token already `paid` answers "already paid" (False) without a call;
- a token `paying` (a pay whose answer was lost, or a crash after sending) is never paid again: it
  is confirmed from the study's cost — its bonus total must cover every bonus of the study the
  journal has paid or is paying — or reported as unconfirmed with what to check and how to settle
  it (`babe-prolific bonuses --paid/--not-paid`);
- a pay that Prolific clearly refused (a 4xx: no funds, a bad set-up) paid nothing: the set-up
  goes back to `set-up`, and the next run pays that same set-up.
Only the pay call is sent with `idempotent=False`: the client never retries it after it may have
reached Prolific.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from babe_tasks.platform.base import BonusInfo, OperationFailed

from . import mapping
from .client import ProlificClient, ProlificError, Uncertain
from .journal import PAID, PAYING, SET_UP, Entry, Journal


class Bonuses:
    """The bonuses of one run: `client` for the calls, `journal` for the states.

    `submission(id)` answers `GET /submissions/{id}/` (the study and participant of a bonus);
    `symbol()` the account's currency sign, for messages.
    """

    def __init__(self, client: ProlificClient, journal: Journal, submission: Callable[[str], dict], symbol: Callable[[], str]):
        self.client = client
        self.journal = journal
        self._submission = submission
        self._symbol = symbol

    def send(self, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str) -> bool:
        """Set up and pay one bonus under `token`, at most once.

        True: paid by this call (or confirmed paid by it); False: the journal had it paid already.
        Prolific's bonus has no reason field: the reason stays in the ledger and the journal.
        """
        entry = self.journal.get(token)
        if entry is not None and entry.state == PAID:
            return False
        if entry is not None and entry.state == PAYING:
            if self._confirm_paid(entry):
                return True
            raise OperationFailed(self.unconfirmed(entry), "BonusUnconfirmed")
        if entry is None:
            entry = self._set_up(worker_id, assignment_id, amount, reason, token)
        self.journal.move(token, PAYING)
        try:
            self.client.post(f"bulk-bonus-payments/{entry.setup_id}/pay/", None, idempotent=False)
        except Uncertain as exc:
            self.journal.move(token, PAYING, str(exc))
            raise OperationFailed(self.unconfirmed(entry), "BonusUnconfirmed") from None
        except ProlificError as exc:
            # A clear refusal (no funds, a bad set-up): nothing was paid, the set-up may be paid later.
            self.journal.move(token, SET_UP, str(exc))
            raise
        self.journal.move(token, PAID)
        return True

    def _set_up(self, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str) -> Entry:
        submission = self._submission(assignment_id)
        study_id = submission.get("study_id") or ""
        participant = submission.get("participant") or submission.get("participant_id") or ""
        if participant != worker_id:
            raise OperationFailed(f"submission {assignment_id} belongs to participant {participant}, not {worker_id}")
        answer = self.client.post(
            "submissions/bonus-payments/",
            {"study_id": study_id, "csv_bonuses": f"{worker_id},{Decimal(amount):.2f}\n"},
            idempotent=True,  # a repeated set-up costs nothing: only the one journalled is ever paid
        )
        self.journal.set_up(token, str(answer["id"]), study_id, worker_id, assignment_id, Decimal(amount), reason)
        return self.journal.get(token)  # type: ignore[return-value]

    def _confirm_paid(self, entry: Entry) -> bool:
        """Whether the study's cost shows this bonus (and every other `paying` one of the study) paid.

        Only ever confirms: a bonus total that does not cover them leaves them unconfirmed (the pay
        may still be processing, Prolific pays asynchronously), never repaid.
        """
        entries = self.journal.for_study(entry.study_id)
        paid = sum((e.amount for e in entries if e.state == PAID), Decimal(0))
        paying = [e for e in entries if e.state == PAYING]
        try:
            cost = self.client.get(f"studies/{entry.study_id}/cost/") or {}
        except OperationFailed:
            return False
        shown = mapping.minor_to_major((cost.get("bonuses") or {}).get("rewards") or 0)
        if shown < paid + sum((e.amount for e in paying), Decimal(0)):
            return False
        for other in paying:
            self.journal.move(other.token, PAID, "confirmed from the study's cost")
        return True

    def unconfirmed(self, entry: Entry) -> str:
        """The one line for a pay Prolific did not confirm: what it was, what to check, how to settle it."""
        try:
            symbol = self._symbol()
        except Exception:  # noqa: BLE001 - the message must not fail where Prolific did
            symbol = ""
        return (
            f"bonus set-up {entry.setup_id} ({symbol}{entry.amount:.2f} to participant {entry.participant_id}) was sent "
            f"to be paid but Prolific did not confirm it; it is NOT paid again automatically: check the study's bonuses "
            f"in the Prolific app (study {entry.study_id}), then run babe-prolific bonuses --paid {entry.setup_id} "
            f"(or --not-paid {entry.setup_id} to pay it on the next run)"
        )

    # -- what was paid (Prolific lists no bonuses per submission: the journal answers) ---------------
    def paid_for_submission(self, submission_id: str) -> list[BonusInfo]:
        return [_info(e) for e in self.journal.for_submission(submission_id) if e.state == PAID]

    def paid_for_study(self, study_id: str) -> list[BonusInfo]:
        return [_info(e) for e in self.journal.for_study(study_id) if e.state == PAID]


def _info(entry: Entry) -> BonusInfo:
    return BonusInfo(
        worker_id=entry.participant_id,
        assignment_id=entry.submission_id,
        amount=entry.amount,
        reason=entry.reason,
        grant_time=datetime.fromtimestamp(entry.updated_at, UTC),
    )
