"""Auth, the shared clock (time-outs, 21-day auto-approval), the private /_local routes, seeded faults,
and the HTTP server itself (keep-alive, clean stop)."""

from __future__ import annotations

import http.client
import json

import httpx
import pytest
from babe_prolific.local import (
    advance_clock,
    configure_account,
    make_app,
    payments,
    serve_in_thread,
    stats,
    transport,
)
from babe_prolific.local.faults import from_environment
from babe_prolific.local.inprocess import BASE_URL

from babe_tasks.simulation.statefile import read_token
from babe_tasks.simulation.serving import TOKEN_HEADER

from .conftest import AUTH, error_of, study_body

DAY = 24 * 3600


def control(url: str, state) -> httpx.Client:
    """A client of a server's private routes, as babe-prolific's commands are: the state's token sent."""
    return httpx.Client(base_url=url, headers={TOKEN_HEADER: read_token(state)})


# -- auth -----------------------------------------------------------------------------------------
def test_a_missing_token_is_a_401(api):
    response = api.client.get("users/me/", headers={"Authorization": ""})
    assert response.status_code == 401 and error_of(response)["error_code"] == 140401
    wrong_scheme = api.client.get("users/me/", headers={"Authorization": "Bearer abc"})
    assert wrong_scheme.status_code == 401


def test_the_refused_token_is_a_401_and_never_stored(api):
    secret = "refused-token-3f9a8c7d"
    configure_account(api.state, refused_token=secret)
    response = api.client.get("users/me/", headers={"Authorization": f"Token {secret}"})
    assert response.status_code == 401 and error_of(response)["detail"] == "Invalid token."
    assert secret not in response.text
    assert api.get("users/me/").status_code == 200  # any other token works
    for path in api.state.parent.glob("prolific.sqlite*"):
        assert secret.encode() not in path.read_bytes()
        assert AUTH["Authorization"].split()[1].encode() not in path.read_bytes()


# -- clock ----------------------------------------------------------------------------------------
def test_auto_approval_after_21_days(api):
    sid = api.published()["id"]
    api.simulate(sid, 3)
    advance_clock(api.state, 21 * DAY - 60)
    assert api.counts(sid)["AWAITING REVIEW"] == 3
    advance_clock(api.state, 61)
    counts = api.counts(sid)
    assert counts["APPROVED"] == 3 and counts["AWAITING REVIEW"] == 0
    assert api.study(sid)["status"] == "COMPLETED"


def test_time_outs_free_places_after_the_maximum_allowed_time(api):
    sid = api.published(total_available_places=2)["id"]
    api.simulate(sid, 2, timeout_rate=1.0)
    assert api.simulate(sid, 1)[0]["reason"] == "full"
    advance_clock(api.state, 17 * 60)
    assert api.counts(sid)["TIMED-OUT"] == 2
    assert [r["outcome"] for r in api.simulate(sid, 2)] == ["submit", "submit"]


def test_clock_route(api):
    if api.mode == "http":
        with control(api.url, api.state) as raw:
            before = raw.get("/_local/clock").json()
            after = raw.post("/_local/clock", json={"advance": "2d"}).json()
            assert after["offset"] == before["offset"] + 2 * DAY
            assert raw.post("/_local/clock", json={"advance_seconds": 30}).json()["offset"] == after["offset"] + 30
            bad = raw.post("/_local/clock", json={"advance": "soon"})
            assert bad.status_code == 400 and "not a duration" in error_of(bad)["detail"]
            assert raw.post("/_local/clock", json={"advance_seconds": -5}).status_code == 400
            assert raw.post("/_local/clock", json={"when": 1}).status_code == 400
    else:
        assert advance_clock(api.state, 3600)["offset"] == 3600
        with pytest.raises(ValueError, match="only moves forward"):
            advance_clock(api.state, -1)


# -- private routes ---------------------------------------------------------------------------------
def test_private_routes_over_http(tmp_path):
    state = tmp_path / "p.sqlite"
    url, stop = serve_in_thread(state, faults="")
    try:
        with httpx.Client(base_url=f"{url}/api/v1/", headers=AUTH) as client, control(url, state) as raw:
            assert raw.post("/_local/account", json={"settle_seconds": 0}).json()["settle_seconds"] == "0"
            assert raw.post("/_local/account", json={"settle_seconds": -1}).status_code == 400
            sid = client.post("studies/", json=study_body()).json()["id"]
            client.post(f"studies/{sid}/transition/", json={"action": "PUBLISH"})
            came = raw.post("/_local/participants", json={"study_id": sid, "count": 2}).json()["participants"]
            assert [p["outcome"] for p in came] == ["submit", "submit"]
            setup = client.post("submissions/bonus-payments/", json={"study_id": sid, "csv_bonuses": f"{came[0]['participant_id']},1"}).json()
            client.post(f"bulk-bonus-payments/{setup['id']}/pay/")
            paid = raw.get("/_local/payments").json()["payments"]
            assert [(p["participant_id"], p["amount"]) for p in paid] == [(came[0]["participant_id"], 100)]
            assert raw.get("/_local/payments", params={"study": "nope"}).json()["payments"] == []
            calls = raw.get("/_local/stats").json()["calls"]
            assert calls["POST /studies/"] == 1 and calls["POST /studies/{id}/transition/"] == 1
            assert calls["POST /bulk-bonus-payments/{id}/pay/"] == 1
            assert raw.get("/_local/stats").json()["by_status"]["POST /studies/"] == {"201": 1}
            assert raw.post("/_local/stats/reset", json={}).json()["calls"] == {}
            account = raw.post("/_local/account", json={"currency_code": "GBP"}).json()
            assert account["currency_code"] == "GBP"
            assert raw.post("/_local/account", json={"currency_code": "XYZ"}).status_code == 400
            assert raw.post("/_local/account", json={"colour": 1}).status_code == 400
            assert raw.get("/_local/nothing").status_code == 404
            assert raw.get("/elsewhere/").status_code == 404
            assert raw.post("/_local/participants", content=b"[1]", headers={"Content-Type": "application/json"}).status_code == 400
    finally:
        stop()
    assert stats(state)["calls"] == {}  # what the server recorded is in the state (reset above)


# -- faults -----------------------------------------------------------------------------------------
def _statuses(state, spec: str, n: int = 30) -> list[int | str]:
    seen: list[int | str] = []
    with httpx.Client(transport=transport(state, faults=spec), base_url=BASE_URL, headers=AUTH) as client:
        for _ in range(n):
            try:
                seen.append(client.get("users/me/").status_code)
            except httpx.RemoteProtocolError:
                seen.append("dropped")
    return seen


def test_faults_are_deterministic_by_seed(tmp_path):
    spec = "throttle=0.2,fault=0.1,drop=0.1,lost=0.1,seed=11"
    first = _statuses(tmp_path / "a.sqlite", spec)
    second = _statuses(tmp_path / "b.sqlite", spec)
    assert first == second
    assert {429, 500, 200, "dropped"} <= set(first)
    other = _statuses(tmp_path / "c.sqlite", spec.replace("seed=11", "seed=12"))
    assert other != first


def test_injected_errors_use_prolifics_shape(tmp_path):
    with httpx.Client(transport=transport(tmp_path / "p.sqlite", faults="throttle=1"), base_url=BASE_URL, headers=AUTH) as client:
        response = client.get("users/me/")
    assert response.status_code == 429 and error_of(response)["error_code"] == 140429
    with httpx.Client(transport=transport(tmp_path / "p.sqlite", faults="fault=1"), base_url=BASE_URL, headers=AUTH) as client:
        response = client.get("users/me/")
    assert response.status_code == 500 and error_of(response)["error_code"] == 140500


def test_a_lost_answer_was_carried_out(api):
    """In-process and over HTTP alike the client sees a closed connection, yet the study exists:
    a retry must look before it creates again."""
    if api.mode == "http":
        with control(api.url, api.state) as raw:
            raw.post("/_local/faults", json={"spec": "lost=1"})
        with pytest.raises(httpx.RemoteProtocolError):
            api.post("studies/", study_body())
        with control(api.url, api.state) as raw:
            assert raw.post("/_local/faults", json={"spec": ""}).json() == {"spec": None, "counts": None}
    else:
        with httpx.Client(transport=transport(api.state, faults="lost=1"), base_url=BASE_URL, headers=AUTH) as lossy, pytest.raises(httpx.RemoteProtocolError):
            lossy.post("studies/", json=study_body())
    assert api.get("studies/").json()["meta"]["count"] == 1


def test_a_dropped_request_did_nothing(api):
    if api.mode == "http":
        with control(api.url, api.state) as raw:
            raw.post("/_local/faults", json={"spec": "drop=1"})
            with pytest.raises(httpx.RemoteProtocolError):
                api.post("studies/", study_body())
            assert raw.get("/_local/faults").json()["counts"]["drop"] == 1  # private routes are never faulted
            assert raw.get("/_local/stats").json()["by_status"]["POST /studies/"] == {"0": 1}
            raw.post("/_local/faults", json={"spec": ""})
    else:
        with httpx.Client(transport=transport(api.state, faults="drop=1"), base_url=BASE_URL, headers=AUTH) as lossy, pytest.raises(httpx.RemoteProtocolError):
            lossy.post("studies/", json=study_body())
    assert api.get("studies/").json()["meta"]["count"] == 0


def test_a_lost_pay_answer_then_a_retry_pays_twice(local):
    """The scenario the adapter's bonus journal exists for."""
    sid = local.published()["id"]
    person = local.simulate(sid, 1)[0]["participant_id"]
    setup = local.post("submissions/bonus-payments/", {"study_id": sid, "csv_bonuses": f"{person},2.00"}).json()
    with httpx.Client(transport=transport(local.state, faults="lost=1"), base_url=BASE_URL, headers=AUTH) as lossy, pytest.raises(httpx.RemoteProtocolError):
        lossy.post(f"bulk-bonus-payments/{setup['id']}/pay/")
    assert len(payments(local.state)) == 1  # the client saw an error, the money moved
    local.post(f"bulk-bonus-payments/{setup['id']}/pay/")  # a naive retry
    assert len(payments(local.state)) == 2


def test_faults_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BABE_PROLIFIC_FAULTS", "throttle=1,seed=1")
    app = make_app(tmp_path / "p.sqlite")
    try:
        assert str(app.faults.spec) == "throttle=1,seed=1"
    finally:
        app.close()
    monkeypatch.setenv("BABE_PROLIFIC_FAULTS", "throttle=2")
    with pytest.raises(ValueError, match="^BABE_PROLIFIC_FAULTS: fault spec: throttle=2 is not a probability"):
        from_environment()
    monkeypatch.setenv("BABE_PROLIFIC_FAULTS", "")
    assert from_environment() is None


def test_faults_route_validates(tmp_path):
    state = tmp_path / "p.sqlite"
    url, stop = serve_in_thread(state, faults="seed=1,throttle=0.5")
    try:
        with control(url, state) as raw:
            assert raw.get("/_local/faults").json()["spec"] == "throttle=0.5,seed=1"
            bad = raw.post("/_local/faults", json={"spec": "bogus=1"})
            assert bad.status_code == 400 and "unknown key 'bogus'" in error_of(bad)["detail"]
            assert raw.post("/_local/faults", json={"spec": 5}).status_code == 400
    finally:
        stop()


# -- the server ---------------------------------------------------------------------------------------
def test_keep_alive_and_clean_stop(tmp_path):
    url, stop = serve_in_thread(tmp_path / "p.sqlite", faults="")
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/api/v1/users/me/", headers=AUTH)
        first = conn.getresponse()
        assert first.status == 200 and json.loads(first.read())["currency_code"] == "USD"
        sock = conn.sock
        conn.request("POST", "/api/v1/studies/", body=json.dumps(study_body()), headers={**AUTH, "Content-Type": "application/json"})
        second = conn.getresponse()
        assert second.status == 201 and json.loads(second.read())["status"] == "UNPUBLISHED"
        assert conn.sock is sock  # one connection served both requests
    finally:
        conn.close()
        stop()
    stop()  # a second stop is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/v1/users/me/", headers=AUTH, timeout=2)


# -- private routes answer only this machine's own tools (issue 14, item 6) ------------------------------
def test_a_web_page_cannot_move_the_clock_or_the_account(tmp_path):
    """A text/plain POST (no CORS pre-flight) from a page's Origin, or with a rebound Host, moves
    nothing; JSON without the state's token neither, in-process or over HTTP."""
    state = tmp_path / "p.sqlite"
    url, stop = serve_in_thread(state, faults="")
    try:
        port = url.rsplit(":", 1)[1]
        page = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
        rebound = {"Content-Type": "application/json", TOKEN_HEADER: read_token(state), "Host": f"evil.example:{port}"}
        foreign = {"Content-Type": "application/json", TOKEN_HEADER: read_token(state), "Origin": "http://evil.example"}
        for headers, status, fragment in ((page, 403, "cross-origin"), (rebound, 403, "not a loopback name"), (foreign, 403, "cross-origin"),
                                          ({"Content-Type": "text/plain"}, 415, "JSON body"), ({"Content-Type": "application/json"}, 403, "no X-Babe-Local-Token"),
                                          ({"Content-Type": "application/json", TOKEN_HEADER: "guessed"}, 403, "a wrong X-Babe-Local-Token")):
            for route, body in (("/_local/clock", b'{"advance": "30d"}'), ("/_local/account", b'{"balance": 99999999}'), ("/_local/faults", b'{"spec": "fault=1"}')):
                refused = httpx.post(url + route, content=body, headers=headers)
                assert refused.status_code == status, (route, headers, refused.text)
                assert fragment in error_of(refused)["detail"]
        assert httpx.get(url + "/_local/clock", headers={"Host": "evil.example"}).status_code == 403
        assert httpx.get(url + "/_local/clock").status_code == 200  # reading needs no token
        # A GET carries no change: a body on it is refused rather than obeyed.
        assert httpx.request("GET", url + "/_local/account", json={"balance": 1}).status_code == 400
    finally:
        stop()
    with httpx.Client(transport=transport(state), base_url=BASE_URL) as inprocess:
        assert inprocess.post("http://localprolific/_local/clock", json={"advance": "30d"}).status_code == 403
        token = {TOKEN_HEADER: read_token(state)}
        assert inprocess.post("http://localprolific/_local/clock", json={"advance": 60}, headers=token).json()["offset"] == 60
    assert configure_account(state)["balance"] == "1000000"


def test_the_clock_cannot_be_moved_past_ten_years(api):
    if api.mode == "http":
        with control(api.url, api.state) as raw:
            for body in ({"advance": "3000000d"}, {"advance_seconds": 1e12}):
                refused = raw.post("/_local/clock", json=body)
                assert refused.status_code == 400 and "10 years" in error_of(refused)["detail"], body
            nan = raw.post("/_local/clock", content=b'{"advance_seconds": NaN}', headers={"Content-Type": "application/json"})
            assert nan.status_code == 400
            assert raw.get("/_local/clock").json()["offset"] == 0
    else:
        with pytest.raises(ValueError, match="10 years"):
            advance_clock(api.state, 3_000_000 * DAY)
        assert advance_clock(api.state, 3650 * DAY)["offset"] == 3650 * DAY
        with pytest.raises(ValueError, match="3651 days ahead"):
            advance_clock(api.state, DAY)
    assert api.get("users/me/").status_code == 200  # the state still answers


def test_the_cli_sends_the_token_and_refuses_a_far_clock(tmp_path, monkeypatch, capsys):
    from babe_prolific.cli import main

    state = tmp_path / "p.sqlite"
    assert main(["clock", "--state", str(state), "--advance", "3000000d"]) == 2
    assert "10 years" in capsys.readouterr().err
    url, stop = serve_in_thread(state, faults="")
    try:
        monkeypatch.setenv("BABE_PROLIFIC_LOCAL_TOKEN", read_token(state))
        assert main(["clock", "--endpoint-url", url, "--advance", "1h", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["offset"] == 3600
        monkeypatch.setenv("BABE_PROLIFIC_LOCAL_TOKEN", "guessed")
        assert main(["clock", "--endpoint-url", url, "--advance", "1h"]) == 2
        err = capsys.readouterr().err
        assert "a wrong X-Babe-Local-Token" in err and "BABE_PROLIFIC_LOCAL_TOKEN" in err and len(err.strip().splitlines()) == 1
        monkeypatch.setenv("BABE_PROLIFIC_LOCAL_TOKEN", read_token(state))
        assert main(["clock", "--endpoint-url", url, "--advance", "3000000d"]) == 2
        assert "10 years" in capsys.readouterr().err
    finally:
        stop()
