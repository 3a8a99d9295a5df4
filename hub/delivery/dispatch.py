"""Outbox workers: lease due notifications, run the cascade, talk to channels, record the outcome.

One round is three short steps so no transaction is open while a channel is slow:
  1. decide  (transaction): lease due rows, lock their notifications, run `cascade.advance`,
     mark legs `sending`;
  2. send    (no transaction): withdraw expired messages, call the adapters concurrently;
  3. record  (transaction): store each answer, apply receipts that raced ahead, schedule the next look.
An expired messenger message is withdrawn before the next leg starts: step 1 commits the expiry
with the withdrawal pending, step 2 withdraws it, step 3 records the answer, and only a later
round sends the next leg (see `hub.delivery.cascade`); a worker that dies in between leaves the
withdrawal pending for the next one.
A worker that dies anywhere leaves leased rows that another worker takes once the lease runs out;
a leg found `sending` is re-sent with the same leg key, which the platform deduplicates.
A worker told to stop (`run`'s event) claims nothing more and starts no further send (see
`hub.delivery.sending`); step 3 then releases the rows of the sends it handed back, at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bots.base import SendResult
from hub.channels.router import ChannelRouter
from hub.clock import Clock, wait_any
from hub.config import Config, DispatchConfig
from hub.contacts.linking import ownership_state
from hub.delivery.cascade import (
    Audience,
    IdentityView,
    LegState,
    Policy,
    Step,
    advance,
    apply_receipt,
    record_send,
    record_withdrawal,
    summarize,
)
from hub.delivery.sending import Outcome, Send, Sender, WithdrawOutcome
from hub.webhooks import events as webhooks
from storage.repos.notifications import NotificationHead, leg_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.dispatch")


def next_idle_pause(pause: float, config: DispatchConfig) -> float:
    """After an empty round: twice the last pause, up to `idle_poll_max` (a quiet hub stays quiet)."""
    return min(pause * 2, max(config.idle_poll_max, config.poll_interval))


class Dispatcher:
    """One outbox worker; run several (in one process or many) to share the work."""

    def __init__(
        self,
        config: Config,
        uow: Callable[[], UnitOfWork],
        channels: ChannelRouter,
        clock: Clock,
        name: str = "worker",
        doorbell: asyncio.Event | None = None,
    ) -> None:
        self._config = config.dispatch
        self._doorbell = doorbell
        self._uow = uow
        self._sender = Sender(channels, config.dispatch, name)
        self._clock = clock
        self._name = name
        self._policy = Policy(
            activity_days=config.cascade.activity_days,
            last_leg_watch_seconds=config.cascade.last_leg_watch_seconds,
            retry_min_delay=config.dispatch.retry_min_delay,
            retry_max_delay=config.dispatch.retry_max_delay,
            withdraw_attempts=config.cascade.withdraw_attempts,
            withdraw_max_delay=config.cascade.withdraw_max_delay,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, idling briefly when nothing is due."""
        log.info("%s started", self._name)
        pause = self._config.poll_interval
        while not stop.is_set():
            try:
                busy = await self.run_once(stop)
            except Exception:
                log.exception("%s round failed; retrying", self._name)
                busy = 0
                await self._clock.sleep(1.0)
            if busy:
                pause = self._config.poll_interval
            else:  # nothing due: look again soon, then less and less often (at once when rung)
                await self._idle(stop, pause)
                pause = next_idle_pause(pause, self._config)
        log.info("%s stopped", self._name)

    async def _idle(self, stop: asyncio.Event, pause: float) -> None:
        """Wait `pause` seconds, or until stopped or this process queues work."""
        if self._doorbell is None:
            await wait_any(pause, stop)
            return
        await wait_any(pause, stop, self._doorbell)
        self._doorbell.clear()

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """One round; returns how many notifications it handled. `stop` cuts the send step short."""
        now = self._clock.now()
        stop = stop or asyncio.Event()
        async with self._uow() as uow:
            ids = await uow.outbox.claim_due(self._config.batch_size, now, now + self._config.lease_seconds)
            if not ids:
                return 0
            sends, withdraws, audiences = await self._decide(uow, ids, now)
            await uow.commit()
        withdrawn = await self._sender.withdraw_all(withdraws, stop)
        outcomes = await self._sender.send_all(sends, stop)
        if sends or withdraws:
            await self._record(Answers(sends, outcomes, withdraws, withdrawn), audiences)
        return len(ids)

    async def _audiences(
        self, uow: UnitOfWork, notes: dict[str, NotificationHead], now: float
    ) -> dict[str, Audience]:
        contacts = await uow.contacts.get_many(n.contact_id for n in notes.values())
        idents = await uow.contacts.identities(contacts)
        audiences = {}
        for nid, note in notes.items():
            contact = contacts[note.contact_id]
            views = {
                i.channel: IdentityView(i.external_id, i.last_active_at, i.allowed)
                for i in idents.get(contact.id, [])
            }
            audiences[nid] = Audience(
                phone=contact.phone,
                identities=views,
                category=note.category,
                important=note.important,
                opted_out=contact.opted_out,
                ownership=ownership_state(contact.ownership, idents.get(contact.id, []), now),
                marketing_consent=contact.marketing_consent,
            )
        return audiences

    async def _decide(
        self, uow: UnitOfWork, ids: list[str], now: float
    ) -> tuple[list[Send], list[Send], dict[str, Audience]]:
        """Lease taken in the same transaction: lock, run the cascade, mark legs `sending`."""
        sends: list[Send] = []
        withdraws: list[Send] = []
        notes = await uow.notifications.lock(ids)
        legs = await uow.notifications.legs(ids)
        audiences = await self._audiences(uow, notes, now)
        changes = _Changes(now)
        for nid, note in notes.items():
            step = advance(tuple(legs[nid]), audiences[nid], now, self._policy)
            changes.apply(note, legs[nid], step, keep_lease=bool(step.send or step.withdraw))
            sends += [Send(note, step.legs[i]) for i in step.send]
            withdraws += [Send(note, step.legs[i]) for i in step.withdraw]
        await changes.save(uow)
        return sends, withdraws, audiences

    async def _record(self, answers: Answers, audiences: dict[str, Audience]) -> None:
        """Store the answers; a send handed back (None) keeps its `sending` leg and its row is released."""
        now = self._clock.now()
        ids = {s.notification.id for s in [*answers.sends, *answers.withdraws]}
        async with self._uow() as uow:
            notes = await uow.notifications.lock(ids)
            legs = await uow.notifications.legs(ids)
            changes = _Changes(now)
            self._withdrawals(answers, legs, changes)
            for item, outcome in zip(answers.sends, answers.outcomes, strict=True):
                nid, idx = item.notification.id, item.leg.idx
                current = legs[nid][idx]
                if current.status != "sending" or outcome is None:
                    continue
                answer = (
                    (outcome.external_id, outcome.status, outcome.units)
                    if isinstance(outcome, SendResult)
                    else outcome
                )
                legs[nid][idx], event = record_send(current, answer, now, self._policy)
                changes.events.append(_event(nid, now, event))
                changes.legs.append(leg_row(nid, legs[nid][idx]))
            await self._apply_parked(uow, legs, changes)
            for nid, note in notes.items():
                step = advance(tuple(legs[nid]), audiences[nid], now, self._policy)
                if step.send:  # the next leg is ready: leave it to the next round
                    changes.status(note, legs[nid], False)
                    changes.due[nid] = now
                else:
                    changes.apply(note, legs[nid], step, keep_lease=False)
            await changes.save(uow)
            await uow.commit()

    def _withdrawals(self, answers: Answers, legs: dict[str, list[LegState]], changes: _Changes) -> None:
        """Settle (or schedule a retry of) each pending withdrawal; one handed back stays pending."""
        for item, outcome in zip(answers.withdraws, answers.withdrawn, strict=True):
            nid, idx = item.notification.id, item.leg.idx
            current = legs[nid][idx]
            if current.withdrawal != "pending" or outcome is None:
                continue
            legs[nid][idx], event = record_withdrawal(current, outcome, changes.now, self._policy)
            changes.events.append(_event(nid, changes.now, event))
            changes.legs.append(leg_row(nid, legs[nid][idx]))

    async def _apply_parked(
        self, uow: UnitOfWork, legs: dict[str, list[LegState]], changes: _Changes
    ) -> None:
        """Receipts that arrived before their send was recorded."""
        by_key = {
            (leg.channel, leg.external_id): (nid, leg.idx)
            for nid, ls in legs.items()
            for leg in ls
            if leg.external_id
        }
        for receipt in await uow.notifications.take_receipts(by_key):
            nid, idx = by_key[(receipt.channel, receipt.external_id)]
            updated = apply_receipt(legs[nid][idx], receipt.status, receipt.at, receipt.error)
            if updated is not None:
                legs[nid][idx] = updated
                changes.legs.append(leg_row(nid, updated))
                changes.events.append(_event(nid, receipt.at, ("leg_" + receipt.status, idx, receipt.error)))


@dataclass(frozen=True)
class Answers:
    """What the channels said in one round's send step, in the order of the requests."""

    sends: list[Send]
    outcomes: list[Outcome]
    withdraws: list[Send]
    withdrawn: list[WithdrawOutcome]


def _event(nid: str, at: float, event: tuple[str, int | None, str | None]) -> dict[str, Any]:
    kind, leg, detail = event
    return {"notification_id": nid, "at": at, "kind": kind, "leg": leg, "detail": detail}


class _Changes:
    """Rows a round writes back, collected so each table gets one batched statement."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.legs: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.due: dict[str, float] = {}
        self.done: list[str] = []
        self.heads: dict[str, NotificationHead] = {}

    def status(self, note: NotificationHead, legs: list[LegState], final: bool) -> None:
        self.heads[note.id] = note
        status, cost = summarize(legs)
        if status != note.status or cost != note.cost_minor or final != note.final:
            self.notes.append(
                {"id": note.id, "status": status, "cost_minor": cost, "final": final, "updated_at": self.now}
            )
            if final:
                self.events.append(_event(note.id, self.now, ("final_" + status, None, None)))

    def apply(self, note: NotificationHead, before: list[LegState], step: Step, keep_lease: bool) -> None:
        for old, new in zip(before, step.legs, strict=True):
            if new != old:
                self.legs.append(leg_row(note.id, new))
        self.events += [_event(note.id, self.now, e) for e in step.events]
        self.status(note, list(step.legs), step.final)
        if step.final:
            self.done.append(note.id)
        elif not keep_lease:
            assert step.due_at is not None
            self.due[note.id] = step.due_at

    async def save(self, uow: UnitOfWork) -> None:
        await uow.notifications.save_legs(self.legs)
        await uow.notifications.add_events(self.events)
        await uow.notifications.save_status(self.notes)
        await uow.outbox.reschedule(self.due)
        await uow.outbox.remove(self.done)
        await webhooks.emit(uow, webhooks.leg_events(self.heads, self.events, set(self.done)), self.now)
