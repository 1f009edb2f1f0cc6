"""Finding the system's Chromium for the tests that look at a page in a real browser.

Chromium is an optional tool, not part of babe-tasks and not Python's: where it is missing, a test
that needs it is skipped with the command that installs it, so the README's test command passes
with Python alone. Under `CI=true` a missing browser fails the test instead: CI installs it
(`.ci/run`), so the check always runs somewhere. The browser is the system's, never one a test
library downloads, so what the tests open is what a lab's machine runs.

One lookup for every such test (the report page's, `babe review`'s), so they agree on the names
tried and on the rule.
"""

from __future__ import annotations

import shutil

from .postgres import in_ci

__all__ = ["BROWSERS", "INSTALL", "find", "require"]

#: The names Chromium goes by on Debian, Ubuntu and with Google's packages, tried in this order.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: How to get it on the machines the project runs on.
INSTALL = "apt-get install -y chromium"


def find() -> str | None:
    """The path of the first Chromium on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def require(missing: str, rerun: str) -> str:
    """Chromium's path, or skip the calling test (fail it under CI) saying what was not checked.

    `missing` says what the test would have looked at ("the report page was not checked in a
    browser"); `rerun` is the test file to run once Chromium is installed.
    """
    import pytest

    found = find()
    if found:
        return found
    message = f"headless Chromium is not installed, so {missing}: {INSTALL}, then python -m pytest {rerun}"
    if in_ci():
        pytest.fail(message + " (CI installs it: .ci/run)")
    pytest.skip(message)
