"""The ledger on its two engines (issue 16): the folder's SQLite file and a lab's PostgreSQL.

Everything here is real: `babe` runs against the local MTurk, the PostgreSQL is a server of the
machine's own (`babe_postgres`: a fresh database per test), concurrent writers are separate
processes. The same lifecycle gives the same ledger on both engines; a plan and a bonus recorded
by several processes at once are recorded once; a ledger file written before this version is
adopted at its version; `babe ledger.migrate` says from which version to which; the URL's password
never reaches any output; `babe doctor` checks the ledger.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from babe_mturk.local.workers import simulate
from babe_tasks.ledger import Ledger, LedgerView
from babe_tasks.ledgerdb import mask, parse_url
from babe_tasks.ledgerdb_migrations import SCHEMA_VERSION
from babe_tasks.testing.experiment import ExperimentFolder
from babe_tasks.testing.processes import BABE, child_env, start_command

DATA = Path(__file__).parent / "data"


def lifecycle(babe, turk, folder: Path) -> dict:
    """create 20 → 20 workers submit → approve → status → cost, in `folder`; what a person would read."""
    created = babe("create", "--assignments", "20", "--json")
    assert created.code == 0, created
    hit_ids = [h["hit_id"] for h in created.json["hits"]]
    simulate(turk, hit_ids=hit_ids, workers=20, seed=5)
    approved = babe("approve", "--json")
    assert approved.code == 0, approved
    status = babe("status", "--json")
    assert status.code == 0, status
    cost = babe("cost", "--json")
    assert cost.code == 0, cost
    again = babe("create", "--assignments", "20", "--json")  # the same create: finished, posts nothing
    assert again.code == 0, again
    assert [h["hit_id"] for h in again.json["hits"]] == hit_ids  # the plan's own HITs, none new
    return {"hit_ids": hit_ids, "approved": approved.json, "cost": cost.json}


def ledger_state(ledger: Ledger, experiment: str, hit_ids: list[str]) -> dict:
    records = ledger.hits(experiment, "local")
    return {
        "hits": sorted((r.index, r.max_assignments, str(r.reward), r.platform) for r in records),
        "plans": len({r.plan_id for r in records}),
        "assignments": sorted(row["status"] for row in ledger.assignments(experiment, "local")),
        "totals": ledger.payment_totals(experiment, "local"),
        "spent": ledger.spent(hit_ids),
    }


def scrub_ids(document: dict, hit_ids: list[str]) -> str:
    text = json.dumps(document, sort_keys=True).replace("exp2", "exp1")
    for i, hit_id in enumerate(hit_ids):
        text = text.replace(hit_id, f"HIT{i}")
    return text


# -- the same results on both engines ---------------------------------------------------------------
def test_a_lifecycle_leaves_the_same_ledger_on_sqlite_and_on_postgresql(babe, experiment, turk, babe_env, babe_postgres, tmp_path, monkeypatch):
    monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the SQLite half: the folder's file, whatever --ledger says
    on_sqlite = lifecycle(babe, turk, experiment)
    with Ledger(experiment, url="") as ledger:
        sqlite_state = ledger_state(ledger, "exp1", on_sqlite["hit_ids"])

    other = ExperimentFolder(tmp_path / "lab" / "exp2").path  # its own name: the local MTurk holds exp1's HITs
    monkeypatch.chdir(other)
    babe_env.use_ledger(babe_postgres.url)
    on_postgres = lifecycle(babe, turk, other)
    assert not (other / ".babe" / "ledger.sqlite").exists()  # the lab's database holds it, not the folder
    with Ledger(other, url=babe_postgres.url) as ledger:
        assert ledger.engine == "postgresql"
        postgres_state = ledger_state(ledger, "exp2", on_postgres["hit_ids"])

    assert postgres_state == sqlite_state
    assert sqlite_state["totals"] == {"reward": Decimal("10.00"), "fee": Decimal("2.00"), "bonus": Decimal("0.00"), "bonus_fee": Decimal("0.00")}
    assert on_postgres["approved"] == on_sqlite["approved"] == {"approved": 20, "already_approved": 0, "held": [], "failed": []}
    assert scrub_ids(on_postgres["cost"], on_postgres["hit_ids"]) == scrub_ids(on_sqlite["cost"], on_sqlite["hit_ids"])
    # The read-only view plugins get reads the lab's ledger the same way.
    with LedgerView(other, url=babe_postgres.url) as view, LedgerView(experiment, url="") as file_view:
        assert view.payment_totals("exp2", "local") == file_view.payment_totals("exp1", "local")
        assert view.experiments("local") == ["exp2"] and file_view.experiments("local") == ["exp1"]


def test_every_row_names_the_member_who_wrote_it(babe, experiment, turk, babe_env, babe_postgres, monkeypatch):
    babe_env.use_ledger(babe_postgres.url)
    monkeypatch.setenv("BABE_MEMBER", "ada")
    created = babe("create", "--assignments", "4", "--json")
    assert created.code == 0, created
    simulate(turk, hit_ids=[h["hit_id"] for h in created.json["hits"]], workers=4, seed=2)
    monkeypatch.setenv("BABE_MEMBER", "grace")
    assert babe("approve").code == 0
    with babe_postgres.connect() as conn:
        plans = conn.execute("SELECT member, folder FROM plans").fetchall()
        hits = conn.execute("SELECT DISTINCT member FROM hits").fetchall()
        payments = conn.execute("SELECT DISTINCT member FROM payments").fetchall()
    assert [(member, folder) for member, folder in plans] == [("ada", str(experiment.resolve()))]
    assert [row[0] for row in hits] == ["ada"]
    assert [row[0] for row in payments] == ["grace"]


# -- exactly once across processes ------------------------------------------------------------------
def test_four_processes_creating_the_same_plan_on_postgresql_post_one_batch(experiment, state_path, babe_postgres, babe_turk):
    env = child_env(state_path, BABE_LEDGER_URL=babe_postgres.url)
    children = [start_command([*BABE, "create", "--assignments", "20", "--json"], experiment, env) for _ in range(4)]
    outcomes = [child.communicate(timeout=120) + (child.returncode,) for child in children]
    assert [code for _, _, code in outcomes] == [0, 0, 0, 0], outcomes
    assert len(babe_turk.hits()) == 3  # one batch: 7 + 7 + 6
    with Ledger(experiment, url=babe_postgres.url) as ledger:
        records = ledger.hits("exp1", "local")
    assert len(records) == 3 and len({r.plan_id for r in records}) == 1
    assert sorted(r.hit_id for r in records) == sorted(h["HITId"] for h in babe_turk.hits())


def test_a_child_babe_keeps_the_tests_ledger_and_member_and_nothing_else(experiment, state_path, babe_env, babe_postgres, monkeypatch):
    """child_env drops the BABE_* settings of the person running the tests, but not the test's ledger
    and member: a `babe` process a test starts must write the ledger the test reads, as that member."""
    babe_env.use_ledger(babe_postgres.url)
    monkeypatch.setenv("BABE_MEMBER", "ada")
    monkeypatch.setenv("BABE_TARGET", "sandbox")  # a setting of the person: must not reach the child
    env = child_env(state_path)
    assert env["BABE_LEDGER_URL"] == babe_postgres.url and env["BABE_MEMBER"] == "ada" and "BABE_TARGET" not in env
    child = start_command([*BABE, "create", "--assignments", "3", "--json"], experiment, env)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, (out, err)
    assert not (experiment / ".babe" / "ledger.sqlite").exists()
    with babe_postgres.connect() as conn:
        rows = conn.execute("SELECT member, target FROM plans").fetchall()
    assert [tuple(row) for row in rows] == [("ada", "local")]


def _record_bonus(url: str, folder: str, start, member: str) -> None:
    payment = SimpleNamespace(
        token="tok-1", identity="tok-1", attempt=0, hit_id="HIT1", assignment_id="ASG1", worker_id="W1",
        amount=Decimal("1.25"), fee=Decimal("0.25"), reason="well done",
    )
    with Ledger(folder, url=url, member=member) as ledger:
        start.wait(30)
        for _ in range(20):  # the same bonus, over and over, from every process at once
            ledger.start_bonus(payment, experiment="exp1", target="local", location="local", sent_at=1.0)
            ledger.bonus_paid("tok-1")


def test_one_bonus_recorded_by_four_processes_at_once_is_recorded_once(babe_postgres, tmp_path):
    with Ledger(tmp_path, url=babe_postgres.url):
        pass  # migrated once, before the race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [
        context.Process(target=_record_bonus, args=(babe_postgres.url, str(tmp_path), start, f"member{i}"))
        for i in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    with Ledger(tmp_path, url=babe_postgres.url) as ledger:
        assert [b.status for b in ledger.bonuses("exp1", "local")] == ["paid"]
        assert ledger.payment_totals("exp1", "local")["bonus"] == Decimal("1.25")
        assert ledger.payment_totals("exp1", "local")["bonus_fee"] == Decimal("0.25")
        assert len(ledger._read("SELECT id FROM payments")) == 2


def _open(url: str, folder: str, start) -> None:
    start.wait(30)
    with Ledger(folder, url=url) as ledger:
        assert ledger.migrated[1] == SCHEMA_VERSION


def test_processes_meeting_an_empty_database_at_once_migrate_it_once(babe_postgres, tmp_path):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [context.Process(target=_open, args=(babe_postgres.url, str(tmp_path), start)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT id, version FROM babe_schema").fetchall() == [(1, SCHEMA_VERSION)]


def test_a_lab_ledger_another_program_holds_is_one_line_and_nothing_is_done(babe, experiment, babe_env, babe_postgres, babe_turk, monkeypatch):
    from babe_tasks.ledgerdb import LOCK_KEY

    babe_env.use_ledger(babe_postgres.url)
    assert babe("create", "--assignments", "9").code == 0
    before = [(h["HITId"], h["Expiration"]) for h in babe_turk.hits()]
    monkeypatch.setattr("babe_tasks.ledger.BUSY_TIMEOUT", 0.3)
    with babe_postgres.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))  # as another babe's write would
        run = babe("expire")
    assert run.code == 1, run
    (line,) = run.err.strip().splitlines()
    assert "lock timeout" in line and "let it finish, then run the same command again" in line, line
    assert mask(babe_postgres.url) in line and urlsplit(babe_postgres.url).password not in line
    assert [(h["HITId"], h["Expiration"]) for h in babe_turk.hits()] == before  # nothing expired
    assert babe("expire").code == 0  # the lock gone, the same command finishes


# -- migrations -------------------------------------------------------------------------------------
def old_ledger(folder: Path) -> Path:
    """The folder's ledger as babe-tasks wrote it before issue 16 (tests/ledger/data/ledger-v3.sql)."""
    path = folder / ".babe" / "ledger.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "ledger-v3.sql").read_text(encoding="utf-8"))
    conn.close()
    return path


def test_a_ledger_file_written_before_issue_16_is_adopted_and_keeps_working(tmp_path):
    path = old_ledger(tmp_path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 3
    before.close()
    with Ledger(tmp_path, url="", member="ada") as ledger:
        assert ledger.migrated == (3, SCHEMA_VERSION)
        (hit,) = ledger.hits("pilot", "local")
        assert (hit.hit_id, hit.platform, hit.max_assignments, hit.reward) == ("HIT0", "mturk", 4, Decimal("0.50"))
        assert ledger.payment_totals("pilot", "local") == {
            "reward": Decimal("0.50"), "fee": Decimal("0.10"), "bonus": Decimal("1.25"), "bonus_fee": Decimal("0.25"),
        }
        assert [b.status for b in ledger.bonuses("pilot", "local")] == ["paid"]
        assert ledger.rejection("ASG2")["reason"] == "no code"
        assert ledger.open_plan("pilot", "local", "nothing") is None
        # Old rows name no member; new ones do.
        from babe_tasks.platform.base import AssignmentInfo

        ledger.record_approved("pilot", "local", AssignmentInfo("ASG3", "HIT0", "W3", "Submitted"), Decimal("0.50"), Decimal("0.10"))
        members = {row["assignment_id"]: row["member"] for row in ledger._read("SELECT assignment_id, member FROM payments")}
        assert members == {"ASG1": "", "ASG3": "ada"}
    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"prolific_participant_groups", "prolific_completion_codes"} <= {
        row[0] for row in after.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    after.close()
    with Ledger(tmp_path, url="") as again:
        assert again.migrated == (SCHEMA_VERSION, SCHEMA_VERSION)


def test_a_ledger_newer_than_this_babe_is_refused_not_written(tmp_path):
    path = old_ledger(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    from babe_tasks.ledgerdb_migrations import SchemaTooNew

    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}, newer than"):
        Ledger(tmp_path, url="")


def test_ledger_migrate_says_from_which_version_to_which(babe, experiment, babe_env, babe_postgres):
    babe_env.monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the SQLite half: the folder's file, whatever --ledger says
    old_ledger(experiment)
    run = babe("ledger.migrate")
    assert run.code == 0, run
    assert run.out.strip() == f"Ledger {experiment / '.babe' / 'ledger.sqlite'} (sqlite): schema version 3 → {SCHEMA_VERSION}."
    again = babe("ledger.migrate", "--json")
    assert again.code == 0, again
    assert again.json == {
        "ledger": str(experiment / ".babe" / "ledger.sqlite"), "engine": "sqlite", "from_version": SCHEMA_VERSION,
        "to_version": SCHEMA_VERSION, "migrated": False, "member": again.json["member"],
    }

    babe_env.use_ledger(babe_postgres.url)
    lab = babe("ledger.migrate", "--json")
    assert lab.code == 0, lab
    assert (lab.json["engine"], lab.json["from_version"], lab.json["to_version"], lab.json["migrated"]) == (
        "postgresql", 0, SCHEMA_VERSION, True,
    )
    assert lab.json["ledger"] == mask(babe_postgres.url)
    text = babe("ledger.migrate")
    assert text.out.strip().endswith(f"schema version {SCHEMA_VERSION}, nothing to migrate.")


# -- the setting, its secret, and doctor ------------------------------------------------------------
def test_the_url_is_checked_and_its_password_never_shown(babe, experiment, babe_env, babe_postgres, monkeypatch):
    assert parse_url("") is None and parse_url(None) is None
    assert mask("postgresql://lab:hunter2@db.example.org:5433/babe?sslmode=require") == "postgresql://lab@db.example.org:5433/babe?sslmode=require"
    assert mask("postgresql://db/babe?user=lab&password=hunter2") == "postgresql://db/babe?user=lab&password=***"

    url = babe_postgres.url
    secret = urlsplit(url).password
    assert secret and secret in url  # the test server's URL carries a real password
    monkeypatch.setenv("BABE_LEDGER_URL", f"mysql://lab:{secret}@db/babe")
    refused = babe("ledger.migrate")
    assert refused.code == 2 and "is not a PostgreSQL URL" in refused.err and "mysql://lab@db/babe" in refused.err

    babe_env.use_ledger(url)
    runs = [babe("ledger.migrate"), babe("ledger.migrate", "--json"), babe("doctor", "--json"), babe("create", "--assignments", "3", "--json")]
    assert all(run.code == 0 for run in runs), runs
    from babe_tasks.settings import Settings

    settings = Settings.build()
    assert settings.ledger_url == url
    unreachable = url.replace(f":{url.rsplit(':', 1)[1].split('/')[0]}/", ":9/")
    babe_env.use_ledger(unreachable)
    down = [babe("ledger.migrate"), babe("doctor", "--json"), babe("status")]
    assert [run.code for run in down] == [4, 4, 4], down
    for run in runs + down + [refused]:
        assert secret not in run.out + run.err, run
    assert secret not in repr(settings) and secret not in json.dumps(settings.as_dict(), default=str)
    (line,) = down[0].err.strip().splitlines()
    assert "cannot be reached" in line and "127.0.0.1:9" in line and babe_postgres.name in line


def test_doctor_checks_the_ledger_on_either_engine(babe, experiment, babe_env, babe_postgres):
    def ledger_check(run) -> dict:
        (check,) = [c for c in run.json["checks"] if c["check"] == "ledger"]
        return check

    babe_env.monkeypatch.delenv("BABE_LEDGER_URL", raising=False)  # the SQLite half: the folder's file, whatever --ledger says
    fresh = babe("doctor", "--json")
    assert ledger_check(fresh)["status"] == "ok" and "none yet" in ledger_check(fresh)["detail"]
    old_ledger(experiment)
    adopted = babe("doctor", "--json")
    assert ledger_check(adopted) == {
        "check": "ledger", "status": "ok", "plugin": None,
        "detail": f"{experiment / '.babe' / 'ledger.sqlite'}: schema version 3, migrated to {SCHEMA_VERSION} on first use (or: babe ledger.migrate)",
    }

    babe_env.use_ledger(babe_postgres.url)
    babe_env.monkeypatch.setenv("BABE_MEMBER", "ada")
    lab = babe("doctor", "--json")
    assert lab.code == 0, lab
    detail = ledger_check(lab)["detail"]
    assert detail.startswith(mask(babe_postgres.url)) and "as member ada" in detail and "schema version 0" in detail
    assert babe("ledger.migrate").code == 0
    assert ledger_check(babe("doctor", "--json"))["detail"].endswith(f"schema version {SCHEMA_VERSION}")
