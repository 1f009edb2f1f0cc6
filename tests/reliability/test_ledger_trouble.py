"""Part 2 of issue 6, continued: the ledger file locked by another program, or the disk full.

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


def test_full_disk_before_anything_changes_nothing(babe, experiment, state_path, full_disk):
    full_disk["writes"] = 0
    run = babe("create", "--assignments", "20")
    assert run.code == 1, run
    assert_one_clear_line(run, "ledger.sqlite", "disk is full")
    assert hits(client(state_path)) == []


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
