"""Inbound replies into threads: resolve client and contact, classify, store once, act, report.

channel event -> owner (connection, identity, SMS phone; unknown identity on a known connection
creates a contact; unknown connection refused and counted) -> the notification it answers (its
template context) -> classifier -> thread message (duplicates by platform id stored once) ->
`replies.decide` -> suppression / confirmation / rating / agent queue -> webhook events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bots.base import InboundMessage
from hub.clock import iso
from hub.config import Config
from hub.contacts.directory import ask_phone, link_replies
from hub.contacts.phones import mask_phone
from hub.contacts.places import with_place
from hub.conversations.outgoing import queue_message
from hub.conversations.replies import Facts, Plan, decide
from hub.ids import new_id
from hub.webhooks import events as webhooks
from hub.webhooks.events import Event
from nlu.labels import Classification
from storage.models import Thread
from storage.repos.contacts import contact_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.threads")
REPLY_WINDOW = 7 * 86400
#: (client, contact, channel) -> (notification id, sent at) of the latest notification there.
_Answered = dict[tuple[str, str, str], tuple[str, float]]


class ClassifierLike(Protocol):
    """What the hub needs of `nlu.Classifier` (tests pass a stand-in)."""

    def classify_many(
        self, texts: list[str], contexts: list[str | None] | None = None
    ) -> list[Classification]:
        """Labels for many replies, in order."""
        ...


@dataclass
class _Known:
    """Look-ups shared by the replies of one batch."""

    identities: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Owned:
    reply: InboundMessage
    client_id: str
    contact_id: str
    notification_id: str | None


def _who(reply: InboundMessage) -> str:
    return mask_phone(reply.sender) if reply.channel == "sms" else f"{reply.channel}:{reply.sender}"


class ReplyHandler:
    """Files customers' replies in their threads and carries out what they ask for."""

    def __init__(self, config: Config, classifier: Callable[[], ClassifierLike]) -> None:
        self._config = config
        self._classifier = classifier
        #: Replies refused because their connection is unknown (also logged).
        self.refused = 0
        self._touched: list[tuple[str, str, str, float]] = []
        self._owners_of: dict[int, str] = {}

    def warm(self) -> None:
        """Load the classifier now: a process about to take traffic should not make a reply wait for it."""
        self._classifier().classify_many(["ok"])

    async def handle(self, uow: UnitOfWork, replies: list[InboundMessage], now: float) -> None:
        """Store and act on a batch of replies inside the caller's transaction (batched look-ups)."""
        known = _Known()
        await link_replies(uow, replies, now)  # deep-link tokens and shared phones; no query without them
        for channel in {r.channel for r in replies}:
            senders = {r.sender for r in replies if r.channel == channel}
            known.identities.update(
                {(channel, k): v for k, v in (await uow.contacts.owners_of(channel, senders)).items()}
            )
        owners = [await self._owners(uow, r, known) for r in replies]
        since = min(r.at.timestamp() for r in replies) - REPLY_WINDOW
        answered = await uow.inbound.answered_many({pair for pairs in owners for pair in pairs}, since)
        owned = [o for r, pairs in zip(replies, owners, strict=True) if (o := _pick(r, pairs, answered))]
        if not owned:
            return
        contexts = await uow.inbound.contexts_of({o.notification_id for o in owned if o.notification_id})
        texts, kinds = [o.reply.text for o in owned], [contexts.get(o.notification_id or "") for o in owned]
        labels = self._classifier().classify_many(texts, kinds)
        threads = await uow.threads.open_many({(o.client_id, o.contact_id) for o in owned}, now)
        contacts = await uow.contacts.get_many({o.contact_id for o in owned})
        opted = {cid: bool(c.opted_out) for cid, c in contacts.items()}
        rows = [
            _message_row(o, c, kind, threads[(o.client_id, o.contact_id)])
            for o, c, kind in zip(owned, labels, kinds, strict=True)
        ]
        stored = await uow.threads.add_messages(rows)  # one statement; duplicates are left out
        events: list[Event] = []
        changed: dict[str, Thread] = {}
        self._touched = []
        for item, label, row in zip(owned, labels, rows, strict=True):
            if row["id"] not in stored:
                log.debug("duplicate %s message ignored", item.reply.channel)
                continue
            thread = threads[(item.client_id, item.contact_id)]
            phone = contacts[item.contact_id].phone
            events += await self._act(uow, item, label, row, thread, phone, opted, now)
            changed[thread.id] = thread
        await uow.threads.save_reply_state(list(changed.values()))
        await uow.contacts.touch_many(self._touched)
        await webhooks.emit(uow, events, now)

    async def _owners(self, uow: UnitOfWork, reply: InboundMessage, known: _Known) -> list[tuple[str, str]]:
        """(client, contact) pairs the reply may belong to; a first message to a known client makes one."""
        owners = list(known.identities.get((reply.channel, reply.sender), []))
        if reply.channel == "sms":  # an SMS sender is a phone number, not a messenger identity
            owners += await uow.contacts.clients_of_phone(reply.sender)
        if reply.connection_id is None and reply.client_id is None:
            if not owners:
                log.info("reply from an unknown %s identity dropped", reply.channel)
            return owners
        # a client's own connection, or its sandbox: only that client's contacts
        owner = await self._addressee(uow, reply)
        if owner is None:
            return []
        mine = [o for o in owners if o[0] == owner]
        if not mine:
            if reply.connection_id is None and await uow.clients.get(owner) is None:
                log.warning("sandbox reply to unknown client %s dropped", owner)
                return []
            mine = [(owner, await self._new_contact(uow, owner, reply))]
        if reply.channel != "sms":  # later replies of this batch find the (new) contact; other clients' kept
            key = (reply.channel, reply.sender)
            known.identities[key] = list(dict.fromkeys([*known.identities.get(key, []), *mine]))
        return mine

    async def _addressee(self, uow: UnitOfWork, reply: InboundMessage) -> str | None:
        """The client the reply was written to: its connection's owner, or the sandbox's client."""
        if reply.connection_id is None:
            return reply.client_id
        owner = self._owners_of.get(reply.connection_id)
        if owner is None:  # a connection never changes hands: ask once
            owner = await uow.connections.client_of(reply.connection_id)
            if owner is not None:
                self._owners_of[reply.connection_id] = owner
        if owner is None:
            self.refused += 1
            log.warning("reply on unknown connection %s refused", reply.connection_id)
        return owner

    async def _new_contact(self, uow: UnitOfWork, client_id: str, reply: InboundMessage) -> str:
        """A contact for someone who wrote to a client's own connection for the first time."""
        phone = reply.sender if reply.channel == "sms" else reply.phone
        at = reply.at.timestamp()
        existing = await uow.contacts.by_phone(client_id, phone) if phone else None
        contact_id = existing.id if existing else new_id("con")
        contacts = [] if existing else [with_place(contact_row(contact_id, client_id, phone, at))]
        idents = []
        if reply.channel != "sms":
            idents.append(
                {
                    "id": new_id("idn"),
                    "client_id": client_id,
                    "contact_id": contact_id,
                    "channel": reply.channel,
                    "external_id": reply.sender,
                    "last_active_at": at,
                    "allowed": True,
                    "linked_at": at,
                }
            )
        await uow.contacts.add_many(contacts, idents)
        if not phone:  # a Telegram stranger: ask once for the phone (Telegram's share-contact button)
            await ask_phone(uow, self._config, client_id, contact_id, reply, at)
        log.info("new contact %s from %s", contact_id, _who(reply))
        return contact_id

    async def _act(
        self,
        uow: UnitOfWork,
        item: _Owned,
        c: Classification,
        row: dict[str, Any],
        thread: Thread,
        phone: str | None,
        opted: dict[str, bool],
        now: float,
    ) -> list[Event]:
        """Update the thread for a newly stored reply and carry out what it asks for."""
        reply = item.reply
        self._touched.append((item.client_id, reply.channel, reply.sender, row["at"]))
        thread.status, thread.updated_at, thread.last_channel = "open", now, reply.channel
        if c.label not in thread.labels:
            thread.labels = [*thread.labels, c.label]
        was_out = opted[item.contact_id]
        facts = Facts(
            c.label, c.confidence, c.rating, reply.text, was_out, thread.confirm_pending, thread.needs_agent
        )
        plan = decide(facts)
        events = [Event(item.client_id, "reply.received", item.contact_id, reply_data(row, thread, phone))]
        await apply_plan(uow, self._config, thread, plan, was_out, row, phone, now, events)
        if plan.opted_out is not None:
            opted[item.contact_id] = plan.opted_out
        return events


def _pick(reply: InboundMessage, owners: list[tuple[str, str]], answered: _Answered) -> _Owned | None:
    """The owner whose latest notification on the reply's channel (within the window) is newest."""
    since = reply.at.timestamp() - REPLY_WINDOW
    best: tuple[str, str, tuple[str, float] | None] | None = None
    for client_id, contact_id in owners:
        last = answered.get((client_id, contact_id, reply.channel))
        last = last if last is not None and last[1] >= since else None
        if best is None or (last is not None and (best[2] is None or last[1] > best[2][1])):
            best = (client_id, contact_id, last)
    if best is None:
        return None
    client_id, contact_id, last = best
    return _Owned(reply, client_id, contact_id, last[0] if last else None)


def _message_row(item: _Owned, c: Classification, context: str | None, thread: Thread) -> dict[str, Any]:
    """The thread message row for a reply."""
    reply = item.reply
    return {
        "id": new_id("msg"),
        "client_id": item.client_id,
        "contact_id": item.contact_id,
        "notification_id": item.notification_id,
        "channel": reply.channel,
        "external_id": reply.external_id,
        "text": reply.text,
        "at": reply.at.timestamp(),
        "thread_id": thread.id,
        "direction": "in",
        "label": c.label,
        "rating": c.rating,
        "confidence": c.confidence,
        "labeled_by": "classifier",
        "context": context,
    }


async def apply_plan(
    uow: UnitOfWork,
    config: Config,
    thread: Thread,
    plan: Plan,
    opted_out: bool,
    message: dict[str, Any],
    phone: str | None,
    now: float,
    events: list[Event],
) -> None:
    """Carry out a reply's plan: suppression, confirmation, rating, agent queue (and their events)."""
    who = {"contact_id": thread.contact_id, "thread_id": thread.id, "phone": phone}
    if plan.opted_out is not None and plan.opted_out != opted_out:
        await uow.contacts.set_opted_out(thread.contact_id, plan.opted_out)
        kind = "contact.opted_out" if plan.opted_out else "contact.opted_in"
        events.append(Event(thread.client_id, kind, thread.contact_id, {**who, "message_id": message["id"]}))
        log.info("contact %s %s", thread.contact_id, kind.partition(".")[2])
    if plan.confirm_pending is not None:
        thread.confirm_pending = plan.confirm_pending
    if plan.needs_agent is not None and plan.needs_agent != thread.needs_agent:
        thread.needs_agent = plan.needs_agent
        if plan.needs_agent:
            events.append(Event(thread.client_id, "thread.needs_agent", thread.contact_id, {**who}))
    if plan.record_rating is not None and message.get("notification_id"):
        await uow.inbound.set_rating(message["notification_id"], plan.record_rating)
    if plan.send_text is not None:
        await queue_message(
            uow,
            config,
            client_id=thread.client_id,
            contact_id=thread.contact_id,
            thread_id=thread.id,
            channel=message["channel"],
            text=plan.send_text,
            author="hub",
            now=now,
        )


def reply_data(row: dict[str, Any], thread: Thread, phone: str | None) -> dict[str, Any]:
    """The `reply.received` event body."""
    return {
        "message_id": row["id"],
        "thread_id": thread.id,
        "notification_id": row["notification_id"],
        "contact_id": row["contact_id"],
        "phone": phone,
        "channel": row["channel"],
        "text": row["text"],
        "label": row["label"],
        "rating": row["rating"],
        "confidence": row["confidence"],
        "at": iso(row["at"]),
    }
