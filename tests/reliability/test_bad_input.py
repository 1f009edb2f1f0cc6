"""Part 4 of issue 6: a table of bad inputs, each answered the documented way by `babe`.

For every row: the documented exit code (2 bad input or configuration, 4 platform unreachable or
credentials refused — docs/cli.md), exactly one line on stderr that names the problem (`word`) and
says what to do, no traceback, and the local MTurk's state (HITs, their assignments and bonuses,
the balance) exactly as before, and so are the experiment's files and every row in `.babe/` (no
plan recorded). The experiment has posted HITs and submitted work, so a bad input that slipped
through would have something to change. Issue 14 added the rows for configuration that would
silently disable a rule (a misspelt plugin section, an unknown section, a hidden line separator)
and for hostile input (oversized files, an alias bomb, 5,000-digit numbers, URLs the platform
would refuse or cut).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field

import pytest

from .helpers import client, state_dump

OTHER_EXPERIMENT = "other"


@dataclass
class Case:
    """One bad input: the command, files to write first, environment, and the expected answer."""

    name: str
    args: tuple[str, ...]
    code: int
    word: str
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


HEADER = "worker_id,assignment_id,amount,reason\n"


def alias_bomb(levels: int) -> str:
    """A "billion laughs" YAML: each level is nine aliases of the one before (9**levels values in all)."""
    names = "abcdefghij"[:levels]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * 9)}]"]
    lines += [f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]" for prev, name in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


#: The experiment's own settings (as `make_experiment` writes them), for rows that add to invoke.yaml.
PAGE = 'babe:\n  url: https://example.org/experiment/\n  title: T\n  description: D\n  reward: "0.50"\n'

# Placeholders filled from the posted experiment: {W} a worker, {A} and {A2} two of its assignments,
# {H} one of its HITs, {OA} an assignment and {OH} a HIT of another experiment, {REFUSE} a server
# that refuses every credential.
CASES = [
    # -- flags ------------------------------------------------------------------------------------
    Case("unknown task", ("nosuchtask",), 2, "nosuchtask"),
    Case("unknown flag", ("create", "--nope"), 2, "--nope"),
    Case("assignments not a number", ("create", "--assignments", "many"), 2, "many"),
    Case("assignments zero", ("create", "--assignments", "0"), 2, "assignments"),
    Case("assignments negative", ("create", "--assignments", "-3"), 2, "assignments"),
    Case("reward not money", ("create", "--assignments", "5", "--reward", "lots"), 2, "reward"),
    Case("reward three decimals", ("create", "--assignments", "5", "--reward", "0.505"), 2, "reward"),
    Case("reward negative", ("create", "--assignments", "5", "--reward", "-1"), 2, "reward"),
    Case("unknown target", ("create", "--assignments", "5", "--target", "moon"), 2, "moon"),
    Case("lifetime not a duration", ("create", "--assignments", "5", "--lifetime", "soon"), 2, "soon"),
    Case("duration zero", ("create", "--assignments", "5", "--duration", "0"), 2, "duration"),
    Case("approve an unknown assignment", ("approve", "--assignment", "NOSUCHASSIGNMENT0000000000000"), 2, "NOSUCHASSIGNMENT"),
    Case("expire an unknown HIT", ("expire", "--hit", "NOSUCHHIT000000000000000000000"), 2, "NOSUCHHIT"),
    Case("status of an unknown HIT", ("status", "--hit", "NOSUCHHIT000000000000000000000"), 2, "NOSUCHHIT"),
    Case("HIT id from another target (expire)",
         ("expire", "--hit", "{H}", "--target", "sandbox", "--endpoint-url", "{REFUSE}"), 2, "--target local",
         env={"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake"}),
    Case("HIT id from another target (approve)",
         ("approve", "--hit", "{H}", "--target", "sandbox", "--endpoint-url", "{REFUSE}", "--yes"), 2, "--target local",
         env={"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake"}),
    Case("extend beyond what MTurk allows", ("extend", "--assignments", "50"), 2, "--split"),
    Case("extend lifetime not a duration", ("extend", "--lifetime", "later"), 2, "later"),
    Case("bonus amount without reason", ("bonus", "--worker", "{W}", "--assignment", "{A}", "--amount", "1.00"), 2, "reason"),
    Case("bonus amount zero", ("bonus", "--worker", "{W}", "--assignment", "{A}", "--amount", "0", "--reason", "x"), 2, "amount"),
    Case("bonus for another experiment's assignment",
         ("bonus", "--worker", "{W}", "--assignment", "{OA}", "--amount", "1.00", "--reason", "x"), 2, "{OA}"),
    Case("reject without a reason", ("reject", "--assignment", "{A}"), 2, "reason"),
    # -- environment and settings -----------------------------------------------------------------
    Case("BABE_REWARD not money", ("create", "--assignments", "5"), 2, "reward", env={"BABE_REWARD": "cheap"}),
    Case("BABE_TARGET unknown", ("status",), 2, "mars", env={"BABE_TARGET": "mars"}),
    Case("BABE_PLATFORM unknown", ("status",), 2, "carrier-pigeon", env={"BABE_PLATFORM": "carrier-pigeon"}),
    Case("platform flag unknown", ("approve", "--platform", "nosuch", "--yes"), 2, "nosuch"),
    Case("local clock not a duration", ("local.clock", "--advance", "yesterday"), 2, "yesterday"),
    Case("BABE_MAX_CONCURRENCY zero", ("status",), 2, "max_concurrency", env={"BABE_MAX_CONCURRENCY": "0"}),
    Case("BABE_LOCAL_FAULTS malformed", ("status",), 2, "BABE_LOCAL_FAULTS", env={"BABE_LOCAL_FAULTS": "throttle=lots"}),
    Case("BABE_LOCAL_FAULTS over 1", ("status",), 2, "BABE_LOCAL_FAULTS", env={"BABE_LOCAL_FAULTS": "throttle=0.9,fault=0.9"}),
    # -- invoke.yaml ------------------------------------------------------------------------------
    Case("invoke.yaml not YAML", ("status",), 2, "invoke.yaml", files={"invoke.yaml": "babe:\n  url: [unclosed\n"}),
    Case("invoke.yaml tab indentation", ("status",), 2, "invoke.yaml", files={"invoke.yaml": "babe:\n\turl: x\n"}),
    Case("invoke.yaml unknown key", ("status",), 2, "colour", files={"invoke.yaml": "babe:\n  colour: blue\n"}),
    Case("invoke.yaml babe is a list", ("status",), 2, "babe", files={"invoke.yaml": "babe:\n  - url\n"}),
    Case("invoke.yaml http url", ("create", "--assignments", "5"), 2, "url",
         files={"invoke.yaml": "babe:\n  url: http://example.org/x/\n  title: T\n  description: D\n"}),
    Case("invoke.yaml reward with three decimals", ("create", "--assignments", "5"), 2, "reward",
         files={"invoke.yaml": "babe:\n  url: https://example.org/x/\n  title: T\n  description: D\n  reward: 0.505\n"}),
    # -- bonus CSV --------------------------------------------------------------------------------
    Case("bonus csv bad amount", ("bonus", "--csv", "b.csv"), 2, "$1", files={"b.csv": HEADER + "{W},{A},$1,thanks\n"}),
    Case("bonus csv duplicate row", ("bonus", "--csv", "b.csv"), 2, "line 3",
         files={"b.csv": HEADER + "{W},{A},1.00,thanks\n{W},{A},1.00,thanks\n"}),
    Case("bonus csv unknown assignment", ("bonus", "--csv", "b.csv"), 2, "NOSUCHASSIGNMENT",
         files={"b.csv": HEADER + "{W},NOSUCHASSIGNMENT0000000000000,1.00,thanks\n"}),
    Case("bonus csv negative", ("bonus", "--csv", "b.csv"), 2, "-1.00", files={"b.csv": HEADER + "{W},{A},-1.00,thanks\n"}),
    Case("bonus csv three decimals", ("bonus", "--csv", "b.csv"), 2, "1.005", files={"b.csv": HEADER + "{W},{A},1.005,thanks\n"}),
    Case("bonus csv missing column", ("bonus", "--csv", "b.csv"), 2, "reason",
         files={"b.csv": "worker_id,assignment_id,amount\n{W},{A},1.00\n"}),
    Case("bonus csv wrong worker", ("bonus", "--csv", "b.csv"), 2, "{A}", files={"b.csv": HEADER + "AWRONGWORKER00,{A},1.00,x\n"}),
    Case("bonus csv another experiment's assignment", ("bonus", "--csv", "b.csv"), 2, "{OA}",
         files={"b.csv": HEADER + "{W},{OA},1.00,thanks\n"}),
    Case("bonus csv header only", ("bonus", "--csv", "b.csv"), 2, "b.csv", files={"b.csv": HEADER}),
    Case("cost of a bonus csv with a bad amount", ("cost", "--bonus-csv", "b.csv"), 2, "1,00",
         files={"b.csv": HEADER + '{W},{A},"1,00",thanks\n'}),
    Case("reject an unknown assignment", ("reject", "--assignment", "NOSUCHASSIGNMENT0000000000000", "--reason", "x"), 2,
         "NOSUCHASSIGNMENT"),
    Case("bonus csv missing file", ("bonus", "--csv", "nosuch.csv"), 2, "nosuch.csv"),
    Case("bonus csv one bad row among good", ("bonus", "--csv", "b.csv"), 2, "line 3",
         files={"b.csv": HEADER + "{W},{A},1.00,thanks\n{W},{A2},1.0.0,thanks\n"}),
    # -- config/config_deploy.js (read by `babe init`: a broken one is refused, nothing written) --------
    Case("config_deploy.js object never closed", ("init",), 2, "config_deploy.js line 1",
         files={"config/config_deploy.js": 'var config_deploy = {\n  "experimentID": "12",\n  "deployMethod": "MTurk"\n'}),
    Case("config_deploy.js string never closed", ("init",), 2, "config_deploy.js line 2",
         files={"config/config_deploy.js": 'var config_deploy = {\n  "experimentID": "12,\n  "deployMethod": "MTurk"\n};\n'}),
    Case("config_deploy.js missing comma", ("init",), 2, "config_deploy.js line 3: a comma is missing",
         files={"config/config_deploy.js": 'var config_deploy = {\n  "experimentID": "12"\n  "deployMethod": "MTurk"\n};\n'}),
    Case("config_deploy.js unquoted deployMethod", ("init",), 2, "config_deploy.js line 2: the value MTurk",
         files={"config/config_deploy.js": "var config_deploy = {\n  deployMethod: MTurk,\n};\n"}),
    Case("config_deploy.js unknown deployMethod", ("init",), 2, "deployMethod 'Mturk'",
         files={"config/config_deploy.js": "// typo\nvar config_deploy = {\n  deployMethod: 'Mturk',\n};\n"}),
    # -- plugins ----------------------------------------------------------------------------------
    Case("unknown plugin (strict)", ("status", "--strict-plugins"), 2, "nosuchplugin", env={"BABE_PLUGINS": "nosuchplugin"}),
    Case("plugin raises on import (strict)", ("status", "--strict-plugins"), 2, "broken",
         files={"plugins/broken.py": "raise RuntimeError('cannot start')\n"}),
    # -- issue 14: configuration that cannot silently disable a rule -----------------------------
    Case("invoke.yaml misspelt plugin section", ("create", "--assignments", "5", "--yes"), 2, "did you mean spend-check?",
         files={"invoke.yaml": PAGE + "  plugins:\n    spend_check:\n      most: 1\n",
                "plugins/spend-check.py": "def babe_before_create(settings, plan):\n    pass\n"}),
    Case("invoke.yaml unknown section", ("status",), 2, "unknown section runn in", files={"invoke.yaml": PAGE + "runn:\n  echo: true\n"}),
    Case("invoke.yaml unknown key of invoke's", ("status",), 2, "run.ecko", files={"invoke.yaml": PAGE + "run:\n  ecko: true\n"}),
    Case("invoke.yaml key set twice", ("create", "--assignments", "5"), 2, "line 6: reward is set twice",
         files={"invoke.yaml": PAGE + '  reward: "7.77"\n'}),
    Case("invoke.yaml hidden line separator", ("status",), 2, "line 3: a LINE SEPARATOR (U+2028)",
         files={"invoke.yaml": "babe:\n  title: T\n  description: D\u2028  reward: '7.77'\n"}),
    Case("invoke.yaml quote never closed", ("status",), 2, "invoke.yaml line 2: not valid YAML (a quoted text starts here",
         files={"invoke.yaml": 'babe:\n  title: "T\n  description: D\n\n\n'}),
    Case("misspelt flag", ("create", "--asignments", "5"), 2, "did you mean --assignments?"),
    Case("misspelt task", ("creat",), 2, "did you mean create?"),
    # -- issue 14: hostile input ------------------------------------------------------------------
    Case("invoke.yaml alias bomb", ("status",), 2, "aliases", files={"invoke.yaml": PAGE + alias_bomb(6)}),
    Case("invoke.yaml over 1 MB", ("status",), 2, "larger than 1 MB", files={"invoke.yaml": PAGE + "#" * 1_000_000 + "\n"}),
    Case("config_deploy.js over 1 MB", ("init",), 2, "config/config_deploy.js is larger than 1 MB",
         files={"config/config_deploy.js": 'var config_deploy = {\n  "experimentID": "' + "x" * 1_000_000 + '",\n'
                '  "deployMethod": "MTurkSandbox"\n};\n'}),
    Case("bonus csv over 20 MB", ("bonus", "--csv", "b.csv"), 2, "b.csv is larger than 20 MB",
         files={"b.csv": HEADER + "{W},{A},1.00,thanks\n" * 1_000_000}),
    Case("reject --from file over 20 MB", ("reject", "--from", "ids.txt", "--reason", "x"), 2, "ids.txt is larger than 20 MB",
         files={"ids.txt": "{A}\n" * 700_000}),
    Case("assignments of 5,000 digits", ("create", "--assignments", "9" * 5000), 2, "assignments"),
    Case("BABE_ASSIGNMENTS of 5,000 digits", ("create",), 2, "BABE_ASSIGNMENTS", env={"BABE_ASSIGNMENTS": "9" * 5000}),
    Case("lifetime of 5,000 digits", ("create", "--assignments", "5", "--lifetime", "9" * 5000 + "s"), 2, "lifetime"),
    Case("invoke.yaml number of 5,000 digits", ("status",), 2, "invoke.yaml line 6: a number of 5,000 characters",
         files={"invoke.yaml": PAGE + "  assignments: " + "9" * 5000 + "\n"}),
    Case("reward of 5,000 digits", ("create", "--assignments", "5", "--reward", "9" * 5000), 2, "reward"),
    Case("url with a space", ("create", "--assignments", "5", "--url", "https://example.org/my exp/", "--yes"), 2, "U+0020"),
    Case("url with a newline", ("create", "--assignments", "5", "--url", "https://example.org/x/\nmore", "--yes"), 2, "U+000A"),
    Case("url with a line separator", ("create", "--assignments", "5", "--url", "https://example.org/x/\u2028y", "--yes"), 2,
         "U+2028"),
    Case("url over 2,048 characters", ("create", "--assignments", "5", "--url", "https://example.org/" + "a" * 2100, "--yes"), 2,
         "at most 2,048"),
    Case("url port not a number", ("create", "--assignments", "5", "--url", "https://example.org:44x/", "--yes"), 2, "44x"),
    Case("invoke.yaml url with a space", ("create", "--assignments", "5", "--yes"), 2, "(set by babe.url in",
         files={"invoke.yaml": "babe:\n  url: https://example.org/my exp/\n  title: T\n  description: D\n  reward: '0.50'\n"}),
    # -- the platform -----------------------------------------------------------------------------
    Case("unreachable endpoint", ("status", "--endpoint-url", "http://127.0.0.1:1"), 4, "http://127.0.0.1:1",
         env={"AWS_MAX_ATTEMPTS": "2"}),
    Case("refused credentials", ("create", "--assignments", "5", "--target", "sandbox", "--endpoint-url", "{REFUSE}",
                                 "--yes"), 4, "credentials", env={"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake"}),
]


@pytest.fixture
def refusing_server(httpserver):
    """A server answering every call as AWS does for unknown credentials (400 UnrecognizedClientException)."""
    body = json.dumps({"__type": "UnrecognizedClientException", "message": "The security token is invalid."})
    httpserver.expect_request(re.compile("/.*"), method="POST").respond_with_data(
        body, status=400, content_type="application/x-amz-json-1.1"
    )
    return httpserver.url_for("/").rstrip("/")


#: Built once per process: the posted experiments, copied into each test's own folder.
_TEMPLATE: dict = {}


def _build_template(babe, root, monkeypatch) -> dict:
    """exp1 with two HITs of submitted work, and experiment `other` with one HIT of its own."""
    from babe_mturk.local.service import LocalTurk
    from babe_mturk.local.workers import simulate

    from .helpers import assignments, make_experiment

    state = root / "localturk.sqlite"
    monkeypatch.setenv("BABE_LOCAL_STATE", str(state))
    other, mine = make_experiment(root, OTHER_EXPERIMENT), make_experiment(root, "exp1")
    monkeypatch.chdir(other)
    other_hit = babe("create", "--assignments", "2", "--json").json["hits"][0]["hit_id"]
    monkeypatch.chdir(mine)
    run = babe("create", "--assignments", "12", "--json")
    assert run.code == 0, run
    hit_ids = [h["hit_id"] for h in run.json["hits"]]
    turk = LocalTurk(str(state))
    try:
        simulate(turk, seed=2)
    finally:
        turk.store.close()
    assert babe("status").code == 0
    mturk = client(state)
    own = assignments(mturk, hit_ids[0])
    theirs = assignments(mturk, other_hit)
    return {
        "W": own[0]["WorkerId"],
        "A": own[0]["AssignmentId"],
        "A2": own[1]["AssignmentId"],
        "H": hit_ids[0],
        "OA": theirs[0]["AssignmentId"],
        "OH": other_hit,
    }


@pytest.fixture
def posted(babe, tmp_path, state_path, monkeypatch, tmp_path_factory, ledger_engine):
    """This test's copy of the posted experiments: (exp1's folder, the ids to fill in).

    On SQLite the ledgers are files in the folders, so the experiments are posted once per process
    and copied. On PostgreSQL the ledger is this test's own database: they are posted again into it.
    """
    template = _TEMPLATE if ledger_engine == "sqlite" else {}
    if not template:
        root = tmp_path_factory.mktemp("bad-input-template")
        template.update(root=root, values=_build_template(babe, root, monkeypatch))
        monkeypatch.setenv("BABE_LOCAL_STATE", str(state_path))
    root = template["root"]
    for part in root.glob("localturk.sqlite*"):  # the database and, if any, its WAL files
        shutil.copyfile(part, state_path.with_name(part.name))
    for name in ("exp1", OTHER_EXPERIMENT):
        shutil.copytree(root / name, tmp_path / name)
    monkeypatch.chdir(tmp_path / "exp1")
    return tmp_path / "exp1", template["values"]


def test_the_table_has_forty_rows():
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input(case, babe, posted, state_path, monkeypatch, refusing_server):
    experiment, ids = posted
    values = {**ids, "REFUSE": refusing_server}

    def fill(text: str) -> str:
        for key in sorted(values, key=len, reverse=True):
            text = text.replace("{" + key + "}", values[key])
        return text

    for name, content in case.files.items():
        path = experiment / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(content))
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = state_dump(client(state_path))
    files_before = _files(experiment)
    ledger_before = _ledger(experiment)

    run = babe(*(fill(arg) for arg in case.args))

    assert run.code == case.code, run
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1, run
    assert lines[0].startswith("error: "), run
    assert fill(case.word) in lines[0], run
    assert "Traceback" not in run.err + run.out, run
    for key in case.env:
        monkeypatch.delenv(key)
    assert state_dump(client(state_path)) == before
    assert files_before == _files(experiment), "a refused command wrote files"
    assert ledger_before == _ledger(experiment), "a refused command recorded something in .babe/ (a plan?)"


def _files(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and ".babe" not in p.parts}


def _ledger(folder) -> dict[str, list[tuple]]:
    """Every row of every non-empty table of every SQLite file in `.babe/`, read with plain sqlite3,
    and, under `--ledger=postgresql`, of the test's ledger database (as `ledger:<table>`)."""
    import os
    import sqlite3

    from babe_tasks.testing.postgres import ledger_rows

    rows: dict[str, list[tuple]] = {}
    for path in sorted((folder / ".babe").glob("*.sqlite")):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:  # a table created empty by a newer step is not a record
                found = sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
                if found:
                    rows[f"{path.name}:{table}"] = found
        finally:
            db.close()
    if os.environ.get("BABE_LEDGER_URL"):
        listed = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        for (table,) in ledger_rows(folder, listed):
            found = sorted((tuple(row) for row in ledger_rows(folder, f'SELECT * FROM "{table}"')), key=repr)
            if found:
                rows[f"ledger:{table}"] = found
    return rows


def _plans(rows: dict[str, list[tuple]]) -> list[tuple]:
    """The ledger's plans among `_ledger`'s rows, on either engine."""
    return rows.get("ledger.sqlite:plans", []) + rows.get("ledger:plans", [])


def test_a_misspelt_payment_cap_section_is_refused_and_the_right_one_caps(babe, experiment, state_path, monkeypatch):
    """Issue 14: `payment_cap:` for `payment-cap:` left the cap on its defaults (no cap) and create posted."""
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")  # the lab plugins, as installed
    monkeypatch.setenv("BABE_PLUGINS", "payment-cap")
    before = state_dump(client(state_path))
    for section, code, word in (("payment_cap", 2, "did you mean payment-cap?"), ("payment-cap", 3, "payment-cap")):
        (experiment / "invoke.yaml").write_text(PAGE + f'  plugins:\n    {section}:\n      experiment: "1.00"\n')
        run = babe("create", "--assignments", "5", "--yes")
        assert run.code == code, run
        assert word in run.err and len(run.err.strip().splitlines()) == 1, run
        assert state_dump(client(state_path)) == before
        assert not _plans(_ledger(experiment)), run
