"""Fixtures for the lifecycle tests: an experiment folder and the real `babe` program, in-process."""

from __future__ import annotations


import pytest


URL = "https://example.org/experiment/"


@pytest.fixture
def created(babe, experiment):
    """20 assignments posted on the local MTurk (3 HITs of 7, 7, 6); the create's JSON document."""
    run = babe("create", "--assignments", "20", "--json")
    assert run.code == 0, run
    return run.json


def hit_ids(mturk) -> list[str]:
    """Every HIT on the local MTurk, through boto3's own paginator."""
    return [h["HITId"] for page in mturk.get_paginator("list_hits").paginate() for h in page["HITs"]]


