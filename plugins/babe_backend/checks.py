"""Preflight: what would make a run collect no data or pay for nothing, found before a HIT is posted.

Nothing in _babe notices these (reference/babe.md): the page hard-codes where it submits from
`deployMethod`, so a live HIT whose page says `MTurkSandbox` sends its form to the wrong MTurk, and
`debug`, `directLink`, `Prolific` or `localServer` submit no MTurk form at all — workers finish and
their assignment never arrives. A `serverAppURL` that does not end in `/api/submit_experiment/`
posts the trials nowhere, and an experiment the backend does not know, or has switched off, loses
every submission ("submissions … are just lost"). Each problem is one line with its fix.

On Prolific (`platform: prolific`) the page must say `deployMethod: "Prolific"` and send the
participant to `prolificURL` = `https://app.prolific.com/submissions/complete?cc=<CODE>` with the
study's completion code: any other URL (a typo, an old code, the retired app.prolific.ac address)
leaves participants without a way to submit, so nobody is ever paid. The code is the Prolific
plugin's (`babe-prolific code` prints it); without that plugin installed only the URL's shape is
checked.
"""

from __future__ import annotations

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


def problems(settings: Any, config: BackendConfig) -> list[str]:
    """Every problem found, one line each; empty when the experiment and its backend are ready."""
    found: list[str] = []
    platform = getattr(settings, "platform", "mturk")
    if platform == "mturk":
        found.extend(_deploy_method(settings.target, config))
    elif platform == "prolific":
        found.extend(_prolific(settings, config))
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


def prolific_code(settings: Any) -> str | None:
    """The completion code the Prolific plugin gives this experiment's study, or None without the plugin."""
    try:
        from babe_prolific.codes import completion_code
    except ImportError:
        return None
    return completion_code(settings).code


def _prolific(settings: Any, config: BackendConfig) -> list[str]:
    """deployMethod Prolific, and prolificURL carrying the study's completion code."""
    method = config.deploy_method
    code = prolific_code(settings)
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
