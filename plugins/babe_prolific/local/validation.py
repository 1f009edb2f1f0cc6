"""Prolific's rules for what a researcher may send, checked before anything is stored.

A request is either applied whole or refused whole with every problem named per field (the real
API's `{"field": ["message"]}` detail), so a client never leaves half a study behind. Everything
the published CreateStudy documents is accepted (free-text code types, researcher codes, custom
screening, the deprecated eligibility requirements...) and what it does not document is ignored, as
Prolific ignores it; the spec's types and enums are checked by conformance.py's table before a
handler runs. What stays here are Prolific's business rules: rewards in integer minor units, a
maximum allowed time of at least 2 + 2·est + 2·√est minutes, unique completion codes (a null code
only as the one participant code without actions), what may change after publishing, rejection
messages of 100+ characters with a known category, bulk approvals of at most 1000, bonus CSVs of at
most 200 rows in decimal major units.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError, invalid

REQUIRED = (
    "name",
    "description",
    "prolific_id_option",
    "total_available_places",
    "estimated_completion_time",
    "reward",
    "completion_codes",
)
#: Everything else CreateStudy (BaseStudy) documents, plus `eligibility_requirements` (deprecated,
#: still accepted by Prolific) and `workspace`/`privacy_notice` (sent by real clients, undocumented).
#: `external_study_url` is required unless `access_details` (a taskflow study) stands in for it.
OPTIONAL = (
    "external_study_url",
    "internal_name",
    "maximum_allowed_time",
    "device_compatibility",
    "peripheral_requirements",
    "is_custom_screening",
    "filters",
    "filter_set_id",
    "filter_set_version",
    "naivety_distribution_rate",
    "project",
    "submissions_config",
    "study_labels",
    "content_warnings",
    "content_warning_details",
    "metadata",
    "access_details",
    "eligibility_requirements",
    "workspace",
    "privacy_notice",
)
#: What may still change once a study is published (the spec's list; more places only), and
#: `submissions_config`, which Prolific's web app lets a researcher change on a live study.
AFTER_PUBLISH = ("internal_name", "total_available_places", "access_details", "submissions_config")

PROLIFIC_ID_OPTIONS = ("question", "url_parameters", "not_required")
#: The code types the spec names; any other free text is accepted too (the spec's own wording).
CODE_TYPES = (
    "COMPLETED",
    "FAILED_ATTENTION_CHECK",
    "FOLLOW_UP_STUDY",
    "GIVE_BONUS",
    "INCOMPATIBLE_DEVICE",
    "NO_CONSENT",
    "OTHER",
)
CODE_ACTIONS = (
    "MANUALLY_REVIEW",
    "AUTOMATICALLY_APPROVE",
    "REQUEST_RETURN",
    "ADD_TO_PARTICIPANT_GROUP",
    "REMOVE_FROM_PARTICIPANT_GROUP",
    "DYNAMIC_PAYMENT",
)
ACTORS = ("participant", "researcher")
DEVICES = ("desktop", "tablet", "mobile")
PERIPHERALS = ("audio", "camera", "download", "microphone")
STUDY_LABELS = ("survey", "writing_task", "annotation", "interview", "other")
CONTENT_WARNINGS = ("sensitive", "explicit")
#: Members that are lists of values from one of these.
LISTS_OF = {
    "device_compatibility": DEVICES,
    "peripheral_requirements": PERIPHERALS,
    "study_labels": STUDY_LABELS,
    "content_warnings": CONTENT_WARNINGS,
}
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


def minimum_allowed_time(estimated: int) -> int:
    """The smallest maximum_allowed_time Prolific accepts: 2 + 2·est + 2·√est, rounded up."""
    return math.ceil(2 + 2 * estimated + 2 * math.sqrt(estimated))


def _body(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _strings(value: Any, allowed: tuple[str, ...] | None = None) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and (allowed is None or v in allowed) for v in value)


def _check_field(name: str, value: Any, errors: dict[str, list[str]]) -> None:
    def bad(message: str) -> None:
        errors.setdefault(name, []).append(message)

    if name in ("name", "description"):
        if not isinstance(value, str) or not value.strip():
            bad("This field may not be blank.")
        elif name == "name" and len(value) > 200:
            bad("Ensure this field has no more than 200 characters.")
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
    elif name in ("estimated_completion_time", "maximum_allowed_time"):
        if not _whole(value, 1):
            bad("A whole number of minutes, 1 or more.")
    elif name == "reward":
        if not _whole(value, 1):
            bad("The reward is a whole number of the account's minor unit (cents or pence), 1 or more.")
    elif name == "completion_codes":
        _check_codes(value, bad)
    elif name in LISTS_OF:
        if not _strings(value, LISTS_OF[name]):  # [] too: spec-generated clients send it for "unset"
            bad(f"A list of {', '.join(LISTS_OF[name])}.")
    elif name == "is_custom_screening":
        if not isinstance(value, bool):
            bad("Must be a boolean.")
    elif name == "filters":
        _check_filters(value, bad)
    elif name == "submissions_config":
        if not isinstance(value, dict):
            bad("Must be an object.")
        else:
            for key in ("max_submissions_per_participant", "max_concurrent_submissions"):
                if value.get(key) is not None and not _whole(value[key], -1):
                    bad(f"{key} must be a whole number.")
    elif name == "filter_set_version":
        if not _whole(value, 0):
            bad("A whole number.")
    elif name in ("internal_name", "project", "workspace", "privacy_notice", "filter_set_id", "metadata", "content_warning_details"):
        if not isinstance(value, str):
            bad("Must be a string.")
    elif name == "naivety_distribution_rate":
        if not _number(value) or not 0 <= value <= 1:
            bad("A number between 0 and 1.")
    elif name == "access_details":
        if not isinstance(value, list) or any(
            not isinstance(item, dict) or not isinstance(item.get("external_url"), str) or not _whole(item.get("total_allocation"), 1)
            for item in value
        ):
            bad("A list of {external_url, total_allocation}.")
    elif name == "eligibility_requirements":
        if not isinstance(value, list):
            bad("Must be a list (deprecated: use filters).")


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
        code, actor, actions = item.get("code"), item.get("actor", "participant"), item.get("actions")
        if actor not in ACTORS:
            bad(f"{where}.actor must be one of {', '.join(ACTORS)}.")
        if "code" not in item:
            bad(f"{where}.code is required (null for a participant code with no actions).")
        elif code is None:
            others = [c for c in value if c is not item and isinstance(c, dict) and c.get("actor", "participant") == "participant"]
            if actor != "participant" or actions or others:
                bad(f"{where}.code may be null only for the study's one participant code, with no actions.")
        elif not isinstance(code, str) or not code.strip():
            bad(f"{where}.code must be a non-empty string.")
        elif code in seen:
            bad(f"{where}.code {code} is used twice.")
        else:
            seen.add(code)
        if not isinstance(item.get("code_type"), str) or not item["code_type"].strip():
            bad(f"{where}.code_type must be a name: one of {', '.join(CODE_TYPES)} or any other text.")
        if not isinstance(actions, list):
            bad(f"{where}.actions must be a list.")
            continue
        for number, act in enumerate(actions):
            kind = act.get("action") if isinstance(act, dict) else None
            if kind not in CODE_ACTIONS:
                bad(f"{where}.actions[{number}] must be {{\"action\": one of {', '.join(CODE_ACTIONS)}}}.")
            elif kind in ("ADD_TO_PARTICIPANT_GROUP", "REMOVE_FROM_PARTICIPANT_GROUP") and not isinstance(act.get("participant_group"), str):
                bad(f"{where}.actions[{number}] ({kind}) needs a participant_group id.")
            elif kind == "REQUEST_RETURN" and not isinstance(act.get("return_reason"), str):
                bad(f"{where}.actions[{number}] (REQUEST_RETURN) needs a return_reason.")


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
        if has_values and not _strings(item["selected_values"]):
            bad(f"{where}.selected_values must be a list of strings.")
        if has_range:
            rng = item["selected_range"]
            ok = isinstance(rng, dict) and all(_number(v) or isinstance(v, str) or v is None for v in rng.values())
            if not ok:
                bad(f"{where}.selected_range must be {{\"lower\": ..., \"upper\": ...}} (numbers or strings).")
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


def _check_url_or_access(study: dict, errors: dict[str, list[str]]) -> None:
    if study.get("external_study_url") is None and not study.get("access_details"):
        errors.setdefault("external_study_url", []).append("This field is required (or access_details, for a taskflow study).")


def new_study(body: Any) -> dict:
    """The fields of a study to create, checked; raises one ApiError naming every problem.

    Fields CreateStudy does not document (read-only ones such as `status` among them) are
    ignored, as Prolific's API ignores them, never stored.
    """
    body = _body(body)
    errors: dict[str, list[str]] = {}
    for name in REQUIRED:
        if body.get(name) is None:
            errors.setdefault(name, []).append("This field is required.")
    for name in (*REQUIRED, *OPTIONAL):
        if body.get(name) is not None:
            _check_field(name, body[name], errors)
    study = {name: body[name] for name in (*REQUIRED, *OPTIONAL) if body.get(name) is not None}
    _check_times(study, errors)
    _check_url_or_access(study, errors)
    if errors:
        raise ApiError(400, errors)
    study.setdefault("maximum_allowed_time", minimum_allowed_time(study["estimated_completion_time"]))
    study.setdefault("filters", [])
    study.setdefault("device_compatibility", list(DEVICES))
    study.setdefault("peripheral_requirements", [])
    study.setdefault("is_custom_screening", False)
    study.setdefault("internal_name", None)
    return study


def study_patch(current: dict, published: bool, body: Any) -> dict:
    """The study after a PATCH, checked against the rules for drafts or for published studies."""
    body = {k: v for k, v in _body(body).items() if k in REQUIRED or k in OPTIONAL}
    errors: dict[str, list[str]] = {}
    for name, value in body.items():
        if published and name not in AFTER_PUBLISH and value != current.get(name):
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
    updated = {k: v for k, v in {**current, **body}.items() if v is not None or k == "internal_name"}
    _check_times(updated, errors)
    _check_url_or_access(updated, errors)
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


def _ids(body: dict, key: str) -> list[str]:
    ids = body.get(key)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise invalid(key, "A non-empty list of ids.")
    if len(ids) > MAX_BULK_APPROVE:
        raise invalid(key, f"At most {MAX_BULK_APPROVE} per request ({len(ids)} given).")
    return list(dict.fromkeys(ids))


def submission_ids(body: Any) -> list[str]:
    """The `submission_ids` of a request (bulk screen-out, the screen-out calculator)."""
    return _ids(_body(body), "submission_ids")


def bulk_approval(body: Any) -> tuple[str | None, list[str]]:
    """(None, submission ids) or (study id, participant ids): the two forms bulk-approve takes."""
    body = _body(body)
    if "submission_ids" in body:
        if "participant_ids" in body or "study_id" in body:
            raise ApiError(400, "Send either submission_ids, or study_id with participant_ids, not both.")
        return None, _ids(body, "submission_ids")
    study_id = body.get("study_id")
    if not isinstance(study_id, str) or not study_id:
        raise ApiError(400, {"submission_ids": ["Send submission_ids, or study_id with participant_ids."]})
    return study_id, _ids(body, "participant_ids")


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
    """(study_id, [(participant or submission id, cents), ...]) of a bonus set-up."""
    body = _body(body)
    study_id, csv_text = body.get("study_id"), body.get("csv_bonuses")
    errors: dict[str, list[str]] = {}
    if not isinstance(study_id, str) or not study_id:
        errors["study_id"] = ["This field is required."]
    rows: list[tuple[str, int]] = []
    if not isinstance(csv_text, str) or not csv_text.strip():
        errors["csv_bonuses"] = ["Lines of <participant_id or submission_id>,<amount in major units>."]
    else:
        lines = [line.strip() for line in csv_text.replace("\r\n", "\n").split("\n") if line.strip()]
        if len(lines) > MAX_BONUS_ROWS:
            errors["csv_bonuses"] = [f"At most {MAX_BONUS_ROWS} rows per set-up ({len(lines)} given)."]
        for number, line in enumerate(lines, 1):
            participant, sep, amount = line.partition(",")
            try:
                if not sep or not participant.strip() or "," in amount:
                    raise ValueError("must be <participant_id or submission_id>,<amount>")
                rows.append((participant.strip(), cents_from_major(amount)))
            except ValueError as exc:
                errors.setdefault("csv_bonuses", []).append(f"Row {number}: {exc}.")
    if errors:
        raise ApiError(400, errors)
    return study_id, rows
