"""Keeping a lab's earlier participants out through a Prolific participant group (`exclusion: group`).

With `exclusion: group` (docs/prolific.md, "Keeping earlier participants out") every study of the
lab does two things with one participant group of its Prolific workspace:

- it **blocks** the group: the study's `participant_group_blocklist` filter names it, so nobody who
  took part in any earlier study of the lab can start (when the plan keeps participants unique;
  `--allow-repeat-workers` drops the filter);
- it **feeds** the group: its completion code carries the action `ADD_TO_PARTICIPANT_GROUP`, so
  Prolific itself adds each participant who submits with the code, at the moment they submit —
  nothing has to run afterwards, and a crash of babe-tasks loses nobody.

The group is `participant_group` (a name, or the id the Prolific app shows), default
`babe-tasks participants`. It is found in the workspace (`workspace_id`, else the account's only
workspace) by id or by name, created once when absent, and its id kept in the ledger (`ledger.ParticipantGroupRecords`,
per Prolific the requests go to), so later runs ask Prolific only
whether the kept group still exists. Prolific has no request tokens: a create whose answer was lost
is followed by a search by name, never by a second create.

The experiment's earlier studies stay in the previous-studies blocklist beside the group
(`platform._filters`): studies posted before the lab switched to the group fed nobody into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from babe_tasks.errors import UsageError
from babe_tasks.ledger import Ledger, ParticipantGroupRecords

from .client import ProlificError, Uncertain
from .config import SECTION, ProlificConfig

#: The study filter that keeps a group's members out (Prolific's eligibility filter ids).
BLOCKLIST_FILTER = "participant_group_blocklist"
ADD_ACTION = "ADD_TO_PARTICIPANT_GROUP"
#: What a Prolific id looks like (24 hex digits): `participant_group` is tried as an id first.
_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
DESCRIPTION = (
    "Participants of the lab's studies posted by babe-tasks: each study adds those who submit with its completion "
    "code and keeps the group's members out."
)

class ParticipantGroup:
    """The configured group on one Prolific: found, created once, its id kept (one per platform object)."""

    def __init__(self, config: ProlificConfig, client: Callable[[], Any], settings: Any, location: str, me: Callable[[], dict]):
        self.config = config
        self.name = config.group_name
        self._client = client
        self._settings = settings
        self._location = location
        self._me = me
        self._id: str | None = None

    @property
    def enabled(self) -> bool:
        return self.name is not None

    # -- what a study gets -------------------------------------------------------------------------
    def filters(self, plan, *, ensure: bool) -> list[dict]:
        """The study's filter blocking the group (none without the group or with repeat participants).

        `ensure` False (the plan's check, before the lab confirms): only finds the group — nothing
        is created before the lab has said yes — and answers no filter.
        """
        if not self.enabled:
            return []
        if not ensure:
            self.workspace_id()  # an account with several workspaces and none chosen: refused now
            return []
        group_id = self.ensure()
        return [{"filter_id": BLOCKLIST_FILTER, "selected_values": [group_id]}] if plan.unique_workers else []

    def code_actions(self) -> list[dict]:
        """The completion code's actions feeding the group (none without the group)."""
        if not self.enabled:
            return []
        return [{"action": ADD_ACTION, "participant_group": self.ensure()}]

    # -- finding and creating ----------------------------------------------------------------------
    def ensure(self) -> str:
        """The group's id: the kept one if Prolific still has it, else found by id or name, else created."""
        if self._id is not None:
            return self._id
        assert self.name is not None
        with Ledger.of(self._settings) as ledger, ParticipantGroupRecords(ledger) as kept:
            found = kept.get(self._location, self.name)
            group_id = found[0] if found else None
            moved = found is not None and self.config.workspace_id not in (None, found[1])  # another workspace chosen
            if group_id is None or moved or not self._alive(group_id):
                workspace = self.workspace_id()
                group_id = self._find(workspace) or self._create(workspace)
                kept.keep(self._location, self.name, workspace, group_id)
        self._id = group_id
        return group_id

    def _alive(self, group_id: str) -> bool:
        try:
            group = self._client().get(f"participant-groups/{group_id}/") or {}
        except ProlificError as exc:
            if exc.status == 404:
                return False
            raise
        return not group.get("is_deleted")

    def _find(self, workspace: str) -> str | None:
        """The group named (or with the id) `participant_group` in the workspace, not deleted."""
        client = self._client()
        if _OBJECT_ID.match(self.name or "") and self._alive(self.name or ""):
            return self.name
        answer = client.get("participant-groups/", workspace_id=workspace) or {}
        for group in answer.get("results", []) if isinstance(answer, dict) else []:
            if group.get("name") == self.name and not group.get("is_deleted"):
                return str(group["id"])
        return None

    def _create(self, workspace: str) -> str:
        body = {"workspace_id": workspace, "name": self.name, "description": DESCRIPTION}
        try:
            group = self._client().post("participant-groups/", body, idempotent=False) or {}
        except Uncertain:
            found = self._find(workspace)  # the create may have been done: never make a second group
            if found is None:
                raise
            return found
        if not group.get("id"):
            raise ProlificError("POST /participant-groups/ answered no group id", 200, "NoGroupId")
        return str(group["id"])

    def workspace_id(self) -> str:
        """The workspace the group lives in: `workspace_id`, else the account's one workspace."""
        if self.config.workspace_id:
            return self.config.workspace_id
        answer = self._client().get("workspaces/") or {}
        workspaces = [w for w in (answer.get("results", []) if isinstance(answer, dict) else []) if w.get("id")]
        if len(workspaces) == 1:
            return str(workspaces[0]["id"])
        current = self._me().get("current_workspace_id")  # not in the spec; real accounts carry it
        if current and any(str(w["id"]) == current for w in workspaces):
            return str(current)
        titles = ", ".join(f"{w.get('title') or '?'} ({w['id']})" for w in workspaces) or "none"
        raise UsageError(
            f"exclusion: group needs the workspace the participant group lives in, and the account has "
            f"{len(workspaces)} ({titles}): set {SECTION}.workspace_id"
        )
