"""`config_deploy.js` has one reader (`babe_tasks.deployconfig`): what it reads and what it refuses
come from the same scanning, so a file it judges sound is a file whose fields it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from babe_tasks import deployconfig
from babe_tasks.testing import write_deploy_config

SOUND = """\
// the _babe template, with the usual liberties
var config_deploy = {
    experimentID: '12', /* a comment, "quoted" */
    "serverAppURL": "https://babe.example.org/api/submit_experiment/", // a URL holds //
    deployMethod: "MTurkSandbox",
    contact_email: "lab@example.org",
    nested: {deployMethod: "debug"},
};
"""


def _file(folder: Path, text: str) -> Path:
    path = folder / deployconfig.CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sound_file_is_read_and_not_judged(tmp_path):
    path = _file(tmp_path, SOUND)
    assert deployconfig.problem(path) is None
    found = deployconfig.find(tmp_path)
    assert (found.experiment_id, found.deploy_method, found.contact_email) == ("12", "MTurkSandbox", "lab@example.org")
    assert found.backend_url == "https://babe.example.org/"


def test_the_template_the_suite_writes_is_sound(tmp_path):
    path = write_deploy_config(tmp_path, experiment_id="12", server_app_url="https://babe.example.org/api/submit_experiment/")
    assert deployconfig.problem(path) is None
    assert deployconfig.find(tmp_path) is not None


@pytest.mark.parametrize(
    "broken, message",
    [
        (SOUND.replace('"MTurkSandbox",', '"MTurkSandbox"'), "line 6: a comma is missing before `contact_email"),
        (SOUND.replace('"MTurkSandbox"', "MTurkSandbox"), 'line 5: the value MTurkSandbox of `deployMethod: MTurkSandbox` is not quoted'),
        (SOUND.replace('"MTurkSandbox"', '"MTurkSandbx"'), "line 5: deployMethod 'MTurkSandbx' is not one _babe knows"),
        (SOUND.replace('"lab@example.org"', '"lab@example.org'), "line 6: a string opened here is never closed"),
        (SOUND.replace("};", ""), "line 2: the object `config_deploy = {` is never closed"),
        (SOUND.replace("'12',", "'12',,"), "line 3: an empty entry (two commas in a row)"),
    ],
)
def test_what_would_break_the_page_is_named_with_its_line(tmp_path, broken, message):
    assert deployconfig.problem(_file(tmp_path, broken)).startswith(message)


def test_a_string_never_closed_is_not_read_as_a_value_running_into_the_next_line(tmp_path):
    """The reader and the check agree: a quoted value cannot span lines (it does not in a browser)."""
    text = 'var config_deploy = {\n  deployMethod: "MTurk,\n  experimentID: "7"\n};\n'
    path = _file(tmp_path, text)
    assert deployconfig.problem(path).startswith("line 2: a string opened here is never closed")
    parsed = deployconfig.parse(text, path)
    assert parsed is None or parsed.deploy_method is None


def test_another_shape_is_not_judged_and_no_file_is_no_problem(tmp_path):
    assert deployconfig.problem(tmp_path / "config" / "config_deploy.js") is None
    assert deployconfig.problem(_file(tmp_path, "window.settings = {deployMethod: 'x'};\n")) is None
