"""`babe extend`: the 10-assignment rule refused before any call, `--split` into the same group,
even spreading, `--lifetime`, tokens and resuming, hooks, dry runs and the `plan()` API."""

from __future__ import annotations

import pytest

from babe_tasks.errors import UsageError
from babe_mturk.local.faults import FaultSpec, Injector
from babe_mturk.local.workers import simulate
from babe_tasks.platform.base import OperationFailed
from babe_mturk.platform import MTurkPlatform
from babe_tasks.plugins import hookimpl, plugin_manager
from babe_tasks.settings import Settings
from babe_tasks.steps import extend as step

from .conftest import all_hits, own_types


def _create(babe, assignments: int, *flags):
    run = babe("create", "--assignments", str(assignments), "--json", *flags)
    assert run.code == 0, run
    return [h["hit_id"] for h in run.json["hits"]]


def _max(mturk, hit_id: str) -> int:
    return mturk.get_hit(HITId=hit_id)["HIT"]["MaxAssignments"]


# -- the 10-assignment rule ----------------------------------------------------------------------------
def test_a_hit_of_nine_cannot_reach_ten_refused_before_any_call(babe, experiment, turk, mturk):
    (hit,) = _create(babe, 9)
    run = babe("extend", "--assignments", "1")
    assert run.code == 2, run
    assert run.err.count("\n") == 1
    assert "MTurk refuses to raise a HIT created with fewer than 10 assignments to 10 or more" in run.err
    assert "pass --split to post the 1 as a new HIT in the same group" in run.err
    assert _max(mturk, hit) == 9
    turk.reset_stats()
    with pytest.raises(UsageError, match="pass --split"):
        _run(experiment, _counting(mturk), assignments=1)
    assert turk.stats()["requests"] == {}  # not even a GetHIT: the ledger's sizes are enough


def test_what_does_not_fit_is_refused_with_what_would(babe, experiment, mturk):
    hits = _create(babe, 20)  # 7, 7, 6: room for 2 + 2 + 3
    run = babe("extend", "--assignments", "8", "--json")
    assert run.code == 2
    message = run.json["error"]["message"]
    assert "the HITs can take only 7 more" in message and "--split to post the other 1" in message
    assert "or extend by 7" in message
    assert [_max(mturk, h) for h in hits] == [7, 7, 6]


def test_split_posts_a_new_hit_of_the_same_hit_type_and_group(babe, experiment, mturk):
    (hit,) = _create(babe, 9)
    run = babe("extend", "--assignments", "4", "--split", "--json")
    assert run.code == 0, run
    assert run.json["hits"] == []
    (new,) = run.json["new_hits"]
    assert new["assignments"] == 4 and new["hit_id"]
    old = mturk.get_hit(HITId=hit)["HIT"]
    posted = mturk.get_hit(HITId=new["hit_id"])["HIT"]
    assert posted["HITTypeId"] == old["HITTypeId"] == new["hit_type_id"]
    assert posted["HITGroupId"] == old["HITGroupId"] == new["hit_group_id"]
    assert posted["Question"] == old["Question"]
    assert posted["QualificationRequirements"] == old["QualificationRequirements"]
    assert posted["RequesterAnnotation"].startswith("babe-tasks experiment=exp1 plan=")
    # it closes with the experiment's HITs (LifetimeInSeconds is whole seconds from the call)
    assert abs((posted["Expiration"] - old["Expiration"]).total_seconds()) < 3
    assert run.json["cost"] == {"rewards": "2.00", "fees": "0.40", "total": "2.40"}
    status = babe("status", "--json").json
    assert [h["hit_id"] for h in status["hits"]] == [hit, new["hit_id"]]
    assert status["totals"]["available"] == 13


def test_split_fills_the_room_first_and_posts_the_rest(babe, experiment, mturk):
    hits = _create(babe, 20)
    run = babe("extend", "--assignments", "10", "--split", "--json")
    assert run.code == 0, run
    assert [(h["hit_id"], h["assignments_added"], h["assignments"]) for h in run.json["hits"]] == [
        (hits[0], 2, 9),
        (hits[1], 2, 9),
        (hits[2], 3, 9),
    ]
    assert [h["assignments"] for h in run.json["new_hits"]] == [3]
    assert [_max(mturk, h) for h in hits] == [9, 9, 9]
    assert len(all_hits(mturk)) == 4


def test_repeat_workers_stay_out_of_the_split_hits(babe, experiment, turk, mturk):
    _create(babe, 3)
    workers = simulate(turk, workers=3, seed=1)["workers"]
    assert babe("status").code == 0
    run = babe("extend", "--assignments", "7", "--split", "--json")
    assert run.code == 0, run
    # 3 + 6 = 9 fits the HIT; the seventh goes to a new HIT of the same group
    assert run.json["hits"][0]["assignments"] == 9 and run.json["new_hits"][0]["assignments"] == 1
    again = simulate(turk, worker_ids=workers, seed=2)
    assert again["submitted"] == [] and again["refused"] == 3


# -- spreading and time -------------------------------------------------------------------------------------
def test_assignments_spread_evenly_smallest_first(babe, experiment, mturk, turk):
    hits = _create(babe, 20)
    run = babe("extend", "--assignments", "3", "--json")
    assert run.code == 0, run
    assert [h["assignments_added"] for h in run.json["hits"]] == [1, 1, 1]
    assert [_max(mturk, h) for h in hits] == [8, 8, 7]
    assert run.json["cost"] == {"rewards": "1.50", "fees": "0.30", "total": "1.80"}
    turk.reset_stats()
    result = _run(experiment, _counting(mturk), assignments=2)
    # 8, 8, 7: the smallest first (the third), then the first of the equal ones
    assert [(h.hit_id, h.add) for h in result.plan.hits] == [(hits[0], 1), (hits[2], 1)]
    assert turk.stats()["requests"] == {"GetHIT": 3, "CreateAdditionalAssignmentsForHIT": 2}
    assert [_max(mturk, h) for h in hits] == [9, 8, 8]


def test_hits_of_ten_or_more_grow_and_pay_the_surcharge(babe, experiment, mturk):
    (hit,) = _create(babe, 10, "--batch-size", "10")
    run = babe("extend", "--assignments", "5", "--json")
    assert run.code == 0, run
    assert _max(mturk, hit) == 15
    # 40% of 0.50 per assignment
    assert run.json["cost"] == {"rewards": "2.50", "fees": "1.00", "total": "3.50"}


def test_one_named_hit_gets_them_all(babe, experiment, mturk):
    hits = _create(babe, 20)
    assert babe("extend", "--hit", hits[2], "--assignments", "3").code == 0
    assert [_max(mturk, h) for h in hits] == [7, 7, 9]


def test_lifetime_keeps_open_hits_open_longer(babe, experiment, mturk):
    (hit,) = _create(babe, 4, "--lifetime", "1d")
    before = mturk.get_hit(HITId=hit)["HIT"]["Expiration"]
    run = babe("extend", "--lifetime", "2d", "--json")
    assert run.code == 0, run
    after = mturk.get_hit(HITId=hit)["HIT"]["Expiration"]
    assert abs((after - before).total_seconds() - 2 * 86400) < 2
    assert run.json["hits"][0]["assignments_added"] == 0


def test_expired_hits_take_assignments_only_with_lifetime(babe, experiment, turk, mturk):
    (hit,) = _create(babe, 4, "--lifetime", "1h")
    simulate(turk, workers=2, seed=3)
    assert babe("local.clock", "--advance", "2h").code == 0
    run = babe("extend", "--hit", hit, "--assignments", "2")
    assert run.code == 2 and "it has expired, so nobody could take them: add --lifetime to reopen it" in run.err
    run = babe("extend", "--assignments", "2", "--lifetime", "1d", "--json")
    assert run.code == 0, run
    info = mturk.get_hit(HITId=hit)["HIT"]
    assert info["MaxAssignments"] == 6 and info["HITStatus"] == "Assignable"
    assert len(simulate(turk, workers=4, seed=4)["submitted"]) == 4


def test_nothing_to_keep_open_is_refused(babe, experiment, turk):
    _create(babe, 2)
    simulate(turk, workers=2, seed=5)
    run = babe("extend", "--lifetime", "1d")
    assert run.code == 2 and "nothing to extend" in run.err


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "say what to extend: --assignments N"),
        (["--assignments", "0"], "--assignments '0' is not a number of assignments to add"),
        (["--assignments", "two"], "is not a number of assignments to add"),
        (["--lifetime", "10s"], "--lifetime 10s is out of range"),
        (["--lifetime", "soon"], "--lifetime"),
        (["--split", "--lifetime", "1d"], "--split posts new HITs for assignments that do not fit: it needs --assignments"),
        (["--hit", "NOSUCHHIT0000000000000000000", "--assignments", "1"], "does not exist on local"),
    ],
)
def test_bad_input_exits_2_with_one_line(babe, experiment, mturk, flags, message):
    hits = _create(babe, 4)
    run = babe("extend", *flags)
    assert run.code == 2, run
    assert run.err.count("\n") == 1 and message in run.err, run.err
    assert _max(mturk, hits[0]) == 4


def test_no_hits_yet(babe, experiment):
    run = babe("extend", "--assignments", "1")
    assert run.code == 2 and "no HITs of experiment exp1 on local to extend: run babe create first" in run.err


# -- dry run, hooks, the plan API --------------------------------------------------------------------------
def test_a_dry_run_shows_the_same_shape_and_changes_nothing(babe, experiment, mturk, turk):
    hits = _create(babe, 9)
    turk.reset_stats()
    run = babe("extend", "--assignments", "3", "--split", "--lifetime", "1d", "--dry-run", "--json")
    assert run.code == 0, run
    document = run.json
    assert document["dry_run"] is True
    assert document["hits"][0]["hit_id"] == hits[0] and document["hits"][0]["assignments_added"] == 0
    assert document["new_hits"] == [
        {"hit_id": None, "hit_type_id": None, "hit_group_id": None, "assignments": 3, "preview_url": None, "expires_at": None}
    ]
    assert document["cost"] == {"rewards": "1.50", "fees": "0.30", "total": "1.80"}
    assert len(all_hits(mturk)) == 1 and _max(mturk, hits[0]) == 9
    text = babe("extend", "--assignments", "3", "--split", "--dry-run")
    assert "new HIT (3) of the same HIT type" in text.out and "Dry run: nothing was extended." in text.out


def test_before_extend_sees_the_plan_and_may_veto(babe, experiment, mturk):
    hits = _create(babe, 4)
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "cap.py").write_text(
        "from babe_tasks.errors import Veto\n"
        "def babe_before_extend(settings, plan):\n"
        "    if plan.cost.total > 1:\n"
        "        raise Veto(f'extension costs {plan.cost.total}, the cap is 1.00')\n"
    )
    run = babe("extend", "--assignments", "2")
    assert run.code == 3 and "stopped by plugin cap: extension costs 1.20, the cap is 1.00" in run.err
    assert _max(mturk, hits[0]) == 4
    assert babe("extend", "--assignments", "1").code == 0
    assert _max(mturk, hits[0]) == 5


def test_before_extend_may_change_the_plan_and_after_extend_observes(babe, experiment, mturk):
    hits = _create(babe, 4)
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "halve.py").write_text(
        "import json, pathlib\n"
        "def babe_before_extend(settings, plan):\n"
        "    for hit in plan.hits:\n"
        "        hit.add = hit.add // 2\n"
        "def babe_after_extend(settings, result):\n"
        "    pathlib.Path('after.json').write_text(json.dumps([h.hit_id for h in result.plan.hits]))\n"
    )
    run = babe("extend", "--assignments", "4", "--json")
    assert run.code == 0, run
    assert _max(mturk, hits[0]) == 6
    assert (experiment / "after.json").read_text() == f'["{hits[0]}"]'


def test_a_plugin_cannot_push_a_hit_past_the_rule(babe, experiment, mturk):
    hits = _create(babe, 4)
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "greedy.py").write_text("def babe_before_extend(settings, plan):\n    plan.hits[0].add = 6\n")
    run = babe("extend", "--assignments", "1")
    assert run.code == 2 and "MTurk refuses to raise a HIT created with fewer than 10" in run.err
    assert _max(mturk, hits[0]) == 4


def test_plan_api_gives_the_cost_without_changing_anything(babe, experiment, mturk):
    hits = _create(babe, 20)
    settings = Settings.build(None, folder=experiment)
    plan = step.plan(settings, plugin_manager(settings), assignments=10, lifetime="1d", split=True)
    assert [h.add for h in plan.hits] == [2, 2, 3]
    assert [h.assignments for h in plan.new_hits.hits] == [3]
    assert plan.cost.total == 10 * (plan.new_hits.reward + plan.new_hits.reward / 5)
    assert [_max(mturk, h) for h in hits] == [7, 7, 6]
    with pytest.raises(Exception, match="pass --split"):
        step.plan(settings, plugin_manager(settings), assignments=10)


def test_babe_cost_extend_uses_the_plan(babe, experiment):
    _create(babe, 9)
    run = babe("cost", "--extend", "--assignments", "3", "--split", "--json")
    if run.code == 2 and "No idea what" in run.err:
        pytest.fail(f"babe cost does not take --extend yet: {run.err}")
    assert run.code == 0, run
    assert run.json["total"] == "1.80"


# -- idempotency ---------------------------------------------------------------------------------------------
class _LoseFirstAnswer(Injector):
    """Carry out the first CreateAdditionalAssignmentsForHIT but lose its answer: botocore retries it."""

    def __init__(self):
        super().__init__(FaultSpec())
        self.lost = 0

    def decide(self, target):
        if target.endswith(".CreateAdditionalAssignmentsForHIT") and not self.lost:
            self.lost += 1
            return "lost"
        return None


def _platform_plugin(make_platform):
    class Provide:
        @hookimpl
        def babe_platform(self, settings):
            return make_platform(settings)

    return Provide()


def _counting(mturk):
    """A platform on the test's own client: `turk.stats()` then counts what the step asked."""
    return _platform_plugin(lambda s: MTurkPlatform(s, client=mturk))


def _run(experiment, platform_plugin, **flags):
    settings = Settings.build(None, folder=experiment)
    pm = plugin_manager(settings)
    pm.register(platform_plugin, name="test-platform")
    return step.run(settings, pm, **flags)


def test_a_retried_call_with_its_token_never_adds_twice(babe, experiment, turk, mturk):
    from babe_mturk import local as localturk

    (hit,) = _create(babe, 4)
    injector = _LoseFirstAnswer()
    client = localturk.client(turk=turk, faults=injector)
    result = _run(experiment, _platform_plugin(lambda s: MTurkPlatform(s, client=client)), assignments=3)
    assert injector.lost == 1
    assert _max(mturk, hit) == 7  # the retry found the token processed: 4 + 3, not 4 + 6
    assert result.already_done == [hit]


class _FailingExpiry(MTurkPlatform):
    """Adds assignments, then fails to move the expiration of the first HIT it is asked about."""

    failures = 1

    def set_expiration(self, hit_id, expires_at):
        if _FailingExpiry.failures:
            _FailingExpiry.failures -= 1
            raise OperationFailed("UpdateExpirationForHIT: service unavailable", "ServiceUnavailable")
        super().set_expiration(hit_id, expires_at)


def test_an_interrupted_extension_is_finished_by_the_same_command(babe, experiment, mturk):
    hits = _create(babe, 20)
    before = {h: mturk.get_hit(HITId=h)["HIT"]["Expiration"] for h in hits}
    plugin = _platform_plugin(lambda s: _FailingExpiry(s))
    with pytest.raises(Exception) as failure:
        _run(experiment, plugin, assignments=3, lifetime="1d")
    assert failure.value.exit_code == 1
    assert [_max(mturk, h) for h in hits] == [8, 8, 7]
    result = _run(experiment, plugin, assignments=3, lifetime="1d")
    assert result.plan.resumed
    assert [_max(mturk, h) for h in hits] == [8, 8, 7]  # not extended twice
    # every HIT, the one whose expiry failed the first time included, is open one day longer, from
    # its own expiry (HITs posted a moment apart expire a moment apart; ExpireAt is whole seconds)
    for h in hits:
        moved = mturk.get_hit(HITId=h)["HIT"]["Expiration"] - before[h]
        assert 86399 < moved.total_seconds() <= 86400, (h, moved)
    # finished: the same command now extends again, as asked
    _run(experiment, plugin, assignments=3, lifetime="1d")
    assert [_max(mturk, h) for h in hits] == [9, 9, 8]


def test_the_exit_code_of_a_partial_failure_through_the_program(babe, experiment, monkeypatch):
    plugins = experiment / "plugins"
    plugins.mkdir()
    (plugins / "flaky.py").write_text(
        "from babe_mturk.platform import MTurkPlatform\n"
        "from babe_tasks.platform.base import OperationFailed\n"
        "class Flaky(MTurkPlatform):\n"
        "    name = 'flaky'\n"
        "    def add_assignments(self, hit_id, count, token):\n"
        "        raise OperationFailed('CreateAdditionalAssignmentsForHIT: rate exceeded', 'Throttling')\n"
        "def babe_platform(settings):\n"
        "    if settings.platform == 'flaky':\n"
        "        return Flaky(settings)\n"
    )
    monkeypatch.setenv("BABE_PLATFORM", "flaky")  # the ledger keeps each platform's HITs apart: create on it too
    hits = _create(babe, 4)
    run = babe("extend", "--assignments", "1", "--json")
    assert run.code == 1, run
    assert run.json["failed"] == [{"hit_id": hits[0], "error": "CreateAdditionalAssignmentsForHIT: rate exceeded"}]
    assert "run the same extend again to finish" in run.err


def test_the_tokens_are_recorded_before_the_call(babe, experiment):
    (hit,) = _create(babe, 4)
    assert babe("extend", "--assignments", "1").code == 0
    import json

    from babe_tasks.testing.postgres import ledger_rows

    (row,) = ledger_rows(experiment, "SELECT extension_id, plan, status FROM extensions")
    extension_id, stored, status = row
    assert status == "done"
    (stored_hit,) = json.loads(stored)["hits"]
    assert stored_hit["token"] == step.extension_token("exp1", extension_id, hit)
    assert len(stored_hit["token"]) == 64


def test_extend_keeps_the_experiments_own_type_untouched(babe, experiment, mturk):
    _create(babe, 9)
    types = own_types(mturk)
    assert babe("extend", "--assignments", "2", "--split").code == 0
    assert own_types(mturk) == types


def test_the_refusal_counts_what_earlier_extensions_added(babe, experiment, turk, mturk):
    _create(babe, 20)  # 7, 7, 6 in the ledger
    assert babe("extend", "--assignments", "3").code == 0  # 8, 8, 7 on the platform
    run = babe("extend", "--assignments", "5")
    assert run.code == 2 and "the HITs can take only 4 more" in run.err
    turk.reset_stats()
    with pytest.raises(UsageError, match="only 4 more"):
        _run(experiment, _counting(mturk), assignments=5)
    assert turk.stats()["requests"] == {}


# -- live: the cost is shown and confirmed --------------------------------------------------------------
@pytest.fixture
def live(monkeypatch, state_path):
    """`--target live` against `babe local.serve` over this test's state, with dummy credentials."""
    from babe_mturk.local.server import serve_in_thread

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    srv, url = serve_in_thread(str(state_path))
    yield ["--target", "live", "--endpoint-url", url]
    srv.shutdown()


def test_live_without_yes_and_without_a_terminal_refuses_and_changes_nothing(babe, experiment, mturk, live):
    created = babe("create", "--assignments", "4", "--yes", "--json", *live)
    assert created.code == 0, created
    hit = created.json["hits"][0]["hit_id"]
    run = babe("extend", "--assignments", "2", *live)
    assert run.code == 2, run
    assert "Extend on live for $1.20? needs confirmation and there is no terminal to ask on: pass --yes" in run.err
    assert "total       $1.20" in run.out  # the cost was shown first
    assert _max(mturk, hit) == 4
    run = babe("extend", "--assignments", "2", "--yes", "--json", *live)
    assert run.code == 0, run
    assert _max(mturk, hit) == 6
