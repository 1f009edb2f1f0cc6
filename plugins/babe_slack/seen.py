"""What the slack plugin last told the channel about each HIT, so `status` announces each change once.

`status` runs often (`status --watch` every 30 s, cron jobs, two people at once); a HIT that filled
up must be announced the first time a status sees it full, and never again. The plugin keeps one
small table of its own, `.babe/slack.sqlite` in the experiment folder (the ledger belongs to
babe-tasks; a plugin does not write there), kept through `babe_tasks.pluginstate`: HIT → last
announced state.

A HIT's state is `open`, `filled` (every assignment submitted, approved or rejected) or `expired`
(closed — expired, or deleted — before filling). Claiming works like this: the table is locked
(`BEGIN IMMEDIATE`), the changes computed, the message posted, and the new states committed only
if the post succeeded. So two processes never both announce the same change, and a change whose
post failed is announced by the next `status` instead of being lost. The lock is held at most the
webhook timeout (≤ 5 s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from babe_tasks.pluginstate import PluginStates

FILE = "slack.sqlite"
#: States worth a message when a HIT reaches them.
ANNOUNCED = ("filled", "expired")


def state_of(hit: Any) -> str:
    """A status HIT (`babe_tasks.steps.status.HitStatus`) → open, filled or expired."""
    arrived = hit.submitted + hit.approved + hit.rejected
    if hit.max_assignments and arrived >= hit.max_assignments:
        return "filled"
    if not hit.open:
        return "expired"
    return "open"


def path(settings: Any) -> Path:
    return Path(settings.state_dir) / FILE


def _states(settings: Any) -> PluginStates:
    """The announced states per target and HIT (the table layout of the plugin's earlier versions)."""
    return PluginStates(path(settings), "hit_states", scope="target", key="hit_id", value="state")


def announce_changes(settings: Any, hits: Iterable[Any], announce: Callable[[list[tuple[Any, str]]], None]) -> list[tuple[Any, str]]:
    """Record every HIT's state; call `announce(changes)` with those newly filled or expired.

    The states are committed only when `announce` returns; if it raises, nothing is recorded and
    the exception propagates (the next status tries again). Returns the changes announced.
    """
    hits = list(hits)
    with _states(settings).claim(settings.target) as known:
        states = [(hit, state_of(hit)) for hit in hits]
        changes = [(hit, state) for hit, state in states if state in ANNOUNCED and known.get(hit.hit_id) != state]
        if changes:
            announce(changes)
        known.update((hit.hit_id, state) for hit, state in states)
    return changes


def mark(settings: Any, hit_ids: Iterable[str], state: str) -> None:
    """Record states another message already told (e.g. `expire` announced these HITs expired)."""
    with _states(settings).claim(settings.target) as known:
        known.update((hit_id, state) for hit_id in hit_ids)
