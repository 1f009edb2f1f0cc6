"""Task namespaces that installed packages contribute: entry-point group `babe_tasks.namespaces`.

A package adds `name = "module"` to the group (pyproject: `[project.entry-points."babe_tasks.namespaces"]`)
and `babe name.<task>` runs the tasks defined in that module — the local MTurk's `local` namespace
comes from babe_mturk this way, and the core names no namespace itself. `module:attribute` names
an `invoke.Collection` instead.

The group is read on every command, `babe --list` included, whose start-up must stay close to
`import invoke`'s. `importlib.metadata.entry_points()` parses every installed distribution's
metadata (milliseconds per command); this reads only the `entry_points.txt` of each
`*.dist-info`/`*.egg-info` folder on `sys.path`, and parses only those that mention the group.
Nothing is cached, so an install or uninstall shows at the next command. As with importlib.metadata,
the first distribution of a name on `sys.path` wins; distributions inside zip files are not seen.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

GROUP = "babe_tasks.namespaces"

_HEADER = f"[{GROUP}]"
_SEPARATORS = re.compile(r"[-_.]+")


def declared(paths: Iterable[str] | None = None) -> dict[str, str]:
    """`{namespace: "module" or "module:attribute"}` of every installed distribution, in `sys.path` order.

    A namespace declared twice keeps its first declaration (the earlier path entry wins, as imports do).
    """
    found: dict[str, str] = {}
    seen: set[str] = set()
    for folder in _metadata_folders(sys.path if paths is None else paths):
        stem = os.path.basename(folder).rsplit(".", 1)[0]  # without .dist-info / .egg-info
        dist = _SEPARATORS.sub("_", stem.split("-", 1)[0]).lower()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as file:
                text = file.read()
        except OSError:
            continue
        if _HEADER in text:
            for name, value in _section(text):
                found.setdefault(name, value)
    return found


def _metadata_folders(paths: Iterable[str]) -> Iterable[str]:
    for entry in paths:
        try:
            listing = os.scandir(entry or ".")
        except OSError:  # a zip file, or a path entry that does not exist
            continue
        with listing:
            names = sorted(item.name for item in listing if item.name.endswith((".dist-info", ".egg-info")))
        for name in names:
            yield os.path.join(entry or ".", name)


def _section(text: str) -> Iterable[tuple[str, str]]:
    """The `name = value` lines of the group's section (entry_points.txt is INI-like)."""
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            inside = line == _HEADER
            continue
        if inside:
            name, sep, value = line.partition("=")
            if sep and name.strip() and value.strip():
                yield name.strip(), value.split("[", 1)[0].strip()
