"""Human durations: what labs type for --lifetime, --duration and --auto-approve."""

from __future__ import annotations

import pytest

from babe_tasks.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90", 90),
        (90, 90),
        (0, 0),
        ("0s", 0),
        ("30s", 30),
        ("45m", 2700),
        ("2h", 7200),
        ("7d", 604800),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1d 12h", 129600),
        (" 2D ", 172800),
        ("365d", 31536000),
        (3600.0, 3600),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "2 days", "1.5h", "-5m", "h", "10x", "5m-", True, -1, 1.5])
def test_parse_duration_refuses_what_is_not_a_duration(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_the_refusal_says_what_to_write():
    with pytest.raises(DurationError, match=r"'soon' is not a duration: write for example 45m, 2h or 7d"):
        parse_duration("soon")


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s"), (30, "30s"), (2700, "45m"), (5400, "1h30m"), (604800, "7d"), (90061, "1d1h1m1s"), (31536000, "365d")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [1, 59, 61, 3599, 86399, 86401, 1234567])
def test_format_then_parse_is_exact(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
