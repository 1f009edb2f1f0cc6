"""F4 of issue 6: a broken `config/config_deploy.js` stops `babe init` before it writes anything.

The file decides where workers' submissions go; _babe reads it in the browser, where a syntax error
or an unquoted word stops the page. `init` is the one task that reads it, so it names the file, the
line and the fix (exit 2) — and `--ignore-deploy-config` sets the folder up without it.
"""

from __future__ import annotations

import json

import pytest

BROKEN = 'var config_deploy = {\n  "experimentID": "12",\n  deployMethod: MTurkSandbox,\n};\n'
FINE = BROKEN.replace("MTurkSandbox", '"MTurkSandbox"')


@pytest.fixture
def folder(tmp_path, monkeypatch):
    root = tmp_path / "study"
    (root / "config").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def test_a_broken_config_deploy_js_is_refused_and_nothing_is_written(babe, folder):
    (folder / "config" / "config_deploy.js").write_text(BROKEN)
    run = babe("init", "--json")
    assert run.code == 2, run
    message = run.json["error"]["message"]
    assert message == (
        "config/config_deploy.js line 3: the value MTurkSandbox of `deployMethod: MTurkSandbox` is not quoted: "
        'write "MTurkSandbox"; fix the file, or pass --ignore-deploy-config to set up without it'
    )
    assert sorted(p.name for p in folder.rglob("*")) == ["config", "config_deploy.js"]


def test_ignore_deploy_config_sets_up_without_it(babe, folder):
    (folder / "config" / "config_deploy.js").write_text(BROKEN)
    run = babe("init", "--ignore-deploy-config", "--json")
    assert run.code == 0, run
    assert run.json["deploy"] is None and run.json["warnings"] == []
    assert run.json["written"] == ["invoke.yaml", "tasks.py", "plugins/README.txt"]
    assert "experimentID 12" not in (folder / "invoke.yaml").read_text()  # nothing taken from it


def test_once_fixed_init_reads_it(babe, folder):
    (folder / "config" / "config_deploy.js").write_text(BROKEN)
    assert babe("init").code == 2
    (folder / "config" / "config_deploy.js").write_text(FINE)
    run = babe("init", "--json")
    assert run.code == 0, run
    assert json.loads(run.out)["deploy"]["deploy_method"] == "MTurkSandbox"
    assert "set target: sandbox once the local run looks right" in (folder / "invoke.yaml").read_text()
