"""`babe review`'s server: the token, Host, CSRF and Origin checks, its headers, the page, paging, holds.

Each test starts the real program (`babe review --no-browser` in a child process, a real socket
on 127.0.0.1) over an experiment with submitted work on the local MTurk, speaks HTTP to it, and
checks what the platform then holds.
"""

from __future__ import annotations

import signal

import pytest
from werkzeug.test import Client

from babe_tasks.review.server import SECURITY_HEADERS, ReviewApp

from babe_tasks.testing.experiment import write_plugin

ROUTES = [
    ("GET", "/"),
    ("GET", "/static/review.js"),
    ("GET", "/static/review.css"),
    ("GET", "/api/summary"),
    ("GET", "/api/submissions?offset=0&limit=50&filter=all"),
    ("GET", "/api/submissions/{id}"),
    ("POST", "/api/preview"),
    ("POST", "/api/decide"),
    ("POST", "/api/refresh"),
    ("GET", "/nowhere"),
]


def statuses(babe_turk, ids) -> dict[str, str]:
    client = babe_turk.client
    return {i: client.get_assignment(AssignmentId=i)["Assignment"]["AssignmentStatus"] for i in ids}


def test_the_url_is_printed_on_loopback_and_ctrl_c_ends_with_a_summary(submitted, start_review):
    work = submitted(2)
    served = start_review()

    assert served.url.startswith("http://127.0.0.1:")
    assert len(served.token) >= 40  # token_urlsafe(32)
    assert served.lines[1].strip() == "2 submission(s) of exp1 on local await a decision. Ctrl-C ends the review."
    assert served.csrf and served.csrf != served.token
    assert served.api("/api/summary")["counts"] == {"awaiting": 2, "held": 0, "decided": 0}
    out, err = served.stop()
    assert "Review ended: approved 0, rejected 0, bonuses 0 for $0.00." in out
    assert served.token not in err  # no request log
    assert len(work) == 2


def test_sigterm_ends_it_as_ctrl_c_does(submitted, start_review):
    submitted(1)
    served = start_review()
    served.stop(signal.SIGTERM)


def test_a_missing_or_wrong_token_is_403_on_every_route(submitted, start_review, babe_turk):
    (work,) = submitted(1)
    served = start_review()
    wrong = "x" + served.token[1:]
    for method, route in ROUTES:
        path = route.format(id=work.assignment_id)
        body = b'{"action": "approve", "assignment_ids": ["%s"]}' % work.assignment_id.encode() if method == "POST" else None
        post = {"Content-Type": "application/json", "X-Babe-CSRF": served.csrf, "Origin": served.base} if body else {}
        joiner = "&" if "?" in path else "?"
        attempts = [
            served.raw(method, path, body, post),  # none at all
            served.raw(method, path, body, {**post, "X-Babe-Token": wrong}),
            served.raw(method, f"{path}{joiner}token={wrong}", body, post),
            served.raw(method, path, body, {**post, "X-Babe-Token": ""}),
        ]
        if path.startswith("/api/"):  # the API takes the header only: a token in its URL is no token
            attempts.append(served.raw(method, f"{path}{joiner}token={served.token}", body, post))
        for answer in attempts:
            assert answer.status == 403, (method, path, answer.status, answer.text)
            assert answer.headers["content-type"].startswith("text/plain")
            assert len(answer.body) < 100 and work.assignment_id not in answer.text and "exp1" not in answer.text
            assert "access-control-allow-origin" not in answer.headers
    assert statuses(babe_turk, [work.assignment_id]) == {work.assignment_id: "Submitted"}
    served.stop()


def test_a_host_other_than_its_own_is_refused(submitted, start_review):
    submitted(1)
    served = start_review()
    for host in ("evil.example", f"evil.example:{served.port}", f"127.0.0.1:{served.port + 1}", "127.0.0.1", f"[::1]:{served.port}"):
        answer = served.raw("GET", "/api/summary", headers={"Host": host, "X-Babe-Token": served.token})
        assert answer.status == 403, (host, answer.status)
        assert "exp1" not in answer.text
        page = served.raw("GET", f"/?token={served.token}", headers={"Host": host})
        assert page.status == 403 and "babe-csrf" not in page.text
    assert served.raw("GET", "/api/summary", headers={"Host": f"localhost:{served.port}", "X-Babe-Token": served.token}).status == 200
    served.stop()


def test_posts_without_csrf_from_another_origin_or_not_json_are_refused_and_change_nothing(submitted, start_review, babe_turk):
    work = submitted(2)
    served = start_review()
    ids = [w.assignment_id for w in work]
    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": ids})
    assert preview.status == 200
    confirmation = preview.json["confirmation"]
    refused = [
        {"X-Babe-CSRF": None},
        {"X-Babe-CSRF": "not-the-csrf-token"},
        {"X-Babe-CSRF": served.token},  # the URL's token is not the CSRF token
        {"Origin": "http://evil.example"},
        {"Origin": f"http://127.0.0.1:{served.port + 1}"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": None},
    ]
    for headers in refused:
        for route in ("/api/decide", "/api/preview", "/api/refresh"):
            answer = served.post(route, {"confirmation": confirmation, "action": "approve", "assignment_ids": ids}, **headers)
            assert answer.status == 403, (headers, route, answer.status, answer.text)
            assert not any(name.startswith("access-control-") for name in answer.headers)
    assert statuses(babe_turk, ids) == dict.fromkeys(ids, "Submitted")
    # Without Origin and Sec-Fetch-Site (a client that sends neither) the CSRF header still decides.
    answer = served.post("/api/decide", {"confirmation": confirmation}, Origin=None, Sec_Fetch_Site=None)
    assert answer.status == 200, answer.text
    assert statuses(babe_turk, ids) == dict.fromkeys(ids, "Approved")
    served.stop()


def test_every_answer_carries_the_security_headers(submitted, start_review):
    (work,) = submitted(1)
    served = start_review()
    answers = {
        "page": served.get("/"),
        "script": served.get("/static/review.js"),
        "style": served.get("/static/review.css"),
        "summary": served.get("/api/summary"),
        "item": served.get(f"/api/submissions/{work.assignment_id}"),
        "unknown item": served.get("/api/submissions/NOSUCHID"),
        "unknown page": served.get("/nowhere"),
        "unknown file": served.get("/static/index.html"),
        "forbidden": served.raw("GET", "/"),
        "bad request": served.post("/api/preview", {"action": "dance"}),
        "wrong method": served.post("/api/summary", {}),
    }
    for name, answer in answers.items():
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header.lower()) == value, (name, header, answer.headers)
        assert not any(h.startswith("access-control-") for h in answer.headers), name
    assert answers["page"].headers["content-type"] == "text/html; charset=utf-8"
    assert answers["script"].headers["content-type"].startswith("text/javascript")
    assert answers["style"].headers["content-type"].startswith("text/css")
    assert answers["summary"].headers["content-type"].startswith("application/json")
    assert (answers["unknown item"].status, answers["unknown item"].json) == (404, {"error": "no submission NOSUCHID under review"})
    assert answers["unknown page"].status == 404 and answers["unknown file"].status == 404
    assert answers["bad request"].status == 400 and "action must be one of" in answers["bad request"].json["error"]
    assert answers["wrong method"].status == 405
    page = answers["page"].text
    assert "{{" not in page
    assert f'<meta name="babe-csrf" content="{served.csrf}">' in page
    assert f"/static/review.js?token={served.token}" in page
    served.stop()


def test_the_page_escapes_what_it_fills_in():
    app = ReviewApp(None, None, token="tok&en", csrf='cs"rf', title="<script>alert('x')</script> & co")  # type: ignore[arg-type]
    app.port = 5555
    client = Client(app)
    answer = client.get("/?token=tok%26en", headers={"Host": "127.0.0.1:5555"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert 'content="cs&quot;rf"' in page
    assert "/static/review.js?token=tok&amp;en" in page


def test_submissions_come_in_pages_sorted_by_submit_time(submitted, start_review):
    work = submitted(5)
    served = start_review()
    seen = []
    for offset in (0, 2, 4):
        page = served.api(f"/api/submissions?offset={offset}&limit=2")
        assert (page["total"], page["offset"], page["limit"]) == (5, offset, 2)
        assert len(page["items"]) == (2 if offset < 4 else 1)
        seen += page["items"]
    assert [i["assignment_id"] for i in seen] == [w.assignment_id for w in work]  # submitted in this order
    first = seen[0]
    assert (first["status"], first["reward"], first["seconds_taken"], first["pay_per_hour"]) == ("Submitted", "0.50", 300, "6.00")
    assert first["worker_id"] == work[0].worker_id and first["hit_id"] == work[0].hit_id
    assert first["submit_time"].endswith("Z") and first["holds"] == [] and first["has_data"] is False and first["checks"] is None
    assert served.api("/api/submissions")["limit"] == 50
    for bad in ("limit=0", "limit=201", "limit=x", "offset=-1", "filter=everything"):
        answer = served.get(f"/api/submissions?{bad}")
        assert answer.status == 400, bad
        assert set(answer.json) == {"error"}
    assert served.api("/api/submissions?limit=200")["total"] == 5

    served.decide("approve", [work[0].assignment_id])
    assert served.api("/api/submissions?filter=awaiting")["total"] == 4
    everything = served.api("/api/submissions?filter=all")
    assert everything["total"] == 5 and everything["items"][0]["status"] == "Approved"
    assert served.api("/api/summary")["counts"] == {"awaiting": 4, "held": 0, "decided": 1}
    served.stop()


HOLD_PLUGIN = '''
from pathlib import Path
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_before_approve(settings, assignments):
    held = set((Path(settings.folder) / "hold.txt").read_text().split()) if (Path(settings.folder) / "hold.txt").exists() else set()
    return [(a.assignment_id, "no data in backend") for a in assignments if a.worker_id in held]
'''


def test_holds_are_shown_a_repeat_worker_and_a_plugins(babe, experiment, babe_workers, start_review, babe_turk):
    created = babe("create", "--assignments", "10", "--json")  # two HITs: 9 and 1
    assert created.code == 0, created
    first, second = (h["hit_id"] for h in created.json["hits"])
    repeat = babe_workers.add(1)[0]
    a1 = babe_workers.complete(first, took="5m", worker_id=repeat)
    a2 = babe_workers.complete(second, took="5m", worker_id=repeat)  # before any status: MTurk let them in
    others = [babe_workers.complete(first, took="4m") for _ in range(2)]
    held_worker = babe_turk.client.get_assignment(AssignmentId=others[1])["Assignment"]["WorkerId"]
    (experiment / "hold.txt").write_text(held_worker)
    write_plugin(experiment, "holder", HOLD_PLUGIN)
    assert babe("status").code == 0
    served = start_review()

    items = {i["assignment_id"]: i for i in served.api("/api/submissions?limit=50")["items"]}
    assert items[a1]["holds"] == []
    assert items[a2]["holds"] == [f"repeat worker (first assignment {a1})"]
    assert items[others[1]]["holds"] == ["no data in backend"]
    assert items[others[0]]["holds"] == []
    assert served.api("/api/summary")["counts"] == {"awaiting": 2, "held": 2, "decided": 0}
    assert "4 submission(s) of exp1 on local await a decision (2 held by a rule)." in served.lines[1]

    preview = served.post("/api/preview", {"action": "approve", "assignment_ids": list(items)}).json
    assert sorted(preview["assignment_ids"]) == sorted([a1, others[0]])
    assert sorted((h["assignment_id"], h["reason"]) for h in preview["held"]) == sorted(
        [(a2, f"repeat worker (first assignment {a1})"), (others[1], "no data in backend")]
    )
    answer = served.post("/api/decide", {"confirmation": preview["confirmation"]}).json
    assert answer["message"] == "Approved 2."
    assert statuses(babe_turk, list(items)) == {a1: "Approved", others[0]: "Approved", a2: "Submitted", others[1]: "Submitted"}

    (experiment / "hold.txt").write_text("")  # the plugin lets go; a refresh shows it
    summary = served.post("/api/refresh").json
    assert summary["counts"] == {"awaiting": 1, "held": 1, "decided": 2}
    served.stop()


@pytest.mark.parametrize(
    "body, error",
    [
        (b"{not json", "the request body is not JSON"),
        (b"[]", "the request must be a JSON object"),
        (b'{"action": "approve"}', "assignment_ids must be a non-empty list of submission ids"),
        (b'{"action": "approve", "assignment_ids": []}', "assignment_ids must be a non-empty list of submission ids"),
        (b'{"action": "approve", "assignment_ids": [3]}', "assignment_ids must be a non-empty list of submission ids"),
        (b'{"action": "approve", "assignment_ids": ["NOSUCH"]}', "submission NOSUCH is not one of this experiment's under review: refresh the page"),
        (b'{"action": "bonus", "assignment_ids": ["{id}"], "amount": 1}', "amount must be a string"),
    ],
)
def test_bad_requests_are_400_with_one_line(submitted, start_review, body, error):
    (work,) = submitted(1)
    served = start_review()
    body = body.replace(b"{id}", work.assignment_id.encode())
    headers = {"Content-Type": "application/json", "X-Babe-Token": served.token, "X-Babe-CSRF": served.csrf}
    answer = served.raw("POST", "/api/preview", body, headers)
    assert (answer.status, answer.json) == (400, {"error": error})
    decide = served.raw("POST", "/api/decide", b"{}", headers)
    assert (decide.status, decide.json) == (400, {"error": "confirmation is required: the id a preview answered"})
    served.stop()


def test_a_port_that_is_taken_or_no_port_is_one_line_and_exit_2(submitted, babe_env):
    import socket

    from babe_tasks.testing.processes import child_env, run_babe_process

    submitted(1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_babe_process(["review", "--no-browser", "--port", str(port)], ".", child_env(babe_env.state), timeout=60)
    assert run.code == 2, run
    assert run.err.strip().startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert run.err.strip().endswith("pick another --port, or 0")
    assert "Review page" not in run.out
    run = run_babe_process(["review", "--no-browser", "--port", "70000"], ".", child_env(babe_env.state), timeout=60)
    assert (run.code, run.err.strip()) == (2, "error: --port 70000 is not a port: give 1 to 65535, or 0 for any free one")


def test_a_body_past_the_limit_is_413_and_never_reaches_a_decision():
    class Decisions:
        def preview(self, body):
            raise AssertionError("a body past the limit reached the decisions")

    app = ReviewApp(None, Decisions(), token="tok", csrf="csrf", title="exp1")  # type: ignore[arg-type]
    app.port = 5555
    headers = {"Host": "127.0.0.1:5555", "X-Babe-Token": "tok", "X-Babe-CSRF": "csrf", "Content-Type": "application/json"}
    answer = Client(app).post("/api/preview", data=b" " * (300 * 1024), headers=headers)
    assert (answer.status_code, answer.get_json()) == (413, {"error": "the request is too large"})
    assert answer.headers["X-Frame-Options"] == "DENY"
