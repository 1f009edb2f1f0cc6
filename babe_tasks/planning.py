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

Who may work is part of the plan too: the QualificationRequirements built from the settings
(`babe_tasks.qualifications`), Masters, and whether workers stay unique per experiment and which
earlier experiments' workers are kept out (`babe_tasks.exclusion` adds the matching DoesNotExist
requirement when posting). All of it counts towards MTurk's 10 requirements, checked here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from . import money
from .errors import UsageError

#: MTurk's limits that only a plan meets (the settings check the rest: docs/localturk-validation.md).
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
    """Money for a set of assignments, split the way the platform bills it.

    On MTurk `commission` is the 20% fee with its $0.01 minimum, `surcharge` the extra 20% of
    HITs with 10 or more assignments, `masters` the 5% Masters fee; `vat` is the tax a platform
    adds to its fees (never on MTurk). `fees` is their sum exactly as the platform charges it
    (each assignment's fee rounded once), so the parts always add up to the cent.
    """

    assignments: int = 0
    rewards: Decimal = Decimal("0.00")
    commission: Decimal = Decimal("0.00")
    surcharge: Decimal = Decimal("0.00")
    masters: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")

    @property
    def fees(self) -> Decimal:
        return self.commission + self.surcharge + self.masters + self.vat

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
            self.vat + other.vat,
        )

    def as_json(self) -> dict[str, Decimal]:
        document = {"rewards": self.rewards, "fees": self.fees, "total": self.total}
        if self.vat:
            document["vat"] = self.vat
        return document


def hit_cost(reward: Decimal, max_assignments: int, masters: bool = False, pricing=None) -> Cost:
    """What one HIT costs if every assignment is approved (MTurk's fees unless another `pricing`)."""
    return assignments_cost(reward, max_assignments, max_assignments, masters, pricing)


def assignments_cost(reward: Decimal, hit_size: int, count: int, masters: bool = False, pricing=None) -> Cost:
    """What `count` approved assignments of a HIT of `hit_size` assignments cost.

    The fee depends on the HIT's size, not on how many are bought: assignments added by `extend`
    to a HIT of 10 or more pay MTurk's surcharge like the HIT's first ones.
    """
    return (pricing or money.MTURK_PRICING).assignments_cost(reward, hit_size, count, masters)


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


_ANNOTATED_PLAN = re.compile(r" plan=(\S+) hit=(\d+)/(\d+)$")


def annotated_plan(note: str | None) -> str | None:
    """The plan id an annotation names (None for a HIT this tool did not post)."""
    match = _ANNOTATED_PLAN.search(note or "")
    return match.group(1) if match else None


def external_question(url: str, frame_height: int) -> str:
    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}">'
        f"<ExternalURL>{escape(url)}</ExternalURL><FrameHeight>{frame_height}</FrameHeight>"
        "</ExternalQuestion>"
    )


def external_parts(question: str) -> tuple[str, int]:
    """The ExternalURL and FrameHeight of an ExternalQuestion ("" and 0 for any other question)."""
    from xml.sax.saxutils import unescape

    url = re.search(r"<ExternalURL>(.*?)</ExternalURL>", question or "", re.DOTALL)
    height = re.search(r"<FrameHeight>(\d+)</FrameHeight>", question or "")
    return (unescape(url.group(1).strip()) if url else ""), (int(height.group(1)) if height else 0)


@dataclass(frozen=True)
class ExistingBatch:
    """HITs the experiment already has from one earlier plan (a create, or `extend --split`).

    A create beside them would be a second batch of the same experiment, which is refused unless
    `--again` asks for it: more participants come from `extend`. `source` says who knew of them:
    "ledger", or "platform" when the ledger did not (a lost `.babe/`, a zero-byte ledger, another
    folder) and the HITs were found by their RequesterAnnotation.
    """

    plan_id: str
    hit_ids: tuple[str, ...]
    assignments: int
    source: str = "ledger"

    def as_json(self) -> dict:
        return {"plan_id": self.plan_id, "hit_ids": list(self.hit_ids), "assignments": self.assignments, "source": self.source}


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
    #: Keep workers unique per experiment: the HITs require DoesNotExist on the experiment's own
    #: qualification type (`babe_tasks.exclusion`), whose id is known only when posting.
    unique_workers: bool = True
    #: Earlier experiments whose workers are kept out (granted the type before posting); None: none.
    exclude_experiments: list[str] | None = None
    #: The platform's grouping of the work an `extend --split` continues (MTurk's HIT type), kept
    #: as a parameter so the fingerprints of plans already in ledgers do not change. Posting does
    #: not read it: the platform groups its work itself (`Platform.post`).
    hit_type_id: str | None = None
    #: The question exactly as an existing HIT has it (`extend --split`); None: built from `url`.
    question_xml: str | None = None
    #: HITs whose workers the platform keeps out natively (platforms without qualification types,
    #: `capabilities.qualifications` False): the experiment's earlier HITs when workers stay unique, and
    #: the excluded experiments' HITs. Filled by the create step from the ledger; not part of the
    #: fingerprint (it grows as the experiment posts, and a resumed plan must still be found).
    blocklist_hits: list[str] = field(default_factory=list)
    #: The platform it is posted on (`settings.platform`): the same parameters on another platform
    #: are another plan (never resumed across platforms).
    platform: str = "mturk"
    hits: list[PlannedHit] = field(default_factory=list)
    plan_id: str | None = None
    #: True when this plan is an earlier `create` with the same parameters being carried on.
    resumed: bool = False
    #: When that earlier create finished (epoch seconds), if it had: then there is nothing to post,
    #: and the run says so instead of posting the batch a second time (`create --again` does).
    posted_before: float | None = None
    #: The platform's fee rules (`money.Pricing`): how `cost` is computed and whether the plan is
    #: one HIT (`single_batch`). Not a parameter: the same intent on the same platform.
    pricing: Any = field(default=money.MTURK_PRICING, repr=False, compare=False)
    #: False when the platform has no qualification types: unique workers and exclusion go through
    #: `blocklist_hits`, and no experiment type counts towards the requirements.
    qualification_types: bool = field(default=True, repr=False, compare=False)
    #: How the plan runs on its platform, as the review shows it (the platform's `describe_plan`);
    #: empty: MTurk's lifetime, assignment duration, auto-approval and unique-worker lines.
    platform_lines: list[str] = field(default_factory=list, repr=False, compare=False)
    #: What the platform calls a HIT, singular and plural (`capabilities.nouns`), for the
    #: plan's lines and refusals; text only, not a parameter.
    nouns: tuple[str, str] = field(default=("HIT", "HITs"), repr=False, compare=False)
    #: The experiment's batches on the target before this create (`steps.create.existing_batches`):
    #: what a new plan would be posted beside. Not a parameter: the same intent whatever exists.
    existing: list[ExistingBatch] = field(default_factory=list, repr=False, compare=False)

    # -- derived ------------------------------------------------------------------------------
    @property
    def uses_masters(self) -> bool:
        masters_ids = set(MASTERS_IDS.values())
        return self.masters or any(r.get("QualificationTypeId") in masters_ids for r in self.qualification_requirements)

    @property
    def needs_exclusion_type(self) -> bool:
        """Whether the HITs require DoesNotExist on an experiment qualification type of ours."""
        return self.qualification_types and (self.unique_workers or bool(self.exclude_experiments))

    @property
    def requirement_count(self) -> int:
        """How many QualificationRequirements the HIT type will carry (MTurk allows 10)."""
        masters_ids = set(MASTERS_IDS.values())
        explicit_masters = any(r.get("QualificationTypeId") in masters_ids for r in self.qualification_requirements)
        return (
            len(self.qualification_requirements)
            + int(self.masters and not explicit_masters)
            + int(self.needs_exclusion_type)
        )

    @property
    def cost(self) -> Cost:
        total = Cost()
        for hit in self.hits:
            total = total + hit_cost(self.reward, hit.assignments, self.uses_masters, self.pricing)
        return total

    def question(self) -> str:
        if self.question_xml is not None:
            return self.question_xml
        return external_question(self.url, self.frame_height)

    def parameters(self) -> dict[str, Any]:
        """The parameters that make two plans "the same" (everything but ids, progress and pricing).

        `blocklist_hits` is written only when there are some and `platform` only when it is not
        `UNNAMED_PLATFORM`, so the parameters (and fingerprint) of a plan on that platform stay
        what they were before the fields existed, and an unfinished plan from then is still resumed.
        """
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name not in NOT_PARAMETERS}
        if not data["blocklist_hits"]:
            data.pop("blocklist_hits")
        if data["platform"] == UNNAMED_PLATFORM:
            data.pop("platform")
        data["reward"] = money.fmt(self.reward)
        data["hit_sizes"] = [hit.assignments for hit in self.hits]
        return data

    def fingerprint(self) -> str:
        parameters = self.parameters()
        parameters.pop("blocklist_hits", None)
        canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def assign_id(self, plan_id: str) -> None:
        """Give the plan its ledger id, which fixes every HIT's token and annotation."""
        self.plan_id = plan_id
        for hit in self.hits:
            hit.token = request_token(self.experiment, plan_id, hit.index)
            hit.annotation = annotation(self.experiment, plan_id, hit.index, len(self.hits))

    def resume(self, earlier) -> None:
        """Carry on `earlier` (a `ledger.OpenPlan`): its id, so its tokens, and the HITs it posted."""
        self.assign_id(earlier.plan_id)
        self.resumed = True
        self.posted_before = earlier.finished_at
        for hit in self.hits:
            hit.hit_id = earlier.posted.get(hit.index)

    def rebatch(self) -> None:
        """Recompute the HITs from `assignments` and `batch_size` (after a plugin changed them).

        A `single_batch` platform (one study holds every place) gets one HIT whatever the batch size.
        """
        size = self.assignments if self.pricing.single_batch and self.assignments >= 1 else self.batch_size
        self.hits = [PlannedHit(i, n) for i, n in enumerate(batch_sizes(self.assignments, size))]

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
            raise UsageError(f"every {self.nouns[0]} of the plan needs at least one assignment")
        if sum(hit.assignments for hit in self.hits) != self.assignments:
            raise UsageError(
                f"the plan's {self.nouns[1]} hold {sum(h.assignments for h in self.hits)} assignments, not {self.assignments}"
            )
        if self.requirement_count > MAX_REQUIREMENTS:
            parts = [f"{len(self.qualification_requirements)} from locale/min-approval/min-approved/qualification"]
            if self.requirement_count - len(self.qualification_requirements) - int(self.needs_exclusion_type):
                parts.append("Masters")
            if self.needs_exclusion_type:
                parts.append("the experiment's own type (unique workers; --allow-repeat-workers drops it)")
            raise UsageError(
                f"a {self.nouns[0]} takes at most {MAX_REQUIREMENTS} qualification requirements, this one would carry "
                f"{self.requirement_count} ({', '.join(parts)}): drop some"
            )
        if len(self.question().encode()) > MAX_QUESTION_BYTES:
            raise UsageError(f"url is too long: the question must stay within {MAX_QUESTION_BYTES} bytes")


#: The platform every plan was on before plans named theirs: its plans' parameters leave the
#: name out, so their fingerprints match the ledgers written then (`Plan.parameters`).
UNNAMED_PLATFORM = "mturk"
#: Plan fields that are not its parameters (ids, progress, the platform's rules).
NOT_PARAMETERS = frozenset(
    {"hits", "plan_id", "resumed", "posted_before", "pricing", "qualification_types", "platform_lines", "nouns", "existing"}
)


def make_plan(settings, pricing=None, nouns: tuple[str, str] | None = None) -> Plan:
    """The plan for the settings' experiment; HITs batched, not yet given an id.

    `pricing` is the platform's (`platform.base.pricing_of`); None: MTurk's. `nouns` what it calls
    a HIT (`capabilities_of(platform).nouns`); None: ("HIT", "HITs").

    `exclude_experiments` is the list the lab named (empty: "all earlier ones", which only the
    ledger knows — the create step fills it in), or None when nobody is to be kept out.
    """
    from .qualifications import requirements

    settings.require("url", "title", "description", "reward")
    excluding = settings.exclude_previous or bool(settings.exclude_experiments)
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
        masters=settings.masters,
        qualification_requirements=requirements(settings),
        unique_workers=not settings.allow_repeat_workers,
        exclude_experiments=list(settings.exclude_experiments) if excluding else None,
        platform=settings.platform,
        pricing=pricing or money.MTURK_PRICING,
    )
    if nouns is not None:
        plan.nouns = tuple(nouns)
    plan.rebatch()
    return plan
