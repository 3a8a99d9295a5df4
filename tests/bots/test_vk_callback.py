"""parse_vk_callback: confirmation, secret, malformed bodies, and event mapping (pure, no loop)."""

from __future__ import annotations

import json

from bots.base import InboundMessage
from bots.events import PermissionEvent
from bots.vk import VkConfig, VkConfirmation, VkEvents, VkRejection, parse_vk_callback
from tests.fakes.vk_api import message_new

CONFIG = VkConfig(group_id=1, token="t", secret="s3cret", confirmation="abc123", mode="callback")


def test_confirmation_answers_configured_string() -> None:
    result = parse_vk_callback({"type": "confirmation", "group_id": 1}, CONFIG)
    assert result == VkConfirmation("abc123")


def test_confirmation_for_other_group_rejected() -> None:
    result = parse_vk_callback({"type": "confirmation", "group_id": 2}, CONFIG)
    assert isinstance(result, VkRejection) and result.status == 403


def test_wrong_secret_rejected() -> None:
    body = {**message_new("e1", from_id=5, text="hi", message_id=1), "secret": "forged"}
    result = parse_vk_callback(json.dumps(body).encode(), CONFIG)
    assert isinstance(result, VkRejection) and result.status == 403


def test_missing_secret_rejected() -> None:
    result = parse_vk_callback(message_new("e1", from_id=5, text="hi", message_id=1), CONFIG)
    assert isinstance(result, VkRejection)


def test_malformed_json_rejected_400() -> None:
    for body in (b"{not json", b"[1, 2]", "null"):
        result = parse_vk_callback(body, CONFIG)
        assert isinstance(result, VkRejection) and result.status == 400


def test_message_new_becomes_inbound_with_ref() -> None:
    body = {**message_new("e1", from_id=5, text="Да", message_id=77, ref="tok1"), "secret": "s3cret"}
    result = parse_vk_callback(body, CONFIG, connection_id=9)
    assert isinstance(result, VkEvents) and result.event_id == "e1"
    (event,) = result.events
    assert isinstance(event, InboundMessage)
    assert (event.sender, event.text, event.external_id, event.ref, event.connection_id) == (
        "5",
        "Да",
        "77",
        "tok1",
        9,
    )


def test_message_deny_and_reply() -> None:
    deny = {
        "type": "message_deny",
        "group_id": 1,
        "event_id": "e2",
        "object": {"user_id": 5},
        "secret": "s3cret",
    }
    result = parse_vk_callback(deny, CONFIG)
    assert isinstance(result, VkEvents)
    (event,) = result.events
    assert isinstance(event, PermissionEvent) and not event.allowed and event.external_id == "e2"
    reply = message_new("e3", from_id=-1, text="our own", message_id=8)
    result = parse_vk_callback({**reply, "type": "message_reply", "secret": "s3cret"}, CONFIG)
    assert result == VkEvents([], event_id="e3", skipped=0)


def test_malformed_event_skipped_not_raised() -> None:
    body = {
        "type": "message_new",
        "group_id": 1,
        "event_id": "e4",
        "object": {"message": None},
        "secret": "s3cret",
    }
    result = parse_vk_callback(body, CONFIG)
    assert result == VkEvents([], event_id="e4", skipped=1)
