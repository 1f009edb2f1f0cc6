"""`babe report`: a self-contained HTML page per experiment, from the ledger (no platform call)."""

from __future__ import annotations

from ..taskkit import babe_task


@babe_task(
    help={
        "all": "one page for every experiment in this folder's ledger on the target, not only this one",
        "out": "write the pages into this folder (default: reports/ in the experiment folder)",
        "target": "the target whose HITs (studies on Prolific) are reported: local (default), sandbox or live",
        "platform": "the platform whose HITs (or studies) are reported: mturk (default) or one a plugin provides",
        "lab": "one page of the lab's view instead (babe lab): reports/lab.html; --target: one target (default every one)",
    }
)
def report(c, all=False, out=None, json=False, target=None, platform=None, lab=False):  # noqa: A002 - the --all flag
    """Write reports/<experiment>-<target>.html: submissions, reviews, money by day, completion times."""
    if lab:
        from ..errors import UsageError
        from .lab import report_page

        if all or platform is not None:
            raise UsageError(f"--lab shows every experiment on every platform: drop {'--all' if all else '--platform'}")
        return report_page(c, out=out, json=json, target=target)
    from .. import output
    from ..money import fmt
    from ..platform import capabilities_for
    from ..plugins import plugin_manager
    from ..settings import Settings
    from ..steps import pricing_for
    from ..steps import report as step

    settings = Settings.build(c, json=json, target=target, platform=platform)
    # The platform's currency and words (built, not connected: the page makes no platform call).
    pm = plugin_manager(settings)
    capabilities = capabilities_for(settings, pm)
    symbol = pricing_for(settings, pm).symbol
    result = step.run(settings, every=all, out=out, symbol=symbol, nouns=capabilities.nouns, title=capabilities.title)

    def render(console) -> None:
        for written in result.reports:
            console.print(
                f"Wrote {written.path}: {written.submitted} of {written.posted} assignments in, "
                f"{written.approved} approved, {written.rejected} rejected, {symbol}{fmt(written.spent)} spent."
            )

    output.emit(settings, result.as_json(), render)
