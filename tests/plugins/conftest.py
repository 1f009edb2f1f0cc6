"""Fixtures for the lab plugins: a Slack webhook receiver on 127.0.0.1, an experiment, the real `babe`.

The receiver is the one the package ships (`babe_tasks.testing.webhook.WebhookReceiver`): a real
HTTP server in a thread that records every POST and answers by its `mode` ("ok", "500", "404",
"slow"); `down_url` points at a port where nothing listens. Every webhook URL carries a random
secret path, which the tests then look for in every output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder
from babe_tasks.testing.webhook import WebhookReceiver


@pytest.fixture
def receiver():
    """A running webhook receiver on 127.0.0.1 (mode "ok"; `babe_tasks.testing.webhook`), closed after the test."""
    with WebhookReceiver() as running:
        yield running


def write_config(folder: Path, plugins: dict | None = None, **babe: Any) -> Path:
    """invoke.yaml with the standard HIT texts, `babe` overrides, and `babe.plugins` sections."""
    settings = {**DEFAULT_SETTINGS, **babe}
    if plugins is not None:
        settings["plugins"] = plugins
    return ExperimentFolder(folder, settings).config_path


@pytest.fixture
def configure(experiment):
    """`configure(plugins={...}, **babe)` rewrites the experiment's invoke.yaml."""

    def write(plugins: dict | None = None, **babe: Any) -> Path:
        return write_config(experiment, plugins, **babe)

    return write


@pytest.fixture
def lab_plugins(monkeypatch):
    """Load the repository's lab plugins the way an installed plugin is loaded: by entry point.

    The autouse fixture points the entry-point group elsewhere so installed plugins stay out of
    other tests; here it is set back, and BABE_PLUGINS picks the plugins a test names.
    """

    def load(*names: str) -> None:
        monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
        monkeypatch.setenv("BABE_PLUGINS", ",".join(names))

    return load


def hit_ids(mturk) -> list[str]:
    """Every HIT on the local MTurk, through boto3's own paginator."""
    return [h["HITId"] for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


@pytest.fixture
def list_hits():
    return hit_ids
