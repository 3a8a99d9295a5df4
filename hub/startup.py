"""Getting a long-running hub process ready before it takes traffic.

The reply model is loaded up front (otherwise the first customer's reply waits a second or two
for it), then everything alive after start-up is frozen out of the garbage collector: the model,
SQLAlchemy's mappers and aiohttp's routes are hundreds of thousands of objects that live as long
as the process, and walking them in every full collection stalled the event loop for about
100 ms at a time under load (benchmarks/inbound.py's p99).

While it runs, freed heap pages are handed back to the system once a minute (`malloc_trim`):
glibc keeps them otherwise, and the API process's resident memory crept up by about 0.4 MB a
minute in benchmarks/soak.py while its live memory stayed flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

log = logging.getLogger("notifyhub.startup")


class Warmable(Protocol):
    """What start-up needs of the reply handler."""

    def warm(self) -> None:
        """Load what the first reply would otherwise wait for."""
        ...


def ready_for_traffic(replies: Warmable) -> None:
    """Load the reply model, then exempt the start-up heap from garbage collection (`gc.freeze`)."""
    started = time.perf_counter()
    replies.warm()
    gc.collect()
    gc.freeze()
    took = time.perf_counter() - started
    log.info("ready in %.2fs (%d long-lived objects frozen)", took, gc.get_freeze_count())


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, where there is one."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


async def return_free_heap(
    stop: asyncio.Event, interval: float = 60.0, trim: Callable[[int], int] | None = None
) -> None:
    """Until `stop`: every `interval` seconds, give the allocator's free pages back to the system."""
    trim = trim or _malloc_trim()
    if trim is None:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        trim(0)


@contextlib.asynccontextmanager
async def free_heap_returned(interval: float = 60.0) -> AsyncIterator[None]:
    """`return_free_heap` in the background for the duration of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(return_free_heap(stop, interval))
    try:
        yield
    finally:
        stop.set()
        await task
