"""How a hub process stops on SIGTERM/SIGINT: stop taking work, finish what is under way, exit 0.

`serve` closes its listeners and waits for the requests being handled (`drain`), then stops its
workers; `worker` stops claiming and lets its dispatchers hand back what they did not start (see
`hub.delivery.sending`). Both then return normally, so the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from hub.api.metrics import Metrics


async def wait_for_signal() -> None:
    """Return at the first SIGTERM or SIGINT (later ones are absorbed while shutting down)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def drain(runner: web.AppRunner, metrics: Metrics, grace: float) -> None:
    """Close the listeners, then wait (up to `grace`) until no request is being handled.

    aiohttp's own shutdown stops reading from open connections, which would strand a request
    whose body is still arriving; this lets it finish first.
    """
    for site in list(runner.sites):
        await site.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(metrics.idle.wait(), grace)
