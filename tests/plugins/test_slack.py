"""The slack plugin, end to end: the real `babe` program, the plugin loaded by its entry point, the
local MTurk, and a webhook receiver on 127.0.0.1 that records what Slack would have received.

What is proven: one message per step with the numbers a lab needs (create, status changes, approve,
reject, bonus, expire, vetoes); a Slack that is down, slow or failing costs one warning line and
at most the timeout, never the step; the webhook URL appears nowhere (stdout, stderr, the ledger,
the plugin's own file, logs), even with BABE_DEBUG=1 or `--debug`; bad settings are refused
before anything is done.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest

from babe_mturk.local.workers import simulate

SLACK = {"slack": {"timeout": 1}}


@pytest.fixture
def slack(lab_plugins, configure, receiver, monkeypatch):
    """Slack configured (timeout 1 s) and pointed at the receiver; the plugin loaded by entry point."""
    lab_plugins("slack")
    configure(plugins=SLACK)
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    return receiver


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def secret_free(receiver, *texts: str) -> None:
    for text in texts:
        assert receiver.secret not in text
        assert "/services/" not in text


def files_secret_free(receiver, folder) -> None:
    """Nothing the run wrote (ledger, the plugin's state, anything under the folder) holds the URL."""
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert receiver.secret.encode() not in data, path


# -- loading -----------------------------------------------------------------------------------------
def test_the_entry_point_loads_both_lab_plugins_which_do_nothing_until_configured(babe, experiment, lab_plugins, receiver, monkeypatch):
    lab_plugins("slack", "payment-cap")
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    listing = babe("plugins", "--json")
    assert listing.code == 0, listing
    rows = {row["name"]: row for row in listing.json["plugins"]}
    assert rows["slack"]["source"] == "entry point" and rows["slack"]["status"] == "loaded"
    assert "(babe_slack)" in rows["slack"]["origin"]
    assert {"babe_after_create", "babe_status", "babe_vetoed", "babe_after_bonus"} <= set(rows["slack"]["hooks"])
    assert rows["payment-cap"]["status"] == "loaded"
    assert {"babe_before_create", "babe_before_bonus", "babe_cost"} <= set(rows["payment-cap"]["hooks"])
    run = babe("create", "--assignments", "3", "--json")
    assert run.code == 0, run
    assert receiver.posts == []  # no babe.plugins.slack section: no message
    assert warnings(run.err) == []


# -- one message per step -------------------------------------------------------------------------------
def test_create_posts_one_message_with_hits_assignments_and_cost(babe, slack, experiment):
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert len(slack.posts) == 1
    post = slack.posts[0]
    assert post.path == f"/services/{slack.secret}"
    assert post.headers["Content-Type"] == "application/json"
    text = post.text
    assert "*exp1* is on *local*: 3 HITs, 20 assignments at $0.50" in text
    assert "Cost if all approved: *$12.00* (rewards $10.00 + MTurk fees $2.00)" in text
    for hit in run.json["hits"]:
        assert f"`{hit['hit_id']}` ({hit['assignments']})" in text
    assert [block["type"] for block in post.body["blocks"]] == ["section", "section", "context"]
    assert post.body["blocks"][0]["text"]["type"] == "mrkdwn"
    assert post.body["blocks"][2]["elements"][0]["text"] == "babe-tasks · experiment exp1 · target local"
    assert warnings(run.err) == []
    secret_free(slack, run.out, run.err)


def test_a_dry_run_posts_nothing(babe, slack, experiment):
    assert babe("create", "--assignments", "5", "--dry-run").code == 0
    assert slack.posts == []


def test_status_announces_a_hit_filling_up_once_and_expiries_once(babe, slack, experiment, turk):
    hits = [h["hit_id"] for h in babe("create", "--assignments", "20", "--json").json["hits"]]
    slack.posts.clear()
    assert babe("status").code == 0
    assert slack.posts == []  # nothing filled or expired yet: nothing to say
    simulate(turk, hit_ids=[hits[0]], workers=7, seed=1)
    simulate(turk, hit_ids=[hits[1]], workers=3, seed=2)
    run = babe("status", "--json")
    assert run.code == 0, run
    assert len(slack.posts) == 1
    text = slack.texts[0]
    assert "*exp1* on *local*: 1 HIT filled" in text
    assert f"`{hits[0]}` filled — all 7 assignments submitted" in text
    assert "Now 10 of 20 assignments are in; 10 wait for review — `babe approve`" in text
    assert babe("status").code == 0
    assert len(slack.posts) == 1  # the same state again: no second message
    turk.store.advance_clock(8 * 86400)  # past the 7-day lifetime
    assert babe("status").code == 0
    assert len(slack.posts) == 2
    text = slack.texts[1]
    assert "2 HITs expired" in text
    assert f"`{hits[1]}` expired with 3 of 7 assignments in" in text
    assert f"`{hits[2]}` expired with 0 of 6 assignments in" in text
    assert hits[0] not in text
    assert babe("status").code == 0
    assert len(slack.posts) == 2
    assert (experiment / ".babe" / "slack.sqlite").is_file()


def test_a_status_message_that_failed_is_sent_by_the_next_status(babe, slack, experiment, turk):
    hits = [h["hit_id"] for h in babe("create", "--assignments", "5", "--json").json["hits"]]
    simulate(turk, hit_ids=hits, workers=5, seed=3)
    slack.mode = "500"
    run = babe("status")
    assert run.code == 0, run
    assert len(warnings(run.err)) == 1 and "answered HTTP 500" in run.err
    slack.mode = "ok"
    assert babe("status").code == 0
    assert "1 HIT filled" in slack.texts[-1]
    assert babe("status").code == 0
    assert sum("filled" in text for text in slack.texts) == 2  # the failed one and the one that arrived


def test_approve_reports_counts_money_and_what_was_held_back_and_why(babe, slack, experiment, turk, monkeypatch):
    hits = [h["hit_id"] for h in babe("create", "--assignments", "7", "--json").json["hits"]]
    done = simulate(turk, hit_ids=hits, workers=7, seed=4)["submitted"]
    held = sorted(done)[0]
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "holder.py").write_text(
        "def babe_before_approve(settings, assignments):\n"
        f"    return [({held!r}, 'no data <b>reached</b> the backend')]\n"
    )
    monkeypatch.setenv("BABE_PLUGINS", "slack,holder")
    slack.posts.clear()
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 6
    assert len(slack.posts) == 1
    text = slack.texts[0]
    # 6 × ($0.50 + $0.10 fee) = $3.60
    assert "*exp1* on *local*: approved 6 assignments, paid $3.60 (rewards and fees)" in text
    assert "Held back 1 (left Submitted):" in text
    assert f"• `{held}` — no data &lt;b&gt;reached&lt;/b&gt; the backend" in text
    assert "Spent on this experiment so far: $3.60" in text
    assert babe("approve").code == 0  # the held one stays held: a message again, nothing approved
    assert "approved 0 assignments" in slack.texts[-1]


def test_reject_and_bonus_each_post_one_message(babe, slack, experiment, turk):
    hits = [h["hit_id"] for h in babe("create", "--assignments", "3", "--json").json["hits"]]
    work = simulate(turk, hit_ids=hits, workers=3, seed=5)
    bad, good = work["submitted"][0], work["submitted"][1]
    worker = next(a for a in turk_assignments(turk, hits[0]) if a["AssignmentId"] == good)["WorkerId"]
    slack.posts.clear()
    run = babe("reject", "--assignment", bad, "--reason", "No answers <!channel>", "--json")
    assert run.code == 0, run
    assert len(slack.posts) == 1
    text = slack.texts[0]
    assert "rejected 1 assignment" in text
    assert "Reason given to the workers: “No answers &lt;!channel&gt;”" in text  # no mention smuggled in
    assert f"`{bad}`" in text
    assert babe("approve", "--assignment", good).code == 0
    slack.posts.clear()
    run = babe("bonus", "--worker", worker, "--assignment", good, "--amount", "1.00", "--reason", "great work", "--json")
    assert run.code == 0, run
    assert len(slack.posts) == 1
    text = slack.texts[0]
    assert "paid 1 bonus, $1.20 with fees" in text
    assert f"`{worker}` $1.00 — great work" in text


def turk_assignments(turk, hit_id):
    from babe_mturk.local import client

    mturk = client(turk=turk)
    return mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]


def test_extend_posts_one_message_with_what_each_hit_got(babe, slack, experiment):
    hits = [h["hit_id"] for h in babe("create", "--assignments", "20", "--json").json["hits"]]
    slack.posts.clear()
    run = babe("extend", "--assignments", "3", "--json")
    assert run.code == 0, run
    assert len(slack.posts) == 1
    text = slack.texts[0]
    assert "*exp1* on *local*: extended 3 HITs" in text
    assert f"`{hits[0]}` +1 assignment (now 8)" in text and f"`{hits[2]}` +1 assignment (now 7)" in text
    assert "Commits up to $1.80 more if all is approved" in text
    run = babe("extend", "--assignments", "6", "--split", "--json")  # 4 fit (9, 9, 9), 2 do not
    assert run.code == 0, run
    new = [h["hit_id"] for h in run.json["new_hits"]]
    assert new and all(f"`{hit}` new" in slack.texts[-1] for hit in new)
    assert "posted 1 new HIT in the same group" in slack.texts[-1]


def test_expire_posts_one_message_and_status_does_not_repeat_it(babe, slack, experiment):
    hits = [h["hit_id"] for h in babe("create", "--assignments", "12", "--json").json["hits"]]
    slack.posts.clear()
    run = babe("expire")
    assert run.code == 0, run
    assert len(slack.posts) == 1
    assert "*exp1* on *local*: expired 2 HITs" in slack.texts[0]
    assert all(f"`{hit}`" in slack.texts[0] for hit in hits)
    assert babe("status").code == 0
    assert len(slack.posts) == 1  # status sees them expired, already told


def test_a_veto_by_another_plugin_is_announced_but_not_on_a_dry_run(babe, lab_plugins, configure, receiver, monkeypatch, experiment, list_hits, mturk):
    lab_plugins("slack", "payment-cap")
    configure(plugins={"slack": {"timeout": 1}, "payment-cap": {"experiment": "5.00"}})
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    assert babe("create", "--assignments", "20", "--dry-run").code == 3
    assert receiver.posts == []
    run = babe("create", "--assignments", "20")
    assert run.code == 3, run
    assert list_hits(mturk) == []
    assert len(receiver.posts) == 1
    text = receiver.texts[0]
    assert "*exp1* on *local*: *payment-cap* stopped *create* — nothing was done" in text
    assert "> this create commits $12.00; the experiment cap is $5.00 and $0.00 is already committed" in text


def test_events_choose_what_is_announced(babe, lab_plugins, configure, receiver, monkeypatch, experiment):
    lab_plugins("slack")
    configure(plugins={"slack": {"timeout": 1, "events": ["expire"]}})
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    assert babe("create", "--assignments", "2").code == 0
    assert receiver.posts == []
    assert babe("expire").code == 0
    assert len(receiver.posts) == 1 and "expired 1 HIT" in receiver.texts[0]


# -- a webhook that fails never stops the step ---------------------------------------------------------------
@pytest.mark.parametrize("mode", ["down", "500", "404", "slow"])
def test_a_failing_webhook_costs_one_warning_line_and_at_most_the_timeout(babe, slack, experiment, monkeypatch, mode, list_hits, mturk):
    if mode == "down":
        monkeypatch.setenv("BABE_SLACK_WEBHOOK", slack.down_url)
    else:
        slack.mode = mode
    started = time.monotonic()
    run = babe("create", "--assignments", "4", "--json")
    elapsed = time.monotonic() - started
    assert run.code == 0, run
    assert len(list_hits(mturk)) == 1  # the step's work stands
    assert run.json["hits"][0]["hit_id"]
    lines = warnings(run.err)
    assert len(lines) == 1, run.err
    expected = {
        "down": "is unreachable",
        "500": "answered HTTP 500 (internal_error)",
        "404": "answered HTTP 404 (no_service)",
        "slow": "did not answer within 1s",
    }[mode]
    assert lines[0].startswith("warning: plugin slack failed in babe_after_create: WebhookFailed: Slack webhook http://127.0.0.1:")
    assert expected in lines[0]
    assert "/…" in lines[0]
    assert elapsed < 1.0 + 2.5  # the timeout, plus the create itself on a shared machine
    if mode == "slow":
        assert elapsed >= 1.0
    secret_free(slack, run.out, run.err)


def test_the_slow_wait_is_bounded_by_the_timeout_alone(receiver):
    """The post itself: a server that never answers costs the timeout, not connect + write + read."""
    from babe_slack.config import SlackConfig
    from babe_slack.post import WebhookFailed, post

    receiver.mode = "slow"
    config = SlackConfig(webhook=receiver.url, source="test", timeout=0.5, events=frozenset())
    started = time.monotonic()
    with pytest.raises(WebhookFailed, match=r"did not answer within 0\.5s"):
        post(config, {"text": "hello"})
    assert 0.5 <= time.monotonic() - started < 0.9


# -- secrets -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("debug", ["env", "flag"])
def test_the_webhook_url_never_appears_in_output_ledger_or_files_even_when_debugging(babe, slack, experiment, turk, monkeypatch, debug):
    prefix: tuple[str, ...] = ()
    if debug == "env":
        monkeypatch.setenv("BABE_DEBUG", "1")
    else:
        prefix = ("--debug",)
    runs = [babe(*prefix, "create", "--assignments", "4", "--json")]
    hits = [h["hit_id"] for h in runs[0].json["hits"]]
    simulate(turk, hit_ids=hits, workers=4, seed=6)
    runs.append(babe(*prefix, "status"))
    slack.mode = "500"
    runs.append(babe(*prefix, "approve"))
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", slack.down_url)
    runs.append(babe(*prefix, "expire"))
    runs.append(babe(*prefix, "plugins", "--json"))
    assert [run.code for run in runs] == [0, 0, 0, 0, 0], runs
    assert len(slack.posts) == 3  # create, status (filled), approve (answered 500)
    for run in runs:
        secret_free(slack, run.out, run.err)
    files_secret_free(slack, experiment)


def test_httpx_request_logs_are_redacted(slack, caplog):
    """httpx logs every request with its URL at INFO; `--debug` shows such logs. They are rewritten."""
    from babe_slack.config import SlackConfig
    from babe_slack.post import post

    caplog.set_level(logging.DEBUG)
    config = SlackConfig(webhook=slack.url, source="test", timeout=1, events=frozenset())
    post(config, {"text": "hello"})
    assert "HTTP Request: POST http://127.0.0.1:" in caplog.text  # the log is there …
    assert f":{slack.port}/…" in caplog.text  # … redacted
    assert slack.secret not in caplog.text
    assert all(not logging.getLogger(name).filters for name in ("httpx", "httpcore"))  # removed again


def test_the_configuration_is_described_with_the_url_redacted(slack, experiment):
    from babe_slack import describe_config
    from babe_tasks.settings import Settings

    described = describe_config(Settings.build())
    assert described == {
        "webhook": f"http://127.0.0.1:{slack.port}/…",
        "webhook_from": "BABE_SLACK_WEBHOOK",
        "timeout": 1.0,
        "events": ["create", "status", "approve", "reject", "bonus", "extend", "expire", "veto", "milestone"],
    }


def test_a_webhook_file_outside_the_repository_is_read_and_one_inside_is_refused(babe, lab_plugins, configure, receiver, tmp_path, experiment):
    lab_plugins("slack")
    secret_file = tmp_path / "private" / "slack-webhook"
    secret_file.parent.mkdir()
    secret_file.write_text(receiver.url + "\n")
    configure(plugins={"slack": {"webhook_file": str(secret_file), "timeout": 1}})
    run = babe("create", "--assignments", "2")
    assert run.code == 0, run
    assert len(receiver.posts) == 1
    inside = experiment / "config" / "webhook"
    inside.parent.mkdir()
    inside.write_text(receiver.url)
    configure(plugins={"slack": {"webhook_file": "config/webhook"}})
    run = babe("create", "--assignments", "2")
    assert run.code == 2, run
    assert f"babe.plugins.slack.webhook_file {inside} is inside the experiment folder" in run.err
    secret_free(receiver, run.out, run.err)


# -- settings that are wrong --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "section, message",
    [
        ({"timeout": 10}, "babe.plugins.slack.timeout is 10: it must be more than 0 and at most 5 seconds"),
        ({"timeout": "soon"}, "babe.plugins.slack.timeout 'soon' is not a number of seconds"),
        ({"events": ["create", "aprove"]}, "babe.plugins.slack.events names 'aprove', which is not an event: did you mean approve?"),
        ({"timout": 2}, "unknown setting babe.plugins.slack.timout: did you mean timeout?"),
        ({"webhook": "https://hooks.slack.com/services/X"}, "babe.plugins.slack.webhook: the webhook URL is a secret and never goes in invoke.yaml"),
        ({"webhook_env": "SLACK URL"}, "babe.plugins.slack.webhook_env 'SLACK URL' is not an environment variable name"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_done(babe, slack, configure, section, message, list_hits, mturk):
    configure(plugins={"slack": section})
    run = babe("create", "--assignments", "2", "--json")
    assert run.code == 2, run
    assert run.json["error"]["plugin"] == "slack"
    assert message in run.json["error"]["message"]
    assert list_hits(mturk) == [] and slack.posts == []


def test_a_webhook_value_that_is_not_a_url_is_refused_without_showing_it(babe, slack, monkeypatch):
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", "hooks.slack.com/services/T0/B0/NOTSHOWN")
    run = babe("create", "--assignments", "2")
    assert run.code == 2, run
    assert "BABE_SLACK_WEBHOOK does not hold a webhook URL (value not shown)" in run.err
    assert "NOTSHOWN" not in run.err + run.out
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", "http://hooks.example.org/services/NOTSHOWN")
    run = babe("create", "--assignments", "2")
    assert run.code == 2 and "holds an http:// webhook URL (value not shown)" in run.err
    assert "NOTSHOWN" not in run.err + run.out


def test_a_missing_webhook_skips_the_plugin_with_one_warning_or_stops_when_strict(babe, slack, monkeypatch, list_hits, mturk):
    monkeypatch.delenv("BABE_SLACK_WEBHOOK")
    run = babe("create", "--assignments", "2")
    assert run.code == 0, run
    assert warnings(run.err) == [
        "warning: plugin slack (babe-tasks 0.1.0 (babe_slack)) failed to configure: WebhookMissing: BABE_SLACK_WEBHOOK "
        "is not set: export it with the Slack incoming-webhook URL, or point babe.plugins.slack.webhook_file at a file "
        "outside the repository; skipped"
    ]
    assert len(list_hits(mturk)) == 1
    run = babe("create", "--assignments", "3", "--strict-plugins")
    assert run.code == 2, run
    assert "BABE_SLACK_WEBHOOK is not set" in run.err and "(strict_plugins is on)" in run.err
    assert len(list_hits(mturk)) == 1


# -- the messages themselves ----------------------------------------------------------------------------
def test_long_lists_stop_after_ten_and_sections_stay_within_slacks_limit(experiment):
    from babe_slack import messages
    from babe_tasks.settings import Settings
    from babe_tasks.steps.approve import ApproveResult

    settings = Settings.build()
    result = ApproveResult(
        approved=0,
        held=[{"assignment_id": f"A{i:029d}", "reason": "x" * 400} for i in range(25)],
    )
    message = messages.approved(settings, result, Decimal("0.00"), None)
    assert message.text.count("• `A") == 10
    assert "• … and 15 more" in message.text
    assert all(len(block["text"]["text"]) <= 3000 for block in message.payload()["blocks"] if block["type"] == "section")


def test_the_create_message_links_the_preview_on_sandbox_and_live(experiment):
    """Previews exist only on Amazon's worker sites: checked with the step's own result objects."""
    from datetime import UTC, datetime

    from babe_slack import messages
    from babe_tasks.planning import make_plan
    from babe_tasks.settings import Settings
    from babe_tasks.steps.create import CreateResult, PostedHit

    settings = Settings.build(target="sandbox", assignments=9)
    plan = make_plan(settings)
    url = "https://workersandbox.mturk.com/mturk/preview?groupId=3GROUP"
    result = CreateResult(plan, [PostedHit("3HIT", "3TYPE", "3GROUP", 9, url, datetime(2026, 12, 5, 16, 0, tzinfo=UTC))], posted_now=1)
    text = messages.created(settings, plan, result).text
    assert f"<{url}|Preview the HIT as workers see it>" in text
    assert "Open until 2026-12-05 16:00Z" in text
    assert "*exp1* is on *sandbox*: 1 HIT, 9 assignments at $0.50" in text


def test_babe_plugins_lists_each_configuration_with_the_webhook_redacted(lab_plugins, configure, receiver, monkeypatch, experiment):
    """`babe_describe` feeds `babe plugins`: the configuration is listed, the webhook never in clear."""
    from babe_tasks.plugins import collect, plugin_manager
    from babe_tasks.settings import Settings

    lab_plugins("slack", "payment-cap")
    configure(plugins={"slack": {}, "payment-cap": {"experiment": "400.00"}})
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    settings = Settings.build()
    answers = dict(collect(plugin_manager(settings), "babe_describe", settings=settings))
    assert answers["slack"]["webhook"] == f"http://127.0.0.1:{receiver.port}/…"
    assert receiver.secret not in repr(answers)
    assert answers["payment-cap"]["experiment"] == Decimal("400.00")
