"""Part 2 of issue 6, continued: the ledger file locked by another program, or the disk full
(both about the SQLite file; on PostgreSQL, the lab's database out of reach).

Both are simulated in-process through the real `babe` program: a lock is another SQLite connection
holding an exclusive transaction on `.babe/ledger.sqlite`; a full disk is the ledger's connection
answering SQLite's own "database or disk is full" from a chosen write on. Each must end in one clear
line (which file, what is wrong, what to do), no traceback, nothing half-written, and the same
command, re-run once the trouble is gone, must reach the exact intended state.
"""

from __future__ import annotations

import sqlite3

import pytest

from .helpers import client, hits, ledger_rows, state_dump


class FullDisk:
    """A ledger connection whose writes fail with SQLITE_FULL once `after` of them have succeeded."""

    def __init__(self, conn: sqlite3.Connection, budget: dict):
        self._conn, self._budget = conn, budget

    def execute(self, sql: str, params=()):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            if self._budget["writes"] <= 0:
                raise sqlite3.OperationalError("database or disk is full")
            self._budget["writes"] -= 1
        return self._conn.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __setattr__(self, name, value):
        if name in ("_conn", "_budget"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._conn, name, value)


@pytest.fixture
def full_disk(monkeypatch):
    """`full_disk["writes"] = n`: the ledger's next n writing statements succeed, then the disk is full."""
    import babe_tasks.ledger as ledger_module

    budget = {"writes": 10**9}
    real_connect = sqlite3.connect

    def connect(path, *args, **kwargs):
        conn = real_connect(path, *args, **kwargs)
        return FullDisk(conn, budget) if str(path).endswith("ledger.sqlite") else conn

    monkeypatch.setattr(ledger_module.sqlite3, "connect", connect)
    return budget


def assert_one_clear_line(run, *words: str) -> None:
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1, run
    assert "Traceback" not in run.err + run.out, run
    assert "internal error" not in run.err, run
    for word in words:
        assert word in lines[0], run


@pytest.mark.sqlite_ledger("a full disk is simulated as SQLite's own SQLITE_FULL on the ledger file's connection")
def test_full_disk_during_create_then_rerun_posts_each_hit_once(babe, experiment, state_path, full_disk):
    full_disk["writes"] = 6  # the plan and its HIT rows are written; the disk fills while posting
    run = babe("create", "--assignments", "45")
    assert run.code == 1, run
    assert_one_clear_line(run, "ledger.sqlite", "disk is full", "free", "run the same command again")

    full_disk["writes"] = 10**9  # space freed
    again = babe("create", "--assignments", "45", "--json")
    assert again.code == 0, again
    found = hits(client(state_path))
    assert len(found) == 5 and sum(h["MaxAssignments"] for h in found) == 45
    recorded = ledger_rows(experiment, "SELECT hit_id FROM hits")
    assert sorted(r["hit_id"] for r in recorded) == sorted(h["HITId"] for h in found)


@pytest.mark.sqlite_ledger("a full disk is simulated as SQLite's own SQLITE_FULL on the ledger file's connection")
def test_full_disk_before_anything_changes_nothing(babe, experiment, state_path, full_disk):
    full_disk["writes"] = 0
    run = babe("create", "--assignments", "20")
    assert run.code == 1, run
    assert_one_clear_line(run, "ledger.sqlite", "disk is full")
    assert hits(client(state_path)) == []


@pytest.mark.sqlite_ledger("the lock is a second SQLite connection's BEGIN EXCLUSIVE on .babe/ledger.sqlite")
def test_locked_ledger_is_one_line_and_nothing_is_done(babe, experiment, state_path, monkeypatch):
    assert babe("create", "--assignments", "9").code == 0
    before = state_dump(client(state_path))
    monkeypatch.setattr("babe_tasks.ledger.BUSY_TIMEOUT", 0.3)
    holder = sqlite3.connect(experiment / ".babe" / "ledger.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        run = babe("expire")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.code == 1, run
    assert_one_clear_line(run, "ledger.sqlite", "locked", "run the same command again")
    assert state_dump(client(state_path)) == before


@pytest.mark.sqlite_ledger("the lock is a second SQLite connection's BEGIN EXCLUSIVE on .babe/ledger.sqlite")
def test_ledger_locked_in_the_middle_of_approve(babe, experiment, state_path, monkeypatch):
    """F7: another program takes the ledger's write lock while approve is paying.

    The lock is taken (a second connection's `BEGIN EXCLUSIVE`, as any other program's would be)
    right after the 20th approval was recorded, and held until approve has ended. approve must end
    with exit 1 and one line naming the ledger, the lock and the re-run; the re-run, once the lock
    is gone, must approve every assignment exactly once, to the cent, with one reward and one fee
    row each in the ledger (the approvals made while the ledger was locked are found Approved and
    recorded then, never paid again).
    """
    from decimal import Decimal

    from babe_tasks.ledger import Ledger
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    from .helpers import START_BALANCE, assignments, balance

    n, busy = 60, 0.1
    run = babe("create", "--assignments", str(n), "--json")
    assert run.code == 0, run
    hit_ids = [h["hit_id"] for h in run.json["hits"]]
    turk = LocalTurk(str(state_path))
    try:
        simulate(turk, hit_ids=hit_ids, seed=7)
    finally:
        turk.store.close()
    monkeypatch.setattr("babe_tasks.ledger.BUSY_TIMEOUT", busy)
    monkeypatch.setenv("BABE_MAX_CONCURRENCY", "4")

    holder = sqlite3.connect(experiment / ".babe" / "ledger.sqlite", isolation_level=None, check_same_thread=False)
    recorded = {"n": 0}
    real = Ledger.record_approved

    def record_then_lock(self, *args, **kwargs):
        real(self, *args, **kwargs)
        recorded["n"] += 1
        if recorded["n"] == 20:
            holder.execute("BEGIN EXCLUSIVE")

    monkeypatch.setattr(Ledger, "record_approved", record_then_lock)
    try:
        run = babe("approve", "--json")
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
    monkeypatch.setattr(Ledger, "record_approved", real)

    assert run.code == 1, run
    assert_one_clear_line(run, "ledger.sqlite", "locked", "run the same command again")
    document = run.json
    assert document["approved"] >= 20 and document["approved"] + len(document["failed"]) == n, document
    # Once the lock has been waited for, no further approval starts: at most the calls in flight
    # (max_concurrency 4) were paid without a record, not all the remaining ones (finding F7).
    approved_on_mturk = sum(a["AssignmentStatus"] == "Approved" for h in hit_ids for a in assignments(client(state_path), h))
    assert approved_on_mturk <= recorded["n"] + 4, (approved_on_mturk, recorded["n"])

    again = babe("approve", "--json")
    assert again.code == 0, again
    mturk = client(state_path)
    statuses = [a["AssignmentStatus"] for h in hit_ids for a in assignments(mturk, h)]
    assert statuses == ["Approved"] * n
    assert balance(mturk) == START_BALANCE - n * Decimal("0.60")
    paid = ledger_rows(experiment, "SELECT kind, COUNT(*) n, COUNT(DISTINCT assignment_id) d FROM payments GROUP BY kind")
    assert {r["kind"]: (r["n"], r["d"]) for r in paid} == {"reward": (n, n), "fee": (n, n)}


def test_unreachable_lab_ledger_is_one_line_and_nothing_is_done(babe, experiment, state_path, babe_env, ledger_engine):
    """The PostgreSQL counterpart of the locked file: the lab's database does not answer (its server
    down, a wrong port). create must stop before posting anything, with one line naming the ledger,
    and the same command, the database back, must post each HIT once."""
    if ledger_engine != "postgresql":
        pytest.skip("PostgreSQL ledger only (--ledger=postgresql): the SQLite file's counterpart is the locked ledger above")
    import os
    from urllib.parse import urlsplit

    url = os.environ["BABE_LEDGER_URL"]
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    babe_env.use_ledger(url.replace(host_port, "127.0.0.1:9"))
    run = babe("create", "--assignments", "45")
    assert run.code == 4, run
    assert_one_clear_line(run, "cannot be reached", "127.0.0.1:9")
    assert urlsplit(url).password not in run.out + run.err, run  # the ledger named, its password not
    assert hits(client(state_path)) == []

    babe_env.use_ledger(url)
    again = babe("create", "--assignments", "45", "--json")
    assert again.code == 0, again
    found = hits(client(state_path))
    assert len(found) == 5 and sum(h["MaxAssignments"] for h in found) == 45
    recorded = ledger_rows(experiment, "SELECT hit_id FROM hits")
    assert sorted(r["hit_id"] for r in recorded) == sorted(h["HITId"] for h in found)
