"""The exclusion, extension and participant-group records live in the ledger module, and only there.

The ledger module is the only code that opens the ledger file: the tables keeping participants out
(`ExclusionRecords`), the extensions (`ExtensionRecords`) and Prolific's kept participant groups
(`ParticipantGroupRecords`) are declared with the ledger's schema (`babe_tasks/ledgerdb_migrations.py`,
issue 16), with the SQL earlier versions wrote, so a ledger written before the move reads the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import babe_tasks
from babe_tasks.ledger import ExclusionRecords, ExtensionRecords, Ledger, ParticipantGroupRecords

ROOT = Path(babe_tasks.__file__).resolve().parent.parent
TABLES = re.compile(r"CREATE TABLE IF NOT EXISTS (exclusion_\w+|extensions|prolific_participant_groups)\b")


def test_the_tables_are_declared_in_the_ledger_module_only():
    declared = {}
    for path in [*(ROOT / "babe_tasks").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for table in TABLES.findall(path.read_text(encoding="utf-8")):
            declared.setdefault(table, set()).add(path.relative_to(ROOT).as_posix())
    assert declared == {
        name: {"babe_tasks/ledgerdb_migrations.py"}
        for name in ("exclusion_types", "exclusion_grants", "exclusion_experiments", "extensions", "prolific_participant_groups")
    }


def test_a_ledger_written_before_the_move_reads_the_same(tmp_path, ledger_write):
    """Rows written with the earlier modules' SQL (same tables, same columns) come back unchanged."""
    with Ledger(tmp_path) as ledger:
        ExclusionRecords(ledger).close()
        ExtensionRecords(ledger).close()
        ParticipantGroupRecords(ledger).close()
    ledger_write(
        tmp_path,
        "INSERT INTO exclusion_types (experiment, target, kind, location, qualification_type_id, recorded_at)"
        " VALUES ('pilot', 'local', 'worker', 'local:/x', '3TYPE', 1)",
    )
    ledger_write(tmp_path, "INSERT INTO exclusion_grants VALUES ('3TYPE', 'AW1', 1, 1), ('3TYPE', 'AW2', 2, 1)")
    ledger_write(tmp_path, "INSERT INTO exclusion_experiments VALUES ('pilot', 'local', 1), ('main', 'local', 2)")
    plan = json.dumps({"hits": [{"hit_id": "H1", "add": 3}, {"hit_id": "H2", "add": 1}]})
    ledger_write(
        tmp_path,
        "INSERT INTO extensions (extension_id, experiment, target, location, fingerprint, plan, status, created_at)"
        " VALUES ('e1', 'pilot', 'local', 'local:/x', 'f', ?, 'done', 1)",
        (plan,),
    )
    ledger_write(tmp_path, "INSERT INTO prolific_participant_groups VALUES ('http://p', 'lab', 'W1', 'G1', 1)")
    with Ledger(tmp_path) as ledger:
        with ExclusionRecords(ledger) as records:
            assert records.marker("pilot", "local", "worker")["qualification_type_id"] == "3TYPE"
            assert records.granted("3TYPE") == {"AW1": 1, "AW2": 2}
            assert records.experiments("local") == ["pilot", "main"]
        with ExtensionRecords(ledger) as extensions:
            assert extensions.added("pilot", "local") == {"H1": 3, "H2": 1}
            assert extensions.open_extension("pilot", "local", "f") is None
            ledger.start_extension("e2", "pilot", "local", "local:/x", "f", lambda: json.dumps({"hits": [{"hit_id": "H1", "add": 2}]}))
            assert extensions.open_extension("pilot", "local", "f")[0] == "e2"
            extensions.finish("e2")
            assert extensions.added("pilot", "local") == {"H1": 5, "H2": 1}
        with ParticipantGroupRecords(ledger) as groups:
            assert groups.get("http://p", "lab") == ("G1", "W1")
            groups.keep("http://p", "lab", "W2", "G2")
            assert groups.get("http://p", "lab") == ("G2", "W2")
