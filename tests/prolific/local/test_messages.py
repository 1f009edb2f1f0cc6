"""Messages through both ways in: to one participant, to many, to a group; reading them back, unread ones."""

from __future__ import annotations

from datetime import UTC, datetime

from babe_prolific.local import advance_clock
from babe_prolific.local.messages import channel_id, receive

from .conftest import SPEC_AUTH, error_of


def _participants(api, count=2) -> tuple[str, list[str]]:
    study = api.published(total_available_places=count)
    people = api.simulate(study["id"], count, seed=3)
    return study["id"], [p["participant_id"] for p in people]


def _since(api, seconds_back=60) -> str:
    now = advance_clock(api.state, 0)["now"]  # the local clock, not the machine's
    return datetime.fromtimestamp(now - seconds_back, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_send_to_one_and_read_the_conversation(api):
    study_id, (first, _) = _participants(api)
    sent = api.post("messages/", {"recipient_id": first, "body": "Thank you for taking part!", "study_id": study_id})
    assert sent.status_code == 204 and sent.content == b""
    me = api.get("users/me/").json()["id"]
    messages = api.get("messages/", params={"user_id": first}).json()["results"]
    assert len(messages) == 1
    message = messages[0]
    assert message["sender_id"] == me and message["body"] == "Thank you for taking part!"
    assert message["data"]["study_id"] == study_id and message["type"] == "message"
    assert message["channel_id"] == channel_id(me, first) and len(message["channel_id"]) == 64
    assert message["sent_at"].endswith("Z")
    assert api.get("messages/", params={"created_after": _since(api)}).json()["results"] == messages
    assert api.get("messages/unread/").json()["results"] == []  # what we send is never unread


def test_bulk_and_group_messages(api):
    study_id, people = _participants(api, 3)
    assert api.post("messages/bulk/", {"ids": people[:2], "body": "Your bonus is on its way.", "study_id": study_id}).status_code == 204
    group = api.post("participant-groups/", {"workspace_id": api.get("users/me/").json()["current_workspace_id"],
                                             "name": "follow-up", "participant_ids": people[1:]}).json()
    sent = api.post("messages/participant-group/", {"participant_group_id": group["id"], "body": "Part 2 is open.", "study_id": study_id})
    assert sent.status_code == 204
    received = {pid: [m["body"] for m in api.get("messages/", params={"user_id": pid}).json()["results"]] for pid in people}
    assert received == {people[0]: ["Your bonus is on its way."], people[1]: ["Your bonus is on its way.", "Part 2 is open."],
                        people[2]: ["Part 2 is open."]}


def test_unread_messages_are_the_participants_until_read(api):
    study_id, (first, second) = _participants(api)
    receive(api.state, first, "Was my submission received?", study_id=study_id, category="technical-issues")
    receive(api.state, second, "Thanks!", study_id=study_id, category="feedback")
    unread = api.get("messages/unread/").json()["results"]
    assert [(m["sender_id"], m["data"]["category"]) for m in unread] == [(first, "technical-issues"), (second, "feedback")]
    assert len(api.get("messages/unread/").json()["results"]) == 2  # listing does not read them
    api.get("messages/", params={"user_id": first})  # opening the conversation does
    assert [m["sender_id"] for m in api.get("messages/unread/").json()["results"]] == [second]


def test_refusals(api):
    study_id, (first, _) = _participants(api)
    assert set(error_of(api.post("messages/", {"body": "hi"}))["detail"]) >= {"recipient_id", "study_id"}
    assert "recipient_id" in error_of(api.post("messages/", {"recipient_id": "f" * 24, "body": "hi", "study_id": study_id}))["detail"]
    assert "study_id" in error_of(api.post("messages/", {"recipient_id": first, "body": "hi", "study_id": "0" * 24}))["detail"]
    assert "body" in error_of(api.post("messages/", {"recipient_id": first, "body": "  ", "study_id": study_id}))["detail"]
    assert "ids" in error_of(api.post("messages/bulk/", {"ids": [first, "f" * 24], "body": "hi", "study_id": study_id}))["detail"]
    assert api.post("messages/participant-group/", {"participant_group_id": "0" * 24, "body": "hi"}).status_code == 400
    assert api.get("messages/").status_code == 400  # user_id or created_after
    assert "created_after" in error_of(api.get("messages/", params={"created_after": _since(api, 31 * 86400)}))["detail"]
    assert api.get("messages/", params={"created_after": "yesterday"}).status_code == 400
    assert api.get("messages/", params={"user_id": first}).json()["results"] == []  # nothing refused was stored


def test_pyrolific_reads_every_answer(local, spec_client):
    """A client generated from the spec (nobody here wrote it) sends and reads messages."""
    from pyrolific.api.messages import get_messages, get_unread_messages, post_api_v1_messages_bulk, send_message
    from pyrolific.models import SendBulkMessage, SendMessage

    client, token = spec_client, SPEC_AUTH
    study_id, people = _participants(local)
    sent = send_message.sync_detailed(client=client, body=SendMessage(recipient_id=people[0], body="Thanks", study_id=study_id), authorization=token)
    assert sent.status_code == 204
    bulk = post_api_v1_messages_bulk.sync_detailed(client=client, body=SendBulkMessage(ids=people, body="Bonus", study_id=study_id), authorization=token)
    assert bulk.status_code == 204
    thread = get_messages.sync_detailed(client=client, user_id=people[0], authorization=token).parsed.results
    assert [m.body for m in thread] == ["Thanks", "Bonus"] and thread[0].channel_id
    receive(local.state, people[1], "Got it")
    assert [m.body for m in get_unread_messages.sync_detailed(client=client, authorization=token).parsed.results] == ["Got it"]
