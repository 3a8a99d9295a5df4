"""The HTTP listener of `notifyhub serve`: every connection is bounded in number and in time.

aiohttp on its own keeps a connection as long as the client likes: idle keep-alive for an hour,
request headers and bodies trickling in forever, and as many connections as the kernel hands
over, until the process runs out of file descriptors and the listener spins on `EMFILE`. Here:

- **idle** keep-alive connections close after `server.keepalive_timeout` (aiohttp's own timer);
- **headers** must arrive within `server.header_timeout` of the connection or of the request's
  first byte, else the connection is closed (`BoundedSite`'s protocol wrapper);
- **bodies** must arrive within `server.body_timeout`: `connection_middleware` reads every body
  up front under that deadline and answers 408 `body_timeout` (handlers then read it from memory);
- **connections** are capped per process at `server.max_connections`, and never more than the
  open-file limit leaves room for; one over the cap is answered 503 and closed at once, and the
  refusals are logged once a minute, not once each.

`BoundedSite` wraps the protocol aiohttp makes for each connection (the plain asyncio
`Protocol` interface, nothing of aiohttp's internals), so what is counted is the socket.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from hub.config import ServerConfig
from hub.errors import RequestError

log = logging.getLogger("notifyhub.listener")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BUSY_BODY = (
    b'{"error": {"code": "too_many_connections", "message": "the server is at its connection limit"}}'
)
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)
#: Seconds between two "refused connections" log lines, however many are refused.
_REFUSAL_LOG_EVERY = 60.0


def connection_cap(configured: int, open_files: int | None = None) -> int:
    """`configured`, held under the open-file limit with room for everything else the process opens."""
    if open_files is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        open_files = soft if soft != resource.RLIM_INFINITY else None
    if open_files is None:
        return configured
    return max(1, min(configured, open_files - max(64, open_files // 4)))


class Connections:
    """The open connections of one process and the cap on them."""

    def __init__(self, server: ServerConfig) -> None:
        self.cap = connection_cap(server.max_connections)
        self.header_timeout = server.header_timeout
        self.open: set[_Bounded] = set()
        self._refused = 0
        self._last_log = -_REFUSAL_LOG_EVERY

    def admit(self, conn: _Bounded) -> bool:
        """Count a new connection in, or refuse it when the cap is reached."""
        if len(self.open) < self.cap:
            self.open.add(conn)
            return True
        self._refused += 1
        now = asyncio.get_running_loop().time()
        if now - self._last_log >= _REFUSAL_LOG_EVERY:
            log.warning(
                "at the connection cap (%d open): refusing; %d refused since the last report",
                self.cap,
                self._refused,
            )
            self._refused, self._last_log = 0, now
        return False


class _Bounded(asyncio.Protocol):
    """aiohttp's protocol for one connection, plus the cap and the header deadline."""

    def __init__(self, inner: Any, connections: Connections) -> None:
        self._inner = inner
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._busy = False
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._connections.admit(self):
            transport.write(_BUSY)
            transport.close()
            return
        self._admitted = True
        self._inner.connection_made(transport)
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        if not self._busy and self._deadline is None:  # the first byte of the next request
            self._await_headers()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.open.discard(self)
        self._cancel_deadline()
        if self._admitted:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def request_started(self) -> None:
        """The headers are in and a handler runs: the header deadline is met."""
        self._busy = True
        self._cancel_deadline()

    def request_finished(self) -> None:
        """Back to waiting: idle time is aiohttp's keep-alive timer's, headers ours from the first byte."""
        self._busy = False

    def _await_headers(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._connections.header_timeout, self._headers_late)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if not self._busy and self._transport is not None:
            log.debug(
                "closed a connection whose request headers took over %.1f s", self._connections.header_timeout
            )
            self._transport.close()


class BoundedSite(web.BaseSite):
    """A TCP site whose connections are bounded (see the module docstring)."""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, server: ServerConfig, *, reuse_port: bool = False
    ) -> None:
        super().__init__(runner)
        self._host, self._port, self._reuse_port = host, port, reuse_port
        self._listening: asyncio.Server | None = None
        self.connections = Connections(server)

    @property
    def name(self) -> str:
        """The address, as aiohttp prints it."""
        return f"http://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        if self._listening is not None and self._listening.sockets:
            return int(self._listening.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        """Listen; each connection gets aiohttp's protocol inside a `_Bounded` one."""
        await super().start()
        make = self._runner.server
        assert make is not None
        loop = asyncio.get_running_loop()
        self._server = self._listening = await loop.create_server(
            lambda: _Bounded(make(), self.connections), self._host, self._port, reuse_port=self._reuse_port
        )


def runner_options(server: ServerConfig) -> dict[str, Any]:
    """`web.AppRunner` keyword arguments for these settings: idle timeout, and how long to drain a
    body that is refused (too large, too slow) before closing, so the client still reads the answer."""
    return {
        "keepalive_timeout": server.keepalive_timeout,
        "lingering_time": min(10.0, server.body_timeout),
        "shutdown_timeout": server.shutdown_grace,
    }


def streams_body(handler: Handler) -> Handler:
    """Mark a handler that reads its (large) body as a stream: the middleware does not read it first."""
    handler.streams_body = True  # type: ignore[attr-defined]
    return handler


def connection_middleware(server: ServerConfig) -> Middleware:
    """Marks the connection busy while a handler runs, and reads each body under `body_timeout`."""

    @web.middleware
    async def bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        conn = transport.get_protocol() if transport is not None else None
        if isinstance(conn, _Bounded):
            conn.request_started()
        try:
            if request.body_exists and not getattr(request.match_info.handler, "streams_body", False):
                try:
                    async with asyncio.timeout(server.body_timeout):
                        await request.read()  # kept by aiohttp: read(), text(), json() and post() reuse it
                except TimeoutError:
                    message = f"the request body did not arrive within {server.body_timeout:g} s"
                    raise RequestError("body_timeout", message, status=408) from None
            return await handler(request)
        finally:
            if isinstance(conn, _Bounded):
                conn.request_finished()

    return bounded
