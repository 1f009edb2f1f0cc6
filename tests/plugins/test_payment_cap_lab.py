"""Lab-wide payment caps: the monthly cap, counted over the whole lab's ledger, exact under races.

Real throughout: `babe` child processes (`babe_tasks.testing.processes`) of two members (`BABE_MEMBER`
alice and bob) in two experiment folders, one local MTurk state file, one ledger — the lab's
PostgreSQL (`babe_postgres`) or one folder's SQLite. Each member tries to commit more than half of
what the monthly cap leaves, at the same moment: exactly one passes, the other exits 3, and the
committed money never exceeds the cap by a cent — read back from the local MTurk through boto3 and
from the ledger.

The race tests show the end state; the "between the check and the record" tests make the race
certain: a folder plugin runs the other member's create to its end *after* payment-cap's early check
passed (`trylast`), so only the check made inside the write that records the plan
(`babe_before_commit`) can stop the second one.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babe_mturk.local import client as local_client
from babe_mturk.local.service import LocalTurk
from babe_mturk.local.workers import simulate
from babe_payment_cap.book import Entry, month_of
from babe_payment_cap.caps import check, report
from babe_payment_cap.config import CapSettings

from babe_tasks.commitments import tally
from babe_tasks.errors import Veto
from babe_tasks.ledger import LedgerView
from babe_tasks.testing.experiment import ExperimentFolder
from babe_tasks.testing.processes import BABE, babe_process, child_env, run_babe_process

D = Decimal
#: 0.50 + its 20% fee per assignment (HITs of at most 9: the default batch size).
PER_ASSIGNMENT = D("0.60")


# -- the monthly arithmetic --------------------------------------------------------------------------
def _at(text: str, zone: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


MONTH = [
    Entry("pilot", _at("2026-11-30T23:30"), D("10.00")),  # November in UTC, December in Berlin (UTC+1)
    Entry("pilot", _at("2026-12-01T09:00"), D("4.20"), D("3.00")),
    Entry("main", _at("2026-12-15T12:00"), D("30.00")),  # another member's experiment counts too
    Entry("main", _at("2026-12-31T23:30"), D("1.20")),  # still December in UTC, January in Berlin
    Entry("main", _at("2026-12-10T12:00"), D("99.00"), currency="GBP"),  # another currency never counts
]


def test_the_month_is_the_calendar_month_in_the_caps_time_zone():
    assert month_of(MONTH, date(2026, 12, 5), ZoneInfo("UTC"), "USD") == (D("35.40"), D("3.00"))
    assert month_of(MONTH, date(2026, 12, 5), ZoneInfo("Europe/Berlin"), "USD") == (D("44.20"), D("3.00"))
    assert month_of(MONTH, date(2026, 11, 5), ZoneInfo("UTC"), "USD") == (D("10.00"), D("0.00"))
    assert month_of(MONTH, date(2027, 1, 1), ZoneInfo("Europe/Berlin"), "USD") == (D("1.20"), D("0.00"))


def _book(month_committed: str):
    base = tally([], "pilot", "local", date(2026, 12, 5), ZoneInfo("UTC"))
    from dataclasses import replace

    return replace(base, committed={**base.committed, "monthly": D(month_committed)}, spent={**base.spent, "monthly": D("0")})


def test_a_monthly_cap_lets_the_last_cent_and_not_one_more():
    caps = CapSettings(monthly=D("50.00"))
    check(caps, _book("44.20"), D("5.80"), "create")  # reaching the cap exactly is allowed
    with pytest.raises(Veto) as veto:
        check(caps, _book("44.20"), D("5.81"), "bonus")
    assert str(veto.value) == (
        "this bonus commits $5.81; the monthly cap is $50.00 and $44.20 is already committed this month "
        "(2026-12 UTC) ($5.80 left); pay less or raise babe.plugins.payment-cap.monthly"
    )


def test_status_shows_the_monthly_cap_with_its_month():
    caps = CapSettings(daily=D("20.00"), monthly=D("50.00"))
    shown = report(caps, _book("44.20"), D("1.20"))
    assert list(shown) == ["daily", "monthly"]
    assert shown["monthly"] == {
        "cap": D("50.00"), "committed": D("44.20"), "spent": D("0"), "left": D("5.80"),
        "month": "2026-12", "timezone": "UTC", "this": D("1.20"), "left_after": D("4.60"), "fits": True,
    }
    assert "monthly cap $50.00 (2026-12 UTC): $44.20 committed, this $1.20, $4.60 left after it" in str(shown)


def test_the_monthly_cap_is_configured_and_described():
    from babe_payment_cap.config import CAPS

    assert CAPS == ("experiment", "daily", "monthly", "total")
    assert CapSettings(monthly=D("600.00")).describe()["monthly"] == D("600.00")


# -- two members at once -------------------------------------------------------------------------------
#: A plugin that, after payment-cap's early check let this create through, runs OTHER_CREATE (the
#: other member's create) to its end: the record-time check must see what it committed.
BETWEEN = '''
import json, os, subprocess, sys
from babe_tasks import hookimpl

def other_create():
    if "OTHER_CREATE" not in os.environ:  # the other create itself, when it runs in this folder
        return
    other = json.loads(os.environ["OTHER_CREATE"])
    env = dict(os.environ, BABE_MEMBER=other["member"])
    del env["OTHER_CREATE"]
    done = subprocess.run(other["argv"], cwd=other["cwd"], env=env, capture_output=True, text=True, timeout=120)
    with open(os.environ["OTHER_LOG"], "w") as log:
        log.write(json.dumps({"code": done.returncode, "stderr": done.stderr}))

@hookimpl(trylast=True)
def babe_before_create(settings, plan):
    other_create()

@hookimpl(trylast=True)
def babe_before_extend(settings, plan):
    other_create()

@hookimpl(trylast=True)
def babe_before_bonus(settings, payments):
    other_create()
'''


def folder(parent: Path, member: str, name: str, cap: str) -> Path:
    experiment = ExperimentFolder(parent / member / name)
    experiment.configure(plugins={"payment-cap": {"monthly": cap}})
    return experiment.path


def env_of(state: Path, member: str, **extra: str) -> dict[str, str]:
    return child_env(state, **{"BABE_MEMBER": member, "BABE_PLUGINS": "payment-cap", **extra})


def together(runs: list[tuple[list[str], Path, dict[str, str]]]) -> list[tuple[int, str, str]]:
    """Start every run at once, then wait for them all: (exit code, stdout, stderr) each."""
    started = [babe_process(args, cwd, env) for args, cwd, env in runs]
    outputs = [p.communicate(timeout=180) for p in started]
    return [(p.returncode, *output) for p, output in zip(started, outputs)]


def posted_assignments(state: Path) -> int:
    mturk = local_client(state=str(state), faults="")
    found = [h for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]
    return sum(h["MaxAssignments"] for h in found)


def committed(view: LedgerView) -> Decimal:
    """The ledger's committed money on the local target this month (everything here is this month)."""
    return sum((e.committed for e in view.commitments("local")), D("0.00"))


@pytest.fixture
def lab(babe_env, babe_postgres):
    babe_env.use_ledger(babe_postgres.url)
    return babe_postgres


def test_two_members_creating_at_once_one_passes_the_monthly_cap(lab, state_path, tmp_path):
    cap = D("20.00")  # each create commits 20 × 0.60 = 12.00: more than half of it
    alice, bob = folder(tmp_path, "alice", "pilot", str(cap)), folder(tmp_path, "bob", "main", str(cap))
    outcomes = together([
        (["create", "--assignments", "20"], alice, env_of(state_path, "alice")),
        (["create", "--assignments", "20"], bob, env_of(state_path, "bob")),
    ])
    assert sorted(code for code, _, _ in outcomes) == [0, 3], outcomes
    vetoed = next(err for code, _, err in outcomes if code == 3)
    assert "payment-cap" in vetoed and "the monthly cap is $20.00" in vetoed, vetoed
    assert posted_assignments(state_path) == 20
    with LedgerView(alice, url=lab.url) as view:
        assert committed(view) == 20 * PER_ASSIGNMENT <= cap


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_a_commitment_made_between_the_early_check_and_the_record_is_seen(engine, babe_env, babe_postgres_server, state_path, tmp_path, request):
    if engine == "postgresql":
        database = request.getfixturevalue("babe_postgres")
        babe_env.use_ledger(database.url)
        url = database.url
        alice, bob = folder(tmp_path, "alice", "pilot", "20.00"), folder(tmp_path, "bob", "main", "20.00")
    else:
        babe_env.monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the folder's SQLite, whatever the run's engine
        url = ""
        alice = bob = folder(tmp_path, "alice", "pilot", "20.00")  # one folder, one SQLite ledger
    (alice / "plugins").mkdir(exist_ok=True)
    (alice / "plugins" / "between.py").write_text(BETWEEN, encoding="utf-8")
    other = {"member": "bob", "cwd": str(bob), "argv": [*BABE, "create", "--assignments", "18"]}
    log = tmp_path / "other.json"
    again = ["--again"] if engine == "sqlite" else []  # one folder: a second batch beside bob's, on purpose
    run = run_babe_process(
        ["create", "--assignments", "20", *again], alice, env_of(state_path, "alice", OTHER_CREATE=json.dumps(other), OTHER_LOG=str(log), BABE_PLUGINS="payment-cap,between")
    )
    assert log.is_file(), run
    assert json.loads(log.read_text())["code"] == 0, log.read_text()  # bob's 10.80 passed first
    assert run.code == 3, run  # alice's 12.00 passed the early check, then the record-time one refused it
    assert "this create commits $12.00; the monthly cap is $20.00 and $10.80 is already committed this month" in run.err, run
    assert posted_assignments(state_path) == 18
    with LedgerView(alice, url=url) as view:
        assert committed(view) == 18 * PER_ASSIGNMENT
        assert [p for p in view.experiments("local")] == [bob.name]


def worked(folder_path: Path, state: Path, member: str, n: int, seed: int) -> list[dict]:
    """`create` n assignments as `member`, workers submit them all, `approve`: the assignments."""
    run = run_babe_process(["create", "--assignments", str(n), "--json"], folder_path, env_of(state, member))
    assert run.code == 0, run
    turk = LocalTurk(str(state))
    try:
        simulate(turk, hit_ids=[h["hit_id"] for h in run.json["hits"]], seed=seed)
    finally:
        turk.store.close()
    approved = run_babe_process(["approve"], folder_path, env_of(state, member))
    assert approved.code == 0, approved
    mturk = local_client(state=str(state), faults="")
    found = []
    for hit in run.json["hits"]:
        pages = mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit["hit_id"])
        found += [a for page in pages for a in page["Assignments"]]
    return found


def bonus_file(path: Path, rows: list[dict], amount: str) -> Path:
    lines = ["worker_id,assignment_id,amount,reason"] + [f"{a['WorkerId']},{a['AssignmentId']},{amount},thanks" for a in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def bonuses_paid(state: Path) -> list[dict]:
    mturk = local_client(state=str(state), faults="")
    found = [h for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]
    return [
        b for h in found for page in mturk.get_paginator("list_bonus_payments").paginate(HITId=h["HITId"]) for b in page["BonusPayments"]
    ]


def test_two_members_bonus_files_at_once_one_passes_the_monthly_cap(lab, state_path, tmp_path):
    cap = D("16.00")  # 2 × 5 × 0.60 = 6.00 posted: 10.00 left; each file commits 5 × 1.20 = 6.00
    alice, bob = folder(tmp_path, "alice", "pilot", str(cap)), folder(tmp_path, "bob", "main", str(cap))
    rows = {"alice": worked(alice, state_path, "alice", 5, 1), "bob": worked(bob, state_path, "bob", 5, 2)}
    outcomes = together([
        (["bonus", "--csv", str(bonus_file(alice / "bonus.csv", rows["alice"], "1.00"))], alice, env_of(state_path, "alice")),
        (["bonus", "--csv", str(bonus_file(bob / "bonus.csv", rows["bob"], "1.00"))], bob, env_of(state_path, "bob")),
    ])
    assert sorted(code for code, _, _ in outcomes) == [0, 3], outcomes
    paid = bonuses_paid(state_path)
    assert len(paid) == 5 and len({b["AssignmentId"] for b in paid}) == 5
    with LedgerView(alice, url=lab.url) as view:
        assert committed(view) == D("12.00") <= cap
        assert len(view.bonuses("local")) == 5


def test_on_sqlite_two_bonus_files_of_one_folder_at_once_one_passes(babe_env, state_path, tmp_path):
    babe_env.monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the folder's SQLite, whatever the run's engine
    cap = D("12.00")  # 10 × 0.60 = 6.00 posted: 6.00 left; each file commits 4 × 1.20 = 4.80
    alice = folder(tmp_path, "alice", "pilot", str(cap))
    rows = worked(alice, state_path, "alice", 10, 3)
    first, second = bonus_file(alice / "first.csv", rows[:4], "1.00"), bonus_file(alice / "second.csv", rows[4:8], "1.00")
    outcomes = together([
        (["bonus", "--csv", str(first)], alice, env_of(state_path, "alice")),
        (["bonus", "--csv", str(second)], alice, env_of(state_path, "bob")),
    ])
    assert sorted(code for code, _, _ in outcomes) == [0, 3], outcomes
    assert len(bonuses_paid(state_path)) == 4
    db = sqlite3.connect(alice / ".babe" / "ledger.sqlite")
    try:
        (count,) = db.execute("SELECT COUNT(*) FROM bonuses").fetchone()
    finally:
        db.close()
    assert count == 4
    with LedgerView(alice, url="") as view:
        assert committed(view) == D("10.80") <= cap


def test_on_sqlite_two_creates_of_one_folder_at_once_one_passes(babe_env, state_path, tmp_path):
    babe_env.monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the folder's SQLite, whatever the run's engine
    alice = folder(tmp_path, "alice", "pilot", "20.00")
    outcomes = together([
        (["create", "--assignments", "20"], alice, env_of(state_path, "alice")),
        (["create", "--assignments", "19"], alice, env_of(state_path, "bob")),
    ])
    assert sorted(code for code, _, _ in outcomes) == [0, 3], outcomes
    assert posted_assignments(state_path) in (19, 20)
    with LedgerView(alice, url="") as view:
        assert committed(view) <= D("20.00")
        assert committed(view) == posted_assignments(state_path) * PER_ASSIGNMENT


def test_the_lab_ledger_counts_every_members_month(lab, state_path, tmp_path):
    # alice's 6.00 this month leaves bob 4.00 of a 10.00 monthly cap: his 4.20 is refused, 3.60 fits.
    alice, bob = folder(tmp_path, "alice", "pilot", "10.00"), folder(tmp_path, "bob", "main", "10.00")
    assert run_babe_process(["create", "--assignments", "10"], alice, env_of(state_path, "alice")).code == 0
    refused = run_babe_process(["create", "--assignments", "7", "--json"], bob, env_of(state_path, "bob"))
    assert refused.code == 3, refused
    assert "the monthly cap is $10.00 and $6.00 is already committed this month" in refused.json["error"]["message"]
    assert run_babe_process(["create", "--assignments", "6"], bob, env_of(state_path, "bob")).code == 0
    status = run_babe_process(["status", "--json"], bob, env_of(state_path, "bob"))
    assert status.code == 0, status
    month = datetime.now(UTC).strftime("%Y-%m")
    assert status.json["payment_caps"]["monthly"] == {
        "cap": "10.00", "committed": "9.60", "spent": "0.00", "left": "0.40", "month": month, "timezone": "UTC",
    }


@pytest.mark.parametrize("step", ["extend", "bonus"])
def test_an_extension_or_bonus_checked_at_record_time_sees_the_other_members_create(step, lab, state_path, tmp_path):
    # alice has 5 assignments posted (3.00); her extend commits 4 × 0.60 = 2.40, her bonuses 5 × 1.20 = 6.00;
    # bob's create of 18 (10.80) runs after her early check passed. One cent short of room for both.
    amount = D("2.40") if step == "extend" else D("6.00")
    cap = D("3.00") + D("10.80") + amount - D("0.01")
    alice, bob = folder(tmp_path, "alice", "pilot", str(cap)), folder(tmp_path, "bob", "main", str(cap))
    rows = worked(alice, state_path, "alice", 5, 4)
    (alice / "plugins").mkdir(exist_ok=True)
    (alice / "plugins" / "between.py").write_text(BETWEEN, encoding="utf-8")
    other = {"member": "bob", "cwd": str(bob), "argv": [*BABE, "create", "--assignments", "18"]}
    log = tmp_path / "other.json"
    args = ["extend", "--assignments", "4"] if step == "extend" else ["bonus", "--csv", str(bonus_file(alice / "b.csv", rows, "1.00"))]
    before = bonuses_paid(state_path), posted_assignments(state_path)
    run = run_babe_process(
        [*args, "--json"], alice, env_of(state_path, "alice", OTHER_CREATE=json.dumps(other), OTHER_LOG=str(log), BABE_PLUGINS="payment-cap,between")
    )
    assert json.loads(log.read_text())["code"] == 0, log.read_text()
    assert run.code == 3, run
    assert run.json["error"]["message"].startswith(f"this {step} commits ${amount}; the monthly cap is ${cap} and $13.80 is already committed"), run
    assert bonuses_paid(state_path) == before[0] == []
    assert posted_assignments(state_path) == before[1] + 18  # bob's HITs; alice's HITs not extended
    with LedgerView(alice, url=lab.url) as view:
        assert committed(view) == D("13.80")
        assert view.bonuses("local") == [] and view.extensions("local") == []
