"""Accepting notifications: validate, resolve contacts, and commit them with their legs and outbox rows.

Everything accepted is committed before the API answers; the dispatcher takes it from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from hub.api.schemas import NotifyIn, RouteLeg
from hub.config import Config
from hub.contacts.phones import normalize_phone
from hub.contacts.places import with_place
from hub.delivery.cascade import DEFAULT_UNTIL, LegState
from hub.delivery.idempotency import conflict, fingerprint
from hub.delivery.templates import render
from hub.errors import RequestError
from hub.ids import new_id
from storage.models import Client, Template
from storage.repos.contacts import contact_row
from storage.repos.notifications import leg_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.notify")
Directory = Callable[[str, float], list[dict[str, Any]]]
_ID_FIELDS = {"vk_user_id": "vk", "ok_user_id": "ok", "telegram_chat_id": "telegram"}


@dataclass(frozen=True)
class Accepted:
    """One accepted notification (or the earlier one with the same idempotency key)."""

    id: str
    status: str
    duplicate: bool = False


Outcome = Accepted | RequestError


def _route(item: NotifyIn, client: Client, config: Config) -> list[RouteLeg]:
    if item.route:
        return item.route
    raw = client.default_route or [leg.model_dump() for leg in config.cascade.default_route]
    return [RouteLeg.model_validate(leg) for leg in raw]


def _check(item: NotifyIn, template: Template | None, client: Client, config: Config, now: float) -> str:
    """Validate one item against its template and the anti-spam rules; return the rendered text."""
    if template is None:
        raise RequestError("template_not_found", f"no template {item.template_id}", status=404)
    if template.status != "approved":
        raise RequestError(
            "template_not_approved", f"template {template.id} is {template.status}", status=409
        )
    text = render(template.text, item.params)
    if template.category in ("transactional", "service"):
        if item.action_at is None:
            raise RequestError("action_at_required", f"{template.category} notifications need action_at")
        max_days = client.action_max_age_days or config.cascade.action_max_age_days
        age = now - item.action_at.timestamp()
        if age > max_days * 86400:
            raise RequestError("action_too_old", f"action_at is older than {max_days} days")
        if age < -300:
            raise RequestError("action_in_future", "action_at is in the future")
    return text


class Acceptor:
    """Turns validated requests into committed notifications, in batches."""

    def __init__(self, config: Config, directory: Directory | None = None) -> None:
        self._config = config
        self._directory = directory

    def _price(self, client: Client, channel: str) -> int:
        prices = client.prices or {}
        if channel in prices:
            return int(prices[channel])
        return round(self._config.cascade.prices[channel] * 100)  # type: ignore[index]

    async def accept(
        self, uow: UnitOfWork, client: Client, items: list[NotifyIn | RequestError], now: float
    ) -> list[Outcome]:
        """Accept a batch; one bad item gets its own error and the rest go ahead."""
        try:
            return await self._accept(uow, client, items, now)
        except IntegrityError:
            # a concurrent request took an idempotency key or created a contact first: once more sees it
            log.info("retrying a batch after a concurrent insert client=%s", client.id)
            return await self._accept(uow, client, items, now)

    async def _accept(
        self, uow: UnitOfWork, client: Client, items: list[NotifyIn | RequestError], now: float
    ) -> list[Outcome]:
        results: list[Outcome | None] = [i if isinstance(i, RequestError) else None for i in items]
        valid = [(n, i) for n, i in enumerate(items) if isinstance(i, NotifyIn)]
        async with uow:
            templates = await uow.templates.many(client.id, {i.template_id for _, i in valid})
            keys = {i.idempotency_key for _, i in valid if i.idempotency_key}
            existing = await uow.notifications.by_idempotency(client.id, keys)
            texts: dict[int, str] = {}
            phones: dict[int, str] = {}
            for n, item in valid:
                try:
                    if item.idempotency_key in existing:
                        old = existing[item.idempotency_key]
                        # no fingerprint: accepted before fingerprints were stored; the key alone decides
                        if old.request_fingerprint not in (None, fingerprint(item)):
                            raise conflict(item.idempotency_key)
                        results[n] = Accepted(old.id, old.status, duplicate=True)
                        continue
                    text = _check(item, templates.get(item.template_id), client, self._config, now)
                    if item.to.phone is not None:
                        phones[n] = normalize_phone(item.to.phone)
                    texts[n] = text
                except RequestError as e:
                    results[n] = e
            todo = [(n, i) for n, i in valid if n in texts]
            contacts = await self._contacts(uow, client, todo, phones, now)
            rows = self._rows(client, todo, texts, contacts, templates, now, results)
            await uow.notifications.add_many(*rows[:3])
            await uow.outbox.add_many(rows[3])
            await uow.commit()
        log.info("accepted %d of %d notifications client=%s", len(rows[0]), len(items), client.id)
        return [
            r if r is not None else RequestError("internal", "not processed", status=500) for r in results
        ]

    async def _contacts(
        self,
        uow: UnitOfWork,
        client: Client,
        todo: list[tuple[int, NotifyIn]],
        phones: dict[int, str],
        now: float,
    ) -> dict[int, str]:
        """Contact id per item, creating contacts (with sandbox identities) as needed."""
        by_phone = {p: c.id for p, c in (await uow.contacts.by_phones(client.id, phones.values())).items()}
        new_contacts: list[dict[str, Any]] = []
        new_idents: list[dict[str, Any]] = []
        fresh_phones = sorted(set(phones.values()) - by_phone.keys())
        # sandbox identities only for a client on the sandbox: a live client's real customer with a
        # sandbox-looking number must never get a made-up messenger account
        directory = self._directory if fresh_phones and self._directory else None
        if directory is not None and await uow.connections.has_live(client.id):
            directory = None
        for phone in fresh_phones:
            contact_id = by_phone[phone] = new_id("con")
            new_contacts.append(with_place(contact_row(contact_id, client.id, phone, now)))
            for ident in directory(phone, now) if directory else []:
                new_idents.append(
                    {
                        "id": new_id("idn"),
                        "client_id": client.id,
                        "contact_id": contact_id,
                        "linked_at": now,
                        **ident,
                    }
                )
        found: dict[int, str] = {n: by_phone[p] for n, p in phones.items()}
        for field, channel in _ID_FIELDS.items():
            wanted = {n: getattr(i.to, field) for n, i in todo if getattr(i.to, field) is not None}
            known = await uow.contacts.by_identity(client.id, channel, wanted.values())
            for n, ext in wanted.items():
                if ext not in known:
                    known[ext] = new_id("con")
                    new_contacts.append(with_place(contact_row(known[ext], client.id, None, now)))
                    new_idents.append(
                        {
                            "id": new_id("idn"),
                            "client_id": client.id,
                            "contact_id": known[ext],
                            "channel": channel,
                            "external_id": ext,
                            "linked_at": now,
                            "last_active_at": None,
                            "allowed": True,
                        }
                    )
                found[n] = known[ext]
        await uow.contacts.add_many(new_contacts, new_idents)
        if new_contacts:  # re-read: a concurrent request may have created the same phone first
            fresh = await uow.contacts.by_phones(client.id, phones.values())
            found.update({n: fresh[p].id for n, p in phones.items() if p in fresh})
        return found

    def _rows(
        self,
        client: Client,
        todo: list[tuple[int, NotifyIn]],
        texts: dict[int, str],
        contacts: dict[int, str],
        templates: dict[str, Template],
        now: float,
        results: list[Outcome | None],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        notes, legs, events, outbox = [], [], [], []
        seen_keys: dict[str, tuple[str, str]] = {}  # key -> (notification id, request fingerprint)
        for n, item in todo:
            key = item.idempotency_key
            digest = fingerprint(item) if key is not None else None
            if key is not None and key in seen_keys:
                nid, first = seen_keys[key]
                results[n] = Accepted(nid, "queued", duplicate=True) if first == digest else conflict(key)
                continue
            template = templates[item.template_id]
            nid = new_id("ntf")
            if key is not None and digest is not None:
                seen_keys[key] = (nid, digest)
            route = _route(item, client, self._config)
            notes.append(
                {
                    "id": nid,
                    "client_id": client.id,
                    "contact_id": contacts[n],
                    "template_id": template.id,
                    "text": texts[n],
                    "category": template.category,
                    "important": template.important,
                    "status": "queued",
                    "final": False,
                    "cost_minor": 0,
                    "idempotency_key": key,
                    "request_fingerprint": digest,
                    "reference": item.reference,
                    "action_at": item.action_at.timestamp() if item.action_at else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for idx, leg in enumerate(route):
                ttl = leg.ttl if leg.ttl is not None or idx == len(route) - 1 else 3600
                state = LegState(
                    idx=idx,
                    channel=leg.channel,
                    until=leg.until or DEFAULT_UNTIL[leg.channel],
                    ttl=ttl,
                    price_minor=self._price(client, leg.channel),
                )
                legs.append(leg_row(nid, state))
            events.append(
                {"notification_id": nid, "at": now, "kind": "accepted", "leg": None, "detail": None}
            )
            outbox.append({"notification_id": nid, "due_at": now, "claimed_until": None})
            results[n] = Accepted(nid, "queued")
        return notes, legs, events, outbox
