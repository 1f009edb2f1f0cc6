"""`babe ledger.*`: the ledger itself, whichever engine holds it (docs/lab.md).

`ledger.migrate` brings the ledger to this babe's schema version and says from which version it
came. Every command does the same on its first use of a ledger; the task exists so a lab can
migrate its shared PostgreSQL ledger once, on purpose, before members' babes meet it (and see the
version in a script). `ledger.push` copies the folder's own SQLite ledger into the lab's
(`steps.push`: docs/lab.md, "Moving in"). Imported by `babe --list`: nothing heavy (no psycopg) at
import time.
"""

from __future__ import annotations

from ..taskkit import babe_task


@babe_task(
    help={
        "json": 'print one JSON document on stdout: {"ledger", "engine", "from_version", "to_version", "migrated", "member"}',
    }
)
def migrate(c, json=False):
    """Bring the ledger (the folder's SQLite, or the lab's at ledger_url) to this babe's schema version."""
    from .. import output
    from ..ledger import Ledger
    from ..settings import Settings

    settings = Settings.build(c, json=json)
    with Ledger.of(settings) as ledger:
        before, after = ledger.migrated
        document = {
            "ledger": ledger.where,
            "engine": ledger.engine,
            "from_version": before,
            "to_version": after,
            "migrated": before != after,
            "member": ledger.member,
        }

    def render(console) -> None:
        if before == after:
            line = f"Ledger {document['ledger']} ({document['engine']}): schema version {after}, nothing to migrate."
        else:
            line = f"Ledger {document['ledger']} ({document['engine']}): schema version {before} → {after}."
        console.print(line, markup=False)

    output.emit(settings, document, render)


@babe_task(
    help={
        "dry_run": "count what would be pushed, already there and conflicting, without writing the lab's ledger",
        "json": 'print one JSON document on stdout: {"folder_ledger", "lab_ledger", "member", "dry_run", "written", "tables", "conflicts"}',
    }
)
def push(c, dry_run=False, json=False):
    """Copy this folder's SQLite ledger into the lab's (ledger_url): idempotent, re-runnable, nothing overwritten."""
    from .. import output
    from ..errors import PartialFailure
    from ..settings import Settings
    from ..steps import push as step

    settings = Settings.build(c, json=json, dry_run=dry_run)
    try:
        document = step.run(settings).as_json()
    except PartialFailure as failure:
        if not settings.json and failure.result is not None:
            render_push(output.console(), failure.result)
        raise
    output.emit(settings, document, lambda console: render_push(console, document))


def render_push(console, document: dict) -> None:
    """Per table: pushed, already there, updated, lab ahead, conflicting; then what became of the lab's ledger."""
    verb = "Would push" if document["dry_run"] else "Pushing"
    console.print(f"{verb} {document['folder_ledger']} into {document['lab_ledger']}:", markup=False)
    width = max((len(name) for name in document["tables"]), default=0)
    for name, count in document["tables"].items():
        console.print(
            f"  {name:<{width}}  pushed {count['pushed']}, already there {count['already_there']},"
            f" updated {count['updated']}, lab ahead {count['lab_ahead']}, conflicting {count['conflicting']}",
            markup=False,
        )
    for conflict in document["conflicts"]:
        key = ", ".join(f"{column} {value}" for column, value in conflict["key"].items())
        differs = "; ".join(f"{column}: here {v['folder']!r}, lab {v['lab']!r}" for column, v in conflict["columns"].items())
        console.print(f"  conflict in {conflict['table']} ({key}): {differs}", markup=False)
    if document["written"]:
        console.print("Written to the lab's ledger; this folder's own ledger is unchanged.", markup=False)
    elif document["conflicts"]:
        console.print("Nothing written: the lab's rows are kept.", markup=False)
    else:
        console.print("Nothing written (dry run).", markup=False)
