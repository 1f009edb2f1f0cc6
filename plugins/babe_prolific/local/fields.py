"""Reading request bodies of the workspace, group, collection, message and hook endpoints.

Each check answers Prolific's validation shape (`{field: [message]}`, HTTP 400) and collects every
bad field of a body before refusing, so a client learns all its mistakes from one answer. They are
as lenient as the spec: members the spec does not list are ignored, never refused.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError


class Fields:
    """The members of one JSON object body, with the problems found so far."""

    def __init__(self, body: Any):
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        self.body = body
        self.errors: dict[str, list[str]] = {}

    def bad(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, *, required: bool = False, nullable: bool = False, blank: bool = True) -> str | None:
        if name not in self.body:
            if required:
                self.bad(name, "This field is required.")
            return None
        value = self.body[name]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.bad(name, "Must be a string.")
            return None
        if not blank and not value.strip():
            self.bad(name, "This field may not be blank.")
            return None
        return value

    def ids(self, name: str, *, required: bool = False) -> list[str] | None:
        if name not in self.body:
            if required:
                self.bad(name, "This field is required.")
            return None
        value = self.body[name]
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            self.bad(name, "Must be a list of ids (strings).")
            return None
        return list(dict.fromkeys(value))

    def rate(self, name: str) -> float | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            self.bad(name, "Must be a number from 0 to 1, or null.")
            return None
        return float(value)

    def flag(self, name: str) -> bool | None:
        if name not in self.body:
            return None
        value = self.body[name]
        if not isinstance(value, bool):
            self.bad(name, "Must be true or false.")
            return None
        return value

    def done(self) -> None:
        """Refuse with every problem found, if any."""
        if self.errors:
            raise ApiError(400, self.errors)
