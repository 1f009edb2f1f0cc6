"""The lifecycle steps: plain functions `run(settings, pm, ...) -> Result`, callable without invoke.

Each step plans, lets the before-hooks change or stop the plan, calls the platform, writes the
ledger, and lets the after-hooks observe. What several steps share lives here: opening the
platform and the ledger, choosing the experiment's HITs, running platform calls concurrently, and
telling repeat workers apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import output
from ..errors import BabeError, UsageError
from ..ledger import HitRecord, Ledger, LedgerUnavailable
from ..platform import Platform
from ..platform.base import NotFound, capabilities_of
from ..plugins import get_platform

T = TypeVar("T")
R = TypeVar("R")

#: Why approve holds every assignment of a worker but the first (docs/lifecycle.md, "approve").
REPEAT_REASON = "repeat worker"


@contextmanager
def session(settings, pm) -> Iterator[tuple[Platform, Ledger]]:
    """The platform the plugins chose and the experiment's ledger, closed when the step ends.

    The platform checks its credentials first, so a step with nothing to do on sandbox still
    says that none are configured, and `create` says it before asking anyone to confirm a spend.
    """
    platform = get_platform(pm, settings)
    platform.connect()
    ledger = Ledger.of(settings)
    # The hooks' context hands plugins this very platform, not a second one (`HookContext.platform`).
    context = getattr(pm, "context", None)
    try:
        with context.use_platform(platform) if context is not None else nullcontext():
            yield platform, ledger
    finally:
        ledger.close()
        platform.close()


def pricing_for(settings, pm) -> Any:
    """The fee rules of the settings' platform (`money.Pricing`), for questions that need no call.

    `cost` of a create and `doctor`'s plan check price without a session: the platform is built
    (not connected), its `pricing` read, and it is closed again. An unknown platform is the
    UsageError `get_platform` raises.
    """
    from ..platform.base import pricing_of

    platform = get_platform(pm, settings)
    try:
        return pricing_of(platform)
    finally:
        platform.close()


def nouns_for(settings, pm) -> tuple[str, str]:
    """What the settings' platform calls a HIT (`output.MTURK_NOUNS` unless it names its own), for
    text a task prints without a session (`report`, `doctor`, the partial result of a failed step,
    which is its JSON document): the platform is built, not connected, and closed again. Words
    only: a platform that cannot even be built gets MTurk's, the error is the step's to report."""
    from ..errors import BabeError

    try:
        platform = get_platform(pm, settings)
    except BabeError:
        return output.MTURK_NOUNS
    try:
        one, many = capabilities_of(platform).nouns
        return (one, many)
    finally:
        platform.close()


def chosen_hits(
    settings,
    ledger: Ledger,
    hit_ids: Iterable[str] | None,
    *,
    include_gone: bool = False,
    nouns: tuple[str, str] = output.MTURK_NOUNS,
) -> list[HitRecord | str]:
    """The HITs a step works on: `--hit` ids, else every HIT of the experiment on this target.

    HITs the ledger knows are deleted (or vanished) are left out unless `include_gone`: only
    `status` still shows them, from the ledger, without a call.

    Only the HITs of the settings' platform: an experiment run on MTurk and then on Prolific from
    the same folder keeps the two sets apart. A `--hit` id the ledger knows from another target or
    platform is refused (a sandbox HIT on live is a mistake that would otherwise surface as a
    confusing "does not exist"). Ids the ledger does not know are returned as plain strings: HITs
    posted by other tools are welcome. `nouns` word the refusals as the platform the user is on
    names its units (`capabilities_of(platform).nouns`): they name the id the user gave.
    """
    if not hit_ids:
        hits = ledger.hits(settings.experiment, settings.target, settings.platform)
        return [hit for hit in hits if include_gone or not hit.gone]
    chosen: list[HitRecord | str] = []
    for hit_id in dict.fromkeys(h.strip() for h in hit_ids if h and h.strip()):
        record = ledger.hit(hit_id)
        if record is not None and record.target != settings.target:
            raise UsageError(
                f"{nouns[0]} {hit_id} was posted on {record.target}, not {settings.target}: pass --target {record.target}"
            )
        if record is not None and record.platform != settings.platform:
            raise UsageError(
                f"{nouns[0]} {hit_id} was posted on {record.platform}, not {settings.platform}: pass --platform {record.platform}"
            )
        if record is None:
            chosen.append(hit_id)
        elif include_gone or not record.gone:
            chosen.append(record)
    return chosen


def hit_id_of(hit: HitRecord | str) -> str:
    return hit if isinstance(hit, str) else hit.hit_id  # type: ignore[return-value]


@dataclass
class Outcome:
    """One concurrent call's result or the BabeError it raised."""

    item: Any
    value: Any = None
    error: BabeError | None = None


def concurrently(
    settings,
    fn: Callable[[T], R],
    items: list[T],
    *,
    advance: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Run `fn` over items with at most `max_concurrency` calls in flight, in input order.

    A BabeError from one item is kept with it and never stops the others; anything else is a bug
    and propagates. A `LedgerUnavailable` is different: the calls still to come could not be
    recorded either (and would pay without a record), so items not started yet are not run — they
    carry that error, the step reports them as failed, and the re-run does them. The request rate
    is further bounded by the client's adaptive retry mode.
    """
    halted: list[LedgerUnavailable] = []

    def one(item: T) -> Outcome:
        try:
            if halted:
                return Outcome(item, error=halted[0])
            return Outcome(item, fn(item))
        except LedgerUnavailable as exc:
            halted.append(exc)
            return Outcome(item, error=exc)
        except BabeError as exc:
            return Outcome(item, error=exc)
        finally:
            if advance is not None:
                advance()

    if len(items) <= 1 or settings.max_concurrency <= 1:
        return [one(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(settings.max_concurrency, len(items))) as pool:
        return list(pool.map(one, items))


def vanished(settings, ledger: Ledger, outcome: Outcome, nouns: tuple[str, str] = output.MTURK_NOUNS) -> bool:
    """Whether a call failed because a ledger HIT no longer exists; if so it is marked and warned about.

    Such a HIT (deleted by another tool, disposed by MTurk after 120 days, or on a local state
    that was reset) must not block the experiment's other HITs, run after run. `nouns` as in
    `chosen_hits`; MTurk's 120-day disposal is named only where it is the platform's rule.
    """
    if not (isinstance(outcome.error, NotFound) and isinstance(outcome.item, HitRecord)):
        return False
    ledger.update_hit(outcome.item.hit_id, status="NotFound")
    disposed = "disposed after 120 days, " if tuple(nouns) == output.MTURK_NOUNS else ""
    output.warn(
        f"{nouns[0]} {outcome.item.hit_id} is no longer known to {settings.target} (deleted elsewhere, {disposed}"
        "or the local state was reset); the ledger keeps what it saw and skips it from now on"
    )
    return True


def first_error(outcomes: list[Outcome]) -> None:
    """Raise the first error of calls that must all succeed for the step to mean anything."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error


def repeat_workers(assignments: Iterable[Any]) -> dict[str, list[str]]:
    """Workers seen in more than one assignment: worker id → their assignment ids, first first.

    `assignments` are ledger rows (or anything with `worker_id` and `assignment_id`) in the order
    workers accepted them, as `Ledger.assignments` returns them.
    """
    by_worker: dict[str, list[str]] = {}
    for row in assignments:
        by_worker.setdefault(row["worker_id"], []).append(row["assignment_id"])
    return {worker: ids for worker, ids in by_worker.items() if len(ids) > 1}
