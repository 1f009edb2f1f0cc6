"""Helpers shared by the local MTurk's tests: `make_hit` posts a HIT through the requester API,
`work` plays a worker through the worker-side functions, `turk_code` reads an error's TurkErrorCode."""

from __future__ import annotations

from contextlib import contextmanager

from babe_mturk.local import assignments, ids
from babe_mturk.local.service import Context
from babe_mturk.local.store import Store

QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/'
    'ExternalQuestion.xsd"><ExternalURL>https://example.org/experiment/</ExternalURL>'
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)
ANSWER = (
    '<QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/'
    'QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>done</QuestionIdentifier>'
    "<FreeText>yes</FreeText></Answer></QuestionFormAnswers>"
)
DAY = 24 * 3600


def hit_params(**overrides) -> dict:
    params = {
        "Title": "A short experiment",
        "Description": "Answer a few questions about sentences.",
        "Keywords": "linguistics, survey",
        "Reward": "0.50",
        "LifetimeInSeconds": 3600,
        "AssignmentDurationInSeconds": 600,
        "AutoApprovalDelayInSeconds": 7 * DAY,
        "MaxAssignments": 3,
        "Question": QUESTION,
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def make_hit(mturk, **overrides) -> dict:
    return mturk.create_hit(**hit_params(**overrides))["HIT"]


@contextmanager
def worker_side(turk):
    """A write transaction with a Context, as the simulated workers open one."""
    with turk.store.write() as tx:
        yield Context(tx, Store.now(tx), turk)


def work(turk, hit_id: str, *, worker_id: str | None = None, submit: bool = True, answer: str = ANSWER) -> str:
    """One worker accepts the HIT (and, by default, submits); returns the assignment id."""
    with worker_side(turk) as ctx:
        assignment_id = assignments.accept(ctx, hit_id, worker_id or ids.new_worker_id())
        if submit:
            assignments.submit(ctx, assignment_id, answer)
    return assignment_id


def turk_code(excinfo) -> str | None:
    """The TurkErrorCode of a refused call (botocore keeps it beside `Error` in the response)."""
    return excinfo.value.response.get("TurkErrorCode")


def status_of(mturk, hit_id: str) -> str:
    return mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"]


# -- creation and HIT types ----------------------------------------------------------------------
