"""The one module every Mechanical Turk call goes through.

It decides where calls go (the target: the embedded local MTurk, Amazon's sandbox or live
endpoint, or any `--endpoint-url` speaking the protocol), how they are retried (botocore's
`standard` mode with the project's attempts, back-off and retry budget: `retries`; an optional
fixed ceiling on the request rate, `RequestCeiling`), and what a failure means to the lab: every
botocore exception leaves this module as a `babe_tasks.errors` exception with a one-line message,
marked `retryable` when botocore would have retried it (a later pass of the step may finish it). A
platform that never answered is exit 4 ("unreachable"); one that answered earlier calls of the run
and then drops one is that call's failure (exit 1 through the step: re-running finishes). Mechanical Turk closed on
2026-09-30, so a sandbox or live endpoint that does not answer, or that refuses the credentials,
gets a message naming that closure instead of a traceback.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore import xform_name

from babe_mturk.retries import (
    RetryBudget,
    install_retry_budget,
    max_attempts,
    retry_mode,
    retryable,
)
from babe_tasks.errors import PlatformError, UsageError
from babe_tasks.planning import MASTERS_IDS, annotation, annotation_prefix
from babe_tasks.platform.base import (
    AssignmentInfo,
    BonusInfo,
    Capabilities,
    HitDetails,
    HitInfo,
    NotFound,
    OperationFailed,
)

ENDPOINTS = {
    "live": "https://mturk-requester.us-east-1.amazonaws.com",
    "sandbox": "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
}
PREVIEW_URLS = {
    "live": "https://worker.mturk.com/mturk/preview?groupId={group}",
    "sandbox": "https://workersandbox.mturk.com/mturk/preview?groupId={group}",
}
REGION = "us-east-1"
CLOSURE = "Amazon closed Mechanical Turk on 2026-09-30, so its endpoints may no longer answer"

#: AWS error codes that mean "these credentials are not accepted here".
AUTH_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "UnauthorizedOperation",
        "NotAuthorized",
    }
)
#: Real MTurk messages end in the server's timestamp in milliseconds.
_TIMESTAMP = re.compile(r"\s*\(\d{10,}\)\s*$")
_HIT_ID = re.compile(r"\b(?=[A-Z0-9]*[A-Z])[A-Z0-9]{20,64}\b")
_PLAN_INDEX = re.compile(r" hit=(\d+)/\d+$")


def _transient(failed: OperationFailed, exc: Exception) -> OperationFailed:
    """Mark a failure botocore would have retried with more attempts: a later pass may finish it."""
    failed.retryable = retryable(exc)  # type: ignore[attr-defined]
    return failed


def masters_id(target: str) -> str:
    """Masters' qualification id for a target; the local MTurk knows the sandbox one."""
    return MASTERS_IDS.get(target, MASTERS_IDS["sandbox"])


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _message(error: dict) -> str:
    return _TIMESTAMP.sub("", error.get("Message") or "").strip()


class RequestCeiling:
    """`max_requests_per_second`: a hard ceiling on every HTTP attempt of one client, retries included.

    botocore's adaptive retry mode only slows down after the service has throttled, and forgets
    between runs; a lab that shares an account's rate with other tools, or knows its limit, sets a
    ceiling so that no request is throttled at all. It is botocore's own token bucket (the one its
    adaptive mode uses), fixed at the ceiling: bursts of at most `rate` requests, `rate` a second
    after that — the shape of the limit MTurk (and the local MTurk's `rate=` fault) applies.
    """

    def __init__(self, rate: float, clock: Any = None):
        from botocore.retries.bucket import Clock, TokenBucket

        self.rate = rate
        self.bucket = TokenBucket(max_rate=rate, clock=clock or Clock(), min_rate=rate)

    def install(self, client) -> None:
        # First of all `before-send` handlers: ahead of the adaptive limiter and of the in-process
        # local MTurk's handler, which answers the request (and so ends the event) itself.
        client.meta.events.register_first("before-send.mturk", self.before_send)

    def before_send(self, **_: Any) -> None:
        self.bucket.acquire()


def capabilities(target: str, endpoint_url: str | None) -> Capabilities:
    """MTurk's: HITs expire by time, one request per approval and per bonus, qualification types,
    SQS notifications (`watch --queue`); on the local MTurk no worker site but simulated workers."""
    local = target == "local" and not endpoint_url
    return Capabilities(
        title="MTurk",
        expires_by_time=True,
        bulk_approve=False,
        bulk_bonus=False,
        qualifications=True,
        events="queue",
        nouns=("HIT", "HITs"),
        submission_id_pattern=r"^[A-Z0-9]{1,64}$",
        submission_id_kind="an MTurk assignment id (1 to 64 capital letters and digits)",
        worker_id_pattern=r"^A[A-Z0-9]{1,63}$",
        worker_id_kind="an MTurk worker id (A followed by capital letters and digits)",
        no_preview="Local MTurk: no worker site; let simulated workers in with `babe local.work`." if local else None,
        rejection_categories=(),  # MTurk takes only the reason the worker reads
    )


class MTurkPlatform:
    """Mechanical Turk for the settings' target, through one boto3 client shared by all threads."""

    name = "mturk"

    def __init__(self, settings, client: Any = None):
        self.settings = settings
        self.target = settings.target
        self.endpoint_url = settings.endpoint_url
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()
        self._ceiling: RequestCeiling | None = None
        #: Whether the endpoint has answered any attempt (even with an error) in this run: a
        #: connection failure before that is "unreachable" (exit 4), after it one call's failure.
        self.answered = False
        #: The share of recent attempts that got an answer (any, errors too): see `still_answering`.
        self.answering = 1.0
        self._attempts_lock = threading.Lock()
        self._watched: Any = None
        #: The retry budget of the client this platform made (None for a client passed in).
        self.retry_budget: RetryBudget | None = None
        #: HIT type ids by their values, as made in this run (`_hit_type`).
        self._hit_types: dict[str, str] = {}

    @property
    def capabilities(self) -> Capabilities:
        """MTurk's (`capabilities`). A subclass that can do more or less says so with its own."""
        return capabilities(self.target, self.endpoint_url)

    # -- where the calls go -------------------------------------------------------------------
    @property
    def location(self) -> str:
        if self.endpoint_url:
            return self.endpoint_url
        if self.target == "local":
            from babe_mturk.local.store import default_state_path

            return f"local:{self.settings.local_state or default_state_path()}"
        return ENDPOINTS[self.target]

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
                if self._owns_client:
                    self.retry_budget = install_retry_budget(self._client)
            if self._watched is not self._client:
                self._client.meta.events.register("needs-retry.mturk", self._saw_attempt)
                self._watched = self._client
            if self._ceiling is None and getattr(self.settings, "max_requests_per_second", None):
                self._ceiling = RequestCeiling(self.settings.max_requests_per_second)
                self._ceiling.install(self._client)
            return self._client

    def _config(self, scoped: dict | None = None):
        from botocore.config import Config

        # AWS_RETRY_MODE / AWS_MAX_ATTEMPTS (or the profile's `retry_mode` / `max_attempts`) still
        # apply, so a lab tunes retries the way it does for any AWS tool; unset, the project's
        # defaults (`retries.DEFAULT_MODE`, `retries.DEFAULT_ATTEMPTS`) hold.
        retries = {"mode": retry_mode(scoped), "total_max_attempts": max_attempts(scoped)}
        pool = max(10, int(getattr(self.settings, "max_concurrency", 10) or 10))
        return Config(retries=retries, max_pool_connections=pool, connect_timeout=10, read_timeout=60)

    def _make_client(self):
        # botocore's session, not boto3's: boto3 adds nothing a client needs and costs ~0.1 s of
        # imports (s3transfer among them) at the start of every step (docs/performance.md).
        import os

        import botocore.exceptions
        import botocore.session

        if self.target == "local" and not self.endpoint_url:
            from babe_mturk import local as localturk

            config = self._config()
            try:
                return localturk.client(
                    state=self.settings.local_state,
                    retries=config.retries,
                    max_pool_connections=config.max_pool_connections,
                )
            except ValueError as exc:  # a malformed BABE_LOCAL_FAULTS: the user's input, not a bug
                raise UsageError(f"{exc}; fix or unset BABE_LOCAL_FAULTS") from None
        if self.target == "local":
            # A local server checks no signature, but botocore refuses to send unsigned-by-default
            # requests without credentials: dummy ones, as for the in-process client.
            session = botocore.session.Session()
            session.set_credentials("LOCALTURKLOCALTURK00", "localturk")
        else:
            try:
                session = botocore.session.Session(profile=self.settings.profile)
                session.get_scoped_config()  # an unknown profile is refused here, as boto3 would
            except botocore.exceptions.ProfileNotFound:
                raise UsageError(
                    f"AWS profile {self.settings.profile!r} is not configured (see ~/.aws/config), "
                    f"or use --target local; {CLOSURE}"
                ) from None
            if session.get_credentials() is None:
                profile = self.settings.profile or os.environ.get("AWS_PROFILE")
                hint = f"profile {profile!r} has none" if profile else "set AWS_PROFILE or pass --profile"
                raise UsageError(
                    f"no AWS credentials for {self.target} ({hint}); try --target local — {CLOSURE}"
                )
        scoped = session.get_scoped_config() if self.target != "local" else None
        return session.create_client(
            "mturk",
            region_name=REGION,
            endpoint_url=self.endpoint_url or ENDPOINTS.get(self.target),
            config=self._config(scoped),
        )

    #: Weight of each attempt in `answering`, the share of recent attempts that got any answer.
    ANSWERING_WEIGHT = 0.05

    @property
    def still_answering(self) -> bool:
        """Whether another pass over failed items can help: the service is still there.

        It is not when the retry budget ran dry (nothing succeeded for about 100 retries), nor when
        most recent attempts got no answer at all (an outage that began while calls were in flight:
        one late success refills the budget, but the attempts after it were all dropped). Passing
        over the failed items again would then only add doomed attempts (`steps.passes`).
        """
        budget_left = self.retry_budget is None or not self.retry_budget.dry
        return budget_left and self.answering >= 0.5

    def _saw_attempt(self, response=None, **_: Any) -> None:
        # botocore's `needs-retry` fires after every attempt: `response` is None only when no
        # answer arrived (refused, dropped, timed out). Returns None: the retry decision is not ours.
        if response is not None:
            self.answered = True
        with self._attempts_lock:
            self.answering += self.ANSWERING_WEIGHT * ((response is not None) - self.answering)

    # -- calls and error translation -----------------------------------------------------------
    def call(self, operation: str, **params: Any) -> dict:
        """One MTurk operation by its API name; every failure becomes a BabeError subclass."""
        method = getattr(self.client, xform_name(operation))
        with self._translating(operation, params):
            return method(**params)

    def pages(self, operation: str, **params: Any) -> Iterator[dict]:
        """Every page of a list operation, through botocore's paginator (100 per page)."""
        paginator = self.client.get_paginator(xform_name(operation))
        pages = iter(paginator.paginate(**params, PaginationConfig={"PageSize": 100}))
        while True:
            with self._translating(operation, params):
                page = next(pages, None)
            if page is None:
                return
            yield page

    @contextmanager
    def _translating(self, operation: str, params: dict) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            translated = self.translate(exc, operation, params)
            if translated is exc:
                raise
            raise translated from exc

    def translate(self, exc: Exception, operation: str, params: dict) -> Exception:
        """The project's exception for a botocore failure, with a one-line message."""
        import botocore.exceptions as bx

        if isinstance(exc, (UsageError, PlatformError, OperationFailed)):
            return exc
        where = self.endpoint_url or ENDPOINTS.get(self.target) or "the local MTurk"
        if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
            return UsageError(f"no AWS credentials for {self.target}: set AWS_PROFILE or pass --profile; {CLOSURE}")
        if isinstance(exc, bx.ProfileNotFound):
            return UsageError(f"{exc}; {CLOSURE}")
        if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionError, bx.HTTPClientError)):
            if self.answered:
                # It answered earlier calls of this run: this call failed, the platform is there.
                # The step reports it with the others (exit 1) and a re-run finishes the job.
                return _transient(
                    OperationFailed(
                        f"cannot reach the MTurk endpoint {where} for {operation} ({exc}), though it answered "
                        "earlier calls; run the command again to finish",
                        "ConnectionError",
                    ),
                    exc,
                )
            if self.target == "local" and not self.endpoint_url:
                # In-process there is no network: only fault injection drops every attempt.
                return PlatformError(
                    f"the in-process local MTurk answered no attempt of {operation} ({exc}); "
                    "BABE_LOCAL_FAULTS drops too many requests: lower drop= and lost=, or unset it"
                )
            hint = " (is `babe local.serve` running there?)" if self.target == "local" else ""
            return PlatformError(f"cannot reach the MTurk endpoint {where}{hint}: {exc}; {CLOSURE}")
        if isinstance(exc, bx.ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code") or ""
            turk_code = (exc.response.get("TurkErrorCode") or "").rsplit(".", 1)[-1]
            message = _message(error)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in AUTH_CODES or status == 403:
                return PlatformError(
                    f"{where} refused the credentials for {self.target} ({code}: {message}); {CLOSURE}"
                )
            if turk_code == "HITDoesNotExist":
                return NotFound(f"HIT {params.get('HITId')} does not exist on {self.target}")
            if turk_code in ("AssignmentDoesNotExist", "DoesNotExist") and "AssignmentId" in params:
                return NotFound(f"assignment {params['AssignmentId']} does not exist on {self.target}")
            # -- insufficient funds (issue 14, item 8) --
            # Amazon refuses a spending call the balance cannot cover with a RequestError, "This
            # Requester has insufficient funds in their account ..." (its TurkErrorCode, where one
            # is sent, the legacy AWS.MechanicalTurk.InsufficientFunds). One code for both, never
            # retried, so a step advises adding funds rather than only a re-run (steps/funds.py).
            if turk_code == "InsufficientFunds" or "insufficient funds" in message.lower():
                return OperationFailed(f"{operation}: {message}", "InsufficientFunds")
            # -- end of insufficient funds --
            return _transient(OperationFailed(f"{operation}: {message or code}", turk_code or code), exc)
        if isinstance(exc, bx.BotoCoreError):
            return PlatformError(f"MTurk call {operation} failed: {exc}")
        return exc

    # -- the platform protocol ----------------------------------------------------------------
    def connect(self) -> None:
        self.client  # noqa: B018 - building the client checks the profile and the credentials

    def now(self) -> datetime:
        # A local MTurk's clock may have been moved forward (`babe local.clock`): in-process, read
        # it from the state; behind `--endpoint-url`, ask the server's private clock route.
        turk = getattr(self.client, "localturk", None)
        if turk is not None:
            offset = turk.store.clock_offset()
        elif self.target == "local" and self.endpoint_url:
            offset = self._server_clock_offset()
        else:
            offset = 0.0
        return datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset, UTC)

    def _server_clock_offset(self) -> float:
        """The offset of a `babe local.serve` clock (`GET /_local/clock`); 0 for any other server."""
        import httpx

        try:
            answer = httpx.get(f"{self.endpoint_url.rstrip('/')}/_local/clock", timeout=5).json()
            return float(answer["offset"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return 0.0

    def requirements(self, plan) -> list[dict]:
        requirements = [dict(r) for r in plan.qualification_requirements]
        masters = masters_id(self.target)
        if plan.masters and not any(r.get("QualificationTypeId") == masters for r in requirements):
            requirements.append({"QualificationTypeId": masters, "Comparator": "Exists"})
        return requirements

    def _hit_type(self, plan) -> str:
        """The HIT type (one group workers see) of the plan's HITs, made once per run and values.

        MTurk answers the same id for the same values, so HITs posted by separate runs — and
        `extend --split`'s, made from an existing HIT's values — share one group.
        """
        params: dict[str, Any] = {
            "AutoApprovalDelayInSeconds": plan.auto_approve,
            "AssignmentDurationInSeconds": plan.duration,
            "Reward": str(plan.reward),
            "Title": plan.title,
            "Description": plan.description,
        }
        if plan.keywords:
            params["Keywords"] = plan.keywords
        requirements = self.requirements(plan)
        if requirements:
            params["QualificationRequirements"] = requirements
        key = json.dumps(params, sort_keys=True, default=str)
        with self._lock:
            known = self._hit_types.get(key)
        if known is None:
            known = self.call("CreateHITType", **params)["HITTypeId"]
            with self._lock:
                self._hit_types[key] = known
        return known

    def post(self, plan, hit) -> HitInfo:
        """CreateHITWithHITType under the HIT's UniqueRequestToken; a duplicate answers the existing HIT."""
        hit_type_id = self._hit_type(plan)
        try:
            answer = self.call(
                "CreateHITWithHITType",
                HITTypeId=hit_type_id,
                MaxAssignments=hit.assignments,
                LifetimeInSeconds=plan.lifetime,
                Question=plan.question(),
                RequesterAnnotation=hit.annotation,
                UniqueRequestToken=hit.token,
            )
        except OperationFailed as exc:
            if exc.code != "HitAlreadyExists":
                raise
            # The one place a client must read the message: it carries the existing HIT's id.
            found = _HIT_ID.search(str(exc).split(":", 1)[-1])
            if found:
                return self.get_hit(found.group(0))
            existing = self.find_plan_hits(plan.plan_id).get(hit.index)
            if existing is None:
                raise
            return existing
        return self._hit(answer["HIT"])

    def find_plan_hits(self, plan_id: str) -> dict[int, HitInfo]:
        prefix = annotation_prefix(plan_id)
        found: dict[int, HitInfo] = {}
        for page in self.pages("ListHITs"):
            for raw in page.get("HITs", []):
                note = raw.get("RequesterAnnotation") or ""
                match = _PLAN_INDEX.search(note)
                if prefix in note and match:
                    found[int(match.group(1)) - 1] = self._hit(raw)
        return found

    def get_hit(self, hit_id: str) -> HitInfo:
        return self._hit(self.call("GetHIT", HITId=hit_id)["HIT"])

    def iter_assignments(self, hit_id: str, statuses: tuple[str, ...] | None = None) -> Iterator[AssignmentInfo]:
        params: dict[str, Any] = {"HITId": hit_id}
        if statuses:
            params["AssignmentStatuses"] = list(statuses)
        for page in self.pages("ListAssignmentsForHIT", **params):
            for raw in page.get("Assignments", []):
                yield self._assignment(raw)

    def get_assignment(self, assignment_id: str) -> AssignmentInfo:
        return self._assignment(self.call("GetAssignment", AssignmentId=assignment_id)["Assignment"])

    def answer_fields(self, answer: str) -> dict[str, str]:
        """The fields an ExternalQuestion page submitted; a text that is not MTurk's XML as one field."""
        import xml.etree.ElementTree as ET

        from .answers import answer_fields

        try:
            return answer_fields(answer)
        except ET.ParseError:
            return {"answer": answer}

    def approve(self, assignment_id: str, feedback: str | None = None) -> bool:
        params: dict[str, Any] = {"AssignmentId": assignment_id}
        if feedback:
            params["RequesterFeedback"] = feedback
        try:
            self.call("ApproveAssignment", **params)
        except OperationFailed as exc:
            if exc.code != "InvalidAssignmentState":
                raise
            # Auto-approval (or an earlier run) got there first: that is done, not an error. On
            # botocore's retry of this very call, the first attempt approved and its answer was
            # lost: approved by this call, and reported so (not "already approved").
            status = self.get_assignment(assignment_id).status
            if status == "Approved":
                response = getattr(exc.__cause__, "response", None) or {}
                return response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
            raise OperationFailed(f"assignment is {status}, not Submitted", exc.code) from None
        return True

    def expire(self, hit_id: str) -> None:
        self.call("UpdateExpirationForHIT", HITId=hit_id, ExpireAt=datetime(1970, 1, 1, tzinfo=UTC))

    def delete(self, hit_id: str) -> None:
        self.call("DeleteHIT", HITId=hit_id)

    def preview_url(self, hit) -> str | None:
        """The worker site's preview of the HIT's group (sandbox and live; none elsewhere)."""
        group = getattr(hit, "hit_group_id", None)
        if self.endpoint_url or self.target not in PREVIEW_URLS or not group:
            return None
        return PREVIEW_URLS[self.target].format(group=group)

    def balance(self) -> Decimal:
        return Decimal(self.call("GetAccountBalance")["AvailableBalance"])

    def close(self) -> None:
        """Close the in-process local MTurk's state file if this platform opened it."""
        turk = getattr(self._client, "localturk", None)
        if self._owns_client and turk is not None:
            turk.store.close()

    # -- keeping participants out: the experiment's qualification type (babe_mturk.exclusion) -----
    @property
    def exclusion(self):
        from babe_mturk.exclusion import QualificationExclusion

        return QualificationExclusion(self)

    def plan_keep_out(self, plan, earlier):
        return self.exclusion.plan_keep_out(plan, earlier)

    def keep_out(self, plan, earlier, records):
        return self.exclusion.keep_out(plan, earlier, records)

    def participants_seen(self, experiment, participant_ids, records):
        return self.exclusion.participants_seen(experiment, participant_ids, records)

    def participants_of(self, experiment, records):
        return self.exclusion.participants_of(experiment, records)

    def sync_keep_out(self, experiment, records):
        return self.exclusion.sync_keep_out(experiment, records)

    def check_plan(self, plan) -> None:
        """Refuse a requirement on a qualification type this MTurk does not know, before anything is made."""
        from babe_mturk.exclusion import check_types_exist, uses_types

        if uses_types(self):
            check_types_exist(self, plan.qualification_requirements, self.target)

    # -- MTurk's own qualification-type calls (not the protocol's: babe_mturk.exclusion uses them) --
    def find_qualification_type(self, name: str) -> str | None:
        # Query matches substrings of names and descriptions: only the exact name counts.
        for page in self.pages(
            "ListQualificationTypes", Query=name, MustBeRequestable=False, MustBeOwnedByCaller=True
        ):
            for raw in page.get("QualificationTypes", []):
                if raw.get("Name") == name and raw.get("QualificationTypeStatus") == "Active":
                    return raw["QualificationTypeId"]
        return None

    def qualification_type_name(self, qualification_type_id: str) -> str | None:
        try:
            answer = self.call("GetQualificationType", QualificationTypeId=qualification_type_id)
        except OperationFailed as exc:
            if exc.code == "QualificationTypeDoesNotExist" or "does not exist" in str(exc):
                return None
            raise
        return answer["QualificationType"].get("Name")

    def create_qualification_type(self, name: str, description: str) -> str:
        try:
            answer = self.call(
                "CreateQualificationType", Name=name, Description=description, QualificationTypeStatus="Active"
            )
        except OperationFailed as exc:
            if exc.code != "QualificationTypeAlreadyExists":
                raise
            # Another run created it between our lookup and this call: use that one.
            found = self.find_qualification_type(name)
            if found is None:
                raise
            return found
        return answer["QualificationType"]["QualificationTypeId"]

    def grant_qualification(self, qualification_type_id: str, worker_id: str, value: int = 1) -> None:
        self.call(
            "AssociateQualificationWithWorker",
            QualificationTypeId=qualification_type_id,
            WorkerId=worker_id,
            IntegerValue=value,
            SendNotification=False,
        )

    def iter_qualified_workers(self, qualification_type_id: str) -> Iterator[tuple[str, int | None]]:
        for page in self.pages("ListWorkersWithQualificationType", QualificationTypeId=qualification_type_id):
            for raw in page.get("Qualifications", []):
                yield raw["WorkerId"], raw.get("IntegerValue")

    # -- extension ----------------------------------------------------------------------------------
    def add_assignments(self, hit_id: str, count: int, token: str, total: int | None = None) -> bool:
        # `total` (the HIT's intended size after the call) is for platforms without request
        # tokens; MTurk's UniqueRequestToken already makes a retried call a no-op, so it is unused.
        try:
            self.call(
                "CreateAdditionalAssignmentsForHIT",
                HITId=hit_id,
                NumberOfAdditionalAssignments=count,
                UniqueRequestToken=token,
            )
        except OperationFailed as exc:
            # The same wording as for SendBonus: a retried token means an earlier call added them.
            if exc.code == "DuplicateRequest" or "has already been processed" in str(exc):
                return False
            raise
        return True

    def set_expiration(self, hit_id: str, expires_at: datetime) -> None:
        self.call("UpdateExpirationForHIT", HITId=hit_id, ExpireAt=expires_at)

    def get_hit_details(self, hit_id: str) -> HitDetails:
        return self._hit_details(self.call("GetHIT", HITId=hit_id)["HIT"])

    def find_experiment_hits(self, experiment: str) -> list[HitDetails]:
        head = annotation(experiment, "", 0, 1).split(" plan=", 1)[0] + " plan="
        found = [
            self._hit_details(raw)
            for page in self.pages("ListHITs")
            for raw in page.get("HITs", [])
            if (raw.get("RequesterAnnotation") or "").startswith(head)
        ]
        epoch = datetime.fromtimestamp(0, UTC)
        return sorted(found, key=lambda h: (h.created_at or epoch, h.annotation or ""))

    def list_hit_bonus_payments(self, hit_id: str) -> list[BonusInfo]:
        found = []
        for page in self.pages("ListBonusPayments", HITId=hit_id):
            for raw in page.get("BonusPayments", []):
                found.append(
                    BonusInfo(
                        worker_id=raw.get("WorkerId", ""),
                        assignment_id=raw.get("AssignmentId", ""),
                        amount=Decimal(raw.get("BonusAmount", "0")),
                        reason=raw.get("Reason", ""),
                        grant_time=_utc(raw.get("GrantTime")),
                    )
                )
        return found

    def _hit_details(self, raw: dict) -> HitDetails:
        info = self._hit(raw)
        return HitDetails(
            **{f.name: getattr(info, f.name) for f in fields(HitInfo)},
            title=raw.get("Title", ""),
            description=raw.get("Description", ""),
            keywords=raw.get("Keywords", "") or "",
            question=raw.get("Question", ""),
            duration=int(raw.get("AssignmentDurationInSeconds", 0)),
            auto_approve=int(raw.get("AutoApprovalDelayInSeconds", 0)),
            requirements=tuple(raw.get("QualificationRequirements", [])),
        )

    # -- wire shapes to plain types ------------------------------------------------------------
    def _hit(self, raw: dict) -> HitInfo:
        masters = set(MASTERS_IDS.values())
        return HitInfo(
            hit_id=raw["HITId"],
            hit_type_id=raw.get("HITTypeId", ""),
            hit_group_id=raw.get("HITGroupId"),
            status=raw.get("HITStatus", ""),
            max_assignments=int(raw.get("MaxAssignments", 0)),
            available=int(raw.get("NumberOfAssignmentsAvailable", 0)),
            pending=int(raw.get("NumberOfAssignmentsPending", 0)),
            completed=int(raw.get("NumberOfAssignmentsCompleted", 0)),
            reward=Decimal(raw.get("Reward", "0")),
            expires_at=_utc(raw.get("Expiration")) or datetime.fromtimestamp(0, UTC),
            created_at=_utc(raw.get("CreationTime")),
            masters=any(r.get("QualificationTypeId") in masters for r in raw.get("QualificationRequirements", [])),
            annotation=raw.get("RequesterAnnotation"),
        )

    @staticmethod
    def _assignment(raw: dict) -> AssignmentInfo:
        return AssignmentInfo(
            assignment_id=raw["AssignmentId"],
            hit_id=raw.get("HITId", ""),
            worker_id=raw.get("WorkerId", ""),
            status=raw.get("AssignmentStatus", ""),
            accept_time=_utc(raw.get("AcceptTime")),
            submit_time=_utc(raw.get("SubmitTime")),
            answer=raw.get("Answer"),
        )

    # -- payments: reject and bonus (engineer PAYMENTS) ---------------------------------------------
    #: How MTurk says "this UniqueRequestToken was already processed": the local MTurk's code, and
    #: the only wording publicly reported for the real service (its code is not confirmed).
    DUPLICATE_CODES = frozenset({"DuplicateRequest"})
    DUPLICATE_WORDING = "has already been processed"

    def reject(self, assignment_id: str, reason: str) -> bool:
        try:
            self.call("RejectAssignment", AssignmentId=assignment_id, RequesterFeedback=reason)
        except OperationFailed as exc:
            if exc.code != "InvalidAssignmentState":
                raise
            # An earlier run (or another tool) may have rejected it already: that is done.
            status = self.get_assignment(assignment_id).status
            if status == "Rejected":
                return False
            raise OperationFailed(f"assignment is {status}, not Submitted", exc.code) from None
        return True

    def send_bonus(self, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str) -> bool:
        from babe_tasks.money import fmt

        try:
            self.call(
                "SendBonus",
                WorkerId=worker_id,
                AssignmentId=assignment_id,
                BonusAmount=fmt(amount),
                Reason=reason,
                UniqueRequestToken=token,
            )
        except OperationFailed as exc:
            if not (exc.code in self.DUPLICATE_CODES or self.DUPLICATE_WORDING in str(exc)):
                raise
            # "Already processed" on botocore's retry of this very call: its first attempt paid and
            # the answer was lost — paid by this call. On the first attempt: an earlier call paid.
            response = getattr(exc.__cause__, "response", None) or {}
            return response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
        return True

    def list_bonus_payments(self, assignment_id: str) -> list:
        from babe_tasks.platform.base import BonusInfo

        found = []
        for page in self.pages("ListBonusPayments", AssignmentId=assignment_id):
            for raw in page.get("BonusPayments", []):
                found.append(
                    BonusInfo(
                        worker_id=raw.get("WorkerId", ""),
                        assignment_id=raw.get("AssignmentId", assignment_id),
                        amount=Decimal(raw.get("BonusAmount", "0")),
                        reason=raw.get("Reason", ""),
                        grant_time=_utc(raw.get("GrantTime")),
                    )
                )
        return found


    # -- events: `watch --queue` (capabilities.events "queue"; babe_mturk.notifications) -----------
    #: What doctor says it asked when the balance answered (`babe doctor`'s platform check).
    balance_request = "GetAccountBalance"

    def event_source(
        self,
        *,
        queue: str,
        stop: Any = None,
        first_sighting: Any = None,
    ):
        """MTurk's notifications for the watched HITs' types, sent to the SQS queue `queue` (`--queue`).

        The queue URL is checked here, before any request; the HIT types are subscribed when the
        watch opens the source. `first_sighting(event_doc_id)` is the watch's dedup store.
        """
        from babe_mturk.notifications import QueueEvents

        return QueueEvents(self, queue=queue, stop=stop, first_sighting=first_sighting)
