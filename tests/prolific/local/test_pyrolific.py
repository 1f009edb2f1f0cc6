"""The judge: a whole study lifecycle through pyrolific, a client generated from Prolific's published
spec that nobody here wrote, against the local Prolific — in-process and over real HTTP.

Every answer goes through pyrolific's `sync_detailed`, which parses it with its models: an
unexpected status leaves `parsed` None (asserted against), a shape its models cannot read raises.
Asynchrony is on with its default delay (3 s); the test advances the local clock to see work settle.

One documented exception: the spec's own Study/StudyShort `status` enums (and so pyrolific's) lack
PUBLISHING, which the spec's `GET /studies/?state=` lists and which a study passes through after
PUBLISH. The PUBLISH answer is therefore checked to fail pyrolific's parse on exactly that member
and nothing else (docs/localprolific.md, "Where the spec contradicts itself").
"""

from __future__ import annotations

import pytest
from babe_prolific.local import advance_clock, payments, serve_in_thread, simulate, transport
from pyrolific import AuthenticatedClient
from pyrolific.api.bonuses import create_bonus_payments, pay_bonus_payments
from pyrolific.api.studies import (
    calculate_study_cost,
    create_study,
    delete_study,
    duplicate_study,
    export_study,
    get_studies,
    get_study,
    get_study_cost,
    get_study_submissions,
    publish_study,
    update_study,
)
from pyrolific.api.submissions import bulk_approve_submissions, get_submission, get_submissions, transition_submission
from pyrolific.api.users import get_user
from pyrolific.models import (
    BaseStudy,
    CreateBonusPaymentsBody,
    CreateStudy,
    DuplicateStudyBody,
    GetStudiesState,
    ParticipantIDs,
    Study,
    StudyCostRequest,
    StudyStatus,
    StudyTransition,
    SubmissionIDs,
    SubmissionTransition,
)
from pyrolific.models.submission_detail_status import SubmissionDetailStatus
from pyrolific.models.submission_short_status import SubmissionShortStatus
from pyrolific.models.submission_status import SubmissionStatus
from pyrolific.models.submission_transition_action import SubmissionTransitionAction
from pyrolific.models.submission_transition_rejection_category import SubmissionTransitionRejectionCategory

from .conftest import study_body

TOKEN = "Token pyrolific-test-token"
MESSAGE = "The answers were given faster than anyone could read the sentences, so this submission cannot be accepted."


@pytest.fixture(params=["inprocess", "http"])
def prolific(request, tmp_path):
    """(pyrolific client, state path): in-process through an httpx transport, or a real server."""
    state = tmp_path / "prolific.sqlite"
    if request.param == "inprocess":
        client = AuthenticatedClient(
            base_url="http://localprolific", token="pyrolific-test-token", prefix="Token", raise_on_unexpected_status=True,
            httpx_args={"transport": transport(state, faults="")},
        )
        yield client, state
    else:
        url, stop = serve_in_thread(state, faults="")
        client = AuthenticatedClient(base_url=url, token="pyrolific-test-token", prefix="Token", raise_on_unexpected_status=True, timeout=None)
        yield client, state
        stop()


def parsed(response, status: int):
    """The model pyrolific parsed from an answer with the expected status."""
    assert response.status_code == status, response.content
    assert response.parsed is not None, response.content
    return response.parsed


def test_a_whole_lifecycle_through_pyrolific(prolific):
    client, state = prolific
    me = parsed(get_user.sync_detailed(client=client, authorization=TOKEN), 200)
    assert me.id and me.email

    quote = parsed(calculate_study_cost.sync_detailed(client=client, body=StudyCostRequest(reward=100, total_available_places=4), authorization=TOKEN), 200)
    assert quote.total_cost == 4 * 133

    draft = parsed(create_study.sync_detailed(client=client, body=CreateStudy.from_dict(study_body(total_available_places=4)), authorization=TOKEN), 201)
    assert isinstance(draft, Study) and draft.status == StudyStatus.UNPUBLISHED and draft.maximum_allowed_time == 17
    sid = draft.id
    renamed = parsed(update_study.sync_detailed(sid, client=client, body=BaseStudy(internal_name="exp-1/batch-2"), authorization=TOKEN), 200)
    assert renamed.internal_name == "exp-1/batch-2" and renamed.reward == 100

    listed = parsed(get_studies.sync_detailed(client=client, authorization=TOKEN), 200)
    assert [s.id for s in listed.results] == [sid]

    # PUBLISH: answered PUBLISHING (see the module's docstring), ACTIVE once settled
    publishing = client.get_httpx_client().request(**publish_study._get_kwargs(sid, body=StudyTransition(action="PUBLISH"), authorization=TOKEN))
    assert publishing.status_code == 200 and publishing.json()["status"] == "PUBLISHING"
    with pytest.raises(ValueError, match="PUBLISHING"):
        Study.from_dict(publishing.json())
    assert Study.from_dict({**publishing.json(), "status": "ACTIVE"}).id == sid  # every other member parses
    waiting = client.get_httpx_client().request(**get_studies._get_kwargs(state=GetStudiesState.PUBLISHING, authorization=TOKEN))
    assert [s["id"] for s in waiting.json()["results"]] == [sid]
    advance_clock(state, 3)
    live = parsed(get_study.sync_detailed(sid, client=client, authorization=TOKEN), 200)
    assert live.status == StudyStatus.ACTIVE
    active = parsed(get_studies.sync_detailed(client=client, state=GetStudiesState.ACTIVE, authorization=TOKEN), 200)
    assert [s.id for s in active.results] == [sid]

    simulate(state, sid, 4, seed=5)  # participants are not the researcher API's business
    subs = parsed(get_study_submissions.sync_detailed(sid, client=client, authorization=TOKEN), 200).results
    assert len(subs) == 4 and {s.status for s in subs} == {SubmissionShortStatus.AWAITING_REVIEW}
    assert {s.study_code for s in subs} == {"C0DE1234"}
    everywhere = parsed(get_submissions.sync_detailed(client=client, study=sid, authorization=TOKEN), 200).results
    assert [s.id for s in everywhere] == [s.id for s in subs]

    approve = SubmissionTransition(action=SubmissionTransitionAction.APPROVE)
    approved = parsed(transition_submission.sync_detailed(subs[0].id, client=client, body=approve, authorization=TOKEN), 200)
    assert approved.status == SubmissionStatus.APPROVED
    reject = SubmissionTransition(
        action=SubmissionTransitionAction.REJECT, message=MESSAGE, rejection_category=SubmissionTransitionRejectionCategory.TOO_QUICKLY
    )
    rejected = parsed(transition_submission.sync_detailed(subs[1].id, client=client, body=reject, authorization=TOKEN), 200)
    assert rejected.status == SubmissionStatus.REJECTED

    by_id = bulk_approve_submissions.sync_detailed(client=client, body=SubmissionIDs(submission_ids=[subs[2].id]), authorization=TOKEN)
    assert isinstance(parsed(by_id, 200), str)
    by_person = bulk_approve_submissions.sync_detailed(
        client=client, body=ParticipantIDs(study_id=sid, participant_ids=[subs[3].participant_id]), authorization=TOKEN
    )
    assert isinstance(parsed(by_person, 200), str)
    pending = parsed(get_submission.sync_detailed(subs[2].id, client=client, authorization=TOKEN), 200)
    assert pending.status == SubmissionDetailStatus.AWAITING_REVIEW  # not settled yet
    advance_clock(state, 3)
    for sub in subs[2:]:
        detail = parsed(get_submission.sync_detailed(sub.id, client=client, authorization=TOKEN), 200)
        assert detail.status == SubmissionDetailStatus.APPROVED
        assert detail.entered_code == "C0DE1234" and detail.participant == sub.participant_id

    body = CreateBonusPaymentsBody(study_id=sid, csv_bonuses=f"{subs[0].participant_id},1.50\n{subs[2].id},0.50\n")
    setup = parsed(create_bonus_payments.sync_detailed(client=client, body=body, authorization=TOKEN), 201)
    assert (setup.amount, setup.fees, setup.total_amount) == (200, 67, 267)
    assert isinstance(parsed(pay_bonus_payments.sync_detailed(setup.id, client=client, authorization=TOKEN), 202), str)
    assert payments(state) == []
    advance_clock(state, 3)
    assert [p["amount"] for p in payments(state)] == [150, 50]
    cost = parsed(get_study_cost.sync_detailed(sid, client=client, authorization=TOKEN), 200)
    assert (cost.bonuses.rewards.amount, cost.bonuses.fees.amount, cost.bonuses.tax.amount) == (200, 67, 0)
    assert cost.rewards.rewards.amount == 4 * 100 and cost.rewards.rewards.currency == "USD"
    first = parsed(get_submission.sync_detailed(subs[0].id, client=client, authorization=TOKEN), 200)
    assert first.bonus_payments == [150]

    stopped = parsed(publish_study.sync_detailed(sid, client=client, body=StudyTransition(action="STOP"), authorization=TOKEN), 200)
    assert stopped.status == StudyStatus.COMPLETED
    cost = parsed(get_study_cost.sync_detailed(sid, client=client, authorization=TOKEN), 200)
    assert cost.rewards.rewards.amount == 3 * 100  # the rejected place, never re-taken, was refunded on stop

    copy = parsed(duplicate_study.sync_detailed(sid, client=client, body=DuplicateStudyBody(), authorization=TOKEN), 200)
    assert copy.status == StudyStatus.UNPUBLISHED and copy.filters[0].selected_values == [sid]
    exported = parsed(export_study.sync_detailed(sid, client=client, authorization=TOKEN), 200)
    assert exported.splitlines()[0].startswith("Submission id,") and len(exported.splitlines()) == 5
    gone = delete_study.sync_detailed(copy.id, client=client, authorization=TOKEN)
    assert gone.status_code == 200
    assert [s.id for s in parsed(get_studies.sync_detailed(client=client, authorization=TOKEN), 200).results] == [sid]
