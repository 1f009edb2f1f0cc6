"""Bonuses in Prolific's two steps: set up (free, priced), then pay — and paying twice pays twice.

`POST /submissions/bonus-payments/` checks every CSV row (≤ 200, decimal major units, each
participant with a submission in the study) and prices it: per row `amount + fee + VAT on the fee`
(money.py). `POST /bulk-bonus-payments/{id}/pay/` charges the balance and records one payment per
row, every time it is called: the local server deliberately keeps the real API's trap, because the
adapter's journal exists to avoid it and a test must be able to see it fail. `payments()` is the
ground truth a test asserts against ("paid exactly once").
"""

from __future__ import annotations

import json
import sqlite3

from . import money, validation
from .errors import FUNDS, ApiError, not_found
from .store import Store, iso, new_id


def setup(store: Store, body) -> tuple[int, dict]:
    study_id, rows = validation.bonus_rows(body)
    with store.write() as tx:
        if tx.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
            raise ApiError(400, {"study_id": [f"Study {study_id} was not found."]})
        priced = []
        total = money.ZERO
        unknown = []
        for participant_id, cents in rows:
            submission = tx.execute(
                "SELECT id FROM submissions WHERE study_id = ? AND participant_id = ? ORDER BY seq DESC LIMIT 1",
                (study_id, participant_id),
            ).fetchone()
            if submission is None:
                unknown.append(participant_id)
                continue
            price = money.account_charge(tx, cents)
            total = total + price
            priced.append([participant_id, submission["id"], price.amount, price.fees, price.vat])
        if unknown:
            raise ApiError(
                400,
                {"csv_bonuses": [f"Participant(s) without a submission in study {study_id}: {', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else "")]},
            )
        setup_id = new_id()
        tx.execute(
            "INSERT INTO bonus_setups (id, study_id, rows, amount, fees, vat, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (setup_id, study_id, json.dumps(priced), total.amount, total.fees, total.vat, Store.now(tx)),
        )
        return 201, _render(tx.execute("SELECT * FROM bonus_setups WHERE id = ?", (setup_id,)).fetchone())


def _render(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "study": row["study_id"],
        "amount": row["amount"],
        "fees": row["fees"],
        "vat": row["vat"],
        "total_amount": row["amount"] + row["fees"] + row["vat"],
        "created_at": iso(row["created_at"]),
    }


def pay(store: Store, setup_id: str) -> tuple[int, dict]:
    """Charge and record the set-up's payments — again on every call, as Prolific does."""
    with store.write() as tx:
        row = tx.execute("SELECT * FROM bonus_setups WHERE id = ?", (setup_id,)).fetchone()
        if row is None:
            raise not_found("Bulk bonus payment", setup_id)
        total = row["amount"] + row["fees"] + row["vat"]
        balance = Store.balance(tx)
        if balance < total:
            raise ApiError(400, f"Insufficient funds: the bonuses cost {money.major(total)} and the balance is {money.major(balance)}.", code=FUNDS)
        Store.charge(tx, total)
        now = Store.now(tx)
        tx.executemany(
            "INSERT INTO bonus_payments (setup_id, study_id, participant_id, submission_id, amount, fees, vat, paid_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(setup_id, row["study_id"], p, s, a, f, v, now) for p, s, a, f, v in json.loads(row["rows"])],
        )
        tx.execute("UPDATE bonus_setups SET pay_count = pay_count + 1 WHERE id = ?", (setup_id,))
    return 202, {"id": setup_id, "status": "PAID", "message": "The bonus payments are being processed."}


def payments(store: Store, study_id: str | None = None) -> list[dict]:
    """Every bonus payment made, oldest first (amounts in minor units), optionally for one study."""
    where, args = ("WHERE study_id = ?", (study_id,)) if study_id else ("", ())
    with store.read() as tx:
        rows = tx.execute(f"SELECT * FROM bonus_payments {where} ORDER BY seq", args).fetchall()
    return [
        {
            "setup_id": row["setup_id"],
            "study_id": row["study_id"],
            "participant_id": row["participant_id"],
            "submission_id": row["submission_id"],
            "amount": row["amount"],
            "fees": row["fees"],
            "vat": row["vat"],
            "paid_at": iso(row["paid_at"]),
        }
        for row in rows
    ]
