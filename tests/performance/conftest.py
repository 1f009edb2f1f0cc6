"""Fixtures for the call-count tests: a local MTurk over HTTP that counts requests, and `babe` in-process.

Counts, not times: every figure these tests check is the number of requests of each operation
the local MTurk served, which is exact and independent of the machine's load.
"""

from __future__ import annotations

import pytest

@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local MTurk server on 127.0.0.1 (what `babe local.serve` runs); babe is pointed at it."""
    from babe_mturk.local.server import serve_in_thread

    running, url = serve_in_thread(tmp_path / "served.sqlite")
    monkeypatch.setenv("BABE_ENDPOINT_URL", url)
    yield running
    running.shutdown()


@pytest.fixture
def babe(babe_run, experiment, server):
    """The suite's in-process `babe` (tests/conftest.py), run in the experiment against the counting server."""
    return babe_run


class Counter:
    """The requests the server answered since the last `reset()`, by operation."""

    def __init__(self, server):
        self.server = server

    def reset(self) -> None:
        from babe_mturk.local import stats

        stats.reset(self.server.turk, self.server.faults)

    def __call__(self) -> dict[str, int]:
        from babe_mturk.local import stats

        return stats.snapshot(self.server.turk, self.server.faults)["requests"]


@pytest.fixture
def calls(server) -> Counter:
    return Counter(server)


def post(babe, assignments: int, *extra: str) -> list[str]:
    """Create the experiment's HITs; their ids in order."""
    run = babe("create", "--assignments", str(assignments), "--yes", "--json", *extra)
    assert run.code == 0, run
    return [hit["hit_id"] for hit in run.json["hits"]]


def work(server, workers: int, seed: int = 7) -> list[str]:
    """Simulated workers submit `workers` assignments; their ids."""
    from babe_mturk.local.workers import simulate

    done = simulate(server.turk, workers=workers, seed=seed)
    assert len(done["submitted"]) == workers, done
    return done["submitted"]


def per_hit(server) -> dict[str, int]:
    """Assignments per HIT as the service holds them."""
    rows = server.turk.store.conn.execute("SELECT hit_id, COUNT(*) FROM assignments GROUP BY hit_id").fetchall()
    return {hit_id: count for hit_id, count in rows}
