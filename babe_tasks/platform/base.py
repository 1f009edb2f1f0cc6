"""The platform protocol: what the lifecycle steps need from a recruiting platform.

The shapes are MTurk's (it is the platform this project was built for), in plain Python types:
`Decimal` money, timezone-aware `datetime`s, and no wire names, so a step reads the same whatever
platform answers. A platform raises `babe_tasks.errors` exceptions only; a failure of one
operation that should not stop the others is an `OperationFailed`.

Beyond the members every platform has, a few are optional (MTurk, the first platform, has no
need of them, and `platform/mturk.py` defines none but `add_assignments(total=)`): `pricing`,
`supports_qualifications`, `check_plan`, `approve_many`, `send_bonuses`, `nouns`, `expires_by_time`,
`describe_plan`, `describe_created`, `created_json`, `event_source`. They are documented on `OptionalMembers` below.
Steps never read them with a bare `getattr`: they ask `pricing_of`, `capability` and `accepts`
here, so the MTurk default of each lives in one place (docs/platforms.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from ..errors import BabeError, UsageError

#: HIT statuses in which workers can still take assignments ("Publishing": posted, the platform
#: is still opening it — Prolific publishes asynchronously).
OPEN_STATUSES = frozenset({"Assignable", "Unassignable", "Publishing"})
#: HIT statuses from which a HIT can be deleted once every assignment is reviewed.
DELETABLE_STATUSES = frozenset({"Reviewable", "Reviewing"})


class OperationFailed(BabeError):
    """One platform operation failed; the step records it and carries on with the rest.

    `code` is the platform's own error code (MTurk's TurkErrorCode, or the AWS error code).
    """

    exit_code = 1

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class NotFound(UsageError):
    """The platform does not know this HIT or assignment (exit 2 when the user named it)."""


@dataclass(frozen=True)
class HitInfo:
    """A HIT as the platform reports it now."""

    hit_id: str
    hit_type_id: str
    hit_group_id: str | None
    status: str
    max_assignments: int
    available: int
    pending: int
    #: Approved or rejected: submitted-but-unreviewed assignments are in none of the three counts.
    completed: int
    reward: Decimal
    #: None where the HIT has no expiry time (`expires_by_time` False: open until stopped or full).
    expires_at: datetime | None
    created_at: datetime | None = None
    masters: bool = False
    annotation: str | None = None

    def is_open(self, now: datetime) -> bool:
        return self.status in OPEN_STATUSES and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class AssignmentInfo:
    """One assignment a worker submitted (platforms do not list accepted-but-unsubmitted ones)."""

    assignment_id: str
    hit_id: str
    worker_id: str
    status: str
    accept_time: datetime | None = None
    submit_time: datetime | None = None
    answer: str | None = None


@runtime_checkable
class Platform(Protocol):
    """What a step may ask of a recruiting platform."""

    #: The platform's name (`settings.platform`), and the environment it talks to.
    name: str
    target: str
    #: Where the calls go (an endpoint URL or a local state file), recorded in the ledger.
    location: str

    def connect(self) -> None:
        """Check what can be checked without a call (credentials, profile); UsageError if wrong."""

    def now(self) -> datetime:
        """The platform's clock (the local MTurk's clock may run ahead of the machine's)."""

    def ensure_hit_type(self, plan) -> str:
        """The id of the HIT type (one worker-visible group) the plan's HITs share."""

    def create_hit(self, plan, hit_type_id: str, hit) -> HitInfo:
        """Post one planned HIT with its token; a duplicate token answers the existing HIT."""

    def find_plan_hits(self, plan_id: str) -> dict[int, HitInfo]:
        """HITs of a plan already on the platform, by index (the fallback once tokens are forgotten)."""

    def get_hit(self, hit_id: str) -> HitInfo:
        """The HIT now; a UsageError naming the id when the platform does not know it."""

    def iter_assignments(self, hit_id: str, statuses: tuple[str, ...] | None = None) -> Iterator[AssignmentInfo]:
        """Every submitted assignment of a HIT (all pages), optionally only those statuses."""

    def get_assignment(self, assignment_id: str) -> AssignmentInfo:
        """One assignment; a UsageError naming the id when it does not exist."""

    def approve(self, assignment_id: str, feedback: str | None = None) -> bool:
        """Approve one Submitted assignment: True if approved now, False if it already was."""

    def expire(self, hit_id: str) -> None:
        """Stop the HIT from taking new workers now."""

    def delete(self, hit_id: str) -> None:
        """Delete a reviewed HIT; OperationFailed with the platform's reason if it cannot be."""

    def preview_url(self, hit_group_id: str | None) -> str | None:
        """Where a worker previews a HIT group, or None where there is no worker site."""

    def balance(self) -> Decimal:
        """The account's available balance."""

    def close(self) -> None:
        """Release what the platform opened (connections, state files) when the step ends."""

    # -- payments: reject and bonus (engineer PAYMENTS) ---------------------------------------------
    def reject(self, assignment_id: str, reason: str) -> bool:
        """Reject one Submitted assignment; `reason` is shown to the worker.

        True if rejected now, False if it already was (a re-run); OperationFailed naming the status
        when it is in another state (approved work cannot be rejected).
        """

    def send_bonus(self, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str) -> bool:
        """Pay one bonus under its idempotency token.

        True if this call paid it (also when its first attempt's answer was lost and the retry was
        told the token was processed); False if the token had been processed before this call — an
        earlier call paid it: done, not an error.
        """

    def list_bonus_payments(self, assignment_id: str) -> list[BonusInfo]:
        """Every bonus paid for an assignment: the check once the platform has forgotten a token."""

    # -- qualifications and extension (EXCLUSION) --------------------------------------------------
    def find_qualification_type(self, name: str) -> str | None:
        """The id of the caller's own qualification type with exactly this name, or None."""

    def qualification_type_name(self, qualification_type_id: str) -> str | None:
        """The name of a qualification type (system types included), or None if there is no such type."""

    def create_qualification_type(self, name: str, description: str) -> str:
        """Create an active qualification type; if the name is taken (a race), the existing one's id."""

    def grant_qualification(self, qualification_type_id: str, worker_id: str, value: int = 1) -> None:
        """Give a worker the qualification with this value, without notifying them."""

    def iter_qualified_workers(self, qualification_type_id: str) -> Iterator[tuple[str, int | None]]:
        """(worker id, value) of every worker granted the type (all pages)."""

    def add_assignments(self, hit_id: str, count: int, token: str, *, total: int | None = None) -> bool:
        """Add assignments to a HIT under an idempotency token: True if added now, False if the token
        was already processed (an earlier call whose answer was lost added them).

        `total` (optional in a platform's signature: the step passes it only when the method accepts
        it, see `accepts`) is the HIT's size once these are added, known from the extension's plan.
        A platform without request tokens makes the call idempotent with it: it sets the size to
        `total` (absolute) instead of adding `count` (relative), and answers False when the HIT is
        that big already.
        """

    def set_expiration(self, hit_id: str, expires_at: datetime) -> None:
        """Move the HIT's expiration to a future time (reopening it if it had expired)."""

    def get_hit_details(self, hit_id: str) -> HitDetails:
        """The HIT now, with what posting another one like it needs (question, texts, requirements)."""

    def find_experiment_hits(self, experiment: str) -> list[HitDetails]:
        """Every HIT on the platform whose RequesterAnnotation names the experiment, oldest first."""

    def list_hit_bonus_payments(self, hit_id: str) -> list[BonusInfo]:
        """Every bonus paid for the assignments of a HIT (all pages)."""


@dataclass(frozen=True)
class BonusInfo:
    """One bonus payment as the platform lists it."""

    worker_id: str
    assignment_id: str
    amount: Decimal
    reason: str
    grant_time: datetime | None = None


@dataclass(frozen=True)
class HitDetails(HitInfo):
    """A HIT with what `extend --split` needs to post another like it and `status --sync` to record it."""

    title: str = ""
    description: str = ""
    keywords: str = ""
    question: str = ""
    duration: int = 0
    auto_approve: int = 0
    requirements: tuple[dict, ...] = ()


class OptionalMembers(Protocol):
    """The members a platform may define; each has an MTurk default the steps use when it is absent.

    Read them through `pricing_of(platform)` and `capability(platform, name)`, never directly.
    """

    #: The fee rules and the currency: an object with the members of `money.Pricing`. Absent:
    #: `money.MTURK_PRICING` (USD, 20% + 20% at 10 or more assignments + 5% Masters, batches).
    #: It may be read before `connect()` (`babe cost` of a create makes no other call) and used
    #: after `close()`: reading the attribute may make a call (a platform whose fees depend on the
    #: account fetches them then, e.g. as a property), the object it returns must need none.
    pricing: Any

    #: Whether the platform has MTurk's qualification types. Absent: True. False: no type is
    #: created or granted (`status`, `approve` and `watch` grant nothing), and `create` keeps the
    #: workers of the experiment's earlier HITs (unique workers) and of the excluded experiments
    #: out through `plan.blocklist_hits` — the ids, from the ledger, of the HITs whose workers the
    #: platform must keep out natively.
    supports_qualifications: bool

    def check_plan(self, plan) -> None:
        """Refuse, with a UsageError of one line, a plan this platform cannot honour as asked.

        Called by `create` after the before-create plugins and before the review/confirmation,
        so nothing is posted (exit 2). For example a `--masters` or a `--qualification` id the
        platform has no counterpart for. Absent: every plan that passed `Plan.validate` is fine.
        """

    def approve_many(self, assignment_ids: list[str], feedback: str | None) -> dict[str, bool | Exception]:
        """Approve several Submitted assignments in one request (the step sends chunks of <= 1000).

        Answers, per id: True approved now, False already approved, an exception (an
        `OperationFailed`) when that one failed. Absent: `approve` is called once per assignment.
        """

    def send_bonuses(self, payments: list) -> dict[str, bool | Exception]:
        """Pay several bonuses in as few requests as the platform allows; the answer per token.

        `payments` are the bonus step's `Payment`s: `worker_id`, `assignment_id`, `hit_id` (the HIT
        the assignment was listed under), `amount`, `reason`, `token` — checked (the assignment is
        of that HIT and was done by that worker) and recorded by the ledger as "sending" before the
        call. Answers, per token: True paid now (or confirmed paid now), False paid by an earlier
        call, an exception (a `BabeError`) when that one failed — a token left out counts as
        failed. Like `send_bonus`, each token is paid at most once whatever is re-sent, and — unlike
        MTurk's 24-hour token memory — for ever: the step sends an unfinished payment of an earlier
        run again without looking in `list_bonus_payments` first. Failures belong in the answer;
        raising fails every payment of the call. Absent: `send_bonus` is called once per payment.
        """

    #: What the platform calls a HIT, singular and plural, for text output (`status`, `expire`):
    #: Prolific's ("study", "studies"). JSON keeps MTurk's names (`hit_id`). Absent: ("HIT", "HITs").
    nouns: tuple[str, str]

    #: Whether the platform's HITs expire by time. Absent: True (MTurk: a HIT's lifetime). False
    #: (Prolific: a study runs until it is stopped or full): `HitInfo.expires_at` is None for a HIT
    #: that has not stopped (no time is made up) and the time it stopped for a stopped one;
    #: `extend --lifetime` is refused before anything is spent.
    expires_by_time: bool

    def describe_plan(self, plan) -> list[str]:
        """The lines of create's plan review that say how the plan will run on this platform, in
        place of MTurk's ("open for 7d, 1h per assignment, auto-approved after 3d" and "one HIT per
        worker in the whole experiment"), which would be untrue elsewhere. Absent: MTurk's lines."""

    def describe_created(self, plan) -> list[str]:
        """Extra lines `create` prints once the plan is posted (e.g. the completion code and URL the
        experiment's page must send workers to). Absent: none."""

    def created_json(self, plan) -> dict:
        """What `create --json` adds under `"platform"` (same facts as `describe_created`). Absent: no key."""

    def event_source(self, *, url: str | None, listen: str | None, stop: Any) -> Any:
        """Events that tell `watch --events` to refresh now instead of at the next interval.

        `url` is the public URL the platform must reach (None: the platform picks one, if it can —
        a local stand-in on 127.0.0.1); `listen` the local `host:port` to receive on; `stop` the
        watch's Ctrl-C event. Called before the first request, so a flag the platform cannot honour
        is refused (UsageError) before anything is read. Answers an object with `open(hit_ids)`
        (subscribe to the watched HITs' changes), `poll(wait) -> list` (the new relevant events,
        waiting up to `wait` seconds for one), `close() -> list[str]` (undo the subscription, also
        when never opened; warnings), `url`, and the counts `received`, `duplicates`, `forged`,
        `unrelated`. Absent: `--events` is refused (MTurk's events come through `--queue`, which
        `steps.watch` handles itself)."""


#: What an optional member is when a platform does not define it (MTurk's behaviour).
DEFAULTS: dict[str, Any] = {
    "supports_qualifications": True,
    "check_plan": None,
    "approve_many": None,
    "send_bonuses": None,
    "describe_plan": None,
    "nouns": ("HIT", "HITs"),
    "expires_by_time": True,
    "describe_created": None,
    "created_json": None,
    "event_source": None,
}


def pricing_of(platform) -> Any:
    """The platform's fee rules and currency (`money.Pricing`): its `pricing`, else MTurk's."""
    from ..money import MTURK_PRICING

    pricing = getattr(platform, "pricing", None) if platform is not None else None
    return pricing if pricing is not None else MTURK_PRICING


def capability(platform, name: str) -> Any:
    """An optional member of the platform (see `OptionalMembers`), or its MTurk default.

    Methods come back bound (or None when absent), flags as their value. Asking for a name that
    is not an optional member is a bug in the caller, not a platform's fault: KeyError.
    """
    default = DEFAULTS[name]
    value = getattr(platform, name, None)
    return default if value is None else value


def shown_expiry(expires_by_time: bool, expires_at: datetime | None, now: datetime) -> datetime | None:
    """The expiry people may be told of a HIT: None when there is no such time.

    On a platform whose HITs do not expire by time (`expires_by_time` False) an expiration after
    `now` is no time anything happens (a ledger written by an older babe-tasks may hold one):
    None. One at or before `now` is when the HIT stopped: kept.
    MTurk's expirations are always real and come back unchanged.
    """
    if expires_by_time or expires_at is None:
        return expires_at
    return expires_at if expires_at <= now else None


def accepts(method, keyword: str) -> bool:
    """Whether a callable takes this keyword argument (by name or through `**kwargs`).

    Lets a step pass what newer platforms understand (`add_assignments(total=)`) without breaking
    platforms written against the older signature.
    """
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    if keyword in parameters and parameters[keyword].kind is not inspect.Parameter.POSITIONAL_ONLY:
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
