"""`babe init --makefile`: opt-in, the experiment's name in it, never over an existing Makefile."""

from __future__ import annotations


def test_init_writes_a_makefile_only_when_asked_and_never_over_one(babe, experiment):
    plain = babe("init", "--json")
    assert plain.code == 0, plain
    assert "Makefile" not in plain.json["written"] and not (experiment / "Makefile").exists()

    asked = babe("init", "--makefile", "--json")
    assert asked.code == 0, asked
    assert asked.json["written"] == ["Makefile"]
    text = (experiment / "Makefile").read_text()
    assert "PILOT_NAME ?= exp1-pilot" in text and "@EXPERIMENT@" not in text
    for target in ("pilot", "launch", "wait", "review", "pay", "close", "data", "report"):
        assert f"\n{target}:\n" in text
    assert "--again" not in text.split(".PHONY")[1] and "extend" not in text.split(".PHONY")[1]

    (experiment / "Makefile").write_text("all:\n\techo mine\n")
    again = babe("init", "--makefile", "--json")
    assert again.code == 0 and "Makefile" in again.json["kept"]
    assert (experiment / "Makefile").read_text() == "all:\n\techo mine\n"


def test_init_makefile_for_a_named_experiment(babe, tmp_path):
    run = babe("init", "--folder", str(tmp_path / "study"), "--experiment", "garden-path", "--makefile")
    assert run.code == 0, run
    assert "PILOT_NAME ?= garden-path-pilot" in (tmp_path / "study" / "Makefile").read_text()
