"""Driving a client's sandbox by hand: a customer writes, shows what they received, follows a link.

Integration developers rehearse the two-way side with these (`/v1/sandbox/...`, see
`hub.api.sandbox`). A customer's message takes the same inbound path as a real reply
(`EventIngest.apply`: linking, thread, classification, actions, webhook) and is committed
before the answer; it is addressed to the calling client only (`InboundMessage.client_id`).

    who                 exactly one of phone / vk_user_id / ok_user_id / telegram_chat_id, naming a
                        sandbox customer (configured, or any +7 999 1xx xx xx number)
    missing_identity, ambiguous_identity, bad_phone, not_sandbox_customer     -> 422
    channel_unavailable (the customer has no account there)                   -> 409
    client_is_live (the client sends through its own connections)             -> 409
    not_sandbox_link (not a sandbox:// link) -> 422; link_not_found (not this client's) -> 404
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bots.base import CHANNELS, Channel, InboundMessage
from bots.sandbox import SandboxNetwork, address, next_stage
from bots.sandbox_customers import SandboxCustomer
from hub.bootstrap import Hub
from hub.clock import iso
from hub.contacts.linking import LINKABLE, hash_token, token_refusal
from hub.contacts.phones import mask_phone, normalize_phone
from hub.errors import RequestError
from hub.ids import new_id
from storage.models import SandboxMessage

log = logging.getLogger("notifyhub.sandbox")
#: Request field naming the customer -> the channel it is an id on.
WHO = {"phone": "sms", "vk_user_id": "vk", "ok_user_id": "ok", "telegram_chat_id": "telegram"}
FOLLOW_TEXT = "Здравствуйте!"


def customer_of(network: SandboxNetwork, given: Mapping[str, Any]) -> SandboxCustomer:
    """The sandbox customer named by exactly one of the `WHO` fields."""
    named = [(field, given[field]) for field in WHO if given.get(field) is not None]
    if not named:
        raise RequestError(
            "missing_identity", "name the customer: phone, vk_user_id, ok_user_id or telegram_chat_id"
        )
    if len(named) > 1:
        raise RequestError(
            "ambiguous_identity",
            "name the customer by one of phone, vk_user_id, ok_user_id, telegram_chat_id",
        )
    field, value = named[0]
    value = normalize_phone(str(value)) if field == "phone" else str(value)
    found = network.customers.by_identity(WHO[field], value)
    if found is None:
        shown = mask_phone(value) if field == "phone" else value
        raise RequestError(
            "not_sandbox_customer",
            f"{field} {shown} is not a sandbox customer: use a configured one or any +7 999 1xx xx xx",
        )
    return found


async def refuse_live(hub: Hub, client_id: str) -> None:
    """A client with connections of its own has no sandbox: made-up customers stay out of real threads."""
    async with hub.uow() as uow:
        live = await uow.connections.has_live(client_id)
    if live:
        raise RequestError(
            "client_is_live",
            "this client sends through its own connections; the sandbox is for clients without any",
            status=409,
        )


async def write(
    hub: Hub, client_id: str, customer: SandboxCustomer, channel: Channel, text: str, ref: str | None = None
) -> dict[str, Any]:
    """The customer writes `text` to the client on `channel`; committed and filed before this returns."""
    sender = address(customer, channel)
    if sender is None:
        raise RequestError(
            "channel_unavailable", f"this sandbox customer cannot write on {channel}", status=409
        )
    now = hub.clock.now()
    message = InboundMessage(
        channel=channel,
        sender=sender,
        text=text,
        external_id=f"sbx-in-{new_id('sbx')}",
        at=datetime.fromtimestamp(now, UTC),
        phone=customer.phone,
        ref=ref,
        client_id=client_id,
    )
    await hub.ingest.apply([message])
    async with hub.uow() as uow:
        stored = await uow.threads.by_external(client_id, channel, message.external_id)
    if stored is None:  # the reply handler files every message addressed to a client; never expected
        raise RequestError("not_filed", "the message was not filed; nothing was changed", status=409)
    log.info("sandbox customer %s wrote on %s to client %s", mask_phone(customer.phone), channel, client_id)
    return {
        "message_id": stored.id,
        "thread_id": stored.thread_id,
        "contact_id": stored.contact_id,
        "notification_id": stored.notification_id,
        "channel": channel,
        "from": sender,
        "text": stored.text,
        "label": stored.label,
        "rating": stored.rating,
        "at": iso(stored.at),
    }


async def follow(hub: Hub, client_id: str, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A customer follows one of the client's sandbox deep links and writes (identity linking)."""
    channel, token = _parse_link(url)
    async with hub.uow() as uow:
        row = (await uow.links.by_hashes([hash_token(token)])).get(hash_token(token))
        if row is None or row.client_id != client_id or row.connection_id is not None:
            raise RequestError("link_not_found", "this is not one of this client's sandbox links", status=404)
        contact = (await uow.contacts.get_many([row.contact_id])).get(row.contact_id)
    assert hub.network is not None
    if any(body.get(field) is not None for field in WHO):
        customer = customer_of(hub.network, body)
    else:  # by default the phone's own sandbox customer follows it
        phone = contact.phone if contact is not None else None
        found = hub.network.customers.by_phone(phone) if phone else None
        if found is None:
            raise RequestError(
                "not_sandbox_customer",
                "the link's phone is not a sandbox customer: name who follows it (phone, vk_user_id, ...)",
            )
        customer = found
    text = body.get("text") or (f"/start {token}" if channel == "telegram" else FOLLOW_TEXT)
    sender = address(customer, channel)
    at = datetime.fromtimestamp(hub.clock.now(), UTC)
    probe = InboundMessage(channel, sender or "", text, "", at, ref=token, client_id=client_id)
    refused = token_refusal(row, probe, None, hub.clock.now())
    answer = await write(hub, client_id, customer, channel, text, ref=token)
    return {**answer, "linked": refused is None, "link_refused": refused}


def _parse_link(url: str) -> tuple[Channel, str]:
    """(channel, token) of a `sandbox://<channel>?start=<token>` link."""
    parts = urlsplit(url)
    tokens = parse_qs(parts.query).get("start", [])
    if parts.scheme != "sandbox" or parts.netloc not in LINKABLE or len(tokens) != 1:
        raise RequestError(
            "not_sandbox_link",
            "give a sandbox://<channel>?start=<token> link from POST /v1/contacts/{phone}/links",
        )
    channel: Channel = parts.netloc  # type: ignore[assignment]
    return channel, tokens[0]


async def received(
    hub: Hub, client_id: str, customer: SandboxCustomer, after: int, limit: int
) -> dict[str, Any]:
    """What the customer received from this client, oldest first (a page after `after`)."""
    addresses: list[tuple[str, str]] = [(ch, a) for ch in CHANNELS if (a := _inbox(customer, ch))]
    async with hub.uow() as uow:
        rows = await uow.sandbox.received_by(client_id, addresses, after, limit)
    messages = [message_view(row) for row in rows]
    return {
        "phone": customer.phone,
        "messages": messages,
        "next_after": rows[-1].id if len(rows) == limit else None,
    }


def _inbox(customer: SandboxCustomer, channel: str) -> str | None:
    """Where the customer receives on a channel (SMS: the phone, even when it never arrives)."""
    return customer.phone if channel == "sms" else address(customer, channel)


def message_view(row: SandboxMessage) -> dict[str, Any]:
    """One received message as the network has reported it so far (pure)."""
    data = {c: getattr(row, c) for c in ("deliver_at", "read_at", "fail_at", "reply_at")}
    reported: dict[str, float] = {}
    for stage in range(row.stage):
        step = next_stage(data, stage)
        if step is not None:
            reported[step[0]] = step[1]
    status = "sent"
    for kind in ("delivered", "failed", "read"):
        if kind in reported:
            status = kind
    if row.withdrawn:
        status = "withdrawn"
    reply = {"text": row.reply_text, "at": iso(reported["reply"])} if "reply" in reported else None
    return {
        "id": f"sbx{row.id}",
        "notification_id": row.leg_key.rpartition(".")[0] or None,
        "channel": row.channel,
        "to": row.recipient,
        "text": row.text,
        "sent_at": iso(row.sent_at),
        "status": status,
        "delivered_at": iso(reported.get("delivered")),
        "read_at": iso(reported.get("read")),
        "failed_at": iso(reported.get("failed")),
        "reply": reply,
    }
