"""`babe report` counts what extensions added: the ledger keeps each HIT's size at posting, and an
extended experiment must not read "22 of 20 assignments"."""

from __future__ import annotations


def test_the_report_counts_extensions_and_split_hits(babe, experiment):
    assert babe("create", "--assignments", "20").code == 0
    extended = babe("extend", "--assignments", "4", "--json")
    assert extended.code == 0, extended
    split = babe("extend", "--assignments", "4", "--split", "--json")
    assert split.code == 0, split

    run = babe("report", "--json")

    assert run.code == 0, run
    [written] = run.json["reports"]
    assert written["assignments_posted"] == 28
    text = babe("report")
    assert " of 28 assignments in," in text.out
