"""`babe lab`: the lab's view of its shared ledger — experiments, state, work and money by member and month.

Thin: flags → `Settings`, `babe_tasks.steps.lab.run` (ledger only, no platform call), then one
JSON document with `--json`, else rich tables like `babe status`. Heavy imports stay inside the
body: `babe --list` imports this module.
"""

from __future__ import annotations

from ..taskkit import babe_task


@babe_task(
    help={
        "target": "only this target's experiments and money: local, sandbox or live (default: every target in the ledger)",
        "month": "only money recorded in this UTC calendar month, and the experiments with some: YYYY-MM, e.g. 2026-12",
    }
)
def lab(c, json=False, target=None, month=None):
    """The lab's experiments from its ledger: platform, state, assignments, money spent and committed; totals by member and month."""
    from .. import output
    from ..plugins import plugin_manager
    from ..settings import Settings
    from ..steps import lab as step

    settings = Settings.build(c, json=json, target=target)
    pm = plugin_manager(settings)
    try:
        # Each HIT's platform prices its rows: MTurk's rules need no call, another platform is built to ask.
        view = step.run(settings, pm.context.pricing_for, target=target, month=month)
    finally:
        pm.context.close()
    output.emit(settings, view.as_json(), lambda console: render(console, view))


def render(console, view) -> None:
    from ..money import fmt
    from .lifecycle import _table

    def shown(currency: str, value) -> str:
        return f"{view.symbols.get(currency, currency + ' ')}{fmt(value)}"

    if view.scope == "folder":
        console.print(f"This folder's own ledger ({view.ledger}), not a lab's: set ledger_url (BABE_LEDGER_URL) to see the lab's.")
    else:
        console.print(f"The lab's ledger {view.ledger}" + (f", money recorded in {view.month} (UTC)" if view.month else ""))
    if view.scope == "folder" and view.month:
        console.print(f"Money recorded in {view.month} (UTC).")
    if not view.experiments:
        console.print("No experiments" + (f" with money recorded in {view.month}." if view.month else " posted yet."))
        return
    table = _table("Experiments")
    for column in ("experiment", "target", "platform", "state"):
        table.add_column(column, no_wrap=True)
    for column in ("assignments", "submitted", "approved", "rejected", "spent", "committed"):
        table.add_column(column, justify="right")
    table.add_column("members")
    for row in view.experiments:
        table.add_row(
            row.experiment, row.target, row.platform, row.state, str(row.assignments), str(row.submitted),
            str(row.approved), str(row.rejected), shown(row.money.currency, row.money.spent),
            shown(row.money.currency, row.money.committed), ", ".join(m or "-" for m in row.members),
        )
    console.print(table)
    for title, scope, label in (("By member", view.by_member, "member"), ("By month (UTC)", view.by_month, "month")):
        table = _table(title)
        for column in (label, "target"):
            table.add_column(column, no_wrap=True)
        table.add_column("spent", justify="right")
        table.add_column("committed", justify="right")
        for (name, target, currency), money in scope.items():
            table.add_row(name or "-", target, shown(currency, money.spent), shown(currency, money.committed))
        for (target, currency), money in view.totals.items():
            table.add_row("total", target, shown(currency, money.spent), shown(currency, money.committed), style="bold")
        console.print(table)


def report_page(c, *, out=None, json=False, target=None, month=None) -> None:
    """`babe report --lab`: the lab's view as one HTML page, `reports/lab.html` (or `lab-<month>.html`)."""
    from pathlib import Path

    from .. import output
    from ..plugins import plugin_manager
    from ..settings import Settings
    from ..steps import lab as step

    settings = Settings.build(c, json=json, target=target)
    pm = plugin_manager(settings)
    try:
        view = step.run(settings, pm.context.pricing_for, target=target, month=month)
    finally:
        pm.context.close()
    directory = Path(out).expanduser() if out else Path(settings.folder) / "reports"
    if not directory.is_absolute():
        directory = (Path.cwd() / directory).resolve()
    path = step.write_page(view, directory)
    document = {"path": path, **view.as_json()}
    output.emit(settings, document, lambda console: console.print(
        f"Wrote {path}: {len(view.experiments)} experiment(s) from {'the lab' if view.scope == 'lab' else 'this folder'}'s ledger."
    ))
