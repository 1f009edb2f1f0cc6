"""The experiment's `invoke.yaml` judged as a file, before invoke loads it and before any setting is read.

What invoke's loader would let through or trip on, each refused with one line naming the file and
the line a person sees in an editor (exit 2):
- a file too large (`inputfiles.CONFIG_MAX_BYTES`), or YAML whose aliases expand to more than
  `MAX_NODES` values (a "billion laughs" file makes invoke's config merge run for minutes);
- a line separator other than LF/CRLF (CR, NEL U+0085, U+2028, U+2029): YAML starts a new line
  there, an editor, `cat` and `grep` do not, so such a file can hold keys nobody sees;
- a key written twice in one mapping (YAML keeps the last one silently);
- not valid YAML (the line of the construct left open, not the end of the file where the parser
  noticed), not a mapping, a `babe` section that is not a mapping;
- (`check_sections`, on the loaded configuration) a top-level section that is neither `babe`,
  one of invoke's own (`run`, `runners`, `sudo`, `tasks`, `timeouts`) nor one the task collection
  configures, and an unknown key inside invoke's own sections — a misspelt section is otherwise
  ignored without a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import inputfiles
from .errors import UsageError, did_you_mean

#: Most values (scalars, lists, mappings) the file may stand for once every alias is expanded;
#: babe init's file has about 40, a big lab file a few hundred.
MAX_NODES = 10_000
#: Longest whole number in the file, in characters (as for every setting: `settings.MAX_NUMBER_DIGITS`).
MAX_NUMBER_DIGITS = 18
#: Line breaks YAML honours that editors and line-oriented tools do not show as one.
HIDDEN_BREAKS = {"\r": "a carriage return (CR) not followed by a line feed", "\x85": "a NEL (U+0085)",
                 "\u2028": "a LINE SEPARATOR (U+2028)", "\u2029": "a PARAGRAPH SEPARATOR (U+2029)"}
_HIDDEN_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
#: Sections of invoke's own whose keys are free-form (runner names), so not checked one by one.
_FREE_FORM = {"runners"}
#: What YAML calls the constructs a parser error can be "inside", worded for a person.
_OPENED = {
    "while scanning a quoted scalar": "a quoted text",
    "while parsing a flow sequence": "a list opened with [",
    "while parsing a flow mapping": "a mapping opened with {",
    "while scanning a block scalar": "a block text",
}


def check_config_file(folder: Path) -> None:
    """Refuse a malformed `invoke.yaml`/`invoke.yml` in `folder` with one line (see the module's list)."""
    for suffix in ("yaml", "yml"):
        path = Path(folder) / f"invoke.{suffix}"
        if path.is_file():
            _check(path)


def _check(path: Path) -> None:
    from invoke.util import yaml

    try:
        text = inputfiles.read_text(path, inputfiles.CONFIG_MAX_BYTES, encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    _check_breaks(path, text)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return
        _check_nodes(path, text, node)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise UsageError(describe_yaml_error(exc, path, text)) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise UsageError(f"{path} line 1: the file must be a mapping of sections (babe: ...), not a {type(data).__name__}")
    section = data.get("babe")
    if section is not None and not isinstance(section, dict):
        raise UsageError(f"{path}: the babe section must be a mapping of settings (key: value), not a {type(section).__name__}")


def _check_breaks(path: Path, text: str) -> None:
    found = _HIDDEN_BREAK.search(text)
    if found is not None:
        raise UsageError(
            f"{path} line {line_of(text, found.start())}: {HIDDEN_BREAKS[found.group()]}, which YAML reads as a new "
            "line though editors do not show one; remove it (babe init never writes one)"
        )


def _check_nodes(path: Path, text: str, root: Any) -> None:
    """Count the values the document expands to (aliases included) and refuse duplicate keys."""
    from invoke.util import yaml

    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once instead of forever
        total = 1
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_NUMBER_DIGITS:
            raise UsageError(  # converting it would fail in Python itself past 4,300 digits
                f"{path} line {line_of(text, node.start_mark.index)}: a number of {len(node.value):,} characters; "
                "no setting takes a number that large"
            )
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise UsageError(
                            f"{path} line {line_of(text, key.start_mark.index)}: {key.value} is set twice in one "
                            f"mapping (first on line {line_of(text, seen[key.value].start_mark.index)}); YAML would "
                            "keep only the last: remove one"
                        )
                    seen[key.value] = key
                total += size(key) + size(value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        sizes[id(node)] = total
        if total > MAX_NODES:
            raise UsageError(
                f"{path} line {line_of(text, node.start_mark.index)}: the YAML expands to more than {MAX_NODES:,} "
                "values through its aliases (*name); write the values out instead"
            )
        return total

    size(root)


def describe_yaml_error(exc: Any, path: Any = None, text: str | None = None) -> str:
    """One line for a YAML syntax error, naming the line where the trouble starts.

    PyYAML marks where it gave up: for a quote or bracket never closed that is the end of the file
    (or the next key), far from the line to fix; its "context" marks where the construct opened.
    Lines are counted as an editor counts them (LF), not as YAML does.
    """
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None) or ""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    where = path if path is not None else (getattr(problem_mark, "name", None) or "a configuration file")

    def line(mark: Any) -> int:
        if text is not None:
            return line_of(text, mark.index)
        return mark.line + 1

    opened = _OPENED.get(context)
    if opened and context_mark is not None and problem_mark is not None and line(context_mark) != line(problem_mark):
        return (
            f"{where} line {line(context_mark)}: not valid YAML ({opened} starts here and is not closed: {problem} "
            f"on line {line(problem_mark)}); fix the file or remove it"
        )
    mark = problem_mark or context_mark
    at = f" line {line(mark)}" if mark is not None else ""
    return f"{where}{at}: not valid YAML ({problem}); fix the file or remove it"


def line_of(text: str, index: int) -> int:
    """The line an editor shows for a character offset (LF-counted, as `grep -n` and `cat -n`)."""
    return text.count("\n", 0, index) + 1


def check_sections(config: Any, label: str, also: Iterable[str] = ()) -> None:
    """Refuse a section of the project's invoke.yaml that nothing reads (`babe:` itself is checked by Settings).

    `config` is an invoke Config with the project file loaded: its sections are compared with
    invoke's own defaults and whatever the task collection configures (a lab's tasks.py may add some).
    """
    from invoke import Config

    project = getattr(config, "_project", None) or {}
    if not isinstance(project, Mapping):
        return
    invoke_defaults = Config.global_defaults()
    known = {"babe", *also, *invoke_defaults, *_keys(getattr(config, "_defaults", None)), *_keys(getattr(config, "_collection", None))}
    for name, value in project.items():
        if name not in known:
            hint = did_you_mean(name, sorted(known), "the sections read are")
            raise UsageError(
                f"unknown section {name} in {label}: {hint} (babe's settings go under babe:, invoke's own are "
                f"{', '.join(sorted(invoke_defaults))})"
            )
        default = invoke_defaults.get(name)
        if name in _FREE_FORM or not isinstance(default, Mapping) or not isinstance(value, Mapping):
            continue
        for key in value:
            if key not in default:
                hint = did_you_mean(key, sorted(default), f"invoke's {name} keys are")
                raise UsageError(f"unknown key {name}.{key} in {label}: {hint}")


def _keys(mapping: Any) -> Iterable[str]:
    return list(mapping) if isinstance(mapping, Mapping) else []
