"""Everything a task prints: one JSON document on stdout, or rich text; progress and warnings on stderr.

Keeping stdout for the result alone is what lets `babe status --json | jq` and Makefiles work while
people still see progress bars and warnings. rich is imported only when something is drawn, so
`babe --list` stays fast.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import os
import sys
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

#: Width used when stdout is not a terminal: rich's 80 columns would wrap 30-character MTurk ids.
PIPE_WIDTH = 120

#: What MTurk calls the unit a step works on, singular and plural. Another platform names its own
#: (`platform.base.capabilities_of(platform).nouns`: Prolific's ("study", "studies")); text output
#: uses them, JSON keeps MTurk's names (`hit_id`, `hits`) on every platform.
MTURK_NOUNS = ("HIT", "HITs")


def count(n: int, nouns: tuple[str, str] = MTURK_NOUNS, *, hedged: bool = True) -> str:
    """`n` of the platform's units for a line of text: the one place counts of HITs/studies are worded.

    `hedged` keeps MTurk's "3 HIT(s)", the wording its lines have always had (scripts and docs
    match it); unhedged, and on any other platform, the number picks the form: "1 HIT", "3 HITs",
    "1 study", "3 studies".
    """
    if hedged and tuple(nouns) == MTURK_NOUNS:
        return f"{n} {nouns[0]}(s)"
    return f"{n} {nouns[0] if n == 1 else nouns[1]}"


def capitalised(word: str) -> str:
    """A noun at the start of a line: `studies` → `Studies`, `HITs` stays `HITs`."""
    return word[:1].upper() + word[1:]


def emit(settings: Any, data: Any, render: Callable[["Console"], None] | None = None) -> None:
    """Print the result: exactly one JSON document when `settings.json`, else `render(console)`.

    `settings` is anything with a `json` attribute (a Settings, or a bool for tasks that have none).
    Without `render`, the human form is the JSON document itself, indented.
    """
    as_json = settings if isinstance(settings, bool) else bool(getattr(settings, "json", False))
    if as_json or render is None:
        sys.stdout.write(dumps(data) + "\n")
        sys.stdout.flush()
        return
    render(console())


def dumps(data: Any) -> str:
    """JSON as docs/cli.md ("JSON") promises it: money (Decimal) as "12.00", times as "2026-11-28T16:00:00Z"."""
    return jsonlib.dumps(jsonable(data), indent=2, ensure_ascii=False)


def jsonable(value: Any) -> Any:
    """Plain JSON data from the types steps return (Decimal, datetime, Path, dataclasses, sets)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        from .money import fmt

        return fmt(value)
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__"):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def iso_time(value: datetime | float | int | None) -> str | None:
    """A time as ISO-8601 UTC with a Z (`2026-11-28T16:00:00Z`); epoch seconds are accepted too."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_color() -> bool:
    return "NO_COLOR" in os.environ


def console() -> "Console":
    """A rich Console on the current stdout (colour only on a terminal and without NO_COLOR)."""
    return _console(sys.stdout)


def stderr_console() -> "Console":
    """A rich Console on stderr, for progress, prompts and warnings."""
    return _console(sys.stderr)


def _console(stream: Any) -> "Console":
    from rich.console import Console

    terminal = hasattr(stream, "isatty") and stream.isatty()
    width = None if terminal or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(file=stream, no_color=_no_color(), highlight=False, width=width, soft_wrap=not terminal)


def warn(message: str) -> None:
    """One warning line on stderr (never stdout: JSON consumers must not see it)."""
    from .errors import one_line

    if sys.stderr.isatty() and not _no_color():
        from rich.markup import escape

        # The message is text (a plugin's, a platform's): only the prefix is markup.
        stderr_console().print(f"[yellow]warning:[/yellow] {escape(one_line(message))}", markup=True, highlight=False)
    else:
        sys.stderr.write(f"warning: {one_line(message)}\n")
        sys.stderr.flush()


def error_line(message: str) -> None:
    """The one line an error prints on stderr."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def confirm(settings: Any, question: str) -> bool:
    """Ask before spending: True with `--yes`; refuses (exit 2) when there is no terminal to ask on.

    A script without `--yes` must fail loudly instead of hanging on a prompt nobody sees.
    """
    if getattr(settings, "yes", False):
        return True
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"{question.rstrip('?')}? needs confirmation and there is no terminal to ask on: pass --yes")
    from rich.prompt import Confirm

    return Confirm.ask(question, console=stderr_console(), default=False)


class _Progress:
    """The handle `progress()` yields: `advance(n)` and `update(total=...)`, drawn or not."""

    def __init__(self, bar: Any = None, task: Any = None):
        self._bar, self._task = bar, task

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, amount)

    def update(self, **fields: Any) -> None:
        if self._bar is not None:
            self._bar.update(self._task, **fields)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[_Progress]:
    """A progress bar on stderr when stderr is a terminal; silent otherwise (logs stay clean)."""
    if not sys.stderr.isatty():
        yield _Progress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=stderr_console(), transient=True,
    ) as bar:
        yield _Progress(bar, bar.add_task(description, total=total))
