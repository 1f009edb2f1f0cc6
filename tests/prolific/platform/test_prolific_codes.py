"""The completion code: random per experiment, kept in the ledger, and an older experiment's kept.

Anyone who knows a study's completion code can be credited without doing the study, so the code
must not be computable from the experiment's name (as it was: 8 hex digits of its sha256). Every
test runs the real `babe` / `babe-prolific` against the local Prolific and reads the code the
study actually carries there.
"""

from __future__ import annotations

import hashlib
import json
import re

from babe_prolific.cli import main as babe_prolific

from .conftest import write_config


def derived(experiment: str) -> str:
    return hashlib.sha256(experiment.encode()).hexdigest()[:8].upper()


def code_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert babe_prolific(["code", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def study_codes(local) -> list[str]:
    return [study["completion_codes"][0]["code"] for study in local.studies()]


def test_the_code_is_random_not_derived_from_the_name_and_differs_between_folders(experiment, tmp_path, capsys):
    first = code_json(capsys)
    assert first["origin"] == "random"
    assert first["completion_code"] != derived("exp1")
    assert re.fullmatch(r"[A-Z2-9]{10}", first["completion_code"]), first
    other = tmp_path / "elsewhere"
    other.mkdir()
    write_config(other, experiment="exp1")  # the same experiment name in another folder
    second = code_json(capsys, "--folder", str(other))
    assert second["completion_code"] != first["completion_code"]


def test_the_kept_code_is_what_create_posts_and_what_every_run_prints(babe, experiment, capsys, local):
    printed = code_json(capsys)["completion_code"]
    assert code_json(capsys)["completion_code"] == printed  # kept, not drawn again
    created = babe("create", "--json")
    assert created.code == 0, created
    assert created.json["platform"]["completion_code"] == printed
    assert created.json["platform"]["completion_url"].endswith(f"?cc={printed}")
    assert babe("create", "--again").code == 0  # a second study of the experiment: the page's one code
    assert study_codes(local) == [printed, printed]
    text = babe("create", "--again")
    assert f"completion code: {printed}" in text.out


def test_create_draws_and_keeps_the_code_when_nothing_asked_for_it_first(babe, experiment, capsys, local):
    assert babe("create").code == 0
    (posted,) = study_codes(local)
    assert posted != derived("exp1")
    assert code_json(capsys) == {
        "experiment": "exp1",
        "completion_code": posted,
        "completion_url": f"https://app.prolific.com/submissions/complete?cc={posted}",
        "origin": "random",
    }


def test_a_configured_code_wins_and_is_not_kept(babe, experiment, configure, capsys, local):
    random_one = code_json(capsys)["completion_code"]
    configure(plugins={"prolific": {"estimated_minutes": 10, "completion_code": "LAB2026X"}})
    assert code_json(capsys)["completion_code"] == "LAB2026X"
    assert babe("create").code == 0
    assert study_codes(local) == ["LAB2026X"]
    configure()  # the setting removed: the kept random code again
    assert code_json(capsys)["completion_code"] == random_one


def test_an_experiment_posted_with_the_derived_code_keeps_it(babe, experiment, configure, capsys, local):
    """What an older babe-tasks left: a study carrying the derived code, and no kept code."""
    configure(plugins={"prolific": {"estimated_minutes": 10, "completion_code": derived("exp1")}})
    assert babe("create").code == 0
    configure()
    capsys.readouterr()
    assert babe_prolific(["code"]) == 0  # read from the study on the local Prolific
    out = capsys.readouterr().out
    assert f"completion code {derived('exp1')} (the name-derived code the experiment's studies carry" in out
    assert "anyone who knows the experiment's name can compute it" in out
    assert code_json(capsys)["origin"] == "derived"
    assert babe("create", "--again", "--assignments", "3").code == 0
    assert study_codes(local) == [derived("exp1"), derived("exp1")]


def test_when_prolific_cannot_answer_an_older_experiment_keeps_the_derived_code(
    babe, experiment, configure, capsys, monkeypatch, tmp_path
):
    configure(plugins={"prolific": {"estimated_minutes": 10, "completion_code": "OLDPAGE7"}})
    assert babe("create").code == 0
    configure()
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(tmp_path / "another-account.sqlite"))  # the study is not there
    kept = code_json(capsys)
    assert (kept["completion_code"], kept["origin"]) == (derived("exp1"), "derived")


def test_an_earlier_studys_code_is_read_from_prolific_by_the_next_create(babe, experiment, configure, capsys, local):
    """The ledger lists a study but keeps no code: create asks Prolific which code that study carries."""
    configure(plugins={"prolific": {"estimated_minutes": 10, "completion_code": "OLDPAGE7"}})
    assert babe("create").code == 0
    configure()
    assert babe("create", "--again", "--assignments", "3").code == 0
    assert study_codes(local) == ["OLDPAGE7", "OLDPAGE7"]
    kept = code_json(capsys)
    assert (kept["completion_code"], kept["origin"]) == ("OLDPAGE7", "earlier-study")


def test_a_page_made_for_the_derived_code_keeps_it(experiment, capsys):
    (experiment / "config").mkdir()
    (experiment / "config" / "config_deploy.js").write_text(
        'var config_deploy = {\n  "deployMethod": "Prolific",\n'
        f'  "prolificURL": "https://app.prolific.com/submissions/complete?cc={derived("exp1")}"\n}};\n'
    )
    kept = code_json(capsys)
    assert (kept["completion_code"], kept["origin"]) == (derived("exp1"), "page")


def test_a_page_with_another_code_does_not_decide_the_code(experiment, capsys):
    (experiment / "config").mkdir()
    (experiment / "config" / "config_deploy.js").write_text(
        'var config_deploy = {\n  "deployMethod": "Prolific",\n'
        '  "prolificURL": "https://app.prolific.com/submissions/complete?cc=ABCD1234"\n};\n'
    )
    kept = code_json(capsys)
    assert kept["origin"] == "random" and kept["completion_code"] not in ("ABCD1234", derived("exp1"))


def test_two_runs_choosing_at_once_keep_one_code(experiment):
    from babe_prolific.codes import Code, Codes

    from babe_tasks.ledger import Ledger

    with Ledger(experiment) as ledger, Codes(ledger) as first, Codes(ledger) as second:
        won = first.keep("exp1", Code("FIRSTWINS2", "random"))
        assert second.keep("exp1", Code("SECONDLOST", "random")) == won == Code("FIRSTWINS2", "random")


def test_create_and_status_print_the_study_id_whole_in_a_narrow_terminal(babe, experiment, monkeypatch, local):
    """The id `babe-prolific participants --study` takes is in the text output, not only in --json."""
    monkeypatch.setenv("COLUMNS", "30")
    created = babe("create")
    assert created.code == 0, created
    (study,) = [s["id"] for s in local.studies()]
    assert f"study id: {study}" in created.out.splitlines()
    assert any(line.startswith(study) for line in babe("status").out.splitlines())
