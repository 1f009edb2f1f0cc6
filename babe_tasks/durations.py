"""Human durations (`2d`, `45m`, `1h30m`) to whole seconds and back.

MTurk counts in seconds, people in days and hours; every duration flag and setting goes through
here so `--lifetime 7d` and `lifetime: 604800` mean the same everywhere.
"""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^(?:\d+\s*[smhdw]\s*)+$")


class DurationError(ValueError):
    """Text that is not a duration; the message says what to write."""


def parse_duration(value: str | int) -> int:
    """Whole seconds from `90`, `90s`, `45m`, `2h`, `7d`, `1w` or sums such as `1h30m` / `1d 12h`.

    A bare number is seconds (what MTurk and `invoke.yaml` integers mean). Fractions and negative
    values are refused rather than rounded: a duration that is not what the lab typed is worse than
    an error.
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration: write for example 45m, 2h or 7d")
    if isinstance(value, int):
        if value < 0:
            raise DurationError(f"{value} is negative: durations are 0 or more")
        return value
    if isinstance(value, float):
        if value.is_integer() and value >= 0:
            return int(value)
        raise DurationError(f"{value!r} is not a whole number of seconds: write for example 45m, 2h or 7d")
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    if not text or not _WHOLE.match(text):
        raise DurationError(f"{str(value).strip()!r} is not a duration: write for example 45m, 2h or 7d (units s, m, h, d, w)")
    return sum(int(number) * UNITS[unit] for number, unit in _PART.findall(text))


def format_duration(seconds: int | float) -> str:
    """The shortest exact human form: 604800 → `7d`, 5400 → `1h30m`, 0 → `0s`."""
    remaining = int(seconds)
    if remaining <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = UNITS[unit]
        if remaining >= size:
            count, remaining = divmod(remaining, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)
