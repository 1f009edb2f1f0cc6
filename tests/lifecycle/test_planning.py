"""Batching and cost arithmetic against hand-computed tables; tokens, annotations, the question."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from babe_tasks.errors import UsageError
from babe_tasks.planning import (
    MASTERS_IDS,
    Plan,
    annotation,
    batch_sizes,
    external_question,
    hit_cost,
    make_plan,
    request_token,
)
from babe_tasks.settings import Settings


@pytest.mark.parametrize(
    "assignments, batch, sizes",
    [
        (1, 9, [1]),
        (9, 9, [9]),
        (10, 9, [5, 5]),
        (18, 9, [9, 9]),
        (19, 9, [7, 6, 6]),
        (20, 9, [7, 7, 6]),
        (25, 9, [9, 8, 8]),
        (100, 9, [9] * 4 + [8] * 8),  # 12 HITs: 4*9 + 8*8 = 100
        (20, 10, [10, 10]),
        (21, 10, [7, 7, 7]),
        (20, 20, [20]),
        (7, 1, [1] * 7),
    ],
)
def test_batches_are_ceil_n_over_b_hits_of_even_sizes(assignments, batch, sizes):
    got = batch_sizes(assignments, batch)
    assert got == sizes
    assert sum(got) == assignments
    assert len(got) == -(-assignments // batch)
    assert max(got) <= batch and max(got) - min(got) <= 1


# reward, assignments in the HIT, masters → fee per assignment: commission, surcharge, masters.
# Every row computed by hand from MTurk's fees (docs/payments.md): 20% with a $0.01 minimum,
# rounded half up per assignment; +20% of the reward for HITs of 10 or more; +5% for Masters.
FEE_TABLE = [
    # reward  n   masters  commission surcharge masters
    ("0.50", 9, False, "0.10", "0.00", "0.00"),  # 20% of 0.50
    ("0.01", 9, False, "0.01", "0.00", "0.00"),  # 0.002 → 0.00 → the $0.01 minimum
    ("0.04", 1, False, "0.01", "0.00", "0.00"),  # 0.008 → 0.01
    ("0.33", 9, False, "0.07", "0.00", "0.00"),  # 0.066 → 0.07 (not 20% of the HIT's total)
    ("0.52", 9, False, "0.10", "0.00", "0.00"),  # 0.104 → 0.10
    ("0.53", 9, False, "0.11", "0.00", "0.00"),  # 0.106 → 0.11
    ("0.50", 10, False, "0.10", "0.10", "0.00"),  # 40% = 0.20 at 10 assignments
    ("0.01", 10, False, "0.01", "0.00", "0.00"),  # 40% of 0.01 = 0.004 → still the minimum
    ("0.03", 10, False, "0.01", "0.00", "0.00"),  # 20%: 0.006 → 0.01; 40%: 0.012 → 0.01
    ("0.05", 10, False, "0.01", "0.01", "0.00"),  # 20%: 0.01; 40%: 0.02
    ("0.13", 10, False, "0.03", "0.02", "0.00"),  # 20%: 0.026 → 0.03; 40%: 0.052 → 0.05
    ("1.00", 9, True, "0.20", "0.00", "0.05"),  # 25% with Masters
    ("0.42", 9, True, "0.08", "0.00", "0.03"),  # 20%: 0.084 → 0.08; 25%: 0.105 → 0.11 (half up)
    ("0.10", 10, True, "0.02", "0.02", "0.01"),  # 45%: 0.045 → 0.05; 40%: 0.04; 20%: 0.02
]


@pytest.mark.parametrize("reward, n, masters, commission, surcharge, masters_fee", FEE_TABLE)
def test_hit_cost_matches_the_hand_computed_fee_table(reward, n, masters, commission, surcharge, masters_fee):
    cost = hit_cost(D(reward), n, masters)
    assert cost.assignments == n
    assert cost.rewards == D(reward) * n
    assert cost.commission == D(commission) * n
    assert cost.surcharge == D(surcharge) * n
    assert cost.masters == D(masters_fee) * n
    assert cost.fees == (D(commission) + D(surcharge) + D(masters_fee)) * n
    assert cost.total == cost.rewards + cost.fees


def settings_for(tmp_path, **flags) -> Settings:
    base = dict(
        folder=tmp_path,
        experiment="exp",
        url="https://example.org/x?a=1&b=2",
        title="T",
        description="D",
        reward="0.50",
    )
    base.update(flags)
    return Settings.build(None, **base)


# total assignments, batch size, reward → rewards, fees, total for the whole plan (by hand).
PLAN_TABLE = [
    (20, 9, "0.50", "10.00", "2.00", "12.00"),  # 7+7+6, 0.10 fee each
    (20, 20, "0.50", "10.00", "4.00", "14.00"),  # one HIT of 20: 40%
    (20, 10, "0.50", "10.00", "4.00", "14.00"),  # two HITs of 10: still 40%
    (25, 9, "0.33", "8.25", "1.75", "10.00"),  # 0.07 fee × 25
    (3, 9, "0.01", "0.03", "0.03", "0.06"),  # the minimum fee dominates
    (30, 15, "0.05", "1.50", "0.60", "2.10"),  # two HITs of 15: 0.02 each
]


@pytest.mark.parametrize("n, batch, reward, rewards, fees, total", PLAN_TABLE)
def test_plan_cost_matches_the_hand_computed_plan_table(tmp_path, n, batch, reward, rewards, fees, total):
    plan = make_plan(settings_for(tmp_path, assignments=n, batch_size=batch, reward=reward))
    assert plan.cost.as_json() == {"rewards": D(rewards), "fees": D(fees), "total": D(total)}


def test_masters_in_the_plan_adds_the_masters_fee(tmp_path):
    plan = make_plan(settings_for(tmp_path, assignments=9, reward="1.00"))
    assert plan.cost.total == D("10.80")
    plan.masters = True
    assert plan.cost.masters == D("0.45") and plan.cost.total == D("11.25")
    plan.masters = False
    plan.qualification_requirements = [{"QualificationTypeId": MASTERS_IDS["live"], "Comparator": "Exists"}]
    assert plan.uses_masters and plan.cost.total == D("11.25")


def test_tokens_are_deterministic_distinct_and_at_most_64_characters():
    tokens = {request_token("exp", "plan1", i) for i in range(50)}
    assert len(tokens) == 50
    assert request_token("exp", "plan1", 3) == request_token("exp", "plan1", 3)
    assert request_token("exp", "plan1", 3) != request_token("exp", "plan2", 3)
    assert request_token("exp", "plan1", 3) != request_token("other", "plan1", 3)
    assert all(1 <= len(t) <= 64 for t in tokens)


def test_annotation_names_the_experiment_and_fits_255_characters():
    short = annotation("exp1", "abc", 0, 3)
    assert short == "babe-tasks experiment=exp1 plan=abc hit=1/3"
    long = annotation("x" * 300, "abc", 2, 3)
    assert len(long) == 255 and long.endswith(" plan=abc hit=3/3")


def test_assign_id_gives_every_hit_its_token_and_annotation(tmp_path):
    plan = make_plan(settings_for(tmp_path, assignments=20))
    plan.assign_id("p1")
    assert [h.token for h in plan.hits] == [request_token("exp", "p1", i) for i in range(3)]
    assert [h.annotation for h in plan.hits][2] == "babe-tasks experiment=exp plan=p1 hit=3/3"


def test_external_question_escapes_the_url():
    xml = external_question("https://example.org/x?a=1&b=2", 0)
    assert "<ExternalURL>https://example.org/x?a=1&amp;b=2</ExternalURL>" in xml
    assert "<FrameHeight>0</FrameHeight>" in xml


def test_fingerprint_changes_with_any_parameter_but_not_with_ids(tmp_path):
    plan = make_plan(settings_for(tmp_path, assignments=20))
    same = make_plan(settings_for(tmp_path, assignments=20))
    same.assign_id("whatever")
    assert plan.fingerprint() == same.fingerprint()
    assert plan.fingerprint() != make_plan(settings_for(tmp_path, assignments=21)).fingerprint()
    assert plan.fingerprint() != make_plan(settings_for(tmp_path, assignments=20, title="U")).fingerprint()
    assert plan.fingerprint() != make_plan(settings_for(tmp_path, assignments=20, batch_size=5)).fingerprint()


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(title="x" * 129), "title is 129 characters long"),
        (dict(url="http://example.org/"), "not HTTPS"),
        (dict(lifetime=10), "lifetime 10s is too short"),
        (dict(reward=D("0.123")), "more than two decimals"),
        (dict(assignments=21), "hold 20 assignments, not 21"),
    ],
)
def test_a_plan_changed_into_something_invalid_is_refused(tmp_path, change, message):
    settings = settings_for(tmp_path, assignments=20)
    plan = make_plan(settings)
    for key, value in change.items():
        setattr(plan, key, value)
    with pytest.raises(UsageError, match=message):
        plan.validate(settings)


def test_rebatch_follows_a_changed_batch_size(tmp_path):
    settings = settings_for(tmp_path, assignments=20)
    plan: Plan = make_plan(settings)
    plan.batch_size = 5
    plan.rebatch()
    assert [h.assignments for h in plan.hits] == [5, 5, 5, 5]
    plan.validate(settings)


def test_a_plan_needs_url_title_description_and_reward(tmp_path):
    settings = Settings.build(None, folder=tmp_path, experiment="exp", title="T", description="D", reward="0.50")
    with pytest.raises(UsageError, match="url is not set"):
        make_plan(settings)
