"""Studies: drafts, publishing, places, the status machine and the money each study locks.

The status follows the reference's table: UNPUBLISHED –PUBLISH→ ACTIVE, ACTIVE –PAUSE→ PAUSED,
PAUSED –START→ ACTIVE, ACTIVE/PAUSED/AWAITING REVIEW –STOP→ COMPLETED; an active study turns
AWAITING REVIEW when its finished submissions fill the places and COMPLETED once all of them are
reviewed; a rejection or a return re-opens a place; more places make a completed study active again.

Money: publishing locks `places × (reward + fee + VAT)` from the balance at the rates of that
moment (kept with the study, so a later rate change never rewrites a locked price). Whenever a
study stops taking participants for good, the places nobody holds are refunded; a later rejection
on a stopped study refunds that place too. `refresh` re-derives both after every change, so no
code path can leave status and money disagreeing.
"""

from __future__ import annotations

import json
import sqlite3

from . import money, validation
from .errors import FUNDS, ApiError, bad_transition, not_found
from .paging import page
from .store import Store, iso, new_id

SUBMISSION_STATUSES = (
    "RESERVED",
    "ACTIVE",
    "TIMED-OUT",
    "AWAITING REVIEW",
    "APPROVED",
    "PARTIALLY APPROVED",
    "RETURNED",
    "REJECTED",
    "SCREENED OUT",
)
#: Submissions that hold (or used up) one of the study's places.
HOLDING = ("RESERVED", "ACTIVE", "AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED")
#: Submissions whose participant has finished (the study fills up with these).
FINISHED = ("AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED")

TRANSITIONS = {
    ("UNPUBLISHED", "PUBLISH"): "ACTIVE",
    ("ACTIVE", "PAUSE"): "PAUSED",
    ("PAUSED", "START"): "ACTIVE",
    ("ACTIVE", "STOP"): "COMPLETED",
    ("PAUSED", "STOP"): "COMPLETED",
    ("AWAITING REVIEW", "STOP"): "COMPLETED",
}
ACTIONS = ("PUBLISH", "PAUSE", "START", "STOP")


def load(tx: sqlite3.Connection, study_id: str) -> sqlite3.Row:
    row = tx.execute("SELECT * FROM studies WHERE id = ?", (study_id,)).fetchone()
    if row is None:
        raise not_found("Study", study_id)
    return row


def tally(tx: sqlite3.Connection, study_id: str) -> dict[str, int]:
    """Submissions of a study by status (every status present) plus TOTAL."""
    counts = dict.fromkeys(SUBMISSION_STATUSES, 0)
    for status, n in tx.execute("SELECT status, COUNT(*) FROM submissions WHERE study_id = ? GROUP BY status", (study_id,)):
        counts[status] = n
    counts["TOTAL"] = sum(counts.values())
    return counts


def unit(data: dict) -> money.Charge:
    """One place's locked price (set at publish)."""
    return money.Charge(*data["_unit"])


def render(tx: sqlite3.Connection, row: sqlite3.Row) -> dict:
    data = json.loads(row["data"])
    counts = tally(tx, row["id"])
    public = {k: v for k, v in data.items() if not k.startswith("_")}
    price = unit(data) if "_unit" in data else money.account_charge(tx, data["reward"])
    return {
        "id": row["id"],
        **public,
        "status": row["status"],
        "date_created": iso(data["_created"]),
        "published_at": iso(data.get("_published")),
        "completed_at": iso(data.get("_completed")),
        "places_taken": sum(counts[s] for s in HOLDING),
        "number_of_submissions": counts["TOTAL"],
        "total_cost": price.times(data["total_available_places"]).total,
        "currency_code": Store.meta(tx, "currency_code"),
    }


def _save(tx: sqlite3.Connection, study_id: str, status: str, stopped: bool, funded: int, data: dict) -> None:
    tx.execute(
        "UPDATE studies SET status = ?, stopped = ?, funded_places = ?, data = ? WHERE id = ?",
        (status, int(stopped), funded, json.dumps(data), study_id),
    )


def refresh(tx: sqlite3.Connection, study_id: str, *, status: str | None = None, stopped: bool | None = None, data: dict | None = None) -> None:
    """Re-derive a published study's status and funding from its submissions; charges or refunds
    the difference (refusing with 402-style 400 when the balance cannot cover more places)."""
    row = load(tx, study_id)
    status = status or row["status"]
    stopped = bool(row["stopped"]) if stopped is None else stopped
    data = data if data is not None else json.loads(row["data"])
    if status == "UNPUBLISHED":
        _save(tx, study_id, status, False, 0, data)
        return
    counts = tally(tx, study_id)
    holding = sum(counts[s] for s in HOLDING)
    places = data["total_available_places"]
    if stopped:
        status = "COMPLETED"
    elif status != "PAUSED":
        if sum(counts[s] for s in FINISHED) >= places:
            status = "AWAITING REVIEW" if counts["AWAITING REVIEW"] else "COMPLETED"
        else:
            status = "ACTIVE"
    if status == "COMPLETED":
        data.setdefault("_completed", Store.now(tx))
    else:
        data.pop("_completed", None)
    taking = not stopped and status != "COMPLETED"
    target = places if taking else min(holding, places)
    delta = target - row["funded_places"]
    if delta:
        cost = unit(data).times(delta).total
        if delta > 0 and Store.balance(tx) < cost:
            raise ApiError(
                400,
                f"Insufficient funds: {delta} place(s) cost {money.major(cost)} and the balance is {money.major(Store.balance(tx))}.",
                code=FUNDS,
                info="Top up the account (local: babe-prolific account or /_local/account).",
            )
        Store.charge(tx, cost)
    _save(tx, study_id, status, stopped, target, data)


# -- endpoints ----------------------------------------------------------------------------------
def create(store: Store, body) -> tuple[int, dict]:
    fields = validation.new_study(body)
    study_id = new_id()
    with store.write() as tx:
        fields["_created"] = Store.now(tx)
        tx.execute(
            "INSERT INTO studies (id, status, data) VALUES (?, 'UNPUBLISHED', ?)",
            (study_id, json.dumps(fields)),
        )
        return 201, render(tx, load(tx, study_id))


def get(store: Store, study_id: str) -> tuple[int, dict]:
    with store.read() as tx:
        return 200, render(tx, load(tx, study_id))


def list_all(store: Store, request) -> tuple[int, dict]:
    with store.read() as tx:
        return 200, page(tx, request, "SELECT COUNT(*) FROM studies", "SELECT * FROM studies", (), lambda row: render(tx, row))


def patch(store: Store, study_id: str, body) -> tuple[int, dict]:
    with store.write() as tx:
        row = load(tx, study_id)
        current = json.loads(row["data"])
        published = row["status"] != "UNPUBLISHED"
        updated = validation.study_patch({k: v for k, v in current.items() if not k.startswith("_")}, published, body)
        data = {**current, **updated}
        stopped = bool(row["stopped"])
        if published and data["total_available_places"] > current["total_available_places"]:
            stopped = False  # more places re-open a completed (or stopped) study
        refresh(tx, study_id, stopped=stopped, data=data)
        return 200, render(tx, load(tx, study_id))


def delete(store: Store, study_id: str) -> tuple[int, None]:
    with store.write() as tx:
        row = load(tx, study_id)
        if row["status"] != "UNPUBLISHED":
            raise bad_transition(f"Only unpublished studies can be deleted; this one is {row['status']}.")
        tx.execute("DELETE FROM studies WHERE id = ?", (study_id,))
    return 204, None


def transition(store: Store, study_id: str, body) -> tuple[int, dict]:
    action = validation.action(body, ACTIONS)
    with store.write() as tx:
        row = load(tx, study_id)
        status = row["status"]
        if status == "COMPLETED" and action == "STOP" and row["stopped"]:
            raise bad_transition("The study is already stopped (COMPLETED).")
        target = TRANSITIONS.get((status, action))
        if target is None:
            raise bad_transition(f"Cannot {action} a study that is {status}.")
        data = json.loads(row["data"])
        if action == "PUBLISH":
            _check_minimum_pay(tx, data)
            price = money.account_charge(tx, data["reward"])
            data["_unit"] = [price.amount, price.fees, price.vat]
            data["_published"] = Store.now(tx)
        refresh(tx, study_id, status=target, stopped=action == "STOP", data=data)
        return 200, render(tx, load(tx, study_id))


def _check_minimum_pay(tx: sqlite3.Connection, data: dict) -> None:
    minimum = int(Store.meta(tx, "minimum_reward_per_hour"))
    hourly = data["reward"] * 60 / data["estimated_completion_time"]
    if hourly < minimum:
        raise ApiError(
            400,
            {"reward": [f"Pays {money.major(round(hourly))} per hour on the estimated time; the minimum is {money.major(minimum)} per hour."]},
        )


def cost(store: Store, study_id: str) -> tuple[int, dict]:
    """What the study costs so far: the places locked (rewards, fees, tax) and the bonuses paid."""
    with store.read() as tx:
        row = load(tx, study_id)
        data = json.loads(row["data"])
        price = unit(data) if "_unit" in data else money.account_charge(tx, data["reward"])
        places = price.times(row["funded_places"] if row["status"] != "UNPUBLISHED" else data["total_available_places"])
        b = tx.execute(
            "SELECT COALESCE(SUM(amount),0), COALESCE(SUM(fees),0), COALESCE(SUM(vat),0) FROM bonus_payments WHERE study_id = ?",
            (study_id,),
        ).fetchone()
        bonuses = money.Charge(b[0], b[1], b[2])
        return 200, {
            "currency_code": Store.meta(tx, "currency_code"),
            "rewards": {"rewards": places.amount, "fees": places.fees, "tax": places.vat, "total": places.total},
            "bonuses": {"rewards": bonuses.amount, "fees": bonuses.fees, "tax": bonuses.vat, "total": bonuses.total},
            "total_cost": places.total + bonuses.total,
        }


def calculator(store: Store, body) -> tuple[int, dict]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    for name in ("reward", "total_available_places"):
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors[name] = ["A whole number, 1 or more" + (" (minor units)." if name == "reward" else ".")]
    if errors:
        raise ApiError(400, errors)
    with store.read() as tx:
        total = money.account_charge(tx, body["reward"]).times(body["total_available_places"])
    return 200, {"total_cost": total.total, "rewards": total.amount, "fees": total.fees, "vat": total.vat}
