"""The adapter's own SQLite files in an experiment's state folder (`.babe/`), next to the ledger.

The bonus journal (`journal`) and the requested approvals (`approvals`) are each one small file per
experiment that every run of it shares — two `babe` commands at once, a watcher beside them — so
they are opened alike, here: created on first use, WAL with the ledger's busy timeout
(`babe_tasks.sqlitefile`), their schema applied, and one lock serialising a run's threads.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Self

from babe_tasks.ledger import BUSY_TIMEOUT
from babe_tasks.sqlitefile import open_shared


class ExperimentFile:
    """One such file; subclasses set `FILE_NAME` and `SCHEMA`, and use `_db` under `_lock`."""

    FILE_NAME = ""
    SCHEMA = ""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = open_shared(self.path, BUSY_TIMEOUT)
        self._db.executescript(self.SCHEMA)

    @classmethod
    def path_in(cls, folder: str | Path) -> Path:
        from babe_tasks.folders import state_dir

        return state_dir(Path(folder)) / cls.FILE_NAME

    @classmethod
    def for_folder(cls, folder: str | Path) -> Self:
        return cls(cls.path_in(folder))

    @classmethod
    def for_folder_exists(cls, folder: str | Path) -> bool:
        """Whether the experiment has this file (without creating one)."""
        return cls.path_in(folder).exists()

    def close(self) -> None:
        self._db.close()
