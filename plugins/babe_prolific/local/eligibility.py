"""Who may take a study, as far as participant groups, collections and the older eligibility
requirements decide — the ways a lab keeps its earlier participants out of a later study.

- `participant_group_blocklist` filters: a member of any listed group is refused;
  `participant_group_allowlist` filters: only members of a listed group may come, and several
  allowlist filters must all be met (the spec's "either group" versus "both groups" examples).
- A study in a mutually exclusive collection refuses anyone with a submission in another study of
  that collection.
- The deprecated `eligibility_requirements` (still accepted by the spec) that name people:
  `PreviousStudiesEligibilityRequirement` (refuse those who took part in a listed study, or only
  those who entered one of its `completion_codes`), `PreviousStudiesAllowlistEligibilityRequirement`
  (the reverse), `CustomBlacklistEligibilityRequirement` / `CustomWhitelistEligibilityRequirement`
  (`black_list` / `white_list` of participant or submission ids). Demographic requirements are not
  modelled: simulated participants have no demographics, so those never refuse anyone.

Called from the participant simulation (`participants._eligible`) inside its write transaction.
"""

from __future__ import annotations

import sqlite3

from . import tables


def refusal(tx: sqlite3.Connection, data: dict, participant_id: str, study_id: str | None) -> str | None:
    """Why `participant_id` may not take the study, or None."""
    if not tables.ready(tx):
        tables.create(tx)
    for item in data.get("filters") or []:
        if not isinstance(item, dict):
            continue
        listed = [g for g in item.get("selected_values") or [] if isinstance(g, str)]
        if item.get("filter_id") == "participant_group_blocklist":
            if any(_member(tx, g, participant_id) for g in listed):
                return "blocklisted (in a blocked participant group)"
        elif item.get("filter_id") == "participant_group_allowlist":
            if not any(_member(tx, g, participant_id) for g in listed):
                return "not in an allowed participant group"
    if study_id is not None:
        reason = _collection(tx, study_id, participant_id)
        if reason:
            return reason
    for requirement in data.get("eligibility_requirements") or []:
        reason = _requirement(tx, requirement, participant_id) if isinstance(requirement, dict) else None
        if reason:
            return reason
    return None


def _member(tx: sqlite3.Connection, group_id: str, participant_id: str) -> bool:
    """In a live group (a deleted group has nobody, as far as filters go)."""
    return tx.execute(
        "SELECT 1 FROM participant_group_members m JOIN participant_groups g ON g.id = m.group_id"
        " WHERE m.group_id = ? AND m.participant_id = ? AND g.deleted = 0",
        (group_id, participant_id),
    ).fetchone() is not None


def _collection(tx: sqlite3.Connection, study_id: str, participant_id: str) -> str | None:
    row = tx.execute(
        "SELECT 1 FROM study_collection_members mine JOIN study_collection_members other"
        " ON other.collection_id = mine.collection_id AND other.study_id != mine.study_id"
        " JOIN submissions s ON s.study_id = other.study_id"
        " WHERE mine.study_id = ? AND s.participant_id = ? LIMIT 1",
        (study_id, participant_id),
    ).fetchone()
    return "took part in another study of its mutually exclusive collection" if row else None


def _took_part(tx: sqlite3.Connection, participant_id: str, study_id: str, codes: list | None) -> bool:
    sql, args = "SELECT 1 FROM submissions WHERE participant_id = ? AND study_id = ?", [participant_id, study_id]
    if codes:
        sql += f" AND study_code IN ({','.join('?' * len(codes))})"
        args += [str(code) for code in codes]
    return tx.execute(sql + " LIMIT 1", args).fetchone() is not None


def _people(tx: sqlite3.Connection, ids: list) -> set[str]:
    """Participant ids, with submission ids turned into their participants (as Prolific does)."""
    people = {str(i) for i in ids}
    for value in list(people):
        row = tx.execute("SELECT participant_id FROM submissions WHERE id = ?", (value,)).fetchone()
        if row:
            people.add(row[0])
    return people


def _requirement(tx: sqlite3.Connection, requirement: dict, participant_id: str) -> str | None:
    kind = str(requirement.get("_cls", "")).rsplit(".", 1)[-1]
    attributes = [a for a in requirement.get("attributes") or [] if isinstance(a, dict)]
    if kind == "PreviousStudiesEligibilityRequirement":
        for a in attributes:
            if a.get("value", True) and a.get("id") and _took_part(tx, participant_id, a["id"], a.get("completion_codes")):
                return "excluded by a previous-studies requirement"
    elif kind == "PreviousStudiesAllowlistEligibilityRequirement":
        wanted = [a for a in attributes if a.get("value", True) and a.get("id")]
        if wanted and not any(_took_part(tx, participant_id, a["id"], a.get("completion_codes")) for a in wanted):
            return "not in the previous studies this study allows"
    elif kind in ("CustomBlacklistEligibilityRequirement", "CustomBlocklistEligibilityRequirement"):
        for a in attributes:
            if a.get("name") in ("black_list", "block_list") and participant_id in _people(tx, a.get("value") or []):
                return "on the study's custom blocklist"
    elif kind in ("CustomWhitelistEligibilityRequirement", "CustomAllowlistEligibilityRequirement"):
        lists = [a.get("value") or [] for a in attributes if a.get("name") in ("white_list", "allow_list")]
        if lists and not any(participant_id in _people(tx, ids) for ids in lists):
            return "not on the study's custom allowlist"
    return None
