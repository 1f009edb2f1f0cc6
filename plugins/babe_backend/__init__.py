"""babe-backend: the _babe / magpie backend as part of the lifecycle.

The backend is where an experiment's data lives; MTurk only knows who clicked "submit". A _babe
page posts its trials to the backend and then submits the MTurk form even when that post failed,
so a worker can be paid while their data is lost. This plugin closes that gap:

- `approve` holds back every Submitted assignment whose `assignment_id` has no row in the
  backend (`held`, reason `no data in backend`), unless `approve_without_data` is set
  (`babe approve --approve-without-data`, or `BABE_APPROVE_WITHOUT_DATA=1`); on Prolific a
  submission has data when a row carries its participant id (`prolific_id`) or its submission id
  (`session_id`);
- with `review.hold_failed_checks`, `approve` also holds a submission whose attention checks failed
  (reason `failed attention check (2 of 3)`);
- `babe review` shows each participant's rows, reaction times and attention checks beside the
  submission (`babe_review_data`, review.py); rows are matched to submissions by the one rule
  approve uses (matching.py);
- `status` gains the backend's data rows per HIT (`backend_rows`) and its submission count (on
  Prolific per study, by the rows' `study_id`);
- `babe results` downloads the results (`babe_fetch_results`): the CSV route with HTTP Basic auth
  when `BABE_BACKEND_PASSWORD` is set, else the JSON retrieval API turned into the same CSV layout;
- `babe doctor` and `create` check first (`babe_preflight`, `babe_before_create`): deployMethod
  against the target, serverAppURL's shape, and that the backend has the experiment and it is active.

It does nothing until the section `babe.plugins.babe-backend` exists in `invoke.yaml`; then it reads
`config/config_deploy.js` (settings may override each field). It uses only babe-tasks' public API:
`hookimpl`, the errors, `settings.plugin_settings`, `babe_tasks.deployconfig` and the hook
`context` (the run's platform, for a Prolific study's completion code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babe_tasks import hookimpl
from babe_tasks.errors import UsageError, Veto
from babe_tasks.reviewdata import ReviewData

from . import attention, checks, client, matching, review
from .config import NAME, load, validate
from .table import STUDY_COLUMNS

__all__ = ["HOLD_REASON", "NAME"]

#: The reason `approve` shows for an assignment held back by this plugin.
HOLD_REASON = "no data in backend"


@hookimpl
def babe_configure(settings: Any) -> None:
    """Check the section's keys and values (no file is read and no request made: that is preflight's job)."""
    if NAME in (getattr(settings, "plugins", None) or {}):
        validate(settings.plugin_settings(NAME))


@hookimpl
def babe_preflight(settings: Any, context: Any) -> list[str] | None:
    config = load(settings)
    if config is None:
        return None
    return checks.problems(context, config)


@hookimpl
def babe_before_create(settings: Any, context: Any, plan: Any) -> None:
    """Refuse to post HITs whose page would lose its data or never submit (also on --dry-run)."""
    problems = babe_preflight(settings, context)
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        raise Veto(f"not posting, {count} (babe doctor lists them): " + " | ".join(problems))


@hookimpl
def babe_before_approve(settings: Any, assignments: Any) -> list[tuple[str, str]] | None:
    """Hold back every assignment with no row in the backend: paying for lost data is the mistake to stop.

    With `review.hold_failed_checks` also every one whose attention checks failed; that hold stays
    under `approve_without_data` (which is about missing data, not about failed checks).
    """
    config = load(settings)
    if config is None or not assignments:
        return None
    hold_checks = config.review.hold_failed_checks
    if config.approve_without_data and not hold_checks:
        return None
    table, _ = client.fetch(config)
    matched = matching.match(table, assignments, _platform(settings), config.experiment_id)
    holds: list[tuple[str, str]] = []
    if not config.approve_without_data:
        if matched.problem:
            raise UsageError(f"{matched.problem}, or pass --approve-without-data")
        holds += [(a.assignment_id, HOLD_REASON) for a in assignments if a.assignment_id not in matched.rows]
    if hold_checks:
        holds += attention.holds(attention.Checker(table, config.review.attention_checks), matched.rows, assignments)
    return holds


@hookimpl
def babe_review_data(settings: Any, assignments: Any) -> ReviewData | None:
    """Put the data beside the decision: a reviewer judges responses and reaction times, not just timings.

    One fetch per call: the page asks again on every refresh, and a stale table would show data
    for a submission approve then holds (or the reverse).
    """
    config = load(settings)
    if config is None:
        return None
    table, _ = client.fetch(config)
    return review.review_data(config, table, assignments or [], _platform(settings))


def _platform(settings: Any) -> str:
    return getattr(settings, "platform", "mturk") or "mturk"


@hookimpl
def babe_status(settings: Any, status: Any) -> dict[str, Any] | None:
    """The backend's data rows per HIT (`backend_rows`) and its submissions (`backend_submissions`).

    On Prolific the rows are counted per study by their `study_id`; data without one (_babe's
    Prolific mode stores only `prolific_id`) belongs to the experiment's only study when it has
    one study, and is counted nowhere when it has several (which study it came from is unknown).
    """
    config = load(settings)
    if config is None:
        return None
    table, _ = client.fetch(config)
    if getattr(settings, "platform", "mturk") == "prolific":
        per_hit = table.rows_per_hit(STUDY_COLUMNS)
        if table.index(STUDY_COLUMNS) is None and len(status.hits) == 1:
            per_hit = {status.hits[0].hit_id: len(table.rows)}
    else:
        per_hit = table.rows_per_hit()
    return {
        "backend_rows": {hit.hit_id: per_hit.get(hit.hit_id, 0) for hit in status.hits},
        "backend_submissions": table.submissions(),
    }


@hookimpl
def babe_fetch_results(settings: Any, destination: Any) -> Path | None:
    """Write the results CSV to `destination` (the caller renames it into place); None when not configured.

    A table without rows is written too (header only, or empty): `babe results` decides what no data means.
    """
    config = load(settings)
    if config is None:
        return None
    table, _ = client.fetch(config)
    path = Path(destination)
    path.write_text(table.to_csv(), encoding="utf-8", newline="")
    return path

