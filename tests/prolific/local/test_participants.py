"""Simulated participants: places, pause/stop, blocklists, approval-rate filters, returns, time-outs,
codes, and _babe-shaped trial data posted to a (fake) backend."""

from __future__ import annotations

import pytest
from babe_prolific.local import simulate

from babe_tasks.simulation.statefile import read_token
from babe_tasks.testing.backend import serve_backend


def test_participants_fill_the_places_and_no_more(local):
    sid = local.published(total_available_places=4)["id"]
    results = local.simulate(sid, 6)
    assert [r["outcome"] for r in results] == ["submit"] * 4 + ["refused"] * 2
    assert {r["status"] for r in results[:4]} == {"AWAITING REVIEW"}
    assert results[4]["reason"].startswith("closed") and results[4]["submission_id"] is None
    assert local.study(sid)["places_taken"] == 4


def test_active_participants_hold_places(local):
    sid = local.published(total_available_places=2)["id"]
    local.simulate(sid, 2, timeout_rate=1.0)
    refused = local.simulate(sid, 1)
    assert refused[0]["reason"] == "full" and local.study(sid)["status"] == "ACTIVE"


@pytest.mark.parametrize("action", ["PAUSE", "STOP"])
def test_paused_and_stopped_studies_take_nobody(local, action):
    sid = local.published()["id"]
    local.post(f"studies/{sid}/transition/", {"action": action})
    results = local.simulate(sid, 2)
    assert all(r["outcome"] == "refused" and "closed" in r["reason"] for r in results)
    if action == "PAUSE":
        local.post(f"studies/{sid}/transition/", {"action": "START"})
        assert [r["outcome"] for r in local.simulate(sid, 2)] == ["submit", "submit"]


def test_unpublished_studies_take_nobody_and_unknown_ones_are_an_error(local):
    sid = local.draft()["id"]
    assert local.simulate(sid, 1)[0]["reason"] == "closed (study is UNPUBLISHED)"
    with pytest.raises(ValueError, match="^study 000000000000000000000000 does not exist on this local Prolific$"):
        local.simulate("000000000000000000000000", 1)


def test_previous_studies_blocklist(local):
    first = local.published(total_available_places=3)["id"]
    earlier = [r["participant_id"] for r in local.simulate(first, 3)]
    second = local.published(
        total_available_places=5,
        filters=[{"filter_id": "previous_studies_blocklist", "selected_values": [first]}],
    )["id"]
    came = local.simulate(second, 5, returning=3)
    returning = [r for r in came if r["participant_id"] in earlier]
    assert len(returning) == 3 and all(r["reason"].startswith("blocklisted") for r in returning)
    assert sum(r["outcome"] == "submit" for r in came) == 2
    # without the filter the same people are welcome
    third = local.published()["id"]
    assert [r["outcome"] for r in local.simulate(third, 3, participant_ids=earlier)] == ["submit"] * 3


def test_a_participant_takes_a_study_once(local):
    sid = local.published(total_available_places=5)["id"]
    person = local.simulate(sid, 1)[0]["participant_id"]
    again = local.simulate(sid, 1, participant_ids=[person])
    assert again[0]["reason"] == "already took part"


def test_approval_rate_filter(local):
    sid = local.published(filters=[{"filter_id": "approval_rate", "selected_range": {"lower": 95, "upper": 100}}])["id"]
    low = local.simulate(sid, 2, approval_rate=90)
    assert all(r["reason"] == "approval rate 90 outside 95-100" for r in low)
    assert [r["outcome"] for r in local.simulate(sid, 2, approval_rate=98.5)] == ["submit", "submit"]


def test_outcomes_come_in_exact_proportions_and_are_seeded(local):
    sid = local.published(total_available_places=20)["id"]
    results = local.simulate(sid, 20, seed=7, return_rate=0.25, timeout_rate=0.1, wrong_code_rate=0.1, no_code_rate=0.05)
    outcomes = [r["outcome"] for r in results]
    assert (outcomes.count("return"), outcomes.count("time_out"), outcomes.count("wrong_code"), outcomes.count("no_code")) == (5, 2, 2, 1)
    by = {r["outcome"]: r for r in results}
    assert by["return"]["status"] == "RETURNED" and by["time_out"]["status"] == "ACTIVE"
    codes = {s["id"]: s["study_code"] for s in local.submissions(sid)}
    assert codes[by["wrong_code"]["submission_id"]].startswith("WRONG") and codes[by["no_code"]["submission_id"]] == ""
    assert codes[by["submit"]["submission_id"]] == "C0DE1234"
    other = local.published(total_available_places=20)["id"]
    again = local.simulate(other, 20, seed=7, return_rate=0.25, timeout_rate=0.1, wrong_code_rate=0.1, no_code_rate=0.05)
    assert len({r["participant_id"] for r in again} & {r["participant_id"] for r in results}) == 0  # new people per study


def test_the_same_seed_gives_the_same_run(tmp_path):
    import httpx
    from babe_prolific.local import transport
    from babe_prolific.local.inprocess import BASE_URL

    from .conftest import AUTH, fresh_state, study_body

    runs = []
    for name in ("a", "b"):
        state = fresh_state(tmp_path / name)
        with httpx.Client(transport=transport(state, faults=""), base_url=BASE_URL, headers=AUTH) as client:
            sid = client.post("studies/", json=study_body(total_available_places=10)).json()["id"]
            client.post(f"studies/{sid}/transition/", json={"action": "PUBLISH"})
        runs.append([r["outcome"] for r in simulate(state, sid, 10, seed=3, return_rate=0.3)])
    assert runs[0] == runs[1] and runs[0].count("return") == 3


def test_an_automatically_approving_code(local):
    codes = [{"code": "AUTO1", "code_type": "COMPLETED", "actions": [{"action": "AUTOMATICALLY_APPROVE"}]}]
    sid = local.published(completion_codes=codes, total_available_places=2)["id"]
    assert [r["status"] for r in local.simulate(sid, 2)] == ["APPROVED", "APPROVED"]
    assert local.study(sid)["status"] == "COMPLETED"


def test_bad_options_are_one_clear_error(local):
    sid = local.published()["id"]
    with pytest.raises(ValueError, match="return_rate must be between 0 and 1"):
        local.simulate(sid, 2, return_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        local.simulate(sid, 2, return_rate=0.6, timeout_rate=0.6)
    with pytest.raises(ValueError, match="returning=2 but only 0"):
        local.simulate(sid, 2, returning=2)
    with pytest.raises(ValueError, match="names 1 participants but count is 2"):
        local.simulate(sid, 2, participant_ids=["a"])


def test_participants_post_babe_trials_to_the_backend(local):
    server, url = serve_backend()
    try:
        server.backend.add_experiment(12)
        sid = local.published(total_available_places=4)["id"]
        results = local.simulate(sid, 4, post_to=f"{url}/api/submit_experiment/12", lose_rate=0.25)
        assert [r["posted"] for r in results].count(True) == 3
        stored = server.backend.submissions("12")
        assert len(stored) == 3
        posted = {r["submission_id"]: r["participant_id"] for r in results if r["posted"]}
        for _, trials in stored:
            assert 3 <= len(trials) <= 5
            first = trials[0]
            assert posted[first["session_id"]] == first["prolific_id"]
            assert first["study_id"] == sid and first["experiment_id"] == "12"
            assert "worker_id" not in first and "assignment_id" not in first
            assert {"trial_number", "response", "RT", "startTime", "endTime"} <= set(first)
            assert len({t["session_id"] for t in trials}) == 1
        # every participant submitted, data or not (a page whose POST failed still finishes)
        assert {r["status"] for r in results} == {"AWAITING REVIEW"}
    finally:
        server.shutdown()


def test_simulate_through_a_servers_url(api):
    if api.mode == "http":
        sid = api.published()["id"]
        with pytest.raises(ValueError, match="X-Babe-Local-Token"):  # the server's state token is asked for
            simulate(api.url, sid, 2, seed=1)
        token = read_token(api.state)
        results = simulate(api.url, sid, 2, seed=1, token=token)
        assert [r["outcome"] for r in results] == ["submit", "submit"]
        with pytest.raises(ValueError, match="refused the participants"):
            simulate(api.url, sid, 2, return_rate=7, token=token)
    else:
        sid = api.published()["id"]
        assert [r["outcome"] for r in api.simulate(sid, 2, seed=1)] == ["submit", "submit"]
    assert api.counts(sid)["AWAITING REVIEW"] == 2
