"""`babe lab`: the lab's view of its shared ledger (issue 16, item 4).

Real throughout: two experiment folders, each run by its own member (`BABE_MEMBER`), post, approve,
reject and pay bonuses on the local MTurk through the `babe` program, recording into one PostgreSQL
ledger (`babe_postgres`). `babe lab --json` must then agree to the cent with what each folder's
`babe cost --json` says it spent and with what the ledger's `money` says it committed — per
experiment, per member and per month. Without `ledger_url` it is the folder's own view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from babe_mturk.local.workers import simulate
from babe_tasks.ledger import LedgerView
from babe_tasks.testing.experiment import ExperimentFolder


def run_experiment(babe, turk, monkeypatch, folder: Path, member: str, slots: int, workers: list[str], *, reject: bool) -> dict:
    """As `member` in `folder`: create `slots`, workers submit, (reject one,) approve, bonus one; its cost."""
    monkeypatch.chdir(folder)
    monkeypatch.setenv("BABE_MEMBER", member)
    created = babe("create", "--assignments", str(slots), "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], worker_ids=workers)
    assert babe("status", "--json").code == 0
    with LedgerView(folder) as view:
        seen = view.assignments(folder.name, "local")
    if reject:
        rejected = babe("reject", "--assignment", seen[0].assignment_id, "--reason", "The attention checks failed.", "--json")
        assert rejected.code == 0, rejected
    approved = babe("approve", "--json")
    assert approved.code == 0, approved
    last = seen[-1]
    bonus = babe("bonus", "--assignment", last.assignment_id, "--worker", last.worker_id, "--amount", "1.25", "--reason", "Thanks!")
    assert bonus.code == 0, bonus
    cost = babe("cost", "--json")
    assert cost.code == 0, cost
    return cost.json


@pytest.fixture
def lab(babe, turk, babe_env, babe_postgres, tmp_path, monkeypatch) -> dict:
    """Two members' experiments in one lab ledger: ada's `pilot` (5 assignments, all taken, one rejected)
    and bob's `main` (12, 10 taken)."""
    babe_env.use_ledger(babe_postgres.url)
    pilot = ExperimentFolder(tmp_path / "ada" / "pilot").path
    main = ExperimentFolder(tmp_path / "bob" / "main").path
    costs = {
        "pilot": run_experiment(babe, turk, monkeypatch, pilot, "ada", 5, [f"AWORKERADA{n}" for n in range(5)], reject=True),
        "main": run_experiment(babe, turk, monkeypatch, main, "bob", 12, [f"AWORKERBOB{n:02}" for n in range(10)], reject=False),
    }
    return {"url": babe_postgres.url, "costs": costs, "folders": {"pilot": pilot, "main": main}}


def committed_of(url: str, folder: Path, experiment: str) -> Decimal:
    """What the ledger's own `money` says the experiment committed (the payment cap's figure)."""
    with LedgerView(folder, url=url) as view:
        today = datetime.now(UTC).date()
        return view.money(experiment, "local", today, UTC).committed["experiment"]


def test_babe_lab_sums_each_experiment_member_and_month_to_the_cent(babe, lab):
    shown = babe("lab", "--json")
    assert shown.code == 0, shown
    view = shown.json
    assert view["scope"] == "lab" and view["engine"] == "postgresql" and view["targets"] == ["local"]
    password = urlsplit(lab["url"]).password
    assert password and password not in shown.out and view["ledger"].startswith("postgresql://")
    rows = {row["experiment"]: row for row in view["experiments"]}
    assert list(rows) == ["pilot", "main"]  # oldest first
    costs = lab["costs"]
    for name, member in (("pilot", "ada"), ("main", "bob")):
        row = rows[name]
        assert row["platform"] == "mturk" and row["target"] == "local" and row["currency"] == "USD"
        assert row["members"] == [member]
        assert row["folders"] == [str(lab["folders"][name])]
        assert row["spent"] == costs[name]["spent"]
        assert Decimal(row["committed"]) == committed_of(lab["url"], lab["folders"][name], name)
    assert (rows["pilot"]["assignments"], rows["pilot"]["approved"], rows["pilot"]["rejected"]) == (5, 4, 1)
    assert (rows["main"]["assignments"], rows["main"]["approved"], rows["main"]["rejected"]) == (12, 10, 0)
    assert rows["pilot"]["submitted"] == rows["main"]["submitted"] == 0
    # pilot: every slot taken and reviewed; main: two slots still open.
    assert (rows["pilot"]["state"], rows["main"]["state"]) == ("finished", "open")
    # pilot: 4 approved × ($0.50 + $0.10) + a $1.25 bonus + its $0.25 fee
    assert costs["pilot"]["spent"] == "3.90"
    # main: 10 approved × ($0.50 + $0.10: create batches under 10, no surcharge) + $1.25 + $0.25
    assert costs["main"]["spent"] == "7.50"
    # committed: every posted slot with its fee, and the bonus with its fee
    assert (rows["pilot"]["committed"], rows["main"]["committed"]) == ("4.50", "8.70")

    by_member = {m["member"]: m for m in view["by_member"]}
    assert by_member["ada"]["spent"] == costs["pilot"]["spent"]
    assert by_member["bob"]["spent"] == costs["main"]["spent"]
    assert by_member["ada"]["committed"] == rows["pilot"]["committed"]
    assert by_member["bob"]["committed"] == rows["main"]["committed"]
    month = datetime.now(UTC).strftime("%Y-%m")
    assert [(m["month"], m["spent"]) for m in view["by_month"]] == [(month, "11.40")]
    assert view["totals"] == [
        {"target": "local", "currency": "USD", "spent": "11.40",
         "committed": str(Decimal(rows["pilot"]["committed"]) + Decimal(rows["main"]["committed"]))}
    ]

    # --month: this month is everything; another month has nothing.
    this_month = babe("lab", "--json", "--month", month)
    assert this_month.code == 0 and this_month.json["experiments"] == view["experiments"]
    other = babe("lab", "--json", "--month", "2020-01")
    assert other.code == 0 and other.json["experiments"] == [] and other.json["totals"] == []
    # --target: another target holds nothing.
    sandbox = babe("lab", "--json", "--target", "sandbox")
    assert sandbox.code == 0 and sandbox.json["experiments"] == [] and sandbox.json["targets"] == ["sandbox"]


def test_babe_lab_shows_work_waiting_for_review_as_closed_and_people_read_tables(babe, turk, lab, tmp_path, monkeypatch):
    late = ExperimentFolder(tmp_path / "ada" / "late").path  # every slot taken, nothing reviewed yet
    monkeypatch.chdir(late)
    monkeypatch.setenv("BABE_MEMBER", "ada")
    created = babe("create", "--assignments", "2", "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], worker_ids=["AWORKERLATE1", "AWORKERLATE2"])
    assert babe("status", "--json").code == 0
    rows = {row["experiment"]: (row["state"], row["submitted"]) for row in babe("lab", "--json").json["experiments"]}
    assert rows == {"pilot": ("finished", 0), "main": ("open", 0), "late": ("closed", 2)}
    text = babe("lab")
    assert text.code == 0, text
    assert "The lab's ledger postgresql://" in text.out
    for word in ("pilot", "main", "late", "finished", "closed", "ada", "bob", "$3.90", "$7.50", "$11.40", "By member", "By month"):
        assert word in text.out, word


def test_babe_lab_refuses_a_month_it_cannot_read(babe, lab):
    wrong = babe("lab", "--month", "12-2026")
    assert wrong.code == 2
    assert "YYYY-MM" in wrong.err


def test_without_a_ledger_url_babe_lab_is_the_folders_own_view(babe, turk, experiment, monkeypatch):
    monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the folder's file, also under --ledger=postgresql
    monkeypatch.setenv("BABE_MEMBER", "cy")
    created = babe("create", "--assignments", "3", "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], worker_ids=["AWORKERCY1", "AWORKERCY2"])
    assert babe("approve", "--json").code == 0
    cost = babe("cost", "--json").json
    shown = babe("lab", "--json")
    assert shown.code == 0, shown
    assert shown.json["scope"] == "folder" and shown.json["engine"] == "sqlite"
    assert shown.json["ledger"] == str(experiment / ".babe" / "ledger.sqlite")
    [row] = shown.json["experiments"]
    assert (row["experiment"], row["assignments"], row["approved"], row["members"]) == ("exp1", 3, 2, ["cy"])
    assert row["spent"] == cost["spent"] == "1.20"
    assert [m["member"] for m in shown.json["by_member"]] == ["cy"]
    text = babe("lab")
    assert "This folder's own ledger" in text.out and text.out.count("\n") > 3


def test_babe_lab_without_any_ledger_says_there_is_nothing_yet(babe, experiment, monkeypatch):
    monkeypatch.delenv("BABE_LEDGER_URL", raising=False)
    shown = babe("lab")
    assert shown.code == 2
    assert "nothing to show yet" in shown.err


def test_babe_report_lab_writes_the_lab_view_as_one_page(babe, lab, tmp_path):
    written = babe("report", "--lab", "--out", str(tmp_path / "pages"), "--json")
    assert written.code == 0, written
    path = Path(written.json["path"])
    assert path == tmp_path / "pages" / "lab.html"
    assert written.json["experiments"] == babe("lab", "--json").json["experiments"]
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("</head>")[0]
    for text in ("pilot", "main", "ada", "bob", "$3.90", "$7.50", "$11.40", "By member", "By month (UTC)"):
        assert text in page, text
    assert "AWORKER" not in page  # worker ids never reach the page
    assert not list((tmp_path / "pages").glob(".*.part"))
    refused = babe("report", "--lab", "--all")
    assert refused.code == 2 and "--lab" in refused.err
