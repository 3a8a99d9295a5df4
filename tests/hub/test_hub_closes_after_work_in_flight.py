"""Closing a hub waits for the database work it started on its own: nothing is left holding a
connection when the engine is disposed (such a connection is never closed: on SQLite, aiosqlite
warns about it whenever the garbage collector finds it, in whatever test runs then)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from datetime import UTC, datetime

from bots.base import InboundMessage
from hub.bootstrap import build_hub
from tests.conftest import make_config
from tests.fakes.clock import FakeClock


async def test_a_group_commit_under_way_finishes_before_the_engine_is_disposed(
    db_url: str, clock: FakeClock
) -> None:
    hub = build_hub(make_config(db_url), clock=clock)
    reply = InboundMessage("vk", "1006", "а когда привезут?", "m-1", datetime.fromtimestamp(clock.now(), UTC))
    applying = asyncio.create_task(hub.ingest.apply([reply]))
    await asyncio.sleep(0)  # the group commit has started in a task of its own
    applying.cancel()  # its caller gave up (a request cut off): the commit goes on regardless
    with contextlib.suppress(asyncio.CancelledError):
        await applying
    await hub.aclose()
    assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing of the hub's still at work
    gc.collect()  # on SQLite an abandoned connection would warn here (an error under filterwarnings)
