"""results: download the experiment's results into `results/<experiment>-<UTC timestamp>.csv`.

Fetching is a plugin's job (`babe_fetch_results`, firstresult: the `babe-backend` plugin for a _babe
experiment); what every lab needs from the file is this step's:

- **atomic and never overwriting** — the plugin writes a hidden `.part` file in `results/`; the
  step reads and checks it, writes the final content to a temporary file, and hard-links that to
  the final name, which fails instead of replacing an existing file (a second download in the
  same second gets `-2`). A failure anywhere leaves no results file, partial or otherwise;
- **the numbers** — rows, submissions (distinct `submission_id`) and columns, to compare with
  what `status` says was submitted;
- **`--anonymize`** — worker ids replaced by a salted hash, the same for the same worker in every
  download of the lab (the salt is `BABE_ANONYMIZE_SALT`, never printed), so data can be shared.
  Every column named like a worker id is hashed, and any worker id (from those columns or the
  ledger) found inside another cell — a comment, a free-text answer — is replaced there too;
- **safe to open in a spreadsheet** — a participant types what they like into a free-text answer,
  and a cell such as `=HYPERLINK(…)`, `@SUM(…)`, `+1+1`, `-2+3` or one starting with a tab or a
  carriage return is run as a formula by Excel, LibreOffice and Google Sheets (OWASP's "CSV
  injection"). Such cells get a leading `'` (shown as text, the rest of the cell unchanged); plain
  numbers such as `-5` or `+3.2` are left alone, and the file keeps the backend's bytes when no cell
  needed it. `--raw` writes the bytes as fetched.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import BabeError, UsageError
from ..plugins import call_first

RESULTS_DIR = "results"
SALT_ENV = "BABE_ANONYMIZE_SALT"
MIN_SALT_LENGTH = 16
PSEUDONYM_PREFIX = "anon-"
#: A column holds worker ids when its name, letters only and lower-cased, ends like this.
_WORKER_COLUMN = re.compile(r"workerid$")
#: A cell starting with one of these is run as a formula by spreadsheets (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What neutralises such a cell: spreadsheets show a cell starting with an apostrophe as text.
FORMULA_GUARD = "'"
#: A plain number, which a leading sign does not make a formula (`-5`, `+3.2`, `-1.5e3`).
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Ids shorter than this are hashed in their own column but not searched for inside other cells,
#: where they could match ordinary text (MTurk worker ids are 12 to 14 characters).
MIN_SEARCHED_ID = 8


class MalformedResults(BabeError):
    """The fetched file is not a CSV table (exit 1): nothing was written."""

    exit_code = 1


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]


@dataclass
class ResultsResult:
    #: The file written, or None when there was nothing to write.
    path: Path | None
    rows: int
    submissions: int
    columns: list[str]
    anonymized: bool = False
    #: Cells whose worker ids were replaced (0 without --anonymize).
    replaced: int = 0
    #: Cells a spreadsheet would have run as a formula, now prefixed with `'` (0 with --raw).
    neutralized: int = 0
    raw: bool = False

    def as_json(self) -> dict:
        return {
            "path": str(self.path) if self.path else None,
            "rows": self.rows,
            "submissions": self.submissions,
            "columns": len(self.columns),
            "column_names": self.columns,
            "anonymized": self.anonymized,
            "neutralized": self.neutralized,
            "raw": self.raw,
        }


def salt_from_environment() -> str:
    """The lab's anonymisation salt, or UsageError saying how to set one (checked before any request)."""
    salt = os.environ.get(SALT_ENV, "")
    if not salt.strip():
        raise UsageError(
            f"--anonymize needs the lab's salt in {SALT_ENV}: a secret of at least {MIN_SALT_LENGTH} characters, the "
            "same for every download so each worker keeps one pseudonym (e.g. python -c \"import secrets; "
            "print(secrets.token_hex(16))\")"
        )
    if len(salt) < MIN_SALT_LENGTH:
        raise UsageError(
            f"{SALT_ENV} is {len(salt)} characters long: use at least {MIN_SALT_LENGTH}, or the pseudonyms can be "
            "reversed by trying every salt"
        )
    return salt


def run(settings, pm, *, anonymize: bool = False, raw: bool = False, now: datetime | None = None) -> ResultsResult:
    """Fetch through the plugins, check, optionally anonymise, neutralise formulas unless `raw`, publish."""
    salt = salt_from_environment() if anonymize else None
    folder = Path(settings.folder) / RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    part = folder / f".{settings.experiment}-{stamp}-{os.getpid()}.part"
    try:
        written = call_first(pm, "babe_fetch_results", settings=settings, destination=part)
        if written is None:
            raise UsageError(
                "no plugin fetches results for this experiment: turn on the babe-backend plugin with a "
                "babe.plugins.babe-backend section in invoke.yaml (docs/plugin-babe-backend.md)"
            )
        data = Path(written).read_bytes()
        table = parse(data)
        submissions = count_submissions(table)
        if not table.rows:
            return ResultsResult(None, 0, 0, table.columns, anonymized=anonymize, raw=raw)
        replaced = neutralized = 0
        if salt is not None:
            replaced = pseudonymise(table, salt, known_workers(settings))
        if not raw:
            neutralized = neutralise(table)
        if replaced or neutralized:
            data = render(table)
        path = publish(folder, f"{settings.experiment}-{stamp}", data)
    finally:
        part.unlink(missing_ok=True)
    return ResultsResult(
        path, len(table.rows), submissions, table.columns, anonymized=anonymize, replaced=replaced,
        neutralized=neutralized, raw=raw,
    )


def parse(data: bytes) -> Table:
    """The fetched file as a table: a header and rows of the same width."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedResults("the fetched results are not UTF-8 text; nothing was written") from None
    if not text.strip():
        return Table([], [])
    try:
        records = [record for record in csv.reader(io.StringIO(text, newline=""), strict=True) if record]
    except csv.Error as exc:
        raise MalformedResults(f"the fetched results are not a well-formed CSV ({exc}); nothing was written") from None
    header, rows = records[0], records[1:]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise MalformedResults(
                f"the fetched results are not a well-formed CSV: line {number} has {len(row)} fields, the header "
                f"{len(header)}; nothing was written"
            )
    return Table(header, rows)


def render(table: Table) -> bytes:
    """The table as CSV; a row with a carriage return in a cell is quoted whole, which Python 3.11's
    minimal quoting does not do under a `\\n` line end (the file would not read back)."""
    out = io.StringIO()
    minimal = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in (table.columns, *table.rows):
        (quoted if any("\r" in value for value in row) else minimal).writerow(row)
    return out.getvalue().encode("utf-8")


def count_submissions(table: Table) -> int:
    """Distinct `submission_id`s (else distinct assignment ids): one per participant's submission."""
    for name in ("submission_id", "assignment_id"):
        if name in table.columns:
            position = table.columns.index(name)
            return len({row[position] for row in table.rows if row[position]})
    return 0


# -- formulas -----------------------------------------------------------------------------------
def is_formula(value: str) -> bool:
    """Whether a spreadsheet would run this cell as a formula (a plain signed number is data)."""
    return value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)


def neutralise(table: Table) -> int:
    """Prefix every formula-like cell, header included, with `'`; returns how many changed."""
    changed = 0
    for row in (table.columns, *table.rows):
        for i, value in enumerate(row):
            if is_formula(value):
                row[i] = FORMULA_GUARD + value
                changed += 1
    return changed


# -- anonymisation -----------------------------------------------------------------------------
def pseudonym(worker_id: str, salt: str) -> str:
    """A worker's stable pseudonym in this lab: HMAC-SHA256 under the salt, 16 hex digits."""
    digest = hmac.new(salt.encode("utf-8"), worker_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:16]


def worker_columns(columns: list[str]) -> list[int]:
    """Positions of the columns named like a worker id (`worker_id`, `glb_worker_id`, `workerId`, …)."""
    return [i for i, name in enumerate(columns) if _WORKER_COLUMN.search(re.sub(r"[^a-z]", "", name.lower()))]


def pseudonymise(table: Table, salt: str, known: set[str]) -> int:
    """Replace worker ids in place; returns how many cells changed."""
    positions = set(worker_columns(table.columns))
    ids = set(known)
    for row in table.rows:
        ids.update(row[i].strip() for i in positions if row[i].strip())
    searched = sorted((i for i in ids if len(i) >= MIN_SEARCHED_ID), key=len, reverse=True)
    finder = re.compile("|".join(re.escape(i) for i in searched)) if searched else None
    changed = 0
    for row in table.rows:
        for i, value in enumerate(row):
            if i in positions and value.strip():
                new = pseudonym(value.strip(), salt)
            elif finder is not None and value:
                new = finder.sub(lambda m: pseudonym(m.group(0), salt), value)
            else:
                continue
            if new != value:
                row[i] = new
                changed += 1
    return changed


def known_workers(settings) -> set[str]:
    """Every worker id the ledger saw in this experiment (any target); none when there is no ledger."""
    from ..ledger import LedgerView
    from ..settings import TARGETS

    with LedgerView.of(settings) as ledger:
        return {row.worker_id for target in TARGETS for row in ledger.assignments(settings.experiment, target)}


# -- publishing --------------------------------------------------------------------------------
def publish(folder: Path, stem: str, data: bytes) -> Path:
    """Write `data` to `<folder>/<stem>.csv` (or `-2`, `-3`, … if taken), all at once, never replacing a file."""
    temporary = folder / f".{stem}-{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        number = 1
        while True:
            final = folder / (f"{stem}.csv" if number == 1 else f"{stem}-{number}.csv")
            try:
                os.link(temporary, final)
            except FileExistsError:
                number += 1
                continue
            except OSError:
                # A filesystem without hard links: the same no-overwrite rule, checked just before.
                if final.exists():
                    number += 1
                    continue
                os.rename(temporary, final)
            return final
    finally:
        temporary.unlink(missing_ok=True)
