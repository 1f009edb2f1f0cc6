"""Settings: the layers (defaults → invoke.yaml → BABE_* → flags), validation messages, require/replace."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from invoke import Config, Context

from babe_tasks.errors import UsageError
from babe_tasks.settings import DEFAULTS, KEYS, Settings, check_config_file, parse_value

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def write_yaml(folder: Path, text: str) -> None:
    (folder / "invoke.yaml").write_text(text, encoding="utf-8")


def test_defaults(exp):
    settings = Settings.build()
    assert settings.experiment == "my-exp"
    assert settings.folder == exp.resolve()
    assert (settings.target, settings.platform, settings.endpoint_url, settings.profile) == ("local", "mturk", None, None)
    assert (settings.assignments, settings.batch_size, settings.frame_height, settings.max_concurrency) == (1, 9, 0, 16)
    assert (settings.lifetime, settings.duration, settings.auto_approve) == (7 * 86400, 3600, 3 * 86400)
    assert settings.reward is None and settings.url is None and settings.title is None
    assert settings.keywords == "" and settings.plugins == {} and settings.strict_plugins is False
    assert (settings.yes, settings.dry_run, settings.json) == (False, False, False)
    assert settings.state_dir == exp.resolve() / ".babe"


@pytest.mark.parametrize(
    "folder_name, expected",
    [("My Exp (2)", "My-Exp-2"), ("exp_2024.v1", "exp_2024.v1"), ("ümlaut", "mlaut"), ("___", "experiment"), ("x" * 80, "x" * 64)],
)
def test_the_experiment_name_defaults_to_the_folder_name_made_safe(tmp_path, monkeypatch, folder_name, expected):
    folder = tmp_path / folder_name
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert Settings.build().experiment == expected


def test_the_experiment_folder_is_the_nearest_ancestor_with_invoke_yaml(exp, monkeypatch):
    write_yaml(exp, "babe:\n  title: From the folder\n")
    sub = exp / "analysis" / "plots"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    settings = Settings.build()
    assert settings.folder == exp.resolve()
    assert settings.title == "From the folder"


def test_layers_file_then_environment_then_flags(exp, monkeypatch):
    write_yaml(exp, 'babe:\n  reward: "0.40"\n  title: File title\n  assignments: 20\n  lifetime: 2d\n')
    settings = Settings.build()
    assert (settings.reward, settings.title, settings.assignments, settings.lifetime) == (Decimal("0.40"), "File title", 20, 172800)
    monkeypatch.setenv("BABE_REWARD", "0.45")
    monkeypatch.setenv("BABE_LIFETIME", "3d")
    settings = Settings.build()
    assert (settings.reward, settings.title, settings.lifetime) == (Decimal("0.45"), "File title", 3 * 86400)
    settings = Settings.build(reward="0.50", title=None, lifetime="45m")
    assert (settings.reward, settings.title, settings.lifetime) == (Decimal("0.50"), "File title", 2700)


def test_an_empty_environment_variable_counts_as_unset(exp, monkeypatch):
    write_yaml(exp, "babe:\n  target: sandbox\n")
    monkeypatch.setenv("BABE_TARGET", "")
    assert Settings.build().target == "sandbox"


def test_layers_through_an_invoke_context(exp, monkeypatch):
    """Under invoke the `babe` section comes from ctx.config (collection defaults + the project file)."""
    other = exp / "elsewhere"
    other.mkdir()
    write_yaml(other, "babe:\n  batch_size: 5\n  experiment: pilot-1\n")
    config = Config(defaults={"babe": dict(DEFAULTS)})
    config.set_project_location(str(other))
    config.load_project()
    settings = Settings.build(Context(config=config), assignments="12")
    assert settings.folder == other.resolve()
    assert (settings.batch_size, settings.experiment, settings.assignments) == (5, "pilot-1", 12)


def test_a_yaml_float_reward_is_read_as_typed(exp):
    write_yaml(exp, "babe:\n  reward: 0.50\n")
    assert Settings.build().reward == Decimal("0.50")
    write_yaml(exp, "babe:\n  reward: 0.123\n")
    with pytest.raises(UsageError, match="reward .0.123. is not a dollar amount"):
        Settings.build()


@pytest.mark.parametrize(
    "reward, message",
    [
        ("$0.50", "reward '$0.50' is not a dollar amount: write digits with at most two decimals, without a currency sign (for example 0.50)"),
        ("-1", "reward '-1' is not a dollar amount"),
        ("0.123", "reward '0.123' is not a dollar amount"),
        ("0", "reward '0' must be more than 0.00"),
        ("1e3", "reward '1e3' is not a dollar amount"),
    ],
)
def test_bad_rewards_are_refused_with_the_fix(exp, reward, message):
    with pytest.raises(UsageError) as caught:
        Settings.build(reward=reward)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 2


def test_a_bad_value_names_where_it_was_set(exp, monkeypatch):
    monkeypatch.setenv("BABE_REWARD", "$1")
    with pytest.raises(UsageError, match=r"\(set by BABE_REWARD\)$"):
        Settings.build()
    monkeypatch.delenv("BABE_REWARD")
    write_yaml(exp, "babe:\n  lifetime: 10s\n")
    with pytest.raises(UsageError, match=re.escape(f"(set by babe.lifetime in {exp.resolve() / 'invoke.yaml'})")):
        Settings.build()


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"lifetime": "10s"}, "lifetime 10s is too short: MTurk needs 30s to 365d"),
        ({"lifetime": "366d"}, "lifetime 366d is too long: MTurk allows 30s to 365d"),
        ({"duration": "29"}, "duration 29 is too short: MTurk needs 30s to 365d"),
        ({"auto_approve": "31d"}, "auto_approve 31d is too long: MTurk allows 0s to 30d"),
        ({"lifetime": "soon"}, "lifetime 'soon' is not a duration"),
        ({"title": "x" * 129}, "title is 129 characters long: MTurk allows at most 128"),
        ({"title": "  "}, "title is empty"),
        ({"description": "d" * 2001}, "description is 2001 characters long: MTurk allows at most 2000"),
        ({"keywords": "k" * 1001}, "keywords is 1001 characters long"),
        ({"feedback": "f" * 1025}, "feedback is 1025 characters long: MTurk allows at most 1024"),
        ({"target": "production"}, "target 'production' is not one of local, sandbox, live"),
        ({"assignments": "0"}, "assignments 0 is out of range"),
        ({"assignments": "ten"}, "assignments 'ten' is not a whole number"),
        ({"batch_size": "2.5"}, "batch_size '2.5' is not a whole number"),
        ({"frame_height": "-1"}, "frame_height -1 is out of range: use 0 or more"),
        ({"max_concurrency": "100"}, "max_concurrency 100 is out of range: use 1 to 64"),
        ({"experiment": "my exp"}, "experiment 'my exp' is not a usable name"),
        ({"endpoint_url": "localhost:8443"}, "endpoint_url 'localhost:8443' is not an http(s) URL"),
        ({"url": "example.org/exp"}, "url 'example.org/exp' is not a web address"),
        ({"strict_plugins": "maybe"}, "strict_plugins 'maybe' is not true or false"),
        ({"platform": "my platform"}, "platform 'my platform' is not a platform name"),
    ],
)
def test_bad_values_are_one_line_usage_errors(exp, flags, message):
    with pytest.raises(UsageError) as caught:
        Settings.build(**flags)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_title_of_128_characters_is_fine(exp):
    assert len(Settings.build(title="t" * 128).title) == 128


@pytest.mark.parametrize(
    "target, url, ok",
    [
        ("local", "https://example.org/exp/", True),
        ("local", "http://localhost:8000/exp/", True),
        ("local", "http://127.0.0.1:8000/", True),
        ("local", "http://[::1]:8000/", True),
        ("local", "http://example.org/exp/", False),
        ("sandbox", "http://localhost:8000/", False),
        ("live", "http://localhost:8000/", False),
        ("live", "https://example.org/exp/", True),
    ],
)
def test_experiment_url_must_be_https_except_localhost_on_local(exp, target, url, ok):
    if ok:
        assert Settings.build(target=target, url=url).url == url
    else:
        with pytest.raises(UsageError, match="is not HTTPS"):
            Settings.build(target=target, url=url)


def test_unknown_settings_in_invoke_yaml_are_refused_with_a_suggestion(exp):
    write_yaml(exp, "babe:\n  rewrad: 0.5\n")
    with pytest.raises(UsageError, match=r"unknown setting babe.rewrad in .*invoke.yaml: did you mean reward\?"):
        Settings.build()


@pytest.mark.parametrize(
    "text, message",
    [
        ("babe:\n  target: [local\n", r"invoke.yaml line \d+: not valid YAML"),
        ("babe:\n\treward: 1\n", r"invoke.yaml line 2: not valid YAML"),
        ("- babe\n", r"invoke.yaml line 1: the file must be a mapping"),
        ("babe: [1, 2]\n", r"invoke.yaml: the babe section must be a mapping"),
    ],
)
def test_a_malformed_invoke_yaml_is_one_line_naming_file_and_line(exp, text, message):
    write_yaml(exp, text)
    with pytest.raises(UsageError, match=message) as caught:
        check_config_file(exp)
    assert "\n" not in str(caught.value)
    with pytest.raises(UsageError, match=message):
        Settings.build()


def test_plugin_settings(exp):
    write_yaml(exp, "babe:\n  plugins:\n    slack:\n      channel: '#lab'\n    capper:\n")
    settings = Settings.build()
    assert settings.plugin_settings("slack") == {"channel": "#lab"}
    assert settings.plugin_settings("capper") == {} == settings.plugin_settings("absent")
    write_yaml(exp, "babe:\n  plugins:\n    slack: loud\n")
    with pytest.raises(UsageError, match="plugins.slack must be a mapping"):
        Settings.build()


def test_booleans_from_the_environment(exp, monkeypatch):
    for text, value in (("1", True), ("true", True), ("YES", True), ("0", False), ("off", False)):
        monkeypatch.setenv("BABE_STRICT_PLUGINS", text)
        assert Settings.build().strict_plugins is value


def test_local_state_is_relative_to_the_experiment_folder(exp, monkeypatch):
    monkeypatch.setenv("BABE_LOCAL_STATE", "state/turk.sqlite")
    assert Settings.build().local_state == exp.resolve() / "state" / "turk.sqlite"
    monkeypatch.setenv("BABE_LOCAL_STATE", "/tmp/x/turk.sqlite")
    assert Settings.build().local_state == Path("/tmp/x/turk.sqlite")


def test_keywords_may_be_a_yaml_list(exp):
    write_yaml(exp, "babe:\n  keywords: [language, psychology]\n")
    assert Settings.build().keywords == "language, psychology"


def test_run_flags_and_the_folder_flag(exp, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write_yaml(other, "babe:\n  title: Other\n")
    settings = Settings.build(folder=str(other), yes=True, dry_run=True, json=True)
    assert settings.folder == other.resolve() and settings.title == "Other" and settings.experiment == "other"
    assert (settings.yes, settings.dry_run, settings.json) == (True, True, True)


def test_unknown_flags_are_a_programming_error(exp):
    with pytest.raises(TypeError, match="rewrad"):
        Settings.build(rewrad="0.5")


def test_require(exp):
    settings = Settings.build(reward="0.50", title="T")
    assert settings.require("reward") == Decimal("0.50")
    assert settings.require("reward", "title") == (Decimal("0.50"), "T")
    with pytest.raises(UsageError) as caught:
        settings.require("reward", "url")
    assert str(caught.value) == (
        f"url is not set: pass --url https://example.org/my-experiment/, or set babe.url in "
        f"{exp.resolve() / 'invoke.yaml'} or BABE_URL"
    )


def test_replace_validates_like_a_flag(exp):
    settings = Settings.build()
    changed = settings.replace(reward="0.50", lifetime="1d", target="sandbox", dry_run=1)
    assert (changed.reward, changed.lifetime, changed.target, changed.dry_run) == (Decimal("0.50"), 86400, "sandbox", True)
    assert settings.reward is None  # frozen: the original is untouched
    with pytest.raises(UsageError, match="lifetime 10s is too short"):
        settings.replace(lifetime="10s")
    with pytest.raises(UsageError, match="is not HTTPS"):
        settings.replace(url="http://localhost/").replace(target="live")
    with pytest.raises(TypeError):
        settings.replace(colour="red")


def test_settings_are_frozen(exp):
    settings = Settings.build()
    with pytest.raises(Exception):
        settings.reward = Decimal("1.00")  # type: ignore[misc]


def test_parse_value(exp):
    assert parse_value("target", "LIVE") == "live"
    with pytest.raises(UsageError):
        parse_value("experiment", "bad name")


def test_every_setting_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for key in KEYS:
        assert f"`{key.name}`" in text, key.name
        if key.flag:
            assert f"`{key.flag}`" in text, key.flag
        if key.env_var:
            assert f"`{key.env_var}`" in text, key.env_var
    for variable in ("BABE_PLUGINS", "BABE_DISABLE_PLUGINS", "BABE_DEBUG", "BABE_LOCAL_FAULTS"):
        assert variable in text


def test_a_bare_invoke_context_still_reads_the_folders_invoke_yaml(exp):
    """A Context built without a project location (tests, scripts) must not skip invoke.yaml."""
    write_yaml(exp, "babe:\n  title: From the folder\n")
    settings = Settings.build(Context(config=Config(overrides={"babe": {"batch_size": 3}})))
    assert (settings.title, settings.batch_size) == ("From the folder", 3)


# -- issue 14: a file that cannot hide a key, and values the platform would refuse -------------------


@pytest.mark.parametrize(
    "text, message",
    [
        # PyYAML notices an unclosed quote or bracket where the file (or the next key) ends: the line
        # named is the one where it was opened.
        ('babe:\n  title: "A study\n  reward: 1\n\n\n', r"line 2: not valid YAML \(a quoted text starts here .* on line 6\)"),
        ("babe:\n  url: [unclosed\n  title: x\n", r"line 2: not valid YAML \(a list opened with \[ starts here .* on line 3\)"),
        ("babe:\r\n  title: a\r\n  locale: {US: 1\r\n\r\n", r"line 3: not valid YAML \(a mapping opened with \{ starts here"),
        ("babe:\n  title: a\n reward: '1'\n", r"line 3: not valid YAML \(expected <block end>"),
    ],
)
def test_a_yaml_error_names_the_line_to_fix(exp, text, message):
    (exp / "invoke.yaml").write_bytes(text.encode())
    with pytest.raises(UsageError, match=message):
        Settings.build()


@pytest.mark.parametrize("separator", ["\r", "\x85", "\u2028", "\u2029"])
def test_a_line_break_that_editors_do_not_show_is_refused(exp, separator):
    """YAML starts a new line at CR, NEL, U+2028 and U+2029; `cat` and `grep` do not: a hidden key."""
    (exp / "invoke.yaml").write_text(f"babe:\n  title: a{separator}  reward: '7.77'\n", encoding="utf-8", newline="")
    with pytest.raises(UsageError, match=rf"invoke.yaml line 2: .*U\+{ord(separator):04X}|line 2: a carriage return"):
        Settings.build()
    (exp / "invoke.yaml").write_bytes(b"babe:\r\n  title: a\r\n")  # CRLF is an ordinary line end
    assert Settings.build().title == "a"


def test_a_key_set_twice_is_refused_naming_both_lines(exp):
    write_yaml(exp, "babe:\n  reward: '0.50'\n  title: T\n  reward: '5.00'\n")
    with pytest.raises(UsageError, match=r"line 4: reward is set twice in one mapping \(first on line 2\)"):
        Settings.build()


def test_yaml_aliases_are_bounded(exp):
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi")]
    write_yaml(exp, "babe:\n  title: T\n" + "\n".join(levels) + "\n")
    with pytest.raises(UsageError, match=r"line 7: the YAML expands to more than 10,000 values"):
        check_config_file(exp)
    # A few aliases, as a lab might use to share a value, are fine.
    write_yaml(exp, "babe:\n  locale: &places [US, CA]\n  plugins:\n    slack:\n      places: *places\n")
    assert Settings.build().locale == ("US", "CA")


def test_an_oversized_invoke_yaml_is_refused_before_it_is_parsed(exp):
    from babe_tasks.inputfiles import CONFIG_MAX_BYTES

    write_yaml(exp, "babe:\n  title: T\n" + "#" * CONFIG_MAX_BYTES + "\n")
    with pytest.raises(UsageError, match=r"invoke.yaml is larger than 1 MB"):
        Settings.build()


def test_sections_outside_babe(exp):
    """invoke's own sections (and their keys) pass; anything else is a typo that nothing would read."""
    write_yaml(exp, "babe:\n  title: T\nrun:\n  echo: true\ntasks:\n  dedupe: false\nrunners:\n  mine: x\n")
    assert Settings.build().title == "T"
    write_yaml(exp, "babe:\n  title: T\nbabes:\n  reward: '7.77'\n")
    with pytest.raises(UsageError, match=r"unknown section babes in .*invoke.yaml: did you mean babe\?"):
        Settings.build()
    write_yaml(exp, "babe:\n  title: T\nrun:\n  ehco: true\n")
    with pytest.raises(UsageError, match=r"unknown key run.ehco in .*invoke.yaml: did you mean echo\?"):
        Settings.build()


def test_a_section_the_task_collection_configures_is_known(exp):
    """A lab's tasks.py may configure a section of its own (`ns.configure({"lab": …})`)."""
    write_yaml(exp, "babe:\n  title: T\nlab:\n  room: 3\n")
    config = Config(defaults={"babe": dict(DEFAULTS)})
    config.load_collection({"babe": dict(DEFAULTS), "lab": {"room": 1}})
    config.set_project_location(str(exp))
    config.load_project()
    assert Settings.build(Context(config=config)).title == "T"
    with pytest.raises(UsageError, match="unknown section lab"):
        Settings.build()


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://example.org/my exp/", r"contains a space \(U\+0020\): write it percent-encoded"),
        ("https://example.org/x/\nnext", r"contains a control character \(U\+000A\)"),
        ("https://example.org/x\u2028/", r"contains a line separator \(U\+2028\)"),
        ("https://example.org/\u200bx/", r"U\+200B"),
        ("https://example.org/" + "a" * 2029, r"url is 2,049 characters long: at most 2,048"),
        ("https://example.org:80x/", r"is not a web address"),
        ("ftp://example.org/x/", r"is not a web address"),
    ],
    ids=["space", "newline", "line separator", "zero-width space", "2,049 characters", "port", "ftp"],
)
def test_a_url_the_platform_would_refuse_or_cut_is_refused_first(exp, url, message):
    with pytest.raises(UsageError, match=message):
        Settings.build(url=url)


def test_urls_that_are_fine(exp):
    longest = "https://example.org/" + "a" * 2028
    for url in ("https://example.org/my%20exp/?lang=en&list=A", "https://xn--bcher-kva.example/", longest):
        assert Settings.build(url=url).url == url


@pytest.mark.parametrize("name", ["assignments", "batch_size", "max_concurrency", "min_approved"])
def test_a_number_far_too_long_is_refused_without_converting_it(exp, name):
    with pytest.raises(UsageError, match=rf"{name} 999999999999…999999 is 5,000 characters long"):
        Settings.build(**{name: "9" * 5000})
    if name != "min_approved":  # the others have a ceiling: an 18-digit number is judged against it
        with pytest.raises(UsageError, match=rf"{name} 100000000000000000 is out of range"):
            Settings.build(**{name: "1" + "0" * 17})


def test_a_duration_or_amount_far_too_long_is_refused(exp):
    with pytest.raises(UsageError, match=r"lifetime 999999999999…99999s is too long for a duration"):
        Settings.build(lifetime="9" * 5000 + "s")
    with pytest.raises(UsageError, match=r"reward of 5,000 characters is not an amount anyone pays"):
        Settings.build(reward="9" * 5000)


def test_a_number_far_too_long_in_invoke_yaml_is_refused_with_its_line(exp):
    write_yaml(exp, "babe:\n  title: T\n  min_approved: " + "9" * 5000 + "\n")
    with pytest.raises(UsageError, match=r"invoke.yaml line 3: a number of 5,000 characters"):
        Settings.build()
    write_yaml(exp, "babe:\n  title: T\n  min_approved: " + "9" * 300 + "\n")
    with pytest.raises(UsageError, match=r"line 3: a number of 300 characters"):
        Settings.build()
    (exp / "invoke.yaml").unlink()
    with pytest.raises(UsageError, match=r"min_approved is a number of about 300 digits"):
        Settings.build(min_approved=10**299)
