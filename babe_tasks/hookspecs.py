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

Hooks are called one plugin at a time (see `babe_tasks.plugins.call_before` / `call_after`), last
registered first, honouring `tryfirst` / `trylast`; hook wrappers are not used by babe.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "babe_tasks"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def babe_configure(settings: Any) -> None:
    """Fires once each time the plugin manager is built, after every plugin is registered.

    `settings` is the run's validated, frozen `Settings`; a plugin reads its own section with
    `settings.plugin_settings("<name>")` and checks it here. Raise `UsageError` for a bad setting
    (exit 2, before anything is done). Any other exception is reported as a plugin failure: a
    warning, and the plugin is unregistered — fatal (exit 2) with `strict_plugins`.
    """


@hookspec(firstresult=True)
def babe_platform(settings: Any) -> Any:
    """Return the platform object for `settings.platform`, or None when it is not yours.

    Called when a step needs the platform; the first non-None answer wins. The built-in plugin
    `mturk` answers for `platform: mturk` (every target: local, sandbox, live, endpoint URL). The
    object follows the protocol in `babe_tasks.platform.base`.
    """


@hookspec
def babe_before_create(settings: Any, plan: Any) -> None:
    """Fires after `create` has planned its HITs and their cost, before any platform call.

    `plan` is the create step's `babe_tasks.planning.Plan` (its `hits` batches, `reward`,
    `qualification_requirements`, and `cost` with `rewards`, `fees`, `total`); a plugin may change
    it in place (e.g. add qualification requirements) or raise `Veto("why")` (e.g. a payment cap).
    Return value ignored. Also fired on `--dry-run`, so a dry run shows what the plugins allow.
    """


@hookspec
def babe_after_create(settings: Any, plan: Any, result: Any) -> None:
    """Fires after `create` posted its HITs (also when some failed), with the plan and the result.

    `result` is the step's `CreateResult` (`hits` posted with ids, preview URLs and expiry;
    `as_json()` gives the `--json` document). For notifications, logs, and bookkeeping of the
    lab's own; exceptions become warnings.
    """


@hookspec
def babe_before_approve(settings: Any, assignments: Any) -> list[tuple[str, str]] | None:
    """Fires when `approve` has listed the Submitted assignments it is about to approve.

    `assignments` is the list the step will approve: `babe_tasks.platform.base.AssignmentInfo`
    objects (`assignment_id`, `hit_id`, `worker_id`, `status`, `accept_time`, `submit_time`,
    `answer`); repeat workers are already held out. Return a list of `(assignment_id, reason)` to
    hold those back — they are reported as held with the reason and left Submitted for a later
    run — or None. Raise `Veto("why")` to approve nothing.
    """


@hookspec
def babe_after_approve(settings: Any, result: Any) -> None:
    """Fires after `approve`, with its result (approved, already approved, held, failed)."""


@hookspec
def babe_before_expire(settings: Any, hit_ids: list[str]) -> None:
    """Fires before `expire` expires `hit_ids`; the list may be shortened in place, or `Veto` raised."""


@hookspec
def babe_after_expire(settings: Any, result: Any) -> None:
    """Fires after `expire` (and `--delete`), with the HITs expired, deleted and not deleted (why)."""


@hookspec
def babe_before_reject(settings: Any, assignments: Any) -> list[tuple[str, str]] | None:
    """Fires when `reject` has checked the assignments it is about to reject, before any call.

    `assignments` is the list of `AssignmentInfo` to reject (all Submitted); the reason shown to
    workers is given to the step, not here. Return `(assignment_id, reason)` pairs to keep those
    un-rejected (reported as held), or raise `Veto("why")`. Also fired on `--dry-run`.
    """


@hookspec
def babe_after_reject(settings: Any, result: Any) -> None:
    """Fires after `reject`, with its result (`rejected`, `already_rejected`, `held`, `failed`, `reason`)."""


@hookspec
def babe_before_bonus(settings: Any, payments: Any) -> None:
    """Fires when `bonus` has validated every payment and worked out the fees, before paying any.

    `payments` is the list of `babe_tasks.steps.bonus.Payment` still to pay (frozen: `worker_id`,
    `assignment_id`, `hit_id`, `amount`, `fee`, `reason`, `token`, `resumed` — True for a payment
    an earlier run started), already without those the ledger shows as paid. Raise `Veto("why")` to
    pay nothing (e.g. a payment cap); the list may be shortened in place to hold some back. Also
    fired on `--dry-run`.
    """


@hookspec
def babe_after_bonus(settings: Any, result: Any) -> None:
    """Fires after `bonus`, with its result (paid, already paid, failed, total)."""


@hookspec
def babe_before_extend(settings: Any, plan: Any) -> None:
    """Fires when `extend` has planned the extension and its cost, before any platform call.

    `plan` is `babe_tasks.steps.extend.ExtendPlan` (per HIT: the assignments and time to add, or the
    new HITs `--split` will post; `cost` with `rewards`, `fees`, `total`). May be changed in place,
    or `Veto("why")` raised.
    """


@hookspec
def babe_after_extend(settings: Any, result: Any) -> None:
    """Fires after `extend`, with the HITs extended and the HITs posted by `--split`."""


@hookspec
def babe_vetoed(settings: Any, step: str, plugin: str | None, message: str) -> None:
    """Fires when a before-hook stopped `step` (`create`, `approve`, …) with a veto or a crash.

    For notifications ("payment-cap stopped create: …"); the step has done nothing. Exceptions
    become warnings and never change the exit code 3.
    """


@hookspec
def babe_cost(settings: Any, report: Any) -> dict[str, Any] | None:
    """Fires when `cost` has worked out a cost report; return extra fields to show, or None.

    `report` carries what is being costed (`kind`: create, extend, bonus or experiment), its
    `parts` (label → amount), its money (`total`, and for the experiment `committed`, `spent`) and
    `extra` (what plugins added). A payment cap shows each cap and what is left here. Exceptions
    become warnings.
    """


@hookspec
def babe_status(settings: Any, status: Any) -> dict[str, Any] | None:
    """Fires when `status` has gathered its numbers; return extra fields to show, or None.

    `status` is the status result (per HIT counts, totals, money). The returned dict's items are
    added to the JSON document and shown as extra lines (e.g. `{"backend_submissions": 17}`).
    Exceptions become warnings: a status report never fails because of a plugin.
    """


@hookspec
def babe_describe(settings: Any) -> dict[str, Any] | None:
    """What this plugin is configured to do, for `babe plugins` — secrets redacted — or None.

    Called only by the plugins listing; no side effects. Return a small JSON-able dict (e.g.
    `{"webhook": "https://hooks.slack.com/…", "events": [...]}`); never a secret in clear.
    Exceptions become warnings.
    """


@hookspec(firstresult=True)
def babe_fetch_results(settings: Any, destination: Any) -> Any:
    """Fetch the experiment's results (e.g. the _babe backend's CSV) into `destination` (a Path).

    `destination` is the file to write: a hidden temporary name inside `results/`, which
    `babe results` checks (a CSV with a header), optionally anonymises, and only then publishes
    under its final name, so a failed download never leaves a partial file. A header-only or empty
    file means "no data yet". Return the Path written, or None when this plugin cannot fetch for
    this experiment; the first non-None answer wins. Raise a `BabeError` for a backend failure.
    """


@hookspec
def babe_preflight(settings: Any) -> list[str] | None:
    """Return problems that would spoil a run (one line each, with the fix), or None.

    Called by `doctor`; e.g. "deployMethod is MTurkSandbox but target is live".
    Checks only: no side effects, no spending calls.
    """
