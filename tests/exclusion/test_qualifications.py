"""`create --locale/--min-approval/--min-approved/--masters/--qualification`: what reaches MTurk,
whom it keeps out (simulated workers), what it costs, and what is refused before any call."""

from __future__ import annotations

import pytest

from babe_mturk.local.workers import simulate
from babe_tasks.planning import MASTERS_IDS
from babe_tasks.qualifications import (
    LOCALE,
    NUMBER_HITS_APPROVED,
    PERCENT_APPROVED,
    parse_spec,
)

from .conftest import all_hits, own_types, requirements_of

ADULT = "00000000000000000060"


def _ours(requirements: list[dict]) -> list[dict]:
    """The requirements other than the experiment's own DoesNotExist (tested elsewhere)."""
    return [r for r in requirements if r["Comparator"] != "DoesNotExist"]


def test_locale_and_approval_flags_become_mturk_requirements(babe, experiment, mturk):
    run = babe(
        "create", "--assignments", "4", "--locale", "us,CA", "--locale", "US-NY",
        "--min-approval", "95", "--min-approved", "500", "--json",
    )
    assert run.code == 0, run
    requirements = _ours(requirements_of(mturk, run.json["hits"][0]["hit_id"]))
    assert requirements == [
        {
            "QualificationTypeId": LOCALE,
            "Comparator": "In",
            "LocaleValues": [{"Country": "US"}, {"Country": "CA"}, {"Country": "US", "Subdivision": "NY"}],
        },
        {"QualificationTypeId": PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]},
        {"QualificationTypeId": NUMBER_HITS_APPROVED, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [500]},
    ]
    # Requirements cost nothing: 4 × (0.50 + 0.10)
    assert run.json["cost"] == {"rewards": "2.00", "fees": "0.40", "total": "2.40"}


def test_one_locale_is_equal_to_and_keeps_other_countries_out(babe, experiment, turk, mturk):
    run = babe("create", "--assignments", "6", "--locale", "DE", "--json")
    assert run.code == 0, run
    assert _ours(requirements_of(mturk, run.json["hits"][0]["hit_id"])) == [
        {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "DE"}]}
    ]
    from_us = simulate(turk, workers=3, locale="US", seed=1)
    assert from_us["submitted"] == [] and from_us["refused"] == 3
    from_de = simulate(turk, workers=3, locale="DE", seed=2)
    assert len(from_de["submitted"]) == 3


def test_min_approval_keeps_out_workers_below_it(babe, experiment, turk):
    assert babe("create", "--assignments", "6", "--min-approval", "95").code == 0
    low = simulate(turk, workers=2, profile={"percent_approved": 90}, seed=3)
    assert low["submitted"] == [] and low["refused"] == 2
    high = simulate(turk, workers=2, profile={"percent_approved": 99}, seed=4)
    assert len(high["submitted"]) == 2


def test_masters_uses_the_targets_id_and_adds_the_fee(babe, experiment, turk, mturk):
    run = babe("create", "--assignments", "9", "--masters", "--json")
    assert run.code == 0, run
    # 20% + 5% of 0.50 = 0.125 → 0.13 per assignment (half up), × 9
    assert run.json["cost"] == {"rewards": "4.50", "fees": "1.17", "total": "5.67"}
    requirements = _ours(requirements_of(mturk, run.json["hits"][0]["hit_id"]))
    assert requirements == [{"QualificationTypeId": MASTERS_IDS["sandbox"], "Comparator": "Exists"}]
    plain = simulate(turk, workers=2, seed=5)
    assert plain["submitted"] == [] and plain["refused"] == 2
    masters = simulate(turk, workers=2, profile={"masters": True}, seed=6)
    assert len(masters["submitted"]) == 2


def test_masters_is_shown_in_the_plan(babe, experiment):
    run = babe("create", "--assignments", "9", "--masters", "--locale", "US", "--dry-run")
    assert run.code == 0, run
    assert "workers     Locale EqualTo US; Masters" in run.out
    assert "Masters     5% = $0.27" in run.out
    assert "total       $5.67" in run.out


def test_generic_qualification_with_an_alias_and_an_id(babe, experiment, mturk):
    run = babe(
        "create", "--assignments", "2", "--qualification", "Adult:EqualTo:1",
        "--qualification", "00000000000000000040:GreaterThan:100", "--json",
    )
    assert run.code == 0, run
    assert _ours(requirements_of(mturk, run.json["hits"][0]["hit_id"])) == [
        {"QualificationTypeId": ADULT, "Comparator": "EqualTo", "IntegerValues": [1]},
        {"QualificationTypeId": NUMBER_HITS_APPROVED, "Comparator": "GreaterThan", "IntegerValues": [100]},
    ]


def test_requirements_come_from_invoke_yaml_and_the_environment(babe, experiment, mturk, monkeypatch):
    with (experiment / "invoke.yaml").open("a") as yaml:
        yaml.write("  locale: [US, GB]\n  qualifications:\n    - Adult:EqualTo:1\n")
    monkeypatch.setenv("BABE_QUALIFICATIONS", "00000000000000000040:GreaterThanOrEqualTo:10; Locale:NotIn:FR")
    run = babe("create", "--assignments", "2", "--json")
    assert run.code == 0, run
    requirements = _ours(requirements_of(mturk, run.json["hits"][0]["hit_id"]))
    assert [r["QualificationTypeId"] for r in requirements] == [LOCALE, NUMBER_HITS_APPROVED, LOCALE]
    assert requirements[0]["LocaleValues"] == [{"Country": "US"}, {"Country": "GB"}]
    assert requirements[2] == {"QualificationTypeId": LOCALE, "Comparator": "NotIn", "LocaleValues": [{"Country": "FR"}]}


def test_an_existing_custom_type_can_be_required_by_id(babe, experiment, turk, mturk):
    qual = mturk.create_qualification_type(Name="trained", Description="passed training", QualificationTypeStatus="Active")
    type_id = qual["QualificationType"]["QualificationTypeId"]
    assert babe("create", "--assignments", "4", "--qualification", f"{type_id}:Exists").code == 0
    untrained = simulate(turk, worker_ids=["AUNTRAINED01"], seed=7)
    assert untrained["refused"] == 1
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="ATRAINED01", IntegerValue=1)
    assert len(simulate(turk, worker_ids=["ATRAINED01"], seed=8)["submitted"]) == 1


# -- refused before any call -------------------------------------------------------------------------
ELEVEN = [f"--qualification=Q{i:03d}:Exists" for i in range(10)]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--locale", "usa"], "locale 'usa' is not an ISO 3166 country code"),
        (["--locale", "XX"], "locale 'XX' is not an ISO 3166 country code"),
        (["--locale", "US-ZZ"], "names no US state"),
        (["--min-approval", "101"], "min_approval 101 is out of range: use 0 to 100"),
        (["--min-approval", "-1"], "min_approval -1 is out of range"),
        (["--min-approved", "many"], "min_approved 'many' is not a whole number"),
        (["--qualification", "Adult"], "is not ID:Comparator:Values"),
        (["--qualification", "Adult:Equals:1"], "comparator 'Equals' is not one of"),
        (["--qualification", "Adult:EqualTo:1,0"], "EqualTo takes exactly one value"),
        (["--qualification", "Adult:Exists:1"], "Exists takes no values"),
        (["--qualification", "Adult:EqualTo:yes"], "'yes' is not a whole number"),
        (["--qualification", "lowercase:Exists"], "is not a qualification type id"),
        (["--qualification", "PercentAssignmentsApproved:GreaterThan:120"], "a percentage, 0 to 100"),
        (ELEVEN, "a HIT takes at most 10 qualification requirements, this one would carry 11"),
        (ELEVEN[:9] + ["--masters", "--allow-repeat-workers", "--locale", "US"], "would carry 11"),
    ],
)
def test_bad_requirements_exit_2_with_one_line_and_create_nothing(babe, experiment, mturk, flags, message):
    run = babe("create", "--assignments", "20", *flags)
    assert run.code == 2, run
    assert run.out == ""
    assert run.err.count("\n") == 1 and message in run.err, run.err
    assert all_hits(mturk) == []
    assert own_types(mturk) == {}


def test_an_unknown_type_id_is_refused_before_anything_is_created(babe, experiment, mturk):
    run = babe("create", "--assignments", "2", "--qualification", "3NOSUCHTYPE:Exists")
    assert run.code == 2, run
    assert "qualification type 3NOSUCHTYPE does not exist on local" in run.err
    assert all_hits(mturk) == [] and own_types(mturk) == {}


def test_ten_requirements_with_the_experiments_own_are_accepted(babe, experiment, mturk):
    # nine custom types plus the experiment's own make ten
    ids = [
        mturk.create_qualification_type(Name=f"q{i}", Description="d", QualificationTypeStatus="Active")[
            "QualificationType"
        ]["QualificationTypeId"]
        for i in range(9)
    ]
    run = babe("create", "--assignments", "2", *[f"--qualification={q}:DoesNotExist" for q in ids], "--json")
    assert run.code == 0, run
    assert len(requirements_of(mturk, run.json["hits"][0]["hit_id"])) == 10


def test_the_json_error_document_names_the_bad_value(babe, experiment):
    run = babe("create", "--min-approval", "101", "--json")
    assert run.code == 2
    assert run.json == {
        "error": {"exit_code": 2, "message": "min_approval 101 is out of range: use 0 to 100 (a percentage)", "plugin": None}
    }


def test_a_bad_locale_in_invoke_yaml_names_the_file(babe, experiment, mturk):
    with (experiment / "invoke.yaml").open("a") as yaml:
        yaml.write("  locale: usa\n")
    run = babe("create", "--assignments", "2")
    assert run.code == 2
    assert "locale 'usa' is not an ISO 3166 country code" in run.err and "invoke.yaml" in run.err
    assert all_hits(mturk) == []


def test_spec_parsing_normalises_case_and_aliases():
    assert parse_spec("locale:in:us,ca-qc") == {
        "QualificationTypeId": LOCALE,
        "Comparator": "In",
        "LocaleValues": [{"Country": "US"}, {"Country": "CA", "Subdivision": "QC"}],
    }
    assert parse_spec("ABC123:doesnotexist") == {"QualificationTypeId": "ABC123", "Comparator": "DoesNotExist"}
    with pytest.raises(Exception, match="at most 15 values"):
        parse_spec("ABC:In:" + ",".join(str(i) for i in range(16)))
