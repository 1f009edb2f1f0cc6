"""`@babe_task`: an invoke task that keeps docs/cli.md's promises about errors and exit codes.

Steps raise `BabeError`s; this wrapper turns them into one line on stderr (plus the JSON error
document on stdout under `--json`) and `invoke.exceptions.Exit(code)`, so `babe` and plain `invoke`
exit alike. Anything else that escapes a task is a bug or a library surprise: it prints
"internal error: …" and exits 1 — not 2, 3 or 4, whose meanings ("nothing done, your input",
"a plugin said no", "the platform") would send the user the wrong way; 1 says "look, then re-run".
Tracebacks only with `babe --debug`, `invoke --debug` or `BABE_DEBUG=1`.

`@babe_task(common=True)` gives a task the flags every lifecycle task shares (`--json`,
`--target`, `--endpoint-url`, `--profile`, `--platform`, `--strict-plugins`), `spending=True`
`--yes` and `--dry-run`, and `settings=True` the flags of the settings that name the task: all
of them declared once, with their help, in `settingspec` (`Key.tasks`, `RunFlag.tasks`). They are
added to the signature invoke reads (invoke builds flags from `inspect.signature`, which honours
`__signature__`), and the body receives them in `**common`, keyed by setting name and ready for
`Settings.build`: None when not given (so `invoke.yaml` and `BABE_*` show through), a switch that
was not given as None (a command line cannot say "false": it only ever turns a setting on), a
repeated flag as a list (`--qualification A --qualification B` → `qualifications=[A, B]`).
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

from invoke import task
from invoke.exceptions import Exit, UnexpectedExit

from .errors import BabeError, PartialFailure, debug_enabled, describe_unexpected
from .settingspec import (
    COMMON,
    LIST,
    SPENDING,
    TaskFlag,
    declared_help,
    flag_value,
    task_flags,
)

#: The flags `common=True` adds to a task, with their defaults (None: not given; see the docstring).
COMMON_FLAGS: tuple[tuple[str, Any], ...] = tuple((f.parameter, f.default) for f in task_flags("", (COMMON,)))
#: The flags `spending=True` adds besides (to a task that spends money or cannot be undone).
SPENDING_FLAGS: tuple[tuple[str, Any], ...] = tuple((f.parameter, f.default) for f in task_flags("", (SPENDING,)))
#: The flags `refresh=True` adds besides (to a task that refreshes until something happens: watch,
#: wait). They are not settings: the body takes them out of `**common` with `take(common,
#: REFRESH_FLAGS)` before handing the rest to `Settings.build`.
REFRESH_FLAGS: tuple[tuple[str, Any], ...] = (
    ("interval", "30s"),
    ("queue", None),
    ("events", False),
    ("events_url", None),
    ("listen", None),
    ("hit", None),
)
#: Their help; a task whose words differ ("look" rather than "refresh") gives its own for a flag.
REFRESH_HELP = {
    "interval": "time between refreshes, e.g. 30s, 5m (default 30s); with --queue or --events, the fallback",
    "queue": "SQS queue URL to receive MTurk's notifications: refresh as soon as something happens",
    "events": "on Prolific: subscribe to its webhook events and refresh as soon as a study or submission changes",
    "events-url": "with --events on live: the public https URL Prolific posts events to, forwarded to --listen",
    "listen": "with --events: the local host:port that receives events (default: any free port on target local, 127.0.0.1:8765 on live)",
    "hit": "only these HITs, or studies on Prolific (repeat the flag, or separate ids with commas); default: all of the experiment",
}


def babe_task(
    *args: Any,
    help: dict[str, str] | None = None,  # noqa: A002 - invoke's @task keyword
    common: bool = False,
    spending: bool = False,
    refresh: bool = False,
    settings: bool = False,
    **kwargs: Any,
) -> Any:
    """Like `invoke.task`, with babe's error handling, no automatic short flags, and declared flags.

    Use as `@babe_task` or `@babe_task(help={...}, iterable=[...], common=True)`. The task declares
    its own flags as parameters; invoke builds the flags from the signature. With `common=True` the
    body takes `**common` instead of declaring the common flags itself; `spending=True` adds
    `--yes` and `--dry-run`, `settings=True` the flags of every setting whose `Key.tasks` names
    the task, `refresh=True` the `REFRESH_FLAGS` (`--interval`, `--queue`, `--events`,
    `--events-url`, `--listen`, `--hit`; list `hit` in `iterable`). `help` gives the task's own
    flags' help, or other words for a declared one.
    """
    kwargs.setdefault("auto_shortflags", False)

    def decorate(body: Callable[..., Any]) -> Any:
        name = kwargs.get("name") or body.__name__
        groups = (COMMON,) * common + (SPENDING,) * spending
        declared = task_flags(name, groups) if settings else task_flags("", groups)
        if settings and not task_flags(name):
            raise TypeError(f"task {name}: settings=True, but no setting in babe_tasks/settingspec.py names {name!r}")
        runner = guard(_as_settings(body, declared))
        runner.babe_groups = groups  # type: ignore[attr-defined]  # for docs/settings.md (settingspec.tasks_in)
        added = [(f.parameter, f.default) for f in declared] + (list(REFRESH_FLAGS) if refresh else [])
        if added:
            runner.__signature__ = with_common_flags(body, tuple(added))  # type: ignore[attr-defined]
        lists = [f.parameter for f in declared if f.kind == LIST]
        if lists:
            kwargs["iterable"] = [*kwargs.get("iterable", ()), *lists]
        names = set(_parameter_names(runner))
        shared = {**declared_help(name), **(REFRESH_HELP if refresh else {})}
        merged = {k.replace("-", "_"): v for k, v in shared.items() if k.replace("-", "_") in names}
        merged.update({k.replace("-", "_"): v for k, v in (help or {}).items()})
        return task(runner, help=merged, **kwargs)

    if len(args) == 1 and callable(args[0]) and help is None:
        return decorate(args[0])
    if args:
        raise TypeError("babe_task takes the task body or keyword arguments only")
    return decorate


def _as_settings(body: Callable[..., Any], declared: list[TaskFlag]) -> Callable[..., Any]:
    """The body, receiving each declared setting's flag under the setting's name, as `Settings.build` takes it."""
    settings = {f.parameter: f for f in declared if f.setting is not None}
    if not settings:
        return body

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        for parameter, flag in settings.items():
            if parameter in kwargs:
                kwargs[flag.setting] = flag_value(flag, kwargs.pop(parameter))
        return body(*args, **kwargs)

    return run


def take(common: dict[str, Any], flags: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """Take `flags` (e.g. `REFRESH_FLAGS`) out of a task's `**common`: what is left goes to `Settings.build`."""
    return {name: common.pop(name, default) for name, default in flags}


def with_common_flags(body: Callable[..., Any], flags: tuple[tuple[str, Any], ...] = COMMON_FLAGS) -> Any:
    """The body's signature with `flags` in place of its `**common` (a TypeError if it has none, or
    declares one of them itself: a task author's mistake, seen at import)."""
    import inspect

    signature = inspect.signature(body)
    params = list(signature.parameters.values())
    if not params or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        raise TypeError(
            f"task {body.__name__}: needs a **common parameter to receive the flags common=True, spending=True, "
            "settings=True or refresh=True add"
        )
    own = params[:-1]
    taken = {p.name for p in own} & {name for name, _ in flags}
    if taken:
        raise TypeError(f"task {body.__name__}: declares {', '.join(sorted(taken))} itself; babe_task adds them")
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default) for name, default in flags]
    return signature.replace(parameters=own + added)


def guard(body: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task body: BabeError → exit code and one line; anything else → internal error, exit 1."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("json"))
        if debug_enabled():
            _quiet_wire_logs()
        try:
            return body(*args, **kwargs)
        except (Exit, UnexpectedExit):
            raise
        except BabeError as exc:
            raise Exit(code=report(exc, as_json)) from None
        except Exception as exc:  # noqa: BLE001 - anything else is a bug: "internal error", exit 1
            if debug_enabled():
                traceback.print_exc()
            from .output import error_line

            error_line(describe_unexpected(exc))
            raise Exit(code=1) from None

    return run


def report(exc: BabeError, as_json: bool) -> int:
    """Print a BabeError the documented way and return its exit code."""
    from .output import dumps, error_line

    if debug_enabled():
        traceback.print_exception(exc)
    if as_json:
        if isinstance(exc, PartialFailure):
            if exc.result is not None:
                sys.stdout.write(dumps(exc.result) + "\n")
        else:
            sys.stdout.write(dumps(exc.document()) + "\n")
        sys.stdout.flush()
    error_line(describe(exc))
    return exc.exit_code


def describe(exc: BabeError) -> str:
    """The line shown for a BabeError: a plugin's errors say which plugin."""
    if exc.plugin and exc.exit_code == 3:
        return f"stopped by plugin {exc.plugin}: {exc}"
    if exc.plugin:
        return f"plugin {exc.plugin}: {exc}"
    return str(exc)


def _parameter_names(body: Callable[..., Any]) -> list[str]:
    import inspect

    return list(inspect.signature(body).parameters)


def _quiet_wire_logs() -> None:
    """Under --debug, keep botocore/urllib3 request dumps out: tracebacks are what was asked for."""
    for name in ("botocore", "boto3", "urllib3", "httpx", "httpcore", "s3transfer"):
        logging.getLogger(name).setLevel(logging.INFO)
