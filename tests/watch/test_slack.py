"""A watch with the lab's slack plugin loaded: messages follow changes, never the refresh rate.

The plugin posts from `babe_status` (a HIT filled or expired: once per change) and from
`babe_after_approve` (an approve that approved or held something). The watch runs approve only
when work it has not offered yet arrived, so quiet refreshes post nothing and a held assignment
is not announced again at every refresh; during a watch the plugin announces milestones
(`babe_milestone`) instead of each approve.
"""

from __future__ import annotations

import yaml

from babe_tasks.testing.experiment import write_plugin
from .conftest import URL
from .test_watch import HOLDER


def test_quiet_refreshes_and_held_work_post_nothing(babe, created, experiment, clock, workers, webhook, monkeypatch):
    (experiment / "invoke.yaml").write_text(
        yaml.safe_dump(
            {
                "babe": {
                    "url": URL,
                    "title": "A short language study",
                    "description": "Read sentences and rate them.",
                    "reward": "0.50",
                    "plugins": {"slack": {}},
                }
            }
        )
    )
    monkeypatch.setattr("babe_tasks.plugins.ENTRY_POINT_GROUP", "babe_tasks")
    monkeypatch.setenv("BABE_PLUGINS", "slack,holder")
    monkeypatch.setenv("BABE_SLACK_WEBHOOK", webhook.url)
    write_plugin(experiment, "holder", HOLDER)
    posted_by = []  # posts made so far, seen at each wait (after refresh 1, 2, ...)

    def then(action):
        def step():
            posted_by.append(len(webhook.posts))
            action()

        return step

    clock.during(
        then(lambda: workers(0, worker_ids=["AHOLDME0001", "AOTHER00001", "AOTHER00002"])),
        then(lambda: None),
        then(lambda: None),
        then(lambda: None),
        then(lambda: workers(9)),
    )

    run = babe("watch", "--interval", "10m", "--json")

    assert run.code == 0, run
    assert run.json["refreshes"] == 6
    assert posted_by[0] == 0  # refresh 1: nothing had happened
    # Refreshes 3, 4 and 5 saw nothing new (one assignment held all along): not a single post.
    assert posted_by[1] == posted_by[2] == posted_by[3] == posted_by[4] <= 1
    # Refresh 6: both HITs filled (one message, from status), and at most two more.
    texts = webhook.texts
    assert 1 <= len(texts) - posted_by[4] <= 3, texts
    assert sum("2 HITs filled" in text for text in texts) == 1
    assert len(texts) <= 3
    assert webhook.url.rsplit("/", 1)[1] not in run.out + run.err  # the secret never shows
    # While a watch runs, approvals are not announced one by one: milestones are.
    assert not any(text.startswith(":white_check_mark:") for text in texts), texts
    assert any("three quarters of the goal approved: 11 of 12" in text for text in texts), texts
