"""Prolific's error answers: `{"error": {"status", "error_code", "title", "detail", "additional_information"}}`.

Every refusal of the local Prolific is one `ApiError`, raised anywhere below the router and turned
into that body by `app.py`, so a client (the adapter) learns to read the real shape. `detail` is a
string or `{field: [messages]}` as the real API answers validation errors. The numeric codes are
the local server's own (Prolific's are not documented); docs/localprolific.md lists them.
"""

from __future__ import annotations

from typing import Any

#: error_code values, one per kind of refusal.
VALIDATION = 140001
TRANSITION = 140002
FUNDS = 140003
NOT_FOUND = 140404
AUTH = 140401
METHOD = 140405
THROTTLED = 140429
SERVER = 140500

TITLES = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error"}


class ApiError(Exception):
    """A refusal: HTTP status, error_code, detail (string, list or {field: [messages]})."""

    def __init__(self, status: int, detail: Any, *, code: int = VALIDATION, info: str = ""):
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.code = code
        self.info = info

    def body(self) -> dict:
        return {
            "error": {
                "status": self.status,
                "error_code": self.code,
                "title": TITLES.get(self.status, "Error"),
                "detail": self.detail,
                "additional_information": self.info,
            }
        }


def invalid(field: str, message: str) -> ApiError:
    """A 400 naming one field, shaped like the real API's validation errors."""
    return ApiError(400, {field: [message]})


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} {ident} was not found.", code=NOT_FOUND)


def bad_transition(message: str) -> ApiError:
    return ApiError(400, message, code=TRANSITION)
