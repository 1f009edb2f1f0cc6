"""`watch --queue` on MTurk: the experiment's HIT types notify an SQS queue, and the watch reads it.

MTurk pushes its events (an assignment submitted, a HIT expired, ...) to the destination a HIT
type's notification settings name, so the watch points every HIT type it watches at the lab's queue
(`UpdateNotificationSettings`, SQS, `EVENT_TYPES`) and waits on the queue instead of sleeping.
Delivery is at least once: each message is recorded by its EventDocId in the dedup store the watch
passes in (`first_sighting`, the watch's state file, so a later watch knows it too), then deleted;
a repeat is counted and wakes nothing. Messages that came through an SNS topic subscribed to the
queue are unwrapped.

For Amazon's queues, the queue's access policy must let MTurk send to it: the source reads the
policy and warns when it does not. With the in-process local MTurk this process is also where its
outbox lives, so the source runs the local courier (`local.delivery.Courier`) that moves the outbox
to the queue — every `COURIER_EVERY` seconds, and once more right before each poll.

`MTurkPlatform.event_source(queue=..., ...)` makes a `QueueEvents`; it answers what the watch asks
of any platform's event source (`babe_tasks.platform.base`, `event_source`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from babe_tasks.errors import UsageError
from babe_tasks.platform.base import OperationFailed

#: What the experiment's HIT types notify the queue of: every change that can alter the counts.
EVENT_TYPES = ("AssignmentSubmitted", "AssignmentReturned", "AssignmentAbandoned", "HITReviewable", "HITExpired")
NOTIFICATION_VERSION = "2014-08-15"
#: Seconds between deliveries of the in-process local MTurk's outbox while watching a queue.
COURIER_EVERY = 1.0
#: Messages one receive asks for (SQS's maximum), and receives per poll: a burst is read at most
#: 100 messages at a time, the rest at the next poll.
BATCH = 10
RECEIVES_PER_POLL = 10
#: The principal MTurk sends to SQS as; a queue policy without it gets nothing.
MTURK_PRINCIPAL = "mturk-requester.amazonaws.com"


def check_queue_url(value: Any) -> str:
    """An SQS queue URL as MTurk takes it: https://sqs.<region>.amazonaws.com/<account>/<queue>."""
    text = str(value).strip()
    parts = urlsplit(text)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https") or not parts.hostname or len(segments) != 2 or not segments[0].isdigit():
        raise UsageError(
            f"--queue {text!r} is not an SQS queue URL: write https://sqs.<region>.amazonaws.com/<account>/<queue>"
        )
    return text


def mturk_document(body: str) -> dict | None:
    """MTurk's event document from a message body (also inside an SNS envelope), or None."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        return mturk_document(document["Message"])
    if isinstance(document, dict) and isinstance(document.get("EventDocId"), str):
        return document
    return None


def subscribe(platform: Any, hit_type_ids: list[str], queue_url: str) -> None:
    """Point every HIT type at the queue (UpdateNotificationSettings, SQS, `EVENT_TYPES`)."""
    for hit_type_id in hit_type_ids:
        try:
            platform.call(
                "UpdateNotificationSettings",
                HITTypeId=hit_type_id,
                Notification={
                    "Destination": queue_url,
                    "Transport": "SQS",
                    "Version": NOTIFICATION_VERSION,
                    "EventTypes": list(EVENT_TYPES),
                },
                Active=True,
            )
        except OperationFailed as exc:
            raise UsageError(f"--queue {queue_url}: MTurk refused to notify it ({exc})") from None


def queue_policy_warning(sqs: Any, queue_url: str) -> str | None:
    """A warning when the queue's policy does not let MTurk send to it (real SQS only)."""
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"]).get("Attributes", {})
    except Exception as exc:  # noqa: BLE001 - a warning at most: the receive will say what is wrong
        return f"could not read the policy of {queue_url}: {type(exc).__name__}"
    if MTURK_PRINCIPAL not in attributes.get("Policy", ""):
        return (
            f"the policy of {queue_url} does not allow principal {MTURK_PRINCIPAL} to sqs:SendMessage: "
            "MTurk cannot deliver events there (refreshes still happen every interval)"
        )
    return None


class QueueListener:
    """MTurk notifications from an SQS queue: each poll returns the events not seen before.

    Every message is recorded by EventDocId (`first_sighting`), then deleted from the queue; a
    repeat delivery is counted in `duplicates` and triggers nothing. `before_poll` runs first (the
    local courier, for the in-process local MTurk).
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        first_sighting: Callable[[str], bool],
        *,
        before_poll: Callable[[], Any] | None = None,
    ):
        self.sqs = sqs
        self.queue_url = queue_url
        self.first_sighting = first_sighting
        self.before_poll = before_poll
        self.received = 0
        self.duplicates = 0
        self.ignored = 0

    def poll(self, wait: float = 0) -> list[dict]:
        if self.before_poll is not None:
            self.before_poll()
        events: list[dict] = []
        for _ in range(RECEIVES_PER_POLL):
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=max(0, min(20, int(wait)))
            )
            messages = answer.get("Messages") or []
            for message in messages:
                document = mturk_document(message.get("Body", ""))
                if document is None:
                    self.ignored += 1
                elif self.first_sighting(document["EventDocId"]):
                    self.received += 1
                    events.extend(document.get("Events") or [])
                else:
                    self.duplicates += 1
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if len(messages) < BATCH:
                break
            wait = 0
        return events


class _Remembered:
    """EventDocIds seen by this source alone: for a caller that keeps no dedup store of its own."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, event_doc_id: str) -> bool:
        with self._lock:
            if event_doc_id in self._seen:
                return False
            self._seen.add(event_doc_id)
            return True


class QueueEvents:
    """The event source `MTurkPlatform.event_source(queue=...)` answers; see the module's docstring.

    Made before the watch's first request (the queue URL is checked then); `open(hit_ids)`
    subscribes the HITs' types once the first status names the HITs, `poll(wait)` reads the queue,
    `close()` stops the courier (the HIT types keep notifying the queue: a later watch reads on).
    """

    forged = 0
    unrelated = 0

    def __init__(self, platform: Any, *, queue: str, stop: threading.Event | None = None,
                 first_sighting: Callable[[str], bool] | None = None):
        self.platform = platform
        self.url = check_queue_url(queue)
        self.stop = stop
        self.first_sighting = first_sighting or _Remembered()
        self.warnings: list[str] = []
        self.courier: Any = None
        self.listener: QueueListener | None = None

    @property
    def received(self) -> int:
        return self.listener.received if self.listener is not None else 0

    @property
    def duplicates(self) -> int:
        return self.listener.duplicates if self.listener is not None else 0

    def open(self, hit_ids: list[str]) -> list[str]:
        """Subscribe the HIT types of these HITs to the queue and start listening; warnings."""
        from babe_mturk.local.delivery import Clients, Courier

        settings = self.platform.settings
        subscribe(self.platform, self.hit_types(hit_ids), self.url)
        session = None
        if settings.target != "local" and settings.profile:
            import boto3

            session = boto3.session.Session(profile_name=settings.profile)
        clients = Clients(session=session)
        sqs = clients.sqs(self.url)
        warnings = []
        if settings.target != "local":
            warning = queue_policy_warning(sqs, self.url)
            if warning:
                warnings.append(warning)
        turk = getattr(self.platform.client, "localturk", None)
        if turk is not None:
            self.courier = Courier(turk, every=COURIER_EVERY, clients=clients).start()
        before = self.courier.run_once if self.courier is not None else None
        self.listener = QueueListener(sqs, self.url, self.first_sighting, before_poll=before)
        return warnings

    def hit_types(self, hit_ids: list[str]) -> list[str]:
        """The HIT types of these HITs: from the ledger where babe recorded them, else GetHIT.

        A HIT MTurk no longer knows (deleted) notifies nothing: skipped.
        """
        from babe_tasks.ledger import Ledger
        from babe_tasks.platform.base import NotFound

        known: dict[str, str] = {}
        with Ledger.of(self.platform.settings) as ledger:
            for hit_id in hit_ids:
                record = ledger.hit(hit_id)
                if record is not None and record.hit_type_id:
                    known[hit_id] = record.hit_type_id
        for hit_id in hit_ids:
            if hit_id in known:
                continue
            try:
                known[hit_id] = self.platform.get_hit(hit_id).hit_type_id
            except NotFound:
                continue
        return sorted(set(known.values()))

    def poll(self, wait: float = 0) -> list[dict]:
        """The new events (each MTurk event of a new message), waiting up to `wait` seconds for one."""
        if self.listener is None:
            return []
        return self.listener.poll(wait=int(wait))

    def close(self) -> list[str]:
        """Stop the courier (it delivers once more); nothing to undo on MTurk's side."""
        if self.courier is not None:
            self.courier.stop()
            self.courier = None
        return []
