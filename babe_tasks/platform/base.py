"""The platform protocol: what the lifecycle steps need from a recruiting platform.

The steps post planned units of work (MTurk's HITs, Prolific's studies: the protocol keeps the
name "HIT" for them, as the ledger and the JSON output do), list their submissions (assignments),
approve, reject, pay bonuses, add places or time, and stop them. Everything is plain Python:
`Decimal` money, timezone-aware `datetime`s, no wire names, so a step reads the same whatever
platform answers. A platform raises `babe_tasks.errors` exceptions only; a failure of one
operation that should not stop the others is an `OperationFailed`.

What differs between platforms is data, not a check of the platform's name: `Capabilities`
(read with `capabilities_of(platform)`) says whether work expires by time, whether approvals and
bonuses go in bulk, how `watch` hears of changes, what the platform calls its units and how its
ids look. A few methods are optional (`check_plan`, `approve_many`, `send_bonuses`,
`describe_plan`, `describe_created`, `created_json`, `event_source`, and `pricing`): steps read
them through `optional(platform, name)` and `pricing_of(platform)`, never with a bare `getattr`,
so the behaviour without each lives in one place (docs/platforms.md).
"""

from __future__ import annotations

import inspect
import re
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


# -- capabilities: what differs between platforms, as data ----------------------------------------
#: Ids of a platform that says nothing of their shape: checked loosely (the platform itself says
#: when one does not exist).
LOOSE_ID = r"^[A-Za-z0-9_-]{1,64}$"


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do and how it words things, read as `platform.capabilities`.

    Each shipped platform spells out every field; a platform that defines no `capabilities`
    gets `capabilities_of`'s reading of the older optional members (see there).
    """

    #: The platform's name for people ("MTurk", "Prolific"): "MTurk fees", "is not an MTurk id".
    title: str
    #: Whether posted work closes at a time. False (Prolific: a study runs until stopped or full):
    #: `HitInfo.expires_at` is None for work that has not stopped (no time is made up) and the time
    #: it stopped for stopped work; `extend --lifetime` is refused before anything is spent.
    expires_by_time: bool = True
    #: Whether `approve_many` approves several submissions in one request (else one call each).
    bulk_approve: bool = False
    #: Whether `send_bonuses` pays several bonuses in one request (else `send_bonus` each).
    bulk_bonus: bool = False
    #: Whether posted work carries requirements (`--qualification`, `--min-approval`, `--locale`,
    #: `--masters`) and the platform keeps workers out by granting them a marker. False: nothing is
    #: granted, and `create` keeps workers out through `plan.blocklist_hits` (the ledger's ids of
    #: the earlier work whose workers the platform must keep out natively).
    qualifications: bool = True
    #: How `watch` hears of changes between refreshes: "queue" (a message queue the platform
    #: publishes to: MTurk's SQS, `watch --queue`), "webhook" (the platform calls a URL:
    #: `event_source`, `watch --events`), or None (refreshing is the only way).
    events: str | None = None
    #: What the platform calls a unit of work, singular and plural, for text output. JSON keeps
    #: `hit_id` whatever the platform.
    nouns: tuple[str, str] = ("HIT", "HITs")
    #: Patterns (regular expressions) a submission's and a worker's id must match, and what such
    #: an id is called in a refusal: checked before any call (`reject`, `bonus`).
    submission_id_pattern: str = LOOSE_ID
    submission_id_kind: str = ""
    worker_id_pattern: str = LOOSE_ID
    worker_id_kind: str = ""
    #: What `create` tells the lab when the platform gives no preview URL (None: nothing).
    no_preview: str | None = None
    #: The categories a rejection may carry (Prolific's `TOO_QUICKLY`, …), sent as the reason's
    #: `"CATEGORY: text"` prefix; empty where the platform has none (MTurk: the reason is the text).
    rejection_categories: tuple[str, ...] = ()

    def submission_id(self) -> tuple[re.Pattern, str]:
        """The pattern a submission's id must match, and what such an id is called."""
        return re.compile(self.submission_id_pattern), self.submission_id_kind or self._loose()

    def worker_id(self) -> tuple[re.Pattern, str]:
        """The pattern a worker's id must match, and what such an id is called."""
        return re.compile(self.worker_id_pattern), self.worker_id_kind or self._loose()

    def _loose(self) -> str:
        return f"a {self.title} id (1 to 64 letters, digits, - or _)"


@dataclass(frozen=True)
class HitInfo:
    """A unit of posted work (a HIT, a study) as the platform reports it now."""

    hit_id: str
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
    #: The platform's own grouping of posted work, recorded in the ledger and shown by `create
    #: --json` (MTurk: the HIT type and the HIT group workers see); None where it has none.
    hit_type_id: str | None = None
    hit_group_id: str | None = None

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

    def seconds_taken(self) -> float | None:
        """Accept to submit, in seconds; None when the platform gave no times, or a submit before the
        accept (a clock's mistake, not speed: status and report skip those too)."""
        if self.accept_time is None or self.submit_time is None:
            return None
        taken = (self.submit_time - self.accept_time).total_seconds()
        return taken if taken >= 0 else None


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

    #: What the platform can do and how it words things (see `Capabilities`).
    capabilities: Capabilities

    def post(self, plan, hit) -> HitInfo:
        """Post one planned unit of work (`planning.PlannedHit`: its size, token and annotation).

        The same `hit.token` posted again answers the work the first call posted, never a second
        one: a re-run after a lost answer posts nothing twice. Whatever the platform needs around
        the work (MTurk's HIT type, a draft to publish) it makes and keeps itself.
        """

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

    def preview_url(self, hit) -> str | None:
        """Where a participant sees posted work before taking it, or None where nobody can.

        `hit` is the work as the platform answered it (`HitInfo`) or as the ledger recorded it:
        both have `hit_id`, `hit_type_id` and `hit_group_id`.
        """

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

    # -- extension ------------------------------------------------------------------------------
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


# -- keeping participants out: one person, one participation (EXCLUSION) -------------------------
@dataclass(frozen=True)
class Earlier:
    """Who new work must keep out, as this folder's ledger knows them: the core says what, the
    platform's keep-out members (`KeepingOut`) say how.

    `unique`: nobody may take part in `experiment` twice (not `--allow-repeat-workers`).
    `experiments`: the earlier experiments whose participants are kept out (`--exclude-previous`).
    `work_ids`: the ledger's ids of the posted work (HITs, studies) whose participants are kept
    out — this experiment's when `unique` (deleted work too), every excluded experiment's —
    in posting order, each once. `participants`: who took part in `experiment` already;
    `excluded`: who took part in the excluded experiments and not in this one (empty until
    `create` has listed them, after the plan is made).
    """

    experiment: str
    unique: bool
    experiments: tuple[str, ...] = ()
    work_ids: tuple[str, ...] = ()
    participants: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    @property
    def anyone(self) -> bool:
        """Whether anybody is to be kept out at all (a unique experiment always is: its future participants)."""
        return self.unique or bool(self.excluded)


@dataclass
class KeepOutReport:
    """What one round of keeping out did on the platform: how many participants it reached now,
    and the failures (participant, error). `what` names the platform's means in warnings."""

    done: int = 0
    failed: tuple[tuple[str, str], ...] = ()
    what: str = "the experiment's exclusion"

    def warnings(self) -> list[str]:
        if not self.failed:
            return []
        participant, error = self.failed[0]
        line = f"could not grant {self.what} to {len(self.failed)} worker(s) ({participant}: {error}); "
        return [line + "the next status or approve tries again"]


@dataclass(frozen=True)
class KnownParticipants:
    """What the platform itself remembers of an experiment's participants (beyond this ledger).

    `found`: it has a record of the experiment at all (MTurk: the experiment's qualification type);
    `where`: what it looked for, for the refusal of an experiment nobody knows ("" when nothing).
    """

    participants: frozenset[str] = frozenset()
    found: bool = False
    where: str = ""


@dataclass(frozen=True)
class SyncedKeepOut:
    """What `status --sync` got back from the platform's keep-out means.

    `found`: participants it holds as kept out or taken part (the sync's "worker qualification(s)");
    `own`: requirements the platform itself added to the experiment's work to keep it unique
    (a restored plan is `unique_workers` when its work carries one, and does not list them).
    """

    found: int = 0
    own: tuple[dict, ...] = ()

    def split(self, requirements: list[dict]) -> tuple[bool, list[dict]]:
        """(whether the work kept its participants unique, the lab's own requirements)."""
        ids = {r.get("QualificationTypeId") for r in self.own}
        mine = [r for r in requirements if r.get("QualificationTypeId") not in ids]
        return len(mine) != len(requirements), mine


class KeepingOut(Protocol):
    """How a platform keeps participants out; every member is optional (`babe_tasks.exclusion`
    reads them, and does what is said under "Absent" for a platform without them).

    `records` is the ledger's `ExclusionRecords`: what the platform may remember it did (its
    markers, whom it granted), so that it is done once and not at every `status`.
    """

    def plan_keep_out(self, plan, earlier: Earlier) -> None:
        """Make the plan keep `earlier` out, when `create` plans (before the plugins, `check_plan`
        and the review see it): no call that changes anything, nothing is granted yet.
        Absent: `plan.blocklist_hits` = `earlier.work_ids` (the platform's posting must keep those
        works' participants out natively) and `plan.qualification_types` False."""

    def keep_out(self, plan, earlier: Earlier, records) -> KeepOutReport:
        """Once the lab has confirmed and before the first post: do on the platform what keeping
        `earlier` out needs (MTurk: its qualification type, granted, and required by the plan).
        `create` posts nothing while the report has failures. Absent: nothing to do."""

    def participants_seen(self, experiment: str, participant_ids: list[str], records) -> KeepOutReport:
        """These participants took part in the experiment (`status`, `approve`, `watch`): keep them
        out of its other work from now on. Absent: nothing (the platform filters by work)."""

    def participants_of(self, experiment: str, records) -> KnownParticipants:
        """Who the platform's own record says took part in an experiment (run from another folder,
        or whose ledger was lost). Absent: nothing known."""

    def sync_keep_out(self, experiment: str, records) -> SyncedKeepOut:
        """`status --sync`: rebuild `records` from what the platform holds. Absent: nothing held."""


class OptionalMembers(Protocol):
    """The members a platform may define; each has a behaviour the steps fall back on when it is absent.

    Read them through `pricing_of(platform)` and `optional(platform, name)`, never directly.
    """

    #: The fee rules and the currency: an object with the members of `money.Pricing`. Absent:
    #: `money.MTURK_PRICING` (USD, 20% + 20% at 10 or more assignments + 5% Masters, batches).
    #: It may be read before `connect()` (`babe cost` of a create makes no other call) and used
    #: after `close()`: reading the attribute may make a call (a platform whose fees depend on the
    #: account fetches them then, e.g. as a property), the object it returns must need none.
    pricing: Any

    def check_plan(self, plan) -> None:
        """Refuse, with a UsageError of one line, a plan this platform cannot honour as asked.

        Called by `create` after the before-create plugins and before the review/confirmation,
        so nothing is posted (exit 2). For example a `--masters` or a `--qualification` id the
        platform has no counterpart for. Absent: every plan that passed `Plan.validate` is fine.
        """

    def approve_many(self, assignment_ids: list[str], feedback: str | None) -> dict[str, bool | Exception]:
        """Approve several Submitted assignments in one request (the step sends chunks of <= 1000).

        Answers, per id: True approved now, False already approved, an exception (an
        `OperationFailed`) when that one failed. Absent (or `capabilities.bulk_approve` False):
        `approve` is called once per assignment.
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
        raising fails every payment of the call. Absent (or `capabilities.bulk_bonus` False):
        `send_bonus` is called once per payment.
        """

    def describe_plan(self, plan) -> list[str]:
        """The lines of create's plan review that say how the plan will run on this platform, in
        place of the core's ("open for 7d, 1h per assignment, auto-approved after 3d" and "one HIT
        per worker in the whole experiment"), which are untrue where work does not run that way.
        Absent: the core's lines."""

    def describe_created(self, plan) -> list[str]:
        """Extra lines `create` prints once the plan is posted (e.g. the completion code and URL the
        experiment's page must send workers to). Absent: none."""

    def created_json(self, plan) -> dict:
        """What `create --json` adds under `"platform"` (same facts as `describe_created`). Absent: no key."""

    def answer_fields(self, answer: str) -> dict[str, str]:
        """A submission's `AssignmentInfo.answer` as the form fields the participant's page sent, for
        `babe review`'s detail (MTurk: the FreeText fields of its QuestionFormAnswers XML). Absent:
        the answer shown as one field, `answer`."""

    def event_source(self, *, url: str | None, listen: str | None, stop: Any) -> Any:
        """Events that tell `watch --events` to refresh now instead of at the next interval.

        `url` is the public URL the platform must reach (None: the platform picks one, if it can —
        a local stand-in on 127.0.0.1); `listen` the local `host:port` to receive on; `stop` the
        watch's Ctrl-C event. Called before the first request, so a flag the platform cannot honour
        is refused (UsageError) before anything is read. Answers an object with `open(hit_ids)`
        (subscribe to the watched HITs' changes), `poll(wait) -> list` (the new relevant events,
        waiting up to `wait` seconds for one), `close() -> list[str]` (undo the subscription, also
        when never opened; warnings), `url`, and the counts `received`, `duplicates`, `forged`,
        `unrelated`. Defined by a platform whose `capabilities.events` is "webhook"; absent:
        `--events` is refused."""


#: The optional methods (`OptionalMembers`): `optional` answers None for one a platform lacks.
OPTIONAL_METHODS = frozenset(
    {
        "check_plan", "approve_many", "send_bonuses", "describe_plan", "describe_created", "created_json", "event_source",
        "answer_fields",
    }
)


def optional(platform, name: str) -> Any:
    """An optional method of the platform (see `OptionalMembers`), bound, or None when absent.

    A bulk method counts only where the platform's capabilities say it works in bulk, so a
    platform can switch one off (for an account without bulk access) by its data alone. Asking
    for a name that is not an optional method is a bug in the caller: KeyError.
    """
    if name not in OPTIONAL_METHODS:
        raise KeyError(name)
    method = getattr(platform, name, None)
    if method is None:
        return None
    flags = capabilities_of(platform)
    if (name == "approve_many" and not flags.bulk_approve) or (name == "send_bonuses" and not flags.bulk_bonus):
        return None
    return method


def capabilities_of(platform) -> Capabilities:
    """The platform's `capabilities`; for a platform written before they existed, its older members.

    Such a platform (no `capabilities` attribute) is read as the protocol then documented it:
    `nouns` (default ("HIT", "HITs")), `expires_by_time` (default True) and
    `supports_qualifications` (default True) as attributes, bulk approval and bonuses where it
    defines `approve_many` / `send_bonuses`, webhook events where it defines `event_source`, its
    `name` as its title, and its ids checked loosely.
    """
    declared = getattr(platform, "capabilities", None)
    if isinstance(declared, Capabilities):
        return declared

    def flag(name: str, default: Any) -> Any:
        value = getattr(platform, name, None)
        return default if value is None else value

    return Capabilities(
        title=str(getattr(platform, "name", None) or "the platform"),
        expires_by_time=bool(flag("expires_by_time", True)),
        bulk_approve=callable(getattr(platform, "approve_many", None)),
        bulk_bonus=callable(getattr(platform, "send_bonuses", None)),
        qualifications=bool(flag("supports_qualifications", True)),
        events="webhook" if callable(getattr(platform, "event_source", None)) else None,
        nouns=tuple(flag("nouns", ("HIT", "HITs"))),
    )


#: The older names `capability` still answers, as the capability each became.
_RENAMED = {"supports_qualifications": "qualifications", "nouns": "nouns", "expires_by_time": "expires_by_time"}


def capability(platform, name: str) -> Any:
    """The older spelling of `optional` (methods) and `capabilities_of` (the flags it had).

    Kept so that code written against it (steps, plugins) keeps working; new code reads
    `capabilities_of(platform).<field>` or `optional(platform, name)`. KeyError for any other name.
    """
    if name in _RENAMED:
        return getattr(capabilities_of(platform), _RENAMED[name])
    return optional(platform, name)


def pricing_of(platform) -> Any:
    """The platform's fee rules and currency (`money.Pricing`): its `pricing`, else `money.MTURK_PRICING`
    (the rules of the platform the protocol began with, and what a ledger without one was priced at)."""
    from ..money import MTURK_PRICING

    pricing = getattr(platform, "pricing", None) if platform is not None else None
    return pricing if pricing is not None else MTURK_PRICING


def shown_expiry(expires_by_time: bool, expires_at: datetime | None, now: datetime) -> datetime | None:
    """The expiry people may be told of a HIT: None when there is no such time.

    On a platform whose work does not expire by time (`capabilities.expires_by_time` False) an
    expiration after `now` is no time anything happens (a ledger written by an older babe-tasks
    may hold one): None. One at or before `now` is when the work stopped: kept. Where work
    expires by time, expirations are real and come back unchanged.
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
