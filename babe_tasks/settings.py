"""One validated `Settings` object per run, built from invoke's layers plus our environment variables.

Layers, lowest first: the defaults below (also installed as the collection's configuration) → the
`babe:` section of the experiment folder's `invoke.yaml` (and invoke's other config files) →
`BABE_<KEY>` environment variables → task flags whose value is not None. Everything is checked here,
once, before any step runs, so a bad value is refused with one line that names the setting, where it
came from and the fix — and nothing has been spent.

The environment variables are ours, not invoke's `INVOKE_BABE_*`: they must mean the same under
`babe` and `invoke`, and read naturally in a lab's shell scripts.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import configfile, folders
from .configfile import check_config_file, check_sections
from .durations import DurationError, format_duration, parse_duration
from .errors import UsageError, did_you_mean
from .money import MoneyError, parse_amount

TARGETS = ("local", "sandbox", "live")
#: MTurk's limits (reference/mturk-api.md, "Semantics that matter").
MIN_LIFETIME = 30
MAX_LIFETIME = 365 * 86400
MAX_AUTO_APPROVE = 30 * 86400
TEXT_LIMITS = {"title": 128, "description": 2000, "keywords": 1000, "feedback": 1024}
#: Longest experiment page URL: the local MTurk's ExternalURL cap (MTurk appends assignmentId, hitId,
#: workerId and turkSubmitTo, and the whole must stay within what browsers accept, ~2,083); Prolific's
#: API documents no maximum for external_study_url, so the same cap serves both.
MAX_URL_LENGTH = 2_048
#: Longest number any setting accepts, in digits (assignments is at most 1,000,000); the file check
#: (`configfile`) refuses longer numbers in invoke.yaml with their line.
MAX_NUMBER_DIGITS = configfile.MAX_NUMBER_DIGITS
EXPERIMENT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class Key:
    """One setting as the user meets it: its `invoke.yaml` key, env var, flag, default and meaning."""

    name: str
    default: Any
    meaning: str
    example: str = ""
    env: bool = True
    has_flag: bool = True
    #: The flag's name when it is not the key's: a list setting takes one item per repeated flag
    #: (`qualifications` ← `--qualification A --qualification B`).
    flag_name: str | None = None

    @property
    def env_var(self) -> str | None:
        return f"BABE_{self.name.upper()}" if self.env else None

    @property
    def flag(self) -> str | None:
        if not self.has_flag:
            return None
        return self.flag_name or key_flag(self.name)


#: Every setting, in the order the docs and `babe init`'s invoke.yaml show them.
KEYS: tuple[Key, ...] = (
    Key("experiment", None, "Name of the experiment, written into every HIT's RequesterAnnotation and idempotency "
        "token; letters, digits, '.', '_', '-', at most 64. Default: the experiment folder's name.", "my-experiment"),
    Key("target", "local", "Where HITs go: local (the platform's local server, e.g. the embedded MTurk: no money, "
        "no credentials), sandbox (MTurk), or live (real money).", "sandbox"),
    Key("endpoint_url", None, "Any server speaking the platform's API (e.g. `babe local.serve` for MTurk); the "
        "target still decides the Masters id, the preview host and the deployMethod preflight expects.",
        "http://127.0.0.1:8443"),
    Key("profile", None, "AWS profile for sandbox and live (standard boto3 credential chain otherwise).", "lab"),
    Key("url", None, "The experiment page workers open (HTTPS; http://localhost is allowed on target local).",
        "https://example.org/my-experiment/"),
    Key("title", None, "Title shown to workers (the HIT's; the study's on Prolific), at most 128 characters.",
        "A 10-minute language study"),
    Key("description", None, "Description shown to workers (the HIT's; the study's on Prolific), at most 2000 "
        "characters.", "Read sentences and answer questions."),
    Key("keywords", "", "Comma-separated search keywords, at most 1000 characters.", "language, psychology"),
    Key("reward", None, "Reward per assignment in the platform's currency (dollars on MTurk): digits with at "
        "most two decimals, no currency sign (quote it in YAML).", "0.50"),
    Key("assignments", 1, "Total number of assignments (participants) to post.", "20"),
    Key("batch_size", 9, "Assignments per HIT: N assignments become ceil(N/batch_size) HITs of one HIT type. "
        "9 avoids MTurk's 20% surcharge on HITs with 10 or more assignments. On Prolific one study holds every "
        "place.", "9"),
    Key("lifetime", "7d", "How long the HITs stay open to workers (30s to 365d; s, m, h, d, w). Not used on "
        "Prolific: a study runs until stopped or full.", "3d"),
    Key("duration", "1h", "Time a worker has to finish one assignment (30s to 365d).", "45m"),
    Key("auto_approve", "3d", "Delay after submission before MTurk approves an assignment by itself (0s to 30d).",
        "2d"),
    Key("frame_height", 0, "ExternalQuestion frame height in pixels; 0 fits the worker's window.", "0"),
    Key("feedback", None, "Message to workers sent with approvals, at most 1024 characters.",
        "Thank you for taking part!"),
    Key("max_concurrency", 16, "Most MTurk requests in flight at once for bulk steps (approve, reject, bonus, "
        "status, expire), 1 to 64.", "16"),
    Key("max_requests_per_second", None, "Hard ceiling on MTurk requests per second across all threads of a step "
        "(retries included); none by default: botocore's adaptive retry mode already slows down when throttled.",
        "20", has_flag=False),
    Key("platform", "mturk", "Recruiting platform, provided by a plugin through babe_platform; mturk is built in, "
        "prolific is a plugin (docs/platforms.md).",
        "mturk"),
    Key("strict_plugins", False, "Make a plugin that fails to import or configure fatal (exit 2) instead of a "
        "warning.", "true"),
    Key("plugins", {}, "Per-plugin settings: babe.plugins.<plugin name>.<key>. Not read from the environment; "
        "BABE_PLUGINS / BABE_DISABLE_PLUGINS select plugins instead. Secrets never go here.", "", env=False, has_flag=False),
    Key("locale", None, "Workers' locations (MTurk's Locale qualification): ISO 3166 country codes, or country-"
        "subdivision (US-NY), comma-separated or a YAML list; one value requires EqualTo, several In (at most 30).",
        "US,CA"),
    Key("min_approval", None, "Lowest share of a worker's assignments that requesters approved, in percent (0 to "
        "100; MTurk's PercentAssignmentsApproved).", "95"),
    Key("min_approved", None, "Fewest approved HITs a worker must have (MTurk's NumberHITsApproved).", "500"),
    Key("masters", False, "Require Masters (the target's Masters id: live and sandbox differ); MTurk charges 5% of "
        "the reward more.", "true"),
    Key("qualifications", None, "More QualificationRequirements as ID:Comparator:Values (Values comma-separated; "
        "none for Exists/DoesNotExist). A YAML list, or `;`-separated in the environment. At most 10 requirements "
        "per HIT, with those above.", "00000000000000000060:EqualTo:1", flag_name="--qualification"),
    Key("allow_repeat_workers", False, "Let one worker take several HITs of the experiment. By default create "
        "requires DoesNotExist on the experiment's own qualification type, granted to every worker status and "
        "approve see, and approve holds all but a repeat worker's first assignment.", "true"),
    Key("exclude_previous", False, "Keep out every worker of earlier experiments (those named by "
        "exclude_experiments, default all earlier ones in the ledger): create grants them this experiment's "
        "qualification type before posting.", "true"),
    Key("exclude_experiments", None, "The earlier experiments whose workers exclude_previous keeps out "
        "(comma-separated or a YAML list); naming any turns exclude_previous on.", "pilot-1,pilot-2",
        flag_name="--exclude-experiment"),
    Key("local_state", None, "SQLite file of the local MTurk (shared by every experiment of the user). Default: "
        "the user's data directory. The local.* tasks take it as --state.", "~/localturk.sqlite", has_flag=False),
)
KEY_BY_NAME = {key.name: key for key in KEYS}
#: Per-invocation switches (on when given): never read from files or the environment.
RUN_SWITCHES = ("yes", "dry_run", "json", "again")
#: Per-invocation flags: never read from files or the environment.
RUN_FLAGS = (*RUN_SWITCHES, "folder")
#: What `collection()` installs as the `babe` configuration section.
DEFAULTS: dict[str, Any] = {key.name: key.default for key in KEYS}


@dataclass(frozen=True)
class Settings:
    """Everything a step needs to know about this run, validated. Money is Decimal, durations seconds."""

    experiment: str
    target: str = "local"
    endpoint_url: str | None = None
    profile: str | None = None
    url: str | None = None
    title: str | None = None
    description: str | None = None
    keywords: str = ""
    reward: Decimal | None = None
    assignments: int = 1
    batch_size: int = 9
    lifetime: int = 7 * 86400
    duration: int = 3600
    auto_approve: int = 3 * 86400
    frame_height: int = 0
    feedback: str | None = None
    max_concurrency: int = 16
    max_requests_per_second: float | None = None
    platform: str = "mturk"
    strict_plugins: bool = False
    plugins: dict = field(default_factory=dict)
    #: Who may work: normalised locales ("US", "US-NY"), approval floors, Masters, other requirements
    #: (normalised "ID:Comparator:Values" texts; `babe_tasks.qualifications` builds MTurk's shapes).
    locale: tuple[str, ...] = ()
    min_approval: int | None = None
    min_approved: int | None = None
    masters: bool = False
    qualifications: tuple[str, ...] = ()
    #: Workers unique per experiment unless this is set; earlier experiments' workers kept out.
    allow_repeat_workers: bool = False
    exclude_previous: bool = False
    exclude_experiments: tuple[str, ...] = ()
    folder: Path = field(default_factory=Path.cwd)
    local_state: Path | None = None
    yes: bool = False
    dry_run: bool = False
    json: bool = False
    #: `create` posts a batch identical to one it finished before (otherwise it posts nothing).
    again: bool = False

    @classmethod
    def build(cls, ctx: Any = None, **flags: Any) -> Settings:
        """Merge defaults → invoke configuration (`babe:`) → `BABE_*` → flags, and validate once.

        `ctx` is the task's invoke Context (or a Config, or None outside invoke: then the experiment
        folder's `invoke.yaml` is read through invoke's own Config). Flags are keyword arguments named
        like the settings (plus `yes`, `dry_run`, `json`, `again`, `folder`); None means "not given".
        """
        unknown = sorted(set(flags) - set(KEY_BY_NAME) - set(RUN_FLAGS))
        if unknown:
            raise TypeError(f"Settings.build got unknown flags: {', '.join(unknown)}")
        config = getattr(ctx, "config", ctx)
        folder = _folder(config, flags.get("folder"))
        file_values, file_label = _file_layer(config, folder)
        raw: dict[str, tuple[Any, str]] = {name: (key.default, "default") for name, key in KEY_BY_NAME.items()}
        for name, value in file_values.items():
            if value != KEY_BY_NAME[name].default:
                raw[name] = (value, f"babe.{name} in {file_label}")
        for key in KEYS:
            if key.env_var and os.environ.get(key.env_var, "").strip():
                raw[key.name] = (os.environ[key.env_var], key.env_var)
        for name, value in flags.items():
            if name in KEY_BY_NAME and value is not None:
                raw[name] = (value, KEY_BY_NAME[name].flag or key_flag(name))
        values = {name: _parse(name, value, source, folder) for name, (value, source) in raw.items()}
        if values["experiment"] is None:
            values["experiment"] = folders.experiment_name(folder)
        values["folder"] = folder
        for name in RUN_SWITCHES:
            values[name] = bool(flags.get(name) or False)
        settings = cls(**values)
        settings._check_combinations({name: source for name, (_, source) in raw.items()})
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, validated like flags (so `replace(reward="0.50")` works)."""
        parsed = {}
        for name, value in changes.items():
            if name in KEY_BY_NAME:
                parsed[name] = _parse(name, value, "replace()", self.folder)
            elif name in RUN_SWITCHES:
                parsed[name] = bool(value)
            elif name == "folder":
                parsed[name] = Path(value).resolve()
            else:
                raise TypeError(f"Settings has no field {name!r}")
        settings = dataclasses.replace(self, **parsed)
        settings._check_combinations({name: "replace()" for name in changes})
        return settings

    def require(self, *names: str) -> Any:
        """The value of each named setting, or UsageError saying how to give the first one missing.

        Steps call it for what they cannot do without (`create` needs reward, url, title), so a
        missing value is refused before any call with the three ways to set it.
        """
        values = []
        for name in names:
            value = getattr(self, name)
            if value is None or value == "":
                key = KEY_BY_NAME[name]
                example = f" {key.example}" if key.example else ""
                raise UsageError(
                    f"{name} is not set: pass {key.flag or key_flag(name)}{example}, or set babe.{name} in "
                    f"{self.folder / 'invoke.yaml'}" + (f" or {key.env_var}" if key.env_var else "")
                )
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)

    def plugin_settings(self, name: str) -> dict:
        """The `babe.plugins.<name>` section (empty when absent)."""
        return dict(self.plugins.get(name) or {})

    @property
    def state_dir(self) -> Path:
        """The experiment's private directory (`.babe/`), home of the ledger."""
        return folders.state_dir(self.folder)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data (for `--json` documents and debugging; profile names are not secrets)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def _check_combinations(self, sources: Mapping[str, str]) -> None:
        """Rules that involve two settings (only the url/target pair so far)."""
        if self.url:
            _check_url(self.url, self.target, sources.get("url", "url"))


def parse_value(name: str, value: Any, folder: Path | None = None) -> Any:
    """Validate one setting on its own (as a flag would be), e.g. for `babe init --target`."""
    return _parse(name, value, key_flag(name), Path(folder) if folder is not None else Path.cwd())


def key_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _folder(config: Any, flag_folder: Any) -> Path:
    """The experiment folder: the flag, else where invoke found its project config, else discovery."""
    if flag_folder is not None:
        return Path(flag_folder).expanduser().resolve()
    prefix = getattr(config, "_project_prefix", None) if config is not None else None
    if prefix:
        return Path(prefix).resolve()
    return folders.experiment_folder()


def _file_layer(config: Any, folder: Path) -> tuple[dict[str, Any], str]:
    """The `babe` section as invoke merged it (collection defaults, config files), checked for typos."""
    configured = list(getattr(config, "_collection", None) or {})  # sections the task collection reads
    if config is None or getattr(config, "_project_prefix", None) is None or _project_differs(config, folder):
        # No project file loaded for this folder (outside invoke, a bare Context, or --folder):
        # load it through invoke's own Config, with what the given config holds underneath it.
        check_config_file(folder)
        from invoke import Config

        base = dict(DEFAULTS)
        if config is not None and not _project_differs(config, folder) and hasattr(config, "get"):
            base.update(_plain(config.get("babe") or {}))
        config = Config(defaults={"babe": base})
        config.set_project_location(str(folder))
        config.load_project()
    section = config.get("babe") if hasattr(config, "get") else None
    project_path = getattr(config, "_project_path", None)
    label = str(project_path) if project_path else "the invoke configuration"
    check_sections(config, label, also=configured)
    if section is None:
        return {}, label
    if not isinstance(section, Mapping):
        raise UsageError(f"babe in {label} must be a mapping of settings, not {type(section).__name__}")
    values = {}
    for name, value in section.items():
        if name not in KEY_BY_NAME:
            hint = did_you_mean(name, KEY_BY_NAME, "known settings are")
            raise UsageError(f"unknown setting babe.{name} in {label}: {hint}")
        values[name] = _plain(value)
    return values, label


def _project_differs(config: Any, folder: Path) -> bool:
    prefix = getattr(config, "_project_prefix", None)
    return prefix is not None and Path(prefix).resolve() != folder


def _plain(value: Any) -> Any:
    """invoke's DataProxy → plain dicts, so frozen Settings never alias invoke's live config."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- parsing one value -------------------------------------------------------------------------


def _parse(name: str, value: Any, source: str, folder: Path) -> Any:
    """Validate one setting; failures name the setting and, unless it was a flag, where it was set."""
    try:
        return _PARSERS[name](value, name, folder)
    except UsageError as exc:
        if source.startswith("--") or source in ("default", "replace()"):
            raise
        raise UsageError(f"{exc} (set by {source})") from None


def _text(value: Any, name: str, folder: Path) -> str | None:
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


def _optional_text(value: Any, name: str, folder: Path) -> str | None:
    text = _text(value, name, folder)
    return text or None


def _experiment(value: Any, name: str, folder: Path) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not EXPERIMENT_PATTERN.match(text):
        raise UsageError(
            f"experiment {text!r} is not a usable name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return text


def _target(value: Any, name: str, folder: Path) -> str:
    text = str(value).strip().lower()
    if text not in TARGETS:
        raise UsageError(f"target {value!r} is not one of local, sandbox, live")
    return text


def _endpoint(value: Any, name: str, folder: Path) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"endpoint_url {text!r} is not an http(s) URL: write for example http://127.0.0.1:8443")
    return text.rstrip("/")


def _url(value: Any, name: str, folder: Path) -> str | None:
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


def _check_url(url: str, target: str, source: str) -> None:
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


def _reward(value: Any, name: str, folder: Path) -> Decimal | None:
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


def _bounded(low: int, high: int | None, why: str = "") -> Callable[[Any, str, Path], int]:
    def parse(value: Any, name: str, folder: Path) -> int:
        number = _integer(value, name)
        if number < low or (high is not None and number > high):
            span = f"{low} or more" if high is None else f"{low} to {high}"
            raise UsageError(f"{name} {number} is out of range: use {span}{why}")
        return number

    return parse


def _duration(low: int, high: int) -> Callable[[Any, str, Path], int]:
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


def _boolean(value: Any, name: str, folder: Path) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    raise UsageError(f"{name} {value!r} is not true or false")


def _optional_bounded(low: int, high: int | None, why: str = "") -> Callable[[Any, str, Path], int | None]:
    bounded = _bounded(low, high, why)

    def parse(value: Any, name: str, folder: Path) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return bounded(value, name, folder)

    return parse


def _optional_rate(value: Any, name: str, folder: Path) -> float | None:
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


def _locales(value: Any, name: str, folder: Path) -> tuple[str, ...]:
    from .qualifications import parse_locales

    return parse_locales(value)


def _qualification_specs(value: Any, name: str, folder: Path) -> tuple[str, ...]:
    from .qualifications import parse_specs

    return parse_specs(value)


def _experiments(value: Any, name: str, folder: Path) -> tuple[str, ...]:
    """Experiment names, comma-separated or a list; each checked like the `experiment` setting."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    names = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    return tuple(dict.fromkeys(_experiment(part, "exclude_experiments", folder) for part in names))


def _platform(value: Any, name: str, folder: Path) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", text):
        raise UsageError(f"platform {text!r} is not a platform name such as mturk")
    return text


def _plugins(value: Any, name: str, folder: Path) -> dict:
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
        result[str(plugin)] = _plain(options)
    return result


def _path(value: Any, name: str, folder: Path) -> Path | None:
    if value is None or str(value).strip() == "":
        return None
    path = Path(str(value).strip()).expanduser()
    return path if path.is_absolute() else (folder / path).resolve()


_PARSERS: dict[str, Callable[[Any, str, Path], Any]] = {
    "experiment": _experiment,
    "target": _target,
    "endpoint_url": _endpoint,
    "profile": _optional_text,
    "url": _url,
    "title": _optional_text,
    "description": _optional_text,
    "keywords": lambda value, name, folder: _text(value, name, folder) or "",
    "reward": _reward,
    "assignments": _bounded(1, 1_000_000),
    "batch_size": _bounded(1, 1_000_000),
    "lifetime": _duration(MIN_LIFETIME, MAX_LIFETIME),
    "duration": _duration(MIN_LIFETIME, MAX_LIFETIME),
    "auto_approve": _duration(0, MAX_AUTO_APPROVE),
    "frame_height": _bounded(0, None),
    "feedback": _optional_text,
    "max_concurrency": _bounded(1, 64),
    "max_requests_per_second": _optional_rate,
    "platform": _platform,
    "strict_plugins": _boolean,
    "plugins": _plugins,
    "locale": _locales,
    "min_approval": _optional_bounded(0, 100, " (a percentage)"),
    "min_approved": _optional_bounded(0, None),
    "masters": _boolean,
    "qualifications": _qualification_specs,
    "allow_repeat_workers": _boolean,
    "exclude_previous": _boolean,
    "exclude_experiments": _experiments,
    "local_state": _path,
}
assert set(_PARSERS) == set(KEY_BY_NAME), "every setting needs a parser"
