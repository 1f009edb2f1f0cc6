"""How each core setting's value is read and checked: one parser per kind of value.

A parser takes (value, setting name, experiment folder) and returns the value a `Settings` field
holds — money as Decimal, durations as whole seconds, lists as tuples — or raises `UsageError`
naming the setting. `settingspec.KEYS` says which parser each setting uses; `settings` layers the
sources and calls it. Kept apart from both so the declaration can name its parsers and `settings`
can import the declaration without a cycle.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import configvalues
from .configfile import MAX_NUMBER_DIGITS
from .durations import DurationError, format_duration, parse_duration
from .errors import UsageError
from .money import MoneyError, parse_amount

TARGETS = ("local", "sandbox", "live")
#: MTurk's limits (docs/localturk-validation.md, "MTurk's own rules").
MIN_LIFETIME = 30
MAX_LIFETIME = 365 * 86400
MAX_AUTO_APPROVE = 30 * 86400
TEXT_LIMITS = {"title": 128, "description": 2000, "keywords": 1000, "feedback": 1024}
#: Longest experiment page URL: the local MTurk's ExternalURL cap (MTurk appends assignmentId, hitId,
#: workerId and turkSubmitTo, and the whole must stay within what browsers accept, ~2,083); Prolific's
#: API documents no maximum for external_study_url, so the same cap serves both.
MAX_URL_LENGTH = 2_048
EXPERIMENT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LOOPBACK_NAMES = {"localhost"}


def plain(value: Any) -> Any:
    """invoke's DataProxy → plain dicts, so frozen Settings never alias invoke's live config."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def text(value: Any, name: str, folder: Path) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and name == "keywords":
        value = ", ".join(str(v).strip() for v in value)
    text = str(value).strip()
    limit = TEXT_LIMITS.get(name)
    if limit is not None and len(text) > limit:
        raise UsageError(f"{name} is {len(text)} characters long: MTurk allows at most {limit}")
    if name == "title" and value is not None and not text:
        raise UsageError("title is empty: workers choose HITs by their title")
    return text


def optional_text(value: Any, name: str, folder: Path) -> str | None:
    return text(value, name, folder) or None


def experiment(value: Any, name: str, folder: Path) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not EXPERIMENT_PATTERN.match(text):
        raise UsageError(
            f"experiment {text!r} is not a usable name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return text


def target(value: Any, name: str, folder: Path) -> str:
    text = str(value).strip().lower()
    if text not in TARGETS:
        raise UsageError(f"target {value!r} is not one of local, sandbox, live")
    return text


def endpoint(value: Any, name: str, folder: Path) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"endpoint_url {text!r} is not an http(s) URL: write for example http://127.0.0.1:8443")
    return text.rstrip("/")


def url(value: Any, name: str, folder: Path) -> str | None:
    """The experiment page: checked here, before any plan is stored, for what the platform would refuse
    or mangle — a space or control character (MTurk refuses the HIT, a browser cuts the link), a
    length past `MAX_URL_LENGTH`, a scheme other than http(s), a port that is not a number."""
    if value is None or str(value).strip() == "":
        return None
    import unicodedata  # not at the top: `babe --list` must stay light

    text = str(value).strip()
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(
            f"url is {len(text):,} characters long: at most {MAX_URL_LENGTH:,} (the platform adds its own "
            "parameters, and browsers cut longer links); shorten it"
        )
    bad = next((ch for ch in text if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise UsageError(
            f"url {text!r} contains {_character(bad)}: write it percent-encoded (a space is %20)"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise UsageError(f"url {text!r} is not a web address: write for example https://example.org/my-experiment/") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"url {text!r} is not a web address: write for example https://example.org/my-experiment/")
    return text


def _character(ch: str) -> str:
    import unicodedata

    name = unicodedata.name(ch, "")
    return f"a {name.lower() if name else 'control character'} (U+{ord(ch):04X})"


def check_url(url: str, target: str, source: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    where = "" if source.startswith("--") or source in ("url", "replace()") else f" (set by {source})"
    if target != "local":
        raise UsageError(f"url {url} is not HTTPS: target {target} needs an https:// page{where}")
    if not _is_loopback(parts.hostname or ""):
        raise UsageError(
            f"url {url} is not HTTPS: MTurk shows only https:// pages (http:// is allowed only for localhost "
            f"on target local){where}"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reward(value: Any, name: str, folder: Path) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise UsageError(f"reward {value!r} is not a dollar amount: write for example 0.50")
    if isinstance(value, float):
        value = repr(value)  # YAML's 0.50 arrives as 0.5: its shortest repr is what the lab typed
    try:
        return parse_amount(value, what="reward")
    except MoneyError as exc:
        raise UsageError(str(exc)) from None


def _integer(value: Any, name: str) -> int:
    """A whole number of at most `MAX_NUMBER_DIGITS` digits, judged before any conversion.

    Python refuses to convert numbers of more than 4,300 digits either way (a ValueError, not
    ours), and no setting needs more than 7: a longer one is refused by its length.
    """
    if isinstance(value, bool):
        raise UsageError(f"{name} {value!r} is not a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if abs(value) < 10**MAX_NUMBER_DIGITS:
            return value
        digits = int(value.bit_length() * 0.30103) + 1  # str(value) could itself be refused
        raise UsageError(f"{name} is a number of about {digits:,} digits: no setting takes a number that large")
    text = str(value).strip()
    if len(text) > MAX_NUMBER_DIGITS:
        raise UsageError(f"{name} {_shorten(text)} is {len(text):,} characters long: no setting takes a number that large")
    if not re.fullmatch(r"[+-]?\d+", text):
        raise UsageError(f"{name} {text!r} is not a whole number")
    return int(text)


def _shorten(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…{text[-6:]}"


def bounded(low: int, high: int | None, why: str = "") -> Callable[[Any, str, Path], int]:
    def parse(value: Any, name: str, folder: Path) -> int:
        number = _integer(value, name)
        if number < low or (high is not None and number > high):
            span = f"{low} or more" if high is None else f"{low} to {high}"
            raise UsageError(f"{name} {number} is out of range: use {span}{why}")
        return number

    return parse


def duration(low: int, high: int) -> Callable[[Any, str, Path], int]:
    allowed = f"{format_duration(low)} to {format_duration(high)}"

    def parse(value: Any, name: str, folder: Path) -> int:
        if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_DIGITS + 8:
            raise UsageError(f"{name} {_shorten(value.strip())} is too long for a duration: write for example 45m or 3d")
        try:
            seconds = parse_duration(value)
        except DurationError as exc:
            raise UsageError(f"{name} {exc}") from None
        shown = str(value).strip() if isinstance(value, str) else format_duration(seconds)
        if seconds < low:
            raise UsageError(f"{name} {shown} is too short: MTurk needs {allowed}")
        if seconds > high:
            raise UsageError(f"{name} {shown} is too long: MTurk allows {allowed}")
        return seconds

    return parse


def boolean(value: Any, name: str, folder: Path) -> bool:
    """`configvalues.TRUE_WORDS` / `FALSE_WORDS`, as every plugin section reads them; empty is false."""
    return configvalues.boolean(value, name)


def keywords(value: Any, name: str, folder: Path) -> str:
    """Comma-separated keywords (a YAML list is joined); unset is empty."""
    return text(value, name, folder) or ""


def optional_bounded(low: int, high: int | None, why: str = "") -> Callable[[Any, str, Path], int | None]:
    check = bounded(low, high, why)

    def parse(value: Any, name: str, folder: Path) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return check(value, name, folder)

    return parse


def optional_rate(value: Any, name: str, folder: Path) -> float | None:
    """A positive number of requests per second (fractions allowed: 0.5 is one every two seconds)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        rate = float(str(value).strip())
    except ValueError:
        rate = float("nan")
    if isinstance(value, bool) or not (0 < rate <= 10_000):
        raise UsageError(f"{name} {value!r} is not a rate: use a number of requests per second above 0, at most 10000")
    return rate


def locales(value: Any, name: str, folder: Path) -> tuple[str, ...]:
    from .qualifications import parse_locales

    return parse_locales(value)


def qualification_specs(value: Any, name: str, folder: Path) -> tuple[str, ...]:
    from .qualifications import parse_specs

    return parse_specs(value)


def experiments(value: Any, name: str, folder: Path) -> tuple[str, ...]:
    """Experiment names, comma-separated or a list; each checked like the `experiment` setting."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    names = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    return tuple(dict.fromkeys(experiment(part, "exclude_experiments", folder) for part in names))


def platform(value: Any, name: str, folder: Path) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", text):
        raise UsageError(f"platform {text!r} is not a platform name such as mturk")
    return text


def plugins(value: Any, name: str, folder: Path) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError("plugins must be a mapping: babe.plugins.<plugin name>.<key>: value")
    result = {}
    for plugin, options in value.items():
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise UsageError(f"plugins.{plugin} must be a mapping of that plugin's settings (key: value)")
        result[str(plugin)] = plain(options)
    return result


def path(value: Any, name: str, folder: Path) -> Path | None:
    if value is None or str(value).strip() == "":
        return None
    path = Path(str(value).strip()).expanduser()
    return path if path.is_absolute() else (folder / path).resolve()

