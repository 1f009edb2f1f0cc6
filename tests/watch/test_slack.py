"""A watch with the lab's slack plugin loaded: messages follow changes, never the refresh rate.

The plugin posts from `babe_status` (a HIT filled or expired: once per change) and from
`babe_after_approve` (an approve that approved or held something). The watch runs approve only
when work it has not offered yet arrived, so quiet refreshes post nothing and a held assignment
is not announced again at every refresh.
"""

from __future__ import annotations

import yaml

from .conftest import URL, write_plugin
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
    clock.during(
        lambda: workers(0, worker_ids=["AHOLDME0001", "AOTHER00001", "AOTHER00002"]),
        lambda: None,
        lambda: None,
        lambda: None,
        lambda: workers(9),
    )

    run = babe("watch", "--interval", "10m", "--json")

    assert run.code == 0, run
    assert run.json["refreshes"] == 6
    texts = webhook.texts
    assert len(texts) == 3, texts
    assert "approved 2 assignments" in texts[0] and "Held back 1" in texts[0]
    assert "2 HITs filled" in texts[1]
    assert "approved 9 assignments" in texts[2] and "Held back 1" in texts[2]
    assert webhook.url.rsplit("/", 1)[1] not in run.out + run.err  # the secret never shows
