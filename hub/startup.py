"""Getting a long-running hub process ready before it takes traffic.

The reply model is loaded up front (otherwise the first customer's reply waits a second or two
for it), then everything alive after start-up is frozen out of the garbage collector: the model,
SQLAlchemy's mappers and aiohttp's routes are hundreds of thousands of objects that live as long
as the process, and walking them in every full collection stalled the event loop for about
100 ms at a time under load (benchmarks/inbound.py's p99).
"""

from __future__ import annotations

import gc
import logging
import time
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
