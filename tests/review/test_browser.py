"""`babe review` in a real browser: a whole review by keyboard, then the platform and the ledger to the cent.

A simulated study on the local MTurk — ten workers who took minutes, not milliseconds, each with
their trials in the (fake) _babe backend, an attention check among them — is reviewed the way a
lab member does it: `babe review --no-browser` in its own process, the printed address opened in
headless Chromium, and only the keyboard from there: select eight, approve them, reject the ninth
with a reason, pay one of the approved a bonus; each time the confirmation must show the money
before anything is paid. Ctrl-C ends the program, and the local MTurk's assignments, its balance and
babe's ledger must then agree with each other to the cent.

The other tests are the page's safety: no token, no page and no data; another origin — a request
claiming it, a page on a second local server whose script knows the token and a valid
confirmation — gets nothing and changes nothing.

Screenshots of the page at 1280×800 and 390×844 go to the test's tmp_path on every run, and also
to the folder named by `BABE_REVIEW_SCREENSHOTS` (docs/review.md: `BABE_REVIEW_SCREENSHOTS=docs/images
python -m pytest -p no:benchmark tests/review/test_browser.py`). Without Chromium or Playwright these
tests are skipped saying how to get them; under `CI=true` they fail (tests/review/browser.py).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from babe_tasks.simulation.participants import make_trials
from babe_tasks.testing.processes import child_env

from .browser import Console, Review, launch

#: Read when the module is imported: every test's hermetic environment drops BABE_* variables.
SCREENSHOTS = Path(os.environ["BABE_REVIEW_SCREENSHOTS"]).resolve() if os.environ.get("BABE_REVIEW_SCREENSHOTS") else None
EXPERIMENT_ID = "12"
#: What the backend's JSON route returns (its dynamic retrieval keys), the ids first.
KEYS = ["assignment_id", "worker_id", "hit_id", "trial_name", "trial_number", "question", "response", "RT", "attention"]
COLUMNS = ["trial_number", "question", "response", "RT", "attention"]
#: How long each of the ten workers took, in seconds; the tenth clicked through (held: too fast).
TOOK = [372, 280, 545, 330, 610, 298, 415, 362, 505, 40]
FAILED_CHECK = 8  # the ninth participant answers the attention check wrongly: the one rejected
#: A backend cell that would run script if the page inserted data as HTML.
XSS = "<img src=x onerror=\"document.body.dataset.pwned='yes'\">"
REJECT_REASON = "Answered the attention check wrongly; the responses do not follow the instructions."
BONUS_REASON = "Thank you for the careful comments!"
REVIEW_ARGS: tuple[str, ...] = ()


@dataclass
class Study:
    """The simulated study: its folder, the child environment for `babe`, ids in submit order, create's cost."""

    folder: Path
    env: dict[str, str]
    ids: list[str]
    workers: dict[str, str]
    #: Rows in the backend per assignment.
    rows: dict[str, int]
    cost: dict[str, Decimal]
    assignments: int


@pytest.fixture
def browser():
    """Chromium under Playwright, looked for before the study is built: a machine without it skips at once."""
    with launch() as running:
        yield running


def make_study(babe_env, babe_run, babe_experiment, babe_backend, babe_workers, babe_clock, *, assignments: int) -> Study:
    """`assignments` workers who each took `TOOK[i]`, their trials (and one attention check) in the backend."""
    babe_env.use_installed_plugins("babe-backend")
    babe_experiment.deploy_to(babe_backend, EXPERIMENT_ID, retrieval_keys=tuple(KEYS))
    babe_experiment.configure(
        experiment="garden-path", hold_faster_than="2m",
        plugins={"babe-backend": {"review": {"columns": COLUMNS, "attention_checks": {"attention": "yes"}}}},
    )
    created = babe_run("create", "--assignments", str(assignments), "--json")
    assert created.code == 0, created
    hit_ids = [hit["hit_id"] for hit in created.json["hits"]]
    rng = random.Random(17)
    ids, workers, rows = [], {}, {}
    for number in range(assignments):
        comments = ("Fun task.", "Some sentences were hard to judge.", "")[number % 3]
        assignment_id = babe_workers.complete(hit_ids[number % len(hit_ids)], took=float(TOOK[number]), answer={"comments": comments})
        worker_id = babe_workers.turk.client.get_assignment(AssignmentId=assignment_id)["Assignment"]["WorkerId"]
        ids.append(assignment_id)
        workers[assignment_id] = worker_id
        keys = {"assignment_id": assignment_id, "worker_id": worker_id, "hit_id": hit_ids[number % len(hit_ids)]}
        trials = make_trials(rng, ids=keys, experiment_id=EXPERIMENT_ID, now=babe_clock.now().timestamp())
        trials.append({
            **trials[-1], "trial_name": "attention", "trial_number": len(trials) + 1, "RT": rng.randint(900, 2500),
            "question": "To show you are reading: answer 'yes' here.",
            "response": "no" if number == FAILED_CHECK else "yes",
            "attention": "no" if number == FAILED_CHECK else "yes",
        })
        if number == assignments - 1:
            trials[0]["response"] = XSS
        babe_backend.backend.submit(EXPERIMENT_ID, trials)
        rows[assignment_id] = len(trials)
    env = child_env(babe_env.state, BABE_PLUGINS="babe-backend")
    cost = {key: Decimal(value) for key, value in created.json["cost"].items()}
    return Study(Path(babe_experiment.path), env, ids, workers, rows, cost, assignments)


@pytest.fixture
def study(babe_env, babe_run, babe_experiment, babe_backend, babe_workers, babe_clock, browser) -> Study:
    return make_study(babe_env, babe_run, babe_experiment, babe_backend, babe_workers, babe_clock, assignments=10)


@pytest.fixture
def small_study(babe_env, babe_run, babe_experiment, babe_backend, babe_workers, babe_clock, browser) -> Study:
    return make_study(babe_env, babe_run, babe_experiment, babe_backend, babe_workers, babe_clock, assignments=3)


@pytest.fixture
def review(study):
    running = Review(study.folder, study.env, *REVIEW_ARGS)
    yield running
    running.close()


# -- the page, by keyboard --------------------------------------------------------------------------
def queue_ids(page: Any) -> list[str]:
    return page.locator("#queue li.submission").evaluate_all("rows => rows.map(row => row.dataset.id)")


def current(page: Any) -> str | None:
    return page.locator("#queue li.submission.current").get_attribute("data-id")


def go_to(page: Any, assignment_id: str) -> None:
    """Move the current row to `assignment_id` with j/k, as a reviewer would."""
    ids = queue_ids(page)
    for _ in range(len(ids) + 1):
        here = current(page)
        assert here is not None, "no current row"
        if here == assignment_id:
            break
        page.keyboard.press("j" if ids.index(here) < ids.index(assignment_id) else "k")
    assert current(page) == assignment_id, (ids, current(page))
    from playwright.sync_api import expect

    expect(page.locator("#detail-id")).to_have_text(assignment_id)


def money(amount: Decimal) -> str:
    return f"${amount.quantize(Decimal('0.01'))}"


def shoot(page: Any, tmp_path: Path, name: str, width: int, height: int) -> Path:
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(300)  # one layout after the resize, and the plot drawn again at the new width
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / name).write_bytes(shot.read_bytes())
    return shot


def test_a_whole_review_by_keyboard_then_platform_and_ledger_agree_to_the_cent(
    study, review, browser, babe_turk, babe_run, tmp_path
):
    from playwright.sync_api import expect

    _, chromium = browser
    before = babe_turk.balance()
    reward = study.cost["rewards"] / study.assignments
    fee = study.cost["fees"] / study.assignments
    console = Console()
    page = console.watch(chromium.new_context(viewport={"width": 1280, "height": 800}).new_page())

    opened = page.goto(review.url)
    assert opened is not None and opened.status == 200
    policy = opened.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    assert queue_ids(page) == study.ids  # every one awaits a decision, oldest submission first
    expect(page.locator("#counts")).to_contain_text(re.compile(r"9 awaiting.*1 held", re.S))  # the tenth: too fast

    # The first submission: its rows from the backend, its attention check, its RTs against the group's.
    expect(page.locator("#detail-id")).to_have_text(study.ids[0])
    expect(page.locator("#detail table.rows")).to_have_count(1)
    table = page.locator("#detail table.rows").first
    expect(table.locator("tbody tr")).to_have_count(study.rows[study.ids[0]])  # its trials and the attention check
    assert [cell.strip() for cell in table.locator("thead th").all_inner_texts()] == COLUMNS
    expect(page.locator("#detail svg.rt-plot")).to_have_count(1)
    expect(page.locator("#detail .holds li")).to_have_count(0)

    # The tenth clicked through in 40 s: held, and its HTML-looking cell is text, never markup.
    go_to(page, study.ids[-1])
    expect(page.locator("#detail .holds li")).to_have_count(1)
    expect(page.locator("#detail .holds li").first).to_contain_text("too fast")
    expect(page.locator("#detail table.rows td", has_text="onerror")).to_have_text(XSS)
    assert page.locator("#detail img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    go_to(page, study.ids[0])

    # Select the first eight (x, j, x, …): the screenshots show the page mid-review.
    for number in range(8):
        page.keyboard.press("x")
        if number < 7:
            page.keyboard.press("j")
    selected = page.locator("#queue li.submission.selected")
    expect(selected).to_have_count(8)
    assert selected.evaluate_all("rows => rows.map(row => row.dataset.id)") == study.ids[:8]
    assert page.locator("#queue li.submission.selected input.select[type=checkbox]").count() == 8
    expect(page.locator("#detail-id")).to_have_text(study.ids[7])
    expect(page.locator("#detail svg.rt-plot")).to_have_count(1)
    plot_width = "document.querySelector('#detail svg.rt-plot').viewBox.baseVal.width"
    shoot(page, tmp_path, "review-desktop.png", 1280, 800)
    wide = page.evaluate(plot_width)
    shoot(page, tmp_path, "review-narrow.png", 390, 844)
    narrow = page.evaluate(plot_width)
    assert narrow < wide and narrow <= 390, (wide, narrow)  # drawn again at the new width, labels kept their size
    page.set_viewport_size({"width": 1280, "height": 800})

    # a: the confirmation shows the money of the plan's rewards and fees; Enter pays.
    page.keyboard.press("a")
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    rewards, fees = reward * 8, fee * 8
    expect(page.locator("#confirm-text")).to_contain_text(money(rewards + fees))
    text = page.locator("#confirm-text").inner_text()
    assert money(rewards) in text and money(fees) in text and "8" in text, text
    expect(page.locator("#confirm-held li")).to_have_count(0)
    assert [a["AssignmentStatus"] for a in babe_turk.assignments()].count("Approved") == 0  # nothing before the OK
    page.keyboard.press("Enter")
    expect(confirm).to_be_hidden()
    expect(page.locator("#answer")).to_contain_text(re.compile(r"approved 8", re.I))
    expect(page.locator("#answer")).not_to_have_class(re.compile(r"\berror\b"))
    for assignment_id in study.ids[:8]:
        expect(page.locator(f'#queue li.submission[data-id="{assignment_id}"]')).to_have_attribute("data-status", "Approved")
    expect(page.locator("#queue li.submission.selected")).to_have_count(0)

    # r on the ninth: a reason, Ctrl+Enter (Enter is a new line in the reason), the confirmation, Enter.
    go_to(page, study.ids[8])
    expect(page.locator("#detail")).to_contain_text("expected")  # its failed attention check is shown
    page.keyboard.press("r")
    expect(page.locator("dialog#decision")).to_be_visible()
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type(REJECT_REASON)
    page.keyboard.press("Control+Enter")
    expect(confirm).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text(re.compile(r"reject", re.I))
    assert babe_turk.status_of(study.ids[8]) == "Submitted"
    page.keyboard.press("Enter")
    expect(page.locator("#answer")).to_contain_text(re.compile(r"rejected 1", re.I))
    expect(page.locator(f'#queue li.submission[data-id="{study.ids[8]}"]')).to_have_attribute("data-status", "Rejected")

    # b on the first (approved): amount, Tab, reason, Ctrl+Enter; the confirmation shows the bonus and its fee.
    go_to(page, study.ids[0])
    page.keyboard.press("b")
    expect(page.locator("dialog#decision")).to_be_visible()
    expect(page.locator("#bonus-amount")).to_be_focused()
    page.keyboard.type("1.00")
    page.keyboard.press("Tab")
    expect(page.locator("#bonus-reason")).to_be_focused()
    page.keyboard.type(BONUS_REASON)
    page.keyboard.press("Control+Enter")
    expect(confirm).to_be_visible()
    bonus_fee = Decimal("1.00") * study.cost["fees"] / study.cost["rewards"]
    expect(page.locator("#confirm-text")).to_contain_text(money(Decimal("1.00") + bonus_fee))
    assert money(Decimal("1.00")) in page.locator("#confirm-text").inner_text()
    assert babe_turk.client.list_bonus_payments(AssignmentId=study.ids[0])["BonusPayments"] == []
    page.keyboard.press("Enter")
    expect(page.locator("#answer")).to_contain_text(re.compile(r"\b1 bonus\b.*" + re.escape(money(Decimal("1.00") + bonus_fee))))
    expect(page.locator(f'#queue li.submission[data-id="{study.ids[0]}"] .badge.bonused')).to_have_text("bonus $1.00")
    expect(page.locator("#answer")).not_to_have_class(re.compile(r"\berror\b"))

    assert console.errors == [] and console.dialogs == []  # the CSP was never violated, nothing ran
    assert page.evaluate("document.body.dataset.pwned") is None

    done = review.stop()
    assert done.code == 0, done
    summary = done.out.strip().splitlines()[-1]
    assert re.search(r"approved 8\b", summary) and re.search(r"rejected 1\b", summary), summary
    assert re.search(r"bonus(es)? 1\b", summary) and money(Decimal("1.00") + bonus_fee) in summary, summary

    # The platform: 8 Approved, the ninth Rejected with the reason, the tenth still awaiting; one bonus.
    statuses = {a["AssignmentId"]: a["AssignmentStatus"] for a in babe_turk.assignments()}
    assert [statuses[i] for i in study.ids] == ["Approved"] * 8 + ["Rejected", "Submitted"]
    rejected = babe_turk.client.get_assignment(AssignmentId=study.ids[8])["Assignment"]
    assert rejected["RequesterFeedback"] == REJECT_REASON
    bonuses = [
        (assignment_id, b["WorkerId"], b["BonusAmount"], b["Reason"])
        for assignment_id in study.ids
        for b in babe_turk.client.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]
    ]
    assert bonuses == [(study.ids[0], study.workers[study.ids[0]], "1.00", BONUS_REASON)]
    spent = before - babe_turk.balance()
    assert spent == rewards + fees + Decimal("1.00") + bonus_fee

    # The ledger says the same, to the cent.
    cost = babe_run("cost", "--json")
    assert cost.code == 0, cost
    paid = {key: Decimal(cost.json[key]) for key in ("rewards_paid", "fees_paid", "bonuses_paid", "bonus_fees_paid", "spent")}
    assert paid == {
        "rewards_paid": rewards, "fees_paid": fees, "bonuses_paid": Decimal("1.00"), "bonus_fees_paid": bonus_fee,
        "spent": spent,
    }
    totals = babe_run("status", "--json").json["totals"]
    assert (totals["approved"], totals["rejected"], totals["submitted"]) == (8, 1, 1)


# -- strangers ---------------------------------------------------------------------------------------
def test_without_the_token_there_is_no_page_and_no_data(small_study, browser):
    driver, chromium = browser
    review = Review(small_study.folder, small_study.env)
    try:
        page = chromium.new_page()
        for url in (f"{review.base}/", f"{review.base}/?token=wrong", f"{review.base}/static/review.js"):
            answer = page.goto(url)
            assert answer is not None and answer.status == 403, url
            assert small_study.ids[0] not in page.content() and review.token not in page.content()
        api = driver.request.new_context()
        try:
            for headers in ({}, {"X-Babe-Token": "wrong"}, {"X-Babe-Token": review.token[:-1]}):
                for route in ("/api/summary", "/api/submissions?offset=0&limit=50", f"/api/submissions/{small_study.ids[0]}"):
                    answer = api.get(review.base + route, headers=headers)
                    assert answer.status == 403, (route, headers)
                    assert small_study.ids[0] not in answer.text()
            # The right token opens both, so the refusals above are the token's doing.
            assert api.get(f"{review.base}/api/summary", headers={"X-Babe-Token": review.token}).status == 200
            assert page.goto(review.url).status == 200
        finally:
            api.dispose()
    finally:
        done = review.stop()
    assert done.code == 0, done


EVIL_PAGE = """<!DOCTYPE html>
<html><head><title>Cute cats</title></head>
<body>
<iframe name="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="{review}/api/decide?token={token}">
<input name='{{"confirmation": "{confirmation}", "x": "' value='"}}'>
</form>
<pre id="out"></pre>
<script>
const review = "{review}", token = "{token}", csrf = "{csrf}", confirmation = "{confirmation}";
const results = {{}};
async function attempt(name, url, options) {{
  try {{
    const answer = await fetch(url, options);
    results[name] = answer.type === "opaque" ? "opaque" : "read " + answer.status + " " + await answer.text();
  }} catch (error) {{
    results[name] = "blocked";
  }}
}}
(async () => {{
  const json = {{"Content-Type": "application/json", "X-Babe-Token": token, "X-Babe-CSRF": csrf}};
  await attempt("summary", review + "/api/summary", {{headers: {{"X-Babe-Token": token}}}});
  await attempt("list", review + "/api/submissions?offset=0&limit=50&token=" + token, {{}});
  await attempt("page", review + "/?token=" + token, {{}});
  await attempt("preview", review + "/api/preview", {{method: "POST", headers: json,
    body: JSON.stringify({{action: "approve", assignment_ids: {ids}}})}});
  await attempt("decide", review + "/api/decide", {{method: "POST", headers: json, body: JSON.stringify({{confirmation}})}});
  await attempt("decide-simple", review + "/api/decide?token=" + token, {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{confirmation}})}});
  document.getElementById("form").submit();
  document.getElementById("out").textContent = JSON.stringify(results);
  document.body.dataset.done = "true";
}})();
</script>
</body></html>
"""


class EvilSite:
    """A second local server, another origin: it serves one page (with inline script: it has no CSP)."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_another_origin_gets_nothing_and_changes_nothing(small_study, browser, babe_turk):
    """Even knowing the token, the CSRF token and a valid confirmation, another origin can neither read nor decide."""
    driver, chromium = browser
    before = babe_turk.balance()
    review = Review(small_study.folder, small_study.env)
    site = None
    try:
        own = chromium.new_page()
        assert own.goto(review.url).status == 200
        csrf = own.locator('meta[name="babe-csrf"]').get_attribute("content")
        assert csrf and csrf != review.token
        api = driver.request.new_context()
        headers = {"X-Babe-Token": review.token, "X-Babe-CSRF": csrf, "Content-Type": "application/json"}
        same = {**headers, "Origin": review.base}
        evil = {**headers, "Origin": "http://evil.example"}
        body = {"action": "approve", "assignment_ids": small_study.ids}
        # A request claiming another origin: refused, with or without a valid confirmation.
        assert api.post(f"{review.base}/api/preview", headers=evil, data=json.dumps(body)).status == 403
        preview = api.post(f"{review.base}/api/preview", headers=same, data=json.dumps(body))
        assert preview.status == 200, preview.text()
        confirmation = preview.json()["confirmation"]
        assert confirmation
        refused = api.post(f"{review.base}/api/decide", headers=evil, data=json.dumps({"confirmation": confirmation}))
        assert refused.status == 403
        assert "access-control-allow-origin" not in {name.lower() for name in refused.headers}
        for without in ("X-Babe-CSRF", "Content-Type"):
            partial = {k: v for k, v in same.items() if k != without}
            answer = api.post(f"{review.base}/api/decide", headers=partial, data=json.dumps({"confirmation": confirmation}))
            assert answer.status == 403, without

        # A page on another origin that knows everything but is not the page.
        site = EvilSite(EVIL_PAGE.format(
            review=review.base, token=review.token, csrf=csrf, confirmation=confirmation, ids=json.dumps(small_study.ids),
        ))
        page = chromium.new_page()
        answers: list[tuple[str, int]] = []
        page.on("response", lambda r: answers.append((r.url, r.status)) if r.url.startswith(review.base) else None)
        with page.expect_response(lambda r: "/api/decide?token=" in r.url and r.request.method == "POST"
                                  and r.request.resource_type == "document") as form:
            page.goto(site.url)
            page.wait_for_selector("body[data-done=true]")
        assert form.value.status == 403
        results = json.loads(page.locator("#out").inner_text())
        assert results["summary"] == results["preview"] == results["decide"] == "blocked", results
        assert all(value in ("blocked", "opaque") for value in results.values()), results
        assert answers and all(status == 403 for _, status in answers), answers
        assert [babe_turk.status_of(i) for i in small_study.ids] == ["Submitted"] * 3
        assert babe_turk.balance() == before

        # The confirmation was refused, not used up: the page's own origin can still decide with it.
        decided = api.post(f"{review.base}/api/decide", headers=same, data=json.dumps({"confirmation": confirmation}))
        assert decided.status == 200, decided.text()
        assert [babe_turk.status_of(i) for i in small_study.ids] == ["Approved"] * 3
        api.dispose()
    finally:
        if site is not None:
            site.close()
        done = review.stop()
    assert done.code == 0, done
