"""create on Prolific through the real `babe`: one study per plan, exact cost, crash-safe, refusals before posting."""

from __future__ import annotations

from decimal import Decimal

import pytest


def test_create_posts_one_published_study_with_the_plan_exactly(babe, experiment, local):
    run = babe("create", "--assignments", "12", "--batch-size", "5", "--json")
    assert run.code == 0, run
    (hit,) = run.json["hits"]  # one study holds every place: no batches on Prolific
    # A study has no HIT type nor a preview page: nothing is made up for either.
    assert (hit["assignments"], hit["hit_type_id"], hit["hit_group_id"], hit["preview_url"]) == (12, None, None, None)
    (study,) = local.studies()
    assert study["id"] == hit["hit_id"] and study["status"] == "ACTIVE"
    assert study["total_available_places"] == 12 and study["reward"] == 150  # minor units
    assert study["estimated_completion_time"] == 10 and study["maximum_allowed_time"] == 60  # duration 1h
    assert study["internal_name"].startswith("babe-tasks experiment=exp1 plan=") and study["internal_name"].endswith(" hit=1/1")
    assert study["external_study_url"] == (
        "https://example.org/experiment/?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert study["device_compatibility"] == ["desktop"] and study["prolific_id_option"] == "url_parameters"
    (code,) = study["completion_codes"]
    assert code["code_type"] == "COMPLETED" and code["actions"] == [{"action": "MANUALLY_REVIEW"}]
    assert run.json["platform"]["completion_code"] == code["code"]
    assert run.json["platform"]["completion_url"] == f"https://app.prolific.com/submissions/complete?cc={code['code']}"


def test_the_cost_is_exact_with_fees_and_vat_and_is_what_the_balance_loses(babe, experiment, local, account):
    account(currency_code="GBP", vat_percentage=20, minimum_reward_per_hour=600)
    before = local.balance()
    run = babe("create", "--assignments", "7", "--json")
    assert run.code == 0, run
    # per place: fee 33.33% of 1.50 = 0.50 (half up), VAT 20% of the fee = 0.10
    assert run.json["cost"] == {"rewards": "10.50", "fees": "4.20", "vat": "0.70", "total": "14.70"}
    assert before - local.balance() == 1470  # the locked places, to the penny
    text = babe("cost", "--create", "--assignments", "7")
    assert text.code == 0, text
    assert "£14.70" in text.out and "$" not in text.out


def test_create_prints_the_completion_code_and_url_for_the_experiments_config(babe, experiment, local):
    run = babe("create")
    assert run.code == 0, run
    code = local.studies()[0]["completion_codes"][0]["code"]
    assert f"completion code: {code}" in run.out + run.err
    assert f"https://app.prolific.com/submissions/complete?cc={code}" in run.out + run.err


def test_the_platform_flag_selects_prolific_without_invoke_yaml_saying_so(babe, experiment, configure, local):
    configure(platform=None)
    run = babe("create", "--platform", "prolific", "--json")
    assert run.code == 0, run
    assert [s["id"] for s in local.studies()] == [run.json["hits"][0]["hit_id"]]


def test_a_crash_between_draft_and_publish_is_finished_by_the_same_create(babe, experiment, local, monkeypatch):
    from babe_prolific.platform import ProlificPlatform

    def crash(self, study):
        raise RuntimeError("the machine went down")

    with monkeypatch.context() as patch:
        patch.setattr(ProlificPlatform, "_publish", crash)
        first = babe("create", "--json")
    assert first.code != 0
    (draft,) = local.studies()
    assert draft["status"] == "UNPUBLISHED"
    again = babe("create", "--json")
    assert again.code == 0, again
    assert [s["status"] for s in local.studies()] == ["ACTIVE"]  # the same study, now published
    assert again.json["hits"][0]["hit_id"] == draft["id"]
    assert local.calls("POST /studies/") == 1  # never a second draft


def test_a_rerun_of_a_plan_whose_study_exists_posts_nothing(babe, experiment, local, monkeypatch):
    """The ledger lost the answer (a crash after publishing): the study is found by its internal name."""
    from babe_tasks.ledger import Ledger

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "record_posted", lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("crash")))
        assert babe("create").code != 0
    assert [s["status"] for s in local.studies()] == ["ACTIVE"]
    again = babe("create", "--json")
    assert again.code == 0, again
    assert len(local.studies()) == 1 and local.calls("POST /studies/") == 1
    assert local.calls("POST /studies/{id}/transition/") == 1


def test_a_second_create_blocklists_the_participants_of_the_first(babe, experiment, local, people):
    first = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    people(first, 3)
    second = babe("create", "--assignments", "3", "--again", "--json")
    assert second.code == 0, second
    new = local.studies()[1]
    assert {"filter_id": "previous_studies_blocklist", "selected_values": [first]} in new["filters"]
    # the same three people come back: all turned away
    earlier = [s["participant_id"] for s in local.submissions().values()]
    visits = people(new["id"], 3, participant_ids=earlier)
    assert {v["outcome"] for v in visits} == {"refused"}


def test_min_approval_becomes_prolifics_approval_rate_filter(babe, experiment, local):
    assert babe("create", "--min-approval", "95").code == 0
    assert {"filter_id": "approval_rate", "selected_range": {"lower": 95, "upper": 100}} in local.studies()[0]["filters"]


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--masters",), "Prolific has no Masters"),
        (("--locale", "US"), "--locale is MTurk's"),
    ],
)
def test_what_prolific_cannot_honour_is_refused_before_anything_is_posted(babe, experiment, local, flags, words):
    run = babe("create", *flags, "--json")
    assert run.code == 2, run
    assert words in run.json["error"]["message"]
    assert local.calls("POST /studies/") == 0


def test_pay_below_prolifics_minimum_is_refused_before_posting(babe, experiment, local):
    run = babe("create", "--reward", "1.00", "--json")  # $1.00 for 10 minutes = $6.00/h < $8.00/h
    assert run.code == 2, run
    assert "below Prolific's minimum of $8.00/h" in run.json["error"]["message"]
    assert local.calls("POST /studies/") == 0


def test_pay_below_the_recommended_rate_is_a_warning(babe, experiment):
    run = babe("create")  # $1.50 for 10 minutes = $9.00/h: above $8 minimum, below $12 recommended
    assert run.code == 0, run
    assert "below Prolific's recommended $12.00/h" in run.err


def test_sandbox_is_refused_with_one_line(babe, experiment, local):
    run = babe("create", "--target", "sandbox", "--json")
    assert run.code == 2, run
    assert run.json["error"]["message"] == "Prolific has no sandbox: use --target local (the local Prolific) or live"


def test_estimated_minutes_defaults_from_duration(babe, experiment, configure, local):
    configure(plugins={}, duration="45m", reward="3.00")
    assert babe("create").code == 0
    study = local.studies()[0]
    # the largest estimate whose Prolific time limit (2 + 2e + 2√e) fits within 45 minutes
    assert (study["estimated_completion_time"], study["maximum_allowed_time"]) == (17, 45)


def test_a_bad_plugin_setting_is_one_line_exit_2(babe, experiment, configure):
    configure(plugins={"prolific": {"devices": ["desktop", "watch"]}})
    run = babe("status", "--json")
    assert run.code == 2, run
    assert run.json["error"]["message"].startswith("babe.plugins.prolific.devices: 'watch' is not a device")
    configure(plugins={"prolific": {"token": "abc"}})
    run = babe("status", "--json")
    assert run.code == 2 and "secrets never go in invoke.yaml" in run.json["error"]["message"]
    assert "abc" not in run.out + run.err


def test_the_cost_in_the_ledger_matches_the_accounts_charge_for_a_dry_run_too(babe, experiment, local):
    dry = babe("create", "--dry-run", "--json")
    assert dry.code == 0 and dry.json["dry_run"] is True
    assert dry.json["hits"][0]["hit_id"] is None and local.calls("POST /studies/") == 0
    assert Decimal(dry.json["cost"]["total"]) == Decimal("10.00")  # 5 × (1.50 + 0.50)


def test_a_draft_edited_since_the_crash_is_brought_back_to_the_plan_before_publishing(babe, experiment, local, state, monkeypatch):
    import httpx

    from babe_prolific.local import transport
    from babe_prolific.platform import ProlificPlatform

    with monkeypatch.context() as patch:
        patch.setattr(ProlificPlatform, "_publish", lambda self, study: (_ for _ in ()).throw(RuntimeError("crash")))
        assert babe("create").code != 0
    (draft,) = local.studies()
    with httpx.Client(transport=transport(state), base_url="http://local/api/v1/", headers={"Authorization": "Token t"}) as app:
        assert app.patch(f"studies/{draft['id']}/", json={"total_available_places": 2, "reward": 300}).status_code == 200
    assert babe("create").code == 0
    (study,) = local.studies()
    assert (study["status"], study["total_available_places"], study["reward"]) == ("ACTIVE", 5, 150)
    assert local.calls("PATCH /studies/{id}/", 200) == 2 and local.calls("POST /studies/") == 1


def test_the_plan_review_says_how_prolific_runs_it_not_mturks_lifetime(babe, experiment, local):
    run = babe("create", "--assignments", "6", "--dry-run")
    assert run.code == 0, run
    text = run.out + run.err
    assert "Plan for experiment exp1 on prolific (local): 6 assignments" in text
    assert "study       6 places, estimated 10 min, time limit 60 min, desktop" in text
    assert "earlier studies of the experiment are blocklisted" in text
    # MTurk's lines would be untrue here: no lifetime, no auto-approval delay, no HIT batches.
    assert "auto-approved after" not in text and "one HIT per worker" not in text and "of one HIT type" not in text
    assert local.studies() == []
