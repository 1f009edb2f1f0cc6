"""`@babe_task`: an invoke task that keeps DESIGN.md's promises about errors and exit codes.

Steps raise `BabeError`s; this wrapper turns them into one line on stderr (plus the JSON error
document on stdout under `--json`) and `invoke.exceptions.Exit(code)`, so `babe` and plain `invoke`
exit alike. Anything else that escapes a task is a bug or a library surprise: it prints
"internal error: …" and exits 1 — not 2, 3 or 4, whose meanings ("nothing done, your input",
"a plugin said no", "the platform") would send the user the wrong way; 1 says "look, then re-run".
Tracebacks only with `babe --debug`, `invoke --debug` or `BABE_DEBUG=1`.

`@babe_task(common=True)` gives a task the flags every lifecycle task shares (`COMMON_FLAGS`:
`--json`, `--target`, `--endpoint-url`, `--profile`, `--platform`, `--strict-plugins`) without
repeating them: they are added to the signature invoke reads (invoke builds flags from
`inspect.signature`, which honours `__signature__`), and the body receives them in `**common`,
to hand to `Settings.build` as they are. One list, so a new common flag reaches every task.

Flags that are settings default to None (so `invoke.yaml` and `BABE_*` show through) and are passed
to `Settings.build` as they are. A boolean setting's flag (`--strict-plugins`) defaults to False,
and a command line cannot say "false": pass `flag or None` so it only ever turns the setting on.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from typing import Any, Callable

from invoke import task
from invoke.exceptions import Exit, UnexpectedExit

from .errors import BabeError, PartialFailure, debug_enabled, describe_unexpected

#: The flags every babe task takes, and the extra ones of a task that spends money (for help texts).
COMMON_HELP = {
    "json": "print one JSON document on stdout (everything else goes to stderr)",
    "target": "local (default: the platform's local server), sandbox or live",
    "endpoint-url": "any server speaking the platform's API, e.g. one started by `babe local.serve` (MTurk)",
    "profile": "AWS profile for MTurk's sandbox and live",
    "platform": "recruiting platform: mturk (built in, default) or one a plugin provides, e.g. prolific",
    "strict-plugins": "fail (exit 2) when a plugin cannot be imported or configured",
}
#: The flags `common=True` adds to a task, with their defaults (None: not given; see the docstring).
COMMON_FLAGS: tuple[tuple[str, Any], ...] = (
    ("json", False),
    ("target", None),
    ("endpoint_url", None),
    ("profile", None),
    ("platform", None),
    ("strict_plugins", False),
)
#: The flags `spending=True` adds besides (to a task that spends money or cannot be undone).
SPENDING_FLAGS: tuple[tuple[str, Any], ...] = (("yes", False), ("dry_run", False))
SPENDING_HELP = {
    "yes": "do not ask for confirmation (needed on live without a terminal)",
    "dry-run": "show what would be done and what it would cost; do nothing",
}
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
    help: dict[str, str] | None = None,
    common: bool = False,
    spending: bool = False,
    refresh: bool = False,
    **kwargs: Any,
) -> Any:
    """Like `invoke.task`, with babe's error handling, no automatic short flags, and common flag help.

    Use as `@babe_task` or `@babe_task(help={...}, iterable=[...], common=True)`. The task declares
    its flags as parameters; invoke builds the flags from the signature. With `common=True` the
    body takes `**common` instead of declaring `COMMON_FLAGS` itself; `spending=True` adds
    `SPENDING_FLAGS` (`--yes`, `--dry-run`) to them, `refresh=True` the `REFRESH_FLAGS` (`--interval`,
    `--queue`, `--events`, `--events-url`, `--listen`, `--hit`; list `hit` in `iterable`).
    """
    kwargs.setdefault("auto_shortflags", False)

    def decorate(body: Callable[..., Any]) -> Any:
        runner = guard(body)
        if common or spending or refresh:
            flags = COMMON_FLAGS + (SPENDING_FLAGS if spending else ()) + (REFRESH_FLAGS if refresh else ())
            runner.__signature__ = with_common_flags(body, flags)  # type: ignore[attr-defined]
        names = set(_parameter_names(runner))
        shared = {**COMMON_HELP, **SPENDING_HELP, **(REFRESH_HELP if refresh else {})}
        merged = {k: v for k, v in shared.items() if k.replace("-", "_") in names}
        merged.update(help or {})
        return task(runner, help=merged, **kwargs)

    if len(args) == 1 and callable(args[0]) and help is None:
        return decorate(args[0])
    if args:
        raise TypeError("babe_task takes the task body or keyword arguments only")
    return decorate


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
        raise TypeError(f"task {body.__name__}: common=True needs a **common parameter to receive the common flags")
    own = params[:-1]
    taken = {p.name for p in own} & {name for name, _ in flags}
    if taken:
        raise TypeError(f"task {body.__name__}: declares {', '.join(sorted(taken))} itself; common=True adds them")
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
        except Exception as exc:
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
