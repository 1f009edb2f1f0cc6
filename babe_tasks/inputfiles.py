"""Reading the files a lab hands babe (invoke.yaml, config_deploy.js, bonus and id CSVs) with a size cap.

A file of hundreds of megabytes — a wrong path, an export of the wrong table, a hostile upload — would
otherwise be read whole and end in a MemoryError ("internal error") or minutes of parsing. Each
kind of file has a cap far above any real one; over it the command stops with one line (exit 2)
before anything is done. The cap is checked on the bytes actually read (never trusting a size
from `stat`), so a FIFO or `/dev/zero` is refused the same way.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

#: `invoke.yaml`: babe init writes about 6 KB; a lab's own additions are a few lines.
CONFIG_MAX_BYTES = 1_000_000
#: `config/config_deploy.js`: _babe's is five fields, well under 1 KB.
DEPLOY_CONFIG_MAX_BYTES = 1_000_000
#: Bonus CSVs and `reject --from` files: 100,000 rows of ids, amounts and reasons are about 10 MB.
CSV_MAX_BYTES = 20_000_000


def read_bytes(path: str | Path, limit: int, what: str | None = None) -> bytes:
    """The file's bytes, or UsageError naming it when it holds more than `limit`.

    OSError (no such file, a folder, no permission) passes through: callers word those themselves.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        shown = what or str(path)
        raise UsageError(
            f"{shown} is larger than {_size(limit)}, far more than such a file ever needs: check that it is the "
            "right file"
        )
    return data


def read_text(path: str | Path, limit: int = CSV_MAX_BYTES, what: str | None = None, encoding: str = "utf-8-sig") -> str:
    """`Path.read_text` with a size cap (UnicodeDecodeError and OSError pass through, as from `read_text`)."""
    return read_bytes(path, limit, what).decode(encoding)


def _size(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit:,} bytes"
