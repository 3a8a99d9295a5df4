"""Applying a contact import: contacts, profiles, identities, consent and groups, idempotently, in chunks.

The API (`POST /v1/contacts/import`) and the CLI (`notifyhub import`) both come here with a stream
of rows: rows are checked one by one and applied a chunk at a time (one transaction each), so a
file of a million rows is never held in memory. A row whose identity already belongs to another
of the client's phones is refused (only the customer, by following a link, can move it); an
identity on a contact without a phone (someone who wrote first) moves to the imported phone; a
different account on the same channel replaces the old one. Attributes are merged into the stored
ones (an empty cell leaves a value as it is); groups are added, never removed. Importing the same
file again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hub.contacts.attributes import as_type
from hub.contacts.import_file import ImportRow, RowChecker, RowError
from hub.contacts.linking import identity_row
from hub.contacts.phones import mask_phone
from hub.errors import RequestError
from hub.ids import new_id
from storage.repos.contacts import contact_row
from storage.repos.directory import PROFILE
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.import")
CHUNK = 1000
#: Rejected rows reported one by one; the rest are only counted.
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportResult:
    """What an import did, row by row."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def reject(self, error: RowError) -> None:
        """Count a rejected row (and keep it for the report while there is room)."""
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def view(self) -> dict[str, Any]:
        """The API answer (and `notifyhub import --json`)."""
        errors = sorted(self.errors, key=lambda e: e.index)
        return {
            "rows": self.rows,
            "imported": self.created + self.updated + self.unchanged,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error_count": self.error_count,
            "errors": [e.view() for e in errors],
        }

    def summary(self) -> str:
        """One line for the CLI."""
        v = self.view()
        return (
            f"imported {v['imported']} of {v['rows']} rows: {v['created']} new, {v['updated']} updated, "
            f"{v['unchanged']} unchanged, {self.error_count} with errors"
        )


async def import_stream(
    uow: Callable[[], UnitOfWork],
    client_id: str,
    items: Iterable[tuple[int | None, Any]],
    now: float,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check and import rows as they are read; `progress(rows so far)` is called after each chunk.

    A file refused as a whole raises before anything is written. A file that breaks off later
    (JSON that stops being JSON) keeps the chunks already imported and reports the break as an error.
    """
    async with uow() as work:
        known = {
            name: as_type(kind) for name, kind in (await work.audiences.attribute_types(client_id)).items()
        }
    checker, result = RowChecker(now, known), ImportResult()
    batch: list[ImportRow] = []
    rows = _guarded(items, result)
    for index, (line, raw) in enumerate(rows):
        result.rows += 1
        outcome = checker.check(index, line, raw)
        if isinstance(outcome, RowError):
            result.reject(outcome)
        else:
            batch.append(outcome)
        if len(batch) >= chunk:
            await _apply(uow, client_id, batch, checker, now, result)
            batch = []
        if progress is not None and result.rows % chunk == 0:
            progress(result.rows)
    if result.rows == 0:
        raise RequestError("empty_import", "the file has no contacts in it")
    await _apply(uow, client_id, batch, checker, now, result)
    if progress is not None:
        progress(result.rows)
    log.info("import client=%s: %s", client_id, result.summary())
    return result


def _guarded(
    items: Iterable[tuple[int | None, Any]], result: ImportResult
) -> Iterator[tuple[int | None, Any]]:
    """The rows, with a break in the file after the first row turned into a reported error."""
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except RequestError as e:
            if result.rows == 0:
                raise
            result.reject(
                RowError(result.rows, None, e.code, f"{e.message}; the rest of the file was not read")
            )
            return
        yield item


async def _apply(
    uow: Callable[[], UnitOfWork],
    client_id: str,
    rows: list[ImportRow],
    checker: RowChecker,
    now: float,
    result: ImportResult,
) -> None:
    async with uow() as work:
        if checker.learned:
            await work.audiences.learn_attributes(client_id, dict(checker.learned), now)
        await _chunk(work, client_id, rows, now, result)
        await work.commit()
    checker.learned.clear()


async def _chunk(
    uow: UnitOfWork, client_id: str, rows: list[ImportRow], now: float, result: ImportResult
) -> None:
    if not rows:
        return
    known = await uow.directory.profiles_by_phones(client_id, [r.phone for r in rows])
    fresh = [r for r in rows if r.phone not in known]
    await uow.contacts.add_many(
        [{**contact_row(new_id("con"), client_id, r.phone, now), **_profile(r, None, now)} for r in fresh], []
    )
    ids = {p: i for p, i in (await uow.directory.ids_by_phones(client_id, [r.phone for r in fresh])).items()}
    ids.update({phone: row.id for phone, row in known.items()})
    taken = {
        ch: await uow.links.identities(client_id, ch, [r.identities[ch] for r in rows if ch in r.identities])
        for ch in ("vk", "ok", "telegram")
    }
    owners = await uow.contacts.get_many({i.contact_id for by_ext in taken.values() for i in by_ext.values()})
    own = await uow.contacts.identities(ids.values()) if any(r.identities for r in rows) else {}
    profiles: list[dict[str, Any]] = []
    adds: list[dict[str, Any]] = []
    members: list[tuple[str, str]] = []
    for row in rows:
        contact_id, contact = ids[row.phone], known.get(row.phone)
        new = contact is None
        plan = _plan(row, contact_id, taken, owners, own.get(contact_id, []))
        if isinstance(plan, RowError):
            result.reject(plan)
            continue
        changed = await _do(uow, contact_id, row, plan, now)
        adds += [
            identity_row(client_id, contact_id, ch, ext, row.last_active_at, now) for ch, ext in plan.add
        ]
        members += [(name, contact_id) for name in row.groups]
        if contact is not None:
            profile = _profile(row, contact, now)
            if any(profile[c] != getattr(contact, c) for c in PROFILE):
                profiles.append({"id": contact_id, **profile})
                changed = True
        if new:
            result.created += 1
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    await uow.links.add_identities(adds)
    await uow.directory.set_profiles(profiles)
    await _join_groups(uow, client_id, members, now)


def _profile(row: ImportRow, contact: Any, now: float) -> dict[str, Any]:
    """The contact's profile after this row: given fields replace, attributes merge, consent records when."""
    old: dict[str, Any] = {c: getattr(contact, c) for c in PROFILE} if contact is not None else {}
    profile = {**old}
    profile["name"] = row.name if row.name is not None else old.get("name")
    attributes = {**(old.get("attributes") or {}), **row.attributes}
    profile["attributes"] = attributes or old.get("attributes")
    profile["country"], profile["region"] = row.place.country, row.place.region
    stored = old.get("timezone")
    given = stored if stored and stored != row.place.timezone else None  # the client's word, kept
    profile["timezone"] = row.timezone or given or row.place.timezone
    consent = old.get("marketing_consent", False) if row.marketing_consent is None else row.marketing_consent
    profile["marketing_consent"] = consent
    if contact is None or consent != contact.marketing_consent:
        given = row.marketing_consent is not None
        profile["consent_source"] = (row.consent_source or "import") if given else None
        profile["consent_at"] = now if given else None
    return profile


async def _join_groups(uow: UnitOfWork, client_id: str, members: list[tuple[str, str]], now: float) -> None:
    names = {name for name, _ in members}
    if names:
        ids = await uow.audiences.ensure_groups(client_id, names, (new_id("grp") for _ in names), now)
        await uow.audiences.add_members((ids[name], contact_id) for name, contact_id in members)


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


async def _do(uow: UnitOfWork, contact_id: str, row: ImportRow, plan: _Plan, now: float) -> bool:
    """Carry out one row's moves and drops (new identities are inserted per chunk); True on change."""
    await uow.links.drop_identities(plan.drop)
    for identity_id in plan.move:
        await uow.links.relink(identity_id, contact_id, now, row.last_active_at)
    await uow.links.set_activity(
        [(i, row.last_active_at) for i in plan.touch if row.last_active_at is not None]
    )
    return bool(plan.add or plan.move or plan.drop or plan.touch)
