"""Applying a validated contact import: contacts, identities and consent, idempotently, in chunks.

The API (`POST /v1/contacts/import`) and the CLI (`notifyhub import`) both come here. A row
whose identity already belongs to another of the client's phones is refused (only the customer,
by following a link, can move it); an identity on a contact without a phone (someone who wrote
first) moves to the imported phone; a different account on the same channel replaces the old
one. Importing the same file again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.contacts.import_file import ImportRow, Parsed, RowError
from hub.contacts.linking import identity_row
from hub.contacts.phones import mask_phone
from hub.ids import new_id
from storage.repos.contacts import contact_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.import")
CHUNK = 1000


@dataclass
class ImportResult:
    """What an import did, row by row."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The API answer (and `notifyhub import --json`)."""
        errors = sorted(self.errors, key=lambda e: e.index)
        return {
            "rows": self.rows,
            "imported": self.created + self.updated + self.unchanged,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.view() for e in errors],
        }

    def summary(self) -> str:
        """One line for the CLI."""
        v = self.view()
        return (
            f"imported {v['imported']} of {v['rows']} rows: {v['created']} new, {v['updated']} updated, "
            f"{v['unchanged']} unchanged, {len(self.errors)} with errors"
        )


async def import_contacts(
    uow: Callable[[], UnitOfWork], client_id: str, parsed: Parsed, now: float, chunk: int = CHUNK
) -> ImportResult:
    """Import the valid rows (one transaction per chunk); row errors are reported, not raised."""
    result = ImportResult(rows=len(parsed.rows) + len(parsed.errors), errors=list(parsed.errors))
    for start in range(0, len(parsed.rows), chunk):
        async with uow() as work:
            await _chunk(work, client_id, parsed.rows[start : start + chunk], now, result)
            await work.commit()
    log.info("import client=%s: %s", client_id, result.summary())
    return result


async def _chunk(
    uow: UnitOfWork, client_id: str, rows: list[ImportRow], now: float, result: ImportResult
) -> None:
    known = await uow.contacts.by_phones(client_id, [r.phone for r in rows])
    fresh = [r for r in rows if r.phone not in known]
    await uow.contacts.add_many(
        [
            {
                **contact_row(new_id("con"), client_id, r.phone, now),
                "marketing_consent": bool(r.marketing_consent),
            }
            for r in fresh
        ],
        [],
    )
    contacts = {**known, **await uow.contacts.by_phones(client_id, [r.phone for r in fresh])}
    taken = {
        ch: await uow.links.identities(client_id, ch, [r.identities[ch] for r in rows if ch in r.identities])
        for ch in ("vk", "ok", "telegram")
    }
    owners = await uow.contacts.get_many({i.contact_id for by_ext in taken.values() for i in by_ext.values()})
    own = await uow.contacts.identities(c.id for c in contacts.values())
    consent: list[tuple[str, bool]] = []
    adds: list[dict[str, Any]] = []
    for row in rows:
        contact = contacts[row.phone]
        new = row.phone not in known
        plan = _plan(row, contact.id, taken, owners, own.get(contact.id, []))
        if isinstance(plan, RowError):
            result.errors.append(plan)
            continue
        changed = await _apply(uow, contact.id, row, plan, now)
        adds += [
            identity_row(client_id, contact.id, ch, ext, row.last_active_at, now) for ch, ext in plan.add
        ]
        if (
            not new
            and row.marketing_consent is not None
            and row.marketing_consent != contact.marketing_consent
        ):
            consent.append((contact.id, row.marketing_consent))
            changed = True
        if new:
            result.created += 1
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    await uow.links.add_identities(adds)
    await uow.links.set_consent(client_id, consent)


@dataclass(frozen=True)
class _Plan:
    add: list[tuple[str, str]] = field(default_factory=list)
    move: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    touch: list[str] = field(default_factory=list)


def _plan(
    row: ImportRow, contact_id: str, taken: dict[str, dict[str, Any]], owners: dict[str, Any], own: list[Any]
) -> _Plan | RowError:
    """What one row changes, or why it cannot be imported."""
    plan = _Plan()
    for channel, external_id in row.identities.items():
        current = taken[channel].get(external_id)
        previous = [i.id for i in own if i.channel == channel and i.external_id != external_id]
        if current is not None and current.contact_id == contact_id:
            if row.last_active_at is not None and (current.last_active_at or 0) < row.last_active_at:
                plan.touch.append(current.id)
            continue
        if current is not None and owners[current.contact_id].phone:
            phone = mask_phone(owners[current.contact_id].phone)
            return RowError(
                row.index, row.line, "identity_taken", f"{channel} {external_id} belongs to {phone}"
            )
        plan.drop.extend(previous)
        if current is not None:
            plan.move.append(current.id)
        else:
            plan.add.append((channel, external_id))
    return plan


async def _apply(uow: UnitOfWork, contact_id: str, row: ImportRow, plan: _Plan, now: float) -> bool:
    """Carry out one row's moves and drops (new identities are inserted per chunk); True on change."""
    await uow.links.drop_identities(plan.drop)
    for identity_id in plan.move:
        await uow.links.relink(identity_id, contact_id, now, row.last_active_at)
    await uow.links.set_activity(
        [(i, row.last_active_at) for i in plan.touch if row.last_active_at is not None]
    )
    return bool(plan.add or plan.move or plan.drop or plan.touch)
