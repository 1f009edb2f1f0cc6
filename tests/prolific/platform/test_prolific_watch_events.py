"""`babe watch --events` on Prolific: the local Prolific's webhooks wake the watch, over real HTTP.

The watch subscribes the studies' workspace (secret, create, confirm), receives on 127.0.0.1, and
refreshes when a delivery says a watched study or submission changed — long before its interval.
What Prolific did not sign is refused; what is about other studies or repeats what is known wakes
nothing; the subscriptions are gone when the watch ends, and those of a killed watch are taken
over by the next one instead of piling up. The ground truth is the local Prolific's state file
(its subscriptions, its deliveries and their answers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from babe_prolific.local import advance_clock


class Hooks:
    """The local Prolific's hook tables, read from its state file."""

    def __init__(self, state: Path):
        self.state = state

    def _rows(self, sql: str, args: tuple = ()) -> list[dict]:
        if not self.state.exists():
            return []
        db = sqlite3.connect(self.state)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(sql, args).fetchall()]
        except sqlite3.OperationalError:  # the hook tables are made on first use
            return []
        finally:
            db.close()

    def subscriptions(self) -> list[dict]:
        return self._rows("SELECT * FROM hook_subscriptions ORDER BY seq")

    def live(self) -> list[dict]:
        """Subscriptions not deleted."""
        return [s for s in self.subscriptions() if not s["deleted"]]

    def confirmed(self, count: int, timeout: float = 30.0, besides: set[str] = frozenset()) -> list[dict]:
        """Wait until `count` confirmed, enabled subscriptions exist (with a target URL not in `besides`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.live() if s["confirmed"] and s["is_enabled"] and s["target_url"] not in besides]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} confirmed subscriptions within {timeout}s: {self.live()}")

    def secret(self) -> str:
        (row,) = self._rows("SELECT value FROM hook_secrets")
        return row["value"]

    def deliveries(self, status: str = "SUCCEEDED") -> list[dict]:
        return self._rows("SELECT * FROM hook_events WHERE status = ? ORDER BY seq", (status,))


@pytest.fixture
def hooks(state) -> Hooks:
    return Hooks(state)


def signed(secret: str, body: str, stamp: int | None = None) -> dict:
    """Headers as Prolific's documentation signs a request."""
    timestamp = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), (timestamp + body).encode(), hashlib.sha256).digest()
    return {"X-Prolific-Request-Timestamp": timestamp, "X-Prolific-Request-Signature": base64.b64encode(digest).decode(),
            "Content-Type": "application/json"}


def post(url: str, body: str, headers: dict) -> int:
    return httpx.post(url, content=body.encode(), headers=headers, timeout=5, trust_env=False).status_code


def in_background(action) -> threading.Thread:
    """Run what happens "while the watch waits" beside the watch, and re-raise its failure later."""
    failure: list[BaseException] = []

    def run():
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.failure = failure  # type: ignore[attr-defined]
    thread.start()
    return thread


def joined(thread: threading.Thread) -> None:
    thread.join(timeout=60)
    assert not thread.is_alive()
    if thread.failure:  # type: ignore[attr-defined]
        raise thread.failure[0]  # type: ignore[attr-defined]


def test_watch_refreshes_on_the_local_prolifics_events_long_before_its_interval(babe, experiment, people, hooks):
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]

    def participants():
        hooks.confirmed(2)  # the watch has subscribed: participants arrive while it waits
        time.sleep(0.3)
        people(study, 3)

    thread = in_background(participants)
    began = time.monotonic()
    run = babe("watch", "--events", "--interval", "10m", "--goal", "3", "--json")
    took = time.monotonic() - began
    joined(thread)

    assert run.code == 0, run
    assert run.json["reason"] == "complete" and run.json["approved"] == 3
    assert took < 60, took  # the interval is ten minutes: only events can have woken it
    events = run.json["events"]
    assert events["url"].startswith("http://127.0.0.1:")
    assert events["received"] >= 1 and events["forged"] == 0
    assert run.json["refreshes"] >= 2
    assert hooks.deliveries(), "the local Prolific delivered nothing"
    assert {s["event_type"] for s in hooks.subscriptions()} == {"study.status.change", "submission.status.change"}
    assert len(hooks.subscriptions()) == 2 and hooks.live() == []  # one per event type, deleted at the end
    assert hooks.secret() not in run.out + run.err


def test_unsigned_forged_and_replayed_events_are_refused_and_wake_nothing(babe, experiment, hooks, local, state):
    study = babe("create", "--assignments", "3", "--json").json["hits"][0]["hit_id"]
    answers: list[int] = []

    def sender():
        target = hooks.confirmed(2)[0]["target_url"]
        secret = hooks.secret()
        about_ours = json.dumps({"resource_id": study, "event_type": "study.status.change", "metadata": {}, "status": "PAUSED"})
        about_other = json.dumps({"resource_id": "0" * 24, "event_type": "study.status.change", "metadata": {}, "status": "ACTIVE"})
        answers.append(post(target, about_ours, {"Content-Type": "application/json"}))  # unsigned
        answers.append(post(target, about_ours, signed("not-the-secret", about_ours)))  # forged
        answers.append(post(target, about_ours, signed(secret, about_ours, int(time.time()) - 3600)))  # replayed an hour on
        answers.append(post(target.rsplit("/", 1)[0] + "/guessed", about_ours, signed(secret, about_ours)))  # not our path
        answers.append(post(target, about_other, signed(secret, about_other)))  # genuine, another study's
        time.sleep(1.0)  # had any of these woken the watch, it would have refreshed by now
        refreshes = local.calls("GET /studies/{id}/submissions/")
        answers.append(post(target, about_ours, signed(secret, about_ours)))  # genuine: wakes it
        answers.append(post(target, about_ours, signed(secret, about_ours)))  # a repeated delivery: does not
        deadline = time.monotonic() + 20
        while local.calls("GET /studies/{id}/submissions/") == refreshes and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        advance_clock(state, 3600)  # the watch's --until passes

    thread = in_background(sender)
    run = babe("watch", "--events", "--interval", "10m", "--until", "30m", "--json")
    joined(thread)

    assert answers == [401, 401, 401, 404, 200, 200, 200]
    assert run.code == 0, run
    assert run.json["reason"] == "deadline"
    # the first refresh, the genuine event's, and the one when the deadline passed
    assert run.json["refreshes"] == 3, run.json
    events = run.json["events"]
    assert (events["received"], events["duplicates"], events["forged"], events["unrelated"]) == (1, 1, 3, 1)
    assert hooks.live() == []


def real_watch(folder: Path, state: Path) -> subprocess.Popen:
    """A real `babe watch --events` process on this test's local Prolific."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BABE_", "PROLIFIC"))}
    env.update(BABE_PLUGINS="prolific", BABE_PROLIFIC_STATE=str(state), BABE_PROLIFIC_SETTLE_SECONDS="0", NO_COLOR="1")
    return subprocess.Popen(
        [sys.executable, "-c", "from babe_tasks.program import main; main()", "watch", "--events", "--interval", "1h"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def test_a_watch_stopped_by_sigterm_removes_its_subscriptions(babe, experiment, hooks, state):
    babe("create", "--assignments", "3", "--json")
    process = real_watch(experiment, state)
    try:
        hooks.confirmed(2)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 1, err  # interrupted: run it again to go on
    assert len(hooks.subscriptions()) == 2 and hooks.live() == []


def test_a_killed_watchs_subscriptions_are_taken_over_not_piled_up(babe, experiment, hooks, state):
    babe("create", "--assignments", "3", "--json")
    process = real_watch(experiment, state)
    try:
        left = hooks.confirmed(2)
    finally:
        process.send_signal(signal.SIGKILL)  # no chance to clean up
        process.communicate(timeout=30)
    assert len(hooks.live()) == 2

    def check_while_watching():
        taken = hooks.confirmed(2, besides={s["target_url"] for s in left})
        assert {s["id"] for s in taken} == {s["id"] for s in left}  # the same two, pointed at the new watch
        advance_clock(state, 3600)

    thread = in_background(check_while_watching)
    run = babe("watch", "--events", "--interval", "10m", "--until", "30m", "--json")
    joined(thread)

    assert run.code == 0, run
    assert len(hooks.subscriptions()) == 2  # nothing new was made
    assert hooks.live() == []  # and the watch removed them at the end
    assert babe("watch", "--events", "--until", "0s", "--json").code == 0
    assert len(hooks.subscriptions()) == 4 and hooks.live() == []  # a clean start makes two, removes two


def test_events_need_a_public_https_url_on_live_and_a_platform_that_sends_them(babe, experiment, configure, monkeypatch):
    monkeypatch.setenv("PROLIFIC_TOKEN", "a-token-never-used")
    refused = babe("watch", "--events", "--target", "live")
    assert refused.code == 2 and "--events-url" in refused.err
    plain = babe("watch", "--events-url", "http://lab.example.org/hooks", "--target", "live")
    assert plain.code == 2 and "https" in plain.err
    both = babe("watch", "--events", "--queue", "https://sqs.us-east-1.amazonaws.com/123456789012/q")
    assert both.code == 2 and "--queue" in both.err
    bad = babe("watch", "--events", "--listen", "nowhere")
    assert bad.code == 2 and "host:port" in bad.err


def test_lost_answers_while_subscribing_leave_nothing_behind(babe, experiment, hooks, monkeypatch):
    """Answers lost after Prolific did the work (a subscription made, its X-Hook-Secret gone): whatever
    each faulty watch manages, the next clean one leaves no subscription enabled."""
    babe("create", "--assignments", "3", "--json")
    outcomes = []
    for seed in range(1, 6):
        monkeypatch.setenv("BABE_PROLIFIC_FAULTS", f"lost=0.6,seed={seed}")
        outcomes.append(babe("watch", "--events", "--until", "0s", "--json").code)
    monkeypatch.delenv("BABE_PROLIFIC_FAULTS")
    assert set(outcomes) <= {0, 4}, outcomes  # done, or Prolific "did not answer" (exit 4)
    clean = babe("watch", "--events", "--until", "0s", "--json")
    assert clean.code == 0, clean
    assert hooks.live() == []
