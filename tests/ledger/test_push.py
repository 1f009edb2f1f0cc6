"""`babe ledger.push`: a folder's SQLite ledger copied into the lab's PostgreSQL (docs/lab.md, "Moving in").

Real throughout: the folder's history is made by `babe` against the local MTurk on its own SQLite
file, the lab's ledger is a fresh database of a real PostgreSQL (`babe_postgres`), and what the lab
then answers is read through `LedgerView`, as the lab's view and the payment cap read it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from babe_mturk.local.workers import simulate
from babe_tasks.ledger import Ledger, LedgerView
from babe_tasks.ledgerdb import mask
from babe_tasks.steps.push import TABLES
from babe_tasks.testing.experiment import ExperimentFolder

DATA = Path(__file__).parent / "data"
ROW_TABLES = ("plans", "hits", "assignments", "payments", "bonuses")


@pytest.fixture(autouse=True)
def on_the_folders_file(monkeypatch):
    """The folders run on their own SQLite ledgers (also under `pytest --ledger=postgresql`): a
    test names the lab's ledger only for the push."""
    monkeypatch.delenv("BABE_LEDGER_URL", raising=False)


def history(babe, turk, folder: Path, experiment: str) -> None:
    """create 4 → 4 workers submit → approve → a $1.00 bonus, on the folder's SQLite file."""
    created = babe("create", "--assignments", "4", "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], workers=4, seed=3)
    assert babe("approve").code == 0
    with LedgerView(folder, url="") as view:
        first = sorted(view.assignments(experiment, "local"), key=lambda a: a.assignment_id)[0]
    bonus = babe("bonus", "--assignment", first.assignment_id, "--worker", first.worker_id, "--amount", "1.00", "--reason", "Thanks!")
    assert bonus.code == 0, bonus
    assert (folder / ".babe" / "ledger.sqlite").is_file()


def push(babe, monkeypatch, url: str, *flags: str):
    monkeypatch.setenv("BABE_LEDGER_URL", url)
    try:
        return babe("ledger.push", *flags)
    finally:
        monkeypatch.delenv("BABE_LEDGER_URL")


def answers(view: LedgerView, experiment: str) -> dict:
    """What the lab's view and the payment cap ask of a ledger about one experiment."""
    today = date.today()
    return {
        "totals": view.payment_totals(experiment, "local"),
        "bonuses": sorted((b.assignment_id, b.worker_id, b.amount, b.fee, b.status) for b in view.bonuses("local", experiment)),
        "bonuses_paid": view.bonuses_paid("local", experiment),
        "money": view.money(experiment, "local", today, UTC),
        "hits": sorted((h.hit_id, h.max_assignments, h.reward, h.platform) for h in view.hits(experiment, "local")),
        "assignments": sorted((a.assignment_id, a.worker_id, a.status) for a in view.assignments(experiment, "local")),
        "spent": view.spent([h.hit_id for h in view.hits(experiment, "local") if h.hit_id]),
    }


def counts(document: dict, what: str) -> dict[str, int]:
    return {name: count[what] for name, count in document["tables"].items() if count[what]}


def test_a_pushed_folder_reads_the_same_in_the_lab_to_the_cent_and_pushing_again_adds_nothing(
    babe, experiment, turk, babe_postgres, monkeypatch
):
    history(babe, turk, experiment, "exp1")
    with LedgerView(experiment, url="") as view:
        here = answers(view, "exp1")
    assert here["totals"] == {"reward": Decimal("2.00"), "fee": Decimal("0.40"), "bonus": Decimal("1.00"), "bonus_fee": Decimal("0.20")}

    run = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert run.code == 0, run
    assert run.json["written"] is True and run.json["dry_run"] is False and run.json["conflicts"] == []
    pushed = counts(run.json, "pushed")
    assert pushed == {"plans": 1, "hits": 1, "assignments": 4, "payments": 10, "bonuses": 1, "exclusion_experiments": 1} | {
        name: n for name, n in pushed.items() if name not in ROW_TABLES + ("exclusion_experiments",)
    }
    assert counts(run.json, "already_there") == {} and counts(run.json, "conflicting") == {}

    with LedgerView(experiment, url=babe_postgres.url) as lab:
        assert answers(lab, "exp1") == here

    again = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert again.code == 0, again
    assert counts(again.json, "pushed") == {} and counts(again.json, "conflicting") == {}
    assert counts(again.json, "already_there") == pushed
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 10
        plans = conn.execute("SELECT folder, member FROM plans").fetchall()
    assert [folder for folder, _ in plans] == [str(experiment.resolve())]

    # The folder keeps working offline on its own file, which the push left as it was.
    status = babe("status", "--json")
    assert status.code == 0, status
    with LedgerView(experiment, url="") as view:
        assert answers(view, "exp1") == here


def test_the_human_form_counts_per_table(babe, experiment, turk, babe_postgres, monkeypatch):
    history(babe, turk, experiment, "exp1")
    run = push(babe, monkeypatch, babe_postgres.url)
    assert run.code == 0, run
    lines = run.out.strip().splitlines()
    assert lines[0] == f"Pushing {experiment / '.babe' / 'ledger.sqlite'} into {mask(babe_postgres.url)}:"
    assert any(
        line.split() == ["payments", "pushed", "10,", "already", "there", "0,", "updated", "0,", "lab", "ahead", "0,", "conflicting", "0"]
        for line in lines
    ), lines
    assert lines[-1] == "Written to the lab's ledger; this folder's own ledger is unchanged."


def test_two_folders_push_into_one_lab_ledger(babe, experiment, turk, babe_postgres, monkeypatch, tmp_path):
    history(babe, turk, experiment, "exp1")
    other = ExperimentFolder(tmp_path / "lab" / "exp2").path
    monkeypatch.chdir(other)
    history(babe, turk, other, "exp2")
    with LedgerView(experiment, url="") as one, LedgerView(other, url="") as two:
        expected = {"exp1": answers(one, "exp1"), "exp2": answers(two, "exp2")}

    assert push(babe, monkeypatch, babe_postgres.url).code == 0  # from exp2
    monkeypatch.chdir(experiment)
    assert push(babe, monkeypatch, babe_postgres.url).code == 0  # from exp1

    with LedgerView(experiment, url=babe_postgres.url) as lab:
        found = {name: answers(lab, name) for name in ("exp1", "exp2")}
        assert sorted(lab.experiments("local")) == ["exp1", "exp2"]
    # Each experiment's own answers are its folder's; the day's and the total's are the lab's: both folders' sums.
    spent = {name: expected[name]["money"].spent["experiment"] for name in expected}
    for name in ("exp1", "exp2"):
        lab_money, folder_money = found[name].pop("money"), expected[name].pop("money")
        assert lab_money.spent["experiment"] == folder_money.spent["experiment"] == folder_money.spent["total"] > 0
        assert lab_money.committed["experiment"] == folder_money.committed["experiment"]
        assert lab_money.spent["total"] == spent["exp1"] + spent["exp2"]  # to the cent
    assert found == expected
    with babe_postgres.connect() as conn:
        folders = sorted(row[0] for row in conn.execute("SELECT folder FROM plans"))
    assert folders == sorted([str(experiment.resolve()), str(other.resolve())])


def test_a_conflicting_row_is_reported_with_exit_1_and_nothing_of_that_push_is_written(
    babe, experiment, turk, babe_postgres, monkeypatch
):
    history(babe, turk, experiment, "exp1")
    assert push(babe, monkeypatch, babe_postgres.url).code == 0
    with babe_postgres.connect() as conn:
        before = conn.execute("SELECT kind, assignment_id, token, amount FROM payments ORDER BY 1, 2, 3").fetchall()
        (bonus_payment,) = conn.execute("SELECT assignment_id FROM payments WHERE kind = 'bonus'").fetchall()
        # One assignment the lab lacks: the push would add it, but with a conflict it adds nothing.
        conn.execute("DELETE FROM assignments WHERE assignment_id = (SELECT MIN(assignment_id) FROM assignments)")
        conn.commit()
    file = sqlite3.connect(experiment / ".babe" / "ledger.sqlite")
    file.execute("UPDATE payments SET amount = '9.99' WHERE kind = 'bonus'")  # the folder disagrees about one bonus
    file.commit()
    file.close()

    run = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert run.code == 1, run
    (line,) = run.err.strip().splitlines()
    assert "1 row(s) of the folder's ledger differ from the lab's" in line and "nothing was written" in line, line
    assert run.json["written"] is False
    assert run.json["conflicts"] == [{
        "table": "payments",
        "key": {"kind": "bonus", "assignment_id": bonus_payment[0], "token": run.json["conflicts"][0]["key"]["token"]},
        "columns": {"amount": {"folder": "9.99", "lab": "1.00"}},
    }]
    assert run.json["tables"]["payments"]["conflicting"] == 1
    assert run.json["tables"]["assignments"]["pushed"] == 1  # would have been pushed: not written either
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT kind, assignment_id, token, amount FROM payments ORDER BY 1, 2, 3").fetchall() == before
        assert conn.execute("SELECT COUNT(*) FROM assignments").fetchone()[0] == 3

    human = push(babe, monkeypatch, babe_postgres.url)
    assert human.code == 1
    assert "conflict in payments" in human.out and "here '9.99', lab '1.00'" in human.out, human.out
    assert human.out.strip().splitlines()[-1] == "Nothing written: the lab's rows are kept."


def test_a_dry_run_counts_and_writes_nothing_not_even_the_schema(babe, experiment, turk, babe_postgres, monkeypatch):
    history(babe, turk, experiment, "exp1")
    run = push(babe, monkeypatch, babe_postgres.url, "--dry-run", "--json")
    assert run.code == 0, run
    assert run.json["dry_run"] is True and run.json["written"] is False
    assert counts(run.json, "pushed")["payments"] == 10
    with babe_postgres.connect() as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()
    assert tables == []
    human = push(babe, monkeypatch, babe_postgres.url, "--dry-run")
    assert human.code == 0
    assert human.out.startswith("Would push ") and human.out.strip().endswith("Nothing written (dry run).")


def test_without_a_lab_ledger_it_refuses_in_one_line(babe, experiment, turk):
    history(babe, turk, experiment, "exp1")
    run = babe("ledger.push")
    assert run.code == 2, run
    (line,) = run.err.strip().splitlines()
    assert "no lab ledger is set" in line and "ledger_url" in line, line


def test_a_folder_without_a_ledger_has_nothing_to_push(babe, experiment, babe_postgres, monkeypatch):
    run = push(babe, monkeypatch, babe_postgres.url)
    assert run.code == 2, run
    assert "has no ledger of its own to push" in run.err
    assert not (experiment / ".babe" / "ledger.sqlite").exists()


def test_the_urls_password_is_never_printed(babe, experiment, turk, babe_postgres, monkeypatch):
    history(babe, turk, experiment, "exp1")
    password = urlsplit(babe_postgres.url).password
    assert password
    runs = [
        push(babe, monkeypatch, babe_postgres.url),
        push(babe, monkeypatch, babe_postgres.url, "--json"),
        push(babe, monkeypatch, babe_postgres.url, "--dry-run", "--json"),
    ]
    parts = urlsplit(babe_postgres.url)
    wrong = parts._replace(netloc=f"babe:{password}@127.0.0.1:{parts.port}", path="/no_such_database").geturl()
    unreachable = push(babe, monkeypatch, wrong)
    assert unreachable.code == 4, unreachable
    for run in [*runs, unreachable]:
        assert password not in run.out and password not in run.err, run
    assert runs[1].json["lab_ledger"] == mask(babe_postgres.url)


def test_a_ledger_from_before_members_keeps_its_rows_unnamed_and_its_plans_get_the_folder(babe, experiment, babe_postgres, monkeypatch):
    path = experiment / ".babe" / "ledger.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "ledger-v3.sql").read_text(encoding="utf-8"))
    conn.close()
    monkeypatch.setenv("BABE_MEMBER", "grace")
    run = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert run.code == 0, run
    assert run.json["member"] == "grace"
    with babe_postgres.connect() as lab:
        assert {row[0] for row in lab.execute("SELECT member FROM payments")} == {""}  # not credited to the pusher
        assert lab.execute("SELECT folder FROM plans").fetchall() == [(str(experiment.resolve()),)]
        assert lab.execute("SELECT member FROM babe_schema").fetchall() == [("grace",)]  # she migrated the lab's
    with LedgerView(experiment, url=babe_postgres.url) as view:
        assert view.payment_totals("pilot", "local") == {
            "reward": Decimal("0.50"), "fee": Decimal("0.10"), "bonus": Decimal("1.25"), "bonus_fee": Decimal("0.25"),
        }
    with sqlite3.connect(path) as file:  # the folder's file was migrated by opening it, nothing more
        assert file.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 4


def test_every_table_of_the_schema_is_pushed(tmp_path):
    with Ledger(tmp_path, url="") as ledger:
        made = {row[0] for row in ledger._read("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert made == {table.name for table in TABLES}


def test_work_done_offline_after_a_push_moves_the_labs_rows_on_when_pushed_again(
    babe, experiment, turk, babe_postgres, monkeypatch
):
    """create and push while the work is out; then approve and pay offline; push again: the lab's
    rows move on to the folder's later state (updated), nothing conflicts, nothing is doubled."""
    created = babe("create", "--assignments", "4", "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], workers=4, seed=3)
    assert babe("status").code == 0  # the four submissions are in the folder's ledger, Submitted
    first = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert first.code == 0, first

    assert babe("approve").code == 0
    with LedgerView(experiment, url="") as view:
        one = sorted(view.assignments("exp1", "local"), key=lambda a: a.assignment_id)[0]
    paid = babe("bonus", "--assignment", one.assignment_id, "--worker", one.worker_id, "--amount", "1.00", "--reason", "Thanks!")
    assert paid.code == 0, paid
    with LedgerView(experiment, url="") as view:
        here = answers(view, "exp1")

    again = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert again.code == 0, again
    assert again.json["conflicts"] == [] and again.json["written"] is True
    assert counts(again.json, "updated")["assignments"] == 4  # Submitted → Approved
    assert counts(again.json, "pushed")["payments"] == 10  # 4 rewards + 4 fees + the bonus and its fee
    with LedgerView(experiment, url=babe_postgres.url) as lab:
        assert answers(lab, "exp1") == here
    assert counts(push(babe, monkeypatch, babe_postgres.url, "--json").json, "updated") == {}


def test_a_folder_behind_the_lab_leaves_the_labs_later_rows_as_they_are(babe, experiment, turk, babe_postgres, monkeypatch):
    """The folder pushed, then the lab's ledger moved on without it (approved from another machine):
    pushing the folder's older copy again must not take the lab back."""
    created = babe("create", "--assignments", "4", "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], workers=4, seed=3)
    assert babe("status").code == 0
    assert push(babe, monkeypatch, babe_postgres.url).code == 0
    monkeypatch.setenv("BABE_LEDGER_URL", babe_postgres.url)
    assert babe("approve").code == 0  # on the lab's ledger: the folder's file still says Submitted
    monkeypatch.delenv("BABE_LEDGER_URL")
    with LedgerView(experiment, url=babe_postgres.url) as lab:
        ahead = answers(lab, "exp1")
    assert {a[2] for a in ahead["assignments"]} == {"Approved"}

    stale = push(babe, monkeypatch, babe_postgres.url, "--json")
    assert stale.code == 0, stale
    assert counts(stale.json, "lab_ahead")["assignments"] == 4 and counts(stale.json, "updated") == {}
    with LedgerView(experiment, url=babe_postgres.url) as lab:
        assert answers(lab, "exp1") == ahead
