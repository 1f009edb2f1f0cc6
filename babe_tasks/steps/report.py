"""report: one self-contained HTML page per experiment, drawn from the ledger alone.

For people who would rather look than read: submissions over time, approved / rejected / waiting
counts, money by day (rewards, MTurk fees, bonuses and their fees), and how long workers took for
an assignment — plus a summary table. The charts are SVG written here, inline in the page with
its CSS: no script, no font, no image and no library is fetched from anywhere, so the file can be
mailed, archived or opened offline years later. Worker ids are left out, so the page can be shared.

It reads the ledger read-only (never creating one) and makes no platform call: the page shows
what this folder's ledger knows — run `babe status` (or `babe watch`) first for the latest counts.
Times are UTC. Submission and accept times are the platform's; a payment's day is when this
folder's ledger recorded it. One page covers one platform's HITs (`--platform`; the ledger keeps
each platform's apart): money in its currency symbol, and a platform other than MTurk gets its own
file name (`<experiment>-<platform>-<target>.html`). The page shows no HIT expiry: the ledger's
is a placeholder a year ahead for a Prolific study that has not stopped (it does not expire by
time), and what matters on a page read later is what arrived and what it cost.
"""

from __future__ import annotations

import html
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from string import Template

from .. import __version__, output
from ..errors import UsageError
from ..ledger import LedgerView
from ..money import fmt
from ..plugins import DEFAULT_PLATFORM

REPORTS_DIR = "reports"
TEMPLATE = "report_template.html"
KINDS = ("reward", "fee", "bonus", "bonus_fee")
KIND_LABELS = {"reward": "rewards", "fee": "MTurk fees", "bonus": "bonuses", "bonus_fee": "bonus fees"}
#: The drawing area of every chart, in SVG units (the page scales it to its width).
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 14, 44


@dataclass
class ExperimentData:
    """What the ledger knows about one experiment on one target."""

    experiment: str
    target: str
    hits: list[dict] = field(default_factory=list)
    assignments: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    platform: str = "mturk"
    #: The currency symbol money is shown with (the platform's `pricing.symbol`).
    symbol: str = "$"
    #: What the platform calls a HIT, singular and plural (the page's words).
    nouns: tuple[str, str] = output.MTURK_NOUNS
    #: The platform's name for people (`capabilities.title`: "MTurk fees"); empty: its `platform`.
    title: str = ""

    @property
    def fee_label(self) -> str:
        return f"{self.title or self.platform} fees"

    @property
    def posted(self) -> int:
        return sum(h["max_assignments"] for h in self.hits)

    def count(self, status: str) -> int:
        return sum(1 for a in self.assignments if a["status"] == status)

    @property
    def spent(self) -> Decimal:
        return sum((p["amount"] for p in self.payments), Decimal("0.00"))

    @property
    def minutes(self) -> list[float]:
        """Minutes from accepting to submitting, per assignment that has both times."""
        return [
            (a["submit_time"] - a["accept_time"]) / 60
            for a in self.assignments
            if a["submit_time"] is not None and a["accept_time"] is not None and a["submit_time"] >= a["accept_time"]
        ]


@dataclass
class Written:
    experiment: str
    target: str
    path: Path
    posted: int
    submitted: int
    approved: int
    rejected: int
    spent: Decimal

    def as_json(self) -> dict:
        return {
            "experiment": self.experiment,
            "target": self.target,
            "path": self.path,
            "assignments_posted": self.posted,
            "assignments_seen": self.submitted,
            "approved": self.approved,
            "rejected": self.rejected,
            "spent": self.spent,
        }


@dataclass
class ReportResult:
    reports: list[Written]

    def as_json(self) -> dict:
        return {"reports": [r.as_json() for r in self.reports]}


# -- reading the ledger ---------------------------------------------------------------------------
def _view(folder: Path, url: str | None = None) -> LedgerView:
    """The folder's ledger (or the lab's at `url`), read-only (the report never creates nor upgrades one)."""
    view = LedgerView(folder, url=url)
    if not view.exists:
        raise UsageError(f"no ledger in {folder}: nothing to report yet (run babe create, then babe status)")
    return view


def experiments(folder: Path, target: str, platform: str = "mturk", url: str | None = None) -> list[str]:
    """The experiments with HITs posted on `target` (on `platform`) in this folder's ledger, oldest first."""
    with _view(folder, url) as view:
        return view.experiments(target, platform)


def gather(
    folder: Path,
    experiment: str,
    target: str,
    platform: str = "mturk",
    symbol: str = "$",
    nouns: tuple[str, str] = output.MTURK_NOUNS,
    title: str = "",
    url: str | None = None,
) -> ExperimentData:
    """What the ledger knows of the experiment's HITs on one platform; the work and money of HITs
    posted on another platform are left out. A HIT's size includes what finished extensions added
    (its row keeps its size at posting: without them an extended experiment reads "22 of 20")."""
    data = ExperimentData(experiment, target, platform=platform, symbol=symbol, nouns=tuple(nouns), title=title)
    with _view(folder, url) as view:
        grown = view.extended(experiment, target)
        data.hits = [
            {
                "hit_id": hit.hit_id,
                "max_assignments": hit.max_assignments + grown.get(hit.hit_id or "", 0),
                "reward": fmt(hit.reward),
                "status": hit.status,
                "posted_at": hit.posted_at,
            }
            for hit in view.hits(experiment, target, platform)
        ]
        elsewhere = {hit.hit_id for hit in view.hits(experiment, target) if hit.platform != platform}
        data.assignments = [
            {"worker_id": a.worker_id, "status": a.status, "accept_time": a.accept_time, "submit_time": a.submit_time}
            for a in view.assignments(experiment, target)
            if a.hit_id not in elsewhere
        ]
        data.payments = [
            {"kind": p.kind, "amount": p.amount, "created_at": p.created_at}
            for p in view.payments(target, experiment)
            if p.hit_id not in elsewhere
        ]
    return data


# -- drawing --------------------------------------------------------------------------------------
def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 × 10^k) that covers 0..top in about `ticks` steps."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def _y_axis(top_value: float, *, integer: bool, money: bool = False, symbol: str = "$") -> tuple[str, float]:
    """Grid lines and labels for 0..top; returns the SVG and the value at the top of the area."""
    step = nice_step(top_value)
    if integer:
        step = max(1.0, math.ceil(step))
    ceiling = step * max(1, math.ceil(top_value / step))
    parts = ['<g class="grid">']
    labels = ['<g class="axis y">']
    value = 0.0
    while value <= ceiling + 1e-9:
        y = _y(value, ceiling)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        text = f"{symbol}{value:,.2f}" if money else (f"{value:,.0f}" if integer else f"{value:,.1f}")
        labels.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
        value += step
    parts.append("</g>")
    labels.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/></g>')
    return "".join(parts + labels), ceiling


def _y(value: float, ceiling: float) -> float:
    return HEIGHT - BOTTOM - (value / ceiling) * (HEIGHT - TOP - BOTTOM) if ceiling else HEIGHT - BOTTOM


def _svg(chart_id: str, title: str, body: str) -> str:
    return (
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-title">'
        f'<title id="{chart_id}-title">{_e(title)}</title>{body}'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"'
        ' stroke="#8c959f"/></svg>'
    )


def _empty(text: str) -> str:
    return f'<p class="empty">{_e(text)}</p>'


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%b %d %H:%M")


def submissions_chart(data: ExperimentData) -> str:
    """Assignments submitted so far, as a rising line over time (one point per submission)."""
    times = sorted(a["submit_time"] for a in data.assignments if a["submit_time"] is not None)
    if not times:
        return _empty("No assignment has been submitted yet.")
    start, end = times[0], times[-1]
    span = max(end - start, 60.0)
    axis, ceiling = _y_axis(len(times), integer=True)

    def x(t: float) -> float:
        return LEFT + (t - start) / span * (WIDTH - LEFT - RIGHT)

    points = [(x(start), _y(0, ceiling))]
    for n, t in enumerate(times, start=1):
        points.append((x(t), _y(n - 1, ceiling)))
        points.append((x(t), _y(n, ceiling)))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    dots = "".join(
        f'<circle class="point" cx="{x(t):.1f}" cy="{_y(n, ceiling):.1f}" r="2.5"/>' for n, t in enumerate(times, start=1)
    )
    ticks = []
    for i in range(5):
        t = start + span * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        ticks.append(f'<text x="{x(t):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="{anchor}">{_e(_when(t))}</text>')
    body = f'{axis}<polyline class="series" data-count="{len(times)}" points="{path}"/>{dots}<g class="axis x">{"".join(ticks)}</g>'
    caption = f"{len(times)} submitted between {_when(start)} and {_when(end)} UTC"
    return _svg("chart-submissions", "Assignments submitted over time", body) + f'<p class="note">{_e(caption)}</p>'


def review_chart(data: ExperimentData) -> str:
    """Approved, rejected and still waiting for review, as horizontal bars."""
    bars = [("approved", data.count("Approved")), ("rejected", data.count("Rejected")), ("submitted", data.count("Submitted"))]
    labels = {"approved": "approved", "rejected": "rejected", "submitted": "waiting for review"}
    top = max(value for _, value in bars)
    if top == 0:
        return _empty("Nothing to review yet.")
    row = (HEIGHT - TOP - BOTTOM) / len(bars)
    left = LEFT + 90
    body = []
    for i, (kind, value) in enumerate(bars):
        y = TOP + i * row + row * 0.18
        width = (WIDTH - left - RIGHT - 40) * value / top
        body.append(
            f'<text x="{left - 8}" y="{y + row * 0.4:.1f}" text-anchor="end">{labels[kind]}</text>'
            f'<rect class="bar {kind}" data-kind="{kind}" data-value="{value}" x="{left}" y="{y:.1f}"'
            f' width="{width:.1f}" height="{row * 0.64:.1f}"/>'
            f'<text x="{left + width + 6:.1f}" y="{y + row * 0.4:.1f}">{value}</text>'
        )
    return _svg("chart-review", "Assignments approved, rejected and waiting for review", "".join(body))


def money_chart(data: ExperimentData) -> str:
    """What was paid per UTC day, stacked by kind."""
    by_day: dict[date, dict[str, Decimal]] = defaultdict(lambda: {kind: Decimal("0.00") for kind in KINDS})
    for payment in data.payments:
        day = datetime.fromtimestamp(payment["created_at"], UTC).date()
        by_day[day][payment["kind"]] += payment["amount"]
    if not by_day:
        return _empty("Nothing has been paid yet.")
    days = sorted(by_day)
    totals = [sum(by_day[d].values(), Decimal("0.00")) for d in days]
    axis, ceiling = _y_axis(float(max(totals)), integer=False, money=True, symbol=data.symbol)
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    width = min(56.0, slot * 0.7)
    body = [axis]
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - width) / 2
        base = 0.0
        for kind in KINDS:
            amount = float(by_day[day][kind])
            if amount <= 0:
                continue
            y_top, y_base = _y(base + amount, ceiling), _y(base, ceiling)
            body.append(
                f'<rect class="bar {kind}" data-kind="{kind}" data-day="{day.isoformat()}" data-value="{fmt(by_day[day][kind])}"'
                f' x="{x:.1f}" y="{y_top:.1f}" width="{width:.1f}" height="{max(0.5, y_base - y_top):.1f}"/>'
            )
            base += amount
        body.append(f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{day.strftime("%b %d")}</text>')
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{_y(base, ceiling) - 5:.1f}" text-anchor="middle">{_e(data.symbol)}{fmt(totals[i])}</text>'
        )
    kinds_used = [kind for kind in KINDS if any(by_day[d][kind] for d in days)]
    labels = {**KIND_LABELS, "fee": data.fee_label}
    legend = '<p class="legend">' + "".join(f'<span><i class="{k}"></i>{_e(labels[k])}</span>' for k in kinds_used) + "</p>"
    total = sum(totals, Decimal("0.00"))
    note = f'<p class="note">{_e(data.symbol)}{fmt(total)} in all over {len(days)} day(s).</p>'
    return _svg("chart-money", "Money paid per day", "".join(body)) + legend + note


def duration_chart(data: ExperimentData) -> str:
    """How long workers took from accepting to submitting, as a histogram (seconds when all were quick)."""
    minutes = data.minutes
    if not minutes:
        return _empty("No assignment with both an accept and a submit time yet.")
    unit, scale = ("minutes", 1.0) if max(minutes) >= 2 else ("seconds", 60.0)
    values = [m * scale for m in minutes]
    top = max(values)
    width_bin = max(1.0, nice_step(top, 10))
    bins = int(top // width_bin) + 1
    counts = Counter(int(v // width_bin) for v in values)
    axis, ceiling = _y_axis(max(counts.values()), integer=True)
    slot = (WIDTH - LEFT - RIGHT) / bins
    body = [axis]
    label_every = max(1, math.ceil(bins / 12))
    for b in range(bins):
        x = LEFT + b * slot + 1
        count = counts.get(b, 0)
        y = _y(count, ceiling)
        low = b * width_bin
        body.append(
            f'<rect class="bar duration" data-from="{low:g}" data-value="{count}" x="{x:.1f}" y="{y:.1f}"'
            f' width="{max(1.0, slot - 2):.1f}" height="{HEIGHT - BOTTOM - y:.1f}"/>'
        )
        if b % label_every == 0:
            body.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="start">{low:g}</text>')
    body.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{unit}</text>')
    median = statistics.median(values)
    note = f'<p class="note">{len(values)} assignment(s); median {median:.1f} {unit}, longest {top:.1f}.</p>'
    return _svg("chart-durations", f"Time from accepting to submitting, in {unit}", "".join(body)) + note


def summary_table(data: ExperimentData) -> str:
    minutes = data.minutes
    seen = len(data.assignments)
    rows = [
        (data.nouns[1], len(data.hits)),
        ("assignments posted", data.posted),
        ("assignments submitted", seen),
        ("approved", data.count("Approved")),
        ("rejected", data.count("Rejected")),
        ("waiting for review", data.count("Submitted")),
        ("workers", len({a["worker_id"] for a in data.assignments})),
        ("spent (rewards, bonuses and fees)", f"{data.symbol}{fmt(data.spent)}"),
        ("median time to complete", _minutes(statistics.median(minutes)) if minutes else "-"),
    ]
    cells = "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in rows)
    return f'<table class="summary" id="summary">{cells}</table>'


def _minutes(value: float) -> str:
    return f"{value:.1f} minutes" if value >= 2 else f"{value * 60:.0f} seconds"


def page(data: ExperimentData, folder: Path, now: datetime) -> str:
    """The whole page: the template with the charts filled in."""
    from importlib.resources import files

    template = Template(files("babe_tasks").joinpath(TEMPLATE).read_text(encoding="utf-8"))
    posted = [h["posted_at"] for h in data.hits if h["posted_at"] is not None]
    since = f"; first {data.nouns[0]} posted {_when(min(posted))} UTC" if posted else ""
    return template.substitute(
        title=_e(f"{data.experiment} on {data.target}"),
        meta=_e(f"Experiment {data.experiment}, target {data.target}{since}."),
        summary=summary_table(data),
        submissions=submissions_chart(data),
        review=review_chart(data),
        money=money_chart(data),
        durations=duration_chart(data),
        folder=_e(folder),
        version=_e(__version__),
        generated=_e(now.strftime("%Y-%m-%d %H:%M UTC")),
    )


# -- the step -------------------------------------------------------------------------------------
def run(
    settings,
    *,
    every: bool = False,
    out: str | Path | None = None,
    symbol: str = "$",
    nouns: tuple[str, str] = output.MTURK_NOUNS,
    title: str = "",
) -> ReportResult:
    """Write `reports/<experiment>-<target>.html` for the experiment (or, with `every`, for each in
    the ledger on the target); `out` is another folder. Each file is written whole or not at all.

    Only the HITs of `settings.platform`; `symbol` is its currency's and `nouns` what it calls a HIT
    (the task asks the platform)."""
    folder = Path(settings.folder)
    platform = settings.platform
    names = experiments(folder, settings.target, platform, settings.ledger_url) if every else [settings.experiment]
    if every and not names:
        raise UsageError(f"the ledger in {folder} has no {nouns[1]} on {settings.target}: nothing to report")
    directory = Path(out).expanduser() if out else folder / REPORTS_DIR
    if not directory.is_absolute():
        directory = (Path.cwd() / directory).resolve()
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {directory} is a file, not a folder: give a folder for the reports")
    gathered = [gather(folder, name, settings.target, platform, symbol, nouns, title, settings.ledger_url) for name in names]
    if not every and not gathered[0].hits:
        raise UsageError(
            f"no {nouns[1]} of experiment {settings.experiment} on {settings.target} in the ledger: nothing to report "
            "(babe report --all writes every experiment the ledger knows)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    written = []
    with output.progress("writing reports", total=len(gathered)) as bar:
        for data in gathered:
            # The default platform's reports keep the names they had before there were others.
            where = data.target if platform == DEFAULT_PLATFORM else f"{platform}-{data.target}"
            path = directory / f"{data.experiment}-{where}.html"
            temporary = path.with_name(f".{path.name}.part")
            temporary.write_text(page(data, folder, now), encoding="utf-8")
            temporary.replace(path)
            written.append(
                Written(
                    data.experiment,
                    data.target,
                    path,
                    data.posted,
                    len(data.assignments),
                    data.count("Approved"),
                    data.count("Rejected"),
                    data.spent,
                )
            )
            bar.advance()
    return ReportResult(written)
