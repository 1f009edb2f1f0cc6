"""`babe doctor`: the checklist of everything that would spoil a run (`babe_tasks.steps.doctor`).

Thin like the other tasks; imported by `babe --list`, so nothing heavy at import time.
"""

from __future__ import annotations

from ..taskkit import babe_task

#: How each check's status is shown (fixed width, so the names line up in a terminal and a log).
MARKS = {"ok": "ok  ", "failed": "FAIL", "skipped": "skip"}


@babe_task(
    common=True,
    help={
        "json": 'print one JSON document: {"ok", "experiment", "target", "checks": [{"check", "status", "detail", "plugin"}]} (plus "error" on failure)',
    }
)
def doctor(c, **common):
    """Check settings, plugins, credentials, the platform, the balance and every plugin's preflight."""
    from invoke.exceptions import Exit

    from .. import output
    from ..plugins import plugin_manager
    from ..settings import Settings
    from ..steps import doctor as step

    common["strict_plugins"] = common["strict_plugins"] or None
    settings = Settings.build(c, **common)
    result = step.run(settings, plugin_manager(settings))

    def render(console) -> None:
        console.print(f"Doctor for experiment {settings.experiment} on {settings.target} ({settings.folder})", markup=False)
        width = max(len(check.name) for check in result.checks)
        for check in result.checks:
            console.print(f"  {MARKS.get(check.status, check.status)}  {check.name:<{width}}  {check.detail}", markup=False)
        failed = len(result.failed)
        if failed:
            console.print(f"{failed} of {len(result.checks)} checks failed.", markup=False)
        else:
            console.print(f"All {len(result.checks)} checks passed.", markup=False)

    output.emit(settings, step.as_document(result), render)
    if result.exit_code:
        output.error_line(result.summary())
        raise Exit(code=result.exit_code)
