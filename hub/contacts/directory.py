"""The phone -> messenger directory at work: issuing links, linking identities, ownership reports.

`link_replies` runs inside the reply handler's transaction before owners are resolved, so a
freshly linked identity is routed like any known one. It looks only at replies carrying a token
or a shared phone and costs no query when none does (the inbound hot path). The decisions are
`hub.contacts.linking`'s; this module only reads and writes.
"""

from __future__ import annotations

import logging
from typing import Any

from bots.base import ASK_PHONE, InboundMessage
from hub.clock import iso
from hub.config import Config
from hub.contacts.linking import (
    DEFAULT_TOKEN_DAYS,
    hash_token,
    identity_row,
    link_targets,
    link_view,
    new_token,
    ownership_state,
    plan_link,
    token_of,
    token_refusal,
    token_row,
)
from hub.contacts.phones import mask_phone, normalize_phone
from hub.contacts.places import with_place
from hub.conversations.outgoing import queue_message
from hub.errors import RequestError
from hub.ids import new_id
from hub.webhooks import events as webhooks
from hub.webhooks.events import Event
from storage.repos.contacts import contact_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.directory")
ASK_PHONE_TEXT = "Чтобы уведомления приходили сюда, поделитесь номером телефона: кнопка ниже."


async def contact_for(uow: UnitOfWork, client_id: str, phone: str, now: float) -> tuple[str, str]:
    """(contact id, stored ownership) of the client's contact with this phone, created if missing."""
    found = await uow.contacts.by_phone(client_id, phone)
    if found is None:
        await uow.contacts.add_many([with_place(contact_row(new_id("con"), client_id, phone, now))], [])
        found = await uow.contacts.by_phone(client_id, phone)  # ours, or a concurrent request's
    assert found is not None
    return found.id, found.ownership


async def issue_links(
    uow: UnitOfWork,
    client_id: str,
    phone: str,
    now: float,
    *,
    channels: set[str] | None = None,
    ttl_days: int = DEFAULT_TOKEN_DAYS,
    sandbox: bool = True,
) -> dict[str, Any]:
    """Mint one one-time token per linkable channel of the client and answer the deep links."""
    expires = now + ttl_days * 86400
    async with uow:
        live = [(c.id, c.channel, c.settings) for c in await uow.connections.live(client_id)]
        targets = link_targets(live, sandbox, channels)
        if not any(t.template for t in targets):
            raise RequestError(
                "no_link_channels",
                "the client has no VK or Telegram channel that can carry a link",
                status=409,
            )
        contact_id, stored = await contact_for(uow, client_id, phone, now)
        idents = (await uow.contacts.identities([contact_id])).get(contact_id, [])
        minted = [(t, new_token()) for t in targets if t.template]
        await uow.links.add_tokens(
            [token_row(t, digest, client_id, contact_id, now, expires) for t, (_, digest) in minted]
        )
        await uow.commit()
    log.info("issued %d links client=%s contact=%s", len(minted), client_id, contact_id)
    return {
        "contact_id": contact_id,
        "phone": phone,
        "ownership": ownership_state(stored, idents, now),
        "expires_at": iso(expires),
        "links": [link_view(t, token) for t, (token, _) in minted],
        "unavailable": [link_view(t, None) for t in targets if not t.template],
    }


async def report_ownership(
    uow: UnitOfWork, client_id: str, phone: str, state: str, now: float
) -> dict[str, Any]:
    """The client says the phone changed hands: important templates stop using its messengers."""
    async with uow:
        contact = await uow.contacts.by_phone(client_id, phone)
        if contact is None:
            raise RequestError("contact_not_found", "no contact with this phone", status=404)
        if contact.ownership != state:
            await uow.links.set_ownership(client_id, [contact.id], state)
            event = _ownership_event(client_id, contact.id, phone, contact.ownership, state, "client_report")
            await webhooks.emit(uow, [event], now)
        await uow.commit()
    log.info("ownership of contact %s reported %s (%s)", contact.id, state, mask_phone(phone))
    return {"contact_id": contact.id, "phone": phone, "ownership": state}


async def link_replies(uow: UnitOfWork, replies: list[InboundMessage], now: float) -> None:
    """Link the senders of replies that carry a link token or their own shared phone number."""
    todo = [(r, token_of(r)) for r in replies if r.channel != "sms"]
    todo = [(r, t) for r, t in todo if t or (r.phone and r.connection_id is not None)]
    if not todo:
        return
    tokens = await uow.links.by_hashes(hash_token(t) for _, t in todo if t)
    sources: dict[int, str | None] = {}
    for cid in {r.connection_id for r, _ in todo if r.connection_id is not None}:
        sources[cid] = await uow.connections.client_of(cid)
    events: list[Event] = []
    for reply, token in todo:
        source = sources.get(reply.connection_id) if reply.connection_id is not None else None
        if token is not None:
            row = tokens.get(hash_token(token))
            refusal = token_refusal(row, reply, source, now)
            if refusal is not None or row is None:
                log.info("link token from %s:%s refused: %s", reply.channel, reply.sender, refusal)
                continue
            if not await uow.links.use(row.id, reply.sender, now):
                continue  # spent by a concurrent message
            events += await _link(uow, row.client_id, row.contact_id, reply, "link", now)
        elif source is not None and reply.phone:
            events += await _link_phone(uow, source, reply, now)
    await webhooks.emit(uow, events, now)


async def ask_phone(
    uow: UnitOfWork, config: Config, client_id: str, contact_id: str, reply: InboundMessage, now: float
) -> None:
    """Ask a Telegram customer we know no phone for (once: on their first message) to share it."""
    if reply.channel != "telegram" or reply.phone:
        return
    thread = await uow.threads.open_for(client_id, contact_id, new_id("thr"), now)
    await queue_message(
        uow,
        config,
        client_id=client_id,
        contact_id=contact_id,
        thread_id=thread.id,
        channel="telegram",
        text=ASK_PHONE_TEXT,
        author="hub",
        now=now,
        category=ASK_PHONE,
    )
    log.info("asked telegram:%s for a phone number (contact %s)", reply.sender, contact_id)


async def _link_phone(uow: UnitOfWork, client_id: str, reply: InboundMessage, now: float) -> list[Event]:
    """A Telegram customer shared their own contact: link them to that phone."""
    try:
        phone = normalize_phone(reply.phone or "")
    except RequestError:
        log.info("shared contact from %s:%s has no valid phone", reply.channel, reply.sender)
        return []
    contact_id = await _stranger(uow, client_id, reply, phone)
    if contact_id is None:
        contact_id, _ = await contact_for(uow, client_id, phone, now)
    return await _link(uow, client_id, contact_id, reply, "shared_contact", now)


async def _stranger(uow: UnitOfWork, client_id: str, reply: InboundMessage, phone: str) -> str | None:
    """The sender's phoneless contact, given the shared phone when no contact has it (keeps the thread)."""
    if await uow.contacts.by_phone(client_id, phone) is not None:
        return None
    current = (await uow.links.identities(client_id, reply.channel, [reply.sender])).get(reply.sender)
    owner = (await uow.contacts.get_many([current.contact_id])).get(current.contact_id) if current else None
    if owner is None or owner.phone:
        return None
    await uow.links.set_phone(client_id, owner.id, phone)
    return str(owner.id)


async def _link(
    uow: UnitOfWork, client_id: str, contact_id: str, reply: InboundMessage, via: str, now: float
) -> list[Event]:
    """Attach the reply's sender to the contact per `plan_link`; returns the webhook events."""
    channel, sender, at = reply.channel, reply.sender, reply.at.timestamp()
    current = (await uow.links.identities(client_id, channel, [sender])).get(sender)
    owner_ids = {contact_id} | ({current.contact_id} if current else set())
    contacts = await uow.contacts.get_many(owner_ids)
    mine = [
        i for i in (await uow.contacts.identities([contact_id])).get(contact_id, []) if i.channel == channel
    ]
    previous = mine[0].id if mine else None
    owner = contacts[current.contact_id] if current else None
    plan = plan_link(
        contact_id,
        (current.id, current.contact_id) if current else None,
        bool(owner and owner.phone),
        previous,
    )
    if plan.drop:
        await uow.links.drop_identities([plan.drop])
    if plan.move:
        await uow.links.relink(plan.move, contact_id, now, at)
    else:
        await uow.links.add_identities([identity_row(client_id, contact_id, channel, sender, at, now)])
    target = contacts[contact_id]
    moved = current is not None and current.contact_id != contact_id
    news = via == "link" or current is None or moved or target.ownership != "verified"
    events: list[Event] = []
    if news:  # a redelivered shared contact changes nothing and says nothing
        events.append(
            Event(
                client_id,
                "contact.linked",
                contact_id,
                {
                    "contact_id": contact_id,
                    "phone": target.phone,
                    "channel": channel,
                    "external_id": sender,
                    "via": via,
                    "previous_contact_id": current.contact_id if current and moved else None,
                    "at": iso(now),
                },
            )
        )
    if target.ownership != "verified":
        await uow.links.set_ownership(client_id, [contact_id], "verified")
        events.append(
            _ownership_event(client_id, contact_id, target.phone, target.ownership, "verified", via)
        )
    if plan.conflict and owner is not None and owner.ownership != "changed":
        await uow.links.set_ownership(client_id, [plan.conflict], "changed")
        events.append(
            _ownership_event(
                client_id, plan.conflict, owner.phone, owner.ownership, "changed", "identity_moved"
            )
        )
    log.info(
        "linked %s:%s to contact %s via %s%s",
        channel,
        sender,
        contact_id,
        via,
        f" (contact {plan.conflict} now changed)" if plan.conflict else "",
    )
    return events


def _ownership_event(
    client_id: str, contact_id: str, phone: str | None, previous: str, state: str, reason: str
) -> Event:
    """A `contact.ownership_changed` event."""
    data = {
        "contact_id": contact_id,
        "phone": phone,
        "ownership": state,
        "previous": previous,
        "reason": reason,
    }
    return Event(client_id, "contact.ownership_changed", contact_id, data)
