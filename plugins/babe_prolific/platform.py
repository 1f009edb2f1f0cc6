"""Prolific as a babe-tasks platform: the protocol of `babe_tasks.platform.base`, on Prolific's API.

A plan is one study (`pricing.single_batch`); the steps' HIT is the study, their assignment a
submission, their worker a participant (`mapping` translates the shapes). What differs from MTurk
and how it is made safe:

- **post** (create) posts a draft, then publishes it. Prolific has no request tokens, so the study is
  found by its `internal_name` (the plan's annotation, which names the plan) before anything is
  posted: a re-run posts nothing, and a draft a crash left behind is published, never duplicated.
  Publishing is asynchronous: a study answered PUBLISHING is posted (HIT status "Publishing").
- **money** comes from Prolific's cost calculator (`pricing.from_calculator`), the account's
  undocumented `fees_percentage` only as a cross-check read both as a percent and as a fraction.
- **lists** are `StudyShort` (no description, URL, times or filters): a study the steps need is
  fetched in full (`GET /studies/{id}/`).
- **approve** uses the bulk endpoint and then confirms each submission's status by listing the
  study; the bulk call answers before it has done its work, so what has not settled after a short
  wait (`settling`) is pending, recorded in `approvals` and never asked for again by a re-run.
- **reject** needs a category and a message of at least 100 characters: the step's reason is the
  message (padded with a fixed sentence when shorter), the category `rejection_category` — or the
  one the reason starts with (`NO_CODE: ...`).
- **bonus** is two calls, the second not idempotent: `bonuses` and its `journal` keep the set-up id
  under the step's token, so a set-up is paid at most once, and an unconfirmed pay is reported,
  never repeated. A whole bonus file goes through `send_bonuses`: one set-up and one pay per batch
  of up to 200 rows of one study, not per row.
- **extend** sets the study's places to the extension's total (absolute, so a retry adds nothing).
- **expire** stops the study; studies do not expire by time (`capabilities.expires_by_time` False: the core
  refuses `extend --lifetime` before spending, and `set_expiration` refuses too): an open or full
  study has no expiry (None), a stopped one its stop time.
- **delete** only deletes drafts; a published study stays in the account (reported, not failed).
- **events** (`watch --events`, `capabilities.events` "webhook", `event_source`): webhook subscriptions of the
  studies' workspace and a receiver of signed events (`events`, `receiver`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babe_tasks import output
from babe_tasks.errors import BabeError, UsageError
from babe_tasks.planning import annotation, annotation_prefix
from babe_tasks.platform.base import (
    LOOSE_ID,
    AssignmentInfo,
    BonusInfo,
    Capabilities,
    HitDetails,
    HitInfo,
    NotFound,
    OperationFailed,
)

from . import mapping, routing
from .approvals import Approvals
from .bonuses import Bonuses
from .client import ProlificClient, ProlificError, Uncertain
from .config import MINIMUM_HOURLY, REJECTION_CATEGORIES, SECTION, ProlificConfig, minimum_allowed
from .config import load as load_config
from .journal import Journal
from .pricing import ProlificPricing, from_calculator
from .settling import Settling

COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"
URL_PARAMETERS = mapping.URL_PARAMETERS
#: Added to a rejection reason shorter than Prolific's 100 characters.
REJECTION_TAIL = (
    "This submission was reviewed by the researchers and could not be accepted for the reason above. "
    "If you think this is a mistake, please message us through Prolific."
)
MIN_REJECTION = 100
BULK_APPROVE = 1000
#: Seconds a study's listing read for its counts serves the step's next listing of it.
LISTING_KEPT = 5.0
#: Recommended pay (the minimum is the account's `minimum_reward_per_hour`, else `MINIMUM_HOURLY`).
RECOMMENDED_HOURLY = {"GBP": Decimal("9.00"), "USD": Decimal("12.00")}
#: MTurk system qualification ids the plan may carry, and what Prolific has for them.
PERCENT_APPROVED = "000000000000000000L0"
LOCALE = "00000000000000000071"
_PLAN_INDEX = re.compile(r" hit=(\d+)/\d+$")


#: Prolific's: a study runs until stopped or full (no expiry time is shown for one that has not
#: stopped); bulk approval and bulk bonuses; no qualification types (blocklists keep participants
#: out); webhook events (`watch --events`); no page to preview a study (participants find it in
#: Prolific's app). Ids are checked loosely: Prolific says when one does not exist. A rejection
#: carries one of Prolific's categories (`babe review` offers them; `rejection` reads the prefix).
CAPABILITIES = Capabilities(
    title="Prolific",
    expires_by_time=False,
    bulk_approve=True,
    bulk_bonus=True,
    qualifications=False,
    events="webhook",
    nouns=("study", "studies"),
    submission_id_pattern=LOOSE_ID,
    submission_id_kind="",
    worker_id_pattern=LOOSE_ID,
    worker_id_kind="",
    no_preview=None,
    rejection_categories=REJECTION_CATEGORIES,
)


class ProlificPlatform:
    """Prolific for the settings' target (local, live, or an endpoint URL)."""

    name = "prolific"
    capabilities = CAPABILITIES

    def __init__(self, settings, client: ProlificClient | None = None):
        self.settings = settings
        self.target = settings.target
        self.config: ProlificConfig = load_config(settings)
        self.route = routing.route(settings)
        self.location = self.route.location
        self._client = client
        self._lock = threading.Lock()
        self._me: dict | None = None
        self._bonuses: Bonuses | None = None
        self._approvals: Approvals | None = None
        self._pricing: ProlificPricing | None = None
        #: How the adapter waits for Prolific's asynchronous work (briefly; see `settling`).
        self.settling = Settling()
        #: submission id → (study id, Prolific status) as last listed: approve_many's starting point.
        self._seen: dict[str, tuple[str, str]] = {}
        #: study id → its submissions as `_counts` just listed them, for the next `iter_assignments`.
        self._listed: dict[str, tuple[float, list[dict]]] = {}
        self._warned_pay = False

    # -- connection ---------------------------------------------------------------------------------
    def _token(self) -> str:
        token = self.config.token()
        if token:
            return token
        if self.target == "local":
            return routing.LOCAL_TOKEN
        raise UsageError(
            f"no Prolific API token: set {self.config.token_env} (Prolific app → API tokens) in the environment; "
            "never in invoke.yaml"
        )

    @property
    def client(self) -> ProlificClient:
        with self._lock:
            if self._client is None:
                self._client = ProlificClient(
                    self.route.base_url,
                    self._token(),
                    token_env=self.config.token_env,
                    transport=self.route.transport,
                    where=self.route.where,
                )
            return self._client

    def connect(self) -> None:
        self._token()  # a missing token is the lab's to fix before any call: exit 2

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._bonuses is not None:
            self._bonuses.journal.close()
        if self._approvals is not None:
            self._approvals.close()
        if self.route.app is not None:
            self.route.app.close()

    def me(self) -> dict:
        """`GET /users/me/`, once per run: the account's currency, balance, fees and minimum pay."""
        if self._me is None:
            self._me = self.client.get("users/me/") or {}
        return self._me

    @property
    def pricing(self) -> ProlificPricing:
        """The account's fees, learnt from the cost calculator once per run (`pricing.from_calculator`)."""
        if self._pricing is None:
            self._pricing = from_calculator(self.me(), self._quote)
        return self._pricing

    def _quote(self, reward: int, places: int):
        """`POST /study-cost-calculator/`: the `total_cost` (minor units) of `places` places at `reward`."""
        answer = self.client.post(
            "study-cost-calculator/", {"reward": reward, "total_available_places": places}, idempotent=True
        )
        return answer.get("total_cost") if isinstance(answer, dict) else None

    def now(self) -> datetime:
        """Prolific's time; the local Prolific's clock may have been moved (`babe-prolific clock`)."""
        if self.target != "local":
            return datetime.now(UTC)
        try:
            answer = self.client.request("GET", self.route.base_url.replace("/api/v1/", "/_local/clock"))
        except (OperationFailed, ValueError):
            return datetime.now(UTC)
        if isinstance(answer, dict):
            if "offset" in answer:
                return datetime.fromtimestamp(time.time() + float(answer["offset"]), UTC)
            moment = mapping.parse_time(answer.get("now"))
            if moment is not None:
                return moment
        return datetime.now(UTC)

    def balance(self) -> Decimal:
        if self.config.workspace_id:
            answer = self.client.get(f"workspaces/{self.config.workspace_id}/balance/") or {}
            return mapping.minor_to_major(answer.get("available_balance"))
        self._me = None
        me = self.me()
        return mapping.minor_to_major(me.get("available_balance", me.get("balance")))

    def preview_url(self, hit) -> str | None:
        """None: a study has no public page; participants find it in Prolific's app."""
        return None

    # -- create -------------------------------------------------------------------------------------
    def estimated_minutes(self, plan) -> int:
        return self.config.estimate(plan.duration)

    def completion_code(self, plan=None) -> str:
        """The experiment's code, random and kept in the ledger (`codes`); an older experiment's is
        read from its newest study on Prolific, so its deployed page keeps crediting people."""
        from .codes import completion_code

        experiment = plan.experiment if plan is not None else self.settings.experiment
        return completion_code(self.settings, experiment, client=lambda: self.client).code

    @property
    def group(self):
        """The participant group of `exclusion: group` (`groups`); disabled with the blocklist."""
        from .groups import ParticipantGroup

        if "_group" not in self.__dict__:
            self._group = ParticipantGroup(self.config, lambda: self.client, self.settings, self.location, self.me)
        return self._group

    def check_plan(self, plan) -> None:
        """Refuse what Prolific cannot honour, and pay below Prolific's minimum, before anything is posted."""
        if plan.uses_masters:
            raise UsageError("Prolific has no Masters: drop --masters (use --min-approval for experienced participants)")
        self._filters(plan)
        self._check_pay(plan)

    def _filters(self, plan, *, ensure: bool = False) -> list[dict]:
        """The study's filters: blocklists, approval rate, and the lab's own (`filters` setting).

        `ensure`: create the participant group of `exclusion: group` if it is missing (only when
        posting; the plan's check only looks)."""
        filters: list[dict] = []
        for requirement in plan.qualification_requirements:
            qualification = requirement.get("QualificationTypeId")
            comparator = requirement.get("Comparator")
            values = requirement.get("IntegerValues") or [None]
            if qualification == PERCENT_APPROVED and comparator in ("GreaterThanOrEqualTo", "GreaterThan"):
                lower = int(values[0]) + (1 if comparator == "GreaterThan" else 0)
                filters.append({"filter_id": "approval_rate", "selected_range": {"lower": lower, "upper": 100}})
            elif qualification == LOCALE:
                raise UsageError(
                    f"--locale is MTurk's: Prolific filters countries with its own filter; drop --locale and add a "
                    f"country filter under {SECTION}.filters"
                )
            else:
                raise UsageError(
                    f"Prolific cannot honour the qualification requirement {qualification} ({comparator}): only "
                    f"--min-approval maps to Prolific; drop it, or add Prolific filters under {SECTION}.filters"
                )
        blocklist = sorted(set(getattr(plan, "blocklist_hits", None) or []))
        if blocklist:
            filters.append({"filter_id": "previous_studies_blocklist", "selected_values": blocklist})
        filters.extend(self.group.filters(plan, ensure=ensure))
        filters.extend(dict(item) for item in self.config.filters)
        return filters

    def _check_pay(self, plan) -> None:
        minutes = self.estimated_minutes(plan)
        pricing = self.pricing
        hourly = (Decimal(plan.reward) * 60 / minutes).quantize(Decimal("0.01"))
        minimum = self.minimum_hourly(pricing.currency)
        shown = f"{pricing.symbol}{plan.reward} for an estimated {minutes} min is {pricing.symbol}{hourly}/h"
        if minimum is not None and hourly < minimum:
            raise UsageError(
                f"{shown}, below Prolific's minimum of {pricing.symbol}{minimum}/h: raise the reward, or set "
                f"{SECTION}.estimated_minutes to your pilot's median time"
            )
        recommended = RECOMMENDED_HOURLY.get(pricing.currency)
        if recommended is not None and hourly < recommended and not self._warned_pay:
            self._warned_pay = True
            output.warn(f"{shown}, below Prolific's recommended {pricing.symbol}{recommended}/h")

    def minimum_hourly(self, currency: str) -> Decimal | None:
        account = self.me().get("minimum_reward_per_hour")
        if account not in (None, ""):
            return mapping.minor_to_major(account)
        return MINIMUM_HOURLY.get(currency)

    def study_body(self, plan, hit) -> dict:
        """The draft `POST /studies/` sends for one planned HIT (one study)."""
        minutes = self.estimated_minutes(plan)
        url = plan.url + ("&" if "?" in plan.url else "?") + URL_PARAMETERS
        body: dict[str, Any] = {
            "name": plan.title,
            "internal_name": hit.annotation,
            "description": plan.description,
            "external_study_url": url,
            "prolific_id_option": "url_parameters",
            "completion_codes": [
                {
                    "code": self.completion_code(plan),
                    "code_type": "COMPLETED",
                    "actions": [{"action": "MANUALLY_REVIEW"}, *self.group.code_actions()],
                }
            ],
            "total_available_places": hit.assignments,
            "estimated_completion_time": minutes,
            "maximum_allowed_time": max(plan.duration // 60, minimum_allowed(minutes)),
            "reward": mapping.major_to_minor(plan.reward),
            "device_compatibility": list(self.config.devices),
            "filters": self._filters(plan, ensure=True),
            "metadata": f"babe-tasks experiment={plan.experiment} plan={plan.plan_id}",
        }
        if self.config.project_id:
            body["project"] = self.config.project_id
        return body

    def post(self, plan, hit) -> HitInfo:
        """The planned HIT as a study: found by its `internal_name` first (Prolific has no request
        tokens), else posted as a draft; a draft (this run's, or one a crash left) is brought up to
        date and published."""
        study = self._study_named(hit.annotation)
        if study is None:
            self._check_pay(plan)
            try:
                study = self.client.post("studies/", self.study_body(plan, hit), idempotent=False)
            except Uncertain:
                # The draft may exist: find it by its name rather than post a second one.
                study = self._study_named(hit.annotation)
                if study is None:
                    raise OperationFailed("posting the study's draft got no answer and no draft exists; run create again") from None
        if mapping.status_name(study.get("status")) == "UNPUBLISHED":
            self._check_pay(plan)
            self._bring_up_to_date(study, self.study_body(plan, hit))
            study = self._publish(study)
        return self._hit(study)

    #: The draft's fields a re-run makes match the plan before publishing (see `_bring_up_to_date`).
    DRAFT_FIELDS = (
        "name",
        "description",
        "external_study_url",
        "completion_codes",
        "total_available_places",
        "estimated_completion_time",
        "maximum_allowed_time",
        "reward",
        "device_compatibility",
        "filters",
    )

    def _bring_up_to_date(self, draft: dict, body: dict) -> None:
        """PATCH a draft left by an earlier run where it differs from the plan, before it is published.

        The plan's blocklist is not part of its identity (it grows as the experiment posts), so a
        draft resumed later may miss a study posted since; and a draft can be edited in the app.
        """
        changes = {key: body[key] for key in self.DRAFT_FIELDS if key in body and draft.get(key) != body[key]}
        if changes:
            self.client.patch(f"studies/{draft['id']}/", changes)

    def _publish(self, study: dict) -> dict:
        """PUBLISH the draft. Prolific publishes asynchronously (the answer says PUBLISHING): the study
        is posted either way; a short wait (`settling`) usually sees it ACTIVE, and one still
        PUBLISHING after it is reported as "Publishing", never as a failure."""
        try:
            published = self.client.post(f"studies/{study['id']}/transition/", {"action": "PUBLISH"}, idempotent=True)
        except ProlificError:
            # A retried PUBLISH whose first attempt worked is refused as a transition: look.
            published = self._study(study["id"])
            if mapping.status_name(published.get("status")) == "UNPUBLISHED":
                raise
        if not isinstance(published, dict) or "id" not in published:
            published = self._study(study["id"])
        latest = [published]

        def active() -> bool:
            if mapping.status_name(latest[0].get("status")) != "PUBLISHING":
                return True
            latest[0] = self._study(study["id"])
            return mapping.status_name(latest[0].get("status")) != "PUBLISHING"

        self.settling.until(active)
        return latest[0]

    def _study_named(self, internal_name: str) -> dict | None:
        """The study of that `internal_name`, fetched in full (list items are `StudyShort`), or None."""
        for study in self.client.pages("studies/"):
            if study.get("internal_name") == internal_name:
                return self._study(study["id"])
        return None

    def find_plan_hits(self, plan_id: str) -> dict[int, HitInfo]:
        prefix = annotation_prefix(plan_id)
        found: dict[int, HitInfo] = {}
        for study in self.client.pages("studies/"):
            note = study.get("internal_name") or ""
            match = _PLAN_INDEX.search(note)
            if prefix in note and match and mapping.status_name(study.get("status")) != "UNPUBLISHED":
                found[int(match.group(1)) - 1] = self.get_hit(study["id"])
        return found

    def describe_plan(self, plan) -> list[str]:
        """create's review: what Prolific will do with the plan (not MTurk's lifetime and auto-approval)."""
        minutes = self.estimated_minutes(plan)
        lines = [
            (
                f"study       {plan.assignments} places, estimated {minutes} min, time limit "
                f"{max(plan.duration // 60, minimum_allowed(minutes))} min, {', '.join(self.config.devices)}; "
                "submissions wait for approve (Prolific approves them itself after 21 days)"
            )
        ]
        if plan.unique_workers:
            lines.append(
                "unique      one place per participant in the whole experiment (earlier studies of the "
                "experiment are blocklisted; --allow-repeat-workers to allow more)"
            )
        if self.group.enabled:
            lines.append(
                f"group       participant group {self.group.name!r} of the workspace: whoever submits joins it"
                + ("; its members cannot take part" if plan.unique_workers else "")
            )
        return lines

    def describe_created(self, plan) -> list[str]:
        code = self.completion_code(plan)
        studies = [hit.hit_id for hit in plan.hits if hit.hit_id]
        return [
            # in full (a narrow terminal's table cuts ids): what babe-prolific participants --study takes
            *(f"study id: {study_id}" for study_id in studies),
            f"completion code: {code}",
            f"completion URL (the experiment's prolificURL): {COMPLETION_URL.format(code=code)}",
            f"estimated time: {self.estimated_minutes(plan)} min; devices: {', '.join(self.config.devices)}",
        ]

    def created_json(self, plan) -> dict:
        code = self.completion_code(plan)
        return {
            "name": self.name,
            "completion_code": code,
            "completion_url": COMPLETION_URL.format(code=code),
            "estimated_minutes": self.estimated_minutes(plan),
            "devices": list(self.config.devices),
        }

    # -- studies ------------------------------------------------------------------------------------
    def _study(self, study_id: str) -> dict:
        try:
            return self.client.get(f"studies/{study_id}/")
        except ProlificError as exc:
            if exc.status == 404:
                raise NotFound(f"study {study_id} does not exist on {self.route.where}") from None
            raise

    def _counts(self, study_id: str) -> dict:
        """How many submissions of the study are in each status, from its list (every page): Prolific
        documents no counts endpoint. The list is kept for the step's next `iter_assignments` of the
        study (status reads the counts, then the submissions), so it is read once, not twice."""
        listed = list(self._submissions(study_id))
        self._listed[study_id] = (time.monotonic(), listed)
        counts: dict[str, int] = {}
        for submission in listed:
            status = mapping.status_name(submission.get("status"))
            counts[status] = counts.get(status, 0) + 1
        return counts

    def _hit(self, study: dict) -> HitInfo:
        return mapping.hit(study, self._counts(study["id"]), self.now())

    def get_hit(self, hit_id: str) -> HitInfo:
        info = self._hit(self._study(hit_id))
        self._settle_bonuses(hit_id)
        return info

    def _settle_bonuses(self, study_id: str) -> None:
        """Confirm bonus pays Prolific accepted for the study (202) once its cost shows them: a
        `status` after the pay settled finishes the journal's work (one request, only then)."""
        if self._bonuses is None and not Journal.for_folder_exists(self.settings.folder):
            return
        self.bonuses.settle_study(study_id)

    def get_hit_details(self, hit_id: str) -> HitDetails:
        study = self._study(hit_id)
        return mapping.details(study, self._counts(hit_id), self.now())

    def find_experiment_hits(self, experiment: str) -> list[HitDetails]:
        """The experiment's posted studies, each fetched in full: `status --sync` rebuilds plans from
        them, and a list item (`StudyShort`) has no description, URL, times or filters."""
        head = annotation(experiment, "", 0, 1).split(" plan=", 1)[0] + " plan="
        now = self.now()
        found = [
            mapping.details(self._study(study["id"]), self._counts(study["id"]), now)
            for study in self.client.pages("studies/")
            if (study.get("internal_name") or "").startswith(head) and mapping.status_name(study.get("status")) != "UNPUBLISHED"
        ]
        epoch = datetime.fromtimestamp(0, UTC)
        return sorted(found, key=lambda h: (h.created_at or epoch, h.annotation or ""))

    def expire(self, hit_id: str) -> None:
        """Stop the study (STOP): nobody new can start; those at work may still finish."""
        try:
            self.client.post(f"studies/{hit_id}/transition/", {"action": "STOP"}, idempotent=True)
        except ProlificError:
            if mapping.status_name(self._study(hit_id).get("status")) != "COMPLETED":
                raise

    def delete(self, hit_id: str) -> None:
        """Delete a draft; a published study cannot be deleted on Prolific (OperationFailed says so)."""
        study = self._study(hit_id)
        if mapping.status_name(study.get("status")) != "UNPUBLISHED":
            raise OperationFailed(
                "Prolific keeps published studies (only drafts can be deleted): it stays in the account as "
                f"{mapping.status_name(study.get('status'))}; nothing to do",
                "NotDeletable",
            )
        self.client.delete(f"studies/{hit_id}/")

    def set_expiration(self, hit_id: str, expires_at: datetime) -> None:
        raise UsageError(
            "Prolific studies do not expire by time: drop --lifetime (babe extend --assignments N adds places; "
            "babe expire stops a study)"
        )

    def add_assignments(self, hit_id: str, count: int, token: str, *, total: int | None = None) -> bool:
        """More places: the study's size becomes `total` (absolute, so a repeated call adds nothing).

        `total` counts like `max_assignments` (places + rejected submissions, see `mapping`), so the
        places wanted are `total` minus the rejections.
        """
        study = self._study(hit_id)
        places = int(study.get("total_available_places") or 0)
        if total is not None:
            rejected = mapping.counts_by_status(self._counts(hit_id)).get("REJECTED", 0)
            wanted = total - rejected
        else:
            wanted = places + count
        if places >= wanted:
            return False
        self.client.patch(f"studies/{hit_id}/", {"total_available_places": wanted})
        return True

    # -- submissions --------------------------------------------------------------------------------
    def _submissions(self, study_id: str) -> Iterator[dict]:
        for submission in self.client.pages(f"studies/{study_id}/submissions/"):
            self._seen[submission["id"]] = (study_id, mapping.status_name(submission.get("status")))
            yield submission

    def iter_assignments(self, hit_id: str, statuses: tuple[str, ...] | None = None) -> Iterator[AssignmentInfo]:
        wanted = set(statuses) if statuses else None
        kept = self._listed.pop(hit_id, None)
        listed = kept[1] if kept is not None and time.monotonic() - kept[0] < LISTING_KEPT else None
        for submission in listed if listed is not None else self._submissions(hit_id):
            if not mapping.is_listed(submission):
                continue
            info = mapping.assignment(submission, hit_id)
            if wanted is None or info.status in wanted:
                yield info

    def _submission(self, submission_id: str) -> dict:
        try:
            submission = self.client.get(f"submissions/{submission_id}/")
        except ProlificError as exc:
            if exc.status == 404:
                raise NotFound(f"submission {submission_id} does not exist on {self.route.where}") from None
            raise
        self._seen[submission_id] = (submission.get("study_id") or "", mapping.status_name(submission.get("status")))
        return submission

    # -- events: `watch --events` (the `event_source` capability; see `events`) ---------------------
    def event_source(self, *, url: str | None, listen: str | None, stop: Any):
        """A receiver that believes signed events; `open(study ids)` subscribes the studies' workspace."""
        from .events import ProlificEvents

        return ProlificEvents(self, url=url, listen=listen, stop=stop)

    def seen_submission(self, submission_id: str) -> tuple[str, str] | None:
        """(study id, status) of a submission as this run last listed or read it; None if never."""
        return self._seen.get(submission_id)

    def submission_study(self, submission_id: str) -> str | None:
        """The study a submission belongs to, read from Prolific when no listing showed it."""
        seen = self._seen.get(submission_id)
        return seen[0] if seen and seen[0] else (self._submission(submission_id).get("study_id") or None)

    def get_assignment(self, assignment_id: str) -> AssignmentInfo:
        return mapping.assignment(self._submission(assignment_id))

    def approve(self, assignment_id: str, feedback: str | None = None) -> bool:
        """Approve one submission (Prolific has no approval message: `feedback` is not sent)."""
        status = mapping.status_name(self._submission(assignment_id).get("status"))
        if status in ("APPROVED", "PARTIALLY APPROVED"):
            return False
        if status != "AWAITING REVIEW":
            raise OperationFailed(f"submission is {status}, not AWAITING REVIEW", "InvalidSubmissionState")
        self.client.post(f"submissions/{assignment_id}/transition/", {"action": "APPROVE"}, idempotent=True)
        return True

    @property
    def approvals(self) -> Approvals:
        with self._lock:
            if self._approvals is None:
                self._approvals = Approvals.for_folder(self.settings.folder)
            return self._approvals

    def approve_many(self, assignment_ids: list[str], feedback: str | None = None) -> dict[str, bool | Exception]:
        """Bulk-approve (≤ 1000 a request), then confirm each id's status from its study's list.

        Prolific processes a bulk approval asynchronously. What is still AWAITING REVIEW after a
        short wait (`settling`) counts as approved now — Prolific accepted the request; the ledger
        books it, `status` shows it approved once processed — and stays in `approvals`, so a re-run
        answers it "already approved" instead of asking again. Only a status the approval cannot
        reach (returned, rejected) is a failure.
        """
        results: dict[str, bool | Exception] = {}
        studies: dict[str, set[str]] = {}
        todo: list[str] = []
        now = self.now().timestamp()
        asked = self.approvals.waiting(now)
        settled: list[str] = []
        for submission_id in dict.fromkeys(assignment_ids):
            if submission_id not in self._seen:
                try:
                    self._submission(submission_id)
                except OperationFailed as exc:
                    results[submission_id] = exc
                    continue
            study_id, status = self._seen[submission_id]
            if status in ("APPROVED", "PARTIALLY APPROVED"):
                results[submission_id] = False
                settled.append(submission_id)
            elif status == "AWAITING REVIEW" and submission_id in asked:
                results[submission_id] = False  # asked for by an earlier run; Prolific is processing it
            else:
                studies.setdefault(study_id, set()).add(submission_id)
                todo.append(submission_id)
        for start in range(0, len(todo), BULK_APPROVE):
            chunk = todo[start : start + BULK_APPROVE]
            self.approvals.request({i: self._seen[i][0] for i in chunk}, now)
            try:
                self.client.post("submissions/bulk-approve/", {"submission_ids": chunk}, idempotent=True)
            except BabeError as exc:
                self.approvals.forget(chunk)  # not accepted (or not known to be): the next run asks again
                if not isinstance(exc, OperationFailed):
                    raise
                for submission_id in chunk:
                    results[submission_id] = exc
        waiting = [i for i in todo if i not in results]
        statuses: dict[str, str] = {}

        def processed() -> bool:
            nonlocal waiting
            for study_id, ids in studies.items():
                if ids.intersection(waiting):
                    for submission in self._submissions(study_id):
                        statuses[submission["id"]] = mapping.status_name(submission.get("status"))
            waiting = [i for i in waiting if statuses.get(i) == "AWAITING REVIEW"]
            return not waiting

        if waiting:
            self.settling.until(processed)
        for submission_id in todo:
            if submission_id in results:
                continue
            status = statuses.get(submission_id, "")
            if status in ("APPROVED", "PARTIALLY APPROVED", "AWAITING REVIEW"):
                results[submission_id] = True
                if status != "AWAITING REVIEW":
                    settled.append(submission_id)
            else:
                settled.append(submission_id)
                results[submission_id] = OperationFailed(
                    f"{status or 'unlisted'} after the bulk approval, which Prolific accepted; it cannot be approved now",
                    "NotApproved",
                )
        self.approvals.forget(settled)
        return results

    def reject(self, assignment_id: str, reason: str) -> bool:
        status = mapping.status_name(self._submission(assignment_id).get("status"))
        if status == "REJECTED":
            return False
        if status != "AWAITING REVIEW":
            raise OperationFailed(f"submission is {status}, not AWAITING REVIEW", "InvalidSubmissionState")
        category, message = self.rejection(reason)
        self.client.post(
            f"submissions/{assignment_id}/transition/",
            {"action": "REJECT", "rejection_category": category, "message": message},
            idempotent=True,
        )
        return True

    def rejection(self, reason: str) -> tuple[str, str]:
        """(category, message) for a reason: `CATEGORY: text` picks the category; short texts are padded."""
        from .config import REJECTION_CATEGORIES

        category = self.config.rejection_category
        text = reason.strip()
        head, sep, rest = text.partition(":")
        if sep and head.strip().upper() in REJECTION_CATEGORIES and rest.strip():
            category, text = head.strip().upper(), rest.strip()
        if len(text) < MIN_REJECTION:
            text = f"{text.rstrip('.')}. {REJECTION_TAIL}"
        return category, text

    # -- bonuses: two calls, the second not idempotent (see `bonuses`) ------------------------------
    @property
    def bonuses(self) -> Bonuses:
        client = self.client  # outside the lock: building the client takes it too
        with self._lock:
            if self._bonuses is None:
                self._bonuses = Bonuses(
                    client, Journal.for_folder(self.settings.folder), self._submission, self._symbol, self.settling
                )
            return self._bonuses

    def _symbol(self) -> str:
        return self.pricing.symbol

    def send_bonus(self, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str) -> bool:
        return self.bonuses.send(worker_id, assignment_id, amount, reason, token)

    def send_bonuses(self, payments: list) -> dict[str, bool | Exception]:
        """Pay a bonus file in bulk (the optional member the bonus step prefers): token → outcome.

        Each payment's `hit_id` is its study, so no submission is looked up; see `Bonuses.send_many`.
        """
        return self.bonuses.send_many(payments)

    def list_bonus_payments(self, assignment_id: str) -> list[BonusInfo]:
        return self.bonuses.paid_for_submission(assignment_id)

    def list_hit_bonus_payments(self, hit_id: str) -> list[BonusInfo]:
        return self.bonuses.paid_for_study(hit_id)

    # -- keeping participants out (babe_tasks.exclusion decides who) ---------------------------------
    def plan_keep_out(self, plan, earlier) -> None:
        """Name the earlier studies in the study's previous-studies blocklist (`_filters`).

        The participant group of `exclusion: group` is blocked too when the plan keeps
        participants unique (groups.py); seeing participants needs nothing: the filters are by study.
        """
        plan.blocklist_hits = list(earlier.work_ids)
        plan.qualification_types = False
