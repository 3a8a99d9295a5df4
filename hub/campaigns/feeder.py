"""The campaign feeder: starts campaigns when due and turns due recipients into notifications.

It feeds the same outbox as single notifications, in batches, and only while the outbox has
little due work, so transactional traffic never queues behind a campaign. Each recipient's
notification carries an idempotency key made of the campaign and the contact: a feeder that dies
after queueing but before recording it queues the same notification again, which the acceptor
answers as a duplicate, so nobody gets a campaign twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.api.schemas import NotifyIn, RouteLeg
from hub.campaigns.launch import freeze
from hub.clock import Clock, wait_any
from hub.delivery.notify import Acceptor
from hub.errors import RequestError
from storage.models import Campaign
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.campaigns")


class CampaignFeeder:
    """One loop per worker process; several processes share the work through leases."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        acceptor: Acceptor,
        clock: Clock,
        *,
        batch: int = 500,
        max_due_backlog: int = 1000,
        lease: float = 60.0,
        idle: float = 1.0,
    ) -> None:
        self._uow = uow
        self._acceptor = acceptor
        self._clock = clock
        self._batch = batch
        self._max_due_backlog = max_due_backlog
        self._lease = lease
        self._idle = idle

    async def run(self, stop: asyncio.Event) -> None:
        """Feed until `stop` is set; a failed round is logged and tried again."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("campaign feeder round failed; trying again")
                busy = False
            if not busy:
                await wait_any(self._idle, stop)

    async def run_once(self) -> bool:
        """One round: start due campaigns, queue one batch of due recipients, finish the done ones."""
        now = self._clock.now()
        async with self._uow() as uow:
            starting = await uow.campaigns.due_to_start(now)
        for campaign in starting:
            await freeze(self._uow(), campaign, now)
        queued = await self._queue_due(now)
        async with self._uow() as uow:
            done = await uow.campaigns.running_without_pending()
            for campaign_id in done:
                await uow.campaigns.set_status(campaign_id, "finished", finished_at=now)
            await uow.commit()
        return bool(starting or queued)

    async def _queue_due(self, now: float) -> int:
        async with self._uow() as uow:
            if await uow.outbox.due_count(now, self._max_due_backlog) >= self._max_due_backlog:
                return 0  # the dispatchers are behind: single notifications go first
            claimed = await uow.campaigns.claim_due(now, self._batch, now + self._lease)
            await uow.commit()
        by_campaign: dict[str, list[dict[str, Any]]] = {}
        for row in claimed:
            by_campaign.setdefault(row["campaign_id"], []).append(row)
        for campaign_id, rows in by_campaign.items():
            await self._queue(campaign_id, rows, now)
        return len(claimed)

    async def _queue(self, campaign_id: str, rows: list[dict[str, Any]], now: float) -> None:
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            client = await uow.clients.get(campaign.client_id) if campaign else None
            phones = await uow.contacts.get_many(r["contact_id"] for r in rows)
        if campaign is None or client is None:
            return
        items = [_item(campaign, row, phones[row["contact_id"]].phone) for row in rows]
        outcomes = await self._acceptor.accept(self._uow(), client, list(items), now)
        marks: dict[str, tuple[str, str | None, str | None]] = {}
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, RequestError):
                marks[row["contact_id"]] = ("skipped", None, outcome.code)
            else:
                marks[row["contact_id"]] = ("queued", outcome.id, None)
        async with self._uow() as uow:
            await uow.campaigns.mark(campaign_id, marks)
            await uow.commit()
        log.info("campaign=%s queued=%d", campaign_id, len(marks))


def _item(campaign: Campaign, row: dict[str, Any], phone: str | None) -> NotifyIn | RequestError:
    """The notification request for one recipient, keyed so a repeat is recognised."""
    if phone is None:
        return RequestError("no_phone", "the contact has no phone number")
    spec = campaign.spec
    action_at = spec.get("action_at")
    return NotifyIn(
        to={"phone": phone},  # type: ignore[arg-type]
        template_id=row["template_id"],
        params=spec.get("params") or {},
        route=[RouteLeg.model_validate(leg) for leg in spec["route"]] if spec.get("route") else None,
        idempotency_key=f"cmp:{campaign.id}:{row['contact_id']}",
        action_at=datetime.fromisoformat(action_at) if action_at else None,
        reference=campaign.id,
    )
