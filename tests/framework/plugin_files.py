"""Writing a plugin file into an experiment folder and building the run's plugin manager over it:
what the plugin-loading tests (test_plugins, test_wrappers, test_tracing) share."""

from __future__ import annotations

import textwrap
from pathlib import Path

from babe_tasks.plugins import plugin_manager
from babe_tasks.settings import Settings


def plugin(folder: Path, name: str, code: str) -> Path:
    """`<folder>/plugins/<name>.py` holding `code` (dedented)."""
    path = folder / "plugins" / f"{name}.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def manager(**flags):
    """The plugin manager of a run with these settings, and the warnings it printed."""
    warnings: list[str] = []
    pm = plugin_manager(Settings.build(**flags), warn=warnings.append)
    return pm, warnings
