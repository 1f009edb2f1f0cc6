"""The payment-cap plugin: its arithmetic against hand-computed tables, and its vetoes end to end.

End to end means the real `babe` program with the plugin loaded by its entry point, the local
MTurk behind boto3, and the ledger the steps write: a veto must leave the platform untouched (no
HIT, no bonus — asserted on the local MTurk through boto3), say the numbers, and exit 3; `status`
and `cost` show each cap and what is left.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babe_mturk.local.workers import simulate
from babe_payment_cap.book import Book, Entry, bonus_commitment, hit_commitment, tally
from babe_payment_cap.caps import check, crossed, report
from babe_payment_cap.config import CapSettings

from babe_tasks.errors import Veto

D = Decimal


# -- the arithmetic, by hand ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reward, size, masters, committed",
    [
        # fee per assignment: 20%, at least $0.01, rounded half up; 40% from 10 assignments; +5% Masters
        ("0.50", 7, False, "4.20"),  # 7 × (0.50 + 0.10)
        ("0.33", 9, False, "3.60"),  # 0.066 → 0.07: 9 × 0.40
        ("0.50", 10, False, "7.00"),  # 40%: 10 × (0.50 + 0.20)
        ("0.05", 5, False, "0.30"),  # 0.01: 5 × 0.06
        ("0.02", 3, False, "0.09"),  # 0.004 → the $0.01 minimum: 3 × 0.03
        ("1.00", 5, True, "6.25"),  # 25%: 5 × 1.25
        ("0.33", 12, True, "5.76"),  # 45% of 0.33 = 0.1485 → 0.15: 12 × 0.48
        ("0.10", 1, False, "0.12"),
    ],
)
def test_a_hit_commits_every_assignment_with_its_fee(reward, size, masters, committed):
    assert hit_commitment(D(reward), size, masters) == D(committed)


@pytest.mark.parametrize("amount, committed", [("1.00", "1.20"), ("0.03", "0.04"), ("2.25", "2.70"), ("0.05", "0.06"), ("0.52", "0.62")])
def test_a_bonus_commits_its_amount_and_its_fee(amount, committed):
    assert bonus_commitment(D(amount)) == D(committed)


def _at(day: str, hour: int, zone: str = "UTC") -> float:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=ZoneInfo(zone)).timestamp()


#: A ledger by hand: (experiment, when, committed, spent).
ENTRIES = [
    Entry("exp1", _at("2026-11-27", 10), D("12.00")),  # yesterday's HITs
    Entry("exp1", _at("2026-11-28", 9), D("4.20")),  # today's HIT
    Entry("exp1", _at("2026-11-28", 11), spent=D("3.60")),  # approvals: spent, not committed again
    Entry("exp1", _at("2026-11-28", 12), D("1.20")),  # a bonus with its fee
    Entry("other", _at("2026-11-28", 8), D("30.00")),  # another experiment of the same ledger, today
    Entry("other", _at("2026-11-20", 8), D("50.00"), D("20.00")),
    Entry("exp1", _at("2026-11-28", 23, "UTC"), D("2.00")),  # late today in UTC, tomorrow in Berlin
]


def test_committed_and_spent_per_experiment_per_day_and_in_total():
    book = tally(ENTRIES, "exp1", "local", date(2026, 11, 28), ZoneInfo("UTC"))
    assert book.committed == {"experiment": D("19.40"), "daily": D("37.40"), "total": D("99.40")}
    assert book.spent == {"experiment": D("3.60"), "daily": D("3.60"), "total": D("23.60")}


def test_the_calendar_day_is_the_configured_time_zones():
    berlin = ZoneInfo("Europe/Berlin")  # UTC+1 in November
    today = tally(ENTRIES, "exp1", "local", date(2026, 11, 28), berlin)
    assert today.committed["daily"] == D("35.40")  # 4.20 + 1.20 + 30.00: 23:00 UTC is already the 29th
    tomorrow = tally(ENTRIES, "exp1", "local", date(2026, 11, 29), berlin)
    assert tomorrow.committed["daily"] == D("2.00")


BOOK = Book(
    "exp1",
    "local",
    date(2026, 11, 28),
    committed={"experiment": D("312.00"), "daily": D("40.00"), "total": D("900.00")},
    spent={"experiment": D("120.00"), "daily": D("10.00"), "total": D("500.00")},
)


@pytest.mark.parametrize(
    "caps, amount, crossed_cap",
    [
        (CapSettings(experiment=D("400.00")), "88.00", None),  # reaching a cap exactly is allowed
        (CapSettings(experiment=D("400.00")), "88.01", "experiment"),
        (CapSettings(daily=D("100.00")), "60.00", None),
        (CapSettings(daily=D("100.00")), "60.01", "daily"),
        (CapSettings(total=D("1000.00")), "100.01", "total"),
        (CapSettings(experiment=D("400.00"), daily=D("50.00"), total=D("950.00")), "20.00", "daily"),
        (CapSettings(experiment=D("300.00"), daily=D("50.00")), "1.00", "experiment"),  # first in order
        (CapSettings(), "10000.00", None),  # no caps: nothing to cross
    ],
)
def test_which_cap_a_commitment_crosses(caps, amount, crossed_cap):
    assert crossed(caps, BOOK, D(amount)) == crossed_cap


def test_the_veto_gives_the_numbers_as_the_issue_writes_them():
    with pytest.raises(Veto) as caught:
        check(CapSettings(experiment=D("400.00")), BOOK, D("151.20"), "create")
    assert str(caught.value) == (
        "this create commits $151.20; the experiment cap is $400.00 and $312.00 is already committed ($88.00 left); "
        "post fewer assignments or raise babe.plugins.payment-cap.experiment"
    )
    with pytest.raises(Veto, match=r"^this bonus commits \$61\.00; the daily cap is \$100\.00 and \$40\.00 is already "
                                   r"committed today \(2026-11-28 UTC\) \(\$60\.00 left\); pay less or raise "
                                   r"babe\.plugins\.payment-cap\.daily$"):
        check(CapSettings(daily=D("100.00")), BOOK, D("61.00"), "bonus")
    with pytest.raises(Veto, match=r"the total cap is \$800\.00 and \$900\.00 is already committed by all experiments of "
                                   r"this ledger \(already \$100\.00 over it\); extend by fewer assignments"):
        check(CapSettings(total=D("800.00")), BOOK, D("1.00"), "extend")


def test_the_report_shows_each_cap_committed_spent_and_left():
    caps = CapSettings(experiment=D("400.00"), daily=D("100.00"))
    shown = report(caps, BOOK)
    assert shown == {
        "experiment": {"cap": D("400.00"), "committed": D("312.00"), "spent": D("120.00"), "left": D("88.00")},
        "daily": {
            "cap": D("100.00"), "committed": D("40.00"), "spent": D("10.00"), "left": D("60.00"),
            "day": "2026-11-28", "timezone": "UTC",
        },
    }
    assert str(shown) == (
        "experiment cap $400.00: $312.00 committed, $88.00 left; daily cap $100.00 (2026-11-28 UTC): $40.00 committed, $60.00 left"
    )
    costed = report(caps, BOOK, D("70.00"))
    assert costed["experiment"]["left_after"] == D("18.00") and costed["experiment"]["fits"] is True
    assert costed["daily"]["left_after"] == D("-10.00") and costed["daily"]["fits"] is False
    assert "daily cap $100.00 (2026-11-28 UTC): $40.00 committed, this $70.00 would cross it" in str(costed)


# -- end to end ---------------------------------------------------------------------------------------
@pytest.fixture
def capped(lab_plugins, configure):
    """payment-cap loaded by entry point; `capped(experiment="400.00", ...)` writes its section."""
    lab_plugins("payment-cap")

    def write(**section):
        configure(plugins={"payment-cap": section})

    return write


def test_the_issues_example_end_to_end(babe, capped, mturk, list_hits, experiment):
    capped(experiment="400.00")
    # $312.00 committed: 130 assignments at $2.00 + $0.40 fee, in 15 HITs of at most 9.
    first = babe("create", "--reward", "2.00", "--assignments", "130", "--json")
    assert first.code == 0, first
    assert first.json["cost"]["total"] == "312.00"
    before = list_hits(mturk)
    # $151.20 more: 63 assignments at $2.40.
    run = babe("create", "--reward", "2.00", "--assignments", "63", "--json")
    assert run.code == 3, run
    assert run.json == {
        "error": {
            "exit_code": 3,
            "message": "this create commits $151.20; the experiment cap is $400.00 and $312.00 is already committed "
            "($88.00 left); post fewer assignments or raise babe.plugins.payment-cap.experiment",
            "plugin": "payment-cap",
        }
    }
    assert "error: stopped by plugin payment-cap: this create commits $151.20; the experiment cap is $400.00 and " \
           "$312.00 is already committed" in run.err
    assert list_hits(mturk) == before  # nothing posted
    assert babe("create", "--again", "--reward", "2.00", "--assignments", "36").code == 0  # $86.40 fits in $88.00


def test_a_vetoed_create_leaves_no_plan_in_the_ledger_and_a_dry_run_shows_the_veto(babe, capped, mturk, list_hits, experiment):
    from babe_tasks.testing.postgres import ledger_rows

    capped(experiment="10.00")
    assert babe("create", "--assignments", "20", "--dry-run").code == 3
    assert babe("create", "--assignments", "20").code == 3
    assert list_hits(mturk) == []
    assert ledger_rows(experiment, "SELECT COUNT(*) FROM plans")[0][0] == 0
    assert babe("create", "--assignments", "16").code == 0  # 16 × 0.60 = 9.60


def test_a_resumed_create_commits_only_the_hits_not_posted_yet(babe, capped, mturk, list_hits, experiment, monkeypatch):
    """A create that died after its first HIT is finished by the same command, under a cap that the
    whole plan on top of the posted HIT would cross."""
    from babe_mturk.platform import MTurkPlatform

    from babe_tasks.platform.base import OperationFailed

    capped(experiment="12.00")  # 20 assignments: 7 + 7 + 6 HITs = $4.20 + $4.20 + $3.60 = $12.00
    real = MTurkPlatform.post

    def first_only(self, plan, hit):
        if hit.index > 0:
            raise OperationFailed("connection lost (simulated)")
        return real(self, plan, hit)

    monkeypatch.setattr(MTurkPlatform, "post", first_only)
    run = babe("create", "--assignments", "20")
    assert run.code == 1 and "posted 1 of 3 HITs" in run.err, run
    monkeypatch.setattr(MTurkPlatform, "post", real)
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run  # $4.20 committed + $7.80 still to post = $12.00: fits
    assert len(list_hits(mturk)) == 3
    run = babe("create", "--assignments", "1")
    assert run.code == 3 and "this create commits $0.60; the experiment cap is $12.00 and $12.00 is already committed" in run.err


def test_the_same_create_run_again_after_it_finished_commits_nothing(babe, capped, mturk, list_hits, experiment):
    """It posts nothing, so the cap is not in its way; `--again` would post the batch again: vetoed."""
    capped(experiment="12.00")
    assert babe("create", "--assignments", "20").code == 0
    again = babe("create", "--assignments", "20")
    assert again.code == 0 and "Posted nothing now" in again.out, again
    twice = babe("create", "--assignments", "20", "--again")
    assert twice.code == 3 and "this create commits $12.00; the experiment cap is $12.00 and $12.00 is already committed" in twice.err
    assert len(list_hits(mturk)) == 3


def test_the_total_cap_counts_every_experiment_of_the_ledger_and_the_daily_cap_only_today(babe, capped, monkeypatch, experiment, mturk, list_hits, ledger_write):
    capped(total="20.00", daily="15.00")
    assert babe("create", "--assignments", "10").code == 0  # exp1: 10 × 0.60 = 6.00 (HITs of 5 and 5)
    monkeypatch.setenv("BABE_EXPERIMENT", "exp1-followup")
    run = babe("create", "--assignments", "15")  # 9.00: 15.00 today, exactly the daily cap
    assert run.code == 0, run
    run = babe("create", "--assignments", "1")
    assert run.code == 3 and "the daily cap is $15.00 and $15.00 is already committed today" in run.err, run
    # The first experiment's HITs were posted yesterday, as far as the ledger can tell.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).timestamp()
    ledger_write(experiment, "UPDATE hits SET posted_at = ? WHERE experiment = 'exp1'", (yesterday,))
    run = babe("create", "--assignments", "9")  # 5.40: today 9.00 + 5.40 fits, total 15.00 + 5.40 does not
    assert run.code == 3, run
    assert "the total cap is $20.00 and $15.00 is already committed by all experiments of this ledger ($5.00 left)" in run.err
    assert babe("create", "--again", "--assignments", "8").code == 0  # 4.80: total 19.80
    assert len(list_hits(mturk)) == 2 + 2 + 1


def test_status_shows_each_cap_and_what_is_left(babe, capped, experiment, turk):
    capped(experiment="20.00", daily="100.00")
    hits = [h["hit_id"] for h in babe("create", "--assignments", "10", "--json").json["hits"]]
    simulate(turk, hit_ids=hits, workers=5, seed=1)
    assert babe("approve").code == 0  # spent: 5 × 0.60 (HITs of 5 and 5; each worker took one of each group's HITs)
    run = babe("status", "--json")
    assert run.code == 0, run
    caps = run.json["payment_caps"]
    assert caps["experiment"] == {"cap": "20.00", "committed": "6.00", "spent": "3.00", "left": "14.00"}
    assert caps["daily"]["left"] == "94.00" and caps["daily"]["timezone"] == "UTC"
    text = babe("status").out
    assert "payment_caps: experiment cap $20.00: $6.00 committed, $14.00 left; daily cap $100.00 (" in text


def test_bonus_over_a_cap_is_vetoed_and_no_bonus_is_sent(babe, capped, experiment, turk, mturk):
    capped(experiment="2.00")
    hits = [h["hit_id"] for h in babe("create", "--assignments", "2", "--json").json["hits"]]  # 1.20 committed
    simulate(turk, hit_ids=hits, workers=2, seed=7)
    assert babe("approve").code == 0
    assignment = mturk.list_assignments_for_hit(HITId=hits[0])["Assignments"][0]
    balance = mturk.get_account_balance()["AvailableBalance"]
    run = babe(
        "bonus", "--worker", assignment["WorkerId"], "--assignment", assignment["AssignmentId"],
        "--amount", "1.00", "--reason", "thanks", "--json",
    )
    assert run.code == 3, run
    assert run.json["error"]["message"].startswith(
        "this bonus commits $1.20; the experiment cap is $2.00 and $1.20 is already committed ($0.80 left)"
    )
    assert mturk.list_bonus_payments(HITId=hits[0])["BonusPayments"] == []
    assert mturk.get_account_balance()["AvailableBalance"] == balance
    run = babe(
        "bonus", "--worker", assignment["WorkerId"], "--assignment", assignment["AssignmentId"],
        "--amount", "0.50", "--reason", "thanks",
    )
    assert run.code == 0, run  # 0.60 fits in 0.80
    assert len(mturk.list_bonus_payments(HITId=hits[0])["BonusPayments"]) == 1
    run = babe("status", "--json")
    assert run.json["payment_caps"]["experiment"]["committed"] == "1.80"


def test_extend_over_a_cap_is_vetoed_and_no_assignment_is_added(babe, capped, experiment, mturk):
    capped(experiment="14.00")
    hits = [h["hit_id"] for h in babe("create", "--assignments", "20", "--json").json["hits"]]  # 12.00
    run = babe("extend", "--assignments", "3", "--json")  # 3 × 0.60 = 1.80: 13.80
    assert run.code == 0, run
    sizes = [mturk.get_hit(HITId=hit)["HIT"]["MaxAssignments"] for hit in hits]
    assert sizes == [8, 8, 7]
    run = babe("extend", "--assignments", "1", "--json")  # 0.60 more would make 14.40
    assert run.code == 3, run
    assert run.json["error"]["message"] == (
        "this extend commits $0.60; the experiment cap is $14.00 and $13.80 is already committed ($0.20 left); "
        "extend by fewer assignments or raise babe.plugins.payment-cap.experiment"
    )
    assert [mturk.get_hit(HITId=hit)["HIT"]["MaxAssignments"] for hit in hits] == sizes
    assert babe("extend", "--lifetime", "1d").code == 0  # more time commits nothing


def test_a_resumed_extension_is_not_counted_twice(babe, capped, experiment, mturk, monkeypatch):
    """An extension that failed half-way is in the ledger with all it adds; finishing it commits nothing new."""
    from babe_mturk.platform import MTurkPlatform

    from babe_tasks.platform.base import OperationFailed

    capped(experiment="13.80")  # create 12.00 + extend 3 × 0.60
    hits = [h["hit_id"] for h in babe("create", "--assignments", "20", "--json").json["hits"]]
    real = MTurkPlatform.add_assignments

    def not_the_second(self, hit_id, count, token):
        if hit_id == hits[1]:
            raise OperationFailed("connection lost (simulated)")
        return real(self, hit_id, count, token)

    monkeypatch.setattr(MTurkPlatform, "add_assignments", not_the_second)
    run = babe("extend", "--assignments", "3")
    assert run.code == 1, run
    monkeypatch.setattr(MTurkPlatform, "add_assignments", real)
    run = babe("extend", "--assignments", "3")  # resumes: the same $1.80, already committed
    assert run.code == 0, run
    assert [mturk.get_hit(HITId=hit)["HIT"]["MaxAssignments"] for hit in hits] == [8, 8, 7]
    assert babe("status", "--json").json["payment_caps"]["experiment"]["left"] == "0.00"


@pytest.mark.parametrize(
    "hits, committed",
    [
        # (reward, assignments before, added, masters) → added × (reward + fee at the new size)
        ([("0.50", 7, 1, False), ("0.50", 6, 2, False)], "1.80"),
        ([("0.50", 12, 3, False)], "2.10"),  # 40% at 15: 3 × 0.70
        ([("1.00", 4, 1, True)], "1.25"),
        ([("0.50", 7, 0, False)], "0.00"),  # only more time
    ],
)
def test_an_extension_commits_the_assignments_it_adds(hits, committed):
    import json

    from babe_payment_cap.book import added_commitment

    from babe_tasks.ledger import extension_hits

    stored = json.dumps(
        {"hits": [{"reward": r, "assignments_before": n, "add": add, "masters": m} for r, n, add, m in hits]}
    )
    added = extension_hits(stored)  # the ledger reads the plan `extend` stored; the cap prices it
    assert sum((added_commitment(h.reward, h.size_after, h.added, h.masters) for h in added), D("0.00")) == D(committed)


def test_cost_shows_each_cap_and_what_would_be_left(babe, capped, experiment):
    capped(experiment="20.00")
    assert babe("create", "--assignments", "10").code == 0  # 6.00
    run = babe("cost", "--create", "--assignments", "20", "--json")
    assert run.code == 0, run
    assert run.json["total"] == "12.00"
    assert run.json["payment_caps"]["experiment"] == {
        "cap": "20.00", "committed": "6.00", "spent": "0.00", "left": "14.00",
        "this": "12.00", "left_after": "2.00", "fits": True,
    }
    run = babe("cost", "--create", "--assignments", "30")
    assert "payment_caps: experiment cap $20.00: $6.00 committed, this $18.00 would cross it" in run.out
    run = babe("cost", "--json")  # the experiment so far
    assert run.json["payment_caps"]["experiment"] == {"cap": "20.00", "committed": "6.00", "spent": "0.00", "left": "14.00"}


# -- live: the account balance ----------------------------------------------------------------------
@pytest.fixture
def live_server(state_path, monkeypatch):
    """The local MTurk over HTTP, standing in for live (`--target live --endpoint-url`), with dummy keys."""
    from babe_mturk.local.server import serve_in_thread

    server, url = serve_in_thread(str(state_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLIVETEST000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "live-test-secret")
    yield url
    server.shutdown()


def _set_balance(turk, amount: str) -> None:
    from babe_mturk.local.store import Store

    with turk.store.write() as tx:
        Store.set_meta(tx, "balance", amount)


def test_on_live_a_create_that_costs_more_than_the_balance_is_refused(babe, capped, live_server, turk, mturk, list_hits):
    capped()  # configured without caps: the balance check alone
    _set_balance(turk, "10.00")
    run = babe("create", "--target", "live", "--endpoint-url", live_server, "--assignments", "20", "--yes", "--json")
    assert run.code == 3, run
    assert run.json["error"]["message"] == (
        "this create commits $12.00 but the live account balance is $10.00: add funds to the requester account "
        "or post fewer assignments"
    )
    assert list_hits(mturk) == []
    run = babe("create", "--target", "live", "--endpoint-url", live_server, "--assignments", "16", "--yes")
    assert run.code == 0, run  # $9.60
    assert len(list_hits(mturk)) == 2


def test_the_balance_is_checked_only_on_live_and_can_be_switched_off(babe, capped, live_server, turk, mturk, list_hits):
    _set_balance(turk, "1.00")
    capped()
    # Without the plugin's check the platform itself refuses, as Amazon does (insufficient funds, exit 1),
    # rather than the plugin before anything is sent (exit 3, "this create commits ...").
    local = babe("create", "--assignments", "20")  # local: no balance check
    assert local.code == 1 and "insufficient funds" in local.err and "commits" not in local.err, local
    capped(check_balance=False)
    run = babe("create", "--target", "live", "--endpoint-url", live_server, "--assignments", "20", "--yes")
    assert run.code == 1 and "insufficient funds" in run.err and "commits" not in run.err, run
    _set_balance(turk, "100.00")
    assert babe("create", "--target", "live", "--endpoint-url", live_server, "--assignments", "20", "--yes").code == 0


# -- settings ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "section, message",
    [
        ({"experimnet": "400.00"}, "unknown setting babe.plugins.payment-cap.experimnet: did you mean experiment?"),
        ({"experiment": "$400"}, "babe.plugins.payment-cap.experiment '$400' is not a dollar amount"),
        ({"daily": "12.345"}, "babe.plugins.payment-cap.daily '12.345' is not a dollar amount: write digits with at most two decimals"),
        ({"total": True}, "babe.plugins.payment-cap.total must be a dollar amount"),
        ({"timezone": "Mars/Olympus"}, "babe.plugins.payment-cap.timezone 'Mars/Olympus' is not a time zone"),
        ({"check_balance": "maybe"}, "babe.plugins.payment-cap.check_balance 'maybe' is not true or false"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_done(babe, capped, section, message, mturk, list_hits):
    capped(**section)
    run = babe("create", "--assignments", "2", "--json")
    assert run.code == 2, run
    assert message in run.json["error"]["message"] and run.json["error"]["plugin"] == "payment-cap"
    assert list_hits(mturk) == []


def test_unconfigured_the_plugin_adds_nothing(babe, lab_plugins, experiment):
    lab_plugins("payment-cap")
    assert babe("create", "--assignments", "30").code == 0
    run = babe("status", "--json")
    assert run.code == 0 and "payment_caps" not in run.json
