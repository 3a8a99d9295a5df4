"""Identity linking decisions and import parsing, sans-IO: plain functions, no database, no event loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bots.base import InboundMessage
from hub.contacts.directory import link_replies
from hub.contacts.import_file import parse_import
from hub.contacts.linking import (
    LinkPlan,
    hash_token,
    link_targets,
    new_token,
    ownership_state,
    plan_link,
    token_of,
    token_refusal,
)
from hub.errors import RequestError

NOW = 1_800_000_000.0
DAY = 86400
AT = datetime.fromtimestamp(NOW, UTC)


def reply(
    text: str = "hi", *, ref: str | None = None, channel: str = "vk", connection: int | None = 3
) -> Any:
    return InboundMessage(channel, "5001", text, "m1", AT, connection_id=connection, ref=ref)  # type: ignore[arg-type]


@dataclass
class Token:
    client_id: str = "cli_a"
    channel: str = "vk"
    connection_id: int | None = 3
    expires_at: float = NOW + DAY
    used_at: float | None = None


@dataclass
class Ident:
    linked_at: float
    last_active_at: float | None = None


def test_tokens_are_random_url_safe_and_stored_hashed() -> None:
    token, digest = new_token()
    assert len(token) == 24 and token.replace("-", "").replace("_", "").isalnum()
    assert digest == hash_token(token) != token and len(digest) == 64
    assert new_token()[0] != token


def test_token_of_ref_or_typed_start() -> None:
    token = "A" * 24
    assert token_of(reply(ref=token)) == token
    assert token_of(reply(f"/start {token}")) == token
    assert token_of(reply("/start")) is None and token_of(reply("/start hello")) is None  # too short
    assert token_of(reply("hello " + token)) is None
    assert token_of(reply(ref="bad token with spaces")) is None


@pytest.mark.parametrize(
    ("token", "message", "source", "reason"),
    [
        (None, reply(), "cli_a", "unknown_token"),
        (Token(used_at=NOW - 5), reply(), "cli_a", "token_used"),
        (Token(expires_at=NOW), reply(), "cli_a", "token_expired"),
        (Token(channel="telegram"), reply(), "cli_a", "wrong_channel"),
        (Token(), reply(), "cli_b", "wrong_client"),
        (Token(connection_id=None), reply(), "cli_a", "wrong_client"),
        (Token(), reply(connection=None), None, "wrong_client"),
        (Token(), reply(), "cli_a", None),
        (Token(connection_id=None), reply(connection=None), None, None),
    ],
)
def test_token_refusals(token: Token | None, message: Any, source: str | None, reason: str | None) -> None:
    assert token_refusal(token, message, source, NOW) == reason


def test_plan_link_cases() -> None:
    assert plan_link("c1", None, False, None) == LinkPlan(None, None, None)  # new identity
    assert plan_link("c1", ("i1", "c1"), True, "i1") == LinkPlan("i1", None, None)  # refresh
    assert plan_link("c1", ("i1", "c2"), True, None) == LinkPlan("i1", "c2", None)  # conflict
    assert plan_link("c1", ("i1", "c2"), False, None) == LinkPlan("i1", None, None)  # a stranger's
    assert plan_link("c1", None, False, "i0") == LinkPlan(None, None, "i0")  # new account replaces
    assert plan_link("c1", ("i1", "c2"), True, "i0") == LinkPlan("i1", "c2", "i0")


def test_ownership_turns_suspicious_after_90_quiet_days() -> None:
    fresh = Ident(linked_at=NOW - 200 * DAY, last_active_at=NOW - 10 * DAY)
    stale = Ident(linked_at=NOW - 200 * DAY, last_active_at=NOW - 91 * DAY)
    assert ownership_state("verified", [fresh, stale], NOW) == "verified"
    assert ownership_state("verified", [stale], NOW) == "suspicious"
    assert ownership_state("verified", [Ident(linked_at=NOW - 91 * DAY)], NOW) == "suspicious"
    assert ownership_state("verified", [Ident(linked_at=NOW - 89 * DAY)], NOW) == "verified"
    assert ownership_state("verified", [], NOW) == "verified"  # no messenger: nothing to doubt
    assert ownership_state("changed", [fresh], NOW) == "changed"


def test_link_targets_from_connections_or_the_sandbox() -> None:
    conns = [
        (1, "vk", {"group_id": 77}),
        (2, "telegram", {}),
        (3, "sms", {}),
        (4, "telegram", {"username": "b0t_bot"}),
    ]
    targets = link_targets(conns, True, None)
    assert [(t.channel, t.template) for t in targets] == [
        ("vk", "https://vk.me/club77?ref={token}"),
        ("telegram", None),
        ("telegram", "https://t.me/b0t_bot?start={token}"),
    ]
    assert targets[1].reason and "username" in targets[1].reason
    assert [t.channel for t in link_targets([], True, {"telegram"})] == ["telegram"]
    assert link_targets([], False, None) == []


async def test_no_query_when_no_reply_carries_a_token_or_phone() -> None:
    class NoDatabase:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"queried {name}")

    plain = [reply("спасибо"), reply("/start"), reply("5", channel="telegram")]
    sms = InboundMessage("sms", "+79161110001", "/start " + "A" * 24, "s1", AT, 3, phone="+79161110001")
    await link_replies(NoDatabase(), [*plain, sms], NOW)  # type: ignore[arg-type]


def test_csv_semicolons_aliases_and_row_checks() -> None:
    data = (
        "\ufeffPhone;VK_user_id;telegram_chat_id;ok;last_active_at\n"
        "+79161110001;5001;;;1790000000\n"
        "+79161110002;5001;;;\n"
        "+79161110003;;;;2099-01-01T00:00:00\n"
        "+79161110004;;-100;ok user;\n"
        "+79161110005;;;;\n"
    ).encode()
    parsed = parse_import(data, "csv", NOW)
    assert [(r.line, r.phone, r.identities, r.last_active_at) for r in parsed.rows] == [
        (2, "+79161110001", {"vk": "5001"}, 1790000000.0),
        (6, "+79161110005", {}, None),
    ]
    assert [(e.line, e.code) for e in parsed.errors] == [
        (3, "duplicate_identity"),
        (4, "invalid_time"),
        (5, "invalid_ok"),
    ]


def test_whole_file_refusals() -> None:
    with pytest.raises(RequestError) as too_many:
        parse_import(b"phone\n+79161110001\n+79161110002\n", "csv", NOW, max_rows=1)
    assert too_many.value.code == "too_many_rows"
    with pytest.raises(RequestError) as twice:
        parse_import(b"phone,vk,vk\n", "csv", NOW)
    assert twice.value.code == "duplicate_column"
    parsed = parse_import(
        b'{"contacts": [{"phone": "+79161110001", "marketing_consent": "maybe"}]}', "json", NOW
    )
    assert [(e.index, e.code) for e in parsed.errors] == [(0, "invalid_consent")]
