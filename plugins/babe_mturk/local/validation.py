"""Request validation: botocore's own MTurk service model, plus MTurk's documented rules.

botocore checks only required members, types and minimums before sending; Amazon's server checks
the rest (maximum lengths, patterns, enums, its own limits). A client must meet with the same
refusals here as there, or a lab would find its mistakes only in front of paid workers. The model
is read at run time from the installed botocore, never retyped, so it cannot drift from what boto3
sends; MTurk's own rules (docs/localturk-validation.md, "MTurk's own rules") are layered on top of it in the tables
below, and documented in docs/localturk-validation.md.

Every request pays for validation, so each operation's input shape is compiled once into nested
closures with precompiled regexes: checking a GetHIT body costs about a microsecond. A failure
raises `errors.ValidationError(member path, rule)`, e.g.
`QualificationRequirements[2].Comparator: must be one of LessThan, ...`; nothing a client sends can
make validation fail with anything else.
"""

from __future__ import annotations

import math
import re
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from babe_mturk.local import questions
from babe_mturk.local.errors import RequestError, ValidationError

API_VERSION = "2017-01-17"

Check = Callable[[Any], None]


class _Invalid(Exception):
    """A broken rule found inside the compiled checks; containers prepend their segment of the
    member path as it unwinds, so the happy path never builds a path at all."""

    __slots__ = ("rule", "path")

    def __init__(self, rule: str, path: list[str | int] | None = None):
        super().__init__(rule)
        self.rule = rule
        self.path = path or []


@dataclass(frozen=True)
class Rule:
    """One of MTurk's own constraints on a member, merged with the model's at compile time.

    `min`/`max` bound a string's or list's length, or a number's value, as the model's `min`/`max`
    do; the stricter of the two wins. `check` runs after the type and bounds are known good.
    """

    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    hint: str = ""
    check: Check | None = None
    #: Text a person reads (a bonus reason, a rejection's feedback) may not be empty where required.
    nonempty_if_required: bool = False
    #: Names of the structures whose member this rule constrains; None: wherever the member appears.
    within: frozenset[str] | None = None


# -- MTurk's own rules -----------------------------------------------------------------------

_CENT = Decimal("0.01")
_DAY = 86_400
_ID_PATTERN = "^[A-Z0-9]+$"


def _at_least_a_cent(value: str) -> None:
    if Decimal(value) < _CENT:
        raise _Invalid("must be at least 0.01")


def _question(value: str) -> None:
    try:
        questions.check_question(value)
    except questions.QuestionError as exc:
        raise _Invalid(str(exc)) from None


def _no_layouts(_value: Any) -> None:
    raise _Invalid(
        "is not supported by the local MTurk (HIT layouts live in Amazon's requester website): "
        "send the page as a Question (ExternalQuestion or HTMLQuestion) instead"
    )


def _layout_parameters(_value: Any) -> None:
    raise _Invalid("can only be used with HITLayoutId, which the local MTurk does not support")


_RULES: dict[str, Rule] = {
    "Title": Rule(min=1, max=128),
    "Description": Rule(min=1, max=2_000),
    "Keywords": Rule(max=1_000),
    "RequesterAnnotation": Rule(max=255),
    "Question": Rule(min=1, check=_question),
    "LifetimeInSeconds": Rule(min=30, max=365 * _DAY, hint="30 seconds to 365 days"),
    "AssignmentDurationInSeconds": Rule(min=30, max=365 * _DAY, hint="30 seconds to 365 days"),
    "AutoApprovalDelayInSeconds": Rule(min=0, max=30 * _DAY, hint="0 to 30 days"),
    "MaxAssignments": Rule(min=1, max=1_000_000),
    "NumberOfAdditionalAssignments": Rule(min=1, max=1_000_000),
    "Reward": Rule(check=_at_least_a_cent),
    "BonusAmount": Rule(check=_at_least_a_cent),
    "QualificationRequirements": Rule(max=10),
    "QualificationTypeId": Rule(min=1, max=64, pattern=_ID_PATTERN, within=frozenset({"QualificationRequirement"})),
    "Country": Rule(pattern="^[A-Z]{2}$", hint="an ISO 3166-1 alpha-2 code in capitals, e.g. US", within=frozenset({"Locale"})),
    "Subdivision": Rule(pattern="^[A-Z]{2}$", hint="an ISO 3166-2 subdivision code in capitals, e.g. WA", within=frozenset({"Locale"})),
    # Required by RejectAssignment, yet Amazon accepts it empty (psiTurk always sends '').
    "RequesterFeedback": Rule(max=1_024),
    "Reason": Rule(max=1_024, nonempty_if_required=True),
    "WorkerIds": Rule(min=1, max=100),
    "Subject": Rule(min=1, max=200),
    "MessageText": Rule(min=1, max=4_096),
    "ExpireAt": Rule(min=0),
    "HITLayoutId": Rule(check=_no_layouts),
    "HITLayoutParameters": Rule(check=_layout_parameters),
}

_ORDERED = frozenset({"LessThan", "LessThanOrEqualTo", "GreaterThan", "GreaterThanOrEqualTo"})
_EQUALITY = frozenset({"EqualTo", "NotEqualTo"})
_PRESENCE = frozenset({"Exists", "DoesNotExist"})
#: In/NotIn take at most 15 integers or 30 locales (MTurk's QualificationRequirement docs).
_MAX_SET_VALUES = {"IntegerValues": 15, "LocaleValues": 30}


def _requirement(req: dict) -> None:
    """Which values each comparator takes (the model allows any combination; MTurk does not)."""
    comparator = req["Comparator"]
    ints = req.get("IntegerValues") or ()
    locales = req.get("LocaleValues") or ()
    if ints and locales:
        raise _Invalid("cannot be used together with IntegerValues", ["LocaleValues"])
    member = "LocaleValues" if locales else "IntegerValues"
    count = len(ints) + len(locales)
    if comparator in _PRESENCE:
        if count:
            raise _Invalid(f"must be empty for Comparator {comparator}", [member])
    elif comparator in _ORDERED:
        if locales:
            raise _Invalid(f"cannot be used with Comparator {comparator} (it compares one IntegerValue)", [member])
        if count != 1:
            raise _Invalid(f"must hold exactly one value for Comparator {comparator}", [member])
    elif comparator in _EQUALITY:
        if count != 1:
            raise _Invalid(
                f"must hold exactly one value for Comparator {comparator} (one IntegerValue or one LocaleValue)", [member]
            )
    elif not 1 <= count <= _MAX_SET_VALUES[member]:  # In, NotIn
        raise _Invalid(f"must hold 1 to {_MAX_SET_VALUES[member]} values for Comparator {comparator}", [member])


def _question_or_layout(params: dict) -> None:
    if "Question" not in params and "HITLayoutId" not in params:
        raise _Invalid("is required (the page, as an ExternalQuestion, HTMLQuestion or QuestionForm)", ["Question"])


def _hit_or_assignment(params: dict) -> None:
    if "HITId" not in params and "AssignmentId" not in params:
        raise _Invalid("is required (ListBonusPayments needs a HITId or an AssignmentId)", ["HITId"])
    if "HITId" in params and "AssignmentId" in params:
        raise _Invalid("cannot be used together with HITId: give one of them", ["AssignmentId"])


#: Rules across the members of one structure, by the structure's shape name in the model.
_STRUCTURE_RULES: dict[str, Check] = {
    "QualificationRequirement": _requirement,
    "CreateHITRequest": _question_or_layout,
    "CreateHITWithHITTypeRequest": _question_or_layout,
    "ListBonusPaymentsRequest": _hit_or_assignment,
}


# -- compiling the model into checks ---------------------------------------------------------

_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _bounds(metadata: dict, rule: Rule | None) -> tuple[int | None, int | None]:
    low, high = metadata.get("min"), metadata.get("max")
    if rule is not None:
        if rule.min is not None:
            low = rule.min if low is None else max(low, rule.min)
        if rule.max is not None:
            high = rule.max if high is None else min(high, rule.max)
    return low, high


def _hint(rule: Rule | None) -> str:
    return f" ({rule.hint})" if rule is not None and rule.hint else ""


def _valid_unicode(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("must be valid Unicode text (it holds a lone surrogate)") from None


class _Compiler:
    """Turns botocore shapes into checks; structures are shared by shape name."""

    def __init__(self) -> None:
        self._structures: dict[str, Check] = {}

    def compile(self, shape, rule: Rule | None = None, required: bool = False, title: str | None = None) -> Check:
        kind = shape.type_name
        if kind == "structure":
            if rule is not None:
                raise TypeError(f"MTurk rules apply to the members of {shape.name}, not to the structure itself")
            if title is not None:
                return self._structure(shape, title)
            if shape.name not in self._structures:
                self._structures[shape.name] = self._structure(shape, shape.name)
            return self._structures[shape.name]
        if kind == "list":
            return self._list(shape, rule)
        if kind == "string":
            return self._string(shape, rule, required)
        if kind in _INT_RANGES:
            return self._integer(shape, rule)
        if kind == "boolean":
            return _boolean
        if kind == "timestamp":
            return self._timestamp(shape, rule)
        # The 2017-01-17 input shapes use no maps, blobs or floats; a new botocore that adds them
        # must fail loudly here (and in the tests), not let them through unchecked.
        raise TypeError(f"the MTurk model has a {kind} shape ({shape.name}) this validator cannot check")

    def _structure(self, shape, title: str) -> Check:
        required = tuple(shape.required_members)
        members: dict[str, Check] = {}
        for name, member_shape in shape.members.items():
            rule = _RULES.get(name)
            if rule is not None and rule.within is not None and shape.name not in rule.within:
                rule = None
            members[name] = self.compile(member_shape, rule, name in required)
        known = f"its members: {', '.join(members)}" if members else "it takes no members"
        unknown = f"is not a member of {title} ({known})"
        extra = _STRUCTURE_RULES.get(shape.name)

        def check_structure(value: Any) -> None:
            if type(value) is not dict:
                raise _Invalid("must be an object")
            for name in required:
                if name not in value:
                    raise _Invalid("is required", [name])
            for name, item in value.items():
                check = members.get(name)
                if check is None:
                    raise _Invalid(unknown, [name])
                try:
                    check(item)
                except _Invalid as problem:
                    problem.path.insert(0, name)
                    raise
                except Exception as exc:  # a body shaped like nothing foreseen is still a 400
                    raise _Invalid(f"could not be read ({type(exc).__name__})", [name]) from exc
            if extra is not None:
                extra(value)

        return check_structure

    def _list(self, shape, rule: Rule | None) -> Check:
        item_check = self.compile(shape.member)
        low, high = _bounds(shape.metadata, rule)
        low, high = low or 0, sys.maxsize if high is None else high
        too_few = f"must hold at least {low} item{'s' if low != 1 else ''}"
        too_many = f"must hold at most {high} items"
        extra = rule.check if rule is not None else None

        def check_list(value: Any) -> None:
            if type(value) is not list:
                raise _Invalid("must be a list")
            if not low <= len(value) <= high:
                raise _Invalid(too_few if len(value) < low else too_many)
            for index, item in enumerate(value):
                try:
                    item_check(item)
                except _Invalid as problem:
                    problem.path.insert(0, index)
                    raise
                except Exception as exc:
                    raise _Invalid(f"could not be read ({type(exc).__name__})", [index]) from exc
            if extra is not None:
                extra(value)

        return check_list

    def _string(self, shape, rule: Rule | None, required: bool) -> Check:
        metadata = shape.metadata
        low, high = _bounds(metadata, rule)
        if rule is not None and rule.nonempty_if_required and required:
            low = max(low or 0, 1)
        low, high = low or 0, sys.maxsize if high is None else high
        too_short = "must not be empty" if low == 1 else f"must be at least {low} characters"
        too_long = f"must be at most {high} characters"
        pattern = metadata.get("pattern") or (rule.pattern if rule is not None else None)
        match = re.compile(pattern).fullmatch if pattern else None
        mismatch = f"must match {pattern}{_hint(rule)}"
        enum = frozenset(metadata["enum"]) if metadata.get("enum") else None
        not_in_enum = f"must be one of {', '.join(metadata.get('enum', ()))}"
        # A pattern or an enum admits ASCII only; other text may carry a lone surrogate from JSON.
        free_text = match is None and enum is None
        extra = rule.check if rule is not None else None

        def check_string(value: Any) -> None:
            if not isinstance(value, str):
                raise _Invalid("must be a string")
            if not low <= len(value) <= high:
                raise _Invalid(too_short if len(value) < low else too_long)
            if enum is not None and value not in enum:
                raise _Invalid(not_in_enum)
            if match is not None and match(value) is None:
                raise _Invalid(mismatch)
            if free_text and not value.isascii():
                _valid_unicode(value)
            if extra is not None:
                extra(value)

        return check_string

    def _integer(self, shape, rule: Rule | None) -> Check:
        low, high = _bounds(shape.metadata, rule)
        type_low, type_high = _INT_RANGES[shape.type_name]
        if low is not None and high is not None:
            below = above = f"must be between {low} and {high}{_hint(rule)}"
        else:
            below = f"must be at least {low}{_hint(rule)}" if low is not None else f"must be at least {type_low}"
            above = f"must be at most {high}{_hint(rule)}" if high is not None else f"must be at most {type_high}"
        low = type_low if low is None else max(low, type_low)
        high = type_high if high is None else min(high, type_high)
        extra = rule.check if rule is not None else None

        def check_integer(value: Any) -> None:
            if type(value) is not int:  # bool is a subclass of int, and is refused here too
                raise _Invalid("must be an integer")
            if value < low:
                raise _Invalid(below)
            if value > high:
                raise _Invalid(above)
            if extra is not None:
                extra(value)

        return check_integer

    def _timestamp(self, shape, rule: Rule | None) -> Check:
        """Timestamps travel as epoch seconds in MTurk's JSON protocol, possibly fractional."""
        low, high = _bounds(shape.metadata, rule)
        extra = rule.check if rule is not None else None

        def check_timestamp(value: Any) -> None:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise _Invalid("must be a number of seconds since the epoch")
            if low is not None and value < low:
                raise _Invalid(f"must be at least {low}{_hint(rule)}")
            if high is not None and value > high:
                raise _Invalid(f"must be at most {high}{_hint(rule)}")
            if extra is not None:
                extra(value)

        return check_timestamp


def _boolean(value: Any) -> None:
    if type(value) is not bool:
        raise _Invalid("must be a boolean (true or false)")


# -- the entry point -------------------------------------------------------------------------

_VALIDATORS: dict[str, Check] = {}
_lock = threading.Lock()
_model = None


def service_model():
    """botocore's MTurk service model, loaded once."""
    global _model
    if _model is None:
        import botocore.session

        _model = botocore.session.get_session().get_service_model("mturk", api_version=API_VERSION)
    return _model


def operations() -> list[str]:
    """Every operation of the requester API, as the installed botocore knows them."""
    return list(service_model().operation_names)


def validator(operation: str) -> Check:
    """The compiled check for one operation (built on first use, then shared by every thread)."""
    check = _VALIDATORS.get(operation)
    if check is None:
        with _lock:
            check = _VALIDATORS.get(operation)
            if check is None:
                model = service_model()
                if operation not in model.operation_names:
                    raise RequestError(f"{operation} is not an operation of the MTurk API {API_VERSION}.", "UnknownOperation")
                check = _Compiler().compile(model.operation_model(operation).input_shape, title=operation)
                _VALIDATORS[operation] = check
    return check


def compile_all() -> None:
    """Build every operation's check now, e.g. before a server starts taking requests."""
    for name in operations():
        validator(name)


def validate(operation: str, params: dict) -> None:
    """Refuse a request that breaks the service model or MTurk's rules (`ValidationError`)."""
    check = _VALIDATORS.get(operation) or validator(operation)
    try:
        check(params)
    except _Invalid as problem:
        raise ValidationError(_member_path(problem.path), problem.rule) from None
    except Exception as exc:  # a rule across members that met a body nobody foresaw: still a 400
        raise ValidationError("Request", f"could not be read ({type(exc).__name__})") from exc


def _member_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        if type(part) is int:
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "Request"
