"""`babe-prolific demo`: a study's whole life on the local Prolific, offline, in a scratch folder.

The demo runs the real `babe` and `babe-prolific` programs; these tests check what it did from the
outside — its JSON steps, the local Prolific's own state in the kept folder (studies, submissions,
bonus payments) — and that the lab's environment is untouched: settings that would send the run
elsewhere (an endpoint, a state file, a token, a plugin choice) are set in the test's environment
and must be neither used nor changed, and no file may appear outside the scratch folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from babe_prolific import demo as prolific_demo
from babe_prolific.cli import main as babe_prolific
from babe_prolific.routing import LOCAL_TOKEN

from .conftest import Local

LAB_TOKEN = "lab-token-that-must-stay-home"
PROGRAMS_AND_TASKS = [
    "babe-prolific code", "mkdir -p", "babe init", "cat >>", "babe create", "babe-prolific participants",
    "babe status", "babe approve", "babe bonus", "babe expire", "babe results", "babe cost",
]


@pytest.fixture
def lab(tmp_path, monkeypatch, httpserver):
    """A lab's shell: its own endpoint, state file, token and plugin choice in the environment, a
    home and a temporary folder of its own, and an empty working directory. Yields what reached
    the lab's endpoint (`.leaked`) and every Authorization header the local Prolific saw (`.tokens`)."""
    # The "lab's own Prolific" (pytest-httpserver): any request that reaches it is a leak of the lab's settings.
    seen: list[str] = []

    def record(request):
        from werkzeug import Response

        seen.append(f"{request.method} {request.full_path} {request.headers.get('Authorization')}")
        return Response(status=500)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(record)
    monkeypatch.setenv("BABE_ENDPOINT_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("PROLIFIC_TOKEN", LAB_TOKEN)
    monkeypatch.setenv("BABE_PROLIFIC_FAULTS", "throttle=1.0,seed=1")
    # (the Prolific conftest already points BABE_PROLIFIC_STATE at tmp_path/prolific.sqlite and sets BABE_PLUGINS)
    for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    tokens: list[str] = []
    from babe_prolific.local.app import LocalProlific

    authenticate = LocalProlific._authenticate

    def recording(self, request):
        tokens.append(request.headers.get("authorization", ""))
        return authenticate(self, request)

    monkeypatch.setattr(LocalProlific, "_authenticate", recording)
    yield SimpleNamespace(tokens=tokens, leaked=seen)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def run_demo(capsys, *args: str) -> tuple[int, str, str]:
    code = babe_prolific(["demo", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_demo_takes_a_study_through_its_whole_life_and_leaves_the_lab_alone(capsys, tmp_path, lab):
    before_env = dict(os.environ)
    before_files = files_under(tmp_path)
    folder = tmp_path / "kept"
    code, out, err = run_demo(capsys, "--folder", str(folder), "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["folder"] == str(folder) and document["kept"] is True
    steps = document["steps"]
    assert len(steps) == len(PROGRAMS_AND_TASKS)
    for step, start in zip(steps, PROGRAMS_AND_TASKS):
        assert step["command"].startswith(start) and step["exit_code"] == 0, step
    code_, deploy, init, yaml, create, people, status, approve, bonus, expire, results, cost = (s["result"] for s in steps)

    assert init["written"] == ["invoke.yaml", "tasks.py", "plugins/README.txt"]
    assert init["platform"] == "prolific"  # chosen from the page's deployMethod
    assert code_["origin"] == "random"
    assert yaml == {"file": "invoke.yaml", "appended": prolific_demo.INVOKE_YAML}
    (hit,) = create["hits"]
    study = hit["hit_id"]
    assert hit["assignments"] == prolific_demo.PLACES
    assert create["platform"]["completion_code"] == code_["completion_code"]
    assert code_["completion_url"] in deploy["written"]  # the page's prolificURL carries the study's code
    assert sorted(p["outcome"] for p in people["participants"]) == ["return"] + ["submit"] * 7
    assert status["totals"]["submitted"] == 7 and status["backend_submissions"] == 7
    assert approve == {"approved": 7, "already_approved": 0, "held": [], "failed": []}
    (paid,) = bonus["paid"]
    assert paid["amount"] == "0.50"
    assert expire["expired"] == [study]
    assert results["submissions"] == 7 and Path(results["path"]).is_file()
    assert cost["bonuses_paid"] == "0.50"

    # What the demo's own local Prolific holds: the study, its approved submissions, the one bonus paid.
    local = Local(folder / ".babe" / "prolific.sqlite")
    assert [s["id"] for s in local.studies()] == [study]
    statuses = sorted(s["status"] for s in local.submissions().values())
    assert statuses == ["APPROVED"] * 7 + ["RETURNED"]
    (payment,) = local.payments()
    assert payment["participant_id"] == paid["worker_id"]
    approved = {s["participant_id"] for s in local.submissions().values() if s["status"] == "APPROVED"}
    assert paid["worker_id"] in approved

    # The lab's environment: not used, not changed, no file anywhere but the scratch folder.
    assert lab.tokens and set(lab.tokens) == {f"Token {LOCAL_TOKEN}"}  # the local Prolific never saw the lab's token
    assert lab.leaked == []  # the lab's BABE_ENDPOINT_URL was not used
    assert not (tmp_path / "prolific.sqlite").exists()  # nor its BABE_PROLIFIC_STATE
    assert dict(os.environ) == before_env
    assert {p for p in files_under(tmp_path) - before_files if folder not in p.parents} == set()
    assert LAB_TOKEN not in out + err + "".join(p.read_text(errors="replace") for p in files_under(folder))


def test_the_text_shows_each_command_with_its_real_output_and_how_to_look_around(capsys, babe, tmp_path, lab, monkeypatch):
    code, out, err = run_demo(capsys, "--keep")
    assert code == 0, err
    for start in PROGRAMS_AND_TASKS:
        assert f"\n$ {start}" in out
    assert "  platform prolific: deployMethod Prolific in config_deploy.js sends participants back to Prolific\n" in out
    assert "      estimated_minutes: 5\n" in out
    assert "Posted 1 study now." in out and "completion code: " in out
    assert "1 return, 7 submit; 7 posted their data to the backend" in out
    assert "Approved 7; already approved 0." in out
    assert "Paid 1 bonus(es): $0.67 with fees." in out
    assert "Expired 1 study now" in out
    assert "Wrote results/prolific-demo-" in out
    (kept,) = (tmp_path / "tmp").iterdir()  # the temporary folder, kept
    root = kept / prolific_demo.EXPERIMENT
    look = out.splitlines()[-1].strip()
    assert look == f"cd {root} && BABE_PROLIFIC_STATE={root / '.babe' / 'prolific.sqlite'} babe status"
    # The command it prints works: the kept study, as the demo left it.
    monkeypatch.chdir(root)
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(root / ".babe" / "prolific.sqlite"))
    monkeypatch.delenv("BABE_ENDPOINT_URL")
    monkeypatch.delenv("BABE_PROLIFIC_FAULTS")
    monkeypatch.delenv("BABE_PLUGINS")
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", "unused")  # the demo's backend is gone; status only counts
    run = babe("status", "--json")
    assert run.json["totals"]["approved"] == 7, run


def test_without_keep_the_scratch_folder_is_removed(capsys, tmp_path, lab):
    code, out, err = run_demo(capsys)
    assert code == 0, err
    assert "The scratch folder is removed; `babe-prolific demo --keep` keeps it to look around." in out
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "cwd").iterdir()) == []


def test_folder_must_be_new_or_empty(capsys, tmp_path, lab):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the lab's")
    code, out, err = run_demo(capsys, "--folder", str(tmp_path / "mine"))
    assert code == 2
    assert err.splitlines() == [f"babe-prolific: --folder {tmp_path / 'mine'} is not an empty folder: the demo only runs in a new one"]
    assert out == ""
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    code, out, err = run_demo(capsys, "--folder", str(tmp_path / "mine"), "--json")
    assert code == 2
    assert json.loads(out)["error"]["exit_code"] == 2 and len(err.splitlines()) == 1


def test_a_failing_step_stops_the_demo_with_its_exit_code_and_says_which(capsys, tmp_path, lab, monkeypatch):
    # A lab's estimate of 60 minutes makes $1.00 too little pay: create refuses before posting (exit 2).
    monkeypatch.setattr(prolific_demo, "INVOKE_YAML", prolific_demo.INVOKE_YAML.replace("estimated_minutes: 5", "estimated_minutes: 60"))
    before_env = dict(os.environ)
    folder = tmp_path / "failed"
    code, out, err = run_demo(capsys, "--folder", str(folder))
    assert code == 2
    assert "$ babe create" in out and "$ babe-prolific participants" not in out
    assert err.splitlines()[-1].startswith("babe-prolific: demo step `babe create --url")
    assert err.splitlines()[-1].endswith("failed with exit code 2")
    assert Local(folder / ".babe" / "prolific.sqlite").studies() == []  # nothing posted
    assert dict(os.environ) == before_env
    code, out, err = run_demo(capsys, "--json")
    assert code == 2
    assert json.loads(out)["error"]["message"].startswith("demo step `babe create")
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary folder is removed after a failure too


def test_babe_demo_keeps_its_temporary_folder_with_keep_too(babe, tmp_path, lab):
    """The scaffolding both demos share: a kept temporary folder outlives the run (it once vanished
    when the TemporaryDirectory holding it was garbage-collected)."""
    import gc

    run = babe("demo", "--keep")
    assert run.code == 0, run
    gc.collect()
    (kept,) = (tmp_path / "tmp").iterdir()
    assert f"cd {kept / 'babe-demo'} && BABE_LOCAL_STATE=" in run.out
    assert (kept / "babe-demo" / "invoke.yaml").is_file() and (kept / "babe-demo" / "localturk.sqlite").is_file()
