"""output: one JSON document on stdout (money and time conventions), rich text otherwise, stderr for the rest."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from babe_tasks import output
from babe_tasks.errors import UsageError


def test_json_is_one_document_with_money_and_time_conventions(capsys):
    data = {
        "cost": {"rewards": Decimal("9"), "fees": Decimal("1.8"), "total": Decimal("10.80")},
        "expires_at": datetime(2026, 11, 28, 16, 0, 0, tzinfo=timezone.utc),
        "naive": datetime(2026, 11, 28, 16, 0, 0),
        "berlin": datetime(2026, 11, 28, 17, 0, 0, tzinfo=timezone(timedelta(hours=1))),
        "path": Path("/tmp/x"),
        "ids": ("A", "B"),
        "workers": {"W2", "W1"},
        "none": None,
    }
    rendered = []
    output.emit(SimpleNamespace(json=True), data, lambda console: rendered.append(console))
    captured = capsys.readouterr()
    assert rendered == [] and captured.err == ""
    document = json.loads(captured.out)  # the whole of stdout is one JSON document
    assert document["cost"] == {"rewards": "9.00", "fees": "1.80", "total": "10.80"}
    assert document["expires_at"] == document["naive"] == document["berlin"] == "2026-11-28T16:00:00Z"
    assert document["path"] == "/tmp/x" and document["ids"] == ["A", "B"] and document["workers"] == ["W1", "W2"]
    assert document["none"] is None


def test_dataclasses_become_objects(capsys):
    @dataclass
    class Hit:
        hit_id: str
        reward: Decimal

    output.emit(True, {"hits": [Hit("H1", Decimal("0.5"))]})
    assert json.loads(capsys.readouterr().out) == {"hits": [{"hit_id": "H1", "reward": "0.50"}]}


def test_unknown_types_are_refused():
    with pytest.raises(TypeError):
        output.dumps({"x": object()})


def test_without_json_the_renderer_draws_on_stdout_without_colour(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    def render(console):
        console.print("[bold red]3 HITs[/bold red] posted")

    output.emit(SimpleNamespace(json=False), {"hits": 3}, render)
    captured = capsys.readouterr()
    assert captured.out == "3 HITs posted\n"
    assert "\x1b[" not in captured.out


def test_a_pipe_is_never_coloured_even_without_no_color(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    output.emit(False, {}, lambda console: console.print("[green]done[/green]"))
    assert capsys.readouterr().out == "done\n"


def test_a_pipe_is_wide_enough_for_mturk_ids(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert output.console().width == output.PIPE_WIDTH


def test_warnings_go_to_stderr(capsys):
    output.warn("plugin slack failed in babe_after_create:\nboom")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "warning: plugin slack failed in babe_after_create: boom\n"


def test_a_warning_on_a_terminal_is_text_never_rich_markup(monkeypatch):
    """A plugin's or a platform's words may hold brackets: on a terminal they are printed as they are
    (an unmatched `[/x]` would otherwise stop the command with rich's MarkupError)."""
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("NO_COLOR", raising=False)
    output.warn("babe-backend: column [/bold] is not in the backend's data [red]")
    assert terminal.getvalue().endswith("warning:\x1b[0m babe-backend: column [/bold] is not in the backend's data [red]\n")


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "1970-01-01T00:00:00Z"),
        (1795881600, "2026-11-28T16:00:00Z"),
        (1795881600.9, "2026-11-28T16:00:00Z"),
        (None, None),
    ],
)
def test_iso_time(value, text):
    assert output.iso_time(value) == text


def test_confirm_with_yes_does_not_ask():
    assert output.confirm(SimpleNamespace(yes=True), "Post 3 HITs for $10.80 on live?") is True


def test_confirm_without_a_terminal_refuses_instead_of_hanging(monkeypatch):
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))
    with pytest.raises(UsageError, match=r"Post 3 HITs for \$10.80 on live\? needs confirmation .*: pass --yes"):
        output.confirm(SimpleNamespace(yes=False), "Post 3 HITs for $10.80 on live?")


def test_progress_is_silent_when_stderr_is_not_a_terminal(capsys):
    with output.progress("approving", total=3) as bar:
        for _ in range(3):
            bar.advance()
        bar.update(total=4)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
