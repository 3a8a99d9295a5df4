"""The send step on stop: sends under way finish, those not started are handed back (None)."""

from __future__ import annotations

import asyncio

from bots.base import BaseChannel, OutboundMessage, SendResult
from hub.channels.router import ChannelRouter
from hub.config import DispatchConfig
from hub.delivery.cascade import LegState
from hub.delivery.sending import Send, Sender
from storage.repos.notifications import NotificationHead


class _Gate(BaseChannel):
    """A platform that takes each send and answers only when the test opens the gate."""

    name = "vk"

    def __init__(self, busy_at: int = 1) -> None:
        self.started: list[str] = []
        self.gate = asyncio.Event()
        #: Set once `busy_at` sends have reached the platform.
        self.busy = asyncio.Event()
        self._busy_at = busy_at

    async def send(self, message: OutboundMessage) -> SendResult:
        self.started.append(message.leg_key)
        if len(self.started) >= self._busy_at:
            self.busy.set()
        await self.gate.wait()
        return SendResult(external_id=f"x-{message.leg_key}")


def _sends(n: int) -> list[Send]:
    head = NotificationHead("ntf", "cli", "con", "text", "service", False, "queued", False, 0)
    return [
        Send(head._replace(id=f"ntf{i}"), LegState(0, "vk", "delivered", recipient="1")) for i in range(n)
    ]


def _sender(adapter: BaseChannel, concurrency: int, grace: float) -> Sender:
    router = ChannelRouter()
    router.connect("cli", "vk", adapter)
    return Sender(router, DispatchConfig(send_concurrency=concurrency, shutdown_grace=grace), "test")


async def test_stop_lets_started_sends_finish_and_hands_back_the_rest() -> None:
    adapter, stop = _Gate(busy_at=2), asyncio.Event()
    round_ = asyncio.create_task(_sender(adapter, 2, 30).send_all(_sends(5), stop))
    await adapter.busy.wait()
    stop.set()
    adapter.gate.set()
    outcomes = await round_
    assert adapter.started == ["ntf0.0", "ntf1.0"]
    assert [type(o).__name__ for o in outcomes] == [
        "SendResult",
        "SendResult",
        "NoneType",
        "NoneType",
        "NoneType",
    ]


async def test_a_send_still_running_after_the_grace_period_is_cut_off_and_handed_back() -> None:
    adapter, stop = _Gate(busy_at=3), asyncio.Event()
    round_ = asyncio.create_task(_sender(adapter, 10, 0.01).send_all(_sends(3), stop))
    await adapter.busy.wait()
    stop.set()  # the gate never opens
    assert await round_ == [None, None, None]
    assert len(adapter.started) == 3


async def test_without_stop_every_send_completes() -> None:
    adapter = _Gate()
    adapter.gate.set()
    outcomes = await _sender(adapter, 2, 30).send_all(_sends(5), asyncio.Event())
    assert all(isinstance(o, SendResult) for o in outcomes)
