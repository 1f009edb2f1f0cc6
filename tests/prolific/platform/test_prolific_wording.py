"""On Prolific the program never says "HIT": the tasks' text, their refusals and their failure paths.

Each test runs the real `babe` against the local Prolific (fixtures in conftest.py) and checks every
line of stdout and stderr for the word HIT (or HITs, HIT(s)): a Prolific lab reads "study" and
"studies" where an MTurk lab reads HIT. JSON keeps MTurk's names (`hit_id`), as documented; so do
help texts, which name both. The failure paths are provoked by `flaky`, a lab plugin in the
experiment's plugins/ folder that is the Prolific platform with the operations named in FLAKY_OPS
refused. The last tests pin the MTurk lines these changes touched, which must read as before.
"""

from __future__ import annotations

import re

import pytest

from .conftest import write_config

#: The word a Prolific user must not meet: HIT, HITs, HIT(s) (not `hit_id`, not "white").
HIT = re.compile(r"\bHITs?\b")

FLAKY = '''
import os

from babe_tasks import hookimpl
from babe_tasks.platform.base import OperationFailed
from babe_prolific.platform import ProlificPlatform


class Flaky(ProlificPlatform):
    """The Prolific platform, with the operations named in FLAKY_OPS refused (one study's refusal)."""

    def _refuse(self, operation):
        if operation in os.environ.get("FLAKY_OPS", "").split(","):
            raise OperationFailed(f"the local Prolific refused {operation} (test)")

    def post(self, plan, hit):
        self._refuse("post")
        return super().post(plan, hit)

    def expire(self, hit_id):
        self._refuse("expire")
        return super().expire(hit_id)

    def add_assignments(self, hit_id, count, token, *, total=None):
        self._refuse("add_assignments")
        return super().add_assignments(hit_id, count, token, total=total)


@hookimpl(tryfirst=True)
def babe_platform(settings):
    return Flaky(settings) if settings.platform == "prolific" else None
'''


def hit_lines(*runs) -> list[str]:
    """Every line of the runs' stdout and stderr that says HIT."""
    return [line for run in runs for line in (run.out + run.err).splitlines() if HIT.search(line)]


def says_study(run, *expected: str) -> None:
    """The run's text names no HIT, and holds each expected piece."""
    assert hit_lines(run) == [], run
    for piece in expected:
        assert piece in run.out + run.err, (piece, run)


@pytest.fixture
def flaky(experiment, monkeypatch):
    """`flaky("expire")`: from now on the platform refuses these operations; `flaky()` heals it."""
    (experiment / "plugins").mkdir(exist_ok=True)
    (experiment / "plugins" / "flaky.py").write_text(FLAKY)
    monkeypatch.setenv("BABE_PLUGINS", "prolific,flaky")
    return lambda *operations: monkeypatch.setenv("FLAKY_OPS", ",".join(operations))


# -- the lifecycle, line by line ----------------------------------------------------------------------
def test_the_lifecycle_in_text_says_study(babe, experiment, people, local):
    doctor = babe("doctor")
    says_study(doctor, "5 assignments in 1 study (5) at $1.50")
    plan = babe("create", "--dry-run")
    says_study(plan, "Dry run: nothing was posted.")
    created = babe("create")
    assert created.code == 0, created
    (study,) = [s["id"] for s in local.studies()]
    says_study(created, "Posted 1 study now.")
    assert [v["outcome"] for v in people(study, 3)] == ["submit"] * 3
    status = babe("status")
    says_study(status, "Studies of exp1 on local")
    synced = babe("status", "--sync")
    says_study(synced, "Synced the ledger from local: 1 study of exp1 found, 0 added")
    dry = babe("approve", "--dry-run")
    says_study(dry, "Dry run: would approve 3 assignment(s).", f"  study {study}")
    approved = babe("approve")
    says_study(approved, "Approved 3; already approved 0.")
    extended = babe("extend", "--assignments", "2", "--yes")
    says_study(extended, f"  study {study}  5 -> 7 assignments", "Extended 1 study:")
    report = babe("report")
    says_study(report, "Wrote ")
    (page,) = (experiment / "reports").glob("*.html")
    html = page.read_text()
    assert HIT.search(html) is None, [m.group(0) for m in HIT.finditer(html)]
    assert "<th>studies</th><td>1</td>" in html and "first study posted" in html
    expired = babe("expire", "--delete")
    says_study(expired, f"Expired 1 study now: {study}", "Deleted 0 studies.", f"Not deleted {study}:")
    again = babe("expire")
    says_study(again, "Expired 0 studies now.", "1 study was closed already")


def test_the_plan_review_names_studies_of_earlier_runs_it_blocks(babe, experiment):
    assert babe("create", "--assignments", "2").code == 0
    second = babe("create", "--again", "--assignments", "3", "--dry-run")
    says_study(second, "blocks      the workers of 1 earlier study, through prolific")


# -- refusals -----------------------------------------------------------------------------------------
def test_an_id_of_another_target_or_platform_is_refused_as_a_study(babe, experiment, study_id, configure, monkeypatch):
    monkeypatch.setenv("PROLIFIC_TOKEN", "a-token-for-the-target-check")
    live = babe("expire", "--hit", study_id, "--target", "live")
    assert live.code == 2, live
    says_study(live, f"error: study {study_id} was posted on local, not live: pass --target local")
    configure(platform=None)  # the folder's default back to mturk: one HIT on the local MTurk
    turk = babe("create", "--assignments", "1", "--json")
    assert turk.code == 0, turk
    hit = turk.json["hits"][0]["hit_id"]
    wrong = babe("status", "--platform", "prolific", "--hit", hit)
    assert wrong.code == 2, wrong
    says_study(wrong, f"error: study {hit} was posted on mturk, not prolific: pass --platform mturk")


def test_split_is_refused_in_prolifics_words_with_or_without_assignments(babe, study_id, local):
    for flags in (["--assignments", "6", "--split"], ["--split", "--lifetime", "1d"]):
        run = babe("extend", *flags)
        assert run.code == 2, run
        says_study(run, "prolific has no such rule and every study can grow: drop --split")
    cost = babe("cost", "--extend", "--assignments", "6", "--split")
    assert cost.code == 2, cost
    says_study(cost, "drop --split")
    assert local.studies()[0]["total_available_places"] == 5


def test_extend_with_nothing_to_extend(babe, experiment, people):
    nothing = babe("extend", "--assignments", "1")
    assert nothing.code == 2, nothing
    says_study(nothing, "no studies of experiment exp1 on local to extend: run babe create first")
    study = babe("create", "--json").json["hits"][0]["hit_id"]
    people(study, 2)
    assert babe("expire").code == 0  # stopped with places left: it will not be reopened
    named = babe("extend", "--hit", study, "--assignments", "1")
    assert named.code == 2, named
    says_study(named, f"study {study} cannot take more assignments: it has expired")
    every = babe("extend", "--assignments", "1")
    assert every.code == 2, every
    says_study(every, f"no study of the experiment can take more (study {study}: ", "babe create posts a new study")


def test_watch_and_report_with_no_study_yet(babe, experiment):
    watch = babe("watch", "--interval", "1s")
    assert watch.code == 2, watch
    says_study(watch, "no studies of experiment exp1 on local to watch: run babe create first")
    report = babe("report")
    assert report.code == 2, report
    says_study(report, "no studies of experiment exp1 on local in the ledger: nothing to report")


def test_an_assignment_of_another_experiments_study_is_refused(babe, experiment, tmp_path, people, monkeypatch):
    other = tmp_path / "exp2"
    other.mkdir()
    write_config(other)
    monkeypatch.chdir(other)
    theirs = babe("create", "--json").json["hits"][0]["hit_id"]
    (visit,) = people(theirs, 1)
    monkeypatch.chdir(experiment)
    assert babe("create").code == 0
    run = babe("reject", "--assignment", visit["submission_id"], "--reason", "no data")
    assert run.code == 2, run
    says_study(run, f"is of study {theirs}, which experiment exp1 did not post")


def test_a_study_the_platform_no_longer_knows_is_named_a_study(babe, study_id, state):
    state.unlink()  # the local Prolific's state reset: the ledger's study is gone
    status = babe("status")
    assert status.code == 0, status
    says_study(status, f"warning: study {study_id} is no longer known to local (deleted elsewhere, or the local state")
    extend = babe("extend", "--assignments", "1")
    assert extend.code == 2, extend
    says_study(extend, "no studies of experiment exp1 on local to extend")


# -- failures on the way ------------------------------------------------------------------------------
def test_a_partially_failed_create_and_its_resumption(babe, experiment, flaky, local):
    flaky("post")
    failed = babe("create")
    assert failed.code == 1, failed
    says_study(failed, "error: posted 0 of 1 study; study 1 failed: the local Prolific refused post (test).")
    assert local.studies() == []
    flaky()
    resumed = babe("create")
    assert resumed.code == 0, resumed
    says_study(resumed, "0 of 1 study was already posted.", "Posted 1 study now, the rest earlier.")
    assert len(local.studies()) == 1


def test_a_partially_failed_expire_and_extend(babe, experiment, flaky):
    study = babe("create", "--json").json["hits"][0]["hit_id"]
    flaky("expire", "add_assignments")
    expire = babe("expire")
    assert expire.code == 1, expire
    says_study(expire, "Expired 0 studies now.", f"Failed {study}: ", "error: 1 study could not be changed")
    extend = babe("extend", "--assignments", "2", "--yes")
    assert extend.code == 1, extend
    says_study(extend, "Extended 1 study:", "error: 1 part(s) of the extension failed")
    flaky()
    assert babe("expire").code == 0


def test_watch_ends_when_every_study_is_closed(babe, experiment, people):
    study = babe("create", "--assignments", "2", "--json").json["hits"][0]["hit_id"]
    people(study, 2)
    run = babe("watch", "--goal", "3", "--interval", "1s")
    assert run.code == 0, run
    says_study(
        run,
        "the watch ends when the studies are done",
        "every study is closed (expired or full) with 2 of 3 approved",
        "Studies of exp1 on local",
    )


def test_watch_expires_the_open_study_at_the_goal(babe, experiment, people):
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    people(study, 2)
    run = babe("watch", "--goal", "2", "--interval", "1s")
    assert run.code == 0, run
    says_study(run, "goal reached: 2 approved of 2 wanted; expired 1 study still open", f"Expired 1 study: {study}")


# -- init: the deployMethod a Prolific lab needs is Prolific ---------------------------------------------
DEPLOY = """var config_deploy = {
    "experimentID": "12",
    "serverAppURL": "http://127.0.0.1:8099/api/submit_experiment/",
    "deployMethod": "%s",
    "contact_email": "lab@example.org",
    "prolificURL": "https://app.prolific.com/submissions/complete?cc=6E8E9FD7"
};
"""


def deploy_with(folder, method: str) -> None:
    (folder / "config").mkdir(exist_ok=True)
    (folder / "config" / "config_deploy.js").write_text(DEPLOY % method)


def test_init_with_deploy_method_prolific_on_prolific_says_nothing_wrong(babe, experiment):
    deploy_with(experiment, "Prolific")
    run = babe("init")
    assert run.code == 0 and run.err == "", run
    says_study(run, "deployMethod Prolific")


def test_init_tells_a_prolific_lab_to_use_prolifics_method(babe, experiment):
    deploy_with(experiment, "MTurk")
    run = babe("init")
    assert run.code == 0, run
    says_study(run, "warning: deployMethod 'MTurk' in config_deploy.js submits to MTurk, but the platform is prolific")
    assert "set it to Prolific (with its prolificURL) before posting the study" in run.err
    assert "MTurkSandbox or MTurk" not in run.err


def test_a_fresh_folder_set_up_for_prolific_notes_the_completion_code(babe, tmp_path, monkeypatch):
    folder = tmp_path / "fresh"
    folder.mkdir()
    deploy_with(folder, "Prolific")
    monkeypatch.setenv("BABE_PLATFORM", "prolific")
    run = babe("init", "--folder", str(folder))
    assert run.code == 0 and run.err == "", run
    notes = [line for line in (folder / "invoke.yaml").read_text().splitlines() if "deployMethod" in line]
    assert any("deployMethod Prolific sends participants to prolificURL" in line for line in notes), notes
    assert [line for line in notes if HIT.search(line) or "MTurk" in line] == []


# -- the same lines on MTurk read as before ---------------------------------------------------------------
def test_on_mturk_the_lines_still_say_hit(babe, experiment, configure):
    configure(platform=None, assignments=12)
    created = babe("create")
    assert created.code == 0, created
    assert "12 assignments in 2 HITs (6, 6) of one HIT type" in created.out and "Posted 2 HITs now." in created.out
    assert "HITs of exp1 on local" in created.out
    doctor = babe("doctor")
    assert "12 assignments in 2 HITs (6, 6) at $1.50" in doctor.out
    expired = babe("expire")
    assert expired.out.startswith("Expired 2 HIT(s) now: ")
    again = babe("expire")
    assert "2 HIT(s) were closed already" in again.out
    split = babe("extend", "--split", "--lifetime", "1d")
    assert split.code == 2 and "--split posts new HITs for assignments that do not fit: it needs --assignments" in split.err
    nothing = babe("report", "--all", "--target", "sandbox")
    assert "has no HITs on sandbox: nothing to report" in nothing.err


def test_on_mturk_init_offers_prolific_to_a_page_that_submits_there(babe, experiment, configure):
    configure(platform=None)
    deploy_with(experiment, "Prolific")
    run = babe("init")
    assert run.code == 0, run
    assert run.err.startswith("warning: deployMethod 'Prolific' in config_deploy.js is not an MTurk method")
    assert "set platform: prolific in invoke.yaml to post it as a Prolific study" in run.err


def test_reject_and_cost_say_study(babe, experiment, study_id, people):
    (visit,) = people(study_id, 1)
    reject = babe("reject", "--assignment", visit["submission_id"], "--reason", "no data")
    assert reject.code == 0, reject
    says_study(reject, f"worker {visit['participant_id']}  study {study_id}")
    spent = babe("cost")
    says_study(spent, "Cost of experiment exp1 on local (1 study)")
    create = babe("cost", "--create")
    says_study(create, "Cost of creating 5 assignments in 1 study (5)")
    extend = babe("cost", "--extend", "--assignments", "2")
    says_study(extend, "2 more assignments over 1 study")


def test_approve_names_a_hit_of_another_platform_as_the_study_it_was_asked_for(babe, experiment, configure):
    configure(platform=None)
    hit = babe("create", "--assignments", "1", "--json").json["hits"][0]["hit_id"]
    run = babe("approve", "--platform", "prolific", "--hit", hit)
    assert run.code == 2, run
    says_study(run, f"error: study {hit} was posted on mturk, not prolific: pass --platform mturk")
