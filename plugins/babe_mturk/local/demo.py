"""`babe local.demo`: one HIT's whole life against the local MTurk, shown step by step.

It is the first command a newcomer runs, so it needs nothing: no credentials, no network, no
experiment folder. Every requester step goes through a real boto3 client (served in-process), the
same calls a lab's tasks make; only the workers are simulated. The state lives in a scratch file
that is deleted afterwards, so the person's own local MTurk is never touched.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

EXPERIMENT_URL = "https://example.org/my-experiment/"
REWARD = "0.50"
ASSIGNMENTS = 3
SEED = 2017

QUESTION = f"""<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">
  <ExternalURL>{EXPERIMENT_URL}</ExternalURL><FrameHeight>0</FrameHeight>
</ExternalQuestion>"""


def run(console=None, state: str | Path | None = None) -> dict[str, Any]:
    """Walk through the life of a HIT, printing each step; returns what happened (for tests)."""
    if console is None:
        from rich.console import Console

        console = Console(highlight=False)
    if state is not None:
        return _walk(console, Path(state))
    with tempfile.TemporaryDirectory(prefix="babe-demo-") as scratch:
        return _walk(console, Path(scratch) / "localturk.sqlite")


def _walk(console, state: Path) -> dict[str, Any]:
    from rich.table import Table

    from babe_mturk.local import client
    from babe_mturk.local.workers import simulate

    mturk = client(state=str(state))
    turk = mturk.localturk
    outcome: dict[str, Any] = {}
    step = _Steps(console)
    try:
        console.print(f"[bold]A HIT's life on the local MTurk[/bold] (state: {state})", soft_wrap=True)

        balance = Decimal(mturk.get_account_balance()["AvailableBalance"])
        outcome["balance_before"] = balance
        step("The requester account", f"GetAccountBalance → ${balance}")

        hit = mturk.create_hit(
            Title="A _babe experiment (demo)",
            Description="Read sentences and answer questions about them; about 5 minutes.",
            Keywords="experiment, linguistics, survey",
            Reward=REWARD,
            MaxAssignments=ASSIGNMENTS,
            LifetimeInSeconds=3600,
            AssignmentDurationInSeconds=600,
            AutoApprovalDelayInSeconds=3 * 86400,
            Question=QUESTION,
            RequesterAnnotation="babe-demo",
            UniqueRequestToken="babe-demo-hit-1",
        )["HIT"]
        hit_id = hit["HITId"]
        outcome["hit_id"] = hit_id
        step(
            "Post the experiment as an external HIT",
            f"CreateHIT → {hit_id}: {hit['MaxAssignments']} assignments at ${hit['Reward']}, "
            f"status {hit['HITStatus']}, page {EXPERIMENT_URL}",
        )

        work = simulate(turk, hit_ids=[hit_id], workers=ASSIGNMENTS, seed=SEED)
        outcome["submitted"] = len(work["submitted"])
        step(
            "Workers take part (simulated)",
            f"{len(work['workers'])} workers accepted the HIT and submitted {len(work['submitted'])} assignments",
        )

        hit = mturk.get_hit(HITId=hit_id)["HIT"]
        outcome["status_after_work"] = hit["HITStatus"]
        step(
            "Watch it fill",
            f"GetHIT → status {hit['HITStatus']}: {hit['NumberOfAssignmentsAvailable']} available, "
            f"{hit['NumberOfAssignmentsPending']} pending, {hit['NumberOfAssignmentsCompleted']} completed",
        )

        assignments = _all_assignments(mturk, hit_id)
        table = Table(show_edge=False, pad_edge=False)
        for column in ("worker", "assignment", "status", "submitted"):
            table.add_column(column, no_wrap=True)
        for a in assignments:
            table.add_row(a["WorkerId"], a["AssignmentId"], a["AssignmentStatus"], _utc(a.get("SubmitTime"), "%H:%M:%SZ"))
        step("Review the submissions", f"ListAssignmentsForHIT → {len(assignments)} assignments", table)

        for a in assignments:
            mturk.approve_assignment(AssignmentId=a["AssignmentId"], RequesterFeedback="Thank you for taking part!")
        approved = [a for a in _all_assignments(mturk, hit_id) if a["AssignmentStatus"] == "Approved"]
        outcome["approved"] = len(approved)
        balance_after = Decimal(mturk.get_account_balance()["AvailableBalance"])
        outcome["balance_after"] = balance_after
        outcome["spent"] = balance - balance_after
        step(
            "Pay the workers",
            f"ApproveAssignment × {len(approved)} → paid ${balance - balance_after} "
            f"(rewards and MTurk's fee); balance ${balance_after}",
        )

        mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=datetime.fromtimestamp(0, timezone.utc))
        hit = mturk.get_hit(HITId=hit_id)["HIT"]
        outcome["status_after_expire"] = hit["HITStatus"]
        step("Close the HIT", f"UpdateExpirationForHIT(ExpireAt=0) → status {hit['HITStatus']}, expired {_utc(hit['Expiration'])}")

        mturk.delete_hit(HITId=hit_id)
        listed = [h["HITId"] for h in _all_hits(mturk)]
        outcome["listed_after_delete"] = len(listed)
        step("Clean up", f"DeleteHIT → the HIT is disposed; ListHITs now shows {len(listed)} HITs")

        console.print(
            "\nDone: that is the life of every HIT babe-tasks posts. Serve this local MTurk to other "
            "programs with `babe local.serve`.",
            soft_wrap=True,
        )
        return outcome
    finally:
        turk.store.close()


class _Steps:
    """Numbered steps, printed the same way every time (the README quotes them)."""

    def __init__(self, console):
        self.console = console
        self.number = 0

    def __call__(self, title: str, line: str, renderable=None) -> None:
        self.number += 1
        self.console.print(f"\n[bold]{self.number}. {title}[/bold]", soft_wrap=True)
        self.console.print(f"   {line}", soft_wrap=True)
        if renderable is not None:
            from rich.padding import Padding

            self.console.print(Padding(renderable, (0, 0, 0, 3)))


def _utc(value, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    if value is None:
        return "-"
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(float(value), timezone.utc)
    return value.astimezone(timezone.utc).strftime(fmt)


def _all_assignments(mturk, hit_id: str) -> list[dict]:
    pages = mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit_id)
    return [a for page in pages for a in page["Assignments"]]


def _all_hits(mturk) -> list[dict]:
    return [h for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]
