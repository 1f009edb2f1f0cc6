"""`babe local.*`: run, drive and inspect the embedded local MTurk.

Imports stay inside the task bodies: this module is loaded for `babe --list` and every other
command, and must not pull boto3, httpx or the service in with it.
"""

from __future__ import annotations

import math

from invoke import task
from invoke.exceptions import Exit

DEFAULT_SERVER = "http://127.0.0.1:8044"

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 4


# -- shared helpers ------------------------------------------------------------------------------
def _fail(message: str, code: int, as_json: bool = False) -> Exit:
    """The Exit to raise: one line on stderr and, with --json, the error document on stdout."""
    if as_json:
        import json

        print(json.dumps({"error": {"exit_code": code, "message": message, "plugin": None}}))
    return Exit(f"error: {message}", code=code)


def _number(name: str, text, kind=float, *, low=None, high=None, as_json=False):
    if text is None:
        return None
    try:
        value = kind(text)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise _fail(f"--{name} {text!r} is not {what}", EXIT_BAD_INPUT, as_json) from None
    out_of_range = (low is not None and value < low) or (high is not None and value > high)
    if (kind is float and not math.isfinite(value)) or out_of_range:
        bounds = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise _fail(f"--{name} {text} must be {bounds}", EXIT_BAD_INPUT, as_json)
    return value


def _configured_state(c, state, as_json=False):
    """`--state`, else the `local_state` setting (invoke.yaml or BABE_LOCAL_STATE), else None.

    The lifecycle tasks read the same setting, so `babe create` and `babe local.work` always talk
    to the same local MTurk.
    """
    if state:
        return state
    from babe_tasks.errors import BabeError
    from babe_tasks.settings import Settings

    try:
        configured = Settings.build(c).local_state
    except BabeError as exc:
        raise _fail(str(exc), exc.exit_code, as_json) from None
    return str(configured) if configured else None


def _endpoint_and_state(endpoint_url, state, as_json):
    if endpoint_url and state:
        raise _fail("give --endpoint-url (a running server) or --state (a state file), not both", EXIT_BAD_INPUT, as_json)
    if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
        raise _fail(f"--endpoint-url {endpoint_url!r} is not an http:// or https:// URL", EXIT_BAD_INPUT, as_json)
    return endpoint_url.rstrip("/") if endpoint_url else None


def _request(endpoint_url: str, method: str, path: str, as_json: bool, **options):
    """One HTTP request to a local MTurk server: its response and JSON body (None if not JSON).

    Unreachable is exit 4, the same line for the private routes and the requester API.
    """
    import httpx

    try:
        response = httpx.request(method, f"{endpoint_url}{path}", **options)
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise _fail(f"cannot reach the local MTurk at {endpoint_url}: {reason}", EXIT_UNREACHABLE, as_json) from None
    try:
        return response, response.json()
    except ValueError:
        return response, None


TOKEN_ENV = "BABE_LOCAL_TOKEN"


def _server_token(c, as_json: bool) -> str:
    """The token a server's private routes ask of a change: `BABE_LOCAL_TOKEN`, else the one kept in
    the state file these commands would open (`local_state` / `BABE_LOCAL_STATE` / the user's), which
    is the server's own when it serves that file (the default)."""
    import os

    from babe_tasks.simulation.statefile import read_token
    from babe_mturk.local.store import default_state_path

    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        return given
    try:
        state = _configured_state(c, None, as_json)
    except Exit:  # settings that do not load: the default state file is still worth a look
        state = None
    return read_token(state or default_state_path()) or ""


def _private_call(endpoint_url: str, method: str, route: str, as_json: bool, payload: dict | None = None, timeout: float = 600.0, *, token: str = ""):
    """Call one `/_local` route of a server; unreachable → exit 4, refused → exit 2, broken → exit 1.

    A change (POST) goes as JSON with the state's token (`serving.private_route_refusal`)."""
    from babe_tasks.simulation.serving import TOKEN_HEADER

    headers = {TOKEN_HEADER: token} if method != "GET" and token else {}
    body = (payload if payload is not None else {}) if method != "GET" else None
    response, document = _request(endpoint_url, method, route, as_json, json=body, headers=headers, timeout=timeout)
    if response.status_code == 200 and isinstance(document, dict):
        return document
    message = _error_message(document) or f"HTTP {response.status_code}"
    if response.status_code == 404 and not isinstance(document, dict):
        message = f"{endpoint_url} does not look like a local MTurk (no {route})"
    if response.status_code == 403 and "token" in message.lower():
        message += f"; set {TOKEN_ENV} to it"
    code = EXIT_FAILED if response.status_code >= 500 else EXIT_BAD_INPUT
    raise _fail(f"{route}: {message}", code, as_json)


def _requester_call(endpoint_url: str, operation: str, params: dict, as_json: bool) -> dict:
    """One requester operation on a server, unsigned (the local MTurk does not check signatures)."""
    headers = {"X-Amz-Target": f"MTurkRequesterServiceV20170117.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    response, document = _request(endpoint_url, "POST", "/", as_json, json=params, headers=headers, timeout=60)
    if response.status_code == 200 and isinstance(document, dict):
        return document
    message = _error_message(document) or f"HTTP {response.status_code}"
    raise _fail(f"{operation}: {message}", EXIT_FAILED if response.status_code >= 500 else EXIT_BAD_INPUT, as_json)


def _error_message(document) -> str | None:
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if document.get("Message"):
        return str(document["Message"])
    return None


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


# -- local.serve -----------------------------------------------------------------------------------
@task(
    auto_shortflags=False,
    help={
        "host": "address to listen on (default 127.0.0.1: this machine only)",
        "port": "port to listen on (default 8044; 0 picks a free one)",
        "state": "state file (default: BABE_LOCAL_STATE or the user's data directory)",
        "faults": "inject faults, e.g. throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7",
        "verbose": "log every request on stderr",
    },
)
def serve(c, host="127.0.0.1", port="8044", state=None, faults=None, verbose=False):
    """Serve the local MTurk over HTTP for the AWS CLI and any other client, until Ctrl-C."""
    import errno
    import socket
    import sys

    from babe_mturk.local import server as server_module
    from babe_mturk.local.faults import parse
    from babe_mturk.local.store import default_state_path

    port_number = _number("port", port, int, low=0, high=65535)
    if faults:
        try:
            parse(faults)
        except ValueError as exc:
            raise _fail(str(exc), EXIT_BAD_INPUT) from None
    state_path = _configured_state(c, state) or str(default_state_path())

    def announce(srv):
        print(f"local MTurk serving {srv.url} (state: {state_path}){' with faults ' + faults if faults else ''}; Ctrl-C stops it", flush=True)
        # The private routes' token: babe's own commands read it from the state file; another
        # program sends it in this header (docs/localturk.md, "Private routes").
        print(f"private routes (/_local/...) token: {srv.token} (header X-Babe-Local-Token, or {TOKEN_ENV} for babe local.*)", flush=True)

    try:
        server_module.serve(state_path, host, port_number, faults or None, verbose=verbose, announce=announce)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _fail(f"port {port_number} on {host} is in use: choose another with --port", EXIT_BAD_INPUT) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES) or isinstance(exc, socket.gaierror):
            raise _fail(f"cannot listen on {host}:{port_number}: {exc.strerror or exc}", EXIT_BAD_INPUT) from None
        raise
    sys.stdout.flush()


# -- local.backend ---------------------------------------------------------------------------------
@task(
    auto_shortflags=False,
    iterable=["experiment"],
    help={
        "host": "address to listen on (default 127.0.0.1: this machine only)",
        "port": "port to listen on (default 8099; 0 picks a free one)",
        "experiment": "an experimentID the backend knows (repeat the flag; default 1)",
        "user": "the results' basic-auth user (default admin)",
        "password_env": "the environment variable holding the results' password (default: no password)",
    },
)
def backend(c, host="127.0.0.1", port="8099", experiment=None, user="admin", password_env=None):
    """Serve a fake _babe backend (submit routes, CSV and JSON results) until Ctrl-C: data to try the lifecycle with."""
    import errno
    import os

    from babe_tasks.simulation.serving import serve_until_stopped
    from babe_tasks.testing.backend import BackendServer, FakeBackend

    port_number = _number("port", port, int, low=0, high=65535)
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise _fail(f"{password_env} is not set: export the password there (never on the command line)", EXIT_BAD_INPUT)
    ids = [part.strip() for value in experiment or ["1"] for part in str(value).split(",") if part.strip()]
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise _fail(f"experiment {bad[0]!r} is not a _babe experimentID: use the number in config_deploy.js", EXIT_BAD_INPUT)
    fake = FakeBackend(user=user, password=password)
    for experiment_id in ids:
        fake.add_experiment(experiment_id)
    try:
        server = BackendServer(fake, host, port_number)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _fail(f"port {port_number} on {host} is in use: choose another with --port", EXIT_BAD_INPUT) from None
        raise _fail(f"cannot listen on {host}:{port_number}: {exc.strerror or exc}", EXIT_BAD_INPUT) from None

    def announce(srv):
        routes = ", ".join(f"{srv.url}/api/submit_experiment/{i}" for i in ids)
        print(f"fake _babe backend serving {srv.url}: submit to {routes}; results at "
              f"{srv.url}/api/retrieve_experiment/<id> (data is kept in memory; Ctrl-C stops it)", flush=True)

    serve_until_stopped(server, server.server_close, announce=announce)


# -- local.work ------------------------------------------------------------------------------------
@task(
    auto_shortflags=False,
    iterable=["hit"],
    help={
        "hit": "a HIT to work on (repeat the flag for several; default: this experiment's HITs, from the ledger)",
        "all": "work every assignable HIT of the local MTurk, other experiments' too",
        "workers": "how many simulated workers take part (default: the simulator's choice)",
        "worker_ids": "these worker ids instead (comma-separated, e.g. A1B2C3D4E5F6G7,A7G6F5E4D3C2B1)",
        "locale": "the new workers' country, e.g. US, US-NY or US,CA (default US)",
        "return_rate": "share of workers who return the assignment instead of submitting (0-1)",
        "abandon_rate": "share of workers who abandon it until its deadline (0-1)",
        "lose_rate": "share of submissions whose backend POST is lost (0-1)",
        "post_to": "a _babe backend URL the workers POST their trial data to before submitting",
        "seed": "a seed, for the same workers and choices every time",
        "endpoint_url": "a running `babe local.serve` (else the state file is opened directly)",
        "state": "state file (default: BABE_LOCAL_STATE or the user's data directory)",
        "json": "print one JSON document",
    },
)
def work(c, hit=None, workers=None, worker_ids=None, locale="US", return_rate="0", abandon_rate="0",
         lose_rate="0", post_to=None, seed=None, endpoint_url=None, state=None, json=False, all=False):  # noqa: A002 - the flag is --all
    """Let simulated workers accept, return, abandon and submit the HITs' assignments."""
    as_json = json
    endpoint = _endpoint_and_state(endpoint_url, state, as_json)
    if workers is not None and worker_ids:
        raise _fail("give --workers or --worker-ids, not both", EXIT_BAD_INPUT, as_json)
    kwargs: dict = {
        "locale": locale,
        "return_rate": _number("return-rate", return_rate, low=0.0, high=1.0, as_json=as_json),
        "abandon_rate": _number("abandon-rate", abandon_rate, low=0.0, high=1.0, as_json=as_json),
        "lose_rate": _number("lose-rate", lose_rate, low=0.0, high=1.0, as_json=as_json),
    }
    if kwargs["return_rate"] + kwargs["abandon_rate"] > 1.0:
        raise _fail("--return-rate and --abandon-rate add up to more than 1", EXIT_BAD_INPUT, as_json)
    if hit:
        kwargs["hit_ids"] = list(dict.fromkeys(h.strip() for h in hit if h.strip()))
    named = list(kwargs.get("hit_ids", []))  # checked one by one below; the ledger's need no check
    if workers is not None:
        kwargs["workers"] = _number("workers", workers, int, low=1, as_json=as_json)
    if worker_ids:
        ids = [w.strip() for w in worker_ids.split(",") if w.strip()]
        import re

        bad = [w for w in ids if not re.fullmatch(r"A[A-Z0-9]+", w)]
        if bad or not ids:
            raise _fail(f"--worker-ids: {', '.join(bad) or worker_ids!r} is not a worker id (A followed by capitals and digits)", EXIT_BAD_INPUT, as_json)
        kwargs["worker_ids"] = ids
    if post_to:
        if not post_to.startswith(("http://", "https://")):
            raise _fail(f"--post-to {post_to!r} is not an http:// or https:// URL", EXIT_BAD_INPUT, as_json)
        kwargs["post_to"] = post_to
    if seed is not None:
        kwargs["seed"] = _number("seed", seed, int, as_json=as_json)

    if not hit and not all:  # this experiment's HITs only (engineer R, issue 14)
        kwargs["hit_ids"] = _experiment_hits(c, as_json)
    if endpoint:
        for hit_id in named:
            _requester_call(endpoint, "GetHIT", {"HITId": hit_id}, as_json)
        result = _private_call(endpoint, "POST", "/_local/work", as_json, kwargs, token=_server_token(c, as_json))
    else:
        result = _simulate_locally(_configured_state(c, state, as_json), kwargs, as_json, named)
    if as_json:
        import json as json_module

        print(json_module.dumps(result, indent=2, default=str))
    else:
        _console().print(_work_summary(result, kwargs))


def _simulate_locally(state, kwargs, as_json, named=()):
    from babe_mturk.local.errors import TurkError
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    turk = LocalTurk(state)
    try:
        for hit_id in named:
            turk.call("GetHIT", {"HITId": hit_id})  # a mistyped id is an error, not "no work"
        return simulate(turk, **kwargs)
    except TurkError as exc:
        raise _fail(exc.message, EXIT_BAD_INPUT, as_json) from None
    except (TypeError, ValueError) as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT, as_json) from None
    finally:
        turk.store.close()


def _experiment_hits(c, as_json) -> list[str]:
    """The HITs of this folder's experiment on the local MTurk, from its ledger (engineer R, issue 14).

    The local MTurk is one per user, shared by every experiment: working "every open HIT" from one
    experiment's folder fills other experiments' HITs, and their data lands in this one's results.
    """
    from babe_tasks import folders
    from babe_tasks.errors import BabeError
    from babe_tasks.ledger import Ledger
    from babe_tasks.settings import Settings

    try:
        settings = Settings.build(c)
        ids: list[str] = []
        if settings.ledger_url or (folders.state_dir(settings.folder) / "ledger.sqlite").is_file():
            with Ledger.of(settings) as ledger:
                ids = [h.hit_id for h in ledger.hits(settings.experiment, "local", "mturk") if h.hit_id and not h.gone]
    except BabeError as exc:
        raise _fail(str(exc), exc.exit_code, as_json) from None
    if not ids:
        raise _fail(
            f"experiment {settings.experiment} has no open HITs on the local MTurk in this folder's ledger: post them "
            "with babe create, name HITs with --hit, or work every open HIT of the local MTurk with --all",
            EXIT_BAD_INPUT, as_json,
        )
    return ids


def _work_summary(result: dict, kwargs: dict) -> str:
    def n(key):
        value = result.get(key, [])
        return value if isinstance(value, int) else len(value)

    people = n("workers")
    text = (
        f"{people} simulated worker{'s' if people != 1 else ''} looked for work: "
        f"{n('submitted')} submitted, {n('returned')} returned, {n('abandoned')} abandoned"
    )
    if kwargs.get("post_to"):
        text += f"; {n('posted')} posted their trial data to {kwargs['post_to']}"
    if n("lost"):
        text += f"; {n('lost')} submitted without their data reaching the backend"
    if n("failed"):
        text += f"; {n('failed')} submissions were refused by MTurk"
    if n("refused"):
        text += f"; {n('refused')} could not take a HIT (qualifications, a block, or no slot left)"
    return text + "."


# -- local.clock -----------------------------------------------------------------------------------
@task(
    auto_shortflags=False,
    help={
        "advance": "move the clock forward, e.g. 30s, 45m, 25h, 2d, 1w (never backward)",
        "endpoint_url": "a running `babe local.serve` (else the state file is opened directly)",
        "state": "state file (default: BABE_LOCAL_STATE or the user's data directory)",
        "json": "print one JSON document",
    },
)
def clock(c, advance=None, endpoint_url=None, state=None, json=False):
    """Show the local MTurk's clock, or move it forward for every process sharing the state."""
    from babe_tasks.durations import parse_duration
    from babe_mturk.local.server import clock_reading

    as_json = json
    endpoint = _endpoint_and_state(endpoint_url, state, as_json)
    seconds = None
    if advance is not None:
        try:
            seconds = parse_duration(advance)
        except ValueError as exc:
            raise _fail(f"--advance: {exc}", EXIT_BAD_INPUT, as_json) from None
    if endpoint:
        token = _server_token(c, as_json) if seconds else ""
        reading = _private_call(endpoint, "POST" if seconds else "GET", "/_local/clock", as_json, {"advance": seconds} if seconds else None, token=token)
    else:
        from babe_mturk.local.store import Store

        store = Store(_configured_state(c, state, as_json))
        try:
            if seconds:
                try:
                    store.advance_clock(seconds)
                except ValueError as exc:  # beyond the ten years a local clock may run ahead
                    raise _fail(f"--advance {advance}: {exc}", EXIT_BAD_INPUT, as_json) from None
            reading = clock_reading(store)
        finally:
            store.close()
    document = {"now": _iso(reading["now"]), "offset_seconds": reading["offset"], "advanced_seconds": seconds or 0}
    if as_json:
        import json as json_module

        print(json_module.dumps(document))
        return
    moved = f"moved forward {_span(seconds)}; " if seconds else ""
    ahead = f"{_span(reading['offset'])} ahead of this machine" if reading["offset"] else "the same as this machine's"
    _console().print(f"local clock: {document['now']} ({moved}{ahead})")


# -- local.stats / local.faults --------------------------------------------------------------------
@task(
    auto_shortflags=False,
    help={
        "endpoint_url": f"the running `babe local.serve` (default {DEFAULT_SERVER})",
        "reset": "set the counters back to zero after reading them",
        "json": "print one JSON document",
    },
)
def stats(c, endpoint_url=DEFAULT_SERVER, reset=False, json=False):
    """Request counts per operation, errors, and injected faults of a running local MTurk server."""
    as_json = json
    endpoint = _endpoint_and_state(endpoint_url, None, as_json)
    document = _private_call(endpoint, "GET", "/_local/stats", as_json)
    if reset:
        _private_call(endpoint, "POST", "/_local/stats/reset", as_json, token=_server_token(c, as_json))
    if as_json:
        import json as json_module

        print(json_module.dumps(document, indent=2))
        return
    from babe_mturk.local.stats import render

    _console().print(render(document))


@task(
    auto_shortflags=False,
    help={
        "spec": "e.g. throttle=0.2,fault=0.05,drop=0.05,lost=0.05,latency_ms=20,rate=50,seed=7; 'off' clears",
        "endpoint_url": f"the running `babe local.serve` (default {DEFAULT_SERVER})",
        "json": "print one JSON document",
    },
)
def faults(c, spec, endpoint_url=DEFAULT_SERVER, json=False):
    """Set (or clear with 'off') the faults a running local MTurk server injects."""
    from babe_mturk.local.faults import parse

    as_json = json
    endpoint = _endpoint_and_state(endpoint_url, None, as_json)
    spec = "" if spec.strip().lower() in ("", "off", "none") else spec.strip()
    try:
        parse(spec)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT, as_json) from None
    document = _private_call(endpoint, "POST", "/_local/faults", as_json, {"spec": spec}, token=_server_token(c, as_json))
    if as_json:
        import json as json_module

        print(json_module.dumps(document))
        return
    _console().print(f"faults on {endpoint}: {document.get('spec') or 'none'}")


# -- local.reset -----------------------------------------------------------------------------------
@task(
    auto_shortflags=False,
    help={
        "state": "state file to delete (default: BABE_LOCAL_STATE or the user's data directory)",
        "yes": "really delete it: every local HIT, assignment, qualification and the balance",
        "json": 'print one JSON document: {"state", "deleted"}',
    },
)
def reset(c, state=None, yes=False, json=False):
    """Delete a local MTurk state file (a fresh account with $10,000.00 next time)."""
    from pathlib import Path

    from babe_mturk.local.store import default_state_path

    as_json = json
    state = _configured_state(c, state, as_json)
    path = Path(state).expanduser() if state else default_state_path()
    if not yes:
        raise _fail(f"refusing to delete {path} without --yes", EXIT_BAD_INPUT, as_json)
    removed = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            if candidate.is_dir():
                raise _fail(f"{candidate} is a directory, not a state file", EXIT_BAD_INPUT, as_json)
            candidate.unlink()
            removed.append(candidate)
    if as_json:
        import json as json_module

        print(json_module.dumps({"state": str(path), "deleted": bool(removed)}))
    else:
        _console().print(f"deleted {path}" if removed else f"nothing to delete: {path} does not exist")


# -- local.demo ------------------------------------------------------------------------------------
@task(auto_shortflags=False, help={"state": "keep the demo's state in this file (default: a temporary one)"})
def demo(c, state=None):
    """A HIT's whole life against the local MTurk: create, work, review, approve, expire, delete."""
    from babe_mturk.local.demo import run

    run(_console(), state=state)
