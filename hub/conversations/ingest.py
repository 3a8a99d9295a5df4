"""Channel events into the database: receipts move legs, replies go to `hub.conversations.threads`.

Receipts whose send is not recorded yet (the platform was faster than our commit) are parked
and applied by the dispatcher when it records the send, so no receipt is lost to that race.
Each connection may park at most `parked_cap` receipts at a time; the ones over it are dropped and
counted (`over_cap`), so one request of made-up message ids cannot fill the table for a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bots.base import ChannelEvent, EventBatch, InboundMessage, StatusEvent
from hub.clock import Clock
from hub.conversations.threads import ReplyHandler
from hub.delivery.cascade import Audience, LegState, Policy, advance, apply_receipt, summarize
from hub.errors import ConnectionGone
from hub.webhooks import events as webhooks
from storage.models import PendingReceipt
from storage.repos.notifications import leg_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.ingest")
#: Nobody in particular: finishing a notification on a receipt needs no contact facts.
_NOBODY = Audience(phone=None, identities={})
#: How long a receipt may wait for its send to be recorded before it is dropped as unknown.
PARK_SECONDS = 86400
#: Receipts one connection may have parked at a time, unless the hub is built with another cap.
PARKED_CAP = 1000
#: A receipt and the connection it came in on (None: a long-poll reader or the sandbox).
_Sourced = tuple[StatusEvent, int | None]


@dataclass(frozen=True)
class _Pending:
    """One caller's events waiting for the next group commit."""

    events: list[ChannelEvent]
    also: Callable[[UnitOfWork], Awaitable[None]] | None
    done: asyncio.Future[None]
    source: int | None


def _settle(group: list[_Pending], error: BaseException | None) -> None:
    """Resolve the callers' futures (with the error, if any)."""
    for item in group:
        done = item.done
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


def _receipt(parked: PendingReceipt) -> StatusEvent:
    at = datetime.fromtimestamp(parked.at, UTC)
    return StatusEvent(parked.channel, parked.external_id, parked.status, at, parked.error)  # type: ignore[arg-type]


class EventIngest:
    """Applies batches of channel events in one transaction each."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        replies: ReplyHandler,
        *,
        parked_cap: int = PARKED_CAP,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.replies = replies
        self.parked_cap = parked_cap
        #: Receipts dropped because their connection had `parked_cap` parked already, by channel.
        self.over_cap: Counter[str] = Counter()
        self._waiting: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None

    async def apply(
        self,
        events: list[ChannelEvent],
        also: Callable[[UnitOfWork], Awaitable[None]] | None = None,
        source: int | None = None,
    ) -> None:
        """Commit the effect of these events (idempotent: a repeated event changes nothing).

        `also` runs in the same transaction (a reader's cursor), so both are durable or neither is.
        `source` is the connection they came in on: its traffic is noted, and when it has been
        removed meanwhile nothing is committed and `ConnectionGone` is raised.
        Concurrent callers (one callback per reply) are committed together in one transaction
        (group commit); each returns only once its events are durable.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Pending(events, also, done, source))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._drain())
        await done

    async def aclose(self) -> None:
        """Wait for the group commit under way, whose callers may have given up (cancelled) meanwhile.

        It holds a database connection: disposing of the engine under it would leave that
        connection open for the garbage collector (and cut a commit of accepted events short).
        """
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self._commit(group)
            except Exception as e:
                if len(group) == 1:
                    _settle(group, e)
                    continue
                for item in group:  # one bad batch must not fail the others: retry one by one
                    try:
                        await self._commit([item])
                    except Exception as one:
                        _settle([item], one)
            except BaseException as e:  # cancelled: nobody may wait forever
                rest, self._waiting = self._waiting, []
                _settle(group + rest, e)
                raise

    async def _commit(self, group: list[_Pending]) -> None:
        async with self._uow() as uow:
            sources = {item.source for item in group if item.source is not None}
            live = await uow.connections.touch_live(sources, self._clock.now())
            gone = [item for item in group if item.source is not None and item.source not in live]
            group = [item for item in group if item.source is None or item.source in live]
            receipts = [(e, i.source) for i in group for e in i.events if isinstance(e, StatusEvent)]
            replies = [e for i in group for e in i.events if isinstance(e, InboundMessage)]
            if receipts:
                await self._receipts(uow, receipts)
            if replies:
                await self.replies.handle(uow, replies, self._clock.now())
            for item in group:
                if item.also is not None:
                    await item.also(uow)
            await uow.commit()
        _settle(group, None)
        for item in gone:
            _settle([item], ConnectionGone(f"connection {item.source} was removed"))

    async def _receipts(self, uow: UnitOfWork, receipts: list[_Sourced]) -> None:
        now = self._clock.now()
        by_channel: dict[str, list[_Sourced]] = defaultdict(list)
        for r, source in receipts:
            by_channel[r.channel].append((r, source))
        matched: dict[str, list[tuple[int, StatusEvent]]] = defaultdict(list)
        unknown: list[_Sourced] = []
        for channel, items in by_channel.items():
            known = await uow.notifications.legs_by_external(channel, {r.external_id for r, _ in items})
            for r, source in items:
                if r.external_id in known:
                    nid, leg = known[r.external_id]
                    matched[nid].append((leg.idx, r))
                else:
                    unknown.append((r, source))
        if unknown:
            await self._park(uow, unknown)
        if not matched:
            return
        notes = await uow.notifications.lock(matched)
        legs = await uow.notifications.legs(matched)
        leg_rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        summaries: list[dict[str, Any]] = []
        done: list[str] = []
        for nid, hits in matched.items():
            current: list[LegState] = legs[nid]
            for idx, r in hits:
                updated = apply_receipt(current[idx], r.status, r.at.timestamp(), r.error)
                if updated is not None:
                    current[idx] = updated
                    leg_rows.append(leg_row(nid, updated))
                    events.append(
                        {
                            "notification_id": nid,
                            "at": r.at.timestamp(),
                            "kind": "leg_" + r.status,
                            "leg": idx,
                            "detail": r.error,
                        }
                    )
            note = notes[nid]
            final = note.final
            if not final:  # the leg reached what it waited for: finish here, saving a worker round
                step = advance(tuple(current), _NOBODY, now, Policy())
                if step.final and not (step.send or step.events or step.withdraw):
                    final = True
                    leg_rows += [leg_row(nid, b) for a, b in zip(current, step.legs, strict=True) if a != b]
                    current = list(step.legs)
                    done.append(nid)
                    events.append(
                        {
                            "notification_id": nid,
                            "at": now,
                            "kind": "final_" + summarize(current)[0],
                            "leg": None,
                            "detail": None,
                        }
                    )
            status, cost = summarize(current)
            if (status, cost, final) != (note.status, note.cost_minor, note.final):
                summaries.append(
                    {"id": nid, "status": status, "cost_minor": cost, "final": final, "updated_at": now}
                )
        await uow.notifications.save_legs(leg_rows)
        await uow.notifications.add_events(events)
        await uow.notifications.save_status(summaries)
        await uow.outbox.remove(done)
        await webhooks.emit(uow, webhooks.leg_events(notes, events, set(done)), now)
        await uow.outbox.poke([nid for nid, n in notes.items() if not n.final and nid not in done], now)

    async def _park(self, uow: UnitOfWork, unknown: list[_Sourced]) -> None:
        """Park receipts for messages not recorded yet, at most `parked_cap` per connection."""
        sources = {source for _, source in unknown if source is not None}
        room = {
            source: self.parked_cap - held
            for source, held in (await uow.notifications.parked_by_connection(sources)).items()
        }
        rows: list[dict[str, Any]] = []
        for r, source in unknown:
            if source is not None:
                left = room.get(source, self.parked_cap)
                if left <= 0:
                    self.over_cap[r.channel] += 1
                    continue
                room[source] = left - 1
            row = {"channel": r.channel, "external_id": r.external_id, "status": r.status}
            rows.append({**row, "at": r.at.timestamp(), "error": r.error, "connection_id": source})
        dropped = len(unknown) - len(rows)
        if dropped:
            log.warning("dropped %d receipts for unknown messages: over %d parked", dropped, self.parked_cap)
        await uow.notifications.park_receipts(rows)

    async def reconcile(self, limit: int = 1000) -> int:
        """Apply parked receipts whose send has been recorded since; drop hopeless ones. Returns applied."""
        now = self._clock.now()
        async with self._uow() as uow:
            ready = await uow.notifications.matchable_receipts(limit)
            await uow.notifications.drop_receipts(p.id for p in ready)
            await self._receipts(uow, [(_receipt(p), p.connection_id) for p in ready])
            stale = await uow.notifications.drop_receipts(older_than=now - PARK_SECONDS)
            if stale:
                log.warning("dropped %d receipts that never matched a sent message", stale)
            await uow.commit()
        return len(ready)

    async def reconcile_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Reconcile parked receipts until `stop`: at once while there are some, else every `interval`."""
        while not stop.is_set():
            try:
                if await self.reconcile():
                    continue
            except Exception:
                log.exception("reconciling parked receipts failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def run(self, source: AsyncIterator[EventBatch], stop: asyncio.Event) -> None:
        """Consume a channel's event stream until `stop`; a failed batch is retried, never skipped."""
        async for batch in source:
            while not stop.is_set():
                try:
                    await self.apply(batch.events)
                    break
                except Exception:
                    log.exception("applying %d channel events failed; retrying", len(batch.events))
                    await self._clock.sleep(1.0)
            if stop.is_set():
                return
