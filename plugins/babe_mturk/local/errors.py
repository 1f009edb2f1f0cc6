"""Errors the local MTurk answers with, in MTurk's wire format.

A handler raises one of these; both ways in (in-process and HTTP) turn it into the same body and
status, so a client sees exactly what Amazon would send.
"""

from __future__ import annotations

import time


class TurkError(Exception):
    """An error answer: `{"__type", "Message", "TurkErrorCode"}` with an HTTP status."""

    error_type = "RequestError"
    status = 400

    def __init__(self, message: str, turk_code: str | None = None):
        super().__init__(message)
        self.message = message
        self.turk_code = turk_code

    def body(self) -> dict:
        # Real messages end in the server's timestamp in milliseconds; clients must match on
        # TurkErrorCode, and ours give them the same incentive.
        body = {"__type": self.error_type, "Message": f"{self.message} ({int(time.time() * 1000)})"}
        if self.turk_code:
            body["TurkErrorCode"] = self.turk_code
        return body


class RequestError(TurkError):
    """The request is wrong (400); botocore never retries it."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message, f"AWS.MechanicalTurk.{code}" if code and "." not in code else code)


class ServiceFault(TurkError):
    """A server-side failure (500); botocore retries it."""

    error_type = "ServiceFault"
    status = 500

    def __init__(self, message: str = "Service is unavailable, please retry.", code: str | None = "AWS.MechanicalTurk.ServiceFault"):
        super().__init__(message, code)


class Throttled(TurkError):
    """The generic AWS throttling answer (400 "Rate exceeded"), not a TurkErrorCode."""

    error_type = "ThrottlingException"

    def __init__(self, message: str = "Rate exceeded"):
        super().__init__(message, None)

    def body(self) -> dict:
        return {"__type": self.error_type, "message": self.message, "Message": self.message}


class ValidationError(RequestError):
    """A request that breaks the service model's or MTurk's rules; the message names the member."""

    def __init__(self, member: str, rule: str):
        super().__init__(f"{member}: {rule}", "ValidationError")
        self.member = member
        self.rule = rule
