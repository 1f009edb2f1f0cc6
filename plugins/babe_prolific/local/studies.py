"""Studies: drafts, publishing, places, the status machine and the money each study locks.

The status follows the reference's table: UNPUBLISHED –PUBLISH→ PUBLISHING, which becomes ACTIVE
when the publication settles (`pending.py`: asynchronous, as on Prolific), ACTIVE –PAUSE→ PAUSED,
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

import csv
import io
import json
import re
import sqlite3

from . import money, pending, validation
from .errors import FUNDS, ApiError, bad_transition, invalid
from .paging import page
from .store import Store, iso, load_row, new_id

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
    ("UNPUBLISHED", "PUBLISH"): "PUBLISHING",
    ("ACTIVE", "PAUSE"): "PAUSED",
    ("PAUSED", "START"): "ACTIVE",
    ("ACTIVE", "STOP"): "COMPLETED",
    ("PAUSED", "STOP"): "COMPLETED",
    ("AWAITING REVIEW", "STOP"): "COMPLETED",
}
ACTIONS = ("PUBLISH", "PAUSE", "START", "STOP")
#: What `GET /studies/?state=` takes (the spec's enum; PUBLISHING included, as Prolific has it).
STATES = ("ACTIVE", "PAUSED", "UNPUBLISHED", "PUBLISHING", "COMPLETED", "AWAITING REVIEW", "UNKNOWN", "SCHEDULED")
#: The members of a study list item (the spec's StudyShort).
SHORT = ("id", "name", "internal_name", "status", "study_type", "total_available_places", "places_taken",
         "number_of_submissions", "reward", "total_cost", "published_at", "publish_at", "date_created")


def load(tx: sqlite3.Connection, study_id: str) -> sqlite3.Row:
    return load_row(tx, "studies", study_id, "Study")


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
    """The full Study: every field the researcher set, then what Prolific derives. Beside the
    spec's members it carries `date_created`, `published_at`, `places_taken`, `number_of_submissions`,
    `total_cost` (StudyShort's), `study_type`, `publish_at`, and the undocumented `completed_at` and
    `currency_code` (docs/localprolific.md)."""
    data = json.loads(row["data"])
    counts = tally(tx, row["id"])
    public = {k: v for k, v in data.items() if not k.startswith("_")}
    price = unit(data) if "_unit" in data else money.account_charge(tx, data["reward"])
    return {
        "id": row["id"],
        **public,
        "status": row["status"],
        "study_type": "SINGLE",
        "date_created": iso(data["_created"]),
        "publish_at": None,
        "published_at": iso(data.get("_published")),
        "completed_at": iso(data.get("_completed")),
        "places_taken": sum(counts[s] for s in HOLDING),
        "number_of_submissions": counts["TOTAL"],
        "total_cost": price.times(data["total_available_places"]).total,
        "currency_code": Store.meta(tx, "currency_code"),
    }


def render_short(tx: sqlite3.Connection, row: sqlite3.Row) -> dict:
    """A study list item: StudyShort's members only (a client wanting more fetches the study)."""
    full = render(tx, row)
    return {key: full[key] for key in SHORT if key in full}


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
    elif status not in ("PAUSED", "PUBLISHING"):
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


def _states(text: str) -> list[str]:
    """`ACTIVE`, `active` or the description's `(active|published|...)` form; 400 otherwise."""
    wanted = [part.strip().upper().replace("_", " ") for part in re.split(r"[|,]", text.strip().strip("()")) if part.strip()]
    unknown = [w for w in wanted if w not in STATES]
    if unknown or not wanted:
        raise invalid("state", f"Must be one of {', '.join(STATES)} (or several as (ACTIVE|PAUSED)).")
    return wanted


def list_all(store: Store, request, *, project: str | None = None) -> tuple[int, dict]:
    """`GET /studies/` (`?state=`), or a project's studies: StudyShort items, newest last."""
    where, args = [], []
    if request.query.get("state"):
        states = _states(request.query["state"])
        where.append(f"status IN ({','.join('?' * len(states))})")
        args += states
    if project is not None:
        # A study whose body named no project is in the account's default project (tables.py).
        from .tables import DEFAULT_PROJECT_ID

        where.append(f"COALESCE(json_extract(data, '$.project'), '{DEFAULT_PROJECT_ID}') = ?")
        args.append(project)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with store.read() as tx:
        return 200, page(tx, request, f"SELECT COUNT(*) FROM studies{clause}", f"SELECT * FROM studies{clause}", tuple(args), lambda row: render_short(tx, row))


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
    return 200, None  # the spec's answer (no body), not the 204 a REST habit would suggest


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
            _publish(tx, study_id, data)
        else:
            refresh(tx, study_id, status=target, stopped=action == "STOP", data=data)
        return 200, render(tx, load(tx, study_id))


def _publish(tx: sqlite3.Connection, study_id: str, data: dict) -> None:
    """Lock the money now (refused without funds), go PUBLISHING, and become ACTIVE when settled."""
    _check_minimum_pay(tx, data)
    price = money.account_charge(tx, data["reward"])
    data["_unit"] = [price.amount, price.fees, price.vat]
    data["_published"] = Store.now(tx)
    refresh(tx, study_id, status="PUBLISHING", stopped=False, data=data)
    pending.schedule(tx, "publish", study_id)


@pending.handles("publish")
def _published(tx: sqlite3.Connection, study_id: str, payload: dict) -> None:
    row = tx.execute("SELECT status FROM studies WHERE id = ?", (study_id,)).fetchone()
    if row is not None and row["status"] == "PUBLISHING":
        refresh(tx, study_id, status="ACTIVE")


def _check_minimum_pay(tx: sqlite3.Connection, data: dict) -> None:
    minimum = int(Store.meta(tx, "minimum_reward_per_hour"))
    hourly = data["reward"] * 60 / data["estimated_completion_time"]
    if hourly < minimum:
        raise ApiError(
            400,
            {"reward": [f"Pays {money.major(round(hourly))} per hour on the estimated time; the minimum is {money.major(minimum)} per hour."]},
        )


def _amounts(charge: money.Charge, currency: str) -> dict:
    return {
        "rewards": {"amount": charge.amount, "currency": currency},
        "fees": {"amount": charge.fees, "currency": currency},
        "tax": {"amount": charge.vat, "currency": currency},
    }


def cost(store: Store, study_id: str, request) -> tuple[int, dict]:
    """StudyTotalCost: the places locked now (`?is_projected=true`: every place, as if all were
    taken) and the bonuses paid (projected: also those whose payment has not settled yet)."""
    projected = str(request.query.get("is_projected", "false")).lower() == "true"
    with store.read() as tx:
        row = load(tx, study_id)
        data = json.loads(row["data"])
        currency = Store.meta(tx, "currency_code")
        price = unit(data) if "_unit" in data else money.account_charge(tx, data["reward"])
        counted = data["total_available_places"] if projected or row["status"] == "UNPUBLISHED" else row["funded_places"]
        places = price.times(counted)
        b = tx.execute(
            "SELECT COALESCE(SUM(amount),0), COALESCE(SUM(fees),0), COALESCE(SUM(vat),0) FROM bonus_payments WHERE study_id = ?",
            (study_id,),
        ).fetchone()
        bonuses = money.Charge(b[0], b[1], b[2])
        if projected:
            for waiting in pending.waiting(tx, "bonus"):
                setup = tx.execute("SELECT * FROM bonus_setups WHERE id = ? AND study_id = ?", (waiting["ref"], study_id)).fetchone()
                if setup is not None:
                    bonuses = bonuses + money.Charge(setup["amount"], setup["fees"], setup["vat"])
        rewards = _amounts(places, currency)
        rewards.update(rep_sample_fees={"amount": 0, "currency": currency}, rep_sample_tax={"amount": 0, "currency": currency})
        return 200, {"rewards": rewards, "bonuses": _amounts(bonuses, currency)}


def calculator(store: Store, body) -> tuple[int, dict]:
    """StudyCostResponse's `total_cost`, with the undocumented break-down `rewards`, `fees`, `vat`."""
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


# -- copies of a study ----------------------------------------------------------------------------
def _copy(tx: sqlite3.Connection, source: dict, **changes) -> str:
    data = {k: v for k, v in source.items() if not k.startswith("_")}
    data.update(changes)
    data["_created"] = Store.now(tx)
    study_id = new_id()
    tx.execute("INSERT INTO studies (id, status, data) VALUES (?, 'UNPUBLISHED', ?)", (study_id, json.dumps(data)))
    return study_id


def clone(store: Store, study_id: str, body) -> tuple[int, dict]:
    """A new draft with the same settings; unless `block_previous_participants` is false, the
    original's participants are blocked through `previous_studies_blocklist` (as Prolific does)."""
    body = body if isinstance(body, dict) else {}
    block = body.get("block_previous_participants", True)
    if not isinstance(block, bool):
        raise invalid("block_previous_participants", "Must be a boolean.")
    with store.write() as tx:
        source = json.loads(load(tx, study_id)["data"])
        filters = [dict(f) for f in source.get("filters") or []]
        if block:
            listed = next((f for f in filters if f.get("filter_id") == "previous_studies_blocklist"), None)
            if listed is None:
                filters.append({"filter_id": "previous_studies_blocklist", "selected_values": [study_id]})
            elif study_id not in listed["selected_values"]:
                listed["selected_values"] = [*listed["selected_values"], study_id]
        copy_id = _copy(tx, source, filters=filters)
        return 200, render(tx, load(tx, copy_id))


def test_study(store: Store, study_id: str, body, base_url: str) -> tuple[int, dict]:
    """A one-place copy of a draft for one participant (or a participant group), published."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    person, group = body.get("target_participant_id"), body.get("target_participant_group_id")
    if (person is None) == (group is None) or not isinstance(person or group, str):
        raise ApiError(400, {"target_participant_id": ["Give exactly one of target_participant_id or target_participant_group_id."]})
    with store.write() as tx:
        row = load(tx, study_id)
        if row["status"] != "UNPUBLISHED":
            raise bad_transition(f"A test study is made from a draft; this study is {row['status']}.")
        source = json.loads(row["data"])
        allow = {"filter_id": "custom_allowlist", "selected_values": [person]} if person else {
            "filter_id": "participant_group_allowlist", "selected_values": [group]}
        copy_id = _copy(tx, source, name=f"[TEST] {source['name']}", total_available_places=1,
                        filters=[*(source.get("filters") or []), allow])
        _publish(tx, copy_id, json.loads(load(tx, copy_id)["data"]))
    return 200, {"study_id": copy_id, "study_url": f"{base_url}/studies/{copy_id}"}


EXPORT_COLUMNS = ("Submission id", "Participant id", "Status", "Started at", "Completed at", "Time taken", "Completion code")


def export(store: Store, study_id: str, request) -> tuple[int, object]:
    """The study's submissions as CSV (no prescreening answers: the local participants have none),
    or with `?method=EMAIL` the promise of an e-mail."""
    method = request.query.get("method")
    if method not in (None, "", "EMAIL"):
        raise invalid("method", "Must be EMAIL (or left out for the CSV itself).")
    with store.read() as tx:
        load(tx, study_id)
        if method == "EMAIL":
            return 200, {"status": "Your export should arrive shortly."}
        rows = tx.execute("SELECT * FROM submissions WHERE study_id = ? ORDER BY seq", (study_id,)).fetchall()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        taken = None if r["completed_at"] is None else round(r["completed_at"] - r["started_at"])
        writer.writerow([r["id"], r["participant_id"], r["status"], iso(r["started_at"]), iso(r["completed_at"]) or "", "" if taken is None else taken, r["study_code"] or ""])
    from .app import Text

    return 200, Text(out.getvalue(), "text/csv; charset=utf-8")
