"""The API SIGKILLed while customers' replies pour in through channel ingress (VK Callback API).

Every reply that got its 200 was committed first; the platform re-posts what got no answer (and,
as VK does, a few that did), and nothing is stored twice. A separate worker delivers the replies'
webhooks, each exactly once, to a receiver that verifies every signature.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from benchmarks.inbound import SECRET, update
from benchmarks.live import free_port, wait_ready
from hub.bootstrap import build_hub
from hub.channels.connections import add_connection, callback_path
from tests.conftest import make_config
from tests.faults.accounting import eventually, hub_process, inbound, reap, twice
from tests.faults.conftest import RecordFault
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client
from tests.support.webhook_receiver import Receiver

MakeServer = Callable[..., Awaitable[TestServer]]
#: Its own bounds (two starts, every webhook, a quiet outbox) add up to more than the suite's 120 s.
pytestmark = pytest.mark.timeout(600)
REPLIES = 300
CUSTOMERS = 30
KILL_AFTER = 100  # answered callbacks
PRIVATE_HOOKS = {"webhooks__allow_private_urls": "true", "webhooks__require_https": "false"}


async def _post_all(
    url: str, numbers: list[int], answered: list[int], enough: asyncio.Event
) -> tuple[list[int], int]:
    """Post each reply once, 16 at a time: the numbers that got no 200, and how many of those were
    cut off mid-request (the others found the server gone)."""
    queue, failed, cut = list(numbers), [], 0
    async with aiohttp.ClientSession() as session:

        async def poster() -> None:
            while queue:
                n = queue.pop(0)
                nonlocal cut
                try:
                    async with session.post(url, data=update(n)) as resp:
                        ok = resp.status == 200
                except aiohttp.ClientConnectorError:
                    ok = False
                except aiohttp.ClientError:
                    ok, cut = False, cut + 1
                (answered if ok else failed).append(n)
                if len(answered) >= KILL_AFTER:
                    enough.set()

        await asyncio.gather(*(poster() for _ in range(16)))
    return failed, cut


def _reply(k: int) -> int:
    """Reply k of the run: customer k % CUSTOMERS (VK peer 700000 + that), a unique message id."""
    return k % CUSTOMERS + 1000 * (k // CUSTOMERS)


async def test_api_killed_mid_ingress_keeps_every_answered_reply_once(
    db_url: str, tmp_path: Path, aiohttp_server: MakeServer, record_fault: RecordFault
) -> None:
    hub = build_hub(make_config(db_url))
    receiver = Receiver()
    hook = await aiohttp_server(receiver.app())
    log, port = tmp_path / "hub.log", free_port()
    base = f"http://127.0.0.1:{port}"
    api = worker = None
    try:
        created, client = await new_client(hub)
        settings = {"group_id": 1, "token": "t", "secret": SECRET, "confirmation": "c"}
        settings["api_base_url"] = "http://127.0.0.1:9"
        connection = await add_connection(
            hub.uow(), client.id, "vk", settings, hub.clock.now(), mode="callback"
        )
        for c in range(CUSTOMERS):
            await link_customer(hub, client.id, f"+791688800{c:02d}", vk=str(700000 + c))
        api = hub_process(["serve", "--no-workers"], db_url, log, server__port=str(port), **PRIVATE_HOOKS)
        worker = hub_process(["worker"], db_url, log, **PRIVATE_HOOKS)
        await wait_ready(base, 60)
        body = {"url": str(hook.make_url("/hook")), "events": ["reply.received"]}
        auth = {"Authorization": f"Bearer {created.api_key}"}
        async with aiohttp.ClientSession(headers=auth) as s, s.post(f"{base}/v1/webhooks", json=body) as resp:
            receiver.secret = (await resp.json())["secret"]

        url = f"{base}{callback_path(connection)}"
        numbers = [_reply(k) for k in range(REPLIES)]
        answered: list[int] = []
        enough = asyncio.Event()
        posting = asyncio.create_task(_post_all(url, numbers, answered, enough))
        await enough.wait()
        api.send_signal(signal.SIGKILL)
        api.wait(10)
        unanswered, cut = await posting
        assert cut, "no callback was under way when the API died: nothing was in flight"
        before = await inbound(hub, [str(10_000 + n) for n in answered])
        assert before.stored_once == len(answered)  # a 200 means committed

        api = hub_process(["serve", "--no-workers"], db_url, log, server__port=str(port), **PRIVATE_HOOKS)
        await wait_ready(base, 60)
        again = unanswered + answered[:30]  # VK re-posts what got no answer, and sometimes more
        assert await _post_all(url, again, [], asyncio.Event()) == ([], 0)
        got = lambda: Counter(int(r.data["text"].rsplit("#", 1)[1]) for r in receiver.got)  # noqa: E731
        await eventually(lambda: _true(len(got()) >= REPLIES), "every reply's webhook arrived", 120)
        await eventually(_quiet(hub), "no webhook left pending", 30)

        result = await inbound(hub, [str(10_000 + n) for n in numbers])
        assert (result.stored_once, result.lost, result.stored_twice) == (REPLIES, 0, 0)
        assert set(got()) == set(numbers) and twice(got()) == 0, log.read_text()[-3000:]
        record_fault(
            "API SIGKILL mid-ingress, platform re-posts",
            f"{cut} callbacks cut off, {len(unanswered)} unanswered of {REPLIES}",
            f"{result.stored_once}/{REPLIES} replies once, {len(got())} webhooks once",
            result.lost,
            result.stored_twice + twice(got()),
        )
    finally:
        for proc in (api, worker):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        reap(api, worker)
        await hub.aclose()


async def _true(value: bool) -> bool:
    return value


def _quiet(hub: object) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with hub.uow() as uow:  # type: ignore[attr-defined]
            return int(await uow.webhooks.pending_count()) == 0

    return check
