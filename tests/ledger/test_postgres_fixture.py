"""The real PostgreSQL the ledger tests run on (babe_tasks.testing.postgres, the `babe_postgres` fixture).

What `pytest --ledger=postgresql` relies on, checked against the server itself through psycopg:
it starts (as root too, where PostgreSQL refuses root), each test gets its own empty database,
the URL reaches the processes a test starts, everything is removed afterwards, and where
PostgreSQL is missing the tests needing it skip with the command that installs it (fail in CI).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from babe_tasks.testing.postgres import INSTALL_HINT, PostgresServer, find_bindir, ledger_rows

pytest_plugins = ["pytester"]


def test_the_database_is_empty_on_a_fast_local_server(babe_postgres, babe_postgres_server):
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == babe_postgres.name
        assert conn.execute("SELECT host(inet_server_addr())").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        assert tables == 0
    assert babe_postgres.url == f"postgresql://babe:{babe_postgres_server.password}@127.0.0.1:{babe_postgres_server.port}/{babe_postgres.name}"
    assert babe_postgres.name in babe_postgres_server.databases()


def test_the_server_never_runs_as_root(babe_postgres_server):
    owner = (babe_postgres_server.data / "postmaster.pid").stat().st_uid
    assert owner == os.geteuid() or os.geteuid() == 0
    assert owner != 0


def test_a_password_is_asked(babe_postgres_server):
    import psycopg

    wrong = babe_postgres_server.url("postgres").replace(babe_postgres_server.password, "not-it")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10).close()


def test_every_database_is_fresh_and_dropped_with_its_connections(babe_postgres_server):
    first, second = babe_postgres_server.create_database(), babe_postgres_server.create_database()
    assert first.name != second.name
    with first.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE payments (id text PRIMARY KEY, cents bigint NOT NULL)")
        conn.execute("INSERT INTO payments VALUES ('A1', 50)")
    with second.connect() as conn:
        assert conn.execute("SELECT to_regclass('payments')").fetchone()[0] is None

    held_open = first.connect()  # a test (or a babe child) that did not close its connection
    babe_postgres_server.drop_database(first)
    babe_postgres_server.drop_database(second)
    held_open.close()
    assert first.name not in babe_postgres_server.databases()
    assert second.name not in babe_postgres_server.databases()


def test_the_url_reaches_the_processes_a_test_starts(babe_env, babe_postgres):
    babe_env.use_ledger(babe_postgres.url)
    child = """
import os, psycopg
with psycopg.connect(os.environ["BABE_LEDGER_URL"], autocommit=True) as conn:
    conn.execute("CREATE TABLE seen (who text)")
    conn.execute("INSERT INTO seen VALUES ('child')")
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT who FROM seen").fetchall() == [("child",)]


def test_babe_keeps_its_ledger_there_in_process_and_as_a_child(babe_env, babe_postgres, babe_experiment, babe_run):
    """The docs' example (docs/testing-plugins.md): the URL is the ledger, the folder keeps no file."""
    from babe_tasks.testing.processes import run_babe_process

    babe_env.use_ledger(babe_postgres.url)
    created = babe_run("create --assignments 3 --json")
    assert created.code == 0, created
    child = run_babe_process(["status", "--json"], babe_experiment.path)  # inherits this process's environment
    assert child.code == 0, child
    assert [(hit["hit_id"], hit["available"]) for hit in child.json["hits"]] == [(created.json["hits"][0]["hit_id"], 3)]
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT count(*) FROM hits").fetchone()[0] == 1
    assert not (babe_experiment.path / ".babe" / "ledger.sqlite").exists()


def test_the_ledgers_rows_read_the_same_on_either_engine(babe_experiment, babe_run):
    """`ledger_rows`: what a test checks in the ledger, read with sqlite3 or psycopg, whichever engine the run is on."""
    created = babe_run("create --assignments 3 --json")
    assert created.code == 0, created
    rows = ledger_rows(babe_experiment.path, "SELECT hit_id, max_assignments FROM hits WHERE max_assignments = ?", (3,))
    assert [(row["hit_id"], row[1]) for row in rows] == [(created.json["hits"][0]["hit_id"], 3)]
    assert [dict(row) for row in rows] == [{"hit_id": rows[0]["hit_id"], "max_assignments": 3}]


def test_a_lost_ledger_is_an_empty_database_at_the_same_url(babe_env, babe_postgres, babe_experiment, babe_run):
    babe_env.use_ledger(babe_postgres.url)
    assert babe_run("create --assignments 3 --json").code == 0
    babe_postgres.server.lose_database(babe_postgres)
    with babe_postgres.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
    status = babe_run("status --json")
    assert status.code == 0, status
    assert status.json["hits"] == []  # the ledger knows nothing any more (`status --sync` would ask the platform)


def test_the_suite_runs_on_the_engine_asked_for(ledger_engine, babe_postgres_server):
    """`pytest --ledger=postgresql`: this test's ledger is a database of its own; by default, no URL at all."""
    url = os.environ.get("BABE_LEDGER_URL")
    if ledger_engine == "sqlite":
        assert url is None
        return
    assert url is not None and url.startswith(f"postgresql://babe:{babe_postgres_server.password}@127.0.0.1:")
    name = url.rsplit("/", 1)[1]
    assert name in babe_postgres_server.databases()
    with babe_postgres_server._connect(name) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def test_a_server_of_its_own_leaves_nothing_behind(tmp_path):
    with PostgresServer() as server:
        root, port = server.root, server.port
        database = server.create_database()
        conn = database.connect()  # still open when the server stops
        assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()
    assert root is not None and not root.exists()
    assert not server.running
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_programs_are_found():
    bindir = find_bindir()
    assert all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


# -- where PostgreSQL is missing ------------------------------------------------------------------

A_LAB_TEST = """
def test_on_postgres(babe_postgres):
    assert babe_postgres.url
"""

NO_POSTGRES = """
import babe_tasks.testing.postgres as postgres

postgres.PACKAGED_BINDIRS = {nowhere!r}
"""


@pytest.fixture
def lab_without_postgres(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    """A lab's tests on a machine without PostgreSQL: nothing on PATH, no packaged server folder."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    pytester.makeconftest(NO_POSTGRES.format(nowhere=str(tmp_path / "none" / "*" / "bin")))
    pytester.makepyfile(test_lab=A_LAB_TEST)
    return pytester


def run_lab(lab: pytest.Pytester) -> pytest.RunResult:
    return lab.runpytest_subprocess("-p", "babe_tasks.pytest_plugin", "-p", "no:cacheprovider", "-rs")


def test_without_postgres_the_tests_needing_it_skip_saying_how_to_install_it(lab_without_postgres, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = run_lab(lab_without_postgres)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*not installed: {INSTALL_HINT}*"])


def test_without_postgres_in_ci_they_fail(lab_without_postgres, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = run_lab(lab_without_postgres)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*not installed: {INSTALL_HINT}*CI=true*"])
