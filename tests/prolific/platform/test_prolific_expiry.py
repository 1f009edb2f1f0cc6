"""A Prolific study shows no made-up expiry: open until stopped or full, or when it stopped.

Prolific studies do not expire by time. The adapter still reports a year-ahead expiration for an
open or full study (the core compares expirations: "is it open", "can extend add to it"), and
these tests check that people never read it — in `create`, `status` (table and narrow layout),
`extend`, the JSON documents, the report (text and HTML) and Slack — while a stopped study shows
when it stopped, the core still treats an open study as open, and MTurk's output keeps its times.
Everything runs through the real `babe` against the local Prolific (and the local MTurk).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from babe_tasks.testing.webhook import WebhookReceiver

#: An ISO date as text and JSON print them ("2026-11-28 16:00Z", "2026-11-28T16:00:00Z").
DATE = re.compile(r"(?<![0-9a-fA-F])(20\d\d)-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d))?")


def dates_in(text: str) -> list[datetime]:
    return [
        datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), tzinfo=UTC)
        for y, mo, d, h, mi in DATE.findall(text)
    ]


def made_up(text: str, now: datetime) -> list[datetime]:
    """The dates in `text` later than a day from `now`: no Prolific output has any reason to show one."""
    return [moment for moment in dates_in(text) if moment > now + timedelta(days=1)]


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_an_open_study_has_no_expiry_in_create_status_extend_or_their_json(babe, experiment, monkeypatch):
    now = datetime.now(UTC)
    created = babe("create")
    assert created.code == 0, created
    assert not made_up(created.out + created.err, now), created.out
    again = babe("create", "--json")  # nothing new is posted; the study as the ledger has it
    assert again.code == 0 and again.json["hits"][0]["expires_at"] is None, again

    status = babe("status")
    assert status.code == 0, status
    assert re.search(r"\bopen until\s*\n", status.out) and "expires" not in status.out, status.out
    assert re.search(r"\bAssignable\s+5\s+0\s+0\s+0\s+0\s+stopped or full *\n", status.out), status.out
    assert not dates_in(status.out), status.out
    monkeypatch.setenv("COLUMNS", "80")  # the narrow layout: one block per study
    narrow = babe("status")
    assert "  Assignable  open until stopped or full\n" in narrow.out, narrow.out
    monkeypatch.setenv("COLUMNS", "120")

    document = babe("status", "--json")
    (hit,) = document.json["hits"]
    assert hit["expires_at"] is None
    # Still open for the core: its five places are committed money, and it can grow.
    assert document.json["committed"] == "10.00"  # 5 × ($1.50 + $0.50 fee)
    extended = babe("extend", "--assignments", "2")
    assert extended.code == 0, extended
    assert re.search(r"\n  \w{24}  7 assignments \(\+2\)\n", extended.out), extended.out
    assert not made_up(extended.out, now) and "expires" not in extended.out, extended.out
    more = babe("extend", "--assignments", "1", "--json")
    assert more.code == 0 and [h["expires_at"] for h in more.json["hits"]] == [None], more


def test_a_study_that_filled_up_says_full(babe, study_id, people):
    people(study_id, 5, seed=1)
    status = babe("status")
    assert re.search(r"\bReviewable\s+0\s+0\s+5\s+0\s+0\s+full *\n", status.out), status.out
    assert babe("status", "--json").json["hits"][0]["expires_at"] is None
    assert not dates_in(babe("status").out)


def test_a_stopped_study_shows_when_it_stopped_even_after_the_clock_moves_on(babe, study_id, people, state, local):
    from babe_prolific.local import advance_clock

    people(study_id, 2, seed=2)
    before = datetime.now(UTC).replace(microsecond=0)
    assert babe("expire").code == 0
    after = datetime.now(UTC)
    stopped = parse(babe("status", "--json").json["hits"][0]["expires_at"])
    assert before <= stopped <= after
    (study,) = local.studies()
    assert study["status"] == "COMPLETED"
    shown = f"stopped {stopped:%Y-%m-%d %H:%M}Z"
    assert re.search(rf"\bReviewable\s+3\s+0\s+2\s+0\s+0\s+{shown} *\n", babe("status").out)
    advance_clock(state, 3 * 86400)  # three days on, it stopped when it stopped
    assert parse(babe("status", "--json").json["hits"][0]["expires_at"]) == stopped
    assert shown in babe("status").out


def test_the_report_shows_no_made_up_date(babe, study_id, people, experiment):
    people(study_id, 3, seed=4)
    assert babe("status").code == 0  # the ledger has the study as the platform reports it
    run = babe("report")
    assert run.code == 0, run
    now = datetime.now(UTC)
    assert not made_up(run.out, now), run.out
    html = (experiment / "reports" / "exp1-prolific-local.html").read_text()
    assert not made_up(html, now)
    # The page writes dates without a year ("Nov 28 16:00"): no year after this one appears at all.
    assert not re.search(rf"(?<![0-9a-fA-F]){now.year + 1}(?![0-9a-fA-F])", html)


def test_slack_says_no_open_until_for_a_study_and_stopped_for_one_stopped_elsewhere(babe, configure, monkeypatch):
    """The create message has no "Open until" line; a study that closed before filling (stopped
    with `expire` announcements off, as if in Prolific's web app) "stopped", not "expired"."""
    monkeypatch.setenv("BABE_PLUGINS", "prolific,slack")
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
        configure(plugins={"prolific": {"estimated_minutes": 10}, "slack": {"timeout": 1, "events": ["create", "status"]}})
        now = datetime.now(UTC)
        run = babe("create", "--json")
        assert run.code == 0, run
        study = run.json["hits"][0]["hit_id"]
        (text,) = receiver.texts
        assert "is on *local*: 1 study, 5 assignments at $1.50" in text
        assert "Open until" not in text and not made_up(text, now), text
        assert babe("expire").code == 0 and len(receiver.texts) == 1  # expire is not announced
        assert babe("status").code == 0
        changed = receiver.texts[-1]
        assert "*exp1* on *local*: 1 study stopped" in changed, changed
        assert f"`{study}` stopped with 0 of 5 assignments in" in changed, changed
        assert "expired" not in changed and not made_up(changed, now)


def test_mturk_keeps_its_expiry_times(babe, configure):
    """The same tasks on the local MTurk: a HIT expires by time, and every output says when."""
    configure(platform=None, plugins={}, reward="0.50", lifetime="7d")
    now = datetime.now(UTC)
    created = babe("create", "--json")
    assert created.code == 0, created
    (hit,) = created.json["hits"]
    assert abs(parse(hit["expires_at"]) - (now + timedelta(days=7))) < timedelta(minutes=1)
    status = babe("status")
    expiry = f"{parse(hit['expires_at']):%Y-%m-%d %H:%M}Z"
    assert re.search(rf"\bAssignable\s+5\s+0\s+0\s+0\s+0\s+{expiry} *\n", status.out) and "expires" in status.out
    assert "open until" not in status.out
    assert babe("status", "--json").json["hits"][0]["expires_at"] == hit["expires_at"]
    extended = babe("extend", "--assignments", "1")
    assert f"6 assignments (+1), expires {expiry}" in extended.out, extended.out
