"""`babe cost`: exact to the cent — checked against what the local MTurk then really charges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from babe_mturk.local.workers import simulate

from .conftest import balance, post_and_work, write_csv

START = Decimal("10000.00")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--reward", "0.50", "--assignments", "20"),
         {"reward": "0.50", "hits": [7, 7, 6], "assignments": 20, "rewards": "10.00", "commission": "2.00",
          "surcharge": "0.00", "masters": "0.00", "fees": "2.00", "total": "12.00"}),
        (("--reward", "0.50", "--assignments", "20", "--batch-size", "20"),
         {"reward": "0.50", "hits": [20], "assignments": 20, "rewards": "10.00", "commission": "2.00",
          "surcharge": "2.00", "masters": "0.00", "fees": "4.00", "total": "14.00"}),
        (("--reward", "0.03", "--assignments", "5"),  # 20% of 0.03 is 0.006: the $0.01 minimum
         {"reward": "0.03", "hits": [5], "assignments": 5, "rewards": "0.15", "commission": "0.05",
          "surcharge": "0.00", "masters": "0.00", "fees": "0.05", "total": "0.20"}),
        (("--reward", "0.33", "--assignments", "3"),  # 0.066 rounds to 0.07 per assignment, not 20% of 0.99
         {"reward": "0.33", "hits": [3], "assignments": 3, "rewards": "0.99", "commission": "0.21",
          "surcharge": "0.00", "masters": "0.00", "fees": "0.21", "total": "1.20"}),
        (("--reward", "1.00", "--assignments", "4", "--masters"),
         {"reward": "1.00", "hits": [4], "assignments": 4, "rewards": "4.00", "commission": "0.80",
          "surcharge": "0.00", "masters": "0.20", "fees": "1.00", "total": "5.00"}),
    ],
    ids=["batched", "surcharge", "minimum-fee", "per-assignment-rounding", "masters"],
)
def test_the_cost_of_a_create(babe, experiment, flags, expected):
    run = babe("cost", *flags, "--json")
    assert run.code == 0, run
    assert run.json == {"kind": "create", **expected}


def test_create_cost_is_what_create_then_costs(babe, experiment, turk, mturk):
    """Post, fill and approve exactly what `cost` priced: the balance drops by its total."""
    quoted = babe("cost", "--create", "--assignments", "12", "--batch-size", "12", "--json")
    assert quoted.code == 0 and quoted.json["surcharge"] == "1.20"
    assert babe("create", "--assignments", "12", "--batch-size", "12").code == 0
    simulate(turk, workers=12, seed=3)
    assert babe("approve").code == 0
    assert START - balance(mturk) == Decimal(quoted.json["total"]) == Decimal("8.40")


def test_create_cost_reads_the_settings_and_says_what_is_missing(babe, experiment, tmp_path, monkeypatch):
    text = babe("cost", "--create")
    assert text.code == 0, text
    assert text.out == (
        "Cost of creating 1 assignment in 1 HIT (1) for experiment exp1 on local\n"
        "  rewards     $0.50 x 1 = $0.50\n"
        "  MTurk fee   20%, at least $0.01 per assignment = $0.10\n"
        "  total       $0.60\n"
    )
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.chdir(bare)
    missing = babe("cost", "--assignments", "10")
    assert missing.code == 2
    assert missing.err.startswith("error: reward is not set: pass --reward 0.50")


def test_extend_cost_is_what_the_extension_then_costs(babe, experiment, turk, mturk):
    """A HIT of 5 can take 4 more (never 10); --split posts the other 2 as a new HIT: priced, then paid."""
    post_and_work(babe, turk, 5)
    assert babe("approve").code == 0
    paid_before = START - balance(mturk)
    assert paid_before == Decimal("3.00")
    refused = babe("cost", "--extend", "--assignments", "6")
    assert refused.code == 2 and "pass --split" in refused.err
    quoted = babe("cost", "--extend", "--assignments", "6", "--split", "--json")
    assert quoted.code == 0, quoted
    assert (quoted.json["kind"], quoted.json["assignments"], quoted.json["new_hits"], quoted.json["total"]) == ("extend", 6, [2], "3.60")
    assert [(h["assignments_added"], h["assignments"]) for h in quoted.json["hits"]] == [(4, 9)]
    assert babe("extend", "--assignments", "6", "--split").code == 0
    simulate(turk, workers=6, seed=21)
    assert babe("approve").code == 0
    assert START - balance(mturk) - paid_before == Decimal("3.60")


def test_bonus_file_cost_is_what_bonus_then_pays(babe, work, mturk, experiment):
    rows = [(w.worker_id, w.assignment_id, amount, "Bonus") for w, amount in zip(work, ["0.04", "0.33", "1.00", "2.50"])]
    path = write_csv(experiment, rows)
    quoted = babe("cost", "--bonus-csv", str(path), "--json")
    assert quoted.code == 0, quoted
    assert quoted.json == {
        "kind": "bonus", "payments": 4, "bonuses": "3.87", "fees": "0.78", "already_paid": 0,
        "already_paid_total": "0.00", "total": "4.65",  # fees 0.01 (minimum) + 0.07 + 0.20 + 0.50
    }
    assert babe("bonus", "--csv", str(path)).code == 0
    assert START - balance(mturk) == Decimal("4.65")
    after = babe("cost", "--bonus-csv", str(path), "--json").json
    assert (after["payments"], after["total"], after["already_paid"], after["already_paid_total"]) == (0, "0.00", 4, "4.65")
    text = babe("cost", "--bonus-csv", str(path))
    assert "already paid: 4 payment(s), $4.65 with fees (not paid again)" in text.out


def test_bad_bonus_file_is_refused_like_bonus_does(babe, work, experiment):
    path = write_csv(experiment, [(work[0].worker_id, work[0].assignment_id, "1.999", "x")])
    run = babe("cost", "--bonus-csv", str(path))
    assert run.code == 2
    assert run.err.startswith(f"error: {path} line 2: amount '1.999' is not a dollar amount")


def test_the_experiment_so_far(babe, experiment, turk, mturk):
    """Spent is what left the account; committed matches `status`; together the most it can cost."""
    work = post_and_work(babe, turk, 5)  # one HIT of 5: all submitted
    assert babe("approve", "--assignment", f"{work[0].assignment_id},{work[1].assignment_id}").code == 0
    assert babe("reject", "--assignment", work[2].assignment_id, "--reason", "Random answers").code == 0
    w = work[0]
    assert babe("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", "Top").code == 0
    assert babe("create", "--assignments", "4", "--again").code == 0  # a second HIT, open, nobody yet
    run = babe("cost", "--json")
    assert run.code == 0, run
    assert run.json == {
        "kind": "experiment", "hits": 2,
        "rewards_paid": "1.00", "fees_paid": "0.20", "bonuses_paid": "1.00", "bonus_fees_paid": "0.20",
        "rewards_committed": "3.00", "fees_committed": "0.60", "bonuses_unconfirmed": "0.00",
        "spent": "2.40", "committed": "3.60", "total": "6.00",
    }
    assert START - balance(mturk) == Decimal("2.40")
    status = babe("status", "--json").json
    assert status["committed"] == "3.60" and status["spent"] == "2.40"
    text = babe("cost")
    assert text.out == (
        "Cost of experiment exp1 on local (2 HITs)\n"
        "  spent       $2.40  (rewards $1.00, fees $0.20, bonuses $1.00, bonus fees $0.20)\n"
        "  committed   $3.60  may still be spent (rewards $3.00, fees $0.60)\n"
        "  total       $6.00\n"
    )


def test_an_expired_hit_commits_only_work_already_taken(babe, experiment, turk, mturk):
    post_and_work(babe, turk, 2)  # full and submitted
    assert babe("create", "--assignments", "3", "--again").code == 0
    assert babe("expire").code == 0
    document = babe("cost", "--json").json
    assert document["committed"] == "1.20"  # the 2 submitted; the expired HIT's empty slots are not
    assert babe("status", "--json").json["committed"] == "1.20"


def test_flags_that_do_not_go_together(babe, experiment):
    cases = [
        (("--extend", "--reward", "0.50"), "--extend cannot be combined with --reward: cost one thing at a time"),
        (("--bonus-csv", "b.csv", "--create"), "--bonus-csv cannot be combined with --create: cost one thing at a time"),
        (("--hit", "ABC"), "--hit costs an extension: add --extend"),
        (("--split",), "--split costs an extension: add --extend"),
    ]
    for flags, message in cases:
        run = babe("cost", *flags)
        assert (run.code, run.err) == (2, f"error: {message}\n"), run
