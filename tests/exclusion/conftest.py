"""Helpers for the exclusion tests (the standard `experiment` folder is tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path

from babe_tasks.testing.experiment import DEFAULT_SETTINGS, ExperimentFolder

WORKER_TYPE_PREFIX = "babe-tasks worker of "


def write_config(folder: Path, experiment: str | None = None) -> None:
    ExperimentFolder(folder, {**DEFAULT_SETTINGS, **({"experiment": experiment} if experiment else {})})


def own_types(mturk) -> dict[str, str]:
    """The caller's qualification types: name → id."""
    found = {}
    for page in mturk.get_paginator("list_qualification_types").paginate(MustBeRequestable=False, MustBeOwnedByCaller=True):
        for qtype in page["QualificationTypes"]:
            found[qtype["Name"]] = qtype["QualificationTypeId"]
    return found


def all_hits(mturk) -> list[dict]:
    return [h for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


def requirements_of(mturk, hit_id: str) -> list[dict]:
    return mturk.get_hit(HITId=hit_id)["HIT"].get("QualificationRequirements", [])


def holders(mturk, type_id: str) -> dict[str, int]:
    """Workers granted a type → their value."""
    return {
        q["WorkerId"]: q.get("IntegerValue")
        for page in mturk.get_paginator("list_workers_with_qualification_type").paginate(QualificationTypeId=type_id)
        for q in page["Qualifications"]
    }
