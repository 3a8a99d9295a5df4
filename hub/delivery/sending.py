"""The dispatcher's send step: call the channels with no transaction open, and stop cleanly.

Sends of one round run concurrently, at most `dispatch.send_concurrency` at once, each under a
hard timeout. Once the worker is told to stop, no further send starts; those already under way
get `dispatch.shutdown_grace` seconds, then are cut off. Either way their outcome is `None`
("handed back"): the dispatcher's record step releases the row at once, so another worker sends
the leg (with the same leg key, which the platform deduplicates) without waiting out a lease.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bots.base import OutboundMessage, SendResult
from hub.channels.router import ChannelRouter
from hub.config import DispatchConfig
from hub.contacts.phones import mask_phone
from hub.delivery.cascade import LegState, WithdrawAnswer
from hub.errors import ChannelError, ChannelUnavailable
from storage.repos.notifications import NotificationHead

log = logging.getLogger("notifyhub.dispatch")
SEND_TIMEOUT = 30.0
#: A withdrawal holds the next leg back: it gets less time than a send.
WITHDRAW_TIMEOUT = 10.0

#: A channel's answer, our error, or None: the send was handed back (never started, or cut off on stop).
Outcome = SendResult | ChannelError | None
#: The same for withdrawing an expired leg's message.
WithdrawOutcome = WithdrawAnswer | ChannelError | None


@dataclass(frozen=True)
class Send:
    """One leg of one notification to hand to its channel."""

    notification: NotificationHead
    leg: LegState

    def message(self) -> OutboundMessage:
        """The adapter's view of it; the leg key makes a resend recognisable to the platform."""
        return OutboundMessage(
            leg_key=f"{self.notification.id}.{self.leg.idx}",
            channel=self.leg.channel,  # type: ignore[arg-type]
            recipient=self.leg.recipient or "",
            text=self.notification.text,
            category=self.notification.category,
        )

    def masked(self) -> str:
        """The recipient as logs may show it."""
        leg = self.leg
        return mask_phone(leg.recipient) if leg.channel == "sms" else f"{leg.channel}:{leg.recipient}"


class Sender:
    """Talks to the channels for one dispatcher."""

    def __init__(self, channels: ChannelRouter, config: DispatchConfig, name: str) -> None:
        self._channels = channels
        self._concurrency = config.send_concurrency
        self._grace = config.shutdown_grace
        self._name = name

    async def send_all(self, sends: list[Send], stop: asyncio.Event) -> list[Outcome]:
        """Each send's outcome, in order; None for those handed back because `stop` was set."""
        gate = asyncio.Semaphore(self._concurrency)

        async def gated(item: Send) -> Outcome:
            async with gate:
                return None if stop.is_set() else await self.send_one(item)

        tasks = [asyncio.create_task(gated(s)) for s in sends]
        try:
            await settle(tasks, stop, self._grace)
        finally:
            for task in tasks:
                task.cancel()  # a no-op for finished ones; the round itself was cancelled otherwise
        outcomes = [None if t.cancelled() else t.result() for t in tasks]
        if stop.is_set() and None in outcomes:
            log.info("%s stopping: %d of %d sends handed back", self._name, outcomes.count(None), len(tasks))
        return outcomes

    async def send_one(self, item: Send) -> SendResult | ChannelError:
        """One send; every failure becomes our error type, so the cascade can decide."""
        leg, nid = item.leg, item.notification.id
        try:
            adapter = self._channels.adapter(item.notification.client_id, leg.channel)
            async with asyncio.timeout(SEND_TIMEOUT):
                result = await adapter.send(item.message())
            log.debug("sent ntf=%s leg=%s to=%s id=%s", nid, leg.idx, item.masked(), result.external_id)
            return result
        except ChannelError as e:
            log.warning("send failed ntf=%s leg=%s to=%s: %r", nid, leg.idx, item.masked(), e)
            return e
        except TimeoutError:
            return ChannelUnavailable("send timed out", channel=leg.channel, code="timeout")
        except Exception as e:  # an adapter bug must not kill the worker: retry later
            log.exception("adapter crashed ntf=%s leg=%s", nid, leg.idx)
            return ChannelUnavailable(
                f"adapter error: {type(e).__name__}", channel=leg.channel, code="adapter_error"
            )

    async def withdraw_all(self, items: list[Send], stop: asyncio.Event) -> list[WithdrawOutcome]:
        """Withdraw expired messenger messages concurrently; None for those handed back on stop."""
        gate = asyncio.Semaphore(self._concurrency)

        async def gated(item: Send) -> WithdrawOutcome:
            async with gate:
                return None if stop.is_set() else await self.withdraw_one(item)

        return list(await asyncio.gather(*(gated(item) for item in items)))

    async def withdraw_one(self, item: Send) -> WithdrawAnswer | ChannelError:
        """One withdrawal; every failure becomes our error type, so the cascade can decide."""
        leg, nid = item.leg, item.notification.id
        try:
            adapter = self._channels.adapter(item.notification.client_id, leg.channel)
            if not adapter.can_withdraw or not leg.external_id:
                return "unsupported"
            async with asyncio.timeout(WITHDRAW_TIMEOUT):
                done = await adapter.withdraw(item.message(), leg.external_id)
            log.debug("withdraw ntf=%s leg=%s id=%s: %s", nid, leg.idx, leg.external_id, done)
            return "withdrawn" if done else "refused"
        except ChannelError as e:
            log.warning("withdraw failed ntf=%s leg=%s: %r", nid, leg.idx, e)
            return e
        except TimeoutError:
            return ChannelUnavailable("withdraw timed out", channel=leg.channel, code="timeout")
        except Exception as e:  # an adapter bug must not kill the worker: retried, then given up
            log.exception("adapter crashed withdrawing ntf=%s leg=%s", nid, leg.idx)
            return ChannelUnavailable(
                f"adapter error: {type(e).__name__}", channel=leg.channel, code="adapter_error"
            )


async def settle(tasks: list[asyncio.Task[Outcome]], stop: asyncio.Event, grace: float) -> None:
    """Wait for every task; once `stop` is set, `grace` seconds more at most, then cancel the rest."""
    if not tasks:
        return
    everything = asyncio.ensure_future(asyncio.wait(tasks))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((everything, stopping), return_when=asyncio.FIRST_COMPLETED)
        if not everything.done():
            await asyncio.wait((everything,), timeout=grace)
    finally:
        everything.cancel()
        stopping.cancel()
    late = [t for t in tasks if not t.done()]
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
