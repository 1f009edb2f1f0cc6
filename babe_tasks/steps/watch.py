"""watch: keep an experiment moving, unattended, until it is complete or a deadline passes.

One refresh is the lifecycle steps themselves, in order: `status` (exact counts, the ledger brought
up to date, `babe_status` fired), then `approve` if some Submitted work has not been offered
before (its holds — repeat workers, plugins such as babe-backend — are respected: a held
assignment stays Submitted and is offered again only together with new work, so a hold does not
cost a call and a message at every refresh), then `expire` for the HITs still open once the goal
(approved assignments wanted, default every assignment posted) is reached. Between refreshes it
waits `interval` — or, event-driven, until the platform's events say something happened.

Progress goes out through the hooks once per milestone, never per refresh: `babe_milestone` fires
for 25, 50 and 75% of the goal approved, the goal reached, and every HIT closed before the goal
(see `MILESTONES`). Milestones are kept in `.babe/watch.sqlite`, so a watch that is started again
does not announce them twice; when one refresh crosses several progress milestones only the
highest is announced.

The watch ends when nothing more can happen without the lab (no HIT takes workers, nobody is
still working, and everything not held is approved), or when `until` passes on the platform's
clock (the local MTurk's clock in tests). Ctrl-C (or SIGTERM) lets the running step finish, then
stops: nothing is half-done, the run exits 1 ("run it again to go on"). A second Ctrl-C stops at
once. A platform that stops answering in the middle of a long watch is retried at the next
refresh, up to `MAX_FAILED_REFRESHES` in a row; at the very first refresh it is an error at once.

Event-driven mode: the platform's `event_source` is asked for before the first request (a flag
it cannot honour is refused first), opened once the first status names the HITs, waited on
instead of sleeping — it answers the new events about the watched HITs, deduplicated, and a new
event triggers a refresh at once; the interval stays as a fallback — and closed when the watch
ends. How a platform sends events is its capabilities' `events`: "queue" — it publishes to a
queue the lab names with `--queue URL` (MTurk: SQS notifications, the MTurk plugin's `notifications`) —
or "webhook" — it calls a URL the watch receives on, `--events` with `--events-url` and
`--listen` (Prolific: the Prolific plugin's `events`). The other flag, or either on a platform without
events, is refused before anything is watched. The event ids a source has seen are kept in the
watch's state file (`WatchState.first_sighting`, passed to a source that takes `first_sighting`),
so a repeat delivery, even to a later watch, wakes nothing.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import folders, output
from ..durations import DurationError, parse_duration
from ..errors import BabeError, PartialFailure, PlatformError, UsageError
from ..ledger import Ledger
from ..platform.base import OperationFailed, accepts, capabilities_of, optional
from ..plugins import call_after, get_platform, hookimpl
from . import approve as approve_step
from . import expire as expire_step
from . import status as status_step

#: Milestones in the order an experiment meets them; the first four are progress towards the goal.
MILESTONES = ("approved_25", "approved_50", "approved_75", "goal_reached", "hits_closed")
PROGRESS = {"approved_25": 25, "approved_50": 50, "approved_75": 75, "goal_reached": 100}
#: Refreshes in a row that may fail on the platform (network, throttling) before the watch gives up.
MAX_FAILED_REFRESHES = 10
#: Seconds one wait on the event source (an SQS receive: long polling) may take; 0 polls and then sleeps `POLL_STEP`.
LONG_POLL = 5
POLL_STEP = 5
STATE_FILE = "watch.sqlite"
#: How the watch waits between refreshes when `run` is given no `sleep`: None means a real,
#: Ctrl-C-interruptible wait. Tests set it to a function that moves the local MTurk's clock.
default_sleep: Callable[[float], Any] | None = None
#: Event ids are remembered this long (MTurk repeats a message within minutes, not weeks).
EVENT_MEMORY = 14 * 86400
MIN_INTERVAL = 1

@dataclass(frozen=True)
class Milestone:
    """A point the experiment reached, announced once."""

    name: str
    text: str
    approved: int
    goal: int
    at: datetime

    def as_json(self) -> dict:
        return {"name": self.name, "text": self.text, "approved": self.approved, "goal": self.goal, "at": self.at}


@dataclass
class Refresh:
    """What one refresh saw and did, for the task's progress lines (`on_refresh`)."""

    number: int
    at: datetime
    status: Any
    goal: int
    approved_now: int = 0
    held: int = 0
    failed: int = 0
    expired: list[str] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    events: int = 0

    @property
    def approved(self) -> int:
        return self.status.totals["approved"]


@dataclass
class WatchResult:
    reason: str = "complete"  # complete | deadline | interrupted
    goal: int = 0
    refreshes: int = 0
    approved_now: int = 0
    held: dict[str, str] = field(default_factory=dict)
    failed: list[dict] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    queue_url: str | None = None
    events_received: int = 0
    duplicates: int = 0
    #: Event-driven through the platform's event source: its public URL, and what it refused or ignored.
    events_url: str | None = None
    forged: int = 0
    unrelated: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    deadline: datetime | None = None
    status: Any = None
    warnings: list[str] = field(default_factory=list)
    #: What the platform calls a HIT, singular and plural (text output; the JSON keeps MTurk's names).
    nouns: tuple[str, str] = output.MTURK_NOUNS

    @property
    def complete(self) -> bool:
        return self.reason == "complete"

    @property
    def approved(self) -> int:
        return self.status.totals["approved"] if self.status is not None else 0

    def as_json(self) -> dict:
        return {
            "complete": self.complete,
            "reason": self.reason,
            "goal": self.goal,
            "approved": self.approved,
            "approved_now": self.approved_now,
            "held": [{"assignment_id": a, "reason": r} for a, r in sorted(self.held.items())],
            "failed": self.failed,
            "expired": self.expired,
            "milestones": [m.as_json() for m in self.milestones],
            "refreshes": self.refreshes,
            "events": self.events_json(),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "deadline": self.deadline,
            "status": self.status.as_json() if self.status is not None else None,
        }


    def events_json(self) -> dict | None:
        if self.queue_url:
            return {"queue": self.queue_url, "received": self.events_received, "duplicates": self.duplicates}
        if self.events_url:
            return {
                "url": self.events_url, "received": self.events_received, "duplicates": self.duplicates,
                "forged": self.forged, "unrelated": self.unrelated,
            }
        return None


class _Stopped(Exception):
    """Ctrl-C (or SIGTERM) was pressed: stop between two steps."""


# -- flags ----------------------------------------------------------------------------------------
def parse_interval(value: Any) -> int:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise UsageError(f"--interval {exc}") from None
    if seconds < MIN_INTERVAL:
        raise UsageError(f"--interval {value} is too short: refresh at most once a second (e.g. 30s)")
    return seconds


def parse_until(value: Any) -> int | datetime | None:
    """`--until`: a duration from the start (`2d`, `36h`) or a time (`2026-12-01T12:00Z`, UTC if no zone)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        return parse_duration(text)
    except DurationError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--until {text!r} is neither a duration nor a time: write for example 2d, 36h or 2026-12-01T12:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_goal(value: Any) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--goal {text!r} is not a positive whole number of approved assignments, e.g. 20")
    return int(text)


@dataclass(frozen=True)
class EventsWanted:
    """How the lab asked to be woken between refreshes (docs/watch.md, "Event-driven").

    `queue`: the URL of a queue the platform publishes to (`--queue`: MTurk's SQS); otherwise the
    platform calls us (`--events`): `url` its public URL (None: the platform picks one — the local
    Prolific's 127.0.0.1), `listen` the local host:port to receive on. The platform checks what it
    takes (a queue URL's form, a URL it can reach) when the watch asks for its event source.
    """

    url: str | None = None
    listen: str | None = None
    queue: str | None = None


def check_events(events: Any, url: Any, listen: Any, queue: Any) -> EventsWanted | None:
    """`--queue URL`, or `--events`, `--events-url URL` and `--listen HOST:PORT` (either of the last
    two implies `--events`): one way to be woken, with what can be checked before the platform is."""
    url = str(url).strip() if url not in (None, "") else None
    listen = str(listen).strip() if listen not in (None, "") else None
    queue = (str(queue).strip() or None) if queue is not None else None
    if not (events or url or listen):
        return EventsWanted(queue=queue) if queue else None
    if queue:
        raise UsageError("--queue and --events are two ways to be woken: give one (--queue on MTurk, --events elsewhere)")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--events-url {url!r} is not a URL: write for example https://lab.example.org/prolific-events")
    if listen is not None:
        _, _, port = listen.rpartition(":")
        if not port.isdigit() or int(port) > 65535:
            raise UsageError(f"--listen {listen!r} is not host:port: write for example 127.0.0.1:8765")
    return EventsWanted(url, listen)


def parse_refresh(interval: Any, queue: Any, events: Any, events_url: Any, listen: Any) -> tuple[int, EventsWanted | None]:
    """The refresh flags watch and wait share (`taskkit.REFRESH_FLAGS`), checked: the seconds
    between refreshes, and how to be woken between them (None: only by the interval)."""
    return parse_interval(interval), check_events(events, events_url, listen, queue)


# -- the state file: milestones and event ids -----------------------------------------------------
class WatchState:
    """`.babe/watch.sqlite`: milestones reached (per experiment, target and goal) and EventDocIds seen.

    A file of its own rather than ledger tables: it holds what the watch announced and consumed,
    not what the platform established. Claims are INSERT OR IGNORE, so two watchers of the same
    experiment never announce the same milestone or count the same event twice.
    """

    SCHEMA = (
        (
            "CREATE TABLE IF NOT EXISTS milestones (experiment TEXT NOT NULL, target TEXT NOT NULL, goal INTEGER NOT NULL,"
            " name TEXT NOT NULL, reached_at REAL NOT NULL, PRIMARY KEY (experiment, target, goal, name))"
        ),
        "CREATE TABLE IF NOT EXISTS events_seen (event_doc_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)",
    )

    def __init__(self, folder: Path):
        self.path = folders.state_dir(folder) / STATE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._lock = threading.Lock()
        for statement in self.SCHEMA:
            self._conn.execute(statement)
        self._conn.execute("DELETE FROM events_seen WHERE seen_at < ?", (time.time() - EVENT_MEMORY,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def reached(self, experiment: str, target: str, goal: int) -> set[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT name FROM milestones WHERE experiment = ? AND target = ? AND goal = ?", (experiment, target, goal)
            ).fetchall()
        return {row[0] for row in rows}

    def claim(self, experiment: str, target: str, goal: int, names: list[str], at: datetime) -> list[str]:
        """Record these milestones as reached; returns those no one had recorded before."""
        claimed = []
        with self._lock:
            for name in names:
                cursor = self._conn.execute(
                    "INSERT OR IGNORE INTO milestones (experiment, target, goal, name, reached_at) VALUES (?, ?, ?, ?, ?)",
                    (experiment, target, goal, name, at.timestamp()),
                )
                if cursor.rowcount:
                    claimed.append(name)
        return claimed

    def first_sighting(self, event_doc_id: str) -> bool:
        """True the first time an EventDocId is seen; False for a repeat delivery."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO events_seen (event_doc_id, seen_at) VALUES (?, ?)", (event_doc_id, time.time())
            )
            return bool(cursor.rowcount)


# -- milestones -----------------------------------------------------------------------------------
def reached_milestones(status: Any, goal: int) -> list[str]:
    """The milestones the experiment has reached by this status, in `MILESTONES` order."""
    approved = status.totals["approved"]
    names = [name for name, percent in PROGRESS.items() if approved * 100 >= goal * percent]
    if status.hits and approved < goal and not any(h.open for h in status.hits):
        names.append("hits_closed")
    return names


def to_announce(new: list[str]) -> list[str]:
    """Of the milestones newly reached, those worth a message: the highest progress one, and closing."""
    progress = [name for name in new if name in PROGRESS]
    return progress[-1:] + [name for name in new if name not in PROGRESS]


def describe_milestone(
    name: str, approved: int, goal: int, expired: int = 0, nouns: tuple[str, str] = output.MTURK_NOUNS
) -> str:
    """A milestone's text (Slack and the JSON carry it too), with the platform's `nouns`."""
    if name == "goal_reached":
        if expired and tuple(nouns) == output.MTURK_NOUNS:
            closed = f"; {expired} open HIT(s) expired now"
        else:
            closed = f"; expired {output.count(expired, nouns)} still open" if expired else ""
        return f"goal reached: {approved} approved of {goal} wanted{closed}"
    if name == "hits_closed":
        return (
            f"every {nouns[0]} is closed (expired or full) with {approved} of {goal} approved: "
            "babe extend adds assignments or time"
        )
    share = {25: "a quarter", 50: "half", 75: "three quarters"}[PROGRESS[name]]
    return f"{share} of the goal approved: {approved} of {goal}"


# -- Ctrl-C ---------------------------------------------------------------------------------------
def _polling_sleep(stop: threading.Event, step: float = 0.25) -> Callable[[float], bool]:
    """Wait up to `seconds` or until `stop` is set, in short sleeps.

    Not `stop.wait(seconds)`: the signal handler sets `stop` in the main thread, and a signal that
    lands while that same thread holds the event's lock inside `wait()` would deadlock (seen: a
    watch that never stopped on Ctrl-C, about one run in three).
    """

    def sleep(seconds: float) -> bool:
        end = time.monotonic() + seconds
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(step, left))
        return True

    return sleep


@contextmanager
def interruptible(stop: threading.Event, notice: Callable[[], None]) -> Iterator[None]:
    """The first Ctrl-C / SIGTERM sets `stop` (the watch ends after the running step); a second Ctrl-C
    raises KeyboardInterrupt at once. Outside the main thread signals cannot be caught: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not stop.is_set():
            stop.set()  # safe: the main thread never blocks on the event's lock (see `_polling_sleep`)
            notice()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# -- one platform for the whole watch -------------------------------------------------------------
class _KeepOpen:
    """The watch's platform as the steps see it: everything delegated, but `close()` left to the watch."""

    def __init__(self, platform: Any):
        self._platform = platform

    def __getattr__(self, name: str) -> Any:
        return getattr(self._platform, name)

    def close(self) -> None:
        """A step ends; the watch goes on with the same client and connection pool."""


class SharedPlatform:
    """A plugin the watch registers for its run: every step gets the watch's one platform.

    Each step opens and closes a platform (`steps.session`); over hours of refreshes that would be
    a new client, credential lookup and TLS connection several times a refresh. The platform is the
    one the lab's plugins chose (`get_platform`), so a platform plugin still decides.
    """

    NAME = "watch-shared-platform"

    def __init__(self, platform: Any):
        self.platform = _KeepOpen(platform)

    @hookimpl(tryfirst=True)
    def babe_platform(self, settings):
        return self.platform


# -- the loop -------------------------------------------------------------------------------------
class Watch:
    """One watch run; `run()` below is the entry point. Attributes are what the loop keeps between refreshes."""

    def __init__(
        self,
        settings,
        pm,
        *,
        goal: int | None,
        until: int | datetime | None,
        interval: int,
        hit_ids: list[str] | None,
        approve: bool,
        sleep: Callable[[float], Any] | None,
        on_refresh: Callable[[Refresh], None] | None,
        long_poll: int,
        stop: threading.Event,
        events: EventsWanted | None = None,
    ):
        self.settings, self.pm = settings, pm
        self.wanted_goal, self.until, self.interval = goal, until, interval
        self.hit_ids = hit_ids or None
        self.approve = approve
        self.sleep = sleep or default_sleep or _polling_sleep(stop)
        self.on_refresh = on_refresh
        self.long_poll = long_poll
        self.stop = stop
        self.result = WatchResult()
        self.events = events
        #: What the wait listens to: the platform's event source (None: the wait sleeps).
        self.listener: Any = None
        self.offered: set[str] = set()
        #: Consecutive failed approvals per assignment.
        self.failures: Counter[str] = Counter()
        self.failed_refreshes = 0

    # -- helpers ------------------------------------------------------------------------------
    def check_stop(self) -> None:
        if self.stop.is_set():
            raise _Stopped()

    def now(self) -> datetime:
        return self.platform.now()

    def status(self):
        return status_step.run(self.settings, self.pm, hit_ids=self.hit_ids)

    def submitted(self) -> dict[str, str]:
        """Submitted assignments of the watched HITs (id → HIT id), as the ledger knows them after a status."""
        scope = set(self.hit_ids) if self.hit_ids else None
        with Ledger.of(self.settings) as ledger:
            rows = ledger.assignments(self.settings.experiment, self.settings.target)
        return {
            r["assignment_id"]: r["hit_id"]
            for r in rows
            if r["status"] == "Submitted" and (scope is None or r["hit_id"] in scope)
        }

    # -- one refresh --------------------------------------------------------------------------
    def refresh(self, events: int, status=None) -> Refresh:
        """status → approve (if new work) → expire (if the goal is reached) → milestones."""
        result = self.result
        result.status = status = status or self.status()
        result.refreshes += 1
        tick = Refresh(result.refreshes, self.now(), status, result.goal, events=events)
        self.check_stop()
        waiting = self.submitted()
        if self.approve and set(waiting) - self.offered:
            self.approve_now(tick, sorted(set(waiting.values())))
            self.check_stop()
            result.status = tick.status = status = self.status()
        if status.totals["approved"] >= result.goal:
            open_ids = [h.hit_id for h in status.hits if h.open]
            if open_ids:
                self.expire_now(tick, open_ids)
                self.check_stop()
                result.status = tick.status = status = self.status()
        self.milestones(tick)
        return tick

    def approve_now(self, tick: Refresh, hit_ids: list[str]) -> None:
        """Offer every Submitted assignment of these HITs to approve; remember what was offered (held
        ones stay Submitted). Only the HITs with Submitted work are listed, not the whole experiment.

        An approval that failed is offered again at the next refresh, until it has failed
        `MAX_FAILED_REFRESHES` times in a row: then it is left for the lab (the watch exits 1).
        """
        result = self.result
        try:
            document = approve_step.run(self.settings, self.pm, hit_ids=hit_ids).as_json()
        except PartialFailure as failure:  # the rest were approved
            document = failure.result if isinstance(failure.result, dict) else {}
            self.warn(f"{failure} (the watch tries again at the next refresh)")
        self.offered |= set(self.submitted())
        result.held = {item["assignment_id"]: item["reason"] for item in document.get("held", [])}
        result.failed = list(document.get("failed", []))
        failed = {item["assignment_id"] for item in result.failed}
        self.failures = Counter({a: self.failures[a] + 1 for a in failed})
        self.offered -= {a for a in failed if self.failures[a] < MAX_FAILED_REFRESHES}
        result.approved_now += int(document.get("approved", 0))
        tick.approved_now, tick.held, tick.failed = int(document.get("approved", 0)), len(result.held), len(result.failed)

    def expire_now(self, tick: Refresh, open_ids: list[str]) -> None:
        try:
            expired = expire_step.run(self.settings, self.pm, hit_ids=open_ids).expired
        except PartialFailure as failure:
            document = failure.result if isinstance(failure.result, dict) else {}
            expired = list(document.get("expired", []))
            self.warn(f"{failure} (the watch tries again at the next refresh)")
        tick.expired = list(expired)
        self.result.expired += [hit_id for hit_id in expired if hit_id not in self.result.expired]

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)
        output.warn(message)

    def milestones(self, tick: Refresh) -> None:
        settings, result = self.settings, self.result
        names = reached_milestones(tick.status, result.goal)
        new = [n for n in names if n not in self.state.reached(settings.experiment, settings.target, result.goal)]
        if not new:
            return
        claimed = self.state.claim(settings.experiment, settings.target, result.goal, new, tick.at)
        for name in to_announce(new):
            if name not in claimed:
                continue  # another watcher of this experiment announced it
            text = describe_milestone(name, tick.approved, result.goal, len(tick.expired), result.nouns)
            milestone = Milestone(name, text, tick.approved, result.goal, tick.at)
            tick.milestones.append(milestone)
            result.milestones.append(milestone)
            result.warnings += call_after(self.pm, "babe_milestone", settings=settings, milestone=milestone, status=tick.status)

    # -- waiting ------------------------------------------------------------------------------
    def wait(self, seconds: float) -> int:
        """Wait up to `seconds` (platform clock); with an event source, return early when events arrive.

        Returns how many new events woke it (0 when the time ran out or Ctrl-C was pressed).
        """
        if seconds <= 0:
            return 0
        description = f"approved (goal {self.result.goal}), next refresh within {int(seconds)}s"
        with output.progress(description, total=self.result.goal) as bar:
            bar.update(completed=min(self.result.approved, self.result.goal))
            if self.listener is None:
                self.sleep(seconds)
                return 0
            end = self.now() + timedelta(seconds=seconds)
            while not self.stop.is_set():
                remaining = (end - self.now()).total_seconds()
                events = self.listener.poll(wait=min(self.long_poll, max(0, remaining)))
                self.count_events()
                if events:
                    return len(events)
                remaining = (end - self.now()).total_seconds()
                if remaining <= 0:
                    return 0
                if self.long_poll <= 0:
                    self.sleep(min(POLL_STEP, remaining))
        return 0

    def count_events(self) -> None:
        listener, result = self.listener, self.result
        result.events_received, result.duplicates = listener.received, listener.duplicates
        result.forged, result.unrelated = listener.forged, listener.unrelated

    # -- set-up -------------------------------------------------------------------------------
    def start(self):
        """Everything checked before the first refresh: HITs exist, the goal, the deadline, live consent;
        then the event source subscribes to the watched HITs."""
        settings, result = self.settings, self.result
        first = self.status()
        if not first.hits:
            raise UsageError(
                f"no {result.nouns[1]} of experiment {settings.experiment} on {settings.target} to watch: run babe create first"
            )
        posted = sum(h.max_assignments for h in first.hits)
        result.goal = self.wanted_goal or posted
        if result.goal > posted:
            self.warn(
                f"goal {result.goal} is more than the {posted} assignments posted: the watch ends when the {result.nouns[1]} are done "
                "(babe extend adds assignments)"
            )
        result.started_at = self.now()
        if isinstance(self.until, int):
            result.deadline = result.started_at + timedelta(seconds=self.until)
        elif isinstance(self.until, datetime):
            result.deadline = self.until
        if self.approve and settings.target == "live":
            from ..money import shown

            if not output.confirm(
                settings,
                f"Watch approves submitted work on live as it arrives (up to {shown(first.committed, first.pricing)} more)?",
            ):
                raise UsageError("not confirmed: nothing was watched")
        if self.listener is not None:
            for warning in self.listener.open(list(self.hit_ids or [hit.hit_id for hit in first.hits])) or ():
                self.warn(warning)
        return first

    def prepare_events(self) -> None:
        """Ask the platform for its event source, before any request: a flag it cannot honour is refused first.

        The platform's capabilities say how it sends events: to a queue (`--queue`), to a URL
        (`--events`), or not at all. The source remembers the event ids it has seen through the
        watch's state file when it takes `first_sighting`.
        """
        wanted, platform = self.events, self.platform
        if wanted is None:
            return
        flags = capabilities_of(platform)
        source = optional(platform, "event_source")
        kind = flags.events if source is not None else None
        if wanted.queue is not None and kind != "queue":
            raise UsageError(f"platform {platform.name} cannot send notifications to a queue: run babe watch without --queue")
        if wanted.queue is None and kind != "webhook":
            instead = f"on {flags.title} use --queue (the URL of a queue it notifies), or " if kind == "queue" else ""
            raise UsageError(
                f"{platform.name} sends no events babe can receive: {instead}"
                "watch without --events (it refreshes every --interval)"
            )
        options: dict[str, Any] = {"stop": self.stop}
        if wanted.queue is not None:
            options["queue"] = wanted.queue
        else:
            options.update(url=wanted.url, listen=wanted.listen)
        if accepts(source, "first_sighting"):
            options["first_sighting"] = self.state.first_sighting
        self.listener = source(**options)
        if wanted.queue is not None:
            self.result.queue_url = self.listener.url
        else:
            self.result.events_url = self.listener.url

    def close_events(self) -> None:
        """Undo the event source's subscriptions; what it could not undo is a warning."""
        if self.listener is None:
            return
        self.count_events()
        for warning in self.listener.close():
            self.warn(warning)

    # -- the whole run ------------------------------------------------------------------------
    def run(self) -> WatchResult:
        result = self.result
        self.platform = get_platform(self.pm, self.settings)
        result.nouns = tuple(capabilities_of(self.platform).nouns)
        self.platform.connect()
        self.pm.register(SharedPlatform(self.platform), name=SharedPlatform.NAME)
        self.state = WatchState(self.settings.folder)
        try:
            with self.announced():
                self.prepare_events()
                self.loop(self.start())
        except _Stopped:
            result.reason = "interrupted"
        finally:
            try:
                self.close_events()
            except BabeError as exc:
                self.warn(f"could not undo the event subscription: {exc}")
            self.state.close()
            result.ended_at = self._safe_now()
            self.pm.unregister(name=SharedPlatform.NAME)
            self.platform.close()
        return result

    @contextmanager
    def announced(self) -> Iterator[None]:
        """Within the block the hooks' context says a watch runs, on the watch's own platform
        (`HookContext.watch`, `HookContext.use_platform`)."""
        context = getattr(self.pm, "context", None)  # a bare pluggy manager (a test's) has none
        if context is None:
            yield
            return
        with context.watch(), context.use_platform(self.platform):
            yield

    def loop(self, first) -> None:
        result = self.result
        events, known = 0, first
        while True:
            self.check_stop()
            status, known = known, None  # the start's status serves as the first refresh's
            try:
                tick = self.refresh(events, status)
            except (PlatformError, OperationFailed) as exc:
                self.failed_refreshes += 1
                if self.failed_refreshes >= MAX_FAILED_REFRESHES:
                    raise
                self.warn(f"refresh failed ({self.failed_refreshes} in a row), trying again: {exc}")
            else:
                self.failed_refreshes = 0
                if self.on_refresh is not None:
                    self.on_refresh(tick)
                if self.finished(tick.status):
                    result.reason = "complete"
                    return
            now = self.now()
            if result.deadline is not None and now >= result.deadline:
                result.reason = "deadline"
                return
            pause = float(self.interval)
            if result.deadline is not None:
                pause = min(pause, (result.deadline - now).total_seconds())
            events = self.wait(pause)

    def finished(self, status) -> bool:
        """Nothing more can happen without the lab: no HIT takes workers, nobody works, nothing left to approve."""
        if not status.finished:
            return False
        if not self.approve:
            return True
        given_up = {a for a, n in self.failures.items() if n >= MAX_FAILED_REFRESHES}
        return not (set(self.submitted()) - set(self.result.held) - given_up)

    def _safe_now(self) -> datetime:
        try:
            return self.now()
        except BabeError:
            return datetime.now(UTC)


def run(
    settings,
    pm,
    *,
    goal: int | None = None,
    until: int | datetime | None = None,
    interval: int = 30,
    hit_ids: list[str] | None = None,
    approve: bool = True,
    sleep: Callable[[float], Any] | None = None,
    on_refresh: Callable[[Refresh], None] | None = None,
    long_poll: int | None = None,
    stop: threading.Event | None = None,
    events: EventsWanted | None = None,
) -> WatchResult:
    """Watch the experiment (or `hit_ids`) until complete, `until` passes, or Ctrl-C.

    `until` is seconds from the start or a datetime (platform clock); `goal` the approved
    assignments wanted (default: every assignment posted). `sleep(seconds)` waits between
    refreshes (default: an interruptible wait; tests pass one that moves the local MTurk's clock);
    `events` how to be woken between refreshes (`check_events`: a queue, or the platform calling
    us); `long_poll` the seconds one wait on the platform's event source may take (default
    `LONG_POLL`; 0 polls, then sleeps).
    Raises `PartialFailure` carrying the result when interrupted, or when approvals still fail at
    the end; a step's `Veto` or `UsageError` passes through (the watch stops there).
    """
    stop = stop or threading.Event()
    watch = Watch(
        settings,
        pm,
        goal=goal,
        until=until,
        interval=interval,
        hit_ids=hit_ids,
        approve=approve,
        sleep=sleep,
        on_refresh=on_refresh,
        long_poll=LONG_POLL if long_poll is None else long_poll,
        stop=stop,
        events=events,
    )

    def notice() -> None:
        output.warn("stopping after the current step (Ctrl-C again stops at once)")

    with interruptible(stop, notice):
        result = watch.run()
    if result.reason == "interrupted":
        raise PartialFailure(
            f"interrupted after {result.refreshes} refresh(es): everything done is recorded; run babe watch again to go on",
            result.as_json(),
        )
    if result.failed:
        first = result.failed[0]
        raise PartialFailure(
            f"{len(result.failed)} approval(s) still failing ({first['assignment_id']}: {first['error']}); "
            "run babe watch or babe approve again to finish",
            result.as_json(),
        )
    return result


__all__ = [
    "MILESTONES", "EventsWanted", "Milestone", "Refresh", "WatchResult", "WatchState",
    "check_events", "parse_goal", "parse_interval", "parse_refresh", "parse_until", "reached_milestones",
    "run", "to_announce",
]
