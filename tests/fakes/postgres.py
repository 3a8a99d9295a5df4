"""A PostgreSQL server that is shutting down: it answers every start-up with FATAL 57P03.

Speaks just enough of the wire protocol (SSLRequest refused, then an ErrorResponse to the
StartupMessage) for asyncpg to raise the same error a real server gives while it stops.
"""

from __future__ import annotations

import asyncio
import struct
from types import TracebackType
from typing import Self

_SSL_REQUEST = 80877103


def _error_response(code: str, message: str) -> bytes:
    fields = b"".join(
        kind + text.encode() + b"\0"
        for kind, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


class ShuttingDownPostgres:
    """Start with `async with`; `url` is an asyncpg URL to it."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self.port = 0
        #: Start-ups refused so far.
        self.refused = 0

    @property
    def url(self) -> str:
        """`postgresql+asyncpg://...` for the hub's configuration."""
        return f"postgresql+asyncpg://127.0.0.1:{self.port}/notifyhub"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length, code = struct.unpack("!ii", await reader.readexactly(8))
                await reader.readexactly(length - 8)
                if code == _SSL_REQUEST:
                    writer.write(b"N")
                    continue
                self.refused += 1
                writer.write(_error_response("57P03", "the database system is shutting down"))
                await writer.drain()
                return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
