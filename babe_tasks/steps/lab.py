"""lab: the lab's view of its shared ledger — every experiment, its state, work and money, by member and month.

A lab's PostgreSQL ledger (`ledger_url`) holds every member's experiments, so "what did the lab
spend this month, on which experiments, by whom" is one read of it. Everything comes from the
ledger alone (read-only, no platform call): an experiment's state from its HITs' last seen
statuses and expiries, its assignments from the statuses last seen (`babe status` refreshes
them), its money from `LedgerView.member_commitments` — the rows and the fee rules the payment cap
and `LedgerView.money` use, priced by each HIT's platform (`HookContext.pricing_for`). Spent is
what was paid (the ledger's payments, the figure `babe cost` calls spent); committed is the most
the posted work can cost (every posted assignment with its fee, every bonus with its fee).

Money is summed only within one target and one currency: play money on `local`, the sandbox's
and live dollars or pounds are never added together. Months are UTC calendar months; an amount
belongs to the month its row was recorded (a HIT's posting, a payment's booking). Without
`ledger_url` the view is the folder's own SQLite ledger, and says so.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..ledger import LedgerView
from ..platform.base import OPEN_STATUSES

ZERO = Decimal("0.00")
#: The assignment statuses the view counts (as `babe status` names them).
COUNTED = ("Submitted", "Approved", "Rejected")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_of(at: float) -> str:
    """The UTC calendar month of an epoch time, as "2026-12"."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m")


def check_month(month: str | None) -> str | None:
    """`--month` as given ("2026-12"), or a UsageError naming the shape."""
    if month is None:
        return None
    month = month.strip()
    if not MONTH.match(month):
        raise UsageError(f"--month {month!r}: give a calendar month as YYYY-MM, e.g. 2026-12")
    return month


@dataclass
class Money:
    """Spent and committed in one currency."""

    currency: str
    spent: Decimal = ZERO
    committed: Decimal = ZERO

    def add(self, spent: Decimal, committed: Decimal) -> None:
        self.spent += spent
        self.committed += committed


@dataclass
class ExperimentRow:
    """One experiment on one target and platform, as the lab's ledger knows it."""

    experiment: str
    target: str
    platform: str
    state: str
    hits: int
    assignments: int
    submitted: int
    approved: int
    rejected: int
    money: Money
    members: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "experiment": self.experiment,
            "target": self.target,
            "platform": self.platform,
            "state": self.state,
            "hits": self.hits,
            "assignments": self.assignments,
            "submitted": self.submitted,
            "approved": self.approved,
            "rejected": self.rejected,
            "currency": self.money.currency,
            "spent": self.money.spent,
            "committed": self.money.committed,
            "members": self.members,
            "folders": self.folders,
        }


@dataclass
class LabView:
    """What `babe lab` shows: where the ledger is, each experiment, and the totals."""

    ledger: str
    engine: str
    scope: str
    targets: list[str]
    month: str | None
    experiments: list[ExperimentRow]
    #: (member, target, currency) → money.
    by_member: dict[tuple[str, str, str], Money]
    #: (month, target, currency) → money.
    by_month: dict[tuple[str, str, str], Money]
    #: (target, currency) → money.
    totals: dict[tuple[str, str], Money]
    #: currency → the symbol text shows it with.
    symbols: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "ledger": self.ledger,
            "engine": self.engine,
            "scope": self.scope,
            "targets": self.targets,
            "month": self.month,
            "experiments": [row.as_json() for row in self.experiments],
            "by_member": [
                {"member": member, "target": target, "currency": currency, "spent": m.spent, "committed": m.committed}
                for (member, target, currency), m in self.by_member.items()
            ],
            "by_month": [
                {"month": month, "target": target, "currency": currency, "spent": m.spent, "committed": m.committed}
                for (month, target, currency), m in self.by_month.items()
            ],
            "totals": [
                {"target": target, "currency": currency, "spent": m.spent, "committed": m.committed}
                for (target, currency), m in self.totals.items()
            ],
        }


def state_of(hits: list[Any], counts: Counter, now: float) -> str:
    """open: a HIT still takes work (an open status, not expired, as last seen); closed: none does,
    but submitted work waits for review; finished: none does and nothing waits."""
    if any(h.status in OPEN_STATUSES and (h.expires_at is None or h.expires_at.timestamp() > now) for h in hits):
        return "open"
    return "closed" if counts["Submitted"] else "finished"


def run(settings: Any, price: Any, *, target: str | None = None, month: str | None = None, now: float | None = None) -> LabView:
    """The lab's view of the ledger `settings` name; `price(platform)` gives a platform's `money.Pricing`.

    `target` None: every target the ledger has posted on. `month` ("2026-12"): only money recorded
    in that UTC month, and only experiments with something recorded in it.
    """
    month = check_month(month)
    now = time.time() if now is None else now
    url = getattr(settings, "ledger_url", None) or ""
    with LedgerView.of(settings) as view:
        if not view.exists:
            raise UsageError(f"no ledger in {settings.folder}: nothing to show yet (set ledger_url for the lab's, or run babe create)")
        targets = [target] if target else view.targets()
        rows: list[ExperimentRow] = []
        by_member: dict[tuple[str, str, str], Money] = {}
        by_month: dict[tuple[str, str, str], Money] = {}
        totals: dict[tuple[str, str], Money] = {}
        symbols: dict[str, str] = {}
        for where in targets:
            hits = view.hits(None, where)
            counts = view.assignment_counts(where)
            folders = view.plan_folders(where)
            money: dict[tuple[str, str], Money] = {}
            members: dict[tuple[str, str], set[str]] = {}
            active: set[tuple[str, str]] = set()
            for member, platform, entry in view.member_commitments(where, price):
                symbols.setdefault(entry.currency, price(platform).symbol)
                key = (entry.experiment, platform)
                members.setdefault(key, set()).add(member)
                if month is not None and month_of(entry.at) != month:
                    continue
                active.add(key)
                money.setdefault(key, Money(entry.currency)).add(entry.spent, entry.committed)
                for scope, scope_key in (
                    (by_member, (member, where, entry.currency)),
                    (by_month, (month_of(entry.at), where, entry.currency)),
                ):
                    scope.setdefault(scope_key, Money(entry.currency)).add(entry.spent, entry.committed)
                totals.setdefault((where, entry.currency), Money(entry.currency)).add(entry.spent, entry.committed)
            for (experiment, platform) in dict.fromkeys((h.experiment, h.platform) for h in hits):
                if month is not None and (experiment, platform) not in active:
                    continue
                own = [h for h in hits if h.experiment == experiment and h.platform == platform]
                seen = sum((counts.get(h.hit_id or "", Counter()) for h in own), Counter())
                extended = view.extended(experiment, where)
                currency = price(platform).currency
                rows.append(
                    ExperimentRow(
                        experiment=experiment,
                        target=where,
                        platform=platform,
                        state=state_of(own, seen, now),
                        hits=len(own),
                        assignments=sum(h.max_assignments + extended.get(h.hit_id or "", 0) for h in own),
                        submitted=seen["Submitted"],
                        approved=seen["Approved"],
                        rejected=seen["Rejected"],
                        money=money.get((experiment, platform), Money(currency)),
                        members=sorted(members.get((experiment, platform), set())),
                        folders=folders.get(experiment, []),
                    )
                )
        return LabView(
            ledger=view.where,
            engine="postgresql" if url else "sqlite",
            scope="lab" if url else "folder",
            targets=targets,
            month=month,
            experiments=rows,
            by_member=dict(sorted(by_member.items())),
            by_month=dict(sorted(by_month.items())),
            totals=dict(sorted(totals.items())),
            symbols=symbols,
        )


# -- the page (`babe report --lab`) ---------------------------------------------------------------
#: The page's file in the reports folder: `lab.html`, or `lab-2026-12.html` for one month.
PAGE_NAME = "lab"
PAGE_STYLE = """
  :root { color-scheme: light; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #fff; }
  main { max-width: 1080px; margin: 0 auto; padding: 24px 20px 48px; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h2 { font-size: 18px; margin: 32px 0 8px; }
  p.meta { color: #59636e; margin: 0 0 12px; }
  table { border-collapse: collapse; width: 100%; margin-top: 12px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6e8eb; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  tr.total td { font-weight: 600; }
  .open { color: #1565c0; } .closed { color: #a15c00; } .finished { color: #2e7d32; }
  footer { margin-top: 40px; color: #59636e; font-size: 13px; }
"""


def page_name(view: LabView) -> str:
    return f"{PAGE_NAME}-{view.month}.html" if view.month else f"{PAGE_NAME}.html"


def page(view: LabView, now: datetime) -> str:
    """The lab's view as one self-contained HTML page (no script, nothing fetched), like `babe report`'s:
    the same tables `babe lab` prints. Worker ids never appear in the view, so the page can be shared."""
    from html import escape

    from .. import __version__
    from ..money import fmt

    def shown(currency: str, value: Decimal) -> str:
        return escape(f"{view.symbols.get(currency, currency + ' ')}{fmt(value)}")

    def table(headings: list[str], rows: list[str]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headings)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    experiments = [
        "<tr>"
        + "".join(f"<td>{escape(cell)}</td>" for cell in (row.experiment, row.target, row.platform))
        + f'<td class="{row.state}">{row.state}</td>'
        + "".join(f'<td class="n">{n}</td>' for n in (row.assignments, row.submitted, row.approved, row.rejected))
        + f'<td class="n">{shown(row.money.currency, row.money.spent)}</td>'
        + f'<td class="n">{shown(row.money.currency, row.money.committed)}</td>'
        + f"<td>{escape(', '.join(m or '-' for m in row.members))}</td></tr>"
        for row in view.experiments
    ]
    totals = [
        f'<tr class="total"><td>total</td><td>{escape(target)}</td><td class="n">{shown(currency, m.spent)}</td>'
        f'<td class="n">{shown(currency, m.committed)}</td></tr>'
        for (target, currency), m in view.totals.items()
    ]

    def by(scope: dict[tuple[str, str, str], Money]) -> list[str]:
        return [
            f'<tr><td>{escape(name or "-")}</td><td>{escape(target)}</td><td class="n">{shown(currency, m.spent)}</td>'
            f'<td class="n">{shown(currency, m.committed)}</td></tr>'
            for (name, target, currency), m in scope.items()
        ] + totals

    whose = "The lab's ledger" if view.scope == "lab" else "This folder's own ledger (not a lab's)"
    meta = f"{whose} {view.ledger}; targets: {', '.join(view.targets) or '-'}" + (
        f"; money recorded in {view.month} (UTC)" if view.month else ""
    )
    title = f"The lab's experiments{f' in {view.month}' if view.month else ''}"
    body = (
        f"<h1>{escape(title)}</h1><p class=\"meta\">{escape(meta)}.</p>"
        '<section id="experiments"><h2>Experiments</h2>'
        + (
            table(["experiment", "target", "platform", "state", "assignments", "submitted", "approved", "rejected",
                   "spent", "committed", "members"], experiments)
            if experiments
            else '<p class="meta">No experiments.</p>'
        )
        + '</section><section id="by-member"><h2>By member</h2>'
        + table(["member", "target", "spent", "committed"], by(view.by_member))
        + '</section><section id="by-month"><h2>By month (UTC)</h2>'
        + table(["month", "target", "spent", "committed"], by(view.by_month))
        + f"</section><footer>Drawn from the ledger by babe-tasks {escape(__version__)} on "
        f"{now.strftime('%Y-%m-%d %H:%M UTC')}. Spent: what was paid; committed: the most what was posted can cost.</footer>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="babe-tasks {escape(__version__)}">\n<title>{escape(title)}</title>\n'
        f"<style>{PAGE_STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_page(view: LabView, directory: Path) -> Path:
    """Write the page into `directory` whole or not at all (a temporary file, then renamed)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {directory} is a file, not a folder: give a folder for the page")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / page_name(view)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(page(view, datetime.now(UTC)), encoding="utf-8")
    temporary.replace(path)
    return path
