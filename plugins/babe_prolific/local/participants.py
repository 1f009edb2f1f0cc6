"""Simulated Prolific participants: they take places, run a _babe page, and submit a code.

Each participant is one visit: the study must be ACTIVE with a free place, and the participant
eligible — never a second submission in one study, not blocked by `previous_studies_blocklist`
(anyone with a submission in a listed study), inside an `approval_rate` filter's range (each
simulated participant has an approval rate, 100 unless given). An eligible participant reserves a
place, then, by exact proportions the seed arranges, returns it, times out (stays ACTIVE until the
clock passes the study's maximum allowed time), or finishes: POSTs _babe-shaped trials carrying
`prolific_id` (participant id), `session_id` (submission id) and `study_id` to the backend
(`post_to`, the full `.../api/submit_experiment/<id>` URL; `lose_rate` of them fail to reach it,
as a page whose POST failed), then submits with the study's COMPLETED code (or a wrong one, or
none). Studies stop taking people when full, paused or stopped — checked per participant, so a
study that fills midway turns the rest away.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

from babe_tasks.simulation.participants import (
    exact_count,
    experiment_id_of,
    make_trials,
    post_trials,
)

from . import studies, submissions
from .store import Store

OUTCOMES = ("submit", "return", "time_out", "wrong_code", "no_code")


def _check_rates(rates: dict[str, float]) -> None:
    for name, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {rate!r}")
    if sum(rates[k] for k in ("return_rate", "timeout_rate", "wrong_code_rate", "no_code_rate")) > 1.0 + 1e-9:
        raise ValueError("return_rate + timeout_rate + wrong_code_rate + no_code_rate must not exceed 1")


def _participant_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _eligible(tx, data: dict, participant_id: str, study_id: str | None = None) -> str | None:
    """Why this participant cannot take the study, or None (participant groups, collections and
    eligibility requirements are eligibility.py's)."""
    from .eligibility import refusal

    reason = refusal(tx, data, participant_id, study_id)
    if reason:
        return reason
    for item in data.get("filters", []):
        if item.get("filter_id") == "previous_studies_blocklist":
            listed = list(item.get("selected_values", []))
            if listed:
                marks = ",".join("?" * len(listed))
                if tx.execute(
                    f"SELECT 1 FROM submissions WHERE participant_id = ? AND study_id IN ({marks}) LIMIT 1", (participant_id, *listed)
                ).fetchone():
                    return "blocklisted (took part in a previous study)"
        elif item.get("filter_id") == "approval_rate":
            rng = item.get("selected_range", {})
            row = tx.execute("SELECT approval_rate FROM participants WHERE id = ?", (participant_id,)).fetchone()
            rate = row[0] if row else 100.0
            if not (rng.get("lower", 0) <= rate <= rng.get("upper", 100)):
                return f"approval rate {rate:g} outside {rng.get('lower', 0)}-{rng.get('upper', 100)}"
    return None


def _completion_code(data: dict) -> str | None:
    return next((c["code"] for c in data["completion_codes"] if c.get("code_type") == "COMPLETED"), None)


def _trials(rng: random.Random, *, participant_id: str, submission_id: str, study_id: str, experiment_id: str | None, now: float) -> list[dict]:
    ids = {"prolific_id": participant_id, "session_id": submission_id, "study_id": study_id}
    return make_trials(rng, ids=ids, experiment_id=experiment_id, now=now)


def simulate(
    state: str | Path | Store,
    study_id: str,
    count: int,
    *,
    post_to: str | None = None,
    seed: int = 0,
    return_rate: float = 0.0,
    timeout_rate: float = 0.0,
    wrong_code_rate: float = 0.0,
    no_code_rate: float = 0.0,
    lose_rate: float = 0.0,
    participant_ids: Sequence[str] | None = None,
    returning: int = 0,
    approval_rate: float = 100.0,
    token: str | None = None,
) -> list[dict]:
    """`count` participants visit `study_id`; returns one record per participant:
    `{"participant_id", "submission_id", "outcome", "status", "posted", "reason"}` where outcome is
    submit / return / time_out / wrong_code / no_code, or refused (with `reason`: closed, full,
    already took part, blocklisted, approval rate).

    `state` is a state file, a `Store`, or a server's URL (`http://127.0.0.1:8045`: the call is
    made through its `/_local/participants` route, with `token`: the server's state file's
    private-route token, which `babe-prolific serve` prints). `participant_ids` fixes who comes (else
    `returning` earlier participants of other studies, then new ones, all drawn by `seed`).
    """
    if isinstance(state, str) and state.startswith(("http://", "https://")):
        return _remote(state, study_id, count, post_to=post_to, seed=seed, return_rate=return_rate, timeout_rate=timeout_rate,
                       wrong_code_rate=wrong_code_rate, no_code_rate=no_code_rate, lose_rate=lose_rate,
                       participant_ids=list(participant_ids) if participant_ids is not None else None,
                       returning=returning, approval_rate=approval_rate, token=token)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a whole number, 0 or more, not {count!r}")
    if isinstance(returning, bool) or not isinstance(returning, int) or not 0 <= returning <= count:
        raise ValueError(f"returning must be between 0 and count ({count}), not {returning!r}")
    if isinstance(approval_rate, bool) or not isinstance(approval_rate, (int, float)) or not 0 <= approval_rate <= 100:
        raise ValueError(f"approval_rate must be a percentage between 0 and 100, not {approval_rate!r}")
    _check_rates({"return_rate": return_rate, "timeout_rate": timeout_rate, "wrong_code_rate": wrong_code_rate, "no_code_rate": no_code_rate, "lose_rate": lose_rate})
    if participant_ids is not None and len(participant_ids) != count:
        raise ValueError(f"participant_ids names {len(participant_ids)} participants but count is {count}")
    store = state if isinstance(state, Store) else Store(state)
    try:
        return _run(store, study_id, count, post_to, seed, return_rate, timeout_rate, wrong_code_rate, no_code_rate, lose_rate,
                    participant_ids, returning, approval_rate)
    finally:
        if store is not state:
            store.close()


def _remote(url: str, study_id: str, count: int, *, token: str | None = None, **options) -> list[dict]:
    import httpx

    from babe_tasks.simulation.serving import TOKEN_HEADER

    response = httpx.post(
        f"{url.rstrip('/')}/_local/participants", json={"study_id": study_id, "count": count, **options},
        headers={TOKEN_HEADER: token or ""}, timeout=120,
    )
    if response.status_code != 200:
        try:
            detail = response.json()["error"]["detail"]
        except (ValueError, KeyError, TypeError):
            detail = response.text[:200]
        raise ValueError(f"the local Prolific at {url} refused the participants: {detail}")
    return response.json()["participants"]


def _cast(rng: random.Random, count: int, rates: dict[str, float]) -> list[str]:
    """Outcomes in exact proportions, in an order the seed decides."""
    outcomes: list[str] = []
    for outcome, rate in rates.items():
        outcomes += [outcome] * exact_count(count, rate)
    outcomes = outcomes[:count] + ["submit"] * max(0, count - len(outcomes))
    rng.shuffle(outcomes)
    return outcomes


def _run(store, study_id, count, post_to, seed, return_rate, timeout_rate, wrong_code_rate, no_code_rate, lose_rate,
         participant_ids, returning, approval_rate) -> list[dict]:
    submissions.tick(store)
    with store.read() as tx:
        if tx.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
            raise ValueError(f"study {study_id} does not exist on this local Prolific")
        # Everyone seen so far is part of the seed: a second call brings new people.
        visits = tx.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
        rng = random.Random(f"{seed}:{visits}")
        if participant_ids is None:
            known = [row[0] for row in tx.execute(
                "SELECT id FROM participants WHERE id NOT IN (SELECT participant_id FROM submissions WHERE study_id = ?) ORDER BY id",
                (study_id,),
            )]
            if returning > len(known):
                raise ValueError(f"returning={returning} but only {len(known)} earlier participants have not taken this study")
            people = rng.sample(known, returning) + [_participant_id(rng) for _ in range(count - returning)]
        else:
            people = list(participant_ids)
    outcomes = _cast(rng, count, {"return": return_rate, "time_out": timeout_rate, "wrong_code": wrong_code_rate, "no_code": no_code_rate})
    finishing = [i for i, o in enumerate(outcomes) if o in ("submit", "wrong_code", "no_code")]
    losing = set(rng.sample(finishing, exact_count(len(finishing), lose_rate))) if post_to else set()
    client = None
    if post_to:
        import httpx

        client = httpx.Client(timeout=30)
    results = []
    try:
        for index, participant_id in enumerate(people):
            results.append(_visit(store, study_id, participant_id, outcomes[index], rng, client, post_to, index in losing, approval_rate))
    finally:
        if client is not None:
            client.close()
    return results


def _visit(store, study_id, participant_id, outcome, rng, client, post_to, lose, approval_rate) -> dict:
    record = {"participant_id": participant_id, "submission_id": None, "outcome": "refused", "status": None, "posted": False, "reason": None}
    with store.write() as tx:
        study = studies.load(tx, study_id)
        data = json.loads(study["data"])
        tx.execute("INSERT OR IGNORE INTO participants (id, approval_rate) VALUES (?, ?)", (participant_id, float(approval_rate)))
        counts = studies.tally(tx, study_id)
        if study["status"] != "ACTIVE":
            record["reason"] = f"closed (study is {study['status']})"
        elif sum(counts[s] for s in studies.HOLDING) >= data["total_available_places"]:
            record["reason"] = "full"
        elif tx.execute("SELECT 1 FROM submissions WHERE study_id = ? AND participant_id = ?", (study_id, participant_id)).fetchone():
            record["reason"] = "already took part"
        else:
            record["reason"] = _eligible(tx, data, participant_id, study_id)
        if record["reason"]:
            return record
        now = Store.now(tx)
        minutes = data["estimated_completion_time"] * rng.uniform(0.5, 1.2)
        minutes = min(minutes, data["maximum_allowed_time"] - 1)
        started = now if outcome == "time_out" else now - 60 * minutes
        record["submission_id"] = submission_id = submissions.start(tx, study, data, participant_id, started)
        record["outcome"] = outcome
        if outcome == "return":
            submissions.give_back(tx, submission_id)
        if outcome in ("return", "time_out"):
            record["status"] = submissions.load(tx, submission_id)["status"]
            return record
    if client is not None and not lose:
        trials = _trials(rng, participant_id=participant_id, submission_id=submission_id, study_id=study_id,
                         experiment_id=experiment_id_of(post_to), now=now)
        record["posted"] = post_trials(client, post_to, trials)
    code = {"submit": _completion_code(data), "wrong_code": f"WRONG{rng.getrandbits(16):04X}", "no_code": None}[outcome]
    with store.write() as tx:
        record["status"] = submissions.finish(tx, submission_id, code, data)
    return record

