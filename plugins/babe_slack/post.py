"""Posting one message to the webhook, never longer than the timeout, never revealing the URL.

A notification is a courtesy, the step is the work: a Slack that is down, slow or answering an
error must cost the step at most `timeout` seconds and one warning line. So the POST runs in a
daemon thread that the caller waits for at most `timeout` (httpx's own timeouts bound each phase,
but a server trickling its answer could stretch several phases past the limit), and every failure
becomes `WebhookFailed` with a message built here — never an httpx message, which may quote the URL.

The URL could still leak through logging: httpx logs every request at INFO with the full URL, and
`babe --debug` turns those logs on. While a post is in flight a filter on httpx's and httpcore's
loggers rewrites any record that mentions the URL to its redacted form; the thread removes it when
it ends, so a late answer cannot be logged unredacted either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from babe_tasks.errors import one_line

from .config import SlackConfig

#: Loggers of the HTTP stack that may mention the URL (logger filters are not inherited: each one).
LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")
USER_AGENT = "babe-tasks slack plugin"
#: How much of an error answer's body is quoted (Slack answers e.g. `no_service`, `invalid_payload`).
BODY_QUOTE = 80


class WebhookFailed(Exception):
    """The message did not reach Slack; the text is one line with the URL redacted."""


def post(config: SlackConfig, payload: dict[str, Any]) -> float:
    """POST `payload` as JSON; returns the seconds it took. Raises WebhookFailed within `config.timeout`."""
    outcome: dict[str, Any] = {}
    started = time.monotonic()

    def send() -> None:
        with _redacting(config):
            try:
                outcome["status"], outcome["body"] = _send(config, payload)
            except BaseException as exc:  # noqa: BLE001 - reported by the waiting caller, never raised in the thread
                outcome["error"] = exc

    worker = threading.Thread(target=send, name="babe-slack-post", daemon=True)
    worker.start()
    worker.join(config.timeout)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        raise WebhookFailed(f"Slack webhook {config.redacted} did not answer within {config.timeout:g}s")
    if "error" in outcome:
        raise WebhookFailed(_describe_error(config, outcome["error"])) from None
    status = outcome["status"]
    if not 200 <= status < 300:
        body = _scrub(config, one_line(outcome["body"] or "")[:BODY_QUOTE])
        raise WebhookFailed(f"Slack webhook {config.redacted} answered HTTP {status}" + (f" ({body})" if body else ""))
    return elapsed


def _send(config: SlackConfig, payload: dict[str, Any]) -> tuple[int, str]:
    import httpx

    timeout = httpx.Timeout(config.timeout)
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        response = client.post(config.webhook, json=payload)
        return response.status_code, response.text


def _describe_error(config: SlackConfig, exc: BaseException) -> str:
    """One line for a failed POST, from the exception's kind — its text may hold the URL, so it is scrubbed."""
    import httpx

    where = f"Slack webhook {config.redacted}"
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} did not answer within {config.timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        return f"{where} is unreachable ({_scrub(config, one_line(exc))})"
    if isinstance(exc, httpx.HTTPError):
        return f"{where} failed: {type(exc).__name__}: {_scrub(config, one_line(exc))}"
    return f"{where} failed: {type(exc).__name__}"


def _scrub(config: SlackConfig, text: str) -> str:
    """Text with the URL (or its secret path alone) replaced by the redacted form."""
    from urllib.parse import urlsplit

    path = urlsplit(config.webhook).path
    text = text.replace(config.webhook, config.redacted)
    if len(path) > 1:
        text = text.replace(path, "/…")
    return text


class _Redact(logging.Filter):
    """Rewrites log records that mention the webhook URL; drops nothing."""

    def __init__(self, config: SlackConfig):
        super().__init__()
        self.config = config

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logger's business, not ours
            return True
        scrubbed = _scrub(self.config, message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


@contextmanager
def _redacting(config: SlackConfig) -> Iterator[None]:
    redact = _Redact(config)
    loggers = [logging.getLogger(name) for name in LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)
