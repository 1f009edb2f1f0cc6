"""The report page in a real browser: headless Chromium renders it, and the charts are there.

Two looks: `--dump-dom` gives the DOM Chromium built (the four charts, their bars and the line,
with the numbers of the ledger), and `--screenshot` gives the pixels — each chart's colours must
actually be painted, in roughly the sizes the numbers call for.

Chromium is an optional tool, not part of babe-tasks: on a machine without it these two tests are
skipped with the command that runs them (`apt-get install -y chromium`, then this file), so the
README's test command passes with Python alone. CI installs Chromium (`.ci/run`) and sets `CI`,
where a missing browser fails instead of skipping, so the check always runs somewhere.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from babe_tasks.testing import chromium as lookup

from .test_report import Elements

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)
#: The report's chart colours (report_template.html).
GREEN, RED, AMBER, BLUE, GREY, PURPLE, TEAL = (
    (0x2E, 0x7D, 0x32), (0xC6, 0x28, 0x28), (0xF9, 0xA8, 0x25), (0x15, 0x65, 0xC0), (0x90, 0xA4, 0xAE),
    (0x6A, 0x1B, 0x9A), (0x00, 0x83, 0x8F),
)


def chromium() -> str:
    """The system's Chromium (babe_tasks.testing.chromium: skipped without it, failed under CI)."""
    return lookup.require("the report page was not checked in a browser", "tests/report/test_chromium.py")


@pytest.fixture(autouse=True)
def browser() -> str:
    """Look for Chromium before building the page, so a machine without it skips at once."""
    return chromium()


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def page(babe, history) -> Path:
    run = babe("report", "--json")
    assert run.code == 0, run
    return Path(run.json["reports"][0]["path"])


def test_chromium_builds_the_four_charts(page, tmp_path):
    dom = Elements(browse(page, tmp_path / "profile", "--dump-dom").stdout)

    charts = [svg["id"] for svg in dom.select("svg", class_="chart")]
    assert charts == ["chart-submissions", "chart-review", "chart-money", "chart-durations"]
    [line] = dom.select("polyline", class_="series")
    assert line["data-count"] == "11" and len(line["points"].split()) == 23
    assert len(dom.select("circle", class_="point")) == 11
    assert {b["data-kind"]: b["data-value"] for b in dom.select("rect", class_="bar") if "data-day" not in b and "data-kind" in b} == {
        "approved": "8", "rejected": "1", "submitted": "2",
    }
    assert sorted({b["data-day"] for b in dom.select("rect", class_="bar") if "data-day" in b}) == ["2026-11-02", "2026-11-03"]
    assert sum(int(b["data-value"]) for b in dom.select("rect", class_="duration")) == 11
    assert len(dom.select("table", id="summary")) == 1


def test_chromium_paints_the_charts(page, tmp_path):
    shot = tmp_path / "page.png"
    browse(page, tmp_path / "profile", "--window-size=900,2000", f"--screenshot={shot}")

    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == (900, 2000)
    counts = Counter(pixels)
    # Review bars: approved is 8 times as long as rejected, waiting twice; same height.
    approved, rejected, waiting = counts[GREEN], counts[RED], counts[AMBER]
    assert approved > 5000 and rejected > 300 and waiting > 600
    assert 6 < approved / rejected < 10 and 3 < approved / waiting < 5
    # Money: both days' reward bars, the fee and bonus slices; the submissions line and points.
    assert counts[BLUE] > 3000 and counts[GREY] > 200 and counts[PURPLE] > 200
    # Completion times: 11 assignments' worth of teal columns.
    assert counts[TEAL] > 3000
    # The background is the page's white.
    assert counts[(255, 255, 255)] > width * height // 2


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    pixels = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        pixels.extend(tuple(line[i : i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels
