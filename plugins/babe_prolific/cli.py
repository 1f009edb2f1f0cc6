"""`babe-prolific`: the local Prolific and the bonus journal from the shell.

    babe-prolific serve [--port 8045] [--host 127.0.0.1] [--state FILE] [--faults SPEC]
    babe-prolific participants --study ID --count N [--post-to BACKEND_SUBMIT_URL] [--return-rate R] ...
    babe-prolific clock [--advance 2d]
    babe-prolific code                        # the experiment's completion code (kept in its ledger) and URL
    babe-prolific bonuses [--paid SETUP_ID | --not-paid SETUP_ID]
    babe-prolific demo [--keep] [--folder NEW_FOLDER] [--json]    # the whole lifecycle, offline

`participants` and `clock` work on the experiment's local Prolific state (`.babe/prolific.sqlite`,
or `BABE_PROLIFIC_STATE`, or `--state`), or on a running server with `--endpoint-url`. `code` and
`bonuses` read the experiment folder like `babe` does. A running server's private routes ask for
its state file's token: `BABE_PROLIFIC_LOCAL_TOKEN`, else the one kept in the experiment's state
file (the server's own when it serves that file, the default); `serve` prints it. The local
server's own pieces live in `babe_prolific.local`; this module only parses flags and prints. Exit codes follow babe's: 0 done,
2 bad input (one line on stderr), 4 a server that does not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from babe_tasks.errors import BabeError, UsageError

from . import mapping


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its one line and usage already
        return 0 if exc.code == 0 else 2
    try:
        return args.run(args) or 0
    except BabeError as exc:
        print(f"babe-prolific: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # the local Prolific's refusals of bad options
        print(f"babe-prolific: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="babe-prolific", description="The local Prolific and the Prolific bonus journal.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the local Prolific's API over HTTP until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8045)
    serve.add_argument("--state", help="state file (default: the experiment's .babe/prolific.sqlite)")
    serve.add_argument("--faults", help="fault spec, e.g. throttle=0.2,lost=0.05,seed=7")
    serve.set_defaults(run=_serve)

    people = commands.add_parser("participants", help="let simulated participants take a study")
    people.add_argument("--study", required=True, help="the study id (babe status shows it as the HIT)")
    people.add_argument("--count", type=int, required=True)
    people.add_argument("--post-to", help="the _babe backend's submit URL (…/api/submit_experiment/<id>)")
    people.add_argument("--seed", type=int, default=0)
    for rate in ("return-rate", "timeout-rate", "wrong-code-rate", "no-code-rate", "lose-rate"):
        people.add_argument(f"--{rate}", type=float, default=0.0)
    people.add_argument("--returning", type=int, default=0, help="how many come from earlier studies")
    _where(people)
    people.add_argument("--json", action="store_true")
    people.set_defaults(run=_participants)

    clock = commands.add_parser("clock", help="show or move the local Prolific's clock")
    clock.add_argument("--advance", help="a duration such as 90s, 25h, 2d")
    _where(clock)
    clock.add_argument("--json", action="store_true")
    clock.set_defaults(run=_clock)

    code = commands.add_parser("code", help="the experiment's completion code and the prolificURL to put in its config")
    code.add_argument("--folder", help="the experiment folder (default: found from here)")
    code.add_argument("--json", action="store_true")
    code.set_defaults(run=_code)

    bonuses = commands.add_parser(
        "bonuses",
        help="list the bonus journal, or settle an unconfirmed set-up",
        description="List the bonus journal (one line per bonus, its set-up id first), or settle a set-up whose pay "
        "Prolific did not confirm. A set-up carries up to 200 bonuses of one study: settling it settles all of them.",
    )
    settle = bonuses.add_mutually_exclusive_group()
    settle.add_argument(
        "--paid", metavar="SETUP_ID", help="you checked on Prolific: this set-up was paid (all its bonuses are recorded paid)"
    )
    settle.add_argument(
        "--not-paid",
        metavar="SETUP_ID",
        help="you checked on Prolific: this set-up was not paid; the next babe bonus sets all its bonuses up and pays them",
    )
    bonuses.add_argument("--folder", help="the experiment folder (default: found from here)")
    bonuses.add_argument("--json", action="store_true")
    bonuses.set_defaults(run=_bonuses)

    demo = commands.add_parser(
        "demo",
        help="run a study's whole life on the local Prolific in a scratch folder, showing each command",
        description="Run what a lab types (babe init, create, participants, status, approve, bonus, expire, results, "
        "cost) in a scratch folder with its own local Prolific and a fake _babe backend; no token, no money, "
        "your own settings and state untouched.",
    )
    demo.add_argument("--folder", help="run in this (new or empty) folder and keep it; default: a temporary folder, removed after")
    demo.add_argument("--keep", action="store_true", help="keep the temporary folder and print how to look around in it")
    demo.add_argument(
        "--json", action="store_true", help='print one JSON document: {"folder", "kept", "steps": [{"command", "exit_code", "result"}]}'
    )
    demo.set_defaults(run=_demo)
    return parser


def _where(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--state", help="state file (default: the experiment's .babe/prolific.sqlite)")
    group.add_argument("--endpoint-url", help="a running babe-prolific serve, e.g. http://127.0.0.1:8045")


def _state(args: Any) -> str:
    """`--endpoint-url`, else the state file: `--state`, `BABE_PROLIFIC_STATE`, the experiment's."""
    if getattr(args, "endpoint_url", None):
        return args.endpoint_url.rstrip("/")
    if args.state:
        return str(Path(args.state).expanduser())
    from babe_tasks.folders import experiment_folder

    from .routing import state_path

    return str(state_path(experiment_folder()))


TOKEN_ENV = "BABE_PROLIFIC_LOCAL_TOKEN"


def _server_token() -> str:
    """The token a server's private routes ask of a change: `BABE_PROLIFIC_LOCAL_TOKEN`, else the
    one kept in the state file the commands would open without `--endpoint-url`."""
    import os

    from babe_tasks.simulation.statefile import read_token

    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        return given
    try:
        state = _state(argparse.Namespace(state=None, endpoint_url=None))
    except BabeError:  # not in an experiment folder: no state file to read it from
        return ""
    return read_token(state) or ""


def _refusal_hint(detail: str) -> str:
    """A refusal's detail, with where to find the token when that was what was missing."""
    if "X-Babe-Local-Token" in detail:
        return f"{detail}; set {TOKEN_ENV} to it"
    return detail


def _print(args: Any, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if getattr(args, "json", False) else text)


# -- commands -------------------------------------------------------------------------------------------
def _serve(args: Any) -> int:
    from .local.server import serve

    state = _state(args)
    Path(state).parent.mkdir(parents=True, exist_ok=True)

    def announce(server: Any) -> None:
        print(f"local Prolific on {server.url} (API {server.url}/api/v1/, state {state}); Ctrl-C stops it", flush=True)
        print(f"use it with: babe <task> --platform prolific --endpoint-url {server.url}", flush=True)
        print(f"private routes (/_local/...) token: {server.app.local_token} (header X-Babe-Local-Token, or {TOKEN_ENV})", flush=True)

    try:
        serve(state, args.host, args.port, args.faults, announce=announce)
    except OSError as exc:  # the port is taken, or the host is not ours
        raise UsageError(f"cannot serve on {args.host}:{args.port} ({exc.strerror or exc}): pick another --port") from None
    return 0


def _participants(args: Any) -> int:
    from .local.errors import ApiError
    from .local.participants import simulate

    if args.count < 0:
        raise UsageError(f"--count {args.count} must be 0 or more")
    try:
        records = simulate(
            _state(args),
            args.study,
            args.count,
            post_to=args.post_to,
            seed=args.seed,
            return_rate=args.return_rate,
            timeout_rate=args.timeout_rate,
            wrong_code_rate=args.wrong_code_rate,
            no_code_rate=args.no_code_rate,
            lose_rate=args.lose_rate,
            returning=args.returning,
            token=_server_token() if getattr(args, "endpoint_url", None) else None,
        )
    except ApiError as exc:  # e.g. an unknown study: the local Prolific's own refusal, in one line
        raise UsageError(f"the local Prolific refused: {exc}") from None
    outcomes: dict[str, int] = {}
    for record in records:
        outcomes[record["outcome"]] = outcomes.get(record["outcome"], 0) + 1
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "nobody"
    posted = sum(1 for r in records if r.get("posted"))
    text = f"{len(records)} participant(s) on study {args.study}: {summary}"
    if args.post_to:
        text += f"; {posted} posted their data to the backend"
    _print(args, {"study": args.study, "participants": records}, text)
    return 0


def _clock(args: Any) -> int:
    state = _state(args)
    if state.startswith(("http://", "https://")):
        import httpx

        from babe_tasks.simulation.serving import TOKEN_HEADER

        body = {"advance": args.advance} if args.advance else None
        headers = {TOKEN_HEADER: _server_token()} if body else {}
        try:
            response = httpx.request("POST" if body else "GET", f"{state}/_local/clock", json=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            from babe_tasks.errors import PlatformError

            raise PlatformError(f"cannot reach the local Prolific at {state} ({type(exc).__name__})") from None
        if response.status_code != 200:
            try:
                detail = str(response.json()["error"]["detail"])
            except (ValueError, KeyError, TypeError):
                detail = response.text[:200]
            raise UsageError(f"the local Prolific at {state} refused: {_refusal_hint(detail)}")
        answer = response.json()
    else:
        from babe_tasks.durations import DurationError, parse_duration

        from .local import advance_clock

        seconds = 0.0
        if args.advance:
            try:
                seconds = parse_duration(args.advance)
            except DurationError as exc:
                raise UsageError(f"--advance: {exc}") from None
        answer = advance_clock(state, seconds)
    moment = mapping.parse_time(answer.get("now"))
    shown = moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else answer.get("now")
    _print(args, answer, f"local Prolific time {shown} (offset {float(answer.get('offset') or 0):g} s)")
    return 0


def _settings(folder: str | None):
    from babe_tasks.settings import Settings

    return Settings.build(None, folder=folder)


def _code(args: Any) -> int:
    """The experiment's code, kept in its ledger (drawn now if it has none yet: `codes`)."""
    from .codes import completion_code
    from .platform import COMPLETION_URL

    settings = _settings(args.folder)
    chosen = completion_code(settings)
    url = COMPLETION_URL.format(code=chosen.code)
    _print(
        args,
        {
            "experiment": settings.experiment,
            "completion_code": chosen.code,
            "completion_url": url,
            "origin": chosen.origin,
        },
        f"experiment {settings.experiment}: completion code {chosen.code} ({chosen.explain()})\n"
        f'put this in config/config_deploy.js: "deployMethod": "Prolific", "prolificURL": "{url}"',
    )
    return 0


def _bonuses(args: Any) -> int:
    from .journal import PAID, PAYING, Journal

    settings = _settings(args.folder)
    journal = Journal.for_folder(settings.folder)
    try:
        chosen = args.paid or args.not_paid
        if chosen:
            rows = journal.of_setup(chosen)
            if not rows:
                raise UsageError(f"no bonus set-up {chosen} in {journal.path}: babe-prolific bonuses lists them")
            states = sorted({e.state for e in rows})
            if states != [PAYING]:
                raise UsageError(f"bonus set-up {chosen} is {', '.join(states)}, not unconfirmed: nothing to settle")
            what = "bonus set-up" if len(rows) == 1 else f"bonus set-up of {len(rows)} bonuses"
            if args.paid:
                journal.move_setup(chosen, PAID, "settled as paid by hand")
                text = f"{what} {chosen} recorded as paid; the next babe bonus reports it paid"
            else:
                journal.forget_setup(chosen)
                text = f"{what} {chosen} recorded as not paid; the next babe bonus sets up and pays a new one"
            _print(args, {"setup_id": chosen, "state": PAID if args.paid else "not-paid", "bonuses": len(rows)}, text)
            return 0
        entries = journal.all()
        rows = [
            {
                "setup_id": e.setup_id,
                "state": e.state,
                "participant_id": e.participant_id,
                "submission_id": e.submission_id,
                "study_id": e.study_id,
                "amount": f"{e.amount:.2f}",
                "reason": e.reason,
                "error": e.error,
            }
            for e in entries
        ]
        lines = [f"{r['setup_id']}  {r['state']:<7} {r['amount']:>8}  {r['participant_id']}  {r['reason']}" for r in rows]
        _print(args, {"bonuses": rows}, "\n".join(lines) if lines else f"no bonuses in {journal.path}")
        return 0
    finally:
        journal.close()


def _demo(args: Any) -> int:
    from .demo import run

    try:
        run(args.folder, args.keep, args.json)
    except BabeError as exc:
        if args.json:  # the error document of docs/cli.md, then main's one line on stderr
            from babe_tasks.output import dumps

            print(dumps(exc.document()), flush=True)
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
