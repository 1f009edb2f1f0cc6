"""Slack messages on another platform: its currency symbol, its fees (VAT shown), its name.

The platform is a lab plugin written here in the experiment's plugins/ folder, wrapping the MTurk
platform so it posts to the test's local MTurk: `pennies` charges 25% plus 20% VAT on that fee, in
pounds, one HIT per plan. A place at £0.50 costs £0.66 (0.125 → £0.13 fee, 0.026 → £0.03 VAT),
where MTurk would charge $0.60; a £1.00 bonus £1.30. Messages are read as the webhook receiver on
127.0.0.1 got them, from the real `babe` program with the slack plugin loaded by its entry point.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from babe_mturk.local.workers import simulate

PENNIES = '''
from decimal import ROUND_HALF_UP, Decimal

from babe_tasks.planning import Cost
from babe_mturk.platform import MTurkPlatform

CENT = Decimal("0.01")


class Pricing:
    currency, symbol, single_batch, large_hit_assignments = "GBP", "\\u00a3", True, None

    def parts(self, amount):
        fee = (Decimal(amount) * Decimal("0.25")).quantize(CENT, ROUND_HALF_UP)
        return fee, (fee * Decimal("0.20")).quantize(CENT, ROUND_HALF_UP)

    def assignment_fee(self, reward, hit_size, masters=False):
        return sum(self.parts(reward))

    def assignments_cost(self, reward, hit_size, count, masters=False):
        fee, vat = self.parts(reward)
        return Cost(count, reward * count, fee * count, vat=vat * count)

    def bonus_fee(self, amount):
        return sum(self.parts(amount))


class Pennies(MTurkPlatform):
    name = "pennies"
    pricing = Pricing()


def babe_platform(settings):
    if settings.platform == "pennies":
        return Pennies(settings)
'''

ON = ("--platform", "pennies")


@pytest.fixture
def slack(lab_plugins, configure, receiver, monkeypatch, experiment):
    """Slack (and payment-cap, unconfigured) by entry point, the pennies platform in the folder."""
    plugins = experiment / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "pennies.py").write_text(PENNIES)
    lab_plugins("slack", "payment-cap", "pennies")
    configure(plugins={"slack": {"timeout": 1}})
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    return receiver


def assignments(turk, hit_id: str) -> list[dict]:
    from babe_mturk.local import client

    return client(turk=turk).list_assignments_for_hit(HITId=hit_id)["Assignments"]


def test_create_shows_pounds_and_the_platforms_fees_with_vat(babe, slack):
    run = babe("create", "--assignments", "5", *ON, "--json")
    assert run.code == 0, run
    assert run.json["cost"] == {**run.json["cost"], "total": "3.30", "vat": "0.15"}
    assert len(slack.posts) == 1
    text = slack.texts[0]
    assert "*exp1* is on *local*: 1 HIT, 5 assignments at £0.50" in text
    # 5 × £0.13 fee + 5 × £0.03 VAT = £0.80; MTurk's 20% would say $0.50.
    assert "Cost if all approved: *£3.30* (rewards £2.50 + pennies fees £0.80 (VAT £0.15 included))" in text
    assert "$" not in text and "MTurk" not in text
    assert slack.posts[0].body["blocks"][2]["elements"][0]["text"] == (
        "babe-tasks · experiment exp1 · platform pennies · target local"
    )


def test_approve_shows_what_the_platform_booked_and_this_platforms_spending(babe, slack, turk):
    """The approve hook is handed no pricing: the plugin asks the platform, and counts only its HITs."""
    mturk_hit = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    simulate(turk, hit_ids=[mturk_hit], workers=2, seed=11)
    assert babe("approve", "--json").json["approved"] == 2  # MTurk: 2 × $0.60 spent in dollars
    assert "paid $1.20 (rewards and fees)" in slack.texts[-1]
    hit = babe("create", "--assignments", "5", *ON, "--json").json["hits"][0]["hit_id"]
    simulate(turk, hit_ids=[hit], workers=3, seed=12)
    slack.posts.clear()
    run = babe("approve", *ON, "--json")
    assert run.code == 0 and run.json["approved"] == 3, run
    assert len(slack.posts) == 1
    text = slack.texts[0]
    assert "*exp1* on *local*: approved 3 assignments, paid £1.98 (rewards and fees)" in text  # 3 × 0.66
    assert "Spent on this experiment so far: £1.98" in text  # the MTurk dollars are not added to pounds
    assert "$" not in text


def test_bonus_and_extend_show_pounds(babe, slack, turk):
    hit = babe("create", "--assignments", "3", *ON, "--json").json["hits"][0]["hit_id"]
    simulate(turk, hit_ids=[hit], workers=1, seed=4)
    assert babe("approve", *ON).code == 0
    first = assignments(turk, hit)[0]
    slack.posts.clear()
    run = babe(
        "bonus", "--worker", first["WorkerId"], "--assignment", first["AssignmentId"], "--amount", "1.00",
        "--reason", "great work", *ON, "--json",
    )
    assert run.code == 0, run
    assert run.json["total"] == "1.30"
    text = slack.texts[-1]
    assert "paid 1 bonus, £1.30 with fees" in text  # £1.00 + £0.25 fee + £0.05 VAT
    assert f"`{first['WorkerId']}` £1.00 — great work" in text
    run = babe("extend", "--assignments", "2", *ON, "--json")
    assert run.code == 0, run
    text = slack.texts[-1]
    assert f"`{hit}` +2 assignments (now 5)" in text
    assert "Commits up to £1.32 more if all is approved" in text
    assert "$" not in text


def test_a_veto_in_pounds_reaches_the_channel(babe, slack, configure, mturk, list_hits):
    configure(plugins={"slack": {"timeout": 1}, "payment-cap": {"experiment": "3.00"}})
    run = babe("create", "--assignments", "5", *ON)
    assert run.code == 3, run
    assert list_hits(mturk) == []
    text = slack.texts[-1]
    assert "*payment-cap* stopped *create* — nothing was done" in text
    assert "\n> this create commits £3.30; the experiment cap is £3.00 and £0.00 is already committed" in text


def test_a_milestone_shows_the_spending_in_the_platforms_currency(experiment):
    """`babe_milestone` gets the watch's `StatusResult`, which carries the platform's pricing."""
    from babe_slack import messages
    from babe_tasks.money import MTURK_PRICING
    from babe_tasks.settings import Settings
    from babe_tasks.steps.status import StatusResult
    from babe_tasks.steps.watch import Milestone

    pounds = type("Pounds", (), {"currency": "GBP", "symbol": "£"})()
    reached = Milestone("half", "half of the goal approved", 5, 10, datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    status = StatusResult(hits=[], spent=Decimal("3.30"), repeat_workers={}, pricing=pounds)
    text = messages.milestone(Settings.build(), reached, status).text
    assert "Spent on this experiment so far: £3.30" in text
    status = StatusResult(hits=[], spent=Decimal("3.30"), repeat_workers={}, pricing=MTURK_PRICING)
    assert "Spent on this experiment so far: $3.30" in messages.milestone(Settings.build(), reached, status).text


def test_the_prolific_plugin_names_itself_and_its_vat(babe, lab_plugins, configure, receiver, monkeypatch, tmp_path):
    """The shipped Prolific plugin on the local Prolific, a GBP account with 20% VAT on its 33.33% fee."""
    from babe_prolific.local import configure_account
    from babe_prolific.local import simulate as participants

    state = tmp_path / "prolific.sqlite"
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(state))
    configure_account(state, currency_code="GBP", vat_percentage=20)
    lab_plugins("slack", "prolific")
    configure(plugins={"slack": {"timeout": 1}}, duration="10m", platform="prolific")
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", receiver.url)
    run = babe("create", "--assignments", "8", "--json")
    assert run.code == 0, run
    text = receiver.texts[-1]
    # 8 places × (£0.50 + £0.17 fee + £0.03 VAT)
    assert "Cost if all approved: *£5.60* (rewards £4.00 + Prolific fees £1.60 (VAT £0.24 included))" in text
    assert text.endswith("babe-tasks · experiment exp1 · platform Prolific · target local")
    assert "is on *local*: 1 study, 8 assignments at £0.50" in text and "\nStudies: `" in text
    participants(state, run.json["hits"][0]["hit_id"], 4, seed=1)
    run = babe("approve", "--json")
    assert run.code == 0 and run.json["approved"] == 4, run
    text = receiver.texts[-1]
    assert "approved 4 assignments, paid £2.80 (rewards and fees)" in text
    assert "Spent on this experiment so far: £2.80" in text
    assert babe("expire").code == 0
    assert "expired 1 study" in receiver.texts[-1]
    # Prolific's words throughout: no message of the session says HIT
    assert not [t for t in receiver.texts if re.search(r"\bHITs?\b", t)], receiver.texts
