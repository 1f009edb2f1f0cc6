"""create: post the experiment as planned units of work (HITs, studies), exactly once.

plan → `babe_before_create` (may change the plan or veto) → checks → resume lookup → confirmation
→ the plan into the ledger → `platform.post` per HIT, each with its deterministic token → ledger
→ `babe_after_create`.

Who may work: the plan carries the requirements built from the settings; who it keeps out —
unless `--allow-repeat-workers` the experiment's own participants, and with `--exclude-previous`
those of the earlier experiments — `babe_tasks.exclusion` works out from the ledger, and the
platform decides how: it shapes the plan when it is made (`plan_keep_out`: Prolific's
`blocklist_hits`), and after the lab confirms and before the first HIT is posted does what it
must (`keep_out`: MTurk creates the experiment's qualification type once, grants it and requires
it). A grant that fails stops the run before any HIT exists (exit 1; the same command finishes
the job), so an excluded worker can never slip in. A platform's `check_plan` may refuse the plan (exit 2) before anything is confirmed or
posted; `describe_created` and `created_json` add what the lab must know once it is posted.

Idempotency: the plan is in the ledger before the first call, and every HIT's UniqueRequestToken
derives from the plan id. A run that stopped half-way (crash, network, Ctrl-C) is finished by
running the same command again: the unfinished plan with the same parameters is found and only
its missing HITs are posted; a HIT the platform made but whose answer was lost comes back from
`post` under its token, or is found by its annotation (`find_plan_hits`, once tokens are forgotten). Once that plan has
finished, the same command posts nothing and says so (`plan.posted_before`); `--again` posts the
identical batch a second time on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from .. import exclusion, output
from ..commitments import ZERO, hit_commitment
from ..errors import PartialFailure, UsageError
from ..exclusion import Exclusion
from ..ledger import ExtensionRecords, Ledger, LedgerView, SpendingCheck
from ..planning import ExistingBatch, Plan, annotated_plan, make_plan
from ..platform.base import OperationFailed, capabilities_of, optional, pricing_of
from ..plugins import call_after, call_before
from . import remembered, session
from .funds import rerun_advice
from .passes import repeated


@dataclass
class PostedHit:
    """One HIT of the result; ids are None on a dry run for HITs that do not exist yet."""

    hit_id: str | None
    hit_type_id: str | None
    hit_group_id: str | None
    assignments: int
    preview_url: str | None
    #: When the HIT expires; None on a dry run, and on a platform whose HITs do not expire by time
    #: (`capabilities.expires_by_time` False: a Prolific study runs until stopped or full).
    expires_at: datetime | None


@dataclass
class CreateResult:
    plan: Plan
    hits: list[PostedHit]
    dry_run: bool = False
    #: How many HITs this run posted (the others existed already, from the resumed plan).
    posted_now: int = 0
    warnings: list[str] = field(default_factory=list)
    #: Who `--exclude-previous` keeps out (None when nobody is).
    excluded: Exclusion | None = None
    #: What the platform says about the posted plan: lines for people, and a JSON object.
    platform_lines: list[str] = field(default_factory=list)
    platform_json: dict | None = None
    #: What the platform calls a HIT, singular and plural (text output only).
    nouns: tuple[str, str] = ("HIT", "HITs")
    #: What to tell the lab when no posted HIT has a preview URL (`capabilities.no_preview`).
    no_preview: str | None = None

    @property
    def resumed(self) -> bool:
        return self.plan.resumed

    def as_json(self) -> dict:
        document = {
            "hits": [
                {
                    "hit_id": h.hit_id,
                    "hit_type_id": h.hit_type_id,
                    "hit_group_id": h.hit_group_id,
                    "assignments": h.assignments,
                    "preview_url": h.preview_url,
                    "expires_at": h.expires_at,
                }
                for h in self.hits
            ],
            "cost": self.plan.cost.as_json(),
        }
        if self.excluded is not None:
            document["excluded"] = self.excluded.as_json()
        if self.plan.blocklist_hits:
            document["blocklist_hits"] = list(self.plan.blocklist_hits)
        if self.platform_json is not None:
            document["platform"] = self.platform_json
        if self.plan.posted_before is not None:
            document["posted_before"] = datetime.fromtimestamp(self.plan.posted_before, UTC)
        if self.plan.existing:
            document["existing"] = [batch.as_json() for batch in self.plan.existing]
        if self.dry_run:
            document["dry_run"] = True
        return document


def prepare(settings, pm, ledger: Ledger, platform=None) -> Plan:
    """The plan as the plugins left it, checked, and matched to an earlier run with the same parameters.

    An unfinished one is resumed (only its missing HITs are posted); a finished one, unless
    `--again`, makes the plan `posted_before` (nothing is posted).

    The platform (None: MTurk's rules) prices the plan and decides how workers are kept unique;
    its `check_plan` has the last word, after the plugins', before anything is confirmed.
    """
    capabilities = capabilities_of(platform)
    plan = make_plan(settings, pricing_of(platform), capabilities.nouns)
    plan.qualification_types = capabilities.qualifications
    exclusion.plan(settings, platform, ledger, plan)
    call_before(pm, "babe_before_create", settings=settings, plan=plan)
    plan.validate(settings)
    check_plan = optional(platform, "check_plan")
    if check_plan is not None:
        check_plan(plan)
    describe_plan = optional(platform, "describe_plan")
    if describe_plan is not None:
        plan.platform_lines = [str(line) for line in describe_plan(plan)]
    earlier = ledger.open_plan(plan.experiment, plan.target, plan.fingerprint(), finished_too=not settings.again)
    if earlier is not None:
        plan.resume(earlier)
    elif platform is not None:
        plan.existing = existing_batches(settings, platform, ledger)
        if plan.existing and not settings.again:
            raise UsageError(refusal(plan, settings))
    return plan


def existing_batches(settings, platform, ledger: Ledger) -> list[ExistingBatch]:
    """The experiment's posted HITs on the target, one entry per plan that posted them.

    The ledger answers when it knows any; when it knows none (`.babe/` lost, a zero-byte ledger,
    the experiment run from another folder) the platform is asked — one scan for the experiment's
    RequesterAnnotation (the study's internal name on Prolific), the scan `status --sync` makes —
    so a lost ledger can never make a second batch look like the first.
    """
    known = ledger.hits(settings.experiment, settings.target, settings.platform)
    if known:
        with ExtensionRecords(ledger) as table:
            grown = table.added(settings.experiment, settings.target)
        members = [(r.plan_id, r.hit_id, r.max_assignments + grown.get(r.hit_id, 0)) for r in known]
        source = "ledger"
    else:
        members = [
            (annotated_plan(h.annotation) or "?", h.hit_id, h.max_assignments)
            for h in platform.find_experiment_hits(settings.experiment)
            if ledger.hit(h.hit_id) is None  # one the ledger has (under another platform or target) is not lost
        ]
        source = "platform"
    batches: dict[str, list[tuple[str, int]]] = {}
    for plan_id, hit_id, size in members:
        batches.setdefault(plan_id, []).append((hit_id, size))
    return [
        ExistingBatch(plan_id, tuple(h for h, _ in hits), sum(n for _, n in hits), source) for plan_id, hits in batches.items()
    ]


def describe_existing(batches: list[ExistingBatch], nouns: tuple[str, str]) -> str:
    """"3 HITs with 20 assignments (plan 949444d856fc4731)", several plans joined by "; "."""
    return "; ".join(
        f"{output.count(len(b.hit_ids), nouns, hedged=False)} with {b.assignments} assignment(s) (plan {b.plan_id})"
        for b in batches
    )


def refusal(plan: Plan, settings) -> str:
    """The one line refusing a create that would post a second batch beside the experiment's HITs."""
    has = describe_existing(plan.existing, plan.nouns)
    them = "it" if sum(len(b.hit_ids) for b in plan.existing) == 1 else "them"
    beside = f"this create would post a second batch of {plan.assignments} assignment(s) beside {them}"
    more = f"for more participants: babe extend --assignments N; to post this batch beside {them} anyway: add --again"
    if any(b.source == "platform" for b in plan.existing):
        return (
            f"the ledger (.babe/) knows nothing of {plan.experiment} on {settings.target}, but the platform has "
            f"{has}: {beside}. Run babe status --sync to restore the ledger from the platform (then the same create "
            f"posts nothing); {more}"
        )
    return f"{plan.experiment} already has {has} on {settings.target}: {beside}; {more}"


def run(settings, pm, *, review: Callable[[Plan, Exclusion | None], bool] | None = None) -> CreateResult:
    """Plan, review, post and record.

    `review(plan, excluded)` shows the plan, its cost and who it keeps out, and answers whether
    to post (a prompt on live); on a dry run it only shows, and its answer is ignored.

    Raises `PartialFailure` (carrying the result) when some HITs could not be posted, or when the
    experiment's qualification could not be granted to everyone it must keep out (then nothing is
    posted): running the same create again finishes the job.
    """
    settings = remembered.fill(settings)[0]  # what an earlier create was given (engineer R, issue 14)
    with session(settings, pm) as (platform, ledger):
        plan = prepare(settings, pm, ledger, platform)
        if plan.posted_before is not None:
            return posted_before(plan, ledger, platform, settings)
        excluded = exclusion.exclusion(settings, platform, ledger, plan)
        if settings.dry_run:
            if review is not None:
                review(plan, excluded)
            return CreateResult(plan, known_hits(plan, ledger, platform), dry_run=True, excluded=excluded, nouns=plan.nouns, no_preview=_no_preview(platform))
        if review is not None and not review(plan, excluded):
            raise UsageError("not confirmed: nothing was posted")
        if not plan.resumed:
            check = spending_check(pm, settings, "create", plan_commitment(plan))
            ledger.start_plan(plan, platform.location, settings.platform, finished_too=not settings.again, check=check)
            if plan.posted_before is not None:  # an identical create finished while this one was planning
                return posted_before(plan, ledger, platform, settings)
        exclusion.remember_experiment(settings, ledger)
        result = CreateResult(plan, [], excluded=excluded, nouns=plan.nouns, no_preview=_no_preview(platform))
        granting = exclusion.apply(settings, platform, ledger, plan, excluded)
        if granting.failed:
            result.hits = known_hits(plan, ledger, platform)
            worker, error = granting.failed[0]
            raise PartialFailure(
                f"could not grant {granting.what} to {len(granting.failed)} worker(s) it must keep "
                f"out ({worker}: {error}); no {plan.nouns[0]} was posted — run the same create again to finish",
                result.as_json(),
            )
        failure = repeated(platform, lambda: post(plan, platform, ledger, result), lambda f: f and f[1])
        result.hits = known_hits(plan, ledger, platform)
        if failure is None:
            ledger.finish_plan(plan.plan_id)
            describe(platform, plan, result)
        result.warnings = call_after(pm, "babe_after_create", settings=settings, plan=plan, result=result)
        if failure is not None:
            posted = sum(h.hit_id is not None for h in result.hits)
            raise PartialFailure(
                f"posted {posted} of {output.count(len(plan.hits), plan.nouns, hedged=False)}; "
                f"{plan.nouns[0]} {failure[0] + 1} failed: {failure[1]}. "
                + _sentence(rerun_advice([failure[1]], "run the same create again to post the rest (it resumes this plan)")),
                result.as_json(),
            )
        return result


def plan_commitment(plan: Plan) -> Decimal:
    """What a new plan commits once written: every assignment of every HIT, as the ledger counts it."""
    return sum((hit_commitment(plan.reward, hit.assignments, plan.uses_masters, plan.pricing) for hit in plan.hits), ZERO)


def spending_check(pm, settings, step: str, amount: Decimal) -> SpendingCheck | None:
    """The check a spending reservation runs before writing `amount` down: `babe_before_commit`,
    with the ledger as the reservation's transaction sees it.

    None — no reservation, the step records as it always did — when nothing is committed or no
    plugin takes part: a lab without such a plugin keeps one short write per bonus, recorded just
    before its own call.
    """
    if amount <= 0 or not pm.hook.babe_before_commit.get_hookimpls():
        return None

    def check(ledger: LedgerView) -> None:
        call_before(pm, "babe_before_commit", settings=settings, step=step, amount=amount, ledger=ledger)

    return check


def _no_preview(platform) -> str | None:
    return capabilities_of(platform).no_preview


def _sentence(advice: str) -> str:
    """Advice as a sentence of its own ("add funds" first when money was the reason: steps/funds.py)."""
    return advice[:1].upper() + advice[1:] + "."


def posted_before(plan: Plan, ledger: Ledger, platform, settings) -> CreateResult:
    """The result of a create whose identical batch was posted already: its HITs, nothing new.

    Running the same create again is how a half-finished one is finished; once it has finished,
    the same command posts nothing (a re-run Makefile target, a second terminal, shell history
    must not pay for the batch twice). `--again` posts a second, identical batch on purpose.
    """
    return CreateResult(
        plan, known_hits(plan, ledger, platform), dry_run=settings.dry_run, nouns=plan.nouns, no_preview=_no_preview(platform)
    )


def describe(platform, plan: Plan, result: CreateResult) -> None:
    """What the platform adds about the posted plan (`describe_created`, `created_json`), if it does."""
    lines = optional(platform, "describe_created")
    if lines is not None:
        result.platform_lines = [str(line) for line in lines(plan)]
    document = optional(platform, "created_json")
    if document is not None:
        result.platform_json = document(plan)


def post(plan: Plan, platform, ledger: Ledger, result) -> tuple[int, OperationFailed] | None:
    """Post the plan's missing HITs in order; stop at the first failure and report it.

    `result.posted_now` counts the HITs posted by this call. The plan's row in the ledger keeps
    the platform's grouping of the first HIT posted (`HitInfo.hit_type_id`), where it has one.
    """
    missing = [hit for hit in plan.hits if hit.hit_id is None]
    if not missing:
        return None
    if plan.resumed:
        # Tokens are forgotten after 24 hours: HITs made by a lost answer are found by annotation.
        for index, info in platform.find_plan_hits(plan.plan_id).items():
            hit = next((h for h in missing if h.index == index), None)
            if hit is not None:
                ledger.record_posted(plan.plan_id, index, info)
                hit.hit_id = info.hit_id
        missing = [hit for hit in missing if hit.hit_id is None]
        if not missing:
            return None
    grouped = False
    with output.progress(f"posting {plan.nouns[1]}", total=len(missing)) as bar:
        for hit in missing:
            try:
                info = platform.post(plan, hit)
            except OperationFailed as exc:
                return hit.index, exc
            if info.hit_type_id and not grouped:
                ledger.set_hit_type(plan.plan_id, info.hit_type_id)
                grouped = True
            ledger.record_posted(plan.plan_id, hit.index, info)
            hit.hit_id = info.hit_id
            result.posted_now += 1
            bar.advance()
    return None


def known_hits(plan: Plan, ledger: Ledger, platform) -> list[PostedHit]:
    """The result's HITs: from the ledger for those that exist, ids None for those that do not.

    Where HITs do not expire by time, the expiry the platform reported is only the placeholder of
    an open study (`base.shown_expiry`): the result says there is none.
    """
    by_time = capabilities_of(platform).expires_by_time
    hits = []
    for hit in plan.hits:
        record = ledger.hit(hit.hit_id) if hit.hit_id else None
        if record is None:
            hits.append(PostedHit(None, None, None, hit.assignments, None, None))
        else:
            hits.append(
                PostedHit(
                    record.hit_id,
                    record.hit_type_id,
                    record.hit_group_id,
                    record.max_assignments,
                    platform.preview_url(record),
                    record.expires_at if by_time else None,
                )
            )
    return hits
