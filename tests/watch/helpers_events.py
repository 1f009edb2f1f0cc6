"""Helpers for the notification tests: a HIT type with one HIT, and its notification settings."""

from __future__ import annotations

QUEUE_NAME = "babe-events"
QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/'
    'ExternalQuestion.xsd"><ExternalURL>https://example.org/experiment/</ExternalURL>'
    "<FrameHeight>0</FrameHeight></ExternalQuestion>"
)


def hit_type_of(mturk, **overrides) -> str:
    """A HIT type with one HIT of 3 assignments on the local MTurk; its HITTypeId."""
    params = {
        "Title": "A short language study",
        "Description": "Read sentences and rate them.",
        "Reward": "0.50",
        "AssignmentDurationInSeconds": 3600,
        "AutoApprovalDelayInSeconds": 86400,
        **overrides,
    }
    hit_type = mturk.create_hit_type(**params)["HITTypeId"]
    mturk.create_hit_with_hit_type(HITTypeId=hit_type, MaxAssignments=3, LifetimeInSeconds=86400, Question=QUESTION)
    return hit_type


def spec(destination: str, transport: str = "SQS", events: list[str] | None = None) -> dict:
    return {
        "Destination": destination,
        "Transport": transport,
        "Version": "2014-08-15",
        "EventTypes": events or ["AssignmentSubmitted"],
    }


def notify(mturk, hit_type: str, destination: str, events: list[str], transport: str = "SQS") -> None:
    mturk.update_notification_settings(HITTypeId=hit_type, Notification=spec(destination, transport, events), Active=True)
