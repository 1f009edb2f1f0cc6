"""expire: close the experiment's open HITs now, and with `delete` remove the finished ones.

Expiring is UpdateExpirationForHIT with a past time: no new worker can accept, while those who
already accepted may still submit until their assignment duration runs out. Deleting needs the
HIT Reviewable (or Reviewing), nobody still working, and every submitted assignment approved or
rejected; a HIT that is not there yet is reported with the reason and what to do, never forced.
HITs already closed are left alone (repeating an expiry is not idempotent on every MTurk).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import output
from ..errors import PartialFailure
from ..platform.base import (
    DELETABLE_STATUSES,
    HitInfo,
    OperationFailed,
    capabilities_of,
)
from ..plugins import call_after, call_before
from . import chosen_hits, concurrently, first_error, hit_id_of, session, vanished


@dataclass
class ExpireResult:
    expired: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    not_deleted: list[dict] = field(default_factory=list)
    #: HITs that were closed already (expired earlier, or full and finished).
    already_closed: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: What the platform calls a HIT, singular and plural (text output only).
    nouns: tuple[str, str] = ("HIT", "HITs")

    def as_json(self) -> dict:
        document = {"expired": self.expired, "deleted": self.deleted, "not_deleted": self.not_deleted}
        if self.failed:
            document["failed"] = self.failed
        return document


def run(settings, pm, *, hit_ids: list[str] | None = None, delete: bool = False) -> ExpireResult:
    """Expire the chosen HITs that are open; with `delete`, delete those that are finished.

    Raises `PartialFailure` carrying the result when a HIT could not be expired or deleted for a
    reason other than "not finished yet".
    """
    with session(settings, pm) as (platform, ledger):
        nouns = capabilities_of(platform).nouns
        # Unknown ids are refused before the plugins hear of them and before anything changes.
        chosen = chosen_hits(settings, ledger, hit_ids, nouns=nouns)
        outcomes = concurrently(settings, lambda hit: platform.get_hit(hit_id_of(hit)), chosen)
        outcomes = [outcome for outcome in outcomes if not vanished(settings, ledger, outcome, nouns)]
        first_error(outcomes)
        infos = {outcome.value.hit_id: outcome.value for outcome in outcomes}
        ids = list(infos)
        call_before(pm, "babe_before_expire", settings=settings, hit_ids=ids)
        result = ExpireResult(nouns=nouns)
        now = platform.now()

        def close(hit_id: str) -> ExpireResult:
            """One HIT, on its own result: the HITs go concurrently, the results merge in input order."""
            mine = ExpireResult()
            info = infos.get(hit_id) or platform.get_hit(hit_id)
            if info.is_open(now):
                try:
                    platform.expire(hit_id)
                except OperationFailed as exc:
                    mine.failed.append({"hit_id": hit_id, "error": str(exc)})
                    return mine
                mine.expired.append(hit_id)
                if delete:  # deleting depends on the status the expiry led to
                    info = platform.get_hit(hit_id)
                ledger.update_hit(hit_id, status=info.status, expires_at=now)
            else:
                mine.already_closed.append(hit_id)
                ledger.update_hit(hit_id, status=info.status, expires_at=info.expires_at)
            if delete and info.status != "Disposed":  # deleted by another tool: nothing left to do
                _delete(platform, ledger, info, mine)
            return mine

        with output.progress("expiring", total=len(ids)) as bar:
            closed = concurrently(settings, close, ids, advance=bar.advance)
        for outcome in closed:
            if outcome.error is not None:  # a BabeError outside expire/delete, e.g. the GetHIT after expiring
                result.failed.append({"hit_id": outcome.item, "error": str(outcome.error)})
                continue
            for name in ("expired", "deleted", "not_deleted", "already_closed", "failed"):
                getattr(result, name).extend(getattr(outcome.value, name))
    result.warnings = call_after(pm, "babe_after_expire", settings=settings, result=result)
    if result.failed:
        first = result.failed[0]
        raise PartialFailure(
            f"{output.count(len(result.failed), result.nouns)} could not be changed ({first['hit_id']}: {first['error']}); "
            "run expire again to finish",
            result.as_json(),
        )
    return result


def _delete(platform, ledger, info: HitInfo, result: ExpireResult) -> None:
    """Delete one HIT if it is finished; otherwise say why not and what to do."""
    reason = _not_finished(platform, info)
    if reason is None:
        try:
            platform.delete(info.hit_id)
        except OperationFailed as exc:
            reason = str(exc)
        else:
            result.deleted.append(info.hit_id)
            ledger.update_hit(info.hit_id, status="Disposed")
            return
    result.not_deleted.append({"hit_id": info.hit_id, "reason": reason})


def _not_finished(platform, info: HitInfo) -> str | None:
    if info.pending:
        return (
            f"{info.pending} worker(s) still working on it; they may submit until their assignment time runs "
            "out — try again later"
        )
    if info.status not in DELETABLE_STATUSES:
        return f"it is {info.status}, not Reviewable yet — try again later"
    waiting = [a.assignment_id for a in platform.iter_assignments(info.hit_id, ("Submitted",))]
    if waiting:
        return waiting_advice(waiting)
    return None


def waiting_advice(waiting: list[str]) -> str:
    """What to do about submitted work that keeps a HIT from being deleted.

    "Run babe approve" alone is wrong advice for the assignments approve always holds back (a
    repeat worker's, or one with no data in the backend): those wait for the lab's decision, so the
    advice names them and the two commands that settle them.
    """
    shown = ", ".join(waiting[:3]) + (f" and {len(waiting) - 3} more" if len(waiting) > 3 else "")
    return (
        f"{len(waiting)} submitted assignment(s) not yet approved or rejected ({shown}) — run babe approve; those it "
        "holds back (repeat worker, no data in the backend) are yours to decide: babe reject --assignment ID "
        "--reason '…', or babe approve --assignment ID --allow-repeat-workers (or --approve-without-data)"
    )
