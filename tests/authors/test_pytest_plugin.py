"""The pytest plugin, used the way a lab uses it: a lab's repository, its plugin, its tests, pytest.

`pytester` makes a lab's repository (the plugin file, a tests/ folder) and runs pytest on it, with
the fixtures of `babe_tasks.pytest_plugin` and nothing else: autoloading of installed pytest
plugins is switched off and the plugin is named with `-p`, so these runs do not depend on how this
checkout happens to be installed. That the installed package announces the plugin under the
`pytest11` entry point (so a lab needs no `-p`) is checked at the end of this file, and a lab's
test is run with nothing but the installed wheel in tests/packaging/test_wheel.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
MIN_TIME = (REPO / "docs" / "examples" / "min_time.py").read_text(encoding="utf-8")

LAB_TESTS = '''
from datetime import timedelta
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent.parent / "min_time.py"


@pytest.fixture
def experiment(babe_experiment):
    babe_experiment.add_plugin(PLUGIN)
    babe_experiment.configure(plugins={"min_time": {"minimum": "2m"}})
    return babe_experiment


def test_fast_workers_are_held_slow_ones_paid(experiment, babe_run, babe_workers):
    hit_id = babe_run("create --assignments 3 --json").json["hits"][0]["hit_id"]
    fast = babe_workers.work(workers=2)["submitted"]
    slow = babe_workers.complete(hit_id, took="5m")

    run = babe_run("approve --json")

    assert run.code == 0, run
    assert run.json["approved"] == 1
    assert sorted(h["assignment_id"] for h in run.json["held"]) == sorted(fast)
    assert slow not in [h["assignment_id"] for h in run.json["held"]]


def test_a_bad_minimum_stops_the_run(experiment, babe_run):
    experiment.configure(plugins={"min_time": {"minimum": "soon"}})
    run = babe_run("approve", "--json")
    assert (run.code, run.json["error"]["plugin"]) == (2, "min_time")


def test_time_passes_for_babe_too(experiment, babe_run, babe_clock, babe_workers, babe_turk):
    hit_id = babe_run("create --assignments 2 --duration 1h --json").json["hits"][0]["hit_id"]
    start = babe_clock.now()
    late = babe_workers.accept(hit_id)
    babe_clock.advance("2h")  # past the hour a worker has: the assignment is abandoned
    with pytest.raises(Exception, match="is Abandoned"):
        babe_workers.submit(late)
    babe_clock.advance("7d")  # past the HIT's lifetime
    assert babe_clock.now() - start >= timedelta(days=7, hours=2)
    assert babe_turk.hit(hit_id)["Expiration"] <= babe_clock.now()
    assert babe_run("status --json").json["hits"][0]["status"] == "Reviewable"  # expired: no longer Assignable


def test_an_endpoint_for_tools_that_want_a_url(experiment, babe_run, babe_turk):
    url = babe_turk.serve()
    run = babe_run("create", "--assignments", "2", "--endpoint-url", url, "--json")
    assert run.code == 0, run
    assert [hit["HITId"] for hit in babe_turk.hits()] == [run.json["hits"][0]["hit_id"]]


def test_each_test_starts_with_an_empty_local_mturk(babe_turk, babe_clock):
    assert babe_turk.hits() == []
    assert babe_turk.balance() == 10000
    assert babe_clock.offset == 0
'''

INTEGRATION_TESTS = '''
def test_slack_posts_once_per_create(babe_env, babe_experiment, babe_run, babe_webhook, monkeypatch):
    babe_env.use_installed_plugins("slack")
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", babe_webhook.url)
    babe_experiment.configure(plugins={"slack": {}})
    run = babe_run("create --assignments 3 --json")
    assert run.code == 0, run
    assert len(babe_webhook.posts) == 1
    assert "is on *local*" in babe_webhook.texts[0]
    assert babe_webhook.secret not in run.out + run.err


def test_approve_holds_work_whose_data_never_reached_the_backend(babe_env, babe_experiment, babe_run, babe_workers, babe_backend):
    babe_env.use_installed_plugins("babe-backend")
    submit_url = babe_experiment.deploy_to(babe_backend, 7)
    babe_experiment.configure(plugins={"babe-backend": {}})
    assert babe_run("create --assignments 4").code == 0
    report = babe_workers.work(workers=4, post_to=submit_url, lose_rate=0.25, seed=1)
    assert len(report["lost"]) == 1
    run = babe_run("approve --json")
    assert run.code == 0, run
    assert run.json["approved"] == 3
    assert run.json["held"] == [{"assignment_id": report["lost"][0], "reason": "no data in backend"}]
    assert len(babe_backend.backend.submissions("7")) == 3
'''


@pytest.fixture
def lab(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A lab's repository: its plugin `min_time.py` and `tests/test_min_time.py`."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makefile(".py", min_time=MIN_TIME)
    tests = pytester.mkdir("tests")
    (tests / "test_min_time.py").write_text(LAB_TESTS, encoding="utf-8")
    return pytester


def run_lab(lab: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In a subprocess, as a lab runs it: an in-process run would also drop the modules it first
    # imported (httpx, httpcore, …) from sys.modules afterwards, splitting later tests' classes.
    return lab.runpytest_subprocess("-p", "babe_tasks.pytest_plugin", "-p", "no:cacheprovider", *args)


def test_a_labs_plugin_tests_pass_with_the_fixtures(lab):
    result = run_lab(lab)
    result.assert_outcomes(passed=5)


def test_a_bug_in_the_labs_plugin_fails_its_tests(lab):
    broken = MIN_TIME.replace("if took < minimum:", "if took > minimum:")
    assert broken != MIN_TIME
    (lab.path / "min_time.py").write_text(broken, encoding="utf-8")
    result = run_lab(lab, "-k", "fast_workers")
    result.assert_outcomes(failed=1, deselected=4)
    result.stdout.fnmatch_lines(["*assert 2 == 1*"])  # two paid where one should be


def test_installed_plugins_and_the_fixtures_for_them(lab):
    """The lab plugins of this repository, installed by entry point, tested with the webhook and backend fixtures."""
    (lab.path / "tests" / "test_integration.py").write_text(INTEGRATION_TESTS, encoding="utf-8")
    result = run_lab(lab, "tests/test_integration.py")
    result.assert_outcomes(passed=2)


def test_the_person_testing_leaks_nothing_into_the_tests(lab, monkeypatch, tmp_path):
    outside_state = tmp_path / "my-real-localturk.sqlite"
    monkeypatch.setenv("BABE_LOCAL_STATE", str(outside_state))
    monkeypatch.setenv("BABE_TARGET", "live")
    monkeypatch.setenv("BABE_PLUGINS", "slack")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_PROFILE", "lab-admin")
    (lab.path / "tests" / "test_env.py").write_text(
        '''
import os

def test_a_clean_environment(babe_env, babe_run, tmp_path):
    assert os.environ["BABE_LOCAL_STATE"] == str(babe_env.state)
    assert babe_env.state.is_relative_to(tmp_path)
    assert [k for k in os.environ if k.startswith("BABE_") and k != "BABE_LOCAL_STATE"] == []
    assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_PROFILE" not in os.environ
    assert os.getcwd().startswith(str(tmp_path))
    run = babe_run("status --json")
    assert run.code == 0, run  # local, not live: BABE_TARGET did not get in
    plugins = babe_run("plugins --json").json["plugins"]
    assert [p["name"] for p in plugins if p["source"] == "entry point"] == []
    # The experiment's platform is a plugin too: MTurk's loads, the other platform's is not imported.
    assert {p["name"]: p["status"] for p in plugins if p["source"] == "platform"} == {"mturk": "loaded", "prolific": "skipped"}


def test_a_debug_run(babe_run):
    from babe_tasks.errors import debug_enabled

    assert babe_run("--debug", "status", "--json").code == 0
    assert debug_enabled()


def test_debug_does_not_leak_into_the_next_test(babe_run):
    from babe_tasks.errors import debug_enabled

    assert not debug_enabled()


def test_a_lab_on_prolific_gets_the_prolific_platform_and_nothing_else(babe_experiment, babe_run):
    babe_experiment.configure(platform="prolific")
    plugins = babe_run("plugins --json").json["plugins"]
    assert {p["name"]: p["status"] for p in plugins if p["source"] == "platform"} == {"mturk": "skipped", "prolific": "loaded"}
    assert [p["name"] for p in plugins if p["source"] == "entry point"] == []


def test_asking_for_an_installed_plugin_by_name(babe_env, babe_run):
    babe_env.use_installed_plugins("slack")
    listed = {p["name"]: p["status"] for p in babe_run("plugins --json").json["plugins"] if p["source"] == "entry point"}
    assert listed["slack"] == "loaded"
    assert {name: status for name, status in listed.items() if name != "slack"} == {
        "payment-cap": "disabled",
        "babe-backend": "disabled",
    }
''',
        encoding="utf-8",
    )
    result = run_lab(lab, "tests/test_env.py")
    result.assert_outcomes(passed=5)
    assert not outside_state.exists()


# -- the fixtures' objects, directly ---------------------------------------------------------------
def test_a_plugin_name_that_is_not_installed_is_refused(babe_env):
    with pytest.raises(ValueError, match="not installed as a babe plugin: slak \\(installed: .*slack"):
        babe_env.use_installed_plugins("slak")


def test_configure_changes_keys_and_plugin_sections(babe_experiment):
    import yaml

    babe_experiment.configure(reward="1.25", plugins={"min_time": {"minimum": "2m"}, "slack": {}})
    babe_experiment.configure(title=None, plugins={"slack": None})
    written = yaml.safe_load(babe_experiment.config_path.read_text())["babe"]
    assert written == {
        "url": "https://example.org/experiment/",
        "description": "Read sentences and rate them.",
        "reward": "1.25",
        "plugins": {"min_time": {"minimum": "2m"}},
    }
    assert Path.cwd() == babe_experiment.path
    assert babe_experiment.name == "experiment"


def test_add_plugin_needs_an_existing_file(babe_experiment):
    with pytest.raises(FileNotFoundError, match="nope.py does not exist"):
        babe_experiment.add_plugin(babe_experiment / "nope.py")


def test_the_webhook_receiver_answers_as_asked(babe_webhook):
    import httpx

    assert httpx.post(babe_webhook.url, json={"text": "hello"}).status_code == 200
    babe_webhook.mode = "500"
    assert httpx.post(babe_webhook.url, json={"text": "again"}).status_code == 500
    babe_webhook.mode = "404"
    assert httpx.post(babe_webhook.url, content=b"not json").status_code == 404
    assert babe_webhook.texts == ["hello", "again", ""]
    assert babe_webhook.posts[2].body == "not json"
    assert babe_webhook.posts[0].path == f"/services/{babe_webhook.secret}"
    babe_webhook.mode = "slow"
    babe_webhook.delay = 5
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(babe_webhook.url, json={"text": "slow"}, timeout=0.3)
    with pytest.raises(httpx.ConnectError):
        httpx.post(babe_webhook.down_url, json={"text": "nobody"})
    with pytest.raises(ValueError, match="mode 'teapot' is not one of ok, 500, 404, slow"):
        babe_webhook.mode = "teapot"
    with pytest.raises(AssertionError, match="expected 9 webhook post"):
        babe_webhook.wait_for(9, timeout=0.2)


def test_the_plugin_module_is_import_light():
    """pytest imports the plugin in every session where babe-tasks is installed: no boto3, httpx or rich."""
    code = "import sys, babe_tasks.pytest_plugin; print(sorted(m for m in ('boto3', 'botocore', 'httpx', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ}).stdout
    assert out.strip() == "[]"


def test_the_installed_package_announces_the_pytest_plugin():
    """pytest finds the fixtures through the `pytest11` entry point: a lab's suite needs no conftest.

    (A checkout installed before the entry point existed needs `pip install -e .` once more.)
    """
    from importlib.metadata import entry_points

    announced = [ep.value for ep in entry_points(group="pytest11")]
    assert "babe_tasks.pytest_plugin" in announced
