"""The hooks a babe plugin may implement: the one place their calling conventions are written down.

A plugin is a module (or object) with functions marked `@hookimpl` (from `babe_tasks.plugins`),
named like the specs below and taking any subset of their keyword arguments. The pattern:

- `babe_before_<step>` runs after the step has made its plan and before it touches the platform.
  It may change the plan in place, hold items back (approve), or raise `Veto("why")` to stop the
  step: nothing is done and the run exits with code 3 naming the plugin. Any other exception
  raised there also stops the step with exit 3, as "plugin <name> failed in <hook>".
- `babe_after_<step>` runs after the step, with what happened. It observes; an exception there is
  printed as a warning naming the plugin, never undoes or stops the step, and the other plugins'
  after-hooks still run.
- The rest contribute something: the platform, extra status fields, results, preflight problems.

Every hook receives `settings`: the run's validated, frozen `babe_tasks.settings.Settings`
(`settings.experiment`, `settings.target`, `settings.folder`, …; the plugin's own section of
`invoke.yaml` is `settings.plugin_settings("<name>")`).

Every hook also receives `context`: the run's `babe_tasks.context.HookContext`, one per plugin
manager, so a plugin never builds a plugin manager of its own nor opens the ledger file:
- `context.settings` — the same `Settings`;
- `context.platform` — the run's platform object (the step's own while the step holds one; else
  built on first use through `babe_platform`, not connected: call `connect()` before a call that
  needs credentials);
- `context.pricing` — the platform's fee rules and currency (`babe_tasks.money.Pricing`), and
  `context.pricing_for(name)` for a ledger row of another platform;
- `context.nouns` — what the platform calls a HIT, singular and plural (`("study", "studies")`);
- `context.ledger` — the experiment's ledger read-only (`babe_tasks.ledger.LedgerView`): HITs,
  assignments, payments, bonuses, extensions, completion codes, and money committed and spent by
  experiment, by day and in total (`context.ledger.money(...)`, exact `Decimal` sums);
- `context.watching` — True while `babe watch` runs the step (it announces milestones itself).

A hook function names only the arguments it needs (most need neither).

Hooks are called through pluggy (see `babe_tasks.plugins.call_before` / `call_after`), last
registered first, honouring `tryfirst` / `trylast`; a failure names its plugin, and new-style
wrappers (`@hookimpl(wrapper=True)`) run around the call (docs/plugins.md).

Each docstring below ends with an example; `docs/hooks.md` is generated from them
(`python -m babe_tasks.hookref --write docs/hooks.md`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # the classes the hooks receive; imported only for readers and type checkers
    from decimal import Decimal
    from pathlib import Path

    from .context import HookContext
    from .ledger import LedgerView
    from .money import Pricing
    from .planning import Plan
    from .platform import Platform
    from .platform.base import AssignmentInfo
    from .reviewdata import ReviewData
    from .settings import Settings
    from .steps.approve import ApproveResult
    from .steps.bonus import BonusResult, Payment
    from .steps.cost import CostReport
    from .steps.create import CreateResult
    from .steps.doctor import Check
    from .steps.expire import ExpireResult
    from .steps.extend import ExtendPlan, ExtendResult
    from .steps.reject import RejectResult
    from .steps.status import StatusResult
    from .steps.watch import Milestone

PROJECT = "babe_tasks"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def babe_configure(settings: Settings, context: HookContext) -> None:
    """Fires once each time the plugin manager is built, after every plugin is registered.

    `settings` is the run's validated, frozen `Settings`; a plugin reads its own section with
    `settings.plugin_settings("<name>")` and checks it here. Raise `UsageError` for a bad setting
    (exit 2, before anything is done). Any other exception is reported as a plugin failure: a
    warning, and the plugin is unregistered — fatal (exit 2) with `strict_plugins`.

    Example::

        from babe_tasks import hookimpl
        from babe_tasks.durations import DurationError, parse_duration
        from babe_tasks.errors import UsageError

        @hookimpl
        def babe_configure(settings):
            minimum = settings.plugin_settings("min_time").get("minimum")
            if minimum is not None:
                try:
                    parse_duration(minimum)
                except DurationError as exc:
                    raise UsageError(f"babe.plugins.min_time.minimum {exc}") from None
    """


@hookspec(firstresult=True)
def babe_platform(settings: Settings, context: HookContext) -> Platform | None:
    """Return the platform object for `settings.platform`, or None when it is not yours.

    Called when a step needs the platform; the first non-None answer wins. This hook is what
    `context.platform` is built with, so it must not ask for it (a RuntimeError says so). The `mturk` and
    `prolific` plugins (entry point group `babe_tasks.platforms`) answer for their platforms. The
    object follows the protocol in `babe_tasks.platform.base`: its `capabilities` (what it can do,
    as data), the methods every platform has (`post`, `get_hit`, `approve`, ...), and optionally
    its own `pricing`, `check_plan`, `approve_many`, `send_bonuses`, `describe_plan`,
    `describe_created`, `created_json` and `event_source` (docs/platforms.md). Building it must
    make no call (`connect()` and the first request come later): a step may build it only to read
    its capabilities. A `BabeError` raised here (e.g. `UsageError` for a platform that is
    misconfigured) stops the step with its own exit code; any other exception stops it with
    exit 3 naming the plugin.

    Example::

        from babe_tasks import hookimpl

        @hookimpl
        def babe_platform(settings):
            if settings.platform != "lab-pool":
                return None
            # Imported only when chosen: every other run stays as fast as before.
            from lab_pool.platform import LabPool  # Capabilities(title="the lab pool", ...)

            return LabPool(settings)
    """


@hookspec
def babe_before_create(settings: Settings, context: HookContext, plan: Plan) -> None:
    """Fires after `create` has planned its HITs and their cost, before any platform call.

    `plan` is the create step's `babe_tasks.planning.Plan` (its `hits` batches, `reward`,
    `qualification_requirements`, and `cost` with `rewards`, `fees`, `total`); a plugin may change
    it in place (e.g. add qualification requirements) or raise `Veto("why")` (e.g. a payment cap).
    Return value ignored. Also fired on `--dry-run`, so a dry run shows what the plugins allow.

    Example::

        from decimal import Decimal

        from babe_tasks import Veto, hookimpl

        @hookimpl
        def babe_before_create(settings, plan):
            cap = Decimal(str(settings.plugin_settings("capper").get("limit", "50.00")))
            if plan.cost.total > cap:
                raise Veto(f"this run costs ${plan.cost.total}, more than the ${cap} cap")
    """


@hookspec
def babe_after_create(settings: Settings, context: HookContext, plan: Plan, result: CreateResult) -> None:
    """Fires after `create` posted its HITs (also when some failed), with the plan and the result.

    `plan` is the plan `babe_before_create` saw, now with its ids; `result` is the step's
    `CreateResult` (`hits` posted with ids, preview URLs and expiry — None where the platform's
    HITs do not close by time, a Prolific study; `as_json()` gives the `--json` document). For
    notifications, logs, and bookkeeping of the lab's own; exceptions become warnings. Not fired
    on `--dry-run`, nor when the same create had posted its batch already (nothing is posted).

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_create(settings, plan, result):
            print(f"{settings.experiment}: {len(result.hits)} HIT(s) posted, ${plan.cost.total} committed", file=sys.stderr)
    """


@hookspec
def babe_before_approve(
    settings: Settings, context: HookContext, assignments: list[AssignmentInfo]
) -> list[tuple[str, str]] | None:
    """Fires when `approve` has listed the Submitted assignments it is about to approve.

    `assignments` is the list the step will approve: `babe_tasks.platform.base.AssignmentInfo`
    objects (`assignment_id`, `hit_id`, `worker_id`, `status`, `accept_time`, `submit_time`,
    `answer`); repeat workers, and work done faster than `hold_faster_than`, are already held
    out. Return a list of `(assignment_id, reason)` to
    hold those back — they are reported as held with the reason and left Submitted for a later
    run — or None. Raise `Veto("why")` to approve nothing.

    Example::

        from babe_tasks import hookimpl

        @hookimpl
        def babe_before_approve(settings, assignments):
            blocked = set(settings.plugin_settings("blocklist").get("workers", []))
            return [(a.assignment_id, "worker is on the lab's blocklist") for a in assignments if a.worker_id in blocked]
    """


@hookspec
def babe_after_approve(settings: Settings, context: HookContext, result: ApproveResult) -> None:
    """Fires after `approve` has run (not on `--dry-run`), with what it did.

    `result` is the step's `ApproveResult`: `approved` and `already_approved` (counts), `held`
    (`[{"assignment_id", "reason"}]`), `failed` (`[{"assignment_id", "error"}]`), `assignments`
    (the `AssignmentInfo` approved now); `as_json()` gives the `--json` document. It
    observes: exceptions become warnings naming the plugin, and the approvals stand. During
    `babe watch` (`context.watching`) progress is announced once per milestone (`babe_milestone`),
    so a plugin that messages every approve may stay quiet.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_approve(settings, context, result):
            if result.held and not context.watching:  # a watch reports its own progress
                print(f"{len(result.held)} assignment(s) held for review", file=sys.stderr)
    """


@hookspec
def babe_before_expire(settings: Settings, context: HookContext, hit_ids: list[str]) -> None:
    """Fires before `expire` expires `hit_ids`; the list may be shortened in place, or `Veto` raised.

    `hit_ids` are the HITs `expire` is about to handle: the experiment's HITs, or those given with
    `--hit` (HITs already closed are skipped later). Return value ignored. `Veto("why")` leaves
    every HIT as it is (exit 3).

    Example::

        from babe_tasks import hookimpl

        @hookimpl
        def babe_before_expire(settings, hit_ids):
            keep = set(settings.plugin_settings("keep-open").get("hits", []))
            hit_ids[:] = [hit_id for hit_id in hit_ids if hit_id not in keep]
    """


@hookspec
def babe_after_expire(settings: Settings, context: HookContext, result: ExpireResult) -> None:
    """Fires after `expire` (and `--delete`), with the HITs expired, deleted and not deleted (why).

    `result` is the step's `ExpireResult`: `expired`, `deleted`, `already_closed` (HIT ids),
    `not_deleted` (`[{"hit_id", "reason"}]`) and `failed`. It observes: exceptions become
    warnings, and the HITs stay expired.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_expire(settings, result):
            print(f"{settings.experiment}: {len(result.expired)} HIT(s) stopped", file=sys.stderr)
    """


@hookspec
def babe_before_reject(
    settings: Settings, context: HookContext, assignments: list[AssignmentInfo]
) -> list[tuple[str, str]] | None:
    """Fires when `reject` has checked the assignments it is about to reject, before any call.

    `assignments` is the list of `AssignmentInfo` to reject (all Submitted); the reason shown to
    workers is given to the step, not here. Return `(assignment_id, reason)` pairs to keep those
    un-rejected (reported as held), or raise `Veto("why")`. Also fired on `--dry-run`.

    Example::

        from babe_tasks import Veto, hookimpl

        @hookimpl
        def babe_before_reject(settings, assignments):
            if len(assignments) > 10:
                raise Veto(f"{len(assignments)} rejections at once: review them and reject in batches of 10")
    """


@hookspec
def babe_after_reject(settings: Settings, context: HookContext, result: RejectResult) -> None:
    """Fires after `reject`, with its result (`rejected`, `already_rejected`, `held`, `failed`, `reason`).

    `result` is the step's `RejectResult`: `rejected` (the `AssignmentInfo` rejected now),
    `already_rejected` (ids), `held` and `failed` (dicts with `assignment_id`), `reason` (what
    the workers read). It observes: exceptions become warnings; a rejection is never undone. Not
    fired on `--dry-run`.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_reject(settings, result):
            for assignment in result.rejected:
                print(f"rejected {assignment.assignment_id} of worker {assignment.worker_id}", file=sys.stderr)
    """


@hookspec
def babe_before_bonus(settings: Settings, context: HookContext, payments: list[Payment], pricing: Pricing) -> None:
    """Fires when `bonus` has validated every payment and worked out the fees, before paying any.

    `payments` is the list of `babe_tasks.steps.bonus.Payment` still to pay (frozen: `worker_id`,
    `assignment_id`, `hit_id`, `amount`, `fee`, `reason`, `token`, `resumed` — True for a payment
    an earlier run started), already without those the ledger shows as paid. `pricing` is the
    platform's fee rules and currency (`babe_tasks.money.Pricing`: `symbol`, `currency`,
    `bonus_fee`, ...), so a plugin can count and show the money as the platform bills it; a plugin
    that does not need it leaves it out of its signature. Raise `Veto("why")` to
    pay nothing (e.g. a payment cap); the list may be shortened in place to hold some back. Also
    fired on `--dry-run`. Return value ignored.

    Example::

        from decimal import Decimal

        from babe_tasks import Veto, hookimpl

        @hookimpl
        def babe_before_bonus(settings, payments):
            large = [p for p in payments if p.amount > Decimal("5.00")]
            if large:
                raise Veto(f"{len(large)} bonus(es) above $5.00: pay those by hand after a second look")
    """


@hookspec
def babe_after_bonus(settings: Settings, context: HookContext, result: BonusResult) -> None:
    """Fires after `bonus`, with its result (paid, already paid, failed, total).

    `result` is the step's `BonusResult`: `paid`, `already_paid` and `held` (lists of `Payment`),
    `failed` (`(Payment, error)` pairs), `total` (bonuses plus fees paid now, a `Decimal`). It
    observes: exceptions become warnings, and what was paid stays paid. Not fired on `--dry-run`.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_bonus(settings, result):
            print(f"paid {len(result.paid)} bonus(es), ${result.total} with fees", file=sys.stderr)
    """


@hookspec
def babe_before_extend(settings: Settings, context: HookContext, plan: ExtendPlan) -> None:
    """Fires when `extend` has planned the extension and its cost, before any platform call.

    `plan` is `babe_tasks.steps.extend.ExtendPlan` (per HIT: the assignments and time to add, or the
    new HITs `--split` will post; `cost` with `rewards`, `fees`, `total`). May be changed in place,
    or `Veto("why")` raised. Return value ignored.

    Example::

        from decimal import Decimal

        from babe_tasks import Veto, hookimpl

        @hookimpl
        def babe_before_extend(settings, plan):
            if plan.cost.total > Decimal("100.00"):
                raise Veto(f"this extension costs ${plan.cost.total}: ask the PI first")
    """


@hookspec
def babe_after_extend(settings: Settings, context: HookContext, result: ExtendResult) -> None:
    """Fires after `extend`, with the HITs extended and the HITs posted by `--split`.

    `result` is the step's `ExtendResult`: `plan` (the `ExtendPlan`), `cost` (what this run was to
    spend), `extended` and `already_done` (HIT ids), `new_hits` (posted by `--split`), `failed`. It
    observes: exceptions become warnings, and the extension stands. Not fired on `--dry-run`.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_after_extend(settings, result):
            print(f"extended {len(result.extended)} HIT(s) for up to ${result.cost.total}", file=sys.stderr)
    """


@hookspec
def babe_vetoed(settings: Settings, context: HookContext, step: str, plugin: str | None, message: str) -> None:
    """Fires when a before-hook stopped `step` (`create`, `approve`, …) with a veto or a crash.

    For notifications ("payment-cap stopped create: …"); the step has done nothing. `plugin` is
    the name of the plugin that stopped it (None if unknown) and `message` its one-line reason.
    Exceptions become warnings and never change the exit code 3.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_vetoed(settings, step, plugin, message):
            print(f"{settings.experiment}: {plugin} stopped {step}: {message}", file=sys.stderr)
    """


@hookspec
def babe_cost(settings: Settings, context: HookContext, report: CostReport) -> dict[str, Any] | None:
    """Fires when `cost` has worked out a cost report; return extra fields to show, or None.

    `report` carries what is being costed (`kind`: create, extend, bonus or experiment), its
    `parts` (label → amount), its money (`total`, and for the experiment `committed`, `spent`) and
    `extra` (what plugins added). A payment cap shows each cap and what is left here. Exceptions
    become warnings.

    Example::

        from decimal import Decimal

        from babe_tasks import hookimpl

        @hookimpl
        def babe_cost(settings, report):
            if report.kind != "experiment":
                return None
            budget = Decimal(str(settings.plugin_settings("budget").get("grant", "500.00")))
            return {"grant_left": budget - report.total}
    """


@hookspec
def babe_milestone(settings: Settings, context: HookContext, milestone: Milestone, status: StatusResult) -> None:
    """Fires when a watched experiment (`babe watch`) reaches a milestone: once per milestone, never per refresh.

    `settings` are the run's settings. `milestone` is a `babe_tasks.steps.watch.Milestone`: `name`
    (`approved_25`, `approved_50`, `approved_75`, `goal_reached`, `hits_closed`), `text` (one line
    for people), `approved`, `goal` and `at`. `status` is the latest status result (`hits`,
    `totals`, `spent`, `committed`). Each milestone fires once per experiment, target and goal,
    also across watch runs (`.babe/watch.sqlite`); when one refresh crosses several progress
    milestones only the highest fires. It observes: exceptions become warnings, and the watch
    goes on.

    Example::

        import sys

        from babe_tasks import hookimpl

        @hookimpl
        def babe_milestone(settings, milestone):
            print(f"{settings.experiment}: {milestone.text}", file=sys.stderr)
    """


@hookspec
def babe_status(settings: Settings, context: HookContext, status: StatusResult) -> dict[str, Any] | None:
    """Fires when `status` has gathered its numbers; return extra fields to show, or None.

    `status` is the status result (per HIT counts, totals, money). The returned dict's items are
    added to the JSON document and shown as extra lines (e.g. `{"backend_submissions": 17}`).
    Exceptions become warnings: a status report never fails because of a plugin.

    Example::

        from babe_tasks import hookimpl

        @hookimpl
        def babe_status(settings, status):
            target = settings.plugin_settings("target").get("participants")
            if target is None:
                return None
            return {"participants_missing": max(0, int(target) - status.totals["approved"])}
    """


@hookspec
def babe_describe(settings: Settings, context: HookContext) -> dict[str, Any] | None:
    """What this plugin is configured to do, for `babe plugins` — secrets redacted — or None.

    Called only by the plugins listing; no side effects. Return a small JSON-able dict (e.g.
    `{"webhook": "https://hooks.slack.com/…", "events": [...]}`); never a secret in clear.
    Exceptions become warnings.

    Example::

        import os

        from babe_tasks import hookimpl

        @hookimpl
        def babe_describe(settings):
            token = os.environ.get("LAB_DRIVE_TOKEN", "")
            return {"folder": settings.plugin_settings("drive").get("folder"), "token": "set" if token else "missing"}
    """


@hookspec(firstresult=True)
def babe_fetch_results(settings: Settings, context: HookContext, destination: Path) -> Path | None:
    """Fetch the experiment's results (e.g. the _babe backend's CSV) into `destination` (a Path).

    Called by `babe results`. `destination` is the file to write: a hidden temporary name inside `results/`, which
    `babe results` checks (a CSV with a header), optionally anonymises, and only then publishes
    under its final name, so a failed download never leaves a partial file. A header-only or empty
    file means "no data yet". Return the Path written, or None when this plugin cannot fetch for
    this experiment; the first non-None answer wins. Raise a `BabeError` for a backend failure.

    Example::

        import shutil
        from pathlib import Path

        from babe_tasks import hookimpl

        @hookimpl
        def babe_fetch_results(settings, destination):
            source = settings.plugin_settings("shared-drive").get("csv")
            if not source:
                return None
            shutil.copyfile(Path(source).expanduser(), destination)
            return destination
    """


@hookspec
def babe_preflight(settings: Settings, context: HookContext) -> list[str] | None:
    """Return problems that would spoil a run (one line each, with the fix), or None.

    Called by `doctor`; e.g. "deployMethod is MTurkSandbox but target is live".
    Checks only: no side effects, no spending calls. An exception raised here is reported as a
    failed check naming the plugin (doctor exits 2), never as a crash.

    Example::

        from decimal import Decimal

        from babe_tasks import hookimpl

        @hookimpl
        def babe_preflight(settings):
            if settings.target == "live" and settings.reward is not None and settings.reward < Decimal("1.00"):
                return [f"reward ${settings.reward} is below the lab's $1.00 minimum on live: raise babe.reward"]
            return None
    """


@hookspec
def babe_doctor(settings: Settings, context: HookContext) -> list[Check] | None:
    """Return checks of this plugin's own for `doctor` to run before it asks the platform anything.

    Called by `doctor`, after its `plugins` check. Each is a `babe_tasks.steps.doctor.Check(name, status, detail, exit_code=2)`: `status` one
    of `OK`, `FAILED`, `SKIPPED` from that module, `exit_code` 2 for something the lab must
    configure, 4 for a service that refused or could not be reached. They are listed before the
    `platform` check: a platform plugin answers its credentials check here
    (MTurk's asks AWS STS), named "credentials" — without one, doctor says the platform needs no
    AWS credentials. Checks only: no side effects, no spending calls. An exception raised here is
    a failed check naming the plugin (doctor exits 2), never a crash. For problems with the
    experiment itself, one line each, `babe_preflight` is simpler.

    Example::

        from babe_tasks import hookimpl
        from babe_tasks.steps.doctor import FAILED, OK, Check

        @hookimpl
        def babe_doctor(settings):
            token = settings.plugin_settings("lab-backend").get("token")
            if not token:
                return [Check("lab-backend token", FAILED, "no token: set babe.plugins.lab-backend.token")]
            return [Check("lab-backend token", OK, "set")]
    """


@hookspec
def babe_before_commit(settings: Settings, context: HookContext, step: str, amount: Decimal, ledger: LedgerView) -> None:
    """Fires as `create`, `bonus` or `extend` writes down the money it is about to commit, after the
    confirmation and before any platform call: the last word on spending, exact across a lab.

    `step` is `"create"`, `"bonus"` or `"extend"`; `amount` is what it commits (a `Decimal` in the
    platform's currency, fees included: the new plan's HITs, the run's new bonuses, the added
    assignments). `ledger` is the ledger read-only *inside the transaction that writes the
    commitment*, which holds the lab-wide spending lock (`babe_tasks.ledger.Ledger.spending`): its
    sums (`ledger.money(...)`, `ledger.commitments(...)`) are exactly what every member and machine
    committed before this instant, and nobody commits more until the hook returns and the rows are
    written. Raise `Veto("why")` to write nothing: the step stops with exit 3, nothing posted or
    paid. Keep it short and never ask a person anything here: every other writer of the ledger
    waits meanwhile (the early `babe_before_<step>` hooks are for answers before the prompt). Not
    fired on `--dry-run`, nor when a step only resumes what an earlier run committed. Return value
    ignored.

    Example::

        from datetime import UTC, datetime
        from decimal import Decimal

        from babe_tasks import Veto, hookimpl

        @hookimpl
        def babe_before_commit(settings, step, amount, ledger):
            today = datetime.now(UTC).date()
            book = ledger.money(settings.experiment, settings.target, today, UTC)
            if book.committed["total"] + amount > Decimal("500.00"):
                raise Veto(f"this {step} would take the lab past its $500.00 grant")
    """


@hookspec
def babe_review_data(settings: Settings, context: HookContext, assignments: list[AssignmentInfo]) -> ReviewData | None:
    """Fires when `babe review` loads the submissions awaiting a decision: what the plugin knows of each participant.

    `assignments` are the Submitted `AssignmentInfo` under review. Return a
    `babe_tasks.reviewdata.ReviewData` — per submission id the participant's rows (the columns worth
    showing, as text), reaction times in milliseconds and attention-check outcome, and the group's
    reaction times — or None when the plugin has nothing to show. Every plugin's answer is shown,
    each as its own section, escaped. It informs; it decides nothing: to keep a submission from
    being approved, hold it in `babe_before_approve` (the page shows those reasons too). An
    exception here becomes a warning on the page naming the plugin; the review goes on without it.
    Called once when the page opens and again on every refresh, so fetch once per call.

    Example::

        from babe_tasks import hookimpl
        from babe_tasks.reviewdata import ParticipantData, ReviewData

        @hookimpl
        def babe_review_data(settings, assignments):
            notes = load_lab_notes(settings)  # the lab's own store
            return ReviewData(
                source="lab-notes",
                columns=["note"],
                participants={a.assignment_id: ParticipantData(rows=[{"note": notes[a.worker_id]}])
                              for a in assignments if a.worker_id in notes},
            )
    """
