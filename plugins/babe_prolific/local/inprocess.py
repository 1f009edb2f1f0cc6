"""The in-process way to the local Prolific: an httpx transport that calls the WSGI app directly.

`httpx.WSGITransport` alone would hand the app's injected `Dropped`/`AnswerLost` to the caller as
foreign exceptions; this transport turns both into `httpx.RemoteProtocolError`, which is what a
client sees over HTTP when the server closes the connection without answering. Either way the
client cannot tell whether the work was done — the point of the `lost` fault.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from .app import LocalProlific, make_app
from .faults import AnswerLost, Dropped

BASE_URL = "http://localprolific/api/v1/"


class LocalTransport(httpx.WSGITransport):
    def __init__(self, app: LocalProlific):
        super().__init__(app=app)
        self.local_app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except (Dropped, AnswerLost):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request) from None

    def close(self) -> None:
        self.local_app.close()


def transport(state_path: str | Path | None = None, *, faults=None) -> LocalTransport:
    """A transport over the state file; use with `httpx.Client(transport=..., base_url=BASE_URL)`."""
    return LocalTransport(make_app(state_path, faults=faults))
