"""The words and numbers a lab writes in settings, read the same way everywhere.

Core settings (`babe.*`, `BABE_*`) and every shipped plugin's section (`babe.plugins.<name>.*`)
read their booleans, seconds, durations and amounts here. Each of them once had its own set of
true/false words, and they drifted: `check_balance: ""` was refused by one plugin and meant false to
another. One set, one message per mistake, naming the setting (`where`) as the lab wrote it.

Every reader raises `UsageError` (exit 2, nothing done); None and empty text mean "not set" and
give the caller's default.
"""

from __future__ import annotations

import math
import os
from decimal import Decimal
from typing import Any

from .errors import UsageError

#: The only words that mean true and false, in any letter case (YAML's own booleans arrive as bool).
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def switched_on(variable: str) -> bool:
    """Whether an on/off environment variable (`BABE_DEBUG`, `BABE_TRACE_PLUGINS`, …) is one of `TRUE_WORDS`."""
    return os.environ.get(variable, "").strip().lower() in TRUE_WORDS


def is_unset(value: Any) -> bool:
    """None, or text that is empty once stripped: the setting was not given a value."""
    return value is None or (isinstance(value, str) and not value.strip())


def boolean(value: Any, where: str, default: bool = False) -> bool:
    """True or false from a YAML bool or one of `TRUE_WORDS` / `FALSE_WORDS`; unset is `default`."""
    if isinstance(value, bool):
        return value
    if is_unset(value):
        return default
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise UsageError(f"{where} {value!r} is not true or false")


def seconds(value: Any, where: str, high: float, default: float | None = None, why: str = "") -> float:
    """A number of seconds above 0 and at most `high` (fractions allowed; `3s` reads as 3); unset is `default`.

    For timeouts: a bool, NaN or infinity is not a number; one out of range is refused with the
    range and `why` (e.g. "so a slow Slack never holds a step up"), so the fix is in the message.
    """
    if default is not None and is_unset(value):
        return default
    text = str(value).strip().lower().removesuffix("s").strip()
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if isinstance(value, bool) or not math.isfinite(number):
        raise UsageError(f"{where} {value!r} is not a number of seconds: write for example 3")
    if not 0 < number <= high:
        raise UsageError(f"{where} is {value}: it must be more than 0 and at most {high:g} seconds{why}")
    return number


def amount(value: Any, where: str, *, allow_zero: bool = False, quoted: str = "") -> Decimal | None:
    """Money as Decimal (digits, at most two decimals, no currency sign); unset is None.

    `quoted` is how to write it in invoke.yaml (`daily: "400.00"`), added to the message: YAML
    reads an unquoted 0.50 as a float.
    """
    from .money import MoneyError, parse_amount

    if is_unset(value):
        return None
    if isinstance(value, bool):
        raise UsageError(f"{where} must be a dollar amount such as \"400.00\", not {value}")
    if isinstance(value, float):
        value = repr(value)  # YAML's 0.50 arrives as 0.5: its shortest repr is what the lab typed
    try:
        return parse_amount(str(value).strip(), what=where, allow_zero=allow_zero)
    except MoneyError as exc:
        raise UsageError(f"{exc}" + (f" (quote it in invoke.yaml: {quoted})" if quoted else "")) from None


def whole(value: Any, where: str, low: int, high: int, unit: str, example: int) -> int:
    """A whole number from `low` to `high` (an int, or digits as text) of `unit`s; `example` shows one."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise UsageError(f"{where} {value!r} is not a whole number of {unit} (e.g. {example})")
    number = int(value)
    if not low <= number <= high:
        raise UsageError(f"{where} {number} is out of range: {low} to {high} {unit}")
    return number
