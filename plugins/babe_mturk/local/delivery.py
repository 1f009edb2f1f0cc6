"""Delivering the local MTurk's notifications: the outbox, drained to SQS queues and SNS topics.

MTurk pushes an event message (an assignment submitted, a HIT expired, ...) to the queue or topic a
HIT type's notification settings name. The local MTurk writes each message into its outbox in the
transaction that made the change (`notifications.emit_event`); this module is the other half, the
courier: `deliver(turk)` sends every pending message with boto3 (`sqs.send_message`, or
`sns.publish` whose subscribers receive MTurk's JSON as the notification's Message) and marks it
delivered only once the send succeeded. A crash between the two sends it again on the next pass:
delivery is at least once, as on MTurk, so consumers deduplicate on EventDocId.

A destination that cannot be reached (no such queue, no network, refused credentials) keeps its
messages pending and is tried again on the next pass; the messages to other destinations go on.
E-mail notifications are not sent from this machine: they are dropped and counted.

Where the messages go: an `https://sqs.<region>.amazonaws.com/<account>/<queue>` URL is Amazon's
SQS in that region, through the standard boto3 credential chain (moto's `mock_aws` in tests); a
loopback URL (`http://127.0.0.1:<port>/<account>/<queue>`, e.g. moto's server) is that server, with
dummy credentials. SNS topics are ARNs without a host: `sns_endpoint_url` points them at a local
server. `Courier` runs `deliver` every second in a thread, for a process that hosts the local MTurk
(`babe watch --queue` does, for the in-process local MTurk).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

from babe_mturk.local import notifications

REGION = "us-east-1"
#: Messages looked at per pass; the rest wait for the next pass.
PASS_LIMIT = 1000
_PAGE = 100
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
#: Credentials for servers on this machine, which check no signature (as for the local MTurk).
_DUMMY = {"aws_access_key_id": "LOCALTURKLOCALTURK00", "aws_secret_access_key": "localturk"}


@dataclass
class DeliveryReport:
    """One pass: the EventDocIds sent, dropped (e-mail) and failed ({event_doc_id, destination, error})."""

    delivered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"delivered": self.delivered, "dropped": self.dropped, "failed": self.failed}


def queue_location(queue_url: str) -> tuple[str, str | None]:
    """(region, endpoint URL or None for Amazon's own) of an SQS queue URL."""
    parts = urlsplit(queue_url)
    host = (parts.hostname or "").lower()
    if _loopback(host):
        return REGION, f"{parts.scheme}://{parts.netloc}"
    labels = host.split(".")
    if len(labels) >= 4 and labels[0] == "sqs":
        return labels[1], None
    return REGION, None  # queue.amazonaws.com: the legacy us-east-1 host


def _loopback(host: str) -> bool:
    return host in _LOOPBACK or host.startswith("127.")


def topic_region(topic_arn: str) -> str:
    """The region of an SNS topic ARN (`arn:aws:sns:<region>:<account>:<topic>`)."""
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else REGION


class Clients:
    """boto3 SQS/SNS clients per (service, region, endpoint), made once and shared by every pass.

    `session` is a boto3 Session for Amazon's endpoints (default: the standard credential chain);
    loopback endpoints always get dummy credentials.
    """

    def __init__(self, *, session: Any = None, sns_endpoint_url: str | None = None):
        self._session = session
        self.sns_endpoint_url = sns_endpoint_url
        self._made: dict[tuple[str, str, str | None], Any] = {}
        self._lock = threading.Lock()

    def sqs(self, queue_url: str) -> Any:
        region, endpoint = queue_location(queue_url)
        return self._client("sqs", region, endpoint)

    def sns(self, topic_arn: str) -> Any:
        return self._client("sns", topic_region(topic_arn), self.sns_endpoint_url)

    def _client(self, service: str, region: str, endpoint: str | None) -> Any:
        key = (service, region, endpoint)
        with self._lock:
            if key not in self._made:
                self._made[key] = self._make(service, region, endpoint)
            return self._made[key]

    def _make(self, service: str, region: str, endpoint: str | None) -> Any:
        import boto3
        from botocore.config import Config

        if endpoint is not None and _loopback((urlsplit(endpoint).hostname or "").lower()):
            session = boto3.session.Session(region_name=region, **_DUMMY)
        else:
            session = self._session or boto3.session.Session()
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
        return session.client(service, region_name=region, endpoint_url=endpoint, config=config)


def deliver(turk, *, clients: Clients | None = None, limit: int = PASS_LIMIT) -> DeliveryReport:
    """Send the pending messages (at most `limit`, oldest first); mark each delivered once sent.

    After a destination fails once in a pass, its later messages wait for the next pass without
    another attempt, so a dead queue costs one call per pass.
    """
    clients = clients or Clients()
    report = DeliveryReport()
    broken: dict[tuple[str, str], str] = {}
    after, looked = 0, 0
    while looked < limit:
        page = notifications.pending_events(turk, min(_PAGE, limit - looked), after=after)
        if not page:
            break
        looked += len(page)
        after = page[-1]["id"]
        sent: list[int] = []
        for message in page:
            where = (message["transport"], message["destination"])
            if message["transport"] == "Email":
                report.dropped.append(message["event_doc_id"])
                sent.append(message["id"])
                continue
            if where in broken:
                report.failed.append(_failure(message, broken[where]))
                continue
            try:
                _send(clients, message)
            except Exception as exc:  # noqa: BLE001 - any failure leaves the message pending
                broken[where] = _describe(exc)
                report.failed.append(_failure(message, broken[where]))
                continue
            sent.append(message["id"])
            report.delivered.append(message["event_doc_id"])
        notifications.mark_delivered(turk, sent)
    return report


def _send(clients: Clients, message: dict) -> None:
    if message["transport"] == "SQS":
        clients.sqs(message["destination"]).send_message(QueueUrl=message["destination"], MessageBody=message["body"])
    elif message["transport"] == "SNS":
        clients.sns(message["destination"]).publish(TopicArn=message["destination"], Message=message["body"])
    else:
        raise ValueError(f"unknown transport {message['transport']!r}")


def _failure(message: dict, error: str) -> dict:
    return {"event_doc_id": message["event_doc_id"], "destination": message["destination"], "error": error}


def _describe(exc: BaseException) -> str:
    from babe_tasks.errors import one_line

    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return one_line(f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}")
    return one_line(f"{type(exc).__name__}: {exc}")


class Courier:
    """`deliver` every `every` seconds in a daemon thread, until `stop()` (which delivers once more).

    For a process hosting the local MTurk; `on_pass(report)` sees each pass (e.g. to log failures).
    A pass that raises (the state file locked past its timeout) is reported and retried later.
    """

    def __init__(
        self,
        turk,
        *,
        every: float = 1.0,
        clients: Clients | None = None,
        on_pass: Callable[[DeliveryReport], None] | None = None,
    ):
        self.turk = turk
        self.every = every
        self.clients = clients or Clients()
        self.on_pass = on_pass
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()
        self.passes = 0
        self.errors: list[str] = []

    def start(self) -> Courier:
        self._thread = threading.Thread(target=self._run, name="localturk-courier", daemon=True)
        self._thread.start()
        return self

    def run_once(self) -> DeliveryReport | None:
        """One pass now (also from another thread: passes never overlap, so nothing is sent twice)."""
        try:
            with self._pass_lock:
                report = deliver(self.turk, clients=self.clients)
        except Exception as exc:  # noqa: BLE001 - a courier never dies of one bad pass
            self.errors.append(_describe(exc))
            return None
        self.passes += 1
        if self.on_pass is not None:
            self.on_pass(report)
        return report

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.run_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.run_once()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
