"""babe-backend's answer to `babe review`: each participant's rows, reaction times and attention checks.

The hook is called the way the core calls it — settings and plugin manager built for the experiment
folder, the Submitted assignments as the platform lists them, `babe_tasks.plugins.collect` — against
the local MTurk (or the local Prolific) and a fake _babe backend over real HTTP on 127.0.0.1. Rows
are matched to submissions by the same rule `approve` holds by; with `hold_failed_checks` the
approve that `babe approve --json` runs holds the submissions the page shows as failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from babe_tasks.testing import write_deploy_config

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
#: What the JSON route returns of each trial (the CSV route returns every key).
KEYS = [
    "assignment_id", "worker_id", "hit_id", "trial_name", "trial_number", "question", "option1", "option2",
    "response", "RT", "attention", "attention_correct", "age", "comments", "startTime",
]
DEFAULT_COLUMNS = ["trial_name", "trial_number", "question", "response", "RT"]
HOLD = "no data in backend"


@pytest.fixture(autouse=True)
def backend_plugin(monkeypatch):
    """babe-backend from its entry point, as installed, and no other lab plugin."""
    monkeypatch.syspath_prepend(str(REPO / "plugins"))
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "babe-backend")


@pytest.fixture
def backend(babe_backend):
    babe_backend.backend.password = PASSWORD
    babe_backend.backend.add_experiment(12, name="ratings", retrieval_keys=KEYS)
    return babe_backend


def configure(folder: Path, section: str | None = "{}", **extra: str) -> None:
    """invoke.yaml with the HIT texts and a `babe.plugins.babe-backend` section (YAML flow text)."""
    lines = [
        "babe:",
        "  url: https://example.org/experiment/",
        "  title: A short language study",
        "  description: Read sentences and rate them.",
        '  reward: "0.50"',
        *(f"  {key}: {value}" for key, value in extra.items()),
    ]
    if section is not None:
        lines += ["  plugins:", f"    babe-backend: {section}"]
    (folder / "invoke.yaml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def experiment(tmp_path, monkeypatch, backend):
    folder = tmp_path / "exp1"
    folder.mkdir()
    configure(folder)
    write_deploy_config(folder, experiment_id=12, server_app_url=f"{backend.url}/api/submit_experiment/")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def csv_route(monkeypatch):
    """Read the backend through its password-protected CSV route: every column, as submitted."""
    monkeypatch.setenv("BABE_BACKEND_USER", "admin")
    monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)


def submit_url(backend) -> str:
    return f"{backend.url}/api/submit_experiment/12"


def submitted(settings, pm) -> list:
    """The Submitted assignments of every HIT, as the platform lists them (what `babe review` shows)."""
    from babe_tasks.steps import session

    with session(settings, pm) as (platform, ledger):
        hit_ids = [hit.hit_id for hit in ledger.hits(settings.experiment, settings.target)]
        return [a for hit_id in hit_ids for a in platform.iter_assignments(hit_id) if a.status == "Submitted"]


def review(assignments=None, warnings: list[str] | None = None):
    """babe-backend's `ReviewData` for the experiment of the working directory (None: it answered nothing)."""
    from babe_tasks.plugins import collect, plugin_manager
    from babe_tasks.settings import Settings

    settings = Settings.build()
    pm = plugin_manager(settings)
    try:
        if assignments is None:
            assignments = submitted(settings, pm)
        seen: list[str] = [] if warnings is None else warnings
        answers = dict(collect(pm, "babe_review_data", warn=seen.append, settings=settings, assignments=assignments))
    finally:
        pm.context.close()
    if warnings is None:
        assert seen == []
    return answers.get("babe-backend")


def trials_by_assignment(backend) -> dict[str, list[dict]]:
    return {trials[0]["assignment_id"]: trials for _, trials in backend.backend.submissions("12")}


def rows_for(backend, assignments, make) -> None:
    """Submit `make(index, assignment)`'s trials for each assignment, the ids merged in as _babe does."""
    for index, a in enumerate(assignments):
        trials = make(index, a)
        if trials:
            ids = {"assignment_id": a.assignment_id, "worker_id": a.worker_id, "hit_id": a.hit_id}
            backend.backend.submit("12", [{**trial, **ids} for trial in trials])


def posted_study(babe, backend, count: int, **work: str) -> dict:
    assert babe("create", "--assignments", str(count), "--json").code == 0
    args = [f"--{key.replace('_', '-')}={value}" for key, value in work.items()]
    run = babe("local.work", "--post-to", submit_url(backend), *args, "--json")
    assert run.code == 0, run
    return run.json


def assignments_now():
    from babe_tasks.plugins import plugin_manager
    from babe_tasks.settings import Settings

    settings = Settings.build()
    pm = plugin_manager(settings)
    try:
        return submitted(settings, pm)
    finally:
        pm.context.close()


# -- what the page gets -----------------------------------------------------------------------------
@pytest.mark.parametrize("route", ["json", "csv"])
def test_each_submission_gets_its_own_rows_and_reaction_times(babe, experiment, backend, monkeypatch, route):
    if route == "csv":
        monkeypatch.setenv("BABE_BACKEND_USER", "admin")
        monkeypatch.setenv("BABE_BACKEND_PASSWORD", PASSWORD)
    work = posted_study(babe, backend, 8, lose_rate="0.25", seed="7")
    assert (len(work["posted"]), len(work["lost"])) == (6, 2)
    trials = trials_by_assignment(backend)

    data = review()
    assert data.source == "babe-backend"
    assert data.columns == DEFAULT_COLUMNS  # ids, global fields and the constant option labels left out
    assert data.reaction_time_column == "RT"
    assert set(data.participants) == set(work["posted"])
    for assignment_id, participant in data.participants.items():
        expected = [{column: str(trial[column]) for column in DEFAULT_COLUMNS} for trial in trials[assignment_id]]
        assert participant.rows == expected
        assert participant.reaction_times == [float(trial["RT"]) for trial in trials[assignment_id]]
        assert participant.checks is None  # the lab named no checks
    every_rt = [float(t["RT"]) for _, submission in backend.backend.submissions("12") for t in submission]
    assert data.group_reaction_times == every_rt
    assert data.notes == ["2 of 8 submission(s) under review have no rows in the backend (approve holds them: no data in backend)"]
    assert {h["assignment_id"] for h in babe("approve", "--json").json["held"]} == set(work["lost"])
    assert (backend.backend.requests[-1][1], route) in {("/api/retrieve_experiment/12", "json"), ("/experiments/12/retrieve", "csv")}


def test_the_group_keeps_the_reaction_times_of_those_already_decided(babe, experiment, backend):
    work = posted_study(babe, backend, 4)
    first = work["posted"][0]
    assert babe("approve", "--assignment", first, "--json").json["approved"] == 1
    data = review()
    assert set(data.participants) == set(work["posted"][1:])  # only those awaiting a decision
    decided = [float(t["RT"]) for t in trials_by_assignment(backend)[first]]
    assert len(data.group_reaction_times) == backend.backend.rows("12")
    assert all(rt in data.group_reaction_times for rt in decided)
    assert data.notes == []


def test_configured_columns_are_shown_in_their_order_and_a_missing_one_is_a_note(babe, experiment, backend):
    configure(experiment, section="{review: {columns: [RT, response, age, confidence]}}")
    work = posted_study(babe, backend, 3)
    data = review()
    assert data.columns == ["RT", "response", "age"]
    assert "column confidence is not in the backend's data (named in babe.plugins.babe-backend.review.columns)" in data.notes
    trials = trials_by_assignment(backend)
    for assignment_id in work["posted"]:
        assert data.participants[assignment_id].rows == [
            {"RT": str(t["RT"]), "response": t["response"], "age": str(t["age"])} for t in trials[assignment_id]
        ]


def test_a_lab_field_repeated_on_every_row_is_left_out_and_one_varying_per_trial_is_shown(
    babe, experiment, backend, csv_route
):
    assert babe("create", "--assignments", "3", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    rows_for(backend, assignments, lambda i, a: [
        {"trial_name": "main", "trial_number": n, "item": f"s{i}-{n}", "list": f"L{i}", "condition": "same", "RT": 500 + n,
         "glb_startTime": 1, "education": "BSc"}
        for n in range(1, 4)
    ])
    data = review(assignments)
    # `list` and `condition` hold one value per participant, `education` and glb_ are _babe's globals.
    assert data.columns == ["trial_name", "trial_number", "item", "RT"]
    assert data.participants[assignments[1].assignment_id].rows[2] == {
        "trial_name": "main", "trial_number": "3", "item": "s1-3", "RT": "503"
    }


# -- attention checks -------------------------------------------------------------------------------
def test_attention_checks_by_expected_value(babe, experiment, backend, csv_route):
    configure(experiment, section="{review: {attention_checks: {attention: ' Yes '}}}")
    assert babe("create", "--assignments", "2", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    answers = [["yes", "", "no", " YES "], ["yes", "yes", "", "yes"]]
    rows_for(backend, assignments, lambda i, a: [
        {"trial_number": n + 1, "response": "x", "RT": 800, "attention": answer} for n, answer in enumerate(answers[i])
    ])
    data = review(assignments)
    first, second = (data.participants[a.assignment_id].checks for a in assignments)
    assert (first.passed, first.failed, first.failures) == (2, 1, ["trial 3: attention is 'no', expected 'Yes'"])
    assert (second.passed, second.failed, second.failures) == (3, 0, [])
    assert "attention" in data.columns  # a check column is shown by default, constant or not


def test_attention_checks_by_column_list_name_rows_by_position_without_trial_numbers(babe, experiment, backend, csv_route):
    configure(experiment, section="{review: {attention_checks: [attention_correct, catch]}}")
    assert babe("create", "--assignments", "1", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    cells = [("true", ""), ("correct", "1"), ("false", ""), ("", "no"), ("YES", "on"), ("", "")]
    rows_for(backend, assignments, lambda i, a: [
        {"response": "x", "RT": 900, "attention_correct": c1, "catch": c2} for c1, c2 in cells
    ])
    checks = review(assignments).participants[assignments[0].assignment_id].checks
    assert (checks.passed, checks.failed) == (5, 2)
    assert checks.failures == [
        "row 3: attention_correct is 'false', expected 1/true/yes/on/correct",
        "row 4: catch is 'no', expected 1/true/yes/on/correct",
    ]


def test_a_yaml_boolean_expectation_accepts_every_true_word(babe, experiment, backend, csv_route):
    """`attention: yes` unquoted is YAML's True: the lab meant the answer yes, and a cell 'yes' passes."""
    configure(experiment, section="{review: {attention_checks: {attention: yes, distractor: no}}}")
    assert babe("create", "--assignments", "1", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    rows_for(backend, assignments, lambda i, a: [
        {"trial_number": 1, "attention": "yes", "distractor": "no"},
        {"trial_number": 2, "attention": "True", "distractor": "yes"},
    ])
    checks = review(assignments).participants[assignments[0].assignment_id].checks
    assert (checks.passed, checks.failed) == (3, 1)
    assert checks.failures == ["trial 2: distractor is 'yes', expected 0/false/no/off/incorrect"]


def test_failed_checks_hold_approve_with_the_reason_the_page_shows(babe, experiment, backend, csv_route):
    configure(experiment, section="{review: {attention_checks: {attention: 'yes'}, hold_failed_checks: true}}")
    assert babe("create", "--assignments", "4", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    answers = [["yes", "yes", "yes"], ["no", "yes", "no"], ["yes", "", "no"], None]
    rows_for(backend, assignments, lambda i, a: answers[i] and [
        {"trial_number": n + 1, "attention": answer, "RT": 700} for n, answer in enumerate(answers[i])
    ])
    data = review(assignments)
    shown = {a.assignment_id: data.participants[a.assignment_id].checks.failed for a in assignments[:3]}
    assert list(shown.values()) == [0, 2, 1]

    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 1
    held = {h["assignment_id"]: h["reason"] for h in run.json["held"]}
    assert held == {
        assignments[1].assignment_id: "failed attention check (2 of 3)",
        assignments[2].assignment_id: "failed attention check (1 of 2)",
        assignments[3].assignment_id: HOLD,
    }
    text = babe("approve")
    assert f"Held {assignments[1].assignment_id}: failed attention check (2 of 3)" in text.out

    # Approving without data pays the data-less one; failed checks still wait for a look.
    again = babe("approve", "--approve-without-data", "--json")
    assert again.code == 0, again
    assert again.json["approved"] == 1
    assert {h["assignment_id"] for h in again.json["held"]} == {assignments[1].assignment_id, assignments[2].assignment_id}


def test_without_hold_failed_checks_approve_pays_failed_checks(babe, experiment, backend, csv_route):
    configure(experiment, section="{review: {attention_checks: {attention: 'yes'}}}")
    assert babe("create", "--assignments", "1", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    rows_for(backend, assignments, lambda i, a: [{"trial_number": 1, "attention": "no", "RT": 700}])
    assert review(assignments).participants[assignments[0].assignment_id].checks.failed == 1
    run = babe("approve", "--json")
    assert (run.code, run.json["approved"], run.json["held"]) == (0, 1, [])


# -- reaction times ---------------------------------------------------------------------------------
def test_cells_that_are_not_reaction_times_are_skipped_and_counted(babe, experiment, backend, csv_route):
    assert babe("create", "--assignments", "1", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    rows_for(backend, assignments, lambda i, a: [
        {"trial_number": n + 1, "RT": rt} for n, rt in enumerate(["812", "", "fast", "1033.5", "NaN", "-5", " 640 "])
    ])
    data = review(assignments)
    assert data.participants[assignments[0].assignment_id].reaction_times == [812.0, 1033.5, 640.0]
    assert data.group_reaction_times == [812.0, 1033.5, 640.0]
    assert data.notes == [
        "3 cell(s) of RT are not a number of milliseconds (e.g. 'fast'): left out of the reaction times"
    ]


def test_another_reaction_time_column_and_a_missing_one(babe, experiment, backend, csv_route):
    assert babe("create", "--assignments", "1", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    rows_for(backend, assignments, lambda i, a: [{"trial_number": 1, "rt_ms": 420, "response": "a"}])
    configure(experiment, section="{review: {reaction_time: rt_ms}}")
    data = review(assignments)
    assert (data.reaction_time_column, data.group_reaction_times) == ("rt_ms", [420.0])
    assert data.participants[assignments[0].assignment_id].reaction_times == [420.0]
    configure(experiment, section="{}")  # the default RT: not in this experiment's data
    data = review(assignments)
    assert (data.reaction_time_column, data.group_reaction_times) == (None, [])
    assert data.notes == ["column RT is not in the backend's data: no reaction times to show"]
    assert data.participants[assignments[0].assignment_id].reaction_times == []


# -- cells kept as they are -------------------------------------------------------------------------
def test_html_in_a_cell_is_kept_as_text(babe, experiment, backend, csv_route):
    configure(experiment, section="{review: {attention_checks: {attention: 'yes'}}}")
    assert babe("create", "--assignments", "1", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    assignments = assignments_now()
    nasty = "<script>alert('x')</script> & <b>bold</b> \"quoted\", a|b"
    rows_for(backend, assignments, lambda i, a: [
        {"trial_number": 1, "response": nasty, "RT": 500, "attention": "<img src=x onerror=alert(1)>"},
        {"trial_number": 2, "response": "ok", "RT": 600, "attention": "yes"},
    ])
    participant = review(assignments).participants[assignments[0].assignment_id]
    assert participant.rows[0]["response"] == nasty
    assert participant.rows[0]["attention"] == "<img src=x onerror=alert(1)>"
    assert participant.checks.failures == ["trial 1: attention is '<img src=x onerror=alert(1)>', expected 'yes'"]


# -- when there is nothing, or nothing to match by ----------------------------------------------------
def test_unconfigured_it_answers_nothing_and_asks_the_backend_nothing(babe, experiment, backend):
    configure(experiment, section=None)
    posted_study(babe, backend, 2)
    before = len(backend.backend.requests)
    assert review() is None
    assert len(backend.backend.requests) == before


def test_an_empty_backend_says_so(babe, experiment, backend):
    assert babe("create", "--assignments", "2", "--json").code == 0
    assert babe("local.work", "--json").code == 0
    data = review()
    assert (data.participants, data.columns, data.group_reaction_times) == ({}, [], [])
    assert data.notes == ["the backend has no data for experiment 12 yet"]


def test_data_without_assignment_ids_is_a_note_not_a_failure(babe, experiment, backend):
    backend.backend.experiments["12"].retrieval_keys = ["trial_number", "response", "RT"]
    posted_study(babe, backend, 2)
    data = review()
    assert data.participants == {}
    assert data.notes[0].startswith("the backend's data for experiment 12 has no assignment_id column")
    assert len(data.group_reaction_times) == backend.backend.rows("12")
    run = babe("approve", "--json")  # approve, by the same rule, refuses to guess
    assert run.code == 2 and "no assignment_id column" in run.json["error"]["message"]
    assert run.json["error"]["message"].endswith("or pass --approve-without-data")


def test_a_broken_backend_is_a_warning_naming_the_plugin(babe, experiment, backend):
    posted_study(babe, backend, 1)
    backend.backend.status_override = 503
    warnings: list[str] = []
    assert review(warnings=warnings) is None
    (warning,) = warnings
    assert warning.startswith("plugin babe-backend failed in babe_review_data: PlatformError: the backend http://127.0.0.1:")
    assert PASSWORD not in warning


# -- settings -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "section, words",
    [
        ("{review: [RT]}", "babe.plugins.babe-backend.review must be a mapping of columns, reaction_time, attention_checks, hold_failed_checks"),
        ("{review: {colums: [RT]}}", "unknown setting babe.plugins.babe-backend.review.colums: did you mean columns?"),
        ("{review: {columns: RT}}", "babe.plugins.babe-backend.review.columns must be a list of column names"),
        ("{review: {columns: []}}", "babe.plugins.babe-backend.review.columns is empty"),
        ("{review: {columns: [RT, RT]}}", "babe.plugins.babe-backend.review.columns names RT more than once"),
        ("{review: {reaction_time: ''}}", "babe.plugins.babe-backend.review.reaction_time '' is not a column name"),
        ("{review: {reaction_time: [RT]}}", "babe.plugins.babe-backend.review.reaction_time ['RT'] is not a column name"),
        ("{review: {attention_checks: attention}}", "babe.plugins.babe-backend.review.attention_checks must be a list of columns"),
        ("{review: {attention_checks: {attention: }}}", "babe.plugins.babe-backend.review.attention_checks.attention None is not a value"),
        ("{review: {attention_checks: {}}}", "babe.plugins.babe-backend.review.attention_checks is empty"),
        ("{review: {hold_failed_checks: maybe}}", "babe.plugins.babe-backend.review.hold_failed_checks 'maybe' is not true or false"),
        ("{review: {hold_failed_checks: true}}", "hold_failed_checks is true but no attention_checks are named"),
    ],
)
def test_bad_review_settings_stop_every_command_with_one_line(babe, experiment, section, words):
    configure(experiment, section=section)
    for command in ("status", "approve"):
        run = babe(command)
        assert run.code == 2, run
        assert words in run.err
        assert len(run.err.strip().splitlines()) == 1


# -- Prolific ---------------------------------------------------------------------------------------
@pytest.fixture
def prolific(experiment, backend, monkeypatch, tmp_path):
    """The experiment on the local Prolific (its plugin by entry point), one study of 5 places posted."""
    from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

    monkeypatch.setenv("BABE_PLUGINS", "prolific,babe-backend")
    monkeypatch.setenv("BABE_PROLIFIC_STATE", str(tmp_path / "prolific.sqlite"))
    monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "0")
    monkeypatch.delenv("PROLIFIC_TOKEN", raising=False)

    def write(backend_section: dict | None) -> None:
        plugins: dict = {"prolific": {"estimated_minutes": 10}}
        if backend_section is not None:
            plugins["babe-backend"] = backend_section
        settings = {**DEFAULT_SETTINGS, "reward": "1.50", "platform": "prolific", "plugins": plugins}
        ExperimentFolder(experiment, settings)

    write(None)  # posted before the backend's preflight would look at the page's prolificURL
    return write


def test_prolific_rows_match_by_session_id_or_prolific_id(babe, backend, prolific, tmp_path):
    from babe_prolific.local import simulate

    backend.backend.experiments["12"].retrieval_keys = ["prolific_id", "session_id", "trial_number", "response", "RT"]
    run = babe("create", "--assignments", "4", "--json")
    assert run.code == 0, run
    study = run.json["hits"][0]["hit_id"]
    visits = simulate(tmp_path / "prolific.sqlite", study, 4)
    assert [v["outcome"] for v in visits] == ["submit"] * 4
    prolific({})
    by_session, by_participant, by_both, without = visits
    backend.backend.submit("12", [{"session_id": by_session["submission_id"], "trial_number": 1, "RT": 700}])
    backend.backend.submit("12", [
        {"prolific_id": by_participant["participant_id"], "trial_number": n, "response": "r", "RT": 800 + n} for n in (1, 2)
    ])
    backend.backend.submit("12", [
        {"prolific_id": by_both["participant_id"], "session_id": by_both["submission_id"], "trial_number": 1, "RT": 900}
    ])

    data = review()
    assert set(data.participants) == {by_session["submission_id"], by_participant["submission_id"], by_both["submission_id"]}
    assert data.participants[by_session["submission_id"]].reaction_times == [700.0]
    assert [r["trial_number"] for r in data.participants[by_participant["submission_id"]].rows] == ["1", "2"]
    assert data.participants[by_both["submission_id"]].rows == [{"trial_number": "1", "response": "", "RT": "900"}]
    assert data.columns == ["trial_number", "response", "RT"]
    assert data.group_reaction_times == [700.0, 801.0, 802.0, 900.0]
    approve = babe("approve", "--json")
    assert approve.code == 0, approve
    assert [h["assignment_id"] for h in approve.json["held"]] == [without["submission_id"]]


# -- size ---------------------------------------------------------------------------------------------
def test_500_participants_of_50_trials_are_all_matched(experiment, backend, csv_route):
    """25,000 rows matched to 500 submissions, over real HTTP: every row, RT and check lands where it
    belongs. (How fast is benchmarks/review.py's business, not a timed test's.)"""
    from babe_tasks.platform.base import AssignmentInfo

    configure(experiment, section="{review: {attention_checks: {attention: 'yes'}}}")
    assignments = [AssignmentInfo(f"A{n:05d}", "HIT1", f"W{n:05d}", "Submitted") for n in range(500)]
    for n, a in enumerate(assignments):
        backend.backend.submit("12", [
            {"trial_name": "main", "trial_number": t, "question": f"Item {t}", "option1": "yes", "option2": "no",
             "response": "yes" if (n + t) % 3 else "no", "RT": 400 + (n * 7 + t * 13) % 3000,
             "attention": ("yes" if n % 10 else "no") if t % 10 == 0 else "", "age": 20 + n % 50, "comments": "",
             "assignment_id": a.assignment_id, "worker_id": a.worker_id, "hit_id": "HIT1"}
            for t in range(1, 51)
        ])
    data = review(assignments)
    assert len(data.participants) == 500 and len(data.group_reaction_times) == 25_000
    assert data.columns == ["trial_name", "trial_number", "question", "response", "RT", "attention"]
    assert all(len(p.rows) == 50 and len(p.reaction_times) == 50 for p in data.participants.values())
    assert sum(1 for p in data.participants.values() if p.checks.failed == 5) == 50
