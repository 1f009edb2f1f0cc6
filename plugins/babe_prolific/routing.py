"""Where the Prolific platform's requests go: the local Prolific in-process, an endpoint, or Prolific.

- target `local` without `--endpoint-url`: the local Prolific (`babe_prolific.local`) answers
  in-process through `httpx.WSGITransport` — no server, no port, the same HTTP requests (faults and
  retries behave as over a network). Its state is the experiment's `.babe/prolific.sqlite`, or the
  file `BABE_PROLIFIC_STATE` names (what `babe-prolific serve` and `babe-prolific participants` use
  too, so they share one account). `BABE_PROLIFIC_FAULTS` injects faults.
- `--endpoint-url URL`: any server speaking Prolific's API (e.g. `babe-prolific serve`).
- target `live`: https://api.prolific.com/api/v1/. There is no sandbox.

The local Prolific accepts any token but one configured as refused, so a lab without a token can
run the whole lifecycle offline: on target local the token defaults to a fixed local one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babe_tasks.errors import UsageError

from .client import LIVE_URL, api_url

STATE_ENV = "BABE_PROLIFIC_STATE"
FAULTS_ENV = "BABE_PROLIFIC_FAULTS"
STATE_FILE = "prolific.sqlite"
#: The token sent to a local Prolific when the lab has none (the local server accepts any).
LOCAL_TOKEN = "local-prolific-token"
#: The in-process transport's host (never resolved: the WSGI app answers).
INPROCESS_URL = "http://local.prolific/api/v1/"
NO_SANDBOX = "Prolific has no sandbox: use --target local (the local Prolific) or live"


@dataclass(frozen=True)
class Route:
    """Where requests go: the base URL, the transport (None: the network), and how to name it."""

    base_url: str
    transport: Any
    where: str
    location: str
    state_path: Path | None
    #: The in-process local Prolific (closed with the platform), None elsewhere.
    app: Any = None


def state_path(folder: str | Path) -> Path:
    """The local Prolific's state file for this experiment (`BABE_PROLIFIC_STATE` wins)."""
    value = os.environ.get(STATE_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    from babe_tasks.folders import state_dir

    return state_dir(Path(folder)) / STATE_FILE


def route(settings: Any) -> Route:
    """The route for the settings' target and endpoint URL."""
    if settings.target == "sandbox":
        raise UsageError(NO_SANDBOX)
    if settings.endpoint_url:
        base = api_url(settings.endpoint_url)
        return Route(base, None, settings.endpoint_url, settings.endpoint_url, None)
    if settings.target == "live":
        return Route(LIVE_URL, None, LIVE_URL, LIVE_URL, None)
    path = state_path(settings.folder)
    app = local_app(path)
    return Route(INPROCESS_URL, InProcess(app), "the local Prolific", f"local-prolific:{path}", path, app)


def local_app(path: Path):
    """The local Prolific's WSGI app over `path`, with `BABE_PROLIFIC_FAULTS` applied."""
    from .local.app import make_app

    path.parent.mkdir(parents=True, exist_ok=True)
    faults = os.environ.get(FAULTS_ENV, "").strip() or None
    try:
        return make_app(path, faults=faults)
    except ValueError as exc:  # a malformed BABE_PROLIFIC_FAULTS: the user's input
        raise UsageError(f"{exc}; fix or unset {FAULTS_ENV}") from None


def InProcess(app):  # noqa: N802 - named as the httpx transport class it stands for
    """An httpx transport answered by the WSGI app, its injected network faults turned into httpx's.

    A dropped connection (nothing done) becomes `httpx.ConnectError`, which every request may retry;
    an answer lost after the work was done becomes `httpx.ReadError`, which only idempotent requests
    retry — the distinction that keeps a lost bonus payment from being paid twice.
    """
    import httpx

    from .local.faults import AnswerLost, Dropped

    class _InProcess(httpx.WSGITransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return super().handle_request(request)
            except Dropped:
                raise httpx.ConnectError("connection dropped (injected fault)", request=request) from None
            except AnswerLost:
                raise httpx.ReadError("answer lost after the request was done (injected fault)", request=request) from None

    return _InProcess(app=app)
