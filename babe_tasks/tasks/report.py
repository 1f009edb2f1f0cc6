"""`babe report`: a self-contained HTML page per experiment, from the ledger (no platform call)."""

from __future__ import annotations

from ..taskkit import babe_task


@babe_task(
    help={
        "all": "one page for every experiment in this folder's ledger on the target, not only this one",
        "out": "write the pages into this folder (default: reports/ in the experiment folder)",
        "target": "the target whose HITs are reported: local (default), sandbox or live",
    }
)
def report(c, all=False, out=None, json=False, target=None):
    """Write reports/<experiment>-<target>.html: submissions, reviews, money by day, completion times."""
    from .. import output
    from ..money import fmt
    from ..settings import Settings
    from ..steps import report as step

    settings = Settings.build(c, json=json, target=target)
    result = step.run(settings, every=all, out=out)

    def render(console) -> None:
        for written in result.reports:
            console.print(
                f"Wrote {written.path}: {written.submitted} of {written.posted} assignments in, "
                f"{written.approved} approved, {written.rejected} rejected, ${fmt(written.spent)} spent."
            )

    output.emit(settings, result.as_json(), render)
