"""Requests and answers held to Prolific's published API, through the table `spectable.py` makes.

Two uses. The local Prolific refuses a request the spec forbids (a missing required member, a
wrong type, a value outside an enum) with Prolific's per-field 400 before any handler runs, so a
client learns the real service's limits and no more: the handlers keep only business rules the
schema cannot say. And under `BABE_PROLIFIC_CONFORM=1` every answer is checked against the
schema of its operation and status, so a local Prolific that drifts from the real one fails the
test that touched the route instead of teaching the adapter a shape the service does not have.

The table is read once and each validator compiled once (first use), so a check costs one
`jsonschema` pass over the body.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

PREFIX = "/api/v1"
#: The key under which refusals that concern the body as a whole are listed (Django REST's).
WHOLE_BODY = "non_field_errors"
_MAX_PROBLEMS = 10
_MAX_MESSAGE = 200

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_timestamp(value: object) -> bool:
    """ISO 8601 as Python reads it (Z included): lenient on purpose, yet "yesterday" fails."""
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


def _required_unless_read_only(validator, required, instance, schema):
    """`required` for a request: OpenAPI exempts readOnly members (the service sets them)."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    for name in required:
        if name not in instance and not properties.get(name, {}).get("readOnly"):
            yield ValidationError(f"{name!r} is a required property")


def _nothing_required(validator, required, instance, schema):
    """`required` for a PATCH body: a delta names only what changes."""
    return iter(())


_Response = Draft202012Validator
_Request = extend(Draft202012Validator, {"required": _required_unless_read_only})
_Partial = extend(Draft202012Validator, {"required": _nothing_required})


@cache
def table() -> dict:
    """The table shipped beside this module (openapi_table.json)."""
    return json.loads(resources.files(__package__).joinpath("openapi_table.json").read_text(encoding="utf-8"))


@cache
def _templates() -> dict[str, list[tuple[re.Pattern, str]]]:
    """Per method, (regex, operation) with literal paths before ones with more parameters."""
    by_method: dict[str, list[tuple[int, re.Pattern, str]]] = {}
    for name in table()["operations"]:
        method, template = name.split(" ", 1)
        regex = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
        by_method.setdefault(method, []).append((template.count("{"), regex, name))
    return {method: [(regex, name) for _, regex, name in sorted(found, key=lambda f: f[0])] for method, found in by_method.items()}


def _below_prefix(path: str) -> str:
    return path[len(PREFIX):] if path.startswith(PREFIX + "/") else path


@lru_cache(maxsize=4096)
def operation(method: str, path: str) -> str | None:
    """The operation ("GET /studies/{id}/") that serves `method path`, or None if the spec has none."""
    sub = _below_prefix(path)
    for regex, name in _templates().get(method.upper(), ()):
        if regex.match(sub):
            return name
    return None


_validators: dict[tuple[str, int], tuple[Any, Draft202012Validator]] = {}


def _validator(kind: str, schema: Any) -> Draft202012Validator:
    """One compiled validator per schema of the table and kind (response, request, partial).

    Keyed by the schema object's identity: the table is loaded once, so its schemas live as long
    as the process (the schema is kept in the value so that an id is never reused).
    """
    key = (kind, id(schema))
    found = _validators.get(key)
    if found is None or found[0] is not schema:
        cls = {"response": _Response, "request": _Request, "partial": _Partial}[kind]
        root = dict(schema, **{"$defs": table()["$defs"]}) if isinstance(schema, dict) else schema
        found = _validators[key] = (schema, cls(root, format_checker=_formats))
    return found[1]


def _validate(kind: str, schema: Any, instance: Any) -> list[ValidationError]:
    errors = _validator(kind, schema).iter_errors(instance)
    return sorted(errors, key=lambda e: [str(part) for part in e.absolute_path])


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _missing(error: ValidationError) -> str:
    """The member a `required` error is about (jsonschema writes "'name' is a required property")."""
    return ast.literal_eval(error.message.rsplit(" is a required property", 1)[0])


def _path(error: ValidationError, root: str = "$") -> str:
    text = root
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _closest(error: ValidationError) -> ValidationError:
    """Of an anyOf's failed branches, the one the value nearly matched: fewest errors, deepest first.

    (`best_match` prefers shallow errors, so it blames a missing member of the wrong branch.)
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    nearest = min(branches.values(), key=lambda errors: (len(errors), -max(len(e.absolute_path) for e in errors)))
    return max(nearest, key=lambda e: len(e.absolute_path))


def _message(error: ValidationError, root: str = "$") -> str:
    """`$.results[0].status: 'TIME-OUT' is not one of [...]`, short, deepest useful reason."""
    if error.validator == "required":
        member = _missing(error)
        return f"{_path(error, root)}.{member}: required"
    if error.validator in ("anyOf", "oneOf") and error.context:
        reason = _closest(error)
        return _short(f"{_path(error, root)}: none of {len(error.validator_value)} documented shapes ({_message(reason, root)})")
    return _short(f"{_path(error, root)}: {error.message}")


# -- answers --------------------------------------------------------------------------------------
def _documented(responses: dict, status: int) -> dict | None:
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return responses[key]
    return None


def response_problems(method: str, path: str, status: int, body: Any, content_type: str | None = "application/json") -> list[str]:
    """What is wrong with this answer by the spec (empty when it conforms).

    `body` is the parsed JSON (or the text, for a non-JSON answer; None when empty). A 5xx is
    never judged (it is a failure already), nor a 404/405 the router gives to a path the spec
    does not have, beyond its error shape.
    """
    if status >= 500:
        return []
    kind = (content_type or "").split(";", 1)[0].strip().lower() or None
    name = operation(method, path)
    if name is None:
        if 400 <= status < 500:
            return [f"{status} {method} {path}: {m}" for m in _problems({"$ref": "#/$defs/AnyError"}, body, kind, "application/json")]
        return [f"{method} {_below_prefix(path)} is not an operation of Prolific's published API"]
    documented = _documented(table()["operations"][name]["responses"], status)
    if documented is None:
        return [f"{name}: status {status} is not documented (documented: {', '.join(table()['operations'][name]['responses'])})"]
    if not documented:
        if status == 204 and body not in (None, ""):
            return [f"{name}: 204 carries a body"]
        return []
    if kind not in documented:
        return [f"{name}: {status} answered {kind or 'no body'}, the spec documents {', '.join(documented)}"]
    return [f"{name} {status}: {m}" for m in _problems(documented[kind], body, kind, kind)]


def _problems(schema: Any, body: Any, kind: str | None, expected: str) -> list[str]:
    if kind != expected:
        return [f"answered {kind or 'no body'}, the spec documents {expected}"]
    errors = _validate("response", schema, body)
    found = [_message(error) for error in errors[:_MAX_PROBLEMS]]
    if len(errors) > _MAX_PROBLEMS:
        found.append(f"… and {len(errors) - _MAX_PROBLEMS} more")
    return found


# -- requests -------------------------------------------------------------------------------------
def _coerce(value: str, schema: dict) -> Any:
    """A query string's text as the type its parameter declares (left as text if it is not one)."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "array" in types:
        return [_coerce(v, schema.get("items", {})) for v in value.split(",")]
    if "integer" in types and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            return value
    if "boolean" in types and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def request_problems(method: str, path: str, query: dict[str, str], body: Any) -> dict[str, list[str]]:
    """What the spec forbids in this request, per field (`{field: [messages]}`; empty when allowed).

    `body` is the parsed JSON body, or None when the request carried none. Unknown query
    parameters and unknown body members are never refused (the spec allows them or is silent),
    nor is an operation the spec does not have (routing answers that).
    """
    name = operation(method, path)
    if name is None:
        return {}
    entry = table()["operations"][name]
    problems: dict[str, list[str]] = {}
    for parameter in entry["parameters"]:
        if parameter["in"] != "query":
            continue
        field = parameter["name"]
        if field not in query:
            if parameter["required"]:
                problems.setdefault(field, []).append(f"?{field}: required")
            continue
        value = _coerce(query[field], parameter["schema"])
        for error in _validate("request", parameter["schema"], value):
            problems.setdefault(field, []).append(_message(error, root=f"?{field}"))
    request = entry["request"]
    if request is not None and (body is not None or request["required"]):
        kind = "partial" if request["partial"] else "request"
        for error in _validate(kind, request["schema"], {} if body is None else body):
            problems.setdefault(_field(error), []).append(_message(error))
    return problems


def _field(error: ValidationError) -> str:
    """The top-level member a refusal is filed under (the message names the full path)."""
    if error.absolute_path:
        return str(error.absolute_path[0])
    if error.validator == "required":
        return _missing(error)
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _field(_closest(error))
    return WHOLE_BODY
