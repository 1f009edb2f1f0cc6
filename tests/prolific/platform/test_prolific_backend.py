"""Prolific with the babe-backend plugin: data flows participant → _babe backend → babe.

Simulated participants POST _babe-shaped trials (with `prolific_id` and `session_id`) to the fake
backend on 127.0.0.1 before submitting, some lose that POST (`lose_rate`); `approve` must hold
exactly those, `status` counts the backend's rows per study, `results` downloads them, and
`doctor` checks that the page says `deployMethod: "Prolific"` with the study's completion URL.
"""

from __future__ import annotations

import hashlib

import pytest

from babe_tasks.testing import serve_backend

KEYS = ["prolific_id", "session_id", "study_id", "response", "RT"]
HOLD = "no data in backend"
#: The name-derived code older versions gave exp1: a page carrying it is kept working (babe_prolific.codes).
CODE = hashlib.sha256(b"exp1").hexdigest()[:8].upper()


@pytest.fixture
def backend():
    server, _ = serve_backend()
    server.backend.add_experiment(12, name="ratings", retrieval_keys=KEYS)
    yield server
    server.shutdown()


def deploy_config(folder, backend, method="Prolific", url=f"https://app.prolific.com/submissions/complete?cc={CODE}"):
    path = folder / "config" / "config_deploy.js"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        "var config_deploy = {\n"
        '    "experimentID": "12",\n'
        f'    "serverAppURL": "{backend.url}/api/submit_experiment/",\n'
        f'    "deployMethod": "{method}",\n'
        '    "contact_email": "lab@example.org",\n'
        f'    "prolificURL": "{url}"\n'
        "};\n"
    )


@pytest.fixture
def with_backend(experiment, configure, backend, monkeypatch):
    monkeypatch.setenv("BABE_PLUGINS", "prolific,babe-backend")
    configure(plugins={"prolific": {"estimated_minutes": 10}, "babe-backend": {}})
    deploy_config(experiment, backend)
    return backend


def kept_code(folder) -> str:
    """The experiment's completion code as the Prolific plugin keeps it (random, or the page's derived one)."""
    from babe_prolific.codes import completion_code

    from babe_tasks.settings import Settings

    return completion_code(Settings.build(folder=folder)).code


def submit_url(backend) -> str:
    return f"{backend.url}/api/submit_experiment/12"


def test_approve_holds_exactly_the_submissions_whose_data_never_arrived(babe, with_backend, people, local):
    study = babe("create", "--assignments", "8", "--json").json["hits"][0]["hit_id"]
    visits = people(study, 8, post_to=submit_url(with_backend), lose_rate=0.25, seed=7)
    lost = {v["submission_id"] for v in visits if not v["posted"]}
    assert len(lost) == 2
    rows = {t["session_id"] for _, trials in with_backend.backend.submissions("12") for t in trials}
    assert rows == {v["submission_id"] for v in visits} - lost
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 6
    assert {h["assignment_id"] for h in run.json["held"]} == lost and {h["reason"] for h in run.json["held"]} == {HOLD}
    statuses = {i: s["status"] for i, s in local.submissions().items()}
    assert {i for i, s in statuses.items() if s == "AWAITING REVIEW"} == lost


def test_a_row_with_only_the_participants_prolific_id_counts_as_data(babe, with_backend, people):
    """_babe's own Prolific mode stores only `prolific_id` (the participant types it in)."""
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    visits = people(study, 3)
    for visit in visits[:2]:
        with_backend.backend.submit("12", [{"prolific_id": visit["participant_id"], "response": "yes", "RT": 900}])
    run = babe("approve", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 2 and [h["assignment_id"] for h in run.json["held"]] == [visits[2]["submission_id"]]


def test_data_without_any_prolific_column_cannot_be_matched(babe, with_backend, people):
    with_backend.backend.add_experiment(12, name="ratings", retrieval_keys=["response", "RT"])
    study = babe("create", "--assignments", "2", "--json").json["hits"][0]["hit_id"]
    people(study, 2, post_to=submit_url(with_backend))
    run = babe("approve", "--json")
    assert run.code == 2, run
    assert "neither a prolific_id nor a session_id column" in run.json["error"]["message"]


def test_status_counts_the_backends_rows_per_study(babe, with_backend, people):
    study = babe("create", "--assignments", "4", "--json").json["hits"][0]["hit_id"]
    people(study, 4, post_to=submit_url(with_backend), lose_rate=0.25, seed=1)
    run = babe("status", "--json")
    assert run.code == 0, run
    trials = sum(len(t) for _, t in with_backend.backend.submissions("12"))
    assert run.json["backend_rows"] == {study: trials} and run.json["backend_submissions"] == 3


def test_results_downloads_the_participants_data(babe, with_backend, people, experiment):
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    visits = people(study, 3, post_to=submit_url(with_backend))
    run = babe("results", "--json")
    assert run.code == 0, run
    (csv_path,) = list((experiment / "results").glob("*.csv"))
    text = csv_path.read_text()
    assert text.splitlines()[0].startswith("submission_id,")
    assert all(v["participant_id"] in text and v["submission_id"] in text for v in visits)


def test_doctor_accepts_the_prolific_deploy_method_with_the_studys_completion_url(babe, with_backend):
    run = babe("doctor", "--json")
    rows = [c for c in run.json["checks"] if c["plugin"] == "babe-backend"]
    assert rows and all(c["status"] == "ok" for c in rows), run


@pytest.mark.parametrize(
    ("method", "url", "words"),
    [
        ("MTurk", f"https://app.prolific.com/submissions/complete?cc={CODE}", "deployMethod is MTurk"),
        ("Prolific", "https://app.prolific.ac/submissions/complete?cc=ABCD1234", "is not Prolific's completion address"),
        ("Prolific", "https://app.prolific.com/submissions/complete?cc=ABCD1234", "carries completion code 'ABCD1234'"),
    ],
)
def test_doctor_and_create_refuse_a_page_that_would_not_send_participants_back(babe, with_backend, experiment, local, method, url, words):
    deploy_config(experiment, with_backend, method=method, url=url)
    doctor = babe("doctor", "--json")
    assert doctor.code == 2, doctor
    problems = [c["detail"] for c in doctor.json["checks"] if c["plugin"] == "babe-backend" and c["status"] != "ok"]
    assert any(words in p for p in problems), problems
    assert any(f"complete?cc={kept_code(experiment)}" in p for p in problems)  # the fix names the right URL
    create = babe("create", "--json")
    assert create.code == 3, create  # babe-backend vetoes the create
    assert local.calls("POST /studies/") == 0
