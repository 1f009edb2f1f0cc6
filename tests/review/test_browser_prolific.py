"""`babe review` of a Prolific study in headless Chromium: Prolific's words, its currency, and a
rejection with one of its categories, by keyboard; then the local Prolific has exactly that.

The same rules as tests/review/test_browser.py (the system's Chromium through Playwright; skipped
without them, failed under CI=true); the study and its local Prolific are tests/review/conftest.py's.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from babe_tasks.testing.processes import child_env

from .browser import Console, Review, launch
from .test_prolific import submissions

REASON = "The completion code was missing from the submission."


@pytest.fixture
def browser():
    with launch() as running:
        yield running


def test_a_prolific_review_approves_three_and_rejects_one_with_a_category(browser, prolific_study, prolific, babe_env, babe):
    from babe_prolific.config import REJECTION_CATEGORIES
    from playwright.sync_api import expect

    folder, people = prolific_study
    ids = [p["submission_id"] for p in people]
    review = Review(folder, child_env(babe_env.state, **prolific))
    try:
        console = Console()
        page = console.watch(browser[1].new_context(viewport={"width": 1280, "height": 800}).new_page())
        assert page.goto(review.url).status == 200
        page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        expect(page.locator("#queue li.submission")).to_have_count(4)
        expect(page.locator("body")).to_contain_text("prolific")
        order = page.locator("#queue li.submission").evaluate_all("rows => rows.map(row => row.dataset.id)")
        assert sorted(order) == sorted(ids)

        # x j x j x: the first three selected; a: the confirmation shows the money in Prolific's currency.
        for number in range(3):
            page.keyboard.press("x")
            page.keyboard.press("j")
        expect(page.locator("#queue li.submission.selected")).to_have_count(3)
        page.keyboard.press("a")
        expect(page.locator("dialog#confirm")).to_be_visible()
        text = page.locator("#confirm-text").inner_text()
        found = re.search(r"Approve 3 submissions on local for (\D+)(\d+\.\d\d) \(rewards \D+4\.50 \+ fees \D+(\d+\.\d\d)\)", text)
        assert found, text
        symbol, total, fees = found.group(1), Decimal(found.group(2)), Decimal(found.group(3))
        assert total == Decimal("4.50") + fees
        page.keyboard.press("Enter")
        expect(page.locator("#answer")).to_contain_text("Approved 3.")

        # r on the fourth: Prolific's categories are offered; NO_CODE and a reason; the participant reads both.
        expect(page.locator(f'#queue li.submission[data-id="{order[3]}"]')).to_have_class(re.compile(r"\bcurrent\b"))
        page.keyboard.press("r")
        expect(page.locator("dialog#decision")).to_be_visible()
        category = page.locator("#category")
        expect(category).to_be_visible()
        offered = category.locator("option").evaluate_all("options => options.map(o => o.value).filter(Boolean)")
        assert offered == list(REJECTION_CATEGORIES)
        category.select_option("NO_CODE")
        page.locator("#reason").focus()
        page.keyboard.type(REASON)
        page.keyboard.press("Control+Enter")
        expect(page.locator("#confirm-text")).to_contain_text(f"NO_CODE: {REASON}")
        page.keyboard.press("Enter")
        expect(page.locator("#answer")).to_contain_text("Rejected 1.")
        assert console.errors == [] and console.dialogs == []
    finally:
        ended = review.stop()
    assert ended.code == 0, ended
    assert f"Review ended: approved 3, rejected 1, bonuses 0 for {symbol}0.00." in ended.out

    rows = submissions(prolific["BABE_PROLIFIC_STATE"])
    assert sorted(rows[i]["status"] for i in ids) == ["APPROVED"] * 3 + ["REJECTED"]
    (rejected,) = [rows[i] for i in ids if rows[i]["status"] == "REJECTED"]
    assert rejected["id"] == order[3] and rejected["rejection_category"] == "NO_CODE"
    assert rejected["message"].startswith(REASON)
    assert babe("status", "--json").json["spent"] == format(total, "f")  # the ledger booked what was confirmed
