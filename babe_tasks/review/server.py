"""The review page's WSGI app and the loop that serves it on 127.0.0.1 until Ctrl-C.

The page can pay people, so the server trusts nothing it is sent. Every request must carry the
token printed with the URL (`?token=` for the page and its files, the `X-Babe-Token` header for the
API), compared in constant time; the Host must be this server's own (a DNS-rebinding page would
send its own name); a POST must be JSON, carry the CSRF token the page got in its `<meta>`, and
come from this origin when the browser says where it comes from (`Origin`, `Sec-Fetch-Site`). Any
failure is a bare 403. Every answer forbids framing, sniffing, caching and any script or
connection but this server's own; there are no CORS headers. Requests are not logged: the URL
carries the token.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from html import escape
from importlib import resources
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..errors import UsageError, describe_unexpected
from ..steps.watch import interruptible
from .decisions import Decisions, Refused
from .queue import FILTERS, MAX_LIMIT, ReviewQueue

HOST = "127.0.0.1"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
STATIC = {
    "review.js": "text/javascript; charset=utf-8",
    "review.css": "text/css; charset=utf-8",
}
#: The largest request body read (a decision on a full selection is a few kB).
MAX_BODY = 256 * 1024

URLS = Map(
    [
        Rule("/", endpoint="page", methods=["GET"]),
        Rule("/static/<name>", endpoint="static", methods=["GET"]),
        Rule("/api/summary", endpoint="summary", methods=["GET"]),
        Rule("/api/submissions", endpoint="submissions", methods=["GET"]),
        Rule("/api/submissions/<assignment_id>", endpoint="submission", methods=["GET"]),
        Rule("/api/preview", endpoint="preview", methods=["POST"]),
        Rule("/api/decide", endpoint="decide", methods=["POST"]),
        Rule("/api/refresh", endpoint="refresh", methods=["POST"]),
    ],
    strict_slashes=False,
)


class ReviewApp:
    """The page, its files and its JSON API, behind the token, Host and CSRF checks."""

    def __init__(self, queue: ReviewQueue, decisions: Decisions, *, token: str, csrf: str, title: str):
        self.queue, self.decisions = queue, decisions
        self.token, self.csrf, self.title = token, csrf, title
        #: Set once the socket is bound (the Host and Origin checks need it).
        self.port: int | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            response = self._respond(request)
        except Exception as exc:  # noqa: BLE001 - whatever broke, the page gets one line, never a traceback
            print(f"error: {describe_unexpected(exc)}", file=sys.stderr, flush=True)
            response = _json({"error": "internal error: see the terminal running babe review"}, 500)
        response.headers.update(SECURITY_HEADERS)
        return response(environ, start_response)

    # -- the checks ---------------------------------------------------------------------------------
    def _respond(self, request: Request) -> Response:
        if not self._own_host(request.host):
            return _text("This server answers only at its own address (127.0.0.1 or localhost).", 403)
        api = request.path.startswith("/api/")
        given = request.headers.get("X-Babe-Token") if api else request.args.get("token")
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            return _text("Forbidden: open the URL babe review printed.", 403)
        if request.method == "POST" and not self._same_origin_post(request):
            return _text("Forbidden.", 403)
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return _json({"error": "no such page"}, 404) if api else _text("Not found.", 404)
        except MethodNotAllowed:
            return _json({"error": f"{request.method} is not allowed here"}, 405) if api else _text("Method not allowed.", 405)
        except HTTPException as exc:  # a redirect for a trailing slash, and the like
            return _text(exc.description or "Not found.", exc.code or 404)
        try:
            return getattr(self, f"_{endpoint}")(request, **values)
        except Refused as refused:
            return _json({"error": refused.message, **refused.extra}, refused.status)

    def _own_host(self, host: str) -> bool:
        if self.port is None:
            return False
        return host in (f"127.0.0.1:{self.port}", f"localhost:{self.port}")

    def _same_origin_post(self, request: Request) -> bool:
        if request.mimetype != "application/json":
            return False
        csrf = request.headers.get("X-Babe-CSRF") or ""
        if not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            return False
        origin = request.headers.get("Origin")
        if origin is not None and origin not in (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"):
            return False
        site = request.headers.get("Sec-Fetch-Site")
        return site is None or site == "same-origin"

    # -- the page and its files ---------------------------------------------------------------------
    def _page(self, request: Request) -> Response:
        template = _static("index.html")
        html = (
            template.replace("{{csrf}}", escape(self.csrf))
            .replace("{{title}}", escape(self.title))
            .replace("{{token}}", escape(self.token))
        )
        return Response(html, status=200, content_type="text/html; charset=utf-8")

    def _static(self, request: Request, name: str) -> Response:
        if name not in STATIC:
            return _text("Not found.", 404)
        return Response(_static(name), status=200, content_type=STATIC[name])

    # -- the API ------------------------------------------------------------------------------------
    def _summary(self, request: Request) -> Response:
        return _json(self.queue.summary())

    def _submissions(self, request: Request) -> Response:
        offset = _number(request.args.get("offset", "0"), "offset", 0, None)
        limit = _number(request.args.get("limit", "50"), "limit", 1, MAX_LIMIT)
        which = request.args.get("filter", "awaiting")
        if which not in FILTERS:
            raise Refused(400, f"filter must be one of {', '.join(FILTERS)}")
        return _json(self.queue.page(offset, limit, which))

    def _submission(self, request: Request, assignment_id: str) -> Response:
        item = self.queue.get(assignment_id)
        if item is None:
            raise Refused(404, f"no submission {assignment_id} under review")
        return _json(item.detail())

    def _preview(self, request: Request) -> Response:
        return _json(self.decisions.preview(_body(request)))

    def _decide(self, request: Request) -> Response:
        return _json(self.decisions.decide(_body(request)))

    def _refresh(self, request: Request) -> Response:
        return _json(self.decisions.refresh())


def _static(name: str) -> str:
    return resources.files("babe_tasks.review").joinpath("static", name).read_text(encoding="utf-8")


def _body(request: Request) -> Any:
    try:
        text = request.get_data(cache=False, as_text=True)
    except HTTPException:  # longer than MAX_BODY
        raise Refused(413, "the request is too large") from None
    try:
        return json.loads(text or "null")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request body is not JSON") from None


def _number(text: str, name: str, low: int, high: int | None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise Refused(400, f"{name} must be a whole number") from None
    if value < low or (high is not None and value > high):
        raise Refused(400, f"{name} must be between {low} and {high}" if high is not None else f"{name} must be at least {low}")
    return value


def _json(document: Any, status: int = 200) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8")


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


class _Quiet(WSGIRequestHandler):
    """No request log: the request line carries the token."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        pass


# -- serving --------------------------------------------------------------------------------------
class Review:
    """One review session: the queue loaded, the server bound on 127.0.0.1, the URL to open."""

    def __init__(self, settings, pm, *, port: int = 0):
        if not 0 <= port <= 65535:
            raise UsageError(f"--port {port} is not a port: give 1 to 65535, or 0 for any free one")
        self.settings = settings
        self.queue = ReviewQueue(settings, pm)
        self.queue.load()
        self.decisions = Decisions(settings, pm, self.queue)
        self.token = secrets.token_urlsafe(32)
        self.app = ReviewApp(
            self.queue, self.decisions, token=self.token, csrf=secrets.token_urlsafe(32), title=settings.experiment
        )
        # Bound here rather than by werkzeug, which answers a taken port with sys.exit(1): exit 2, one line.
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sys.platform != "win32":  # as werkzeug does: a port just closed is free again at once (not on Windows, where it shares)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listening.bind((HOST, port))
            listening.listen(64)
        except OSError as exc:
            listening.close()
            raise UsageError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc}): pick another --port, or 0") from None
        try:
            self.server = make_server(HOST, port, self.app, threaded=True, request_handler=_Quiet, fd=listening.fileno())
        finally:
            listening.close()  # the server holds its own descriptor of the socket
        self.app.port = self.server.port
        self.url = f"http://{HOST}:{self.server.port}/?token={self.token}"

    def serve(self, stop: threading.Event | None = None) -> None:
        """Serve until Ctrl-C or SIGTERM (or `stop` is set), then wait for a running decision to end."""
        stop = stop or threading.Event()
        thread = threading.Thread(target=self.server.serve_forever, name="babe-review", daemon=True)
        thread.start()
        try:
            # Ctrl-C / SIGTERM as `babe watch` takes them: the first ends the review after the decision
            # in flight, a second Ctrl-C at once.
            with interruptible(stop, notice=lambda: None):
                while not stop.is_set():
                    time.sleep(0.1)  # short sleeps, not stop.wait(): see steps.watch._polling_sleep
        finally:
            self.server.shutdown()
            self.server.server_close()
            with self.decisions.lock:  # a decision in flight finishes and is counted
                pass
