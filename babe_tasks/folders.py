"""Where an experiment lives: the folder both `babe` and `invoke` treat as the project.

The experiment folder is the nearest ancestor of the working directory holding `invoke.yaml` or
`tasks.py`, else the working directory itself (docs/settings.md, "Where settings come from"). `invoke`
finds its project by `tasks.py` alone; `babe` also stops at an `invoke.yaml` so a folder set up with
settings but no tasks file still works. Both then read the same `invoke.yaml`.
"""

from __future__ import annotations

import re
from pathlib import Path

MARKERS = ("invoke.yaml", "invoke.yml", "tasks.py")
STATE_DIR = ".babe"


def experiment_folder(start: str | Path | None = None) -> Path:
    """The nearest ancestor of `start` (default: the working directory) that holds a marker file."""
    here = Path(start).expanduser().resolve() if start is not None else Path.cwd().resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_file() for marker in MARKERS):
            return folder
    return here


def experiment_name(folder: Path) -> str:
    """The default experiment name: the folder's name, reduced to what annotations and tokens accept."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(folder).name).strip("-._")[:64].strip("-._")
    return name or "experiment"


def state_dir(folder: Path) -> Path:
    """The experiment's own state (`.babe/`: the ledger); created by whoever writes there first."""
    return Path(folder) / STATE_DIR
