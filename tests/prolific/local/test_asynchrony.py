"""Asynchrony as on Prolific: publishing, bulk approval and bonus payment are answered at once and
done `settle_seconds` later on the local Prolific's clock (3 s on a fresh state)."""

from __future__ import annotations

import time

import httpx
import pytest
from babe_prolific.local import advance_clock, configure_account, payments, simulate, transport
from babe_prolific.local.inprocess import BASE_URL

from .conftest import AUTH, Api, amounts, error_of, fresh_state


@pytest.fixture
def slow(tmp_path):
    """An in-process client on a state with the default delay (3 s), untouched."""
    state = tmp_path / "prolific.sqlite"
    client = httpx.Client(transport=transport(state, faults=""), base_url=BASE_URL, headers=AUTH)
    yield Api(client, state, "inprocess")
    client.close()


def _settled_study(api: Api, **overrides) -> str:
    sid = api.published(**overrides)["id"]
    advance_clock(api.state, 3)
    return sid


def test_a_fresh_state_takes_three_seconds(slow):
    assert configure_account(slow.state)["settle_seconds"] == "3"
    assert slow.published()["status"] == "PUBLISHING"


def test_publish_answers_publishing_and_settles_to_active(slow):
    start = slow.available()
    study = slow.published()
    assert study["status"] == "PUBLISHING"
    assert slow.available() == start - 3 * 133  # the money is locked when asked, as the real one does
    listed = slow.get("studies/", params={"state": "PUBLISHING"}).json()["results"]
    assert [s["id"] for s in listed] == [study["id"]]
    assert slow.get("studies/", params={"state": "ACTIVE"}).json()["results"] == []
    refused = simulate(slow.state, study["id"], 1)
    assert refused[0]["outcome"] == "refused" and "PUBLISHING" in refused[0]["reason"]
    stopped = slow.post(f"studies/{study['id']}/transition/", {"action": "STOP"})
    assert stopped.status_code == 400 and error_of(stopped)["error_code"] == 140002
    advance_clock(slow.state, 2.9)
    assert slow.study(study["id"])["status"] == "PUBLISHING"
    advance_clock(slow.state, 0.2)
    assert slow.study(study["id"])["status"] == "ACTIVE"
    assert slow.get("studies/", params={"state": "(active|paused)"}).json()["meta"]["count"] == 1
    assert simulate(slow.state, study["id"], 1)[0]["outcome"] == "submit"


def test_the_machine_clock_settles_too(tmp_path):
    state = fresh_state(tmp_path, settle_seconds=0.2)
    with httpx.Client(transport=transport(state, faults=""), base_url=BASE_URL, headers=AUTH) as client:
        api = Api(client, state, "inprocess")
        sid = api.published()["id"]
        assert api.study(sid)["status"] == "PUBLISHING"
        time.sleep(0.3)
        assert api.study(sid)["status"] == "ACTIVE"  # any request settles what is due


def test_bulk_approval_settles_later_and_never_undoes_a_rejection(slow):
    sid = _settled_study(slow)
    simulate(slow.state, sid, 3)
    ids = [s["id"] for s in slow.submissions(sid)]
    answer = slow.post("submissions/bulk-approve/", {"submission_ids": ids})
    assert answer.status_code == 200 and isinstance(answer.json(), str)
    assert {s["status"] for s in slow.submissions(sid)} == {"AWAITING REVIEW"}
    message = "x" * 100
    rejected = slow.post(f"submissions/{ids[0]}/transition/", {"action": "REJECT", "rejection_category": "LOW_EFFORT", "message": message})
    assert rejected.json()["status"] == "REJECTED"  # single transitions stay synchronous
    advance_clock(slow.state, 3)
    assert [s["status"] for s in slow.submissions(sid)] == ["REJECTED", "APPROVED", "APPROVED"]


def test_bonus_pay_is_202_then_paid_when_settled_and_twice_pays_twice(slow):
    sid = _settled_study(slow)
    person = simulate(slow.state, sid, 1)[0]["participant_id"]
    setup = slow.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{person},1.00"}).json()
    before = slow.available()
    for _ in range(2):
        paid = slow.post(f"bulk-bonus-payments/{setup['id']}/pay/")
        assert paid.status_code == 202 and isinstance(paid.json(), str)
    assert payments(slow.state) == [] and slow.available() == before
    assert amounts(slow.get(f"studies/{sid}/cost/").json()["bonuses"])["rewards"] == 0
    advance_clock(slow.state, 3)
    assert [p["amount"] for p in payments(slow.state)] == [100, 100]  # the trap, kept on purpose
    assert slow.available() == before - 2 * 133
    assert amounts(slow.get(f"studies/{sid}/cost/").json()["bonuses"]) == {"rewards": 200, "fees": 66, "tax": 0}


def test_a_pay_promised_counts_against_the_next_one(slow):
    sid = _settled_study(slow)
    person = simulate(slow.state, sid, 1)[0]["participant_id"]
    setup = slow.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{person},1.00"}).json()
    configure_account(slow.state, balance=setup["total_amount"] + 1)
    assert slow.post(f"bulk-bonus-payments/{setup['id']}/pay/").status_code == 202
    second = slow.post(f"bulk-bonus-payments/{setup['id']}/pay/")
    assert second.status_code == 400 and error_of(second)["error_code"] == 140003
    advance_clock(slow.state, 3)
    assert len(payments(slow.state)) == 1 and slow.available() == 1


def test_the_delay_is_read_from_the_environment_when_a_state_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "0")
    state = tmp_path / "env.sqlite"
    with httpx.Client(transport=transport(state, faults=""), base_url=BASE_URL, headers=AUTH) as client:
        api = Api(client, state, "inprocess")
        assert api.published()["status"] == "ACTIVE"
        monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "7")  # an existing state keeps its setting
        assert api.published()["status"] == "ACTIVE"
    monkeypatch.setenv("BABE_PROLIFIC_SETTLE_SECONDS", "soon")
    with pytest.raises(ValueError, match="settle_seconds"):
        configure_account(tmp_path / "bad.sqlite")
