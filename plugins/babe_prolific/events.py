"""`watch --events` on Prolific: webhook subscriptions that wake the watch when its studies change.

Prolific's hooks are per workspace and per event type, so the watch subscribes the workspace of
its studies to `study.status.change` and `submission.status.change` (one subscription each,
`EVENT_TYPES`), through the spec's flow: the workspace's secret (read; created only when it has
none, since creating one replaces it for everyone), a subscription (`POST /hooks/subscriptions/`,
answered with header `X-Hook-Secret`), its confirmation (`POST /hooks/subscriptions/{id}/` with
that secret). Events arrive at a `receiver.Receiver`, which believes signed ones only.

**Never piling up.** Each subscription is recorded in `.babe/prolific-hooks.sqlite` with its owner
(host, process, watch) as soon as Prolific made it. The watch deletes its subscriptions when it
ends. One left by a watch that was killed (its process is gone) is taken over by the next watch
of that folder on that Prolific — pointed at the new URL and enabled (`PATCH`), so nothing new is
made — or deleted when it was never confirmed or is one too many. A running watch's
subscriptions are never touched by another (two watchers of one experiment each keep theirs).

**What wakes the watch.** An event is relevant when it is about a watched study or a submission
of one (a submission's study is known from the platform's listings, else read once with `GET
/submissions/{id}/`). It is new unless its status is the one already known for that resource —
from an earlier event or from the watch's own last listing — so Prolific's repeated deliveries
and the echoes of the watch's own approvals wake nothing. Prolific's documented payload may lack
`status`; such an event is always new (a refresh costs little; missing one costs an interval).

With the in-process local Prolific this process is also where its deliveries are made from, so
the source wakes the local deliverer before each wait (as the MTurk watch runs the local courier).
"""

from __future__ import annotations

import os
import queue
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from babe_tasks.errors import BabeError, PlatformError, UsageError
from babe_tasks.platform.base import OperationFailed

from . import mapping
from .client import ProlificError, Uncertain
from .config import SECTION
from .receiver import Receiver, parse_listen
from .statefiles import ExperimentFile

EVENT_TYPES = ("study.status.change", "submission.status.change")
FILE_NAME = "prolific-hooks.sqlite"
#: Where a watch on live receives when the lab gives `--events-url` but no `--listen`.
DEFAULT_LISTEN = "127.0.0.1:8765"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Seconds between looks at the queue while waiting (Ctrl-C is noticed within this).
STEP = 0.25
#: Seconds a wait goes on collecting after the first new event, so a burst wakes one refresh.
COALESCE = 0.2
#: Least seconds between two reads of the workspace's secret after refused requests (a rotation).
SECRET_RECHECK = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    location TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    owner TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (location, subscription_id)
);
CREATE TABLE IF NOT EXISTS targets (
    location TEXT NOT NULL,
    target_url TEXT NOT NULL,
    owner TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (location, target_url)
);
"""

#: Watches running in this process (their owner keys): a recorded owner of this process not in here is gone.
_RUNNING: set[str] = set()


def _owner_alive(owner: str) -> bool:
    """Whether the watch that recorded a subscription may still be running (another host: assume so)."""
    host, _, rest = owner.partition("|")
    pid, _, _ = rest.partition("|")
    if host != socket.gethostname() or not pid.isdigit():
        return host != socket.gethostname()
    if int(pid) == os.getpid():
        return owner in _RUNNING
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Registry(ExperimentFile):
    """`.babe/prolific-hooks.sqlite`: the subscriptions watches made, and whose they are."""

    FILE_NAME = FILE_NAME
    SCHEMA = SCHEMA

    def leftovers(self, location: str) -> list[dict]:
        """Subscriptions on this Prolific whose watch is gone."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM subscriptions WHERE location = ? ORDER BY recorded_at", (location,)).fetchall()
        return [dict(row) for row in rows if not _owner_alive(row["owner"])]

    def record(self, location: str, subscription_id: str, workspace_id: str, event_type: str, owner: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO subscriptions (location, subscription_id, workspace_id, event_type, owner, confirmed, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, 0, ?)",
                (location, subscription_id, workspace_id, event_type, owner, time.time()),
            )

    def confirmed(self, location: str, subscription_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE subscriptions SET confirmed = 1 WHERE location = ? AND subscription_id = ?", (location, subscription_id)
            )

    def take_over(self, location: str, subscription_id: str, was: str, owner: str) -> bool:
        """Make a leftover ours, unless another watch took it first (compare and swap)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE subscriptions SET owner = ?, recorded_at = ? WHERE location = ? AND subscription_id = ? AND owner = ?",
                (owner, time.time(), location, subscription_id, was),
            )
            return bool(cursor.rowcount)

    def forget(self, location: str, subscription_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM subscriptions WHERE location = ? AND subscription_id = ?", (location, subscription_id))

    # A watch's target URL is recorded before it asks for anything, so a subscription whose answer
    # was lost (never recorded above) is still known to be a watch's, and swept by the next one.
    def aim(self, location: str, target_url: str, owner: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO targets (location, target_url, owner, recorded_at) VALUES (?, ?, ?, ?)",
                (location, target_url, owner, time.time()),
            )

    def stale_targets(self, location: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM targets WHERE location = ?", (location,)).fetchall()
        return [dict(row) for row in rows if not _owner_alive(row["owner"])]

    def drop_target(self, location: str, target_url: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM targets WHERE location = ? AND target_url = ?", (location, target_url))


class ProlificEvents:
    """The event source `ProlificPlatform.event_source` answers; see the module's docstring."""

    def __init__(self, platform: Any, *, url: str | None, listen: str | None, stop: threading.Event):
        self.platform = platform
        self.studies: set[str] = set()
        self.stop = stop
        self.token = secrets.token_urlsafe(18)
        self.owner = f"{socket.gethostname()}|{os.getpid()}|{self.token}"
        self.received = self.duplicates = self.unrelated = 0
        #: resource id → the last status an event said it has.
        self._last: dict[str, str | None] = {}
        #: submission id → its study, for submissions no listing showed.
        self._study_of: dict[str, str] = {}
        self._ours: list[tuple[str, str]] = []  # (subscription id, workspace id)
        self._secrets: dict[str, str] = {}
        self._checked_secret = 0.0
        self._forged_seen = 0
        self._wake = _local_deliverer(platform)
        self._woken = 0.0
        self.registry: Registry | None = None
        self._opened = False  # subscribed completely: only then is the target forgotten at the end
        host, port, self.url = self._where(url, listen)
        self.receiver = Receiver(host, port, self.token)
        if self.url is None:  # the local Prolific: the receiver's own address, on this machine
            bound_host, bound_port = self.receiver.address
            shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(bound_host)
            shown = shown or (f"[{bound_host}]" if ":" in bound_host else bound_host)
            self.url = f"http://{shown}:{bound_port}"
        self.target = self.url.rstrip("/") + "/" + self.token

    def open(self, hit_ids: list[str]) -> None:
        """Subscribe the workspace of these studies (taking over a killed watch's subscriptions)."""
        self.studies = set(hit_ids)
        _RUNNING.add(self.owner)
        try:
            self.registry = Registry.for_folder(self.platform.settings.folder)
            self._subscribe()
            self._opened = True
        except BaseException:
            self.close()
            raise

    # -- where events go ---------------------------------------------------------------------------
    def _where(self, url: str | None, listen: str | None) -> tuple[str, int, str | None]:
        """(host, port) to listen on and the public URL (None: the receiver's own, local only)."""
        local = self.platform.target == "local"
        if url is None and not local:
            raise UsageError(
                "Prolific must reach the watch to send it events: give --events-url https://<your public host>/<path> "
                f"forwarded to this machine's --listen (default {DEFAULT_LISTEN}); on target local no URL is needed"
            )
        if url is not None and not local:
            parts = urlsplit(url)
            if parts.scheme != "https" or (parts.hostname or "") in LOCAL_HOSTS:
                raise UsageError(
                    f"--events-url {url!r}: Prolific delivers only to a public https:// URL, which forwards to --listen"
                )
        if listen is not None:
            host, port = parse_listen(listen)
        elif url is None:
            host, port = "127.0.0.1", 0
        else:
            host, port = parse_listen(DEFAULT_LISTEN)
        return host, port, url

    # -- subscribing -------------------------------------------------------------------------------
    def _subscribe(self) -> None:
        location = self.platform.location
        client = self.platform.client
        workspaces = self._workspaces()
        for workspace in workspaces:
            self._secrets[workspace] = self._secret(workspace, create=True)
        self.receiver.keys = tuple(self._secrets.values())
        self.registry.aim(location, self.target, self.owner)
        left = {}
        for row in self.registry.leftovers(location):
            keep = row["confirmed"] and row["workspace_id"] in workspaces and (row["workspace_id"], row["event_type"]) not in left
            if keep and self.registry.take_over(location, row["subscription_id"], row["owner"], self.owner):
                try:
                    client.patch(
                        f"hooks/subscriptions/{row['subscription_id']}/",
                        {"event_type": row["event_type"], "target_url": self.target, "is_enabled": True},
                    )
                except ProlificError as exc:
                    if exc.status != 404:
                        raise
                    self.registry.forget(location, row["subscription_id"])
                    continue
                left[(row["workspace_id"], row["event_type"])] = row["subscription_id"]
                self._ours.append((row["subscription_id"], row["workspace_id"]))
            elif not keep and self.registry.take_over(location, row["subscription_id"], row["owner"], self.owner):
                self._delete(row["subscription_id"])
        self._sweep(workspaces)
        for workspace in workspaces:
            for event_type in EVENT_TYPES:
                if (workspace, event_type) not in left:
                    self._create(workspace, event_type)

    def _create(self, workspace: str, event_type: str) -> None:
        location, client = self.platform.location, self.platform.client
        body = {"workspace_id": workspace, "event_type": event_type, "target_url": self.target}
        for attempt in (1, 2):
            headers: dict = {}
            try:
                made = client.post("hooks/subscriptions/", body, idempotent=False, headers=headers)
                break
            except Uncertain:
                # It may have been made, and its X-Hook-Secret is lost with the answer: delete it (found
                # by our unique URL), then ask once more. Should that fail too, the next watch sweeps it.
                for found in self._listed(workspace):
                    if found.get("target_url") == self.target and found.get("event_type") == event_type:
                        self._delete(str(found["id"]))
                if attempt == 2:
                    raise
        made = made if isinstance(made, dict) else {}
        subscription_id = made.get("id") or next((r.get("id") for r in made.get("results") or [] if isinstance(r, dict)), None)
        confirm = next((v for k, v in headers.items() if k.lower() == "x-hook-secret"), None)
        if not subscription_id or not confirm:
            raise PlatformError(
                f"Prolific ({self.platform.route.where}) made a {event_type} subscription but answered no "
                f"{'id' if not subscription_id else 'X-Hook-Secret header'}: cannot confirm it"
            )
        self.registry.record(location, str(subscription_id), workspace, event_type, self.owner)
        self._ours.append((str(subscription_id), workspace))
        client.post(f"hooks/subscriptions/{subscription_id}/", {"secret": confirm}, idempotent=True)
        self.registry.confirmed(location, str(subscription_id))

    def _sweep(self, workspaces: list[str]) -> None:
        """Delete what gone watches left unrecorded (a create whose answer was lost), by their target URLs."""
        location = self.platform.location
        stale = {row["target_url"] for row in self.registry.stale_targets(location)}
        if not stale:
            return
        for workspace in workspaces:
            for found in self._listed(workspace):
                if found.get("target_url") in stale:
                    self._delete(str(found["id"]))
        for target in stale:
            self.registry.drop_target(location, target)

    def _listed(self, workspace: str) -> list[dict]:
        answer = self.platform.client.get("hooks/subscriptions/", workspace_id=workspace, is_enabled="false") or {}
        return [s for s in answer.get("results", []) if isinstance(s, dict) and s.get("id")] if isinstance(answer, dict) else []

    def _secret(self, workspace: str, *, create: bool) -> str:
        """The workspace's hook secret: the current one, or (none yet, `create`) a new one."""
        client = self.platform.client
        answer = client.get("hooks/secrets/", workspace_id=workspace) or {}
        found = [s for s in answer.get("results", []) if isinstance(s, dict) and s.get("value")] if isinstance(answer, dict) else []
        if found:
            return str(found[-1]["value"])
        if not create:
            return self._secrets.get(workspace, "")
        made = client.post("hooks/secrets/", {"workspace_id": workspace}, idempotent=True) or {}
        if not isinstance(made, dict) or not made.get("value"):
            raise PlatformError(f"Prolific ({self.platform.route.where}) made a hook secret but answered no value")
        return str(made["value"])

    def _workspaces(self) -> list[str]:
        """The workspaces of the watched studies (their projects'), else the account's one workspace."""
        client = self.platform.client
        projects = set()
        for study_id in sorted(self.studies):
            try:
                study = client.get(f"studies/{study_id}/") or {}
            except ProlificError:
                continue
            if isinstance(study, dict) and isinstance(study.get("project"), str) and study["project"]:
                projects.add(study["project"])
        config = self.platform.config
        if config.project_id:
            projects.add(config.project_id)
        found = set()
        for project in sorted(projects):
            answer = client.get(f"projects/{project}/") or {}
            if isinstance(answer, dict) and answer.get("workspace"):
                found.add(str(answer["workspace"]))
        if found:
            return sorted(found)
        if config.workspace_id:
            return [config.workspace_id]
        answer = client.get("workspaces/") or {}
        workspaces = [str(w["id"]) for w in answer.get("results", []) if isinstance(w, dict) and w.get("id")] if isinstance(answer, dict) else []
        if len(workspaces) == 1:
            return workspaces
        current = self.platform.me().get("current_workspace_id")
        if current in workspaces:
            return [current]
        raise UsageError(
            f"watch --events subscribes the studies' workspace, and the account has {len(workspaces)}: set "
            f"{SECTION}.workspace_id (or project_id)"
        )

    # -- receiving ---------------------------------------------------------------------------------
    @property
    def forged(self) -> int:
        return self.receiver.forged

    def poll(self, wait: float = 0) -> list[dict]:
        """The new relevant events, waiting up to `wait` seconds (Ctrl-C ends the wait) for one."""
        end = time.monotonic() + max(0.0, float(wait))
        new: list[dict] = []
        settle_until = None
        while True:
            self._nudge()
            self._recheck()
            try:
                left = (settle_until or end) - time.monotonic()
                event = self.receiver.events.get(timeout=max(0.0, min(STEP, left)))
            except queue.Empty:
                event = None
            if event is not None:
                if self._judge(event, new):
                    new.append(event)
                    settle_until = settle_until or min(end, time.monotonic() + COALESCE)
                continue
            now = time.monotonic()
            if (settle_until is not None and now >= settle_until) or now >= end or self.stop.is_set():
                return new

    def _judge(self, event: dict, batch: list[dict]) -> bool:
        """Count one genuine event; True when it is about a watched study and says something new."""
        kind, resource, status = event.get("event_type"), str(event.get("resource_id") or ""), event.get("status")
        status = mapping.status_name(status) if isinstance(status, str) else None
        if kind == "study.status.change":
            study = resource
            known = None
        elif kind == "submission.status.change":
            seen = self.platform.seen_submission(resource)
            known = seen[1] if seen else None
            study = seen[0] if seen else self._study_of.get(resource)
            if not study:
                study = self._lookup(resource)
        else:
            study, known = None, None
        if not resource or study not in self.studies:
            self.unrelated += 1
            return False
        last = self._last.get(resource, known)
        repeated = (status is not None and status in (last, known)) or (
            status is None and any(e.get("resource_id") == resource and e.get("event_type") == kind for e in batch)
        )
        self._last[resource] = status
        if repeated:
            self.duplicates += 1
            return False
        self.received += 1
        return True

    def _lookup(self, submission_id: str) -> str | None:
        """A submission's study, read once (`GET /submissions/{id}/`); unknown: taken as watched."""
        try:
            study = self.platform.submission_study(submission_id)
        except (OperationFailed, PlatformError):
            study = None
        if study:
            self._study_of[submission_id] = study
            return study
        return next(iter(self.studies), None)  # could not tell: a refresh will

    def _nudge(self) -> None:
        """Keep the in-process local Prolific's deliverer awake (once a second)."""
        if self._wake is not None and time.monotonic() - self._woken >= 1.0:
            self._woken = time.monotonic()
            self._wake()

    def _recheck(self) -> None:
        """After refused requests, read the secret again (Prolific's may have been rotated); seldom."""
        forged = self.receiver.forged
        if forged == self._forged_seen or time.monotonic() - self._checked_secret < SECRET_RECHECK:
            return
        self._forged_seen, self._checked_secret = forged, time.monotonic()
        try:
            for workspace in list(self._secrets):
                self._secrets[workspace] = self._secret(workspace, create=False)
        except BabeError:
            return
        self.receiver.keys = tuple(self._secrets.values())

    # -- the end -------------------------------------------------------------------------------------
    def close(self) -> list[str]:
        """Delete this watch's subscriptions and stop receiving; what could not be deleted is a warning
        (it stays recorded, and the next watch takes it over)."""
        warnings = []
        for subscription_id, _ in self._ours:
            try:
                self._delete(subscription_id)
            except BabeError as exc:
                warnings.append(
                    f"could not delete Prolific hook subscription {subscription_id} ({exc}); the next watch takes it over"
                )
        if self.registry is not None and self._opened and not warnings:
            self.registry.drop_target(self.platform.location, self.target)
        self._ours = []
        _RUNNING.discard(self.owner)
        self.receiver.close()
        if self.registry is not None:
            self.registry.close()
        return warnings

    def _delete(self, subscription_id: str) -> None:
        try:
            self.platform.client.delete(f"hooks/subscriptions/{subscription_id}/")
        except ProlificError as exc:
            if exc.status != 404:
                raise
        self.registry.forget(self.platform.location, subscription_id)


def _local_deliverer(platform: Any):
    """For the in-process local Prolific, the function that wakes its deliverer; None elsewhere."""
    route = platform.route
    if route.app is None or route.state_path is None:
        return None
    from .local.webhooks import wake

    return lambda: wake(route.state_path)
