"""`babe init` and the _babe deploy configuration reader."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from babe_tasks.deployconfig import blank_comments, find, parse
from babe_tasks.settings import KEYS, Settings

CONFIG_DEPLOY = textwrap.dedent(
    """\
    // config_deploy.js as the _babe templates ship it
    var config_deploy = {
        "experimentID": "12",
        'serverAppURL': 'https://babe-demo.herokuapp.com/api/submit_experiment/',
        /* 'debug' | 'localServer' | 'MTurk' | 'MTurkSandbox' | 'Prolific' | 'directLink' */
        deployMethod: "MTurkSandbox",   // trailing comment
        "contact_email": "someone@example.org",
        "prolificURL": "https://app.prolific.ac/submissions/complete?cc=ABCD1234",
    };
    """
)


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_init_in_an_empty_folder(exp, babe):
    run = babe("init")
    assert run.code == 0, run.err
    assert (exp / "invoke.yaml").is_file() and (exp / "tasks.py").is_file() and (exp / "plugins").is_dir()
    assert "from babe_tasks import ns" in (exp / "tasks.py").read_text()
    assert list((exp / "plugins").glob("*.py")) == []  # README only: nothing that would load as a plugin
    for relative in ("invoke.yaml", "tasks.py", "plugins/README.txt"):
        assert f"wrote {relative}" in run.out
    assert run.err == ""


def test_the_written_invoke_yaml_documents_every_setting_and_loads_as_the_defaults(exp, babe, tmp_path, monkeypatch):
    babe("init")
    text = (exp / "invoke.yaml").read_text()
    for key in KEYS:
        assert re.search(rf"^  (# )?{key.name}:", text, flags=re.M), key.name
    written = Settings.build().as_dict()
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    defaults = Settings.build(experiment="my-exp").as_dict()
    assert written.pop("folder") == exp.resolve() and defaults.pop("folder") == empty.resolve()
    assert written == defaults


def test_every_commented_value_is_valid_when_uncommented(exp, babe):
    """Uncommenting the examples must give a file the settings accept (money quoted, etc.)."""
    babe("init")
    text = (exp / "invoke.yaml").read_text()
    uncommented = re.sub(r"^  # (\w+: .*)$", r"  \1", text, flags=re.M)
    uncommented = uncommented.replace("  # plugins:\n  #   my_plugin:\n  #     some_setting: value", "  plugins:\n    my_plugin:\n      some_setting: value")
    (exp / "invoke.yaml").write_text(uncommented)
    settings = Settings.build()
    assert str(settings.reward) == "0.50" and settings.url == "https://example.org/my-experiment/"
    assert settings.plugin_settings("my_plugin") == {"some_setting": "value"}


def test_init_never_overwrites(exp, babe):
    (exp / "invoke.yaml").write_text("babe:\n  title: Mine\n")
    run = babe("init", "--json")
    assert run.code == 0
    result = run.json
    assert result["written"] == ["tasks.py", "plugins/README.txt"] and result["kept"] == ["invoke.yaml"]
    assert (exp / "invoke.yaml").read_text() == "babe:\n  title: Mine\n"
    again = babe("init")
    assert "kept existing invoke.yaml" in again.out and "wrote" not in again.out


def test_init_folder_flag_creates_the_folder(tmp_path, babe):
    target = tmp_path / "new" / "Study 3"
    run = babe("init", "--folder", str(target), "--json")
    assert run.code == 0, run.err
    result = run.json
    assert result["folder"] == str(target.resolve()) and result["experiment"] == "Study-3"
    assert "experiment: Study-3" in (target / "invoke.yaml").read_text()


def test_init_experiment_flag_is_validated(exp, babe):
    assert babe("init", "--experiment", "pilot-2").code == 0
    assert "experiment: pilot-2" in (exp / "invoke.yaml").read_text()
    run = babe("init", "--folder", str(exp / "x"), "--experiment", "bad name")
    assert run.code == 2 and "experiment 'bad name' is not a usable name" in run.err
    assert not (exp / "x").exists()


def test_init_reads_config_deploy_js(exp, babe):
    write(exp, "config/config_deploy.js", CONFIG_DEPLOY)
    run = babe("init", "--json")
    assert run.code == 0 and run.err == ""
    deploy = run.json["deploy"]
    assert deploy == {
        "source": str(exp / "config" / "config_deploy.js"),
        "experiment_id": "12",
        "server_app_url": "https://babe-demo.herokuapp.com/api/submit_experiment/",
        "deploy_method": "MTurkSandbox",
        "contact_email": "someone@example.org",
        "prolific_url": "https://app.prolific.ac/submissions/complete?cc=ABCD1234",
    }
    text = (exp / "invoke.yaml").read_text()
    assert "experimentID 12, deployMethod MTurkSandbox" in text
    assert "set target: sandbox once the local run looks right" in text
    assert Settings.build().target == "local"  # never spends by accident


@pytest.mark.parametrize("method", ["debug", "directLink", "localServer"])
def test_init_warns_when_the_deploy_method_is_not_mturk(exp, babe, method):
    write(exp, "config/config_deploy.js", CONFIG_DEPLOY.replace('"MTurkSandbox"', f"'{method}'"))
    run = babe("init")
    assert run.code == 0
    assert run.err.startswith(f"warning: deployMethod '{method}' in config_deploy.js is not an MTurk method")
    assert f"deployMethod {method} submits no MTurk form" in (exp / "invoke.yaml").read_text()


def test_deploy_in_a_babe_init_call(exp):
    write(exp, "node_modules/babe-project/index.js", "babeInit({deploy: {deployMethod: 'MTurk', experimentID: '1'}})")
    write(exp, "js/main.js", textwrap.dedent(
        """\
        $("document").ready(function() {
            window.magpie_monitor = magpieInit({
                views_seq: [intro, main, thanks],
                deploy: {
                    experimentID: '7',
                    serverAppURL: "https://backend.example.org/api/submit_experiment/",
                    deployMethod: 'MTurk', // live
                    contact_email: "lab@example.org",
                    prolificURL: "",
                },
                progress_bar: {in: ["main"], style: "separate", width: 100}
            });
        });
        """
    ))
    found = find(exp)
    assert found.source == exp / "js" / "main.js"
    assert (found.experiment_id, found.deploy_method, found.mturk_target) == ("7", "MTurk", "live")
    assert found.backend_url == "https://backend.example.org/"
    assert found.prolific_url is None


def test_no_deploy_configuration(exp):
    write(exp, "js/main.js", "console.log('no deploy here');")
    assert find(exp) is None


def test_nested_objects_and_tricky_strings_are_not_misread():
    text = textwrap.dedent(
        """\
        var config_deploy = {
            nested: {experimentID: "99", deployMethod: "debug"},
            list: ["deployMethod: 'Prolific'"],
            serverAppURL: "https://x.example.org/api/submit_experiment/", // not /* a comment */
            "experimentID": '4\\'2',
            deployMethod: `MTurk`,
        }
        """
    )
    found = parse(text, Path("config_deploy.js"))
    assert (found.experiment_id, found.deploy_method) == ("4'2", "MTurk")
    assert found.server_app_url == "https://x.example.org/api/submit_experiment/"


def test_blank_comments_keeps_strings_offsets_and_lines():
    text = "a = 'http://x' // gone\nb = 1 /* gone\n */ + 2"
    assert blank_comments(text) == "a = 'http://x'        \nb = 1        \n    + 2"
    assert len(blank_comments(text)) == len(text)



def test_an_unreadable_config_deploy_js_is_a_warning(exp, babe):
    write(exp, "config/config_deploy.js", "module.exports = require('./other');\n")
    run = babe("init", "--json")
    assert run.code == 0
    assert run.json["deploy"] is None
    assert run.json["warnings"] == [
        "config/config_deploy.js has no `var config_deploy = {...}` that could be read: nothing was taken from it"
    ]
    assert run.err.startswith("warning: config/config_deploy.js has no")


# -- the platform follows the page's deployMethod --------------------------------------------------------
def test_a_prolific_page_makes_init_choose_platform_prolific(exp, babe, monkeypatch):
    monkeypatch.delenv("BABE_PLATFORM", raising=False)
    write(exp, "config/config_deploy.js", CONFIG_DEPLOY.replace('"MTurkSandbox"', '"Prolific"'))
    run = babe("init", "--json")
    assert run.code == 0 and run.err == "", run
    result = run.json
    assert result["platform"] == "prolific" and result["warnings"] == []
    assert result["platform_reason"] == "deployMethod Prolific in config_deploy.js sends participants back to Prolific"
    text = (exp / "invoke.yaml").read_text()
    assert re.search(r"^  platform: prolific$", text, flags=re.M), text
    assert Settings.build().platform == "prolific" and Settings.build().target == "local"
    (exp / "invoke.yaml").unlink()
    shown = babe("init")
    assert "platform prolific: deployMethod Prolific in config_deploy.js sends participants back to Prolific" in shown.out
    assert "Next: babe-prolific code" in shown.out


@pytest.mark.parametrize("method", ["MTurk", "MTurkSandbox"])
def test_an_mturk_page_keeps_platform_mturk(exp, babe, monkeypatch, method):
    monkeypatch.delenv("BABE_PLATFORM", raising=False)
    write(exp, "config/config_deploy.js", CONFIG_DEPLOY.replace('"MTurkSandbox"', f'"{method}"'))
    run = babe("init")
    assert run.code == 0 and run.err == "", run
    assert f"platform mturk: deployMethod {method} in config_deploy.js is not Prolific's (default mturk)" in run.out
    assert not re.search(r"^  platform:", (exp / "invoke.yaml").read_text(), flags=re.M)
    assert Settings.build().platform == "mturk"


def test_a_platform_already_chosen_wins_over_the_page(exp, babe, monkeypatch):
    """A kept invoke.yaml is never edited, and BABE_PLATFORM is the lab's choice: the page is judged instead."""
    monkeypatch.delenv("BABE_PLATFORM", raising=False)
    write(exp, "config/config_deploy.js", CONFIG_DEPLOY.replace('"MTurkSandbox"', '"Prolific"'))
    (exp / "invoke.yaml").write_text("babe:\n  title: Mine\n")
    kept = babe("init", "--json")
    assert kept.json["platform"] == "mturk" and (exp / "invoke.yaml").read_text() == "babe:\n  title: Mine\n"
    assert "set platform: prolific in invoke.yaml" in kept.err
    (exp / "invoke.yaml").unlink()
    monkeypatch.setenv("BABE_PLATFORM", "mturk")
    chosen = babe("init", "--json")
    assert chosen.json["platform"] == "mturk" and chosen.json["platform_reason"] == "BABE_PLATFORM is mturk"
    assert not re.search(r"^  platform:", (exp / "invoke.yaml").read_text(), flags=re.M)


@pytest.mark.parametrize("separator", ["\r", "\x85", "\u2028", "\u2029"])
def test_no_value_from_config_deploy_js_can_add_a_key_to_invoke_yaml(exp, babe, separator):
    """Issue 14: an experimentID holding U+2028 (or a CR, a NEL) wrote `reward: 7.77` into invoke.yaml
    through the comment that quotes it, invisible to cat and grep; YAML read it as a setting."""
    from invoke.util import yaml

    hidden = f"{separator}  reward: '7.77'{separator}  assignments: 500{separator}target: live"
    write(exp, "config/config_deploy.js", (
        "var config_deploy = {\n"
        f'    "experimentID": "12{hidden}",\n'
        f'    "serverAppURL": "https://example.org/api/submit_experiment/{hidden}",\n'
        '    "deployMethod": "MTurkSandbox",\n'
        "};\n"
    ))
    run = babe("init")
    assert run.code == 0, run.err
    data = (exp / "invoke.yaml").read_bytes().decode("utf-8")
    assert not any(ch in data for ch in "\r\x85\u2028\u2029"), "only LF ends a line"
    assert yaml.safe_load(data) == {"babe": {"experiment": "my-exp", "target": "local"}}
    settings = Settings.build()
    assert (settings.reward, settings.assignments, settings.target) == (None, 1, "local")
    escaped = separator.encode("unicode_escape").decode()
    assert f"experimentID 12{escaped}  reward" in data  # still there for the lab to read, as an escape
    assert "\u2028" not in run.out and "\r" not in run.out


def test_the_written_lines_come_from_the_yaml_emitter(exp, babe):
    """Values YAML would read as something else are quoted by the emitter, not by hand."""
    from babe_tasks.tasks.init import config_template

    text = config_template("0.50", platform="prolific", why="a test")
    from invoke.util import yaml

    assert yaml.safe_load(text) == {"babe": {"experiment": "0.50", "target": "local", "platform": "prolific"}}
    assert "  # reward: '0.50'" in text and "  # assignments: 1" in text
