"""Bonuses in Prolific's two steps: set up (free, priced), then pay — and paying twice pays twice.

`POST /submissions/bonus-payments/` checks every CSV row (≤ 200, decimal major units, each naming a
submission of the study or a participant with one) and prices it: per row `amount + fee + VAT on
the fee` (money.py). `POST /bulk-bonus-payments/{id}/pay/` answers 202 at once and pays later, as
Prolific does: when the work settles (`pending.py`) the balance is charged and one payment per row
recorded — for every call: the local server deliberately keeps the real API's trap, because the
adapter's journal exists to avoid it and a test must be able to see it fail. `payments()` is the
ground truth a test asserts against ("paid exactly once").
"""

from __future__ import annotations

import json
import sqlite3

from . import money, pending, validation
from .errors import FUNDS, ApiError
from .store import Store, iso, load_row, new_id


def setup(store: Store, body) -> tuple[int, dict]:
    study_id, rows = validation.bonus_rows(body)
    with store.write() as tx:
        if tx.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
            raise ApiError(400, {"study_id": [f"Study {study_id} was not found."]})
        priced = []
        total = money.ZERO
        unknown = []
        for named, cents in rows:
            submission = tx.execute(
                "SELECT id, participant_id FROM submissions WHERE study_id = ? AND (id = ? OR participant_id = ?)"
                " ORDER BY id = ? DESC, seq DESC LIMIT 1",
                (study_id, named, named, named),
            ).fetchone()
            if submission is None:
                unknown.append(named)
                continue
            price = money.account_charge(tx, cents)
            total = total + price
            priced.append([submission["participant_id"], submission["id"], price.amount, price.fees, price.vat])
        if unknown:
            raise ApiError(
                400,
                {"csv_bonuses": [f"Neither a submission of study {study_id} nor a participant with one: {', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else "")]},
            )
        setup_id = new_id()
        tx.execute(
            "INSERT INTO bonus_setups (id, study_id, rows, amount, fees, vat, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (setup_id, study_id, json.dumps(priced), total.amount, total.fees, total.vat, Store.now(tx)),
        )
        return 201, _render(tx.execute("SELECT * FROM bonus_setups WHERE id = ?", (setup_id,)).fetchone())


def _render(row: sqlite3.Row) -> dict:
    """BulkBonus, plus the undocumented `created_at`."""
    return {
        "id": row["id"],
        "study": row["study_id"],
        "amount": row["amount"],
        "fees": row["fees"],
        "vat": row["vat"],
        "total_amount": row["amount"] + row["fees"] + row["vat"],
        "created_at": iso(row["created_at"]),
    }


def committed(tx: sqlite3.Connection) -> int:
    """Money promised to bonus payments that have not settled yet (minor units)."""
    total = 0
    for waiting in pending.waiting(tx, "bonus"):
        setup = tx.execute("SELECT amount, fees, vat FROM bonus_setups WHERE id = ?", (waiting["ref"],)).fetchone()
        if setup is not None:
            total += setup["amount"] + setup["fees"] + setup["vat"]
    return total


def pay(store: Store, setup_id: str) -> tuple[int, str]:
    """Promise the set-up's payments (refused now if the balance, less payments already promised,
    cannot cover them); they are made when the work settles — again for every call, as Prolific."""
    with store.write() as tx:
        row = load_row(tx, "bonus_setups", setup_id, "Bulk bonus payment")
        total = row["amount"] + row["fees"] + row["vat"]
        free = Store.balance(tx) - committed(tx)
        if free < total:
            raise ApiError(400, f"Insufficient funds: the bonuses cost {money.major(total)} and {money.major(free)} is free.", code=FUNDS)
        pending.schedule(tx, "bonus", setup_id)
    return 202, "The bonus payments are being processed."


@pending.handles("bonus")
def _pay(tx: sqlite3.Connection, setup_id: str, payload: dict) -> None:
    row = tx.execute("SELECT * FROM bonus_setups WHERE id = ?", (setup_id,)).fetchone()
    Store.charge(tx, row["amount"] + row["fees"] + row["vat"])
    now = Store.now(tx)
    tx.executemany(
        "INSERT INTO bonus_payments (setup_id, study_id, participant_id, submission_id, amount, fees, vat, paid_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(setup_id, row["study_id"], p, s, a, f, v, now) for p, s, a, f, v in json.loads(row["rows"])],
    )
    tx.execute("UPDATE bonus_setups SET pay_count = pay_count + 1 WHERE id = ?", (setup_id,))


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
