"""The published API as a table: made from Prolific's spec, and applied to requests and answers.

The table must be what the spec makes (regenerated here when the spec is beside the checkout),
the checker must tell a wrong shape from a right one (with the spec's self-contradictions
resolved leniently), every route of the local Prolific must be an operation of the spec, and
the app must refuse per field what the schema forbids while letting through what it allows.
"""

from __future__ import annotations

import json

import httpx
import pytest
from babe_prolific.local import app as app_module
from babe_prolific.local import conformance, spectable
from babe_prolific.local.inprocess import BASE_URL, LocalTransport
from babe_prolific.local.app import make_app

from .conftest import AUTH, error_of, study_body

SPEC_MISSING = f"Prolific's OpenAPI description is not beside the checkout ({spectable.DEFAULT_SPEC})"


def _walk(node, path="$"):
    """(path, key, value) of every member of every object, property names excepted."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not path.endswith((".properties", ".$defs", ".operations", ".responses")):
                yield path, key, value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


# -- the table ------------------------------------------------------------------------------------
@pytest.mark.skipif(not spectable.DEFAULT_SPEC.is_file(), reason=SPEC_MISSING)
def test_the_table_regenerates_identically_from_the_spec():
    made = spectable.render(spectable.build(spectable.DEFAULT_SPEC.read_text(encoding="utf-8")))
    assert made == spectable.TABLE.read_text(encoding="utf-8"), "run python -m babe_prolific.local.spectable"
    assert spectable.main(["--check"]) == 0


@pytest.mark.skipif(not spectable.DEFAULT_SPEC.is_file(), reason=SPEC_MISSING)
def test_check_fails_on_a_table_that_differs(tmp_path, capsys):
    stale = tmp_path / "openapi_table.json"
    table = json.loads(spectable.TABLE.read_text(encoding="utf-8"))
    table["$defs"]["Study"]["allOf"][2]["required"].remove("id")
    stale.write_text(spectable.render(table), encoding="utf-8")
    assert spectable.main(["--check", "--table", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert spectable.main(["--check", "--table", str(tmp_path / "absent.json")]) == 1
    assert spectable.main(["--spec", str(tmp_path / "no-spec.yml"), "--check"]) == 2


def test_the_table_is_facts_only_and_plain_json_schema():
    table = conformance.table()
    assert len(table["operations"]) == 98 and table["prefix"] == "/api/v1"
    for path, key, value in _walk(table):
        assert key not in ("description", "example", "examples", "title", "nullable", "x-nullable", "oneOf", "discriminator"), path
        if key == "$ref":
            assert value.startswith("#/$defs/") and value.removeprefix("#/$defs/") in table["$defs"], (path, value)
    assert {entry["id"] for entry in table["leniencies"]} == {ident for ident, _, _ in spectable.LENIENCIES}
    assert all(entry["why"] and entry["where"] for entry in table["leniencies"])
    # OpenAPI's nullable became JSON Schema's null type.
    assert table["$defs"]["StudyShort"]["properties"]["internal_name"] == {"type": ["string", "null"]}


# -- answers --------------------------------------------------------------------------------------
def _money(amount: int) -> dict:
    return {"amount": amount, "currency": "GBP"}


COST = {
    "rewards": {"rewards": _money(300), "fees": _money(100), "tax": _money(0)},
    "bonuses": {"rewards": _money(150), "fees": _money(50), "tax": _money(0)},
}
STUDY = {
    "id": "60f6acb180a7b59ac0621f9e",
    "status": "UNPUBLISHED",
    "name": "Acceptability judgements",
    "internal_name": None,
    "description": "Read sentences.",
    "external_study_url": "https://lab.example.org/exp/",
    "prolific_id_option": "url_parameters",
    "completion_codes": [{"code": "C0DE1234", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]}],
    "estimated_completion_time": 5,
    "maximum_allowed_time": 17,
    "reward": 100,
    "total_available_places": 3,
}
SUBMISSION_ITEM = {
    "id": "60f25f799fbd8a136cc6a9b0",
    "participant_id": "5ce69ff9b1e73b000146186d",
    "status": "AWAITING REVIEW",
    "started_at": "2026-12-06T02:00:00.000000Z",
    "completed_at": None,
    "has_siblings": False,
    "study_code": "C0DE1234",
}


def test_right_answers_conform():
    assert conformance.response_problems("GET", "/studies/abc/cost/", 200, COST) == []
    assert conformance.response_problems("GET", "/api/v1/studies/abc/", 200, STUDY) == []
    assert conformance.response_problems("GET", "/studies/", 200, {"results": [{"id": "a", "name": "b", "status": "ACTIVE"}]}) == []
    assert conformance.response_problems("GET", "/studies/abc/submissions/", 200, {"results": [SUBMISSION_ITEM]}) == []
    assert conformance.response_problems("POST", "/submissions/bulk-approve/", 200, "The request to bulk approve has been made successfully.") == []
    assert conformance.response_problems("POST", "/bulk-bonus-payments/abc/pay/", 202, "Paying.") == []
    assert conformance.response_problems("DELETE", "/participant-groups/abc/", 204, None, None) == []


def test_a_flat_integer_cost_is_caught_naming_the_path():
    flat = {"rewards": {"rewards": 300, "fees": 100, "tax": 0, "total": 400}, "bonuses": COST["bonuses"]}
    problems = conformance.response_problems("GET", "/studies/abc/cost/", 200, flat)
    assert problems == [
        "GET /studies/{id}/cost/ 200: $.rewards.fees: 100 is not of type 'object'",
        "GET /studies/{id}/cost/ 200: $.rewards.rewards: 300 is not of type 'object'",
        "GET /studies/{id}/cost/ 200: $.rewards.tax: 0 is not of type 'object'",
    ]


def test_a_missing_id_and_an_unknown_enum_value_are_caught():
    no_id = {key: value for key, value in STUDY.items() if key != "id"}
    assert conformance.response_problems("GET", "/studies/abc/", 200, no_id) == ["GET /studies/{id}/ 200: $.id: required"]
    item = dict(SUBMISSION_ITEM, status="FINISHED")
    (problem,) = conformance.response_problems("GET", "/studies/abc/submissions/", 200, {"results": [SUBMISSION_ITEM, item]})
    assert problem.startswith("GET /studies/{id}/submissions/ 200: $.results[1].status: 'FINISHED' is not one of [")
    assert conformance.response_problems("GET", "/studies/abc/", 200, dict(STUDY, reward=None)) == [
        "GET /studies/{id}/ 200: $.reward: None is not of type 'number'"
    ]
    bad_time = dict(SUBMISSION_ITEM, started_at="yesterday")
    assert "$.results[0].started_at" in conformance.response_problems("GET", "/submissions/", 200, {"results": [bad_time]})[0]


def test_status_content_type_and_unknown_operations_are_caught():
    assert conformance.response_problems("GET", "/studies/", 201, {"results": []}) == [
        "GET /studies/: status 201 is not documented (documented: 200, 4XX)"
    ]
    assert conformance.response_problems("POST", "/submissions/bulk-approve/", 200, "done", "text/plain; charset=utf-8") == [
        "POST /submissions/bulk-approve/: 200 answered text/plain, the spec documents application/json"
    ]
    assert conformance.response_problems("GET", "/studies/abc/frobnicate/", 200, {}) == [
        "GET /studies/abc/frobnicate/ is not an operation of Prolific's published API"
    ]
    assert conformance.response_problems("DELETE", "/participant-groups/abc/", 204, {"deleted": True}) != []


def test_errors_in_either_documented_shape_conform_and_others_do_not():
    detail = {"status": 400, "error_code": 140001, "title": "Bad Request", "detail": {"reward": ["A number."]}}
    for path in ("/studies/", "/studies/abc/"):  # one documents ErrorDetail, the other Error
        assert conformance.response_problems("GET", path, 400, {"error": dict(detail, additional_information="")}) == []
        assert conformance.response_problems("GET", path, 404, detail) == []
        assert conformance.response_problems("GET", path, 400, {"detail": "Not found."}) != []
    assert conformance.response_problems("GET", "/nowhere/", 404, {"error": detail}) == []
    assert conformance.response_problems("GET", "/nowhere/", 404, {"message": "no"}) != []


def test_the_spec_contradictions_are_resolved_leniently():
    for status in ("PUBLISHING", "UNPUBLISHED"):
        assert conformance.response_problems("POST", "/studies/abc/transition/", 200, dict(STUDY, status=status)) == []
    for status in ("TIME-OUT", "TIMED-OUT", "PARTIALLY APPROVED"):
        assert conformance.response_problems("GET", "/submissions/", 200, {"results": [dict(SUBMISSION_ITEM, status=status)]}) == []
    free_code = dict(STUDY, completion_codes=[{"code": "X1", "code_type": "SCREENED_EARLY", "actions": []}])
    assert conformance.response_problems("GET", "/studies/abc/", 200, free_code) == []


# -- requests -------------------------------------------------------------------------------------
def test_request_problems_name_each_field():
    problems = conformance.request_problems("POST", "/studies/", {}, {"name": "x", "reward": "100", "prolific_id_option": "cookie"})
    assert set(problems) == {
        "description", "external_study_url", "prolific_id_option", "total_available_places",
        "estimated_completion_time", "reward", "completion_codes",
    }
    assert problems["reward"] == ["$.reward: '100' is not of type 'number'"]
    assert problems["description"] == ["$.description: required"]
    assert conformance.request_problems("GET", "/studies/", {"state": "FINISHED"}, None).keys() == {"state"}
    assert conformance.request_problems("GET", "/hooks/secrets/", {}, None) == {"workspace_id": ["?workspace_id: required"]}
    assert conformance.request_problems("GET", "/hooks/subscriptions/abc/events/", {"limit": "ten"}, None).keys() == {"limit"}
    assert conformance.request_problems("POST", "/submissions/bulk-approve/", {}, {"submission_ids": "abc"}).keys() == {"submission_ids"}


def test_request_problems_allow_what_the_spec_allows():
    everything = study_body(
        internal_name=None,
        maximum_allowed_time=30,
        device_compatibility=["desktop", "mobile"],
        peripheral_requirements=["audio"],
        is_custom_screening=False,
        filters=None,
        submissions_config={"max_submissions_per_participant": 1, "max_concurrent_submissions": None},
        study_labels=["survey"],
        content_warnings=["sensitive"],
        metadata="batch 1",
        naivety_distribution_rate=0.5,
        project="60f6acb180a7b59ac0621f9e",
        eligibility_requirements=[],  # deprecated, not in the schema: unknown members are allowed
        completion_codes=[{"code": "C1", "code_type": "DONE_EARLY", "actions": [{"action": "AUTOMATICALLY_APPROVE"}], "actor": "researcher"}],
    )
    assert conformance.request_problems("POST", "/studies/", {}, everything) == {}
    assert conformance.request_problems("PATCH", "/studies/abc/", {}, {"total_available_places": 10}) == {}
    assert conformance.request_problems("PATCH", "/workspaces/abc/", {}, {"title": "Lab"}) == {}  # a delta: no id
    assert conformance.request_problems("POST", "/submissions/abc/transition/", {}, {"action": "COMPLETE"}) == {}
    for body in ({"submission_ids": ["a", "b"]}, {"study_id": "s", "participant_ids": ["p"]}):
        assert conformance.request_problems("POST", "/submissions/bulk-approve/", {}, body) == {}
    for state in ("PUBLISHING", "AWAITING REVIEW", "(ACTIVE|PAUSED)", "(active|paused)"):
        assert conformance.request_problems("GET", "/studies/", {"state": state}, None) == {}
    assert conformance.request_problems("GET", "/studies/", {"page": "2", "page_size": "50"}, None) == {}
    assert conformance.request_problems("GET", "/participant-groups/", {"workspace_id": "w"}, None) == {}
    assert conformance.request_problems("POST", "/studies/abc/transition/", {}, None) == {}  # body optional
    assert conformance.request_problems("GET", "/hooks/subscriptions/abc/events/", {"limit": "10", "offset": "0"}, None) == {}


# -- the routes and the app -----------------------------------------------------------------------
def _normal(template: str) -> str:
    import re

    return re.sub(r"\{[^/]+?\}", "{}", template)


def test_every_route_of_the_local_prolific_is_an_operation_of_the_spec():
    operations = {_normal(name) for name in conformance.table()["operations"]}
    routes = [name for _, _, name, _ in app_module.ROUTES]
    assert len(routes) >= 15
    assert [name for name in routes if _normal(name) not in operations] == []
    for method, _, name, _ in app_module.ROUTES:
        concrete = name.split(" ", 1)[1].replace("{id}", "60f6acb180a7b59ac0621f9e")
        found = conformance.operation(method, concrete)
        assert found is not None and _normal(found) == _normal(name), (name, found)


@pytest.fixture
def client(tmp_path):
    with httpx.Client(transport=LocalTransport(make_app(tmp_path / "p.sqlite", faults="", conform=True)), base_url=BASE_URL, headers=AUTH) as c:
        yield c


def test_the_app_refuses_a_missing_member_and_a_wrong_enum_per_field(client):
    body = study_body(prolific_id_option="cookie")
    del body["reward"]
    response = client.post("studies/", json=body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["detail"] == {
        "reward": ["$.reward: required"],
        "prolific_id_option": ["$.prolific_id_option: 'cookie' is not one of ['question', 'url_parameters', 'not_required']"],
    }
    assert client.get("studies/").json()["results"] == []
    refused = client.post("submissions/60f25f799fbd8a136cc6a9b0/transition/", json={"action": "FINISH"})
    assert refused.status_code == 400 and list(error_of(refused)["detail"]) == ["action"]
    assert list(error_of(client.get("studies/", params={"state": "FINISHED"}))["detail"]) == ["state"]


def test_the_app_lets_documented_fields_through_to_the_handler(client):
    body = study_body(device_compatibility=["desktop"], study_labels=["survey"], content_warnings=["sensitive"])
    response = client.post("studies/", json=body)
    assert response.status_code == 201, response.text
    # An unknown submission: the schema allows the body, so the handler answers (404), not the check.
    missing = client.post("submissions/60f25f799fbd8a136cc6a9b0/transition/", json={"action": "APPROVE"})
    assert missing.status_code == 404
    assert client.get("studies/", params={"state": "PUBLISHING"}).status_code == 200


def test_a_non_conforming_answer_becomes_a_loud_500(tmp_path, monkeypatch, capsys):
    routes = [
        (verb, regex, name, (lambda app, request, ident: (200, {"name": "no id, no email"})) if name == "GET /users/me/" else handler)
        for verb, regex, name, handler in app_module.ROUTES
    ]
    monkeypatch.setattr(app_module, "ROUTES", routes)
    answers = {}
    for conform in (True, False):
        app = make_app(tmp_path / f"{conform}.sqlite", faults="", conform=conform)
        with httpx.Client(transport=LocalTransport(app), base_url=BASE_URL, headers=AUTH) as c:
            answers[conform] = c.get("users/me/")
    assert answers[False].status_code == 200
    assert answers[True].status_code == 500
    error = error_of(answers[True])
    assert error["error_code"] == 140500
    assert "GET /users/me/ 200: $.email: required" in error["detail"] and "$.id: required" in error["detail"]
    assert "outside the published API" in capsys.readouterr().err


def test_conformance_is_on_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv("BABE_PROLIFIC_CONFORM", "1")
    assert make_app(tmp_path / "a.sqlite", faults="").conform is True
    monkeypatch.delenv("BABE_PROLIFIC_CONFORM")
    assert make_app(tmp_path / "b.sqlite", faults="").conform is False
    assert make_app(tmp_path / "c.sqlite", faults="", conform=True).conform is True
