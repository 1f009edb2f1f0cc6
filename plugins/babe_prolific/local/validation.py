"""Prolific's rules for what a researcher may send, checked before anything is stored.

A request is either applied whole or refused whole with every problem named per field (the real
API's `{"field": ["message"]}` detail), so a client never leaves half a study behind. The rules
are the ones the reference lists: required fields, rewards in integer minor units, a maximum
allowed time of at least 2 + 2·est + 2·√est minutes, the completion codes' shape, what may change
after publishing, rejection messages of 100+ characters with a known category, bulk approvals of
at most 1000, bonus CSVs of at most 200 rows in decimal major units.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError, invalid

REQUIRED = (
    "name",
    "description",
    "external_study_url",
    "prolific_id_option",
    "total_available_places",
    "estimated_completion_time",
    "reward",
    "completion_codes",
)
OPTIONAL = (
    "internal_name",
    "maximum_allowed_time",
    "device_compatibility",
    "peripheral_requirements",
    "filters",
    "project",
    "workspace",
    "metadata",
    "submissions_config",
    "study_labels",
    "content_warnings",
    "naivety_distribution_rate",
    "privacy_notice",
)
#: What may still change once a study is published (more places only).
AFTER_PUBLISH = ("internal_name", "total_available_places", "submissions_config")

PROLIFIC_ID_OPTIONS = ("question", "url_parameters", "not_required")
CODE_TYPES = (
    "COMPLETED",
    "FAILED_ATTENTION_CHECK",
    "FOLLOW_UP_STUDY",
    "GIVE_BONUS",
    "INCOMPATIBLE_DEVICE",
    "NO_CONSENT",
    "OTHER",
    "FIXED_SCREENOUT",
)
CODE_ACTIONS = (
    "MANUALLY_REVIEW",
    "AUTOMATICALLY_APPROVE",
    "REQUEST_RETURN",
    "ADD_TO_PARTICIPANT_GROUP",
    "REMOVE_FROM_PARTICIPANT_GROUP",
)
DEVICES = ("desktop", "tablet", "mobile")
#: Written out again, not imported from the adapter (config.py): the server judges what a client
#: sends, so a wrong category in the adapter must fail a test rather than pass both sides.
REJECTION_CATEGORIES = (
    "TOO_QUICKLY",
    "TOO_SLOWLY",
    "FAILED_INSTRUCTIONS",
    "INCOMP_LONGITUDINAL",
    "FAILED_CHECK",
    "LOW_EFFORT",
    "MALINGERING",
    "NO_CODE",
    "BAD_CODE",
    "NO_DATA",
    "UNSUPP_DEVICE",
    "OTHER",
)
MIN_REJECTION_MESSAGE = 100
MAX_BULK_APPROVE = 1000
MAX_BONUS_ROWS = 200
#: Filters the simulated participants obey; any other well-formed filter is stored and ignored.
ENFORCED_FILTERS = ("previous_studies_blocklist", "approval_rate")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def minimum_allowed_time(estimated: int) -> int:
    """The smallest maximum_allowed_time Prolific accepts: 2 + 2·est + 2·√est, rounded up."""
    return math.ceil(2 + 2 * estimated + 2 * math.sqrt(estimated))


def _body(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_field(name: str, value: Any, errors: dict[str, list[str]]) -> None:
    def bad(message: str) -> None:
        errors.setdefault(name, []).append(message)

    if name in ("name", "description"):
        if not isinstance(value, str) or not value.strip():
            bad("This field may not be blank.")
        elif name == "name" and len(value) > 200:
            bad("Ensure this field has no more than 200 characters.")
    elif name == "internal_name":
        if value is not None and not isinstance(value, str):
            bad("Must be a string.")
    elif name == "external_study_url":
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            bad("Enter a valid URL (http or https).")
    elif name == "prolific_id_option":
        if value not in PROLIFIC_ID_OPTIONS:
            bad(f'"{value}" is not a valid choice; use one of {", ".join(PROLIFIC_ID_OPTIONS)}.')
    elif name == "total_available_places":
        if not _whole(value, 1):
            bad("A whole number of places, 1 or more.")
    elif name == "estimated_completion_time" or name == "maximum_allowed_time":
        if not _whole(value, 1):
            bad("A whole number of minutes, 1 or more.")
    elif name == "reward":
        if not _whole(value, 1):
            bad("The reward is a whole number of the account's minor unit (cents or pence), 1 or more.")
    elif name == "completion_codes":
        _check_codes(value, bad)
    elif name == "device_compatibility":
        if not isinstance(value, list) or not value or any(d not in DEVICES for d in value):
            bad(f"A non-empty list of {', '.join(DEVICES)}.")
    elif name == "filters":
        _check_filters(value, bad)
    elif name == "submissions_config":
        if not isinstance(value, dict):
            bad("Must be an object.")
    elif name in ("project", "workspace", "privacy_notice"):
        if value is not None and not isinstance(value, str):
            bad("Must be a string.")
    elif name in ("study_labels", "content_warnings", "peripheral_requirements"):
        if not isinstance(value, list):
            bad("Must be a list.")
    elif name == "naivety_distribution_rate" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
        bad("A number between 0 and 1.")


def _check_codes(value: Any, bad) -> None:
    if not isinstance(value, list) or not value:
        bad("A non-empty list of {code, code_type, actions}.")
        return
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"completion_codes[{index}]"
        if not isinstance(item, dict):
            bad(f"{where} must be an object with code, code_type and actions.")
            continue
        code = item.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            bad(f"{where}.code must be 1-64 letters, digits, '_' or '-'.")
        elif code in seen:
            bad(f"{where}.code {code} is used twice.")
        else:
            seen.add(code)
        if item.get("code_type") not in CODE_TYPES:
            bad(f"{where}.code_type must be one of {', '.join(CODE_TYPES)}.")
        actions = item.get("actions")
        if not isinstance(actions, list) or any(not isinstance(a, dict) or a.get("action") not in CODE_ACTIONS for a in actions):
            bad(f"{where}.actions must be a list of {{\"action\": one of {', '.join(CODE_ACTIONS)}}}.")
        unknown = set(item) - {"code", "code_type", "actions", "actor"}
        if unknown:
            bad(f"{where} has unknown key(s) {', '.join(sorted(unknown))}.")


def _check_filters(value: Any, bad) -> None:
    if not isinstance(value, list):
        bad("A list of filters ([] means everyone).")
        return
    for index, item in enumerate(value):
        where = f"filters[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("filter_id"), str) or not item["filter_id"]:
            bad(f"{where} must be an object with a filter_id.")
            continue
        has_values = "selected_values" in item
        has_range = "selected_range" in item
        if has_values == has_range:
            bad(f"{where} needs exactly one of selected_values or selected_range.")
            continue
        if has_values and (not isinstance(item["selected_values"], list) or not all(isinstance(v, str) for v in item["selected_values"])):
            bad(f"{where}.selected_values must be a list of strings.")
        if has_range:
            rng = item["selected_range"]
            ok = isinstance(rng, dict) and set(rng) <= {"lower", "upper"} and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng.values()
            )
            if not ok:
                bad(f"{where}.selected_range must be {{\"lower\": number, \"upper\": number}}.")
        if item["filter_id"] == "previous_studies_blocklist" and not has_values:
            bad(f"{where}: previous_studies_blocklist takes selected_values (study ids).")
        if item["filter_id"] == "approval_rate" and not has_range:
            bad(f"{where}: approval_rate takes selected_range (percent).")


def _check_times(study: dict, errors: dict[str, list[str]]) -> None:
    est, maximum = study.get("estimated_completion_time"), study.get("maximum_allowed_time")
    if _whole(est, 1) and _whole(maximum, 1) and maximum < minimum_allowed_time(est):
        errors.setdefault("maximum_allowed_time", []).append(
            f"Must be at least {minimum_allowed_time(est)} minutes (2 + 2×{est} + 2×√{est}) for an estimated {est} minutes."
        )


def new_study(body: Any) -> dict:
    """The fields of a study to create, checked; raises one ApiError naming every problem."""
    body = _body(body)
    errors: dict[str, list[str]] = {}
    if "status" in body:
        errors["status"] = ["Never send status: use the study's transition endpoint."]
    for name in REQUIRED:
        if body.get(name) is None:
            errors.setdefault(name, []).append("This field is required.")
    for name, value in body.items():
        if name == "status":
            continue
        if name not in REQUIRED and name not in OPTIONAL:
            errors.setdefault(name, []).append("Unknown field.")
        elif value is not None:
            _check_field(name, value, errors)
    study = {name: body[name] for name in (*REQUIRED, *OPTIONAL) if body.get(name) is not None}
    _check_times(study, errors)
    if errors:
        raise ApiError(400, errors)
    study.setdefault("maximum_allowed_time", minimum_allowed_time(study["estimated_completion_time"]))
    study.setdefault("filters", [])
    study.setdefault("device_compatibility", list(DEVICES))
    study.setdefault("internal_name", None)
    return study


def study_patch(current: dict, published: bool, body: Any) -> dict:
    """The study after a PATCH, checked against the rules for drafts or for published studies."""
    body = _body(body)
    errors: dict[str, list[str]] = {}
    for name, value in body.items():
        if name == "status":
            errors[name] = ["Never send status: use the study's transition endpoint."]
        elif name not in REQUIRED and name not in OPTIONAL:
            errors[name] = ["Unknown field."]
        elif published and name not in AFTER_PUBLISH and value != current.get(name):
            errors[name] = [f"Cannot be changed after publishing (only {', '.join(AFTER_PUBLISH)} can)."]
        elif value is None and name in REQUIRED:
            errors[name] = ["This field may not be null."]
        elif value is not None:
            _check_field(name, value, errors)
    places = body.get("total_available_places")
    if published and _whole(places, 1) and places < current["total_available_places"]:
        errors.setdefault("total_available_places", []).append(
            f"A published study's places can only grow (now {current['total_available_places']})."
        )
    updated = {**current, **body}
    _check_times(updated, errors)
    if errors:
        raise ApiError(400, errors)
    return updated


def action(body: Any, allowed: tuple[str, ...]) -> str:
    body = _body(body)
    value = body.get("action")
    if value not in allowed:
        raise invalid("action", f"Must be one of {', '.join(allowed)}.")
    return value


def rejection(body: Any) -> tuple[str, str]:
    """(category, message) of a REJECT transition."""
    body = _body(body)
    errors: dict[str, list[str]] = {}
    message, category = body.get("message"), body.get("rejection_category")
    if not isinstance(message, str) or len(message.strip()) < MIN_REJECTION_MESSAGE:
        errors["message"] = [f"A rejection needs a message of at least {MIN_REJECTION_MESSAGE} characters."]
    if category not in REJECTION_CATEGORIES:
        errors["rejection_category"] = [f"Must be one of {', '.join(REJECTION_CATEGORIES)}."]
    if errors:
        raise ApiError(400, errors)
    return category, message


def submission_ids(body: Any) -> list[str]:
    body = _body(body)
    ids = body.get("submission_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise invalid("submission_ids", "A non-empty list of submission ids.")
    if len(ids) > MAX_BULK_APPROVE:
        raise invalid("submission_ids", f"At most {MAX_BULK_APPROVE} submissions per request ({len(ids)} given).")
    return list(dict.fromkeys(ids))


def cents_from_major(text: str) -> int:
    """A CSV amount in decimal major units ("1.50") as minor units (150); at most 2 decimals."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} must be more than 0")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{text!r} has more than 2 decimals")
    return int(cents)


def bonus_rows(body: Any) -> tuple[str, list[tuple[str, int]]]:
    """(study_id, [(participant_id, cents), ...]) of a bonus set-up."""
    body = _body(body)
    study_id, csv_text = body.get("study_id"), body.get("csv_bonuses")
    errors: dict[str, list[str]] = {}
    if not isinstance(study_id, str) or not study_id:
        errors["study_id"] = ["This field is required."]
    rows: list[tuple[str, int]] = []
    if not isinstance(csv_text, str) or not csv_text.strip():
        errors["csv_bonuses"] = ["Lines of <participant_id>,<amount in major units>."]
    else:
        lines = [line.strip() for line in csv_text.replace("\r\n", "\n").split("\n") if line.strip()]
        if len(lines) > MAX_BONUS_ROWS:
            errors["csv_bonuses"] = [f"At most {MAX_BONUS_ROWS} rows per set-up ({len(lines)} given)."]
        for number, line in enumerate(lines, 1):
            participant, sep, amount = line.partition(",")
            try:
                if not sep or not participant.strip() or "," in amount:
                    raise ValueError("must be <participant_id>,<amount>")
                rows.append((participant.strip(), cents_from_major(amount)))
            except ValueError as exc:
                errors.setdefault("csv_bonuses", []).append(f"Row {number}: {exc}.")
    if errors:
        raise ApiError(400, errors)
    return study_id, rows
