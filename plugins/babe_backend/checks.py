"""Preflight: what would make a run collect no data or pay for nothing, found before a HIT is posted.

Nothing in _babe notices these (docs/plugin-babe-backend.md, "Preflight rules"): the page hard-codes where it submits from
`deployMethod`, so a live HIT whose page says `MTurkSandbox` sends its form to the wrong MTurk, and
`debug`, `directLink`, `Prolific` or `localServer` submit no MTurk form at all — workers finish and
their assignment never arrives. A `serverAppURL` that does not end in `/api/submit_experiment/`
posts the trials nowhere, and an experiment the backend does not know, or has switched off, loses
every submission ("submissions … are just lost"). Each problem is one line with its fix.

On Prolific (`platform: prolific`) the page must say `deployMethod: "Prolific"` and send the
participant to `prolificURL` = `https://app.prolific.com/submissions/complete?cc=<CODE>` with the
study's completion code: any other URL (a typo, an old code, the retired app.prolific.ac address)
leaves participants without a way to submit, so nobody is ever paid. The code is the run's
platform's (`completion_code` of the platform object the hook context holds; `babe-prolific code`
prints it): this plugin imports no other plugin. A platform without one, or one that cannot be
built, leaves only the URL's shape to check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babe_tasks.errors import BabeError

from . import client
from .config import (
    DEPLOY_METHODS,
    SECTION,
    SUBMIT_SUFFIX,
    BackendConfig,
    missing_message,
    redact,
)

#: deployMethod each target's HITs need (local accepts either MTurk method).
EXPECTED = {"live": ("MTurk",), "sandbox": ("MTurkSandbox",), "local": ("MTurk", "MTurkSandbox")}
NO_FORM = ("debug", "directLink", "Prolific", "localServer")
PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete?cc="


def problems(context: Any, config: BackendConfig) -> list[str]:
    """Every problem found, one line each; empty when the experiment and its backend are ready.

    `context` is the hook context (`babe_tasks.context.HookContext`): its settings, and its
    platform for a completion code.
    """
    found: list[str] = []
    check = PAGE_CHECKS.get(getattr(context.settings, "platform", None) or "mturk")
    if check is not None:
        found.extend(check(context, config))
    missing = [name for name in ("experiment_id", "server_app_url") if not getattr(config, name)]
    if missing:
        found.append(missing_message(config, missing))
        return found
    url = config.server_app_url or ""
    if not url.endswith(SUBMIT_SUFFIX):
        found.append(
            f"serverAppURL {redact(url)} ({config.where('server_app_url')}) does not end in {SUBMIT_SUFFIX}: the page "
            f"would post its data nowhere; set it to the backend's address followed by {SUBMIT_SUFFIX.lstrip('/')}"
        )
        return found
    found.extend(_backend_state(config))
    return found


def _deploy_method(target: str, config: BackendConfig) -> list[str]:
    method = config.deploy_method
    where = config.where("deploy_method")
    expected = EXPECTED.get(target, ("MTurk", "MTurkSandbox"))
    want = " or ".join(expected)
    if not method:
        return [f"deployMethod is not set ({where}): set it to {want} for target {target}"]
    if method in NO_FORM:
        return [
            (
                f"deployMethod is {method} ({where}): on MTurk the page would never submit the assignment; set it to "
                f"{want} for target {target}"
            )
        ]
    if method not in DEPLOY_METHODS:
        return [f"deployMethod {method!r} ({where}) is not a _babe deployMethod: set it to {want} for target {target}"]
    if method not in expected:
        other = {"MTurk": "live", "MTurkSandbox": "sandbox"}[method]
        return [
            (
                f"deployMethod is {method} ({where}) but target is {target}: the page would submit to MTurk's {other}, "
                f"not where the HITs are; set deployMethod to {want}, or use --target {other}"
            )
        ]
    return []


def completion_code(context: Any) -> str | None:
    """The completion code the run's platform gives this experiment's study (its `completion_code`),
    or None when the platform has none or cannot be built (its own error is its step's to report)."""
    try:
        code_of = getattr(context.platform, "completion_code", None)
        return code_of() if callable(code_of) else None
    except BabeError:
        return None


def _mturk(context: Any, config: BackendConfig) -> list[str]:
    """deployMethod MTurk or MTurkSandbox, as the target needs."""
    return _deploy_method(context.settings.target, config)


def _prolific(context: Any, config: BackendConfig) -> list[str]:
    """deployMethod Prolific, and prolificURL carrying the study's completion code."""
    method = config.deploy_method
    code = completion_code(context)
    expected = PROLIFIC_COMPLETE + (code or "<the study's completion code>")
    if method != "Prolific":
        shown = f"is {method}" if method else "is not set"
        return [
            (
                f"deployMethod {shown} ({config.where('deploy_method')}) but the platform is prolific: set it to "
                f'Prolific (with "prolificURL": "{expected}") so the page sends participants back to Prolific'
            )
        ]
    url = (config.prolific_url or "").strip()
    where = config.where("prolific_url")
    if not url:
        return [f"prolificURL is not set ({where}): set it to {expected} (babe-prolific code prints it)"]
    if not url.startswith(PROLIFIC_COMPLETE):
        return [
            (
                f"prolificURL {redact(url)} ({where}) is not Prolific's completion address: participants could not "
                f"submit; set it to {expected}"
            )
        ]
    given = url[len(PROLIFIC_COMPLETE) :]
    if code is not None and given != code:
        return [
            (
                f"prolificURL ({where}) carries completion code {given!r}, but the study's is {code!r}: participants "
                f"would submit a code the study does not know; set it to {expected}"
            )
        ]
    return []


def _backend_state(config: BackendConfig) -> list[str]:
    try:
        state = client.check(config)
    except BabeError as exc:
        return [str(exc)]
    if state == "inactive":
        return [
            (
                f"experiment {config.experiment_id} is inactive on {config.shown_base_url}: every submission would be "
                f"lost; activate it in the backend ({config.shown_base_url}/experiments/{config.experiment_id}/toggle)"
            )
        ]
    if state == "unknown":
        return [
            (
                f"experiment {config.experiment_id} does not exist on {config.shown_base_url}: check experimentID "
                f"({config.where('experiment_id')}) or set {SECTION}.experiment_id"
            )
        ]
    return []


#: What a page must say for each platform _babe sends participants back to, by `babe.platform`
#: (another platform's pages are its own plugin's to check).
PAGE_CHECKS: dict[str, Callable[[Any, BackendConfig], list[str]]] = {"mturk": _mturk, "prolific": _prolific}
