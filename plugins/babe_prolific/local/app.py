"""The local Prolific as a WSGI application: routing, token auth, Prolific's error shape, stats.

One app serves both ways in: `server.serve_in_thread` puts it behind a real HTTP server, and the
adapter's target `local` calls it in-process through `httpx.WSGITransport` (`inprocess.py`), so a
request gets the same status and body either way. The researcher API lives under `/api/v1/` with
the reference's paths (trailing slashes included); `/_local/...` are the test controls the real
service does not have (clock, participants, payments, account, faults, stats) — never faulted, and
a change there must be JSON carrying the state file's own token (`X-Babe-Local-Token`, printed by
`babe-prolific serve`; `Store.token`), not Prolific's API token: a web page on the same machine
must not move the clock or the account (the HTTP server also refuses foreign Hosts and Origins).
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from babe_tasks.configvalues import switched_on
from babe_tasks.simulation.serving import TOKEN_HEADER, change_refusal

from . import bonuses, money, studies, submissions
from . import conformance
from .errors import AUTH, METHOD, NOT_FOUND, SERVER, VALIDATION, ApiError
from .faults import Injector, from_environment, injector
from .store import Store

API = "/api/v1"
_ID = r"(?P<id>[A-Za-z0-9_-]+)"


@dataclass
class Request:
    method: str
    path: str  # below /api/v1 (or the whole path for /_local)
    query: dict[str, str]
    body: Any
    base_url: str  # scheme://host[:port]
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["LocalProlific", Request, str | None], tuple[int, Any]]

#: (method, pattern, name used by the stats, handler). Exact paths come before `{id}` patterns.
ROUTES: list[tuple[str, re.Pattern, str, Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        regex = re.compile("^" + pattern.replace("{id}", _ID) + "$")
        ROUTES.append((method, regex, f"{method} {pattern}", handler))
        return handler

    return register


class LocalProlific:
    """The WSGI app over one state file."""

    def __init__(self, state_path: str | Path | None = None, *, faults: str | Injector | None = None, conform: bool | None = None):
        self.store = Store(state_path)
        #: The private routes' token, drawn once per state file (`StateFile.token`).
        self.local_token = self.store.token()
        self.faults: Injector | None = injector(faults) if faults is not None else from_environment()
        #: Check every answer against the published API (a non-conforming one becomes a 500);
        #: None reads BABE_PROLIFIC_CONFORM, which the test suite sets.
        self.conform = conform if conform is not None else switched_on("BABE_PROLIFIC_CONFORM")

    def close(self) -> None:
        self.store.close()

    # -- WSGI -------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response) -> list[bytes]:
        status, headers, body = self.respond(environ)
        start_response(f"{status} {_phrase(status)}", headers)
        return [body]

    def respond(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for one request; raises `Dropped`/`AnswerLost` under faults."""
        path = environ.get("PATH_INFO") or "/"
        if path.startswith("/_local/"):
            return self._private(environ, path)
        if not path.startswith(API + "/"):
            return encode_error(ApiError(404, f"No route {path}: the API lives under {API}/.", code=NOT_FOUND))
        faults = self.faults
        if faults is None:
            return self._api(environ, path)
        answer_holder: dict = {}

        def thunk():
            answer_holder["answer"] = self._api(environ, path)
            return answer_holder["answer"]

        # The API counts what it answers; a request the injector refused or dropped before the
        # API saw it is counted here (a dropped one with status 0: no answer left the server).
        route = f"{environ.get('REQUEST_METHOD', 'GET')} {_template(path[len(API):])}"
        try:
            answer = faults.apply(path, thunk)
        except Exception:
            if "answer" not in answer_holder:
                self._count(route, 0)
            raise
        if "answer" not in answer_holder:
            self._count(route, answer[0])
        return answer

    def _api(self, environ: dict, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        sub = path[len(API):]
        name = f"{method} {_template(sub)}"
        try:
            request = _request(environ, sub)
            self._authenticate(request)
            submissions.tick(self.store)
            webhooks.on_request(self.store)
            handler, ident, name = _match(method, sub)
            self._refuse_what_the_spec_forbids(environ, request, sub)
            status, payload = handler(self, request, ident)
            answer = _encode_payload(status, payload)
        except ApiError as error:
            answer = encode_error(error)
        except Exception:  # noqa: BLE001 - a bug: a 500 in Prolific's shape, never a hung client
            traceback.print_exc(file=sys.stderr)
            answer = encode_error(ApiError(500, "The local Prolific failed on this request (see its log).", code=SERVER))
        if self.conform:
            answer = self._conforming(method, sub, answer)
        self._count(name, answer[0])
        return answer

    @staticmethod
    def _refuse_what_the_spec_forbids(environ: dict, request: Request, sub: str) -> None:
        """A 400 per field for what the published schema forbids; the handler judges the rest."""
        length = environ.get("CONTENT_LENGTH") or "0"
        sent = request.body if length.isdigit() and int(length) > 0 else None
        problems = conformance.request_problems(request.method, sub, request.query, sent)
        if problems:
            raise ApiError(400, problems)

    @staticmethod
    def _conforming(method: str, sub: str, answer: tuple[int, list[tuple[str, str]], bytes]) -> tuple[int, list[tuple[str, str]], bytes]:
        """The answer, or a loud 500 naming why it is not one the published API allows."""
        status, headers, raw = answer
        kind = next((value for key, value in headers if key.lower() == "content-type"), None)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw) if (kind or "").startswith("application/json") else raw.decode()
            except ValueError:
                body = raw.decode(errors="replace")
        problems = conformance.response_problems(method, sub, status, body, kind)
        if not problems:
            return answer
        print(f"local Prolific: {method} {API}{sub} answered {status} outside the published API:", *problems, sep="\n  ", file=sys.stderr)
        detail = f"The local Prolific's {status} answer does not conform to Prolific's published API: " + "; ".join(problems)
        return encode_error(ApiError(500, detail, code=SERVER))

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Token" or not token.strip():
            raise ApiError(401, "Authentication credentials were not provided (header Authorization: Token <token>).", code=AUTH)
        with self.store.read() as tx:
            if Store.token_refused(tx, token.strip()):
                raise ApiError(401, "Invalid token.", code=AUTH)

    def _count(self, name: str, status: int) -> None:
        with self.store.write() as tx:
            tx.execute(
                "INSERT INTO calls (route, status, count) VALUES (?, ?, 1)"
                " ON CONFLICT (route, status) DO UPDATE SET count = count + 1",
                (name, status),
            )

    # -- private routes ---------------------------------------------------------------------------
    def _private(self, environ: dict, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            if method != "GET":
                headers = {"content-type": environ.get("CONTENT_TYPE", ""), TOKEN_HEADER.lower(): environ.get("HTTP_X_BABE_LOCAL_TOKEN", "")}
                refused = change_refusal(headers, self.local_token)
                if refused is not None:
                    raise ApiError(refused[0], refused[1], code=AUTH if refused[0] == 403 else VALIDATION)
            request = _request(environ, path)
            if method == "GET" and request.body is not None:
                raise ApiError(400, "A GET to a private route takes no body: POST a change (JSON, with the X-Babe-Local-Token header).")
            params = request.body if request.body is not None else {}
            if not isinstance(params, dict):
                raise ApiError(400, "The body must be a JSON object.")
            handler = PRIVATE.get((method, path.rstrip("/")))
            if handler is None:
                raise ApiError(404, f"No route {method} {path}.", code=NOT_FOUND)
            return _encode_payload(200, handler(self, params, request))
        except ApiError as error:
            return encode_error(error)
        except (TypeError, ValueError) as exc:
            return encode_error(ApiError(400, str(exc)))
        except Exception:  # noqa: BLE001 - a bug: answer, never hang the caller
            traceback.print_exc(file=sys.stderr)
            return encode_error(ApiError(500, "The local Prolific failed on this request (see its log).", code=SERVER))


# -- routing helpers ------------------------------------------------------------------------------
def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _template(sub: str) -> str:
    """A path with its ids replaced by {id}, for the per-endpoint stats."""
    for _, regex, name, _ in ROUTES:
        if regex.match(sub):
            return name.split(" ", 1)[1]
    return sub


def _match(method: str, sub: str) -> tuple[Handler, str | None, str]:
    allowed = []
    for verb, regex, name, handler in ROUTES:
        found = regex.match(sub)
        if found:
            if verb == method:
                return handler, found.groupdict().get("id"), name
            allowed.append(verb)
    if allowed:
        raise ApiError(405, f'Method "{method}" not allowed (use {", ".join(allowed)}).', code=METHOD)
    hint = " (Prolific's paths end in /)" if not sub.endswith("/") else ""
    raise ApiError(404, f"No route {method} {API}{sub}{hint}.", code=NOT_FOUND)


def _request(environ: dict, path: str) -> Request:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    length = environ.get("CONTENT_LENGTH") or "0"
    raw = environ["wsgi.input"].read(int(length)) if length.isdigit() and int(length) > 0 else b""
    body = None
    if raw.strip():
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "The request body is not valid JSON.") from None
    elif method in ("POST", "PATCH"):
        body = {}
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return Request(
        method=method,
        path=path if path.startswith("/_local") else API + path,
        query=dict(parse_qsl(environ.get("QUERY_STRING", ""))),
        body=body,
        base_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
        headers=headers,
    )


class Text(str):
    """An answer that is not JSON (a CSV export): the text and its content type."""

    def __new__(cls, text: str, content_type: str):
        made = super().__new__(cls, text)
        made.content_type = content_type
        return made


def _encode_payload(status: int, payload: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """JSON, as Prolific answers; a plain `str` is a JSON string (bulk-approve, pay), a `Text` is sent as it is."""
    if payload is None:
        return status, [("Content-Length", "0")], b""
    if isinstance(payload, Text):
        body = payload.encode()
        return status, [("Content-Type", payload.content_type), ("Content-Length", str(len(body)))], body
    body = json.dumps(payload).encode()
    extra = list(getattr(payload, "extra_headers", ()))  # e.g. X-Hook-Secret (webhooks.Headed)
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra], body


def encode_error(error: ApiError) -> tuple[int, list[tuple[str, str]], bytes]:
    return _encode_payload(error.status, error.body())


# -- the researcher API ---------------------------------------------------------------------------
@route("GET", "/users/me/")
def _me(app: LocalProlific, request: Request, _: str | None):
    """The spec's User (`id`, `email`) and undocumented extras real accounts carry: `name`,
    `currency_code`, `balance`/`available_balance` (minor units), `fees_percentage` and
    `vat_percentage` as fractions (0.3333, as Prolific's objects carry them), the account's
    `minimum_reward_per_hour` and `current_workspace_id` (docs/localprolific.md)."""
    hundred = Decimal(100)
    with app.store.read() as tx:
        available = Store.balance(tx)
        locked = _locked(tx)
        return 200, {
            "id": Store.meta(tx, "user_id"),
            "email": "researcher@localhost",
            "name": "Local Researcher",
            "currency_code": Store.meta(tx, "currency_code"),
            "balance": available + locked.total,
            "available_balance": available,
            "fees_percentage": float(Store.percentage(tx, "fees_percentage") / hundred),
            "vat_percentage": float(Store.percentage(tx, "vat_percentage") / hundred),
            "minimum_reward_per_hour": int(Store.meta(tx, "minimum_reward_per_hour")),
            "current_workspace_id": Store.meta(tx, "workspace_id"),
        }


def _locked(tx) -> money.Charge:
    """Money locked in published studies for places not yet paid out (approved)."""
    total = money.ZERO
    for row in tx.execute("SELECT id, funded_places, data FROM studies WHERE status != 'UNPUBLISHED'"):
        counts = studies.tally(tx, row["id"])
        unpaid = row["funded_places"] - counts["APPROVED"] - counts["PARTIALLY APPROVED"]
        if unpaid > 0:
            total = total + studies.unit(json.loads(row["data"])).times(unpaid)
    return total


@route("GET", "/workspaces/{id}/balance/")
def _balance(app: LocalProlific, request: Request, workspace_id: str | None):
    with app.store.read() as tx:
        if workspace_id != Store.meta(tx, "workspace_id"):
            other = workspaces.empty_balance(tx, workspace_id)  # a workspace made later: its own, empty wallet
            if other is None:
                raise ApiError(404, f"Workspace {workspace_id} was not found.", code=NOT_FOUND)
            return 200, other
        available = Store.balance(tx)
        locked = _locked(tx)
        return 200, {
            "currency_code": Store.meta(tx, "currency_code"),
            "total_balance": available + locked.total,
            "balance_breakdown": {"rewards": locked.amount, "fees": locked.fees, "vat": locked.vat},
            "available_balance": available,
        }


route("POST", "/studies/")(lambda app, request, _: studies.create(app.store, request.body))
route("GET", "/studies/")(lambda app, request, _: studies.list_all(app.store, request))
route("GET", "/projects/{id}/studies/")(lambda app, request, ident: studies.list_all(app.store, request, project=ident))
route("GET", "/studies/{id}/")(lambda app, request, ident: studies.get(app.store, ident))
route("PATCH", "/studies/{id}/")(lambda app, request, ident: studies.patch(app.store, ident, request.body))
route("DELETE", "/studies/{id}/")(lambda app, request, ident: studies.delete(app.store, ident))
route("POST", "/studies/{id}/transition/")(lambda app, request, ident: studies.transition(app.store, ident, request.body))
route("POST", "/studies/{id}/clone/")(lambda app, request, ident: studies.clone(app.store, ident, request.body))
route("GET", "/studies/{id}/export/")(lambda app, request, ident: studies.export(app.store, ident, request))
route("POST", "/study/{id}/test-study")(lambda app, request, ident: studies.test_study(app.store, ident, request.body, request.base_url))
route("GET", "/studies/{id}/submissions/")(lambda app, request, ident: submissions.list_for_study(app.store, ident, request))
route("GET", "/studies/{id}/cost/")(lambda app, request, ident: studies.cost(app.store, ident, request))
route("POST", "/studies/{id}/calculate-screen-out-payment/")(lambda app, request, ident: submissions.screen_out_payment(app.store, ident, request.body))
route("POST", "/studies/{id}/screen-out-submissions/")(lambda app, request, ident: submissions.screen_out(app.store, ident, request.body))
route("POST", "/study-cost-calculator/")(lambda app, request, _: studies.calculator(app.store, request.body))
route("GET", "/submissions/")(lambda app, request, _: submissions.list_all(app.store, request))
route("POST", "/submissions/bulk-approve/")(lambda app, request, _: submissions.bulk_approve(app.store, request.body))
route("POST", "/submissions/bonus-payments/")(lambda app, request, _: bonuses.setup(app.store, request.body))
route("GET", "/submissions/{id}/")(lambda app, request, ident: submissions.get(app.store, ident))
route("POST", "/submissions/{id}/transition/")(lambda app, request, ident: submissions.transition(app.store, ident, request.body))
route("POST", "/submissions/{id}/request-return/")(lambda app, request, ident: submissions.request_return(app.store, ident, request.body))
route("POST", "/bulk-bonus-payments/{id}/pay/")(lambda app, request, _ident: bonuses.pay(app.store, _ident))

# Workspaces and projects, participant groups, study collections, messages and hooks: each module
# registers its own routes (imported here, after `route` exists).
from . import workspaces  # noqa: E402,F401
from . import groups  # noqa: E402,F401
from . import collections as study_collections  # noqa: E402,F401
from . import messages  # noqa: E402,F401
from . import webhooks  # noqa: E402


# -- the private routes -----------------------------------------------------------------------------
def _clock(app: LocalProlific, params: dict, request: Request) -> dict:
    """GET: `{"now", "offset"}`; POST `{"advance_seconds": 90000}` or `{"advance": "2d"}` first moves it."""
    from babe_tasks.durations import DurationError, parse_duration

    unknown = set(params) - {"advance_seconds", "advance"}
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(sorted(unknown))}; expected advance_seconds or advance")
    seconds = params.get("advance_seconds")
    if params.get("advance") is not None:
        try:
            seconds = parse_duration(params["advance"])
        except DurationError as exc:
            raise ApiError(400, str(exc)) from None
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ApiError(400, "advance_seconds must be a number of seconds, 0 or more")
        app.store.advance_clock(seconds)
        submissions.tick(app.store)
    return app.store.clock()


def _stats(app: LocalProlific, params: dict, request: Request) -> dict:
    return stats(app.store, app.faults)


def _stats_reset(app: LocalProlific, params: dict, request: Request) -> dict:
    with app.store.write() as tx:
        tx.execute("DELETE FROM calls")
    if app.faults is not None:
        app.faults.reset_counts()
    return stats(app.store, app.faults)


def _participants(app: LocalProlific, params: dict, request: Request) -> dict:
    from .participants import simulate

    return {"participants": simulate(app.store.path, **params)}


def _payments(app: LocalProlific, params: dict, request: Request) -> dict:
    return {"payments": bonuses.payments(app.store, request.query.get("study") or params.get("study"))}


def _account(app: LocalProlific, params: dict, request: Request) -> dict:
    """GET the account's settings; POST changes them (balance in minor units, percentages, ...)."""
    return app.store.configure(**params) if params else app.store.account()


def _faults(app: LocalProlific, params: dict, request: Request) -> dict:
    """`{"spec": "throttle=0.2,seed=7"}` replaces the injector, `{"spec": ""}` clears it."""
    if "spec" in params:
        spec = params["spec"]
        if spec is not None and not isinstance(spec, str):
            raise ApiError(400, "'spec' must be a string like 'throttle=0.2,seed=7'")
        app.faults = injector(spec or None)
    return {"spec": str(app.faults.spec) if app.faults else None, "counts": app.faults.counts() if app.faults else None}


PRIVATE: dict[tuple[str, str], Callable[[LocalProlific, dict, Request], Any]] = {
    ("GET", "/_local/clock"): _clock,
    ("POST", "/_local/clock"): _clock,
    ("GET", "/_local/stats"): _stats,
    ("POST", "/_local/stats/reset"): _stats_reset,
    ("POST", "/_local/participants"): _participants,
    ("GET", "/_local/payments"): _payments,
    ("GET", "/_local/account"): _account,
    ("POST", "/_local/account"): _account,
    ("GET", "/_local/faults"): _faults,
    ("POST", "/_local/faults"): _faults,
}


def stats(store: Store, faults: Injector | None = None) -> dict:
    """Calls per endpoint (`{"POST /studies/": 3, ...}`), per endpoint and status, and faults injected."""
    with store.read() as tx:
        rows = tx.execute("SELECT route, status, count FROM calls ORDER BY route, status").fetchall()
    calls: dict[str, int] = {}
    by_status: dict[str, dict[str, int]] = {}
    for row in rows:
        calls[row["route"]] = calls.get(row["route"], 0) + row["count"]
        by_status.setdefault(row["route"], {})[str(row["status"])] = row["count"]
    return {"calls": calls, "by_status": by_status, "faults": faults.counts() if faults else None}


def make_app(state_path: str | Path | None = None, *, faults: str | Injector | None = None, conform: bool | None = None) -> LocalProlific:
    """The WSGI app over `state_path` (default: `BABE_PROLIFIC_STATE` or `.babe/prolific.sqlite`).

    `faults` is a spec string (see faults.py); None reads `BABE_PROLIFIC_FAULTS`. `conform`
    checks every answer against the published API; None reads `BABE_PROLIFIC_CONFORM`.
    """
    return LocalProlific(state_path, faults=faults, conform=conform)
