"""Simulated workers against a real _babe-like backend on 127.0.0.1, checked through boto3."""

from __future__ import annotations

import json
import socket

import pytest

from babe_mturk.answers import answer_fields
from babe_mturk.local import workers
from babe_mturk.local.qualifications import LOCALE, MASTERS_LIVE, PERCENT_APPROVED

QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/'
    'ExternalQuestion.xsd"><ExternalURL>https://example.org/exp</ExternalURL><FrameHeight>600</FrameHeight>'
    "</ExternalQuestion>"
)
GLOBAL_FIELDS = {"experiment_id", "startDate", "startTime", "endTime", "timeSpent", "age", "gender", "languages", "comments"}


class Backend:
    """A _babe backend stand-in (pytest-httpserver): stores every JSON body POSTed to /api/submit_experiment/12."""

    PATH = "/api/submit_experiment/12"

    def __init__(self, httpserver, status: int = 201):
        self.status = status
        self.submissions: list[list[dict]] = []
        self.url = httpserver.url_for(self.PATH)
        httpserver.expect_request(self.PATH, method="POST").respond_with_handler(self._answer)

    def _answer(self, request):
        from werkzeug import Response

        if self.status < 300:
            self.submissions.append(json.loads(request.get_data()))
        return Response(status=self.status)

    def by_assignment(self) -> dict[str, list[dict]]:
        return {trials[0]["assignment_id"]: trials for trials in self.submissions}


@pytest.fixture
def backend(httpserver):
    return Backend(httpserver)


def create_hit(mturk, assignments=5, requirements=(), title="Rate sentences") -> dict:
    return mturk.create_hit(
        Title=title,
        Description="A short linguistics experiment",
        Reward="0.50",
        MaxAssignments=assignments,
        LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600,
        Question=QUESTION,
        QualificationRequirements=list(requirements),
    )["HIT"]


def listed(mturk, hit_id, *statuses) -> list[dict]:
    params = {"HITId": hit_id}
    if statuses:
        params["AssignmentStatuses"] = list(statuses)
    return mturk.list_assignments_for_hit(**params)["Assignments"]


# -- submitting and posting ---------------------------------------------------------------------------
def test_submitters_post_babe_trials_then_submit_the_form(mturk, turk, backend):
    hit = create_hit(mturk, assignments=4)
    done = workers.simulate(turk, workers=4, post_to=backend.url, seed=7)
    assert len(done["workers"]) == 4 and len(set(done["workers"])) == 4
    assert sorted(done["submitted"]) == sorted(done["posted"]) and len(done["posted"]) == 4
    assert (done["lost"], done["returned"], done["abandoned"], done["refused"]) == ([], [], [], 0)

    got = listed(mturk, hit["HITId"], "Submitted")
    assert sorted(a["AssignmentId"] for a in got) == sorted(done["submitted"])
    posted = backend.by_assignment()
    for assignment in got:
        trials = posted[assignment["AssignmentId"]]
        assert 3 <= len(trials) <= 5
        for trial in trials:
            assert trial["assignment_id"] == assignment["AssignmentId"]
            assert trial["worker_id"] == assignment["WorkerId"]
            assert trial["hit_id"] == hit["HITId"]
            assert GLOBAL_FIELDS <= set(trial)
            assert trial["experiment_id"] == "12"
            assert trial["startTime"] < trial["endTime"]
        assert len({tuple(sorted(t)) for t in trials}) == 1  # flat objects with the same keys
        fields = answer_fields(assignment["Answer"])
        assert fields["assignmentId"] == assignment["AssignmentId"]
        assert json.loads(fields["trials"]) == trials
        assert "2005-10-01/QuestionFormAnswers.xsd" in assignment["Answer"]


def test_lose_rate_is_exact_and_the_seed_decides_who(mturk, turk, backend):
    create_hit(mturk, assignments=8)
    done = workers.simulate(turk, workers=8, post_to=backend.url, lose_rate=0.25, seed=11)
    assert (len(done["submitted"]), len(done["lost"]), len(done["posted"])) == (8, 2, 6)
    assert set(done["lost"]).isdisjoint(done["posted"])
    assert set(backend.by_assignment()) == set(done["posted"])

    # The same seed on a fresh HIT loses the same positions.
    create_hit(mturk, assignments=8, title="Second run")
    again = workers.simulate(turk, workers=8, post_to=backend.url, lose_rate=0.25, seed=11)
    lost_positions = sorted(done["submitted"].index(a) for a in done["lost"])
    assert sorted(again["submitted"].index(a) for a in again["lost"]) == lost_positions


@pytest.mark.parametrize("status", [500, 403])
def test_a_failing_backend_loses_the_data_but_workers_still_submit(mturk, turk, backend, status):
    hit = create_hit(mturk, assignments=3)
    backend.status = status
    done = workers.simulate(turk, workers=3, post_to=backend.url, seed=1)
    assert (len(done["submitted"]), len(done["lost"]), done["posted"]) == (3, 3, [])
    assert len(listed(mturk, hit["HITId"], "Submitted")) == 3


def test_an_unreachable_backend_loses_the_data(mturk, turk):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    create_hit(mturk, assignments=2)
    done = workers.simulate(turk, workers=2, post_to=f"http://127.0.0.1:{port}/api/submit_experiment/3", seed=1)
    assert len(done["lost"]) == 2 and len(done["submitted"]) == 2


def test_without_a_backend_nothing_is_posted_or_lost(mturk, turk):
    create_hit(mturk, assignments=2)
    done = workers.simulate(turk, workers=2, lose_rate=1.0, seed=1)
    assert (len(done["submitted"]), done["posted"], done["lost"]) == (2, [], [])


# -- who may take what --------------------------------------------------------------------------------------
def test_locale_requirements_keep_other_countries_out(mturk, turk):
    us_only = create_hit(
        mturk, requirements=[{"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}]
    )
    done = workers.simulate(turk, workers=4, locale="US-NY,DE", seed=1)
    assert done["refused"] == 2
    takers = {a["WorkerId"] for a in listed(mturk, us_only["HITId"])}
    assert takers == {w for w in done["workers"] if workers.get_worker(turk, w)["locale"] == "US-NY"}
    assert {workers.get_worker(turk, w)["locale"] for w in done["workers"]} == {"US-NY", "DE"}


def test_a_granted_exclusion_qualification_keeps_earlier_participants_out(mturk, turk):
    seen = mturk.create_qualification_type(
        Name="Took part in exp1", Description="Already did the experiment", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    hit = create_hit(mturk, requirements=[{"QualificationTypeId": seen, "Comparator": "DoesNotExist"}])
    veteran, newcomer = workers.add_workers(turk, 2)
    mturk.associate_qualification_with_worker(QualificationTypeId=seen, WorkerId=veteran)
    done = workers.simulate(turk, worker_ids=[veteran, newcomer], seed=1)
    assert done["refused"] == 1
    assert [a["WorkerId"] for a in listed(mturk, hit["HITId"])] == [newcomer]


def test_integer_and_masters_requirements_use_the_worker_record(mturk, turk):
    hit = create_hit(
        mturk,
        requirements=[
            {"QualificationTypeId": PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [98]},
            {"QualificationTypeId": MASTERS_LIVE, "Comparator": "Exists"},
        ],
    )
    workers.add_workers(turk, worker_ids=["AMASTER"], profile={"percent_approved": 99, "masters": True})
    workers.add_workers(turk, worker_ids=["ARATED"], profile={"percent_approved": 99})
    workers.add_workers(turk, worker_ids=["ALOW"], profile={"percent_approved": 97, "masters": True})
    done = workers.simulate(turk, worker_ids=["AMASTER", "ARATED", "ALOW"], seed=1)
    assert done["refused"] == 2
    assert [a["WorkerId"] for a in listed(mturk, hit["HITId"])] == ["AMASTER"]


def test_blocked_workers_are_refused(mturk, turk):
    hit = create_hit(mturk)
    mturk.create_worker_block(WorkerId="ABLOCKED", Reason="Bot")
    done = workers.simulate(turk, worker_ids=["ABLOCKED", "AFINE"], seed=1)
    assert done["refused"] == 1 and done["workers"] == ["ABLOCKED", "AFINE"]
    assert [a["WorkerId"] for a in listed(mturk, hit["HITId"])] == ["AFINE"]


def test_one_assignment_per_worker_per_hit_and_one_hit_per_group_per_call(mturk, turk):
    first = create_hit(mturk, assignments=3)
    second = create_hit(mturk, assignments=3)  # same values: same HIT type, one group to workers
    assert first["HITTypeId"] == second["HITTypeId"]
    crew = ["AREPEAT", "AOTHER"]
    one = workers.simulate(turk, worker_ids=crew, seed=1)
    assert len(one["submitted"]) == 2  # one HIT of the group each
    assert sorted(a["WorkerId"] for a in listed(mturk, first["HITId"])) == sorted(crew)
    assert listed(mturk, second["HITId"]) == []
    two = workers.simulate(turk, worker_ids=crew, seed=2)  # repeat workers move on to the next HIT
    assert len(two["submitted"]) == 2 and two["refused"] == 0
    assert sorted(a["WorkerId"] for a in listed(mturk, second["HITId"])) == sorted(crew)
    three = workers.simulate(turk, worker_ids=crew, seed=3)  # nothing of the group is left for them
    assert three["submitted"] == [] and three["refused"] == 2
    assert mturk.get_hit(HITId=first["HITId"])["HIT"]["NumberOfAssignmentsAvailable"] == 1


def test_by_default_every_open_slot_is_filled(mturk, turk):
    small = create_hit(mturk, assignments=2, title="Small")
    big = create_hit(mturk, assignments=6, title="Big")
    done = workers.simulate(turk, seed=4)
    assert len(done["workers"]) == 6 and done["refused"] == 0
    assert len(listed(mturk, small["HITId"])) == 2 and len(listed(mturk, big["HITId"])) == 6
    assert workers.simulate(turk, seed=5) == {
        "workers": [],
        "submitted": [],
        "returned": [],
        "abandoned": [],
        "lost": [],
        "posted": [],
        "refused": 0,
        "failed": [],
    }


def test_only_the_named_hits_are_worked_on(mturk, turk):
    chosen = create_hit(mturk, assignments=2, title="Chosen")
    ignored = create_hit(mturk, assignments=2, title="Ignored")
    workers.simulate(turk, hit_ids=[chosen["HITId"]], workers=2, seed=1)
    assert len(listed(mturk, chosen["HITId"])) == 2 and listed(mturk, ignored["HITId"]) == []


# -- returning and abandoning --------------------------------------------------------------------------------
def test_return_and_abandon_rates_are_exact(mturk, turk):
    hit = create_hit(mturk, assignments=10)
    done = workers.simulate(turk, workers=10, return_rate=0.2, abandon_rate=0.3, seed=9)
    assert (len(done["returned"]), len(done["abandoned"]), len(done["submitted"])) == (2, 3, 5)
    state = mturk.get_hit(HITId=hit["HITId"])["HIT"]
    assert (state["NumberOfAssignmentsAvailable"], state["NumberOfAssignmentsPending"]) == (2, 3)
    assert sorted(a["AssignmentId"] for a in listed(mturk, hit["HITId"])) == sorted(done["submitted"])

    turk.store.advance_clock(601)  # past the assignment duration: the abandoned slots come back
    state = mturk.get_hit(HITId=hit["HITId"])["HIT"]
    assert (state["NumberOfAssignmentsAvailable"], state["NumberOfAssignmentsPending"]) == (5, 0)
    refill = workers.simulate(turk, seed=10)
    assert len(refill["submitted"]) == 5
    assert len(listed(mturk, hit["HITId"], "Submitted")) == 10


def test_the_same_seed_gives_the_same_outcomes(tmp_path):
    from babe_mturk.local import client
    from babe_mturk.local.service import LocalTurk

    runs = []
    for name in ("first", "second"):  # two separate MTurks, same experiment, same seed
        turk = LocalTurk(str(tmp_path / f"{name}.sqlite"))
        create_hit(client(turk=turk), assignments=6)
        done = workers.simulate(turk, workers=6, return_rate=0.3, abandon_rate=0.2, seed=21)
        with turk.store.read() as tx:
            owner = {r["id"]: r["worker_id"] for r in tx.execute("SELECT id, worker_id FROM assignments")}
        position = {worker: index for index, worker in enumerate(done["workers"])}
        runs.append({key: sorted(position[owner[a]] for a in done[key]) for key in ("submitted", "returned", "abandoned")})
        turk.store.close()
    assert runs[0] == runs[1]
    assert [len(runs[0][key]) for key in ("submitted", "returned", "abandoned")] == [3, 2, 1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_rate": 1.5},
        {"lose_rate": -0.1},
        {"return_rate": 0.6, "abandon_rate": 0.5},
        {"locale": "USA"},
        {"worker_ids": ["not-a-worker"]},
        {"workers": 1, "profile": {"charisma": 10}},
    ],
)
def test_bad_arguments_are_refused(turk, kwargs):
    with pytest.raises(ValueError):
        workers.simulate(turk, **kwargs)


def test_known_workers_keep_their_record(turk):
    (worker,) = workers.add_workers(turk, worker_ids=["AKNOWN"], locale="CA-QC", profile={"percent_approved": 96})
    workers.simulate(turk, worker_ids=[worker], locale="DE", seed=1)
    assert workers.get_worker(turk, "AKNOWN") == {
        "worker_id": "AKNOWN",
        "locale": "CA-QC",
        "percent_approved": 96,
        "number_approved": workers.get_worker(turk, "AKNOWN")["number_approved"],
        "adult": True,
        "masters": False,
    }
    assert 1000 <= workers.get_worker(turk, "AKNOWN")["number_approved"] <= 20000
    assert workers.get_worker(turk, "ANOBODY") is None
