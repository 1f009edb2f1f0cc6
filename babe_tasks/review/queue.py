"""The submissions under review, read once (and again on refresh) and kept in memory.

The page pages through this list many times a minute; asking the platform each time would be slow
and would make the list shift under the reviewer. So the queue is read in one go — every
assignment of the experiment (`approve.gather`, the step's own listing), the reasons approve would
hold each one now (`approve.held_back`, so page and command never disagree), its reward
(`approve.Prices`) and what the plugins know of each participant (`babe_review_data`) — and after a
decision the items change from the step's answer, not from a new listing.

Every assignment of the experiment is kept, decided ones too: a submission approved earlier can
still get a bonus, as on the command line. `filter=awaiting` shows those still Submitted.
"""

from __future__ import annotations

import math
import statistics
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .. import output
from ..errors import PluginFailure, Veto
from ..platform.base import AssignmentInfo, Capabilities, capabilities_of, optional
from ..plugins import collect
from ..reviewdata import ParticipantData, ReviewData
from ..steps import approve, session

#: How many bars the group's reaction times are drawn in.
BINS = 20
#: The most items one page of the list may carry (`limit`).
MAX_LIMIT = 200
FILTERS = ("awaiting", "all")
CENT = Decimal("0.01")


@dataclass
class Item:
    """One submission as the page shows it: the platform's record, its reward, holds and data."""

    info: AssignmentInfo
    status: str
    reward: Decimal
    holds: list[str] = field(default_factory=list)
    #: The answer the participant's page sent, as fields (the platform's `answer_fields`).
    answer: dict[str, str] = field(default_factory=dict)
    #: Bonuses the ledger records as paid for this submission (amounts, without fees): a reviewer
    #: sees who already got one before paying another.
    bonus_paid: Decimal = Decimal("0.00")
    #: (source, columns, data) for each plugin that knows this participant.
    data: list[tuple[str, list[str], ParticipantData]] = field(default_factory=list)

    @property
    def assignment_id(self) -> str:
        return self.info.assignment_id

    @property
    def worker_id(self) -> str:
        return self.info.worker_id

    def seconds_taken(self) -> int | None:
        taken = self.info.seconds_taken()
        return None if taken is None else int(taken)

    def pay_per_hour(self) -> Decimal | None:
        """The reward over the hours taken, in the platform's currency; None without times (or no time at all)."""
        seconds = self.seconds_taken()
        if not seconds:
            return None
        return (self.reward * 3600 / Decimal(seconds)).quantize(CENT)

    def checks(self) -> dict | None:
        """Attention checks summed over every source that has them; None when none does."""
        found = [data.checks for _, _, data in self.data if data.checks is not None]
        if not found:
            return None
        return {"passed": sum(c.passed for c in found), "failed": sum(c.failed for c in found)}

    def as_json(self) -> dict:
        return output.jsonable(
            {
                "assignment_id": self.info.assignment_id,
                "worker_id": self.info.worker_id,
                "hit_id": self.info.hit_id,
                "status": self.status,
                "accept_time": output.iso_time(self.info.accept_time),
                "submit_time": output.iso_time(self.info.submit_time),
                "seconds_taken": self.seconds_taken(),
                "reward": self.reward,
                "pay_per_hour": self.pay_per_hour(),
                "holds": list(self.holds),
                "has_data": bool(self.data),
                "checks": self.checks(),
                "bonus_paid": self.bonus_paid,
            }
        )

    def detail(self) -> dict:
        """The item with each source's rows, reaction times and checks, and the platform's answer."""
        document = self.as_json()
        document["data"] = [
            {"source": source, "columns": list(columns), **output.jsonable(data.as_json(columns))}
            for source, columns, data in self.data
        ]
        document["answer"] = dict(self.answer)
        return document


def histogram(values: list[float], bins: int = BINS) -> dict | None:
    """The group's reaction times in `bins` equal bars from the fastest to the 99th percentile (slower
    ones counted in the last bar, so one outlier does not squash the plot), and their median."""
    finite = sorted(v for v in values if isinstance(v, (int, float)) and math.isfinite(v))
    if not finite:
        return None
    low = finite[0]
    high = finite[max(0, math.ceil(0.99 * len(finite)) - 1)]
    if high <= low:
        return {"bins": [{"from": low, "to": high, "count": len(finite)}], "median": statistics.median(finite)}
    width = (high - low) / bins
    counts = [0] * bins
    for value in finite:
        index = min(bins - 1, int((value - low) / width))
        counts[index] += 1
    edges = [low + width * i for i in range(bins + 1)]
    return {
        "bins": [{"from": round(edges[i], 3), "to": round(edges[i + 1], 3), "count": counts[i]} for i in range(bins)],
        "median": statistics.median(finite),
    }


class ReviewQueue:
    """The experiment's submissions, their holds and data, as last loaded; safe to read from many threads."""

    def __init__(self, settings, pm):
        self.settings, self.pm = settings, pm
        self._lock = threading.Lock()
        self._items: list[Item] = []
        self._by_id: dict[str, Item] = {}
        self.pricing: Any = None
        #: The platform's capabilities as of the last load (nouns, rejection categories, id shapes).
        self.capabilities: Capabilities | None = None
        self.sources: list[str] = []
        self.warnings: list[str] = []
        self.group: dict | None = None

    # -- loading --------------------------------------------------------------------------------------
    def load(self) -> None:
        """Read everything anew (in one session): the listing, holds, rewards and the plugins' data."""
        settings, pm = self.settings, self.pm
        warnings: list[str] = []
        with session(settings, pm) as (platform, ledger):
            prices = approve.Prices(platform, ledger)
            capabilities = capabilities_of(platform)
            unlisted: list[dict] = []
            seen = approve.gather(settings, platform, ledger, prices, None, None, unlisted)
            for hit in unlisted:
                warnings.append(
                    f"the submissions of {capabilities.nouns[0]} {hit['hit_id']} could not be listed ({hit['error']}): "
                    "refresh to try again"
                )
            awaiting = [a for a in seen if a.status == "Submitted"]
            try:
                holds = approve.held_back(
                    settings, pm, ledger, awaiting, allow_repeat_workers=settings.allow_repeat_workers
                )
            except PluginFailure as failure:  # a plugin crashed in babe_before_approve: approve would stop too
                holds = {}
                warnings.append(f"approve would stop: {failure}")
            except Veto as veto:
                holds = {}
                who = f"plugin {veto.plugin}" if veto.plugin else "a plugin"
                warnings.append(f"approve is vetoed by {who}: {veto}")
            answers = collect(pm, "babe_review_data", warn=warnings.append, settings=settings, assignments=awaiting)
            rewards = {a.assignment_id: prices(a.hit_id)[0] for a in seen}
            pricing = prices.pricing
            bonuses = [b for b in ledger.bonuses(settings.experiment, settings.target) if b.paid]
            read_answer = optional(platform, "answer_fields") or _one_field
            items = [Item(a, a.status, rewards[a.assignment_id], answer=read_answer(a.answer) if a.answer else {}) for a in seen]
        by_id = {item.assignment_id: item for item in items}
        for record in bonuses:
            if record.assignment_id in by_id:
                by_id[record.assignment_id].bonus_paid += record.amount
        for assignment_id, reason in holds.items():
            if assignment_id in by_id:
                by_id[assignment_id].holds.append(reason)
        sources: list[str] = []
        group: dict | None = None
        for plugin, answer in answers:
            if not isinstance(answer, ReviewData):
                warnings.append(f"plugin {plugin} answered babe_review_data with a {type(answer).__name__}, not a ReviewData")
                continue
            sources.append(answer.source)
            warnings.extend(f"{answer.source}: {note}" for note in answer.notes)
            for assignment_id, data in answer.participants.items():
                if assignment_id in by_id:
                    by_id[assignment_id].data.append((answer.source, list(answer.columns), data))
            if group is None and answer.group_reaction_times:
                group = histogram(list(answer.group_reaction_times))
        items.sort(key=_submitted_order)
        with self._lock:
            self._items, self._by_id = items, by_id
            self.capabilities = capabilities
            self.pricing, self.sources, self.warnings, self.group = pricing, sources, warnings, group

    # -- reading --------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            awaiting = [i for i in self._items if i.status == "Submitted"]
            held = sum(1 for i in awaiting if i.holds)
            return {"awaiting": len(awaiting) - held, "held": held, "decided": len(self._items) - len(awaiting)}

    def summary(self) -> dict:
        """What the page shows above the list: where, in which currency, how many, the group's plot."""
        from ..steps.reject import MAX_REASON

        settings = self.settings
        with self._lock:
            document = {
                "experiment": settings.experiment,
                "platform": settings.platform,
                "target": settings.target,
                "live": settings.target == "live",
                "nouns": list(self.capabilities.nouns if self.capabilities else output.MTURK_NOUNS),
                "currency": getattr(self.pricing, "currency", "USD"),
                "symbol": getattr(self.pricing, "symbol", "$"),
                "rejection_categories": list(self.capabilities.rejection_categories if self.capabilities else ()),
                "data_sources": list(self.sources),
                "warnings": list(self.warnings),
                "group": self.group,
                "reason_max": MAX_REASON,
            }
        document["counts"] = self.counts()
        return output.jsonable(document)

    def page(self, offset: int, limit: int, which: str) -> dict:
        with self._lock:
            chosen = self._items if which == "all" else [i for i in self._items if i.status == "Submitted"]
            return {
                "total": len(chosen),
                "offset": offset,
                "limit": limit,
                "items": [item.as_json() for item in chosen[offset : offset + limit]],
            }

    def get(self, assignment_id: str) -> Item | None:
        with self._lock:
            return self._by_id.get(assignment_id)

    def items_json(self, ids: list[str]) -> list[dict]:
        with self._lock:
            return [self._by_id[i].as_json() for i in dict.fromkeys(ids) if i in self._by_id]

    # -- after a decision -----------------------------------------------------------------------------
    def set_status(self, ids: list[str], status: str) -> None:
        """The step says these are now `status`: they stay listed (a bonus may follow), holds cleared."""
        with self._lock:
            for assignment_id in ids:
                item = self._by_id.get(assignment_id)
                if item is not None:
                    item.status = status
                    item.holds = []

    def set_holds(self, held: list[dict]) -> None:
        """The step held these back now, for these reasons (`{"assignment_id", "reason"}`)."""
        with self._lock:
            for entry in held:
                item = self._by_id.get(entry["assignment_id"])
                if item is not None and entry["reason"] not in item.holds:
                    item.holds = [entry["reason"]]

    def add_bonuses(self, paid: list[tuple[str, Decimal]]) -> None:
        """These bonuses `(assignment_id, amount)` were paid now: each submission's total grows."""
        with self._lock:
            for assignment_id, amount in paid:
                item = self._by_id.get(assignment_id)
                if item is not None:
                    item.bonus_paid += amount

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """Statuses read back from the platform (after a decision that partly failed)."""
        with self._lock:
            for assignment_id, status in statuses.items():
                item = self._by_id.get(assignment_id)
                if item is not None and item.status != status:
                    item.status = status
                    if status != "Submitted":
                        item.holds = []


def _one_field(answer: str) -> dict[str, str]:
    """A platform without `answer_fields` (Prolific: a completion code): the answer as it is."""
    return {"answer": answer} if answer.strip() else {}


def _submitted_order(item: Item) -> tuple:
    when = item.info.submit_time
    return (when is None, when.timestamp() if isinstance(when, datetime) else 0.0, item.assignment_id)


def reload_statuses(settings, pm, ids: list[str]) -> dict[str, str]:
    """Each named submission's status as the platform has it now (those it cannot say are left out)."""
    from ..steps import concurrently

    with session(settings, pm) as (platform, _):
        outcomes = concurrently(settings, platform.get_assignment, list(dict.fromkeys(ids)))
    found: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.error is None:
            found[outcome.item] = outcome.value.status
    return found
