"""The local MTurk as a test drives it: one state file, its clock, and the workers who do the HITs.

A lab testing its plugin needs the other side of the lifecycle: HITs that fill up, workers who
take a minute or an hour, a deadline that passes. The local MTurk has all of that; these three
small handles give a test the parts it needs without reaching into the service's modules:

- `LocalMTurk(state)` — the requester side: a boto3 client answered in-process (`client`), the
  HITs and assignments as MTurk lists them, the balance, and `serve()` for an HTTP endpoint;
- `Clock(turk)` — the shared clock: `now()`, `advance("25h")`; every process on the same state
  file (the `babe` program run in-process included) sees the same time;
- `Workers(turk, clock)` — the worker side: `work(...)` is `babe local.work` (many simulated
  workers at once), `accept` / `submit` / `return_assignment` play one worker step by step, and
  `complete(hit_id, took="5m")` is one worker who takes that long.

The `babe` program opens the same state file (`BABE_LOCAL_STATE`), so what a test does here and
what `babe create` / `babe approve` do meet in one local MTurk.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

__all__ = ["Clock", "LocalMTurk", "Workers"]


class LocalMTurk:
    """One local MTurk over one state file; `close()` releases it (the fixture does)."""

    def __init__(self, state: str | Path):
        self.state = Path(state)
        self._service: Any = None
        self._client: Any = None
        self._servers: list[Any] = []

    @property
    def service(self) -> Any:
        """The `babe_mturk.local.service.LocalTurk` over the state file (opened on first use)."""
        if self._service is None:
            from babe_mturk.local.service import LocalTurk

            self._service = LocalTurk(str(self.state))
        return self._service

    @property
    def client(self) -> Any:
        """A real boto3 MTurk client, answered in-process by this local MTurk."""
        if self._client is None:
            from babe_mturk.local import client

            self._client = client(turk=self.service)
        return self._client

    def hits(self) -> list[dict]:
        """Every HIT, as ListHITs returns them (all pages)."""
        return [hit for page in self.client.get_paginator("list_hits").paginate() for hit in page["HITs"]]

    def hit(self, hit_id: str) -> dict:
        """One HIT, as GetHIT returns it."""
        return self.client.get_hit(HITId=hit_id)["HIT"]

    def assignments(self, hit_id: str | None = None, status: str | Sequence[str] | None = None) -> list[dict]:
        """The assignments of one HIT (or of every HIT), as ListAssignmentsForHIT returns them.

        `status` keeps only Submitted, Approved or Rejected ones (MTurk lists only those three).
        """
        statuses = [status] if isinstance(status, str) else list(status or ())
        options = {"AssignmentStatuses": statuses} if statuses else {}
        found = []
        for hid in [hit_id] if hit_id else [hit["HITId"] for hit in self.hits()]:
            pages = self.client.get_paginator("list_assignments_for_hit").paginate(HITId=hid, **options)
            found += [assignment for page in pages for assignment in page["Assignments"]]
        return found

    def status_of(self, assignment_id: str) -> str:
        """An assignment's AssignmentStatus (Submitted, Approved, Rejected)."""
        return self.client.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"]

    def balance(self) -> Decimal:
        """The account's available balance (a fresh state starts with $10,000.00)."""
        return Decimal(self.client.get_account_balance()["AvailableBalance"])

    def stats(self) -> dict:
        """Requests per operation made through this handle's service (not the `babe` program's)."""
        return self.service.stats()

    def serve(self) -> str:
        """Serve this local MTurk over HTTP on 127.0.0.1 (stopped at `close`); returns the endpoint URL.

        For code under test that takes an endpoint URL (`babe --endpoint-url URL`, the AWS CLI).
        """
        from babe_mturk.local.server import serve_in_thread

        server, url = serve_in_thread(self.service)
        self._servers.append(server)
        return url

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
        self._servers.clear()
        if self._service is not None:
            self._service.store.close()
            self._service = None
            self._client = None


def _seconds(value: str | int | float | timedelta) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float):
        return value
    from ..durations import parse_duration

    return float(parse_duration(value))


class Clock:
    """The local MTurk's clock: the machine's time plus an offset kept in the state file."""

    def __init__(self, turk: LocalMTurk):
        self.turk = turk

    def now(self) -> datetime:
        """The local MTurk's time now (UTC)."""
        from babe_mturk.local.store import Store

        with self.turk.service.store.read() as tx:
            return datetime.fromtimestamp(Store.now(tx), UTC)

    @property
    def offset(self) -> float:
        """Seconds the clock has been moved forward so far."""
        return self.turk.service.store.clock_offset()

    def advance(self, by: str | int | float | timedelta) -> datetime:
        """Move time forward for everyone on this state (`"25h"`, `"1h30m"`, 90, a timedelta); the new now.

        Deadlines pass, abandoned assignments free their slots, submitted work is auto-approved and
        HITs expire exactly as they would have on MTurk after that much time.
        """
        seconds = _seconds(by)
        if seconds < 0:
            raise ValueError("the local clock only moves forward")
        self.turk.service.store.advance_clock(seconds)
        self.turk.service.settle_if_due()
        return self.now()


class Workers:
    """The worker side of the local MTurk: many simulated workers at once, or one step by step."""

    def __init__(self, turk: LocalMTurk, clock: Clock):
        self.turk = turk
        self.clock = clock

    def work(self, workers: int | None = None, **options: Any) -> dict:
        """One round of simulated work, as `babe local.work` does it; the simulator's report.

        `options` are `babe_mturk.local.workers.simulate`'s: `hit_ids`, `worker_ids`, `locale`,
        `return_rate`, `abandon_rate`, `lose_rate`, `post_to` (a backend submit URL), `seed`,
        `profile`. The report lists `workers`, `submitted`, `returned`, `abandoned`, `lost`,
        `posted`, `refused`, `failed` (docs/localturk-workers.md).
        """
        from babe_mturk.local.workers import simulate

        if workers is not None:
            options["workers"] = workers
        return simulate(self.turk.service, **options)

    def add(self, count: int = 1, *, worker_ids: Sequence[str] = (), locale: str = "US", **profile: Any) -> list[str]:
        """New simulated workers who do nothing yet (e.g. to grant them a qualification first).

        `profile` sets `percent_approved`, `number_approved`, `adult`, `masters`.
        """
        from babe_mturk.local.workers import add_workers

        return add_workers(self.turk.service, count, worker_ids=worker_ids, locale=locale, profile=profile or None)

    @contextmanager
    def _write(self) -> Iterator[Any]:
        from babe_mturk.local.service import Context
        from babe_mturk.local.store import Store

        service = self.turk.service
        with service.store.write() as tx:
            yield Context(tx, Store.now(tx), service)

    def accept(self, hit_id: str, worker_id: str | None = None) -> str:
        """A worker (a new one unless named) accepts the HIT; the assignment id.

        MTurk's rules hold: a worker who already did the HIT, is blocked, or lacks a required
        qualification is refused (the local MTurk's RequestError, with MTurk's message).
        """
        from babe_mturk.local import assignments

        if worker_id is None:
            (worker_id,) = self.add(1)
        else:
            self.add(0, worker_ids=[worker_id])
        with self._write() as ctx:
            return assignments.accept(ctx, hit_id, worker_id)

    def submit(self, assignment_id: str, answer: Mapping[str, str] | None = None) -> None:
        """The worker submits: the form fields `answer` (default: just the assignmentId), as a _babe page does."""
        from babe_mturk.local import assignments
        from babe_mturk.answers import answer_xml

        fields = {"assignmentId": assignment_id, **{str(k): str(v) for k, v in (answer or {}).items()}}
        with self._write() as ctx:
            assignments.submit(ctx, assignment_id, answer_xml(fields))

    def return_assignment(self, assignment_id: str) -> None:
        """The worker gives the assignment back unfinished; its slot is free again."""
        from babe_mturk.local import assignments

        with self._write() as ctx:
            assignments.return_assignment(ctx, assignment_id)

    def complete(
        self, hit_id: str, took: str | int | float | timedelta = "5m", *, answer: Mapping[str, str] | None = None,
        worker_id: str | None = None,
    ) -> str:
        """One worker accepts, works for `took` (the shared clock moves that much), and submits; the assignment id.

        The clock moves for everything on this state: other assignments' deadlines come closer too.
        """
        assignment_id = self.accept(hit_id, worker_id)
        self.clock.advance(took)
        self.submit(assignment_id, answer)
        return assignment_id
