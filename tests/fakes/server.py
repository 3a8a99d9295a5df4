"""A tiny aiohttp server on 127.0.0.1 and a random port, the base of every fake HTTP platform."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeServer:
    """Start with `async with`; `url` is the base address once started."""

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._late_answer])
        self._runner: web.AppRunner | None = None
        self.port = 0
        #: Seconds to hold every answer after the request was fully processed: the "answer lost
        #: after the platform acted" fault that makes clients retry something already done.
        self.answer_delay = 0.0

    @web.middleware
    async def _late_answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return response

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Self:
        """Bind a random free port and serve."""
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def close(self) -> None:
        """Stop serving and release the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
