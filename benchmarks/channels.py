"""Sends per second through each real adapter to its fake, and the VK rate limit held.

    .venv/bin/python -m benchmarks.channels [--sends 300] [--vk-sends 60] [--vk-rate 20]

Prints one table row per adapter. The VK row also reports the most requests the fake saw in
any one-second window, which must not exceed the configured rate.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from bots.base import BaseChannel, OutboundMessage
from bots.ok import OkChannel, OkConfig
from bots.smpp import SmppChannel, SmppConfig
from bots.sms import HttpSmsChannel, SmsGatewayConfig
from bots.telegram import TelegramChannel, TelegramConfig
from bots.vk import VkChannel, VkConfig
from tests.fakes.ok_api import FakeOkApi
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.smsc import FakeSmsc
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.vk_api import FakeVkApi

Row = tuple[str, int, float, str]


async def _drive(channel: BaseChannel, recipient: str, sends: int, concurrency: int = 10) -> float:
    """Send `sends` messages with `concurrency` in flight; returns elapsed seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(sends):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await channel.send(OutboundMessage(f"bench:{i}", channel.name, recipient, f"Заказ {i} готов"))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


def _max_per_window(stamps: list[float], window: float = 1.0) -> int:
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while t - stamps[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def bench_vk(sends: int, rate: int) -> Row:
    async with FakeVkApi(rate_limit=rate) as fake:
        config = VkConfig(group_id=1, token=fake.token, api_base_url=fake.api_base_url, rate_limit=rate)
        async with VkChannel(config) as channel:
            elapsed = await _drive(channel, "501", sends)
        stamps = sorted(t for name, _, t in fake.requests if name == "messages.send")
        peak = _max_per_window(stamps)
        note = f"peak {peak} req in any 1 s (limit {rate}): {'held' if peak <= rate else 'EXCEEDED'}"
        return "vk (vkbottle)", len(fake.sent), elapsed, note


async def bench_ok(sends: int) -> Row:
    async with FakeOkApi() as fake, OkChannel(OkConfig(token=fake.token, api_base_url=fake.url)) as channel:
        elapsed = await _drive(channel, "chat:C1", sends)
        return "ok (httpx)", len(fake.sent), elapsed, ""


async def bench_telegram(sends: int) -> Row:
    async with FakeTelegramApi() as fake:
        async with TelegramChannel(TelegramConfig(token=fake.token, api_base_url=fake.url)) as channel:
            elapsed = await _drive(channel, "42", sends)
        return "telegram (aiogram)", len(fake.sent), elapsed, ""


async def bench_sms_http(sends: int) -> Row:
    async with FakeSmsGateway() as fake:
        config = SmsGatewayConfig(api_base_url=fake.url, sender="NotifyHub", token=fake.token)
        async with HttpSmsChannel(config) as channel:
            elapsed = await _drive(channel, "+79990000001", sends)
        return "sms http gateway (httpx)", len(fake.sent), elapsed, ""


async def bench_smpp(sends: int) -> Row:
    async with FakeSmsc() as fake:
        config = SmppConfig(host="127.0.0.1", port=fake.port, system_id="hub", password="secret")
        async with SmppChannel(config) as channel:
            elapsed = await _drive(channel, "+79990000001", sends)
        return "sms smpp (aiosmpplib PDUs)", len(fake.submitted), elapsed, ""


async def main(sends: int, vk_sends: int, vk_rate: int) -> None:
    """Run every benchmark in turn and print the table."""
    benches: list[Callable[[], Awaitable[Row]]] = [
        lambda: bench_vk(vk_sends, vk_rate),
        lambda: bench_ok(sends),
        lambda: bench_telegram(sends),
        lambda: bench_sms_http(sends),
        lambda: bench_smpp(sends),
    ]
    print(f"{'adapter':<28} {'sent':>6} {'seconds':>8} {'sends/s':>9}  notes")
    for bench in benches:
        name, sent, elapsed, note = await bench()
        print(f"{name:<28} {sent:>6} {elapsed:>8.2f} {sent / elapsed:>9.1f}  {note}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--vk-sends", type=int, default=60)
    parser.add_argument("--vk-rate", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.sends, args.vk_sends, args.vk_rate))
