"""`babe report`: the page's numbers come from the ledger, and the page needs nothing from outside."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest


class Elements(HTMLParser):
    """Every start tag of a page as (tag, attributes), and its text."""

    def __init__(self, text: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def select(self, tag: str, **attributes: str) -> list[dict]:
        def matches(attrs: dict) -> bool:
            for name, value in attributes.items():
                name = name.rstrip("_")
                have = attrs.get(name) or ""
                if name == "class" and value not in have.split() or name != "class" and have != value:
                    return False
            return True

        return [attrs for t, attrs in self.found if t == tag and matches(attrs)]


def page_of(run) -> tuple[Path, str]:
    [written] = run.json["reports"]
    path = Path(written["path"])
    return path, path.read_text(encoding="utf-8")


def test_the_report_draws_what_the_ledger_knows(babe, history):
    run = babe("report", "--json")

    assert run.code == 0, run
    [written] = run.json["reports"]
    assert written["path"] == str(history.folder / "reports" / "exp1-local.html")
    assert (written["assignments_posted"], written["assignments_seen"]) == (12, 11)
    assert (written["approved"], written["rejected"], written["spent"]) == (8, 1, "6.00")
    _, text = page_of(run)
    page = Elements(text)
    # Submissions over time: one step per submission, from the first day to the third.
    [line] = page.select("polyline", class_="series")
    assert line["data-count"] == "11"
    assert re.search(r"11 submitted between Nov 02 12:\d\d and Nov 04 1\d:\d\d UTC", text)
    # Approved, rejected, waiting.
    review = {bar["data-kind"]: int(bar["data-value"]) for bar in page.select("rect", class_="bar") if "data-kind" in bar and "data-day" not in bar}
    assert review == {"approved": 8, "rejected": 1, "submitted": 2}
    # Money by day: day 1 five approvals, day 2 three approvals and a bonus, day 3 nothing.
    money = {(bar["data-day"], bar["data-kind"]): bar["data-value"] for bar in page.select("rect", class_="bar") if "data-day" in bar}
    assert money == {
        ("2026-11-02", "reward"): "2.50",
        ("2026-11-02", "fee"): "0.50",
        ("2026-11-03", "reward"): "1.50",
        ("2026-11-03", "fee"): "0.30",
        ("2026-11-03", "bonus"): "1.00",
        ("2026-11-03", "bonus_fee"): "0.20",
    }
    assert "$6.00 in all over 2 day(s)." in text
    # Completion times: 11 assignments in bins of 5 minutes, median 8 minutes.
    bins = {float(bar["data-from"]): int(bar["data-value"]) for bar in page.select("rect", class_="duration")}
    assert sum(bins.values()) == 11
    assert bins == {0.0: 2, 5.0: 5, 10.0: 2, 15.0: 1, 20.0: 0, 25.0: 0, 30.0: 1}
    assert "11 assignment(s); median 8.0 minutes, longest 30.0." in text
    # The summary table, and no worker id anywhere.
    summary = " ".join(page.text)
    for words in ("assignments posted 12", "approved 8", "rejected 1", "waiting for review 2", "workers 11"):
        assert words in re.sub(r"\s+", " ", summary)
    assert "AWORKER" not in text


def test_the_page_is_self_contained(babe, history):
    run = babe("report", "--json")
    _, text = page_of(run)

    lowered = text.lower()
    for reference in ("src=", "href=", "url(", "@import", "<script", "<link", "<img", "<iframe", "http://", "https://"):
        assert reference not in lowered, reference
    assert lowered.count("<svg") == 4


def test_a_new_experiment_gets_a_page_with_empty_charts(babe, experiment):
    assert babe("create", "--assignments", "3").code == 0

    run = babe("report", "--json")

    assert run.code == 0, run
    _, text = page_of(run)
    assert "No assignment has been submitted yet." in text
    assert "Nothing to review yet." in text
    assert "Nothing has been paid yet." in text


def test_all_writes_one_page_per_experiment_into_the_folder_asked_for(babe, experiment, monkeypatch, tmp_path):
    assert babe("create", "--assignments", "3").code == 0
    monkeypatch.setenv("BABE_EXPERIMENT", "pilot-2")
    assert babe("create", "--assignments", "2").code == 0
    monkeypatch.delenv("BABE_EXPERIMENT")

    run = babe("report", "--all", "--out", str(tmp_path / "pages"), "--json")

    assert run.code == 0, run
    assert [(r["experiment"], r["assignments_posted"]) for r in run.json["reports"]] == [("exp1", 3), ("pilot-2", 2)]
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == ["exp1-local.html", "pilot-2-local.html"]


def test_the_human_output_says_where_the_page_is(babe, history):
    run = babe("report")

    assert run.code == 0, run
    assert run.out.strip() == (
        f"Wrote {history.folder / 'reports' / 'exp1-local.html'}: 11 of 12 assignments in, 8 approved, 1 rejected, "
        "$6.00 spent."
    )


def test_no_ledger_is_exit_2_and_creates_none(babe, experiment):
    run = babe("report", "--json")

    assert run.code == 2, run
    assert "no ledger in" in run.json["error"]["message"]
    assert not (experiment / ".babe").exists()


def test_an_experiment_the_ledger_does_not_know_is_exit_2(babe, experiment, monkeypatch):
    assert babe("create", "--assignments", "3").code == 0
    monkeypatch.setenv("BABE_EXPERIMENT", "never-posted")

    run = babe("report")

    assert run.code == 2, run
    assert "no HITs of experiment never-posted on local in the ledger" in run.err
    assert not (experiment / "reports").exists()


def test_out_must_be_a_folder(babe, experiment, tmp_path):
    assert babe("create", "--assignments", "3").code == 0
    (tmp_path / "afile").write_text("x")

    run = babe("report", "--out", str(tmp_path / "afile"))

    assert run.code == 2, run
    assert "is a file, not a folder" in run.err


def test_the_report_never_writes_the_ledger(babe, history):
    ledger = history.folder / ".babe" / "ledger.sqlite"
    before = ledger.read_bytes()

    assert babe("report").code == 0

    assert ledger.read_bytes() == before
    wal = ledger.with_name("ledger.sqlite-wal")  # SQLite's own file for readers of a WAL database
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("top, step", [(0, 1.0), (3, 1.0), (8, 2.0), (11, 5.0), (230, 100.0), (0.7, 0.2)])
def test_axis_steps_are_round(top, step):
    from babe_tasks.steps.report import nice_step

    assert nice_step(top) == pytest.approx(step)
