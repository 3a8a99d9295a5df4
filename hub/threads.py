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
from hub import webhooks
from hub.clock import iso
from hub.config import Config
from hub.ids import new_id
from hub.outgoing import queue_message
from hub.phones import mask_phone
from hub.replies import Facts, Plan, decide
from hub.webhooks import Event
from nlu.labels import Classification
from storage.models import Thread
from storage.repos.contacts import contact_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.threads")
REPLY_WINDOW = 7 * 86400


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
    connections: dict[int, str | None] = field(default_factory=dict)
    contexts: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class _Owned:
    reply: InboundMessage
    client_id: str
    contact_id: str
    notification_id: str | None
    context: str | None


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
        #: Called after a batch is committed (the webhook sender's doorbell).
        self.on_commit: Callable[[], None] | None = None

    def committed(self) -> None:
        """Tell whoever listens that new rows (and maybe webhook deliveries) are durable."""
        if self.on_commit is not None:
            self.on_commit()

    async def handle(self, uow: UnitOfWork, replies: list[InboundMessage], now: float) -> None:
        """Store and act on a batch of replies inside the caller's transaction (batched look-ups)."""
        known = _Known()
        for channel in {r.channel for r in replies}:
            senders = {r.sender for r in replies if r.channel == channel}
            known.identities.update(
                {(channel, k): v for k, v in (await uow.contacts.owners_of(channel, senders)).items()}
            )
        owned = [o for o in [await self._owner(uow, r, known) for r in replies] if o is not None]
        if not owned:
            return
        labels = self._classifier().classify_many([o.reply.text for o in owned], [o.context for o in owned])
        threads = await uow.threads.open_many({(o.client_id, o.contact_id) for o in owned}, now)
        contacts = await uow.contacts.get_many({o.contact_id for o in owned})
        opted = {cid: bool(c.opted_out) for cid, c in contacts.items()}
        events: list[Event] = []
        self._touched = []
        for item, label in zip(owned, labels, strict=True):
            thread = threads[(item.client_id, item.contact_id)]
            events += await self._file(uow, item, label, thread, contacts[item.contact_id].phone, opted, now)
        await uow.contacts.touch_many(self._touched)
        await webhooks.emit(uow, events, now)

    async def _owner(self, uow: UnitOfWork, reply: InboundMessage, known: _Known) -> _Owned | None:
        at = reply.at.timestamp()
        owners = list(known.identities.get((reply.channel, reply.sender), []))
        if reply.channel == "sms":  # an SMS sender is a phone number, not a messenger identity
            owners += await uow.contacts.clients_of_phone(reply.sender)
        if reply.connection_id is not None:  # a client's own connection: only that client's contacts
            if reply.connection_id not in known.connections:
                known.connections[reply.connection_id] = await uow.connections.client_of(reply.connection_id)
            owner = known.connections[reply.connection_id]
            if owner is None:
                self.refused += 1
                log.warning("reply on unknown connection %s refused", reply.connection_id)
                return None
            owners = [o for o in owners if o[0] == owner] or [
                (owner, await self._new_contact(uow, owner, reply))
            ]
            if reply.channel != "sms":
                known.identities[(reply.channel, reply.sender)] = owners
        best: tuple[str, str, tuple[str, float] | None] | None = None
        for client_id, contact_id in owners:
            answered = await uow.inbound.answered(client_id, contact_id, reply.channel, at - REPLY_WINDOW)
            if best is None or (answered is not None and (best[2] is None or answered[1] > best[2][1])):
                best = (client_id, contact_id, answered)
        if best is None:
            log.info("reply from an unknown %s identity dropped", reply.channel)
            return None
        client_id, contact_id, answered = best
        nid = answered[0] if answered else None
        if nid and nid not in known.contexts:
            known.contexts[nid] = await uow.inbound.context_of(nid)
        return _Owned(reply, client_id, contact_id, nid, known.contexts.get(nid) if nid else None)

    async def _new_contact(self, uow: UnitOfWork, client_id: str, reply: InboundMessage) -> str:
        """A contact for someone who wrote to a client's own connection for the first time."""
        phone = reply.sender if reply.channel == "sms" else reply.phone
        at = reply.at.timestamp()
        existing = await uow.contacts.by_phone(client_id, phone) if phone else None
        contact_id = existing.id if existing else new_id("con")
        contacts = [] if existing else [contact_row(contact_id, client_id, phone, at)]
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
        log.info("new contact %s from %s", contact_id, _who(reply))
        return contact_id

    async def _file(
        self,
        uow: UnitOfWork,
        item: _Owned,
        c: Classification,
        thread: Thread,
        phone: str | None,
        opted: dict[str, bool],
        now: float,
    ) -> list[Event]:
        reply = item.reply
        at = reply.at.timestamp()
        row: dict[str, Any] = {
            "id": new_id("msg"),
            "client_id": item.client_id,
            "contact_id": item.contact_id,
            "notification_id": item.notification_id,
            "channel": reply.channel,
            "external_id": reply.external_id,
            "text": reply.text,
            "at": at,
            "thread_id": thread.id,
            "direction": "in",
            "label": c.label,
            "rating": c.rating,
            "confidence": c.confidence,
            "labeled_by": "classifier",
            "context": item.context,
        }
        if not await uow.threads.add_message(row):
            log.debug("duplicate %s message ignored", reply.channel)
            return []
        self._touched.append((item.client_id, reply.channel, reply.sender, at))
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
