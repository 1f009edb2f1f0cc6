"""Fixtures for the local Prolific's tests: one API client per way in (in-process and real HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from babe_prolific.local import configure_account, serve_in_thread, simulate, transport
from babe_prolific.local.inprocess import BASE_URL

AUTH = {"Authorization": "Token local-test-token"}
STATUSES = ("RESERVED", "ACTIVE", "TIMED-OUT", "AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED", "RETURNED", "REJECTED", "SCREENED OUT")


def amounts(breakdown: dict) -> dict[str, int]:
    """`{"rewards": {"amount": 7, "currency": "USD"}, ...}` (StudyTotalCost's pieces) as `{"rewards": 7, ...}`."""
    return {key: piece["amount"] for key, piece in breakdown.items()}


def study_body(**overrides) -> dict:
    """A valid draft: 3 places, $1.00 for 5 minutes, one COMPLETED code for manual review."""
    body = {
        "name": "Acceptability judgements",
        "internal_name": "exp-1/batch-1",
        "description": "Read sentences and say whether they sound natural.",
        "external_study_url": "https://lab.example.org/exp/?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}",
        "prolific_id_option": "url_parameters",
        "total_available_places": 3,
        "estimated_completion_time": 5,
        "reward": 100,
        "completion_codes": [{"code": "C0DE1234", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]}],
    }
    body.update(overrides)
    return body


@dataclass
class Api:
    """An httpx client on the API (`base_url` ends in /api/v1/) plus the state file behind it."""

    client: httpx.Client
    state: Path
    mode: str
    url: str | None = None  # the server's root URL (http mode)

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(path, json=json, **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, **kw)

    def draft(self, **overrides) -> dict:
        response = self.post("studies/", study_body(**overrides))
        assert response.status_code == 201, response.text
        return response.json()

    def published(self, **overrides) -> dict:
        study = self.draft(**overrides)
        response = self.post(f"studies/{study['id']}/transition/", {"action": "PUBLISH"})
        assert response.status_code == 200, response.text
        return response.json()

    def study(self, study_id: str) -> dict:
        return self.get(f"studies/{study_id}/").json()

    def simulate(self, study_id: str, count: int, **options) -> list[dict]:
        return simulate(self.state, study_id, count, **options)

    def submissions(self, study_id: str) -> list[dict]:
        return self.get(f"studies/{study_id}/submissions/", params={"page_size": 200}).json()["results"]

    def counts(self, study_id: str) -> dict[str, int]:
        """Submissions by status (every status, zeros included) and TOTAL, from the documented list
        (Prolific publishes no counts endpoint)."""
        counts = dict.fromkeys(STATUSES, 0)
        answer = self.get(f"studies/{study_id}/submissions/", params={"page_size": 200}).json()
        while True:
            for item in answer["results"]:
                counts[item["status"]] += 1
            if answer["_links"]["next"]["href"] is None:
                break
            answer = self.client.get(answer["_links"]["next"]["href"]).json()
        counts["TOTAL"] = sum(counts.values())
        return counts

    def available(self) -> int:
        return self.get("users/me/").json()["available_balance"]


def error_of(response: httpx.Response) -> dict:
    """The `error` object of a refusal, checking Prolific's shape on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"status", "error_code", "title", "detail", "additional_information"}, error
    assert error["status"] == response.status_code
    return error


def fresh_state(tmp_path: Path, *, settle_seconds: float = 0) -> Path:
    """A state file; asynchronous work settles at once unless a test asks for the real delay
    (test_asynchrony.py and the pyrolific lifecycle do)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    state = tmp_path / "prolific.sqlite"
    configure_account(state, settle_seconds=settle_seconds)
    return state


@pytest.fixture(params=["inprocess", "http"])
def api(request, tmp_path):
    """The API client, once in-process (httpx WSGI transport) and once over real HTTP on 127.0.0.1."""
    state = fresh_state(tmp_path)
    if request.param == "inprocess":
        client = httpx.Client(transport=transport(state, faults=""), base_url=BASE_URL, headers=AUTH)
        yield Api(client, state, "inprocess")
        client.close()
    else:
        url, stop = serve_in_thread(state, faults="")
        client = httpx.Client(base_url=f"{url}/api/v1/", headers=AUTH, timeout=10)
        yield Api(client, state, "http", url)
        client.close()
        stop()


@pytest.fixture
def local(tmp_path):
    """The in-process client only (tests of logic that does not depend on the way in)."""
    state = fresh_state(tmp_path)
    client = httpx.Client(transport=transport(state, faults=""), base_url=BASE_URL, headers=AUTH)
    yield Api(client, state, "inprocess")
    client.close()


#: The `authorization` pyrolific's operations take as an argument (its client sends its own too).
SPEC_AUTH = "Token pyrolific"


@pytest.fixture
def spec_client(local):
    """pyrolific's client (generated from Prolific's spec; nobody here wrote it) on `local`'s state,
    in-process, refusing any status the spec does not document for the operation."""
    from pyrolific import AuthenticatedClient

    return AuthenticatedClient(base_url="http://localprolific", token="pyrolific", prefix="Token", raise_on_unexpected_status=True,
                               httpx_args={"transport": transport(local.state, faults="")})
