"""Simulated workers: the people on the other side of the local MTurk.

The requester API has no worker side, so the local MTurk brings its own: a table of workers with
the attributes Amazon's system qualifications read (locale, approval record, adult, Masters), and
`simulate`, which lets them take the open HITs the way people do — honouring qualification
requirements, blocks and the one-assignment-per-HIT rule — then return, abandon or submit, and,
like a _babe page, POST their trials to the experiment's backend before submitting the form.

Counts are exact, not coin flips: of the n assignments accepted in one call, round(n × return_rate)
are returned and round(n × abandon_rate) abandoned, and of the m submitted with a backend,
round(m × lose_rate) skip the POST. The seed decides which ones, and the trial data.

Every accept, return and submit is its own short write transaction, and the POST happens outside
any transaction, so a requester working on the same state file is never held up by a worker.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from babe_mturk.answers import answer_xml
from babe_mturk.local import store
from babe_mturk.local.errors import RequestError
from babe_mturk.local.ids import new_worker_id
from babe_mturk.local.service import Context
from babe_mturk.local.store import Store
from babe_tasks.simulation import participants
from babe_tasks.simulation.participants import (
    exact_count,
    experiment_id_of,
    post_trials,
)

POST_TIMEOUT = 10.0
_LOCALE = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{2}))?$")
#: What a new worker is like unless `profile` says otherwise: an experienced, well-rated worker who
#: passes the requirements labs usually set (≥ 95% approved, ≥ 1,000 HITs).
PERCENT_APPROVED_RANGE = (95, 100)
NUMBER_APPROVED_RANGE = (1000, 20000)
PROFILE_KEYS = frozenset({"percent_approved", "number_approved", "adult", "masters"})

store.register_schema(
    """
    CREATE TABLE IF NOT EXISTS sim_workers (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id TEXT NOT NULL UNIQUE,
        country TEXT NOT NULL,
        subdivision TEXT,
        percent_approved INTEGER NOT NULL,
        number_approved INTEGER NOT NULL,
        adult INTEGER NOT NULL,
        masters INTEGER NOT NULL,
        created REAL NOT NULL
    )
    """
)


# -- the workers' records --------------------------------------------------------------------------
def profile(ctx: Context, worker_id: str) -> sqlite3.Row | None:
    """The simulated worker's record (what Amazon's system qualifications read), or None."""
    return ctx.tx.execute("SELECT * FROM sim_workers WHERE worker_id = ?", (worker_id,)).fetchone()


def parse_locales(locale: str | Sequence[str]) -> list[tuple[str, str | None]]:
    """`"US"`, `"US-NY"`, `"US,DE"` or a list of those, as (country, subdivision) pairs."""
    items = locale.split(",") if isinstance(locale, str) else list(locale)
    pairs = []
    for item in items:
        match = _LOCALE.match(item.strip().upper())
        if not match:
            raise ValueError(f"locale {item!r} is not an ISO 3166 country, optionally with a subdivision (US, US-NY)")
        pairs.append((match.group(1), match.group(2)))
    if not pairs:
        raise ValueError("give at least one locale")
    return pairs


def _insert_worker(
    ctx: Context, worker_id: str, rng: random.Random, locale: tuple[str, str | None], overrides: Mapping[str, Any]
) -> None:
    values = {
        "percent_approved": rng.randint(*PERCENT_APPROVED_RANGE),
        "number_approved": rng.randint(*NUMBER_APPROVED_RANGE),
        "adult": True,
        "masters": False,
        **overrides,
    }
    ctx.tx.execute(
        "INSERT INTO sim_workers (worker_id, country, subdivision, percent_approved, number_approved, adult, masters, "
        "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            worker_id,
            locale[0],
            locale[1],
            int(values["percent_approved"]),
            int(values["number_approved"]),
            int(bool(values["adult"])),
            int(bool(values["masters"])),
            ctx.now,
        ),
    )


def ensure_workers(
    ctx: Context,
    *,
    count: int = 0,
    worker_ids: Sequence[str] = (),
    locale: str | Sequence[str] = "US",
    profile_overrides: Mapping[str, Any] | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """The named workers (made if new; known ones keep their record) followed by `count` new ones.

    New workers take the locales in turn (`"US,DE"`: US, DE, US, ...).
    """
    overrides = dict(profile_overrides or {})
    unknown = set(overrides) - PROFILE_KEYS
    if unknown:
        raise ValueError(f"unknown worker attributes: {', '.join(sorted(unknown))}")
    rng = rng or random.Random()
    locales = parse_locales(locale)
    made = 0
    ids: list[str] = []
    for worker_id in dict.fromkeys(worker_ids):
        if not re.fullmatch(r"A[A-Z0-9]+", worker_id) or len(worker_id) > 64:
            raise ValueError(f"worker id {worker_id!r} does not match ^A[A-Z0-9]+$")
        if profile(ctx, worker_id) is None:
            _insert_worker(ctx, worker_id, rng, locales[made % len(locales)], overrides)
            made += 1
        ids.append(worker_id)
    for _ in range(count):
        worker_id = new_worker_id()
        while profile(ctx, worker_id) is not None:  # 65 bits of randomness: practically never
            worker_id = new_worker_id()
        _insert_worker(ctx, worker_id, rng, locales[made % len(locales)], overrides)
        made += 1
        ids.append(worker_id)
    return ids


@contextmanager
def _write(turk) -> Iterator[Context]:
    with turk.store.write() as tx:
        yield Context(tx, Store.now(tx), turk)


@contextmanager
def _read(turk) -> Iterator[Context]:
    with turk.store.read() as tx:
        yield Context(tx, Store.now(tx), turk)


def add_workers(
    turk,
    count: int = 0,
    *,
    worker_ids: Sequence[str] = (),
    locale: str | Sequence[str] = "US",
    profile: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> list[str]:
    """Create simulated workers without letting them work (e.g. to grant them a qualification first)."""
    with _write(turk) as ctx:
        return ensure_workers(
            ctx, count=count, worker_ids=worker_ids, locale=locale, profile_overrides=profile, rng=random.Random(seed)
        )


def get_worker(turk, worker_id: str) -> dict | None:
    """A simulated worker's record as a plain dict, or None."""
    with _read(turk) as ctx:
        row = profile(ctx, worker_id)
    if row is None:
        return None
    return {
        "worker_id": row["worker_id"],
        "locale": "-".join(filter(None, (row["country"], row["subdivision"]))),
        "percent_approved": row["percent_approved"],
        "number_approved": row["number_approved"],
        "adult": bool(row["adult"]),
        "masters": bool(row["masters"]),
    }


def request_qualification(turk, worker_id: str, qualification_type_id: str, answer: str | None = None) -> str | None:
    """A simulated worker asks for a qualification; see `qualifications.request_qualification`."""
    from babe_mturk.local import qualifications

    with _write(turk) as ctx:
        return qualifications.request_qualification(ctx, worker_id, qualification_type_id, answer)


# -- what a _babe page sends ---------------------------------------------------------------------------
def make_trials(
    rng: random.Random, *, assignment_id: str, worker_id: str, hit_id: str, experiment_id: str | None, now: float
) -> list[dict]:
    """3–5 flat trial objects as a _babe page posts them: trial fields plus the MTurk ids and the
    experiment's global fields merged into each."""
    ids = {"assignment_id": assignment_id, "worker_id": worker_id, "hit_id": hit_id}
    return participants.make_trials(rng, ids=ids, experiment_id=experiment_id, now=now)


# -- one round of work -----------------------------------------------------------------------------------
def _check_rates(**rates: float) -> None:
    for name, rate in rates.items():
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {rate}")
    if rates["return_rate"] + rates["abandon_rate"] > 1.0:
        raise ValueError("return_rate + abandon_rate must not exceed 1")


def _open_groups(turk, hit_ids: Sequence[str] | None) -> dict[str, list[dict]]:
    """Open HITs by HIT type (one group to workers), each group's HITs in MTurk's order."""
    from babe_mturk.local import hits

    with _read(turk) as ctx:
        open_hits = hits.assignable_hits(ctx, list(hit_ids) if hit_ids is not None else None)
    groups: dict[str, list[dict]] = {}
    for hit in open_hits:
        groups.setdefault(hit["hit_type_id"], []).append(dict(hit))
    return groups


def _may_take(turk, worker_id: str, requirements: list[dict]) -> bool:
    from babe_mturk.local import blocks, qualifications

    with _read(turk) as ctx:
        if blocks.is_blocked(ctx, worker_id):
            return False
        return qualifications.worker_meets(ctx, worker_id, requirements)[0]


def _take_one(turk, worker_id: str, group: list[dict]) -> tuple[str, dict] | None:
    """Accept the first HIT of the group the worker can have; None if MTurk refuses every one."""
    from babe_mturk.local import assignments

    for hit in group:
        if hit["available"] <= 0:
            continue
        try:
            with _write(turk) as ctx:
                assignment_id = assignments.accept(ctx, hit["hit_id"], worker_id)
        except RequestError:
            continue  # already did this HIT, or it filled or expired meanwhile
        hit["available"] -= 1
        return assignment_id, hit
    return None


def simulate(
    turk,
    *,
    hit_ids: Sequence[str] | None = None,
    workers: int | None = None,
    worker_ids: Sequence[str] | None = None,
    locale: str | Sequence[str] = "US",
    return_rate: float = 0.0,
    abandon_rate: float = 0.0,
    lose_rate: float = 0.0,
    post_to: str | None = None,
    seed: int | None = None,
    profile: Mapping[str, Any] | None = None,
    experiment_id: str | None = None,
) -> dict:
    """One round of simulated work on the open HITs (all, or `hit_ids`).

    Workers are the `worker_ids` (known ones keep their record) and `workers` new ones; with
    neither, as many new workers as the fullest HIT group has open slots. `locale` and `profile`
    describe new workers only. Each worker, in order, takes at most one HIT of each HIT group
    (and never a HIT it already did: MTurk's rule) if it is not blocked and meets the group's
    requirements; a worker × group pair with open HITs that the worker cannot take counts as
    refused. Then the accepted assignments are returned, abandoned (left Accepted until the
    deadline passes) or submitted, in exact proportions; a submitter POSTs its trials to `post_to`
    first unless it is one of the `lose_rate` share, and a failed POST counts as lost too.
    Besides the agreed keys, `failed` lists submits MTurk refused ({assignment_id, error}).
    """
    _check_rates(return_rate=return_rate, abandon_rate=abandon_rate, lose_rate=lose_rate)
    rng = random.Random(seed)
    turk.settle_if_due()
    groups = _open_groups(turk, hit_ids)
    if workers is None and worker_ids is None:
        workers = max((sum(h["available"] for h in group) for group in groups.values()), default=0)
    with _write(turk) as ctx:
        crew = ensure_workers(
            ctx,
            count=workers or 0,
            worker_ids=list(worker_ids or ()),
            locale=locale,
            profile_overrides=profile,
            rng=rng,
        )

    refused = 0
    accepted: list[tuple[str, str, dict]] = []  # (assignment id, worker id, hit)
    for worker_id in crew:
        for group in groups.values():
            if not any(hit["available"] > 0 for hit in group):
                continue
            taken = _take_one(turk, worker_id, group) if _may_take(turk, worker_id, group[0]["requirements"]) else None
            if taken is None:
                refused += 1
                continue
            accepted.append((taken[0], worker_id, taken[1]))

    n = len(accepted)
    n_return = exact_count(n, return_rate)
    n_abandon = min(exact_count(n, abandon_rate), n - n_return)
    chosen = rng.sample(range(n), n_return + n_abandon)
    returning, abandoning = set(chosen[:n_return]), set(chosen[n_return:])
    submitting = [i for i in range(n) if i not in returning and i not in abandoning]
    losing = set(rng.sample(submitting, exact_count(len(submitting), lose_rate))) if post_to else set()

    result: dict[str, Any] = {
        "workers": crew,
        "submitted": [],
        "returned": [],
        "abandoned": [],
        "lost": [],
        "posted": [],
        "refused": refused,
        "failed": [],
    }
    from babe_mturk.local import assignments

    exp_id = experiment_id_of(post_to, experiment_id)
    client = None
    if post_to:
        import httpx

        client = httpx.Client(timeout=POST_TIMEOUT)
    try:
        for index, (assignment_id, worker_id, hit) in enumerate(accepted):
            if index in returning:
                with _write(turk) as ctx:
                    assignments.return_assignment(ctx, assignment_id)
                result["returned"].append(assignment_id)
                continue
            if index in abandoning:
                result["abandoned"].append(assignment_id)
                continue
            with _read(turk) as ctx:
                now = ctx.now
            trials = make_trials(
                rng, assignment_id=assignment_id, worker_id=worker_id, hit_id=hit["hit_id"], experiment_id=exp_id, now=now
            )
            posted = client is not None and post_to is not None and index not in losing and post_trials(client, post_to, trials)
            document = answer_xml({"assignmentId": assignment_id, "trials": json.dumps(trials)})
            try:
                with _write(turk) as ctx:
                    assignments.submit(ctx, assignment_id, document)
            except RequestError as exc:  # e.g. the clock passed the deadline while we worked
                result["failed"].append({"assignment_id": assignment_id, "error": exc.message})
                continue
            result["submitted"].append(assignment_id)
            if client is not None:
                result["posted" if posted else "lost"].append(assignment_id)
    finally:
        if client is not None:
            client.close()
    return result
