"""Fixtures for `babe watch`: an experiment with HITs, the real `babe` program, and time that moves.

`clock` (with `workers`: tests/conftest.py, shared with `babe wait`'s tests) replaces the watch's
wait between refreshes: instead of sleeping, it moves the local MTurk's clock by the same amount (so
`--interval 30m --until 2d` runs in well under a second) and first lets the test act — usually
simulated workers taking some HITs — exactly as if that had happened while the watch slept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


URL = "https://example.org/experiment/"


@pytest.fixture
def created(babe, experiment):
    """12 assignments posted on the local MTurk as 2 HITs of 6; the create's JSON document."""
    run = babe("create", "--assignments", "12", "--batch-size", "6", "--json")
    assert run.code == 0, run
    return run.json


#: A plugin that writes every milestone it hears of to milestones.jsonl in the experiment folder.
MILESTONE_RECORDER = '''
import json
from pathlib import Path
from babe_tasks.plugins import hookimpl

@hookimpl
def babe_milestone(settings, milestone, status):
    line = {"name": milestone.name, "text": milestone.text, "approved": milestone.approved,
            "goal": milestone.goal, "approved_in_status": status.totals["approved"]}
    with open(Path(settings.folder) / "milestones.jsonl", "a") as f:
        f.write(json.dumps(line) + "\\n")
'''


def recorded(folder: Path, name: str = "milestones.jsonl") -> list[dict]:
    path = folder / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def webhook(babe_webhook):
    """A Slack-like webhook receiver on 127.0.0.1 (babe_tasks.testing.webhook): `url`, `posts`, `texts`."""
    return babe_webhook
