"""The `babe` console script: invoke's Program over the same collection `invoke` loads from a tasks.py.

What it adds to a plain Program, and why:
- it reads the experiment folder's `invoke.yaml` (invoke only loads a project config next to a
  tasks.py it found itself, and a bundled namespace has none): the folder is the nearest ancestor
  of the working directory (or of `--search-root`) holding `invoke.yaml` or `tasks.py`, exactly as
  `Settings.build` finds it, so `babe create` and `invoke create` read the same file. The config
  prefix stays `invoke` (file `invoke.yaml`, invoke's `INVOKE_*` variables); babe's own variables
  (`BABE_<KEY>`) are read by `Settings.build` for both entry points alike;
- the exit codes and one-line messages of docs/cli.md for every error, including invoke's own parse
  errors (unknown task or flag, missing value → exit 2, not invoke's 1; a misspelt flag or task
  gets the nearest one: `--asignments` → did you mean --assignments?) and a malformed
  `invoke.yaml` (exit 2, naming the file and line) — no traceback unless `--debug`/`BABE_DEBUG=1`.
"""

from __future__ import annotations

import ast
import re
import sys
import traceback
from typing import Any, List, Optional

from invoke import Argument, Program
from invoke.exceptions import Exit, ParseError, UnexpectedExit

from . import __version__
from .errors import BabeError, UsageError, closest, debug_enabled, describe_unexpected, enable_debug, one_line


_INTERPRETER_DONT_WRITE_BYTECODE = sys.dont_write_bytecode


class BabeProgram(Program):
    """`babe`: same tasks and flags as `invoke` with `from babe_tasks import ns`, anywhere."""

    def __init__(self, namespace: Any = None, **kwargs: Any):
        kwargs.setdefault("name", "babe")
        kwargs.setdefault("binary", "babe")
        kwargs.setdefault("version", __version__)
        super().__init__(namespace=namespace, **kwargs)

    def core_args(self) -> List[Argument]:
        """invoke's core flags, plus `--search-root` to point babe at an experiment folder elsewhere."""
        args = super().core_args()
        args.append(
            Argument(
                names=("search-root", "r"),
                help="Use this experiment folder (default: nearest folder up from here with invoke.yaml or tasks.py).",
            )
        )
        args.append(Argument(names=("no-dedupe",), kind=bool, default=False, help="Disable task deduplication."))
        return args

    def parse_core_args(self) -> None:
        super().parse_core_args()
        if self.args.debug.value:
            enable_debug()

    def parse_collection(self) -> None:
        # invoke stops bytecode writing so a project's tasks.py leaves no .pyc; babe loads no
        # tasks.py, and without bytecode an editable install recompiles babe_tasks at every command.
        sys.dont_write_bytecode = _INTERPRETER_DONT_WRITE_BYTECODE
        super().parse_collection()
        from .folders import experiment_folder
        from .settings import check_config_file

        folder = experiment_folder(self.args["search-root"].value)
        check_config_file(folder)
        self.config.set_project_location(str(folder))
        self.config.load_project()

    def print_version(self) -> None:
        import invoke

        print(f"{self.name} {self.version} (invoke {invoke.__version__})")

    def run(self, argv: Optional[List[str]] = None, exit: bool = True) -> int:  # type: ignore[override]  # noqa: A002 - invoke's Program.run names it so
        """Run like invoke's Program, but with babe's exit codes; returns the code when `exit=False`."""
        code = self._run(argv)
        if exit:
            sys.exit(code)
        return code

    def _run(self, argv: Optional[List[str]]) -> int:
        tokens = sys.argv if argv is None else argv.split() if isinstance(argv, str) else argv
        wants_json = "--json" in tokens
        executing = False
        try:
            if self.namespace is None:
                from .tasks import collection

                self.namespace = collection()
            self.create_config()
            self.parse_core(argv)
            self.parse_collection()
            self.parse_tasks()
            self.parse_cleanup()
            self.update_config()
            executing = True
            self.execute()
            return 0
        except ParseError as exc:
            return self._report(UsageError(self._parse_error(exc)), wants_json)
        except Exit as exc:
            if exc.message:
                print(exc.message, file=sys.stderr)
            if exc.code and not executing:  # e.g. `--list nosuchnamespace`: the user's input
                return 2
            return exc.code
        except UnexpectedExit as exc:
            if exc.result.hide:
                print(exc, file=sys.stderr, end="")
            return exc.result.exited
        except BabeError as exc:
            return self._report(exc, wants_json)
        except KeyboardInterrupt:
            print("interrupted: whatever was done is recorded; run the same command again to finish", file=sys.stderr)
            return 1
        except BrokenPipeError:
            # The reader went away (`babe --list | head`): nothing to say, and nothing left to say it to.
            _silence_stdout()
            return 0 if not executing else 1
        except Exception as exc:  # noqa: BLE001 - every failure becomes an exit code and one line
            config_problem = _config_error(exc)
            if config_problem is not None:
                return self._report(config_problem, wants_json)
            if isinstance(exc, ValueError) and not executing:
                # invoke casts typed flag values (int) while parsing and lets the ValueError escape
                return self._report(UsageError(f"a flag value has the wrong type: {one_line(exc)}"), wants_json)
            if debug_enabled():
                traceback.print_exc()
            print(f"error: {describe_unexpected(exc)}", file=sys.stderr)
            return 1

    def _parse_error(self, exc: ParseError) -> str:
        """invoke's parse error as one line, with the nearest task or flag when the word is unknown.

        The candidates come from invoke's own parser state: the flags of the context the parser was
        in (`exc.context`: the task's, or the core flags) and the collection's task names.
        """
        token = _unknown_token(exc)
        context = getattr(exc, "context", None)
        if token is not None:
            if token.startswith("-"):
                choices = [*getattr(context, "flags", {}), *getattr(context, "inverse_flags", {})]
                close = closest(token.split("=", 1)[0], [flag for flag in choices if flag.startswith("--")])
                owner = f"{self.binary} {context.name}" if getattr(context, "name", None) else self.binary
                if close:
                    return f"{owner} has no flag {token}: did you mean {close}?{_parse_hint(exc, self.binary)}"
            else:
                collection = getattr(self, "collection", None) or self.namespace
                names = [name for task, aliases in collection.task_names.items() for name in (task, *aliases)] if collection else []
                close = closest(token, names)
                if close:
                    return f"no task named {token}: did you mean {close}? (`{self.binary} --list` shows the tasks)"
        return f"{_parse_message(exc)}{_parse_hint(exc, self.binary)}"

    @staticmethod
    def _report(exc: BabeError, wants_json: bool) -> int:
        from .taskkit import report

        return report(exc, wants_json)


def _parse_message(exc: ParseError) -> str:
    """invoke's parse message with its internal `<Argument: strict_plugins>` reprs written as flags."""
    text = one_line(exc)
    text = re.sub(r"<Argument: ([\w-]+)[^>]*>", lambda m: "--" + m.group(1).replace("_", "-"), text)
    return text


def _unknown_token(exc: ParseError) -> str | None:
    """The word invoke's parser did not know (`No idea what '--asignments' is!`), else None."""
    match = re.fullmatch(r"No idea what (.+) is!", str(exc))
    if match is None:
        return None
    try:
        token = ast.literal_eval(match.group(1))  # invoke writes the token with repr()
    except (ValueError, SyntaxError):
        return None
    return token if isinstance(token, str) else None


def _parse_hint(exc: ParseError, binary: str) -> str:
    context = getattr(exc, "context", None)
    name = getattr(context, "name", None)
    if name:
        return f" (`{binary} --help {name}` lists its flags)"
    return f" (`{binary} --list` shows the tasks, `{binary} --help` the core flags)"


def _config_error(exc: Exception) -> UsageError | None:
    """invoke's config files (~/.invoke.yaml, -f FILE) fail with a YAML error: one line naming file and line."""
    from invoke.util import yaml

    if isinstance(exc, yaml.YAMLError):
        from .configfile import describe_yaml_error

        return UsageError(describe_yaml_error(exc))
    return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again on the closed pipe."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Optional[List[str]] = None) -> None:
    BabeProgram().run(argv)
