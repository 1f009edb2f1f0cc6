"""The project's exceptions, one per exit code, so a step never has to know how it is run.

A step raises; the task wrapper (`taskkit.babe_task`) or the `babe` program turns the exception into
one line on stderr (or the JSON error document) and the exit code of docs/cli.md ("Exit codes"):
0 done, 1 some operations failed, 2 bad input or configuration (nothing done), 3 stopped by a
plugin, 4 platform unreachable or credentials refused.

Nothing here imports anything heavy: every entry point imports this module.
"""

from __future__ import annotations

import logging
from typing import Any

#: Set by `babe --debug`; `BABE_DEBUG=1` and `invoke --debug` also count (see `debug_enabled`).
_DEBUG = False


class BabeError(Exception):
    """An error the user can act on: it carries its exit code and, if a plugin raised it, the plugin.

    `str(exc)` is always one line: messages are shown as they are to people and to scripts, and a
    multi-line message would break both the one-line promise and line-oriented log parsing.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, plugin: str | None = None, exit_code: int | None = None):
        super().__init__(one_line(message))
        self.plugin = plugin
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)

    def document(self) -> dict[str, Any]:
        """The JSON error document (docs/cli.md, "JSON")."""
        return {"error": {"exit_code": self.exit_code, "message": str(self), "plugin": self.plugin}}


class UsageError(BabeError):
    """Bad input or configuration, found before anything was done (exit 2)."""

    exit_code = 2


class Veto(BabeError):
    """A plugin stopped the step before it did anything (exit 3).

    Plugins raise `Veto("why")` from a before-hook; the plugin manager fills in `plugin`.
    """

    exit_code = 3

    def __init__(self, message: str, plugin: str | None = None):
        super().__init__(message, plugin=plugin)


class PluginFailure(Veto):
    """A plugin crashed in a hook that runs before a step acts (exit 3, like a veto).

    The step did nothing because of the plugin, which is what exit 3 promises; reporting it as an
    internal error would send the user looking in the wrong code.
    """


class PlatformError(BabeError):
    """The platform could not be reached, or refused the credentials (exit 4)."""

    exit_code = 4


class PartialFailure(BabeError):
    """Some operations failed, the rest were done; re-running finishes the job (exit 1).

    `result` is the step's result document: when the task has not printed it yet, the task wrapper
    prints it as the JSON document under `--json`, so scripts still learn what was done.
    """

    exit_code = 1

    def __init__(self, message: str, result: Any = None, *, plugin: str | None = None):
        super().__init__(message, plugin=plugin)
        self.result = result


def one_line(message: object) -> str:
    """Collapse a message onto one line (exception texts from libraries often span several)."""
    text = " ".join(str(message).split())
    return text or "unknown error"


def did_you_mean(name: object, choices, listing: str = "known keys are") -> str:
    """The hint of an unknown-name error: the closest choice, else every choice after `listing`.

    One wording for every misspelt key or value, the core's and the plugins' (`unknown setting
    babe.plugins.slack.webhok: did you mean webhook?`).
    """
    choices = [str(choice) for choice in choices]
    close = closest(name, choices)
    return f"did you mean {close}?" if close else f"{listing} {', '.join(choices)}"


def closest(name: object, choices) -> str | None:
    """The choice nearest to a misspelt name (difflib's ratio of at least 0.6), or None."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(choice) for choice in choices], n=1)
    return close[0] if close else None


def enable_debug() -> None:
    """Show tracebacks from here on (what `babe --debug` does)."""
    global _DEBUG
    _DEBUG = True


def debug_enabled() -> bool:
    """Whether to show tracebacks: `babe --debug`, `BABE_DEBUG=1`, or `invoke --debug`.

    `invoke --debug` leaves no trace but the root logger at DEBUG (invoke's `enable_logging`), so
    that is what is checked; tasks run under plain `invoke` have no other way to know.
    """
    if _DEBUG:
        return True
    from .configvalues import switched_on  # imports this module: not at the top

    if switched_on("BABE_DEBUG"):
        return True
    return logging.getLogger().level == logging.DEBUG


def describe_unexpected(exc: BaseException) -> str:
    """The one line shown for an exception that is not a BabeError (a bug, or a library surprise)."""
    return f"internal error: {type(exc).__name__}: {one_line(exc)} (run with --debug or BABE_DEBUG=1 for the traceback)"
