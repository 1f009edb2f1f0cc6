"""The one reader of a _babe experiment's deploy configuration: its fields, and what is broken in it.

`config/config_deploy.js` is JavaScript, not JSON: comments, either quote style, unquoted keys and
trailing commas all occur; later _babe versions pass the same fields as `deploy: {...}` to
`babeInit(...)` / `magpieInit(...)` in the experiment's main script. A full JavaScript parser
would be a heavy dependency for five flat fields, so this reads object literals only: strings,
numbers, booleans and null; nested values are skipped.

`find`/`parse` read the fields tolerantly (`babe init`, the babe-backend plugin); `problem` names
what would stop the page or send submissions nowhere, with its line (`babe init` refuses such a
file). Both go through the same comment blanking, object scanning and token patterns, so what one
reads the other judges.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = Path("config") / "config_deploy.js"
#: The deployMethods _babe knows; any other value is a typo the page cannot run.
DEPLOY_METHODS = ("debug", "localServer", "MTurk", "MTurkSandbox", "Prolific", "directLink")
#: deployMethod → the target whose HITs the page submits to (the page hard-codes the submit URL).
MTURK_METHODS = {"MTurk": "live", "MTurkSandbox": "sandbox"}
_SKIP_DIRS = {"node_modules", ".git", ".babe", "__pycache__", ".venv", "venv"}
_MAX_FILES = 500
_MAX_BYTES = 2_000_000

_ASSIGN = re.compile(r"\bconfig_deploy\s*=\s*\{")
_INIT_CALL = re.compile(r"\b(?:babeInit|magpieInit)\s*\(")
_DEPLOY_KEY = re.compile(r"""(?:\bdeploy|["']deploy["'])\s*:\s*\{""")
#: A key and a value as JavaScript writes them in an object literal (a quoted string never spans a
#: line: that is a syntax error in the browser). Groups: the key's three forms, the value's five.
_KEY = r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|([A-Za-z_$][\w$]*))"""
_VALUE = r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`([^`]*)`|(-?\d+(?:\.\d+)?)|(true|false|null)\b)"""
_PAIR = re.compile(_KEY + r"\s*:\s*" + _VALUE)
_ENTRY_HEAD = re.compile(_KEY + r"\s*:\s*")
_WORD = re.compile(r"[A-Za-z_$][\w$]*")
_VALUE_THEN_MORE = re.compile(_VALUE + r"\s*(?P<rest>\S.*)", re.DOTALL)


@dataclass(frozen=True)
class DeployConfig:
    """The five deploy fields of a _babe experiment (None when absent) and where they were found."""

    source: Path
    experiment_id: str | None = None
    server_app_url: str | None = None
    deploy_method: str | None = None
    contact_email: str | None = None
    prolific_url: str | None = None

    @property
    def backend_url(self) -> str | None:
        """The backend's base URL: serverAppURL without its trailing `api/submit_experiment/`."""
        if not self.server_app_url:
            return None
        return re.sub(r"api/submit_experiment/?$", "", self.server_app_url)

    @property
    def mturk_target(self) -> str | None:
        """`live` or `sandbox` when the page submits to MTurk, None when it submits nowhere on MTurk."""
        return MTURK_METHODS.get(self.deploy_method or "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "experiment_id": self.experiment_id,
            "server_app_url": self.server_app_url,
            "deploy_method": self.deploy_method,
            "contact_email": self.contact_email,
            "prolific_url": self.prolific_url,
        }


def blank_comments(text: str) -> str:
    """JavaScript with its comments turned into spaces, newlines kept: offsets and lines stay true.

    Strings (which may hold `//`, as URLs do) are left as they are. The reader here and `babe init`'s
    check of the file (which names the line of a problem) both read the file through it.
    """
    out = list(text)
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote or (ch == "\n" and quote != "`"):
                quote = None
            i += 1
        elif ch in "\"'`":
            quote = ch
            i += 1
        elif text.startswith("//", i) or text.startswith("/*", i):
            end = text.find("\n", i) if text[i + 1] == "/" else text.find("*/", i + 2)
            end = n if end < 0 else (end if text[i + 1] == "/" else end + 2)
            for j in range(i, end):
                if out[j] != "\n":
                    out[j] = " "
            i = end
        else:
            i += 1
    return "".join(out)


def object_at(text: str, start: int) -> str | None:
    """The object literal whose `{` is at `start`, up to its matching `}` (strings respected)."""
    depth = 0
    quote: str | None = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return None


def top_level_pairs(body: str) -> dict[str, Any]:
    """`key: value` pairs of an object literal's body, skipping nested objects and arrays."""
    flat = _blank_nested(body)
    pairs: dict[str, Any] = {}
    for match in _PAIR.finditer(flat):
        key = next(group for group in match.groups()[:3] if group is not None)
        dq, sq, bq, number, literal = match.groups()[3:]
        if dq is not None or sq is not None:
            value: Any = _unescape(dq if dq is not None else sq)
        elif bq is not None:
            value = bq
        elif number is not None:
            value = number
        else:
            value = {"true": True, "false": False, "null": None}[literal]
        pairs[key] = value
    return pairs


def _blank_nested(body: str) -> str:
    """Replace the insides of nested `{}`/`[]` with spaces so their keys are not read as ours."""
    out = list(body)
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(body):
        ch = body[i]
        if quote:
            if depth:
                out[i] = " "
            if ch == "\\":
                if depth and i + 1 < len(body):
                    out[i + 1] = " "
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
            if depth:
                out[i] = " "
        elif ch in "{[":
            depth += 1
            if depth > 1:
                out[i] = " "
        elif ch in "}]":
            if depth > 1:
                out[i] = " "
            depth = max(0, depth - 1)
        elif depth:
            out[i] = " "
        i += 1
    return "".join(out)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse(text: str, source: Path) -> DeployConfig | None:
    """The deploy configuration in one JavaScript file's text, or None when there is none."""
    clean = blank_comments(text)
    body = None
    match = _ASSIGN.search(clean)
    if match:
        body = object_at(clean, match.end() - 1)
    else:
        call = _INIT_CALL.search(clean)
        if call:
            deploy = _DEPLOY_KEY.search(clean, call.end())
            if deploy:
                body = object_at(clean, deploy.end() - 1)
    if body is None:
        return None
    pairs = top_level_pairs(body)

    def text_of(key: str) -> str | None:
        value = pairs.get(key)
        return None if value is None else str(value).strip() or None

    return DeployConfig(
        source=source,
        experiment_id=text_of("experimentID"),
        server_app_url=text_of("serverAppURL"),
        deploy_method=text_of("deployMethod"),
        contact_email=text_of("contact_email"),
        prolific_url=text_of("prolificURL"),
    )


def find(folder: Path) -> DeployConfig | None:
    """The experiment's deploy configuration: `config/config_deploy.js`, else a `deploy:` in a .js file."""
    folder = Path(folder)
    config_file = folder / CONFIG_FILE
    if config_file.is_file():
        found = parse(read_config_file(config_file), config_file)
        if found is not None:
            return found
    for path in _scripts(folder):
        if path == config_file:
            continue
        text = _read(path)
        if _INIT_CALL.search(text):
            found = parse(text, path)
            if found is not None:
                return found
    return None


def _scripts(folder: Path) -> list[Path]:
    """The experiment's own scripts (not node_modules, not minified bundles), a bounded number."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".js") and not name.endswith(".min.js"):
                found.append(Path(root) / name)
                if len(found) >= _MAX_FILES:
                    return found
    return found


def _read(path: Path) -> str:
    """One of the experiment's other scripts, or "" when it is too large to be one (a bundle) or unreadable."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def read_config_file(path: Path) -> str:
    """`config/config_deploy.js` as a browser decodes it, refused (UsageError) past `DEPLOY_CONFIG_MAX_BYTES`.

    The file decides where workers' submissions go, so one too large to be a deploy configuration is
    named, not skipped; reading it whole would take the memory of a 150 MB file several times over.
    """
    from .errors import UsageError
    from .inputfiles import DEPLOY_CONFIG_MAX_BYTES, read_bytes

    try:
        data = read_bytes(path, DEPLOY_CONFIG_MAX_BYTES, what=str(CONFIG_FILE))
    except OSError as exc:
        raise UsageError(f"{CONFIG_FILE} cannot be read ({exc.strerror or exc})") from None
    return data.decode("utf-8", errors="replace")


# -- what is broken ----------------------------------------------------------------------------------
def problem(path: Path) -> str | None:
    """What is broken in a `config_deploy.js`, as "line N: what", or None (also when there is none).

    Only mistakes that stop the page or send submissions nowhere are named: an object or string
    never closed, a missing comma, an unquoted word as a value (a ReferenceError in the browser), a
    deployMethod _babe does not know. A file of another shape (no `config_deploy = {`) is not
    judged here: `find` reads nothing from it, and `babe init` says so.
    """
    if not path.is_file():
        return None
    text = read_config_file(path)  # as a browser shows a bad byte; refused when far too large
    code = blank_comments(text)
    start = _ASSIGN.search(code)
    if start is None:
        return None
    entries, unclosed = _top_level_entries(code, start.end() - 1)
    if unclosed is not None:
        return unclosed
    for offset, entry in entries:
        found = _entry_problem(entry)
        if found is not None:
            return f"line {_line(code, offset + found[0])}: {found[1]}"
    parsed = parse(text, path)
    method = parsed.deploy_method if parsed else None
    if method is not None and method not in DEPLOY_METHODS:
        where = code.find("deployMethod", start.start())
        return (
            f"line {_line(code, max(where, 0))}: deployMethod {method!r} is not one _babe knows "
            f"({', '.join(DEPLOY_METHODS)})"
        )
    return None


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _top_level_entries(code: str, brace: int) -> tuple[list[tuple[int, str]], str | None]:
    """The `key: value` entries of the object whose `{` is at `brace`, split at its own commas.

    Returns (offset, text) per entry, and a "line N: …" problem when the object or a string in it
    is never closed.
    """
    entries: list[tuple[int, str]] = []
    depth, quote, opened = 0, None, 0
    begin = brace + 1
    i = brace
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
            elif ch == "\n" and quote != "`":
                return entries, f"line {_line(code, opened)}: a string opened here is never closed (a {quote} is missing)"
        elif ch in "\"'`":
            quote, opened = ch, i
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                if code[begin:i].strip():  # nothing after a trailing comma (or in `{}`) is fine
                    entries.append((begin, code[begin:i]))
                return entries, None
        elif ch == "," and depth == 1:
            entries.append((begin, code[begin:i]))
            begin = i + 1
        i += 1
    if quote:
        return entries, f"line {_line(code, opened)}: a string opened here is never closed (a {quote} is missing)"
    return entries, f"line {_line(code, brace)}: the object `config_deploy = {{` is never closed (a }} is missing)"


def _entry_problem(entry: str) -> tuple[int, str] | None:
    """Why one `key: value` entry cannot be right, with its offset in the entry; None if it can.

    Nested objects and arrays, and expressions this reader cannot judge, pass.
    """
    stripped = entry.strip()
    lead = len(entry) - len(entry.lstrip())
    if not stripped:
        return 0, "an empty entry (two commas in a row)"
    head = _ENTRY_HEAD.match(stripped)
    if head is None:
        return lead, f"`{_short(stripped)}` is not `key: value`"
    value = stripped[head.end():].strip()
    if not value:
        return lead, f"`{_short(stripped)}` has no value"
    if re.fullmatch(_VALUE, value) or value[0] in "{[":
        return None
    if _WORD.fullmatch(value) and value != "undefined":
        return lead, f"the value {value} of `{_short(stripped)}` is not quoted: write \"{value}\""
    more = _VALUE_THEN_MORE.fullmatch(value)
    if more is not None:
        return lead + head.end() + more.start("rest"), f"a comma is missing before `{_short(more.group('rest'))}`"
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."
