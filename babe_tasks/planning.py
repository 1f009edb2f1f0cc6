"""What `create` will post and what it will cost, decided before a single call is made.

A plan is the whole intent of one `create`: the HIT parameters, how the assignments are split
into HITs, the exact cost, and — once the ledger has given it an id — the idempotency token and
annotation of every HIT. Before-create plugins receive the plan and may change it; it is checked
again afterwards, so a plugin cannot slip an invalid HIT past the rules.

Batching: N assignments with batch size B become ceil(N/B) HITs whose sizes are as even as
possible (20 with B=9 → 7, 7, 6; never 9, 9, 2). Every HIT then fills and finishes at the same
pace, so the group stays one coherent batch for workers, and each HIT keeps the same head room
below the 10-assignment surcharge for a later `extend`. The fee is charged per assignment, so the
split never changes the cost as long as every HIT stays below 10 assignments.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from . import money
from .errors import UsageError

#: MTurk's limits that only a plan meets (the settings check the rest: reference/mturk-api.md).
MAX_ANNOTATION = 255
MAX_QUESTION_BYTES = 65535
MAX_TOKEN = 64
MAX_REQUIREMENTS = 10

#: Masters qualification type ids; the target decides which one a HIT carries.
MASTERS_IDS = {
    "live": "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH",
    "sandbox": "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6",
}

EXTERNAL_QUESTION_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)


def batch_sizes(assignments: int, batch_size: int) -> list[int]:
    """Split N assignments into ceil(N/B) HITs of sizes differing by at most one, largest first."""
    if assignments < 1:
        raise UsageError(f"assignments must be at least 1, not {assignments}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, not {batch_size}")
    count = math.ceil(assignments / batch_size)
    small, extra = divmod(assignments, count)
    return [small + 1] * extra + [small] * (count - extra)


@dataclass(frozen=True)
class Cost:
    """Money for a set of assignments, split the way MTurk bills it.

    `commission` is the 20% fee with its $0.01 minimum, `surcharge` the extra 20% of HITs with
    10 or more assignments, `masters` the 5% Masters fee; `fees` is their sum exactly as MTurk
    charges it (each assignment's fee rounded once), so the parts always add up to the cent.
    """

    assignments: int = 0
    rewards: Decimal = Decimal("0.00")
    commission: Decimal = Decimal("0.00")
    surcharge: Decimal = Decimal("0.00")
    masters: Decimal = Decimal("0.00")

    @property
    def fees(self) -> Decimal:
        return self.commission + self.surcharge + self.masters

    @property
    def total(self) -> Decimal:
        return self.rewards + self.fees

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.assignments + other.assignments,
            self.rewards + other.rewards,
            self.commission + other.commission,
            self.surcharge + other.surcharge,
            self.masters + other.masters,
        )

    def as_json(self) -> dict[str, Decimal]:
        return {"rewards": self.rewards, "fees": self.fees, "total": self.total}


def hit_cost(reward: Decimal, max_assignments: int, masters: bool = False) -> Cost:
    """What one HIT costs if every assignment is approved (fees from `babe_tasks.money`)."""
    commission = money.assignment_fee(reward, 1, False)
    plain = money.assignment_fee(reward, max_assignments, False)
    full = money.assignment_fee(reward, max_assignments, masters)
    n = max_assignments
    return Cost(n, reward * n, commission * n, (plain - commission) * n, (full - plain) * n)


def request_token(experiment: str, plan_id: str, index: int) -> str:
    """The HIT's UniqueRequestToken: a hash of (experiment, plan id, HIT index), 64 characters."""
    return hashlib.sha256(f"babe-tasks\0{experiment}\0{plan_id}\0{index}".encode()).hexdigest()[:MAX_TOKEN]


def annotation(experiment: str, plan_id: str, index: int, count: int) -> str:
    """The RequesterAnnotation: names the experiment and the plan, within MTurk's 255 characters."""
    tail = f" plan={plan_id} hit={index + 1}/{count}"
    head = "babe-tasks experiment="
    room = MAX_ANNOTATION - len(head) - len(tail)
    return head + experiment[:room] + tail


def annotation_prefix(plan_id: str) -> str:
    """The part of every annotation of a plan that finds its HITs in a ListHITs scan."""
    return f" plan={plan_id} hit="


def external_question(url: str, frame_height: int) -> str:
    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}">'
        f"<ExternalURL>{escape(url)}</ExternalURL><FrameHeight>{frame_height}</FrameHeight>"
        "</ExternalQuestion>"
    )


@dataclass
class PlannedHit:
    """One HIT of a plan; `hit_id` is set once it exists (posted now or by an earlier run)."""

    index: int
    assignments: int
    token: str | None = None
    annotation: str | None = None
    hit_id: str | None = None


@dataclass
class Plan:
    """Everything `create` will post. Plugins may change any field in `babe_before_create`."""

    experiment: str
    target: str
    url: str
    title: str
    description: str
    keywords: str
    reward: Decimal
    assignments: int
    batch_size: int
    lifetime: int
    duration: int
    auto_approve: int
    frame_height: int = 0
    #: Ask for Masters: the platform adds the target's Masters requirement (and its 5% fee).
    masters: bool = False
    #: Extra QualificationRequirements, in MTurk's shape, added to the HIT type.
    qualification_requirements: list[dict[str, Any]] = field(default_factory=list)
    hits: list[PlannedHit] = field(default_factory=list)
    plan_id: str | None = None
    #: True when this plan is an unfinished earlier `create` being carried on.
    resumed: bool = False

    # -- derived ------------------------------------------------------------------------------
    @property
    def uses_masters(self) -> bool:
        masters_ids = set(MASTERS_IDS.values())
        return self.masters or any(r.get("QualificationTypeId") in masters_ids for r in self.qualification_requirements)

    @property
    def cost(self) -> Cost:
        total = Cost()
        for hit in self.hits:
            total = total + hit_cost(self.reward, hit.assignments, self.uses_masters)
        return total

    def question(self) -> str:
        return external_question(self.url, self.frame_height)

    def parameters(self) -> dict[str, Any]:
        """The parameters that make two plans "the same" (everything but ids and progress)."""
        data = asdict(self)
        for key in ("hits", "plan_id", "resumed"):
            data.pop(key)
        data["reward"] = money.fmt(self.reward)
        data["hit_sizes"] = [hit.assignments for hit in self.hits]
        return data

    def fingerprint(self) -> str:
        canonical = json.dumps(self.parameters(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def assign_id(self, plan_id: str) -> None:
        """Give the plan its ledger id, which fixes every HIT's token and annotation."""
        self.plan_id = plan_id
        for hit in self.hits:
            hit.token = request_token(self.experiment, plan_id, hit.index)
            hit.annotation = annotation(self.experiment, plan_id, hit.index, len(self.hits))

    def rebatch(self) -> None:
        """Recompute the HITs from `assignments` and `batch_size` (after a plugin changed them)."""
        self.hits = [PlannedHit(i, n) for i, n in enumerate(batch_sizes(self.assignments, self.batch_size))]

    # -- rules --------------------------------------------------------------------------------
    def validate(self, settings) -> None:
        """Refuse, with one line, anything MTurk would refuse — after plugins had their say.

        The values go back through the settings' own rules (`Settings.replace`), so a plugin that
        changed the plan meets exactly the checks a flag does; what only a plan has (its HITs, its
        annotation and question sizes) is checked here.
        """
        checked = settings.replace(
            url=self.url,
            title=self.title,
            description=self.description,
            keywords=self.keywords,
            reward=self.reward,
            assignments=self.assignments,
            batch_size=self.batch_size,
            lifetime=self.lifetime,
            duration=self.duration,
            auto_approve=self.auto_approve,
            frame_height=self.frame_height,
        )
        checked.require("url", "title", "description", "reward")
        if not self.hits or any(hit.assignments < 1 for hit in self.hits):
            raise UsageError("every HIT of the plan needs at least one assignment")
        if sum(hit.assignments for hit in self.hits) != self.assignments:
            raise UsageError(
                f"the plan's HITs hold {sum(h.assignments for h in self.hits)} assignments, not {self.assignments}"
            )
        if len(self.qualification_requirements) + self.masters > MAX_REQUIREMENTS:
            raise UsageError(f"a HIT takes at most {MAX_REQUIREMENTS} qualification requirements")
        if len(self.question().encode()) > MAX_QUESTION_BYTES:
            raise UsageError(f"url is too long: the question must stay within {MAX_QUESTION_BYTES} bytes")


def make_plan(settings) -> Plan:
    """The plan for the settings' experiment; HITs batched, not yet given an id."""
    settings.require("url", "title", "description", "reward")
    plan = Plan(
        experiment=settings.experiment,
        target=settings.target,
        url=settings.url,
        title=settings.title,
        description=settings.description,
        keywords=settings.keywords or "",
        reward=settings.reward,
        assignments=settings.assignments,
        batch_size=settings.batch_size,
        lifetime=settings.lifetime,
        duration=settings.duration,
        auto_approve=settings.auto_approve,
        frame_height=settings.frame_height,
    )
    plan.rebatch()
    return plan
