"""What differs between platforms is data (`base.Capabilities`), and the steps act on it.

The platform plugins here are variants of `fakepro` (tests/platforms/conftest.py) that change
only their `capabilities`, run through the real `babe` program against the local MTurk: the
same code answers differently because its data says so, never because of its name.
"""

from __future__ import annotations

from pathlib import Path

from babe_mturk.local.workers import simulate
from babe_tasks.platform.base import Capabilities, capabilities_of, capability, optional

from .conftest import FAKEPRO, calls


def _plugin(folder: Path, name: str, body: str) -> Path:
    """`folder` with a platform plugin `name`: fakepro's class, subclassed with `body`."""
    plugins = folder / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / f"{name}.py").write_text(
        FAKEPRO.replace('if settings.platform == "fakepro":\n        return FakePro(settings)', "return None")
        + f"\n\nclass Variant(FakePro):\n    name = {name!r}\n{body}\n\n"
        + f"def babe_platform(settings):\n    return Variant(settings) if settings.platform == {name!r} else None\n"
    )
    return folder


def test_reject_checks_ids_by_the_platforms_pattern_before_any_call(babe, experiment):
    folder = _plugin(
        experiment,
        "subids",
        '    capabilities = Capabilities(title="subids", qualifications=False, submission_id_pattern=r"^sub-[0-9]+$",\n'
        '                                submission_id_kind="a subids submission id (sub- and digits)")',
    )
    run = babe("reject", "--assignment", "ABC123", "--reason", "Did not follow the instructions", "--platform", "subids")
    assert (run.code, run.err) == (2, "error: 'ABC123' is not a subids submission id (sub- and digits)\n")
    assert calls(folder) == []  # refused before the platform was asked anything


def test_an_mturk_id_is_refused_by_mturks_shape(babe, experiment):
    run = babe("reject", "--assignment", "sub-1", "--reason", "Did not follow the instructions")
    assert (run.code, run.err) == (2, "error: 'sub-1' is not an MTurk assignment id (1 to 64 capital letters and digits)\n")


def test_a_bonus_checks_worker_ids_by_the_platforms_pattern(babe, experiment):
    _plugin(
        experiment,
        "people",
        '    capabilities = Capabilities(title="people", qualifications=False, worker_id_pattern=r"^p[0-9]+$")',
    )
    run = babe(
        "bonus", "--worker", "AWORKER1", "--assignment", "A1", "--amount", "0.50", "--reason", "thanks",
        "--platform", "people",
    )
    assert (run.code, run.err) == (2, "error: --worker 'AWORKER1' is not a people id (1 to 64 letters, digits, - or _)\n")


def test_without_bulk_approve_its_approve_many_is_not_used(babe, experiment, turk):
    folder = _plugin(experiment, "onebyone", '    capabilities = Capabilities(title="onebyone", qualifications=False)')
    assert babe("create", "--assignments", "3", "--platform", "onebyone").code == 0
    simulate(turk, workers=3, seed=7)
    run = babe("approve", "--platform", "onebyone", "--json")
    assert run.code == 0, run
    assert run.json["approved"] == 3
    assert calls(folder, "approve_many") == []
    assert len(calls(folder, "approve")) == 3


def test_the_nouns_and_the_preview_note_are_the_platforms(babe, experiment):
    _plugin(
        experiment,
        "sessions",
        '    capabilities = Capabilities(title="sessions", qualifications=False, nouns=("session", "sessions"),\n'
        '                                no_preview="Sessions are shown in the lab\'s own app.")',
    )
    run = babe("create", "--assignments", "4", "--platform", "sessions")
    assert run.code == 0, run
    assert "Posted 1 session now." in run.out
    assert "Sessions are shown in the lab's own app." in run.out
    assert "Local MTurk: no worker site" not in run.out


def test_mturk_says_where_simulated_workers_come_from_only_on_its_local_target(babe, experiment):
    run = babe("create", "--assignments", "2")
    assert run.code == 0, run
    assert "Local MTurk: no worker site; let simulated workers in with `babe local.work`." in run.out


def test_mturk_posts_a_second_batch_into_the_same_hit_type(babe, experiment, mturk):
    first = babe("create", "--assignments", "3", "--json")
    again = babe("create", "--assignments", "3", "--again", "--json")
    assert first.code == again.code == 0, (first, again)
    types = {h["hit_type_id"] for h in first.json["hits"] + again.json["hits"]}
    assert len(types) == 1 and None not in types
    listed = {h["HITTypeId"] for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]}
    assert listed == types


class _Older:
    """A platform written before capabilities: the members the protocol documented then."""

    name = "older"
    nouns = ("task", "tasks")
    expires_by_time = False
    supports_qualifications = False

    def approve_many(self, assignment_ids, feedback):
        return {}

    def event_source(self, *, url, listen, stop):
        return None


def test_a_platform_without_capabilities_is_read_from_its_older_members():
    assert capabilities_of(_Older()) == Capabilities(
        title="older", expires_by_time=False, bulk_approve=True, bulk_bonus=False, qualifications=False,
        events="webhook", nouns=("task", "tasks"),
    )
    bare = capabilities_of(object())
    assert (bare.expires_by_time, bare.qualifications, bare.nouns, bare.events) == (True, True, ("HIT", "HITs"), None)
    assert (bare.bulk_approve, bare.bulk_bonus, bare.no_preview) == (False, False, None)
    # The older spelling still answers the older names.
    assert capability(_Older(), "supports_qualifications") is False
    assert capability(_Older(), "nouns") == ("task", "tasks")
    assert optional(_Older(), "approve_many") is not None and optional(_Older(), "send_bonuses") is None


def test_ids_a_platform_does_not_describe_are_checked_loosely():
    pattern, kind = Capabilities(title="Prolific").submission_id()
    assert pattern.match("5f2b8c9d0e1a2b3c4d5e6f70") and not pattern.match("has space")
    assert kind == "a Prolific id (1 to 64 letters, digits, - or _)"


def test_the_shipped_platforms_spell_out_their_capabilities(tmp_path):
    from babe_mturk.platform import MTurkPlatform
    from babe_prolific.platform import ProlificPlatform

    from babe_tasks.settings import Settings

    def settings(target, endpoint_url=None):
        return Settings.build(None, folder=tmp_path, experiment="exp", target=target, endpoint_url=endpoint_url)

    mturk = MTurkPlatform(settings("local")).capabilities
    assert (mturk.title, mturk.events, mturk.bulk_approve, mturk.qualifications) == ("MTurk", "queue", False, True)
    assert mturk.no_preview is not None
    # Only the embedded local MTurk has simulated workers instead of a worker site.
    assert MTurkPlatform(settings("sandbox")).capabilities.no_preview is None
    assert MTurkPlatform(settings("local", "http://127.0.0.1:9")).capabilities.no_preview is None
    prolific = ProlificPlatform.capabilities
    assert (prolific.title, prolific.events, prolific.nouns) == ("Prolific", "webhook", ("study", "studies"))
    assert (prolific.expires_by_time, prolific.qualifications, prolific.bulk_approve, prolific.bulk_bonus) == (
        False, False, True, True,
    )
