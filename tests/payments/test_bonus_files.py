"""Bad bonus input is refused with one line naming the row and the fix — and nothing is paid.

Each case writes a file with good rows around one bad one; after the refusal MTurk lists no
bonus for any assignment of the experiment and the balance is untouched.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from .conftest import balance, bonuses_of, make_experiment, post_and_work, write_csv

GOOD = "Thanks for taking part"


def rows_with(work, bad_row: tuple | None = None) -> list[tuple]:
    rows = [(w.worker_id, w.assignment_id, "0.50", GOOD) for w in work[:2]]
    return rows + ([bad_row] if bad_row is not None else []) + [(work[3].worker_id, work[3].assignment_id, "0.50", GOOD)]


def assert_nothing_paid(mturk, work):
    assert bonuses_of(mturk, [w.assignment_id for w in work]) == []
    assert balance(mturk) == Decimal("10000.00")


AMOUNTS = [
    ("abc", "amount 'abc' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"),
    ("$1", "amount '$1' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"),
    ("-1", "amount '-1' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"),
    ("0", "amount '0' must be more than 0.00"),
    ("0.00", "amount '0.00' must be more than 0.00"),
    ("0.123", "amount '0.123' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"),
    ("", "amount '' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"),
]


@pytest.mark.parametrize(("amount", "message"), AMOUNTS, ids=[a or "empty" for a, _ in AMOUNTS])
def test_bad_amounts(babe, work, mturk, experiment, amount, message):
    w = work[2]
    path = write_csv(experiment, rows_with(work, (w.worker_id, w.assignment_id, amount, GOOD)))
    run = babe("bonus", "--csv", str(path))
    assert run.code == 2, run
    assert run.err == f"error: {path} line 4: {message}\n"
    assert_nothing_paid(mturk, work)


def test_bad_amount_as_a_flag(babe, work, mturk):
    w = work[0]
    run = babe("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "$1", "--reason", GOOD, "--json")
    assert run.code == 2, run
    assert run.json["error"]["message"] == (
        "--amount '$1' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"
    )
    assert_nothing_paid(mturk, work)


def test_duplicate_row(babe, work, mturk, experiment):
    w = work[0]
    path = write_csv(experiment, rows_with(work, (w.worker_id, w.assignment_id, "0.50", GOOD)))
    run = babe("bonus", "--csv", str(path))
    assert run.code == 2, run
    assert run.err == (
        f"error: {path} line 4: assignment {w.assignment_id} is already on line 2: one payment per assignment and "
        "file — add the amounts up into one line, or pay the second in a later run\n"
    )
    assert_nothing_paid(mturk, work)


def test_unknown_assignment(babe, work, mturk, experiment):
    path = write_csv(experiment, rows_with(work, (work[2].worker_id, "NOSUCHASSIGNMENT000000000000001", "0.50", GOOD)))
    run = babe("bonus", "--csv", str(path))
    assert run.code == 2, run
    assert run.err == f"error: {path} line 4: assignment NOSUCHASSIGNMENT000000000000001 does not exist on local: check the id\n"
    assert_nothing_paid(mturk, work)


def test_worker_not_matching_the_assignment(babe, work, mturk, experiment):
    w, other = work[2], work[4]
    path = write_csv(experiment, rows_with(work, (other.worker_id, w.assignment_id, "0.50", GOOD)))
    run = babe("bonus", "--csv", str(path))
    assert run.code == 2, run
    assert run.err == (
        f"error: {path} line 4: assignment {w.assignment_id} was done by worker {w.worker_id}, not "
        f"{other.worker_id}: correct the worker or the assignment id\n"
    )
    assert_nothing_paid(mturk, work)


def test_assignment_of_an_experiment_in_another_folder(babe, work, turk, mturk, experiment, tmp_path, monkeypatch, ledger_engine):
    """Each folder its own SQLite ledger: exp1's knows nothing of the HIT. On one lab ledger (PostgreSQL)
    the HIT is known as exp2's, and the refusal says so, and how to act on it."""
    monkeypatch.chdir(make_experiment(tmp_path, "exp2"))
    theirs = post_and_work(babe, turk, 2, seed=11)[0]
    monkeypatch.chdir(experiment)
    path = write_csv(experiment, rows_with(work, (theirs.worker_id, theirs.assignment_id, "0.50", GOOD)))
    run = babe("bonus", "--csv", str(path))
    assert run.code == 2, run
    if ledger_engine == "sqlite":
        assert run.err == (
            f"error: {path} line 4: assignment {theirs.assignment_id} is of HIT {theirs.hit_id}, which experiment exp1 "
            "did not post: act on it from the folder of the experiment that posted it\n"
        )
    else:
        assert run.err == (
            f"error: {path} line 4: assignment {theirs.assignment_id} belongs to experiment exp2, not exp1: "
            "act on it from that experiment's folder (or with BABE_EXPERIMENT=exp2)\n"
        )
    assert_nothing_paid(mturk, work)
    assert bonuses_of(mturk, [theirs.assignment_id]) == []


def test_assignment_of_another_experiment_in_the_same_ledger(babe, work, turk, mturk, experiment, monkeypatch):
    """The folder's experiment was renamed: the ledger knows the old one's HITs, and keeps them apart."""
    monkeypatch.setenv("BABE_EXPERIMENT", "exp1-pilot")
    w = work[0]
    run = babe("bonus", "--worker", w.worker_id, "--assignment", w.assignment_id, "--amount", "1.00", "--reason", GOOD)
    assert run.code == 2, run
    assert run.err == (
        f"error: assignment {w.assignment_id} belongs to experiment exp1, not exp1-pilot: act on it from that "
        "experiment's folder (or with BABE_EXPERIMENT=exp1)\n"
    )
    assert_nothing_paid(mturk, work)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "{path} is empty: write the header worker_id,assignment_id,amount,reason and one line per payment"),
        ("\n\n", "{path} is empty: write the header worker_id,assignment_id,amount,reason and one line per payment"),
        ("worker_id,assignment_id,amount,reason\n", "{path} has no payments, only the header: add one line per payment"),
        ("{w},{a},0.50,{reason}\n", "{path} line 1 is not the header: the first line must be worker_id,assignment_id,amount,reason"),
        ("worker_id,assignment_id,amount\n{w},{a},0.50\n", "{path} has no column reason: the header must be worker_id,assignment_id,amount,reason"),
        ("worker,assignment_id,amount,reason\n{w},{a},0.50,{reason}\n", "{path} has no column worker_id: the header must be worker_id,assignment_id,amount,reason"),
        (
            "worker_id,assignment_id,amount,reason\n{w},{a},0.50,Thanks, see you\n",
            '{path} line 2: 5 fields where the header has 4 — put a reason that contains commas in double quotes ("…")',
        ),
        ("worker_id,assignment_id,amount,reason\n{w},{a},0.50,\n", "{path} line 2: reason is empty: MTurk shows the reason to the worker — say what the bonus is for"),
        ("worker_id,assignment_id,amount,reason\nworker1,{a},0.50,{reason}\n", "{path} line 2: worker_id 'worker1' is not an MTurk worker id (A followed by capital letters and digits)"),
    ],
    ids=["empty", "blank-lines", "header-only", "no-header", "missing-column", "misnamed-column", "unquoted-comma", "empty-reason", "bad-worker-id"],
)
def test_malformed_files(babe, work, mturk, experiment, text, message):
    w = work[0]
    path = experiment / "bonus.csv"
    path.write_text(text.format(w=w.worker_id, a=w.assignment_id, reason=GOOD))
    run = babe("bonus", "--csv", str(path), "--json")
    assert run.code == 2, run
    assert run.json == {"error": {"exit_code": 2, "message": message.format(path=path), "plugin": None}}
    assert run.err.count("\n") == 1
    assert_nothing_paid(mturk, work)


def test_several_problems_name_the_first_and_count_the_rest(babe, work, mturk, experiment):
    rows = [(work[0].worker_id, work[0].assignment_id, "$1", GOOD), (work[1].worker_id, work[1].assignment_id, "0", GOOD),
            (work[2].worker_id, work[2].assignment_id, "0.50", GOOD)]
    path = write_csv(experiment, rows)
    run = babe("bonus", "--csv", str(path))
    assert run.code == 2
    assert run.err.startswith(f"error: {path} line 2: amount '$1' is not a dollar amount")
    assert run.err.endswith("(1 more problem(s) after this one)\n")
    assert_nothing_paid(mturk, work)


def test_missing_file_and_mixed_flags(babe, work, mturk):
    missing = babe("bonus", "--csv", "nowhere.csv")
    assert (missing.code, missing.err) == (2, "error: nowhere.csv: no such file\n")
    mixed = babe("bonus", "--csv", "nowhere.csv", "--amount", "1.00")
    assert mixed.code == 2 and "give either --csv FILE or --worker, --assignment, --amount and --reason" in mixed.err
    partial = babe("bonus", "--worker", work[0].worker_id, "--amount", "1.00")
    assert partial.code == 2
    assert partial.err == (
        "error: --assignment, --reason missing: one bonus needs --worker, --assignment, --amount and --reason "
        "(or give a file with --csv)\n"
    )
    assert_nothing_paid(mturk, work)


def test_extra_columns_and_a_bom_are_fine(babe, work, mturk, experiment):
    w = work[0]
    path = experiment / "bonus.csv"
    path.write_text(f"\ufeffnote,Worker_ID,assignment_id,amount,reason\nfast,{w.worker_id},{w.assignment_id},1.00,\"Thanks, really\"\n", encoding="utf-8")
    run = babe("bonus", "--csv", str(path), "--json")
    assert run.code == 0, run
    assert run.json["paid"][0]["reason"] == "Thanks, really"
    assert balance(mturk) == Decimal("9998.80")
