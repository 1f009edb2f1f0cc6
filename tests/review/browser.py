"""`babe review` as a reviewer meets it: the program in a child process, its page in headless Chromium.

The review page is only worth what a real browser makes of it — its CSP, its same-origin rules,
its keyboard focus — so the browser tests drive the system's Chromium through Playwright, and
`babe review --no-browser` runs as a lab runs it: a process whose first lines are the page's
address, stopped with Ctrl-C. Neither is part of babe-tasks: where Chromium or Playwright is
missing the tests are skipped saying how to get them, and under `CI=true` they fail instead
(babe_tasks.testing.chromium has the rule, shared with the report page's browser test).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from babe_tasks.testing import BabeRun
from babe_tasks.testing import chromium as lookup
from babe_tasks.testing.postgres import in_ci
from babe_tasks.testing.processes import babe_process

#: What Chromium is told on every launch: no sandbox (containers), and nothing that reaches the
#: network on its own (updates, sync, QUIC) — the tests are hermetic, the page must work offline.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]
RERUN = "tests/review/test_browser.py tests/review/test_browser_prolific.py"
#: The line `babe review` prints first; the tests read the page's address from it.
URL_LINE = re.compile(r"Review page: (http://127\.0\.0\.1:\d+/\?token=\S+)")


def playwright() -> Any:
    """`playwright.sync_api`, or skip the test (fail it under CI) saying how to install it."""
    try:
        import playwright.sync_api as api
    except ImportError:
        message = (
            "Playwright is not installed, so babe review's page was not checked in a browser: "
            f"pip install -e '.[test]', then python -m pytest {RERUN}"
        )
        if in_ci():
            pytest.fail(message + " (CI installs the test extras)")
        pytest.skip(message)
    return api


def chromium() -> str:
    """The system's Chromium (never one Playwright downloads), or skip/fail as the report's browser test does."""
    return lookup.require("babe review's page was not checked in a browser", RERUN)


@contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium under Playwright: yields `(playwright, browser)`, both closed after."""
    api = playwright()
    executable = chromium()
    with api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield driver, browser
        finally:
            browser.close()


@dataclass
class Console:
    """What a page reported: console errors and warnings, uncaught exceptions, `alert()`s."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        def message(msg: Any) -> None:
            if msg.type in ("error", "warning"):
                self.errors.append(f"{msg.type}: {msg.text}")

        def dialog(opened: Any) -> None:
            self.dialogs.append(opened.message)
            opened.dismiss()

        page.on("console", message)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("dialog", dialog)
        return page


class Review:
    """A running `babe review --no-browser` in a child process: `url`, `base`, `token`; `stop()` ends it.

    Its output is read by two threads from the moment it starts, so the child never blocks on a
    full pipe, and the address line is there as soon as the program has flushed it.
    """

    def __init__(self, folder: str | Path, env: Mapping[str, str], *args: str, timeout: float = 30):
        self.process: subprocess.Popen = babe_process(["review", "--no-browser", *args], folder, env)
        self.out: list[str] = []
        self.err: list[str] = []
        self._address = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out, True), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.url = self._wait_for_address(timeout)
        parts = urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.port = int(parts.port or 0)
        self.token = parse_qs(parts.query)["token"][0]

    def _read(self, stream: Any, into: list[str], look: bool) -> None:
        for line in stream:
            into.append(line)
            if look and URL_LINE.search(line):
                self._address.set()
        stream.close()

    def _wait_for_address(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not self._address.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                if self.process.poll() is None:
                    self.process.kill()
                self.process.wait()
                for reader in self._readers:
                    reader.join(5)
                raise AssertionError(f"babe review printed no address: {self.result()!r}")
        found = next(URL_LINE.search(line) for line in self.out if URL_LINE.search(line))
        assert found is not None
        return found.group(1)

    def result(self) -> BabeRun:
        return BabeRun(self.process.returncode if self.process.returncode is not None else -1, "".join(self.out), "".join(self.err))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> BabeRun:
        """Ctrl-C (or `sig`) and wait for the program's end: its exit code and everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"babe review did not end {timeout}s after signal {sig}: {self.result()!r}") from None
        for reader in self._readers:
            reader.join(5)
        return self.result()

    def close(self) -> None:
        """Make sure the child is gone (a failed test's clean-up); harmless after `stop`."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
