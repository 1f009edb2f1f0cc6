"""The one module every Prolific API request goes through.

It decides where requests go (a base URL and, for the local Prolific, an in-process transport),
how they are retried, and what a failure means to the lab — every failure leaves this module as a
`babe_tasks.errors` exception with a one-line message:

| what happened | raised | exit |
|---|---|---|
| 401 / 403 (token refused) | UsageError naming the token's environment variable | 2 |
| no connection, timeout, 5xx after the retries | PlatformError naming the endpoint | 4 |
| any other refusal (400, 404, 409, ...) | ProlificError (an OperationFailed) with status and code | 1 |

Retries (exponential back-off, `Retry-After` honoured): a 429 and a connection that could not be
made are retried for every request (Prolific did nothing); 5xx answers and connections lost after
the request left are retried only for requests that are safe to repeat (`idempotent=True`). Paying
a bonus twice pays twice, and posting a study twice makes two drafts: those calls are sent with
`idempotent=False` and their callers handle a lost answer (docs/prolific.md).

The token goes into the `Authorization` header only: never into a URL, a message or a log line,
and httpx's exceptions carry no headers, so neither `--json` nor `BABE_DEBUG=1` can show it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from babe_tasks.errors import PlatformError, UsageError
from babe_tasks.platform.base import OperationFailed

LIVE_URL = "https://api.prolific.com/api/v1/"
#: Attempts per request (the first included) and the back-off between them.
ATTEMPTS = 5
BACKOFF = 0.1
MAX_BACKOFF = 5.0
TIMEOUT = 30.0
#: Items asked per list page (Prolific's default is 20): fewer requests for a big study.
PAGE_SIZE = 100


class ProlificError(OperationFailed):
    """Prolific refused one request; `status` is the HTTP status, `code` Prolific's error_code."""

    def __init__(self, message: str, status: int, code: str | None = None, detail: Any = None):
        super().__init__(message, code)
        self.status = status
        self.detail = detail


class Uncertain(PlatformError):
    """A non-idempotent request left, and no answer came back: it may or may not have been done."""


def api_url(endpoint: str) -> str:
    """The API's base URL for an endpoint given as `http://host:port` (the path `/api/v1/` is added)."""
    url = endpoint.rstrip("/")
    if not url.endswith("/api/v1"):
        url += "/api/v1"
    return url + "/"


def error_message(document: Any) -> tuple[str, str | None, Any]:
    """(one line, error_code, detail) from Prolific's error shapes (`{"error": {...}}` or `{"message", "detail"}`)."""
    if not isinstance(document, dict):
        return (str(document)[:300] if document else "no details"), None, None
    error = document.get("error") if isinstance(document.get("error"), dict) else document
    code = error.get("error_code")
    title = error.get("title") or error.get("message") or ""
    detail = error.get("detail")
    parts = [str(title)] if title else []
    flat = _flatten(detail)
    if flat and flat != title:
        parts.append(flat)
    return ("; ".join(parts) or "no details"), (str(code) if code is not None else None), detail


def _flatten(detail: Any) -> str:
    if detail is None:
        return ""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(_flatten(item) for item in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    return str(detail)


class ProlificClient:
    """Requests to one Prolific API (`base_url` ends in `/api/v1/`), authenticated with one token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        token_env: str,
        transport: httpx.BaseTransport | None = None,
        where: str | None = None,
        sleep: Any = time.sleep,
    ):
        self.base_url = base_url
        self.token_env = token_env
        self._secret = token
        self.where = where or base_url
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            transport=transport,
            timeout=TIMEOUT,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    # -- requests ---------------------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any = None, *, idempotent: bool, headers: dict | None = None) -> Any:
        """`headers`, when given, receives the answer's headers (a hook subscription's `X-Hook-Secret`)."""
        return self.request("POST", path, json=body, idempotent=idempotent, headers=headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def pages(self, path: str, **params: Any) -> Iterator[dict]:
        """Every item of a list, page after page, following `_links.next.href` until it is null.

        The next link is followed as given (it carries the page size and any filter), never built:
        a page past the end is a 404 on Prolific.
        """
        params.setdefault("page_size", PAGE_SIZE)
        answer = self.get(path, **params)
        while True:
            yield from answer.get("results", []) if isinstance(answer, dict) else []
            following = ((answer.get("_links") or {}).get("next") or {}).get("href") if isinstance(answer, dict) else None
            if not following:
                return
            answer = self.request("GET", following)

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, idempotent: bool = True,
        headers: dict | None = None,
    ) -> Any:
        """One request with retries; the decoded JSON answer (the text for a non-JSON 2xx, None when empty).

        `headers`, when given, is filled with the successful answer's headers."""
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= ATTEMPTS
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.ConnectError as exc:  # the request never left: safe to send again
                if last:
                    raise self._unreachable(exc) from None
                self._pause(attempt, None)
                continue
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if not idempotent:
                    raise Uncertain(
                        f"{method} {self._path(path)} on {self.where} got no answer ({type(exc).__name__}); it may have "
                        "been done"
                    ) from None
                if last:
                    raise self._unreachable(exc) from None
                self._pause(attempt, None)
                continue
            status = response.status_code
            if status == 429:
                if last:
                    raise PlatformError(
                        f"Prolific ({self.where}) kept answering 429 (too many requests) to {method} {self._path(path)}; "
                        "wait a minute and run the same command again"
                    )
                self._pause(attempt, response)
                continue
            if status >= 500:
                if idempotent and not last:
                    self._pause(attempt, response)
                    continue
                if not idempotent:
                    raise Uncertain(
                        f"{method} {self._path(path)} on {self.where} answered {status}; it may have been done"
                    )
                raise PlatformError(
                    f"Prolific ({self.where}) answered {status} to {method} {self._path(path)} {ATTEMPTS} times; "
                    "try again later"
                )
            if status in (401, 403):
                message, _, _ = error_message(_json(response))
                message = self._redact(message)
                raise UsageError(
                    f"Prolific ({self.where}) refused the API token in {self.token_env} ({status}: {message}): set "
                    f"{self.token_env} to a valid token (Prolific app → API tokens)"
                )
            if status >= 400:
                message, code, detail = error_message(_json(response))
                message = self._redact(message)
                raise ProlificError(f"{method} {self._path(path)}: {status} {message}", status, code or str(status), detail)
            if headers is not None:
                headers.update(response.headers)
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                return response.text

    # -- plumbing -----------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        """A server's message with our token removed, should a server ever echo it."""
        return text.replace(self._secret, "***") if self._secret else text

    def _pause(self, attempt: int, response: httpx.Response | None) -> None:
        delay = min(MAX_BACKOFF, BACKOFF * 2 ** (attempt - 1))
        if response is not None:
            try:
                delay = min(MAX_BACKOFF, max(delay, float(response.headers.get("Retry-After", ""))))
            except ValueError:
                pass
        self._sleep(delay)

    def _unreachable(self, exc: Exception) -> PlatformError:
        return PlatformError(
            f"cannot reach Prolific at {self.where} ({type(exc).__name__}): check the network, or the endpoint "
            "(babe-prolific serve for a local one)"
        )

    def _path(self, path: str) -> str:
        """The request's path for messages: relative to the API (no host, no query)."""
        return "/" + str(path).split("?", 1)[0].replace(self.base_url, "").lstrip("/")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
