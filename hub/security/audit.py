"""The audit log of operator and agent actions: who, from where, did what to which client's things.

An entry is staged on the action's unit of work and written by its commit, so the entry and the
action are one transaction: a refused or failed action leaves no entry, and no action goes
unrecorded. Details are scrubbed: no secrets, no keys, no full phone numbers.

    uow = hub.uow()
    audit.record(uow, actor, "webhook.deleted", now, client_id=client_id, target=endpoint_id)
    await change_something(uow, ...)      # its `await uow.commit()` writes the entry too
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hub.clock import iso
from hub.contacts.phones import mask_phone
from storage.models import AuditEntry
from storage.repos.audit import AuditFilter
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.audit")
ActorKind = Literal["admin", "client", "agent"]
#: Fields only known inside the action's transaction (a template's client, a new connection's id).
Fill = Callable[[UnitOfWork], Awaitable[dict[str, Any]]]
_SECRET_NAME = re.compile(r"secret|token|password|api_key|authorization|settings", re.IGNORECASE)
_SECRET_TEXT = re.compile(r"(nh_|whsec_)[A-Za-z0-9_+/=-]{6,}")
_PHONE = re.compile(r"(?<!\w)\+?\d(?:[ ()-]?\d){9,14}(?!\w)")
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Actor:
    """Who acts: `id` is the API key id, or `admin` (admin token), `cli` or `inbox` (web session)."""

    kind: ActorKind
    id: str | None
    name: str | None
    ip: str | None = None


CLI = Actor("admin", "cli", "command line")


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    now: float,
    *,
    client_id: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    fill: Fill | None = None,
) -> UnitOfWork:
    """Stage an entry that `uow`'s next commit writes in the same transaction; returns `uow`."""

    async def _write(work: UnitOfWork) -> None:
        values: dict[str, Any] = {"client_id": client_id, "target": target}
        values.update(await fill(work) if fill is not None else {})
        entry = AuditEntry(
            at=now,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_name=(actor.name or "")[:200] or None,
            action=action,
            details=scrub(details or {}),
            ip=actor.ip,
            client_id=values["client_id"],
            target=None if values["target"] is None else str(values["target"])[:200],
        )
        await work.audit.add(entry)
        log.info("audit %s by %s %s client=%s", action, actor.kind, actor.id, entry.client_id)

    uow.before_commit(_write)
    return uow


def moderation(uow: UnitOfWork, actor: Actor, template_id: str, decision: Any, now: float) -> UnitOfWork:
    """Stage the entry of a template decision (`template.approved` / `template.rejected`)."""

    async def _owner(work: UnitOfWork) -> dict[str, Any]:
        template = await work.templates.get(template_id)
        return {"client_id": template.client_id if template else None}

    details = {"status": decision.status, "reason": decision.reason}
    return record(
        uow, actor, f"template.{decision.status}", now, target=template_id, details=details, fill=_owner
    )


def connection_added(uow: UnitOfWork, actor: Actor, client_id: str, channel: str, now: float) -> UnitOfWork:
    """Stage the entry of a new connection (its id is read inside the transaction that adds it)."""

    async def _new_id(work: UnitOfWork) -> dict[str, Any]:
        return {"target": await work.audit.newest_connection(client_id)}

    details = {"channel": channel}
    return record(uow, actor, "connection.added", now, client_id=client_id, details=details, fill=_new_id)


def connection_removed(uow: UnitOfWork, actor: Actor, connection_id: int, now: float) -> UnitOfWork:
    """Stage the entry of a removed connection."""

    async def _owner(work: UnitOfWork) -> dict[str, Any]:
        return {"client_id": await work.connections.client_of(connection_id)}

    return record(uow, actor, "connection.removed", now, target=str(connection_id), fill=_owner)


def scrub(value: Any, name: str = "") -> Any:
    """`value` with secrets redacted and phone numbers masked, however deeply nested."""
    if name and _SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        text = _SECRET_TEXT.sub(REDACTED, value[:500])
        return _PHONE.sub(lambda m: mask_phone(re.sub(r"[^\d+]", "", m.group())), text)
    return value


def url_origin(url: str) -> str:
    """`https://host:port` of a URL: paths and queries often carry tokens, so they stay out of the log."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    """One entry as the API and CLI show it."""
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name},
        "ip": entry.ip,
        "client_id": entry.client_id,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
    }


async def list_entries(uow: UnitOfWork, f: AuditFilter) -> dict[str, Any]:
    """A page of entries, newest first, with the cursor of the next page (None at the end)."""
    async with uow:
        found = await uow.audit.page(f)
    cursor = str(found[-1].id) if len(found) == f.limit else None
    return {"entries": [entry_view(e) for e in found], "next_cursor": cursor}
