"""Connections to the API are bounded: idle, slow-header and slow-body ones closed, their number capped.

Real sockets against the listener `notifyhub serve` uses (`BoundedSite`), with small timeouts
from the configuration. The only time bound is a generous one on "the server closed it".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from benchmarks.live import free_port, wait_ready
from hub.api.app import create_app
from hub.api.listener import BoundedSite, connection_cap, runner_options
from hub.bootstrap import build_hub
from hub.config import ServerConfig, load_config
from tests.conftest import ROOT, make_config

#: Generous: the server is told to close after half a second.
CLOSED_WITHIN = 30.0
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: what is tested is the listener, not the database."""
    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def serve(db_url: str, **server: object) -> AsyncIterator[BoundedSite]:
    settings = ServerConfig.model_validate(server)
    hub = build_hub(make_config(db_url).model_copy(update={"server": settings}))
    runner = web.AppRunner(create_app(hub, run_workers=False), **runner_options(settings))
    await runner.setup()
    site = BoundedSite(runner, "127.0.0.1", 0, settings)
    await site.start()
    try:
        yield site
    finally:
        await runner.cleanup()
        await hub.aclose()


@pytest.fixture
async def quick(db_url: str) -> AsyncIterator[BoundedSite]:
    """Idle connections and slow requests closed after half a second."""
    async for site in serve(db_url, keepalive_timeout=0.5, header_timeout=0.5, body_timeout=0.5):
        yield site


@pytest.fixture
async def patient(db_url: str) -> AsyncIterator[BoundedSite]:
    """Idle connections kept a minute, slow headers closed after half a second, five connections at most."""
    async for site in serve(db_url, keepalive_timeout=60, header_timeout=0.5, max_connections=5):
        yield site


async def connect(site: BoundedSite) -> Conn:
    return await asyncio.open_connection("127.0.0.1", site.port)


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    received = b""
    async with asyncio.timeout(CLOSED_WITHIN):
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                received += chunk
    return received


async def answered(conn: Conn) -> bytes:
    """Send one keep-alive request and read its answer's status line and headers."""
    reader, writer = conn
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
    )
    await reader.readexactly(length)
    return head


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send `data` a byte at a time, slowly, until the server hangs up."""
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)


async def test_an_idle_keep_alive_connection_is_closed(quick: BoundedSite) -> None:
    reader, writer = conn = await connect(quick)
    assert (await answered(conn)).startswith(b"HTTP/1.1 200")
    assert await until_closed(reader) == b""
    writer.close()


async def test_a_connection_that_never_sends_a_request_is_closed(quick: BoundedSite) -> None:
    reader, writer = await connect(quick)
    assert await until_closed(reader) == b""
    writer.close()


async def test_slow_headers_are_closed_even_when_idle_ones_may_stay(patient: BoundedSite) -> None:
    reader, writer = await connect(patient)
    assert (await answered((reader, writer))).startswith(b"HTTP/1.1 200")
    slow = asyncio.create_task(trickle(writer, b"GET /healthz HTTP/1.1\r\n" + b"X-Slow: yes\r\n" * 1000))
    await until_closed(reader)
    slow.cancel()
    writer.close()


async def test_a_slow_body_is_answered_408_and_closed(quick: BoundedSite) -> None:
    reader, writer = await connect(quick)
    head = b"POST /v1/notify HTTP/1.1\r\nHost: hub\r\nContent-Length: 1000\r\n\r\n"
    writer.write(head + b'{"to": ')
    slow = asyncio.create_task(trickle(writer, b" " * 990))
    received = await until_closed(reader)
    slow.cancel()
    writer.close()
    assert received.startswith(b"HTTP/1.1 408") and b'"body_timeout"' in received


async def test_connections_over_the_cap_are_refused_with_one_log_line(
    patient: BoundedSite, caplog: pytest.LogCaptureFixture
) -> None:
    held = [await connect(patient) for _ in range(5)]
    for conn in held:
        assert (await answered(conn)).startswith(b"HTTP/1.1 200")
    with caplog.at_level(logging.WARNING, logger="notifyhub.listener"):
        for _ in range(20):
            reader, writer = await connect(patient)
            refused = await until_closed(reader)
            writer.close()
            assert refused.startswith(b"HTTP/1.1 503") and b"too_many_connections" in refused
    assert len([r for r in caplog.records if r.name == "notifyhub.listener"]) == 1
    held[0][1].close()
    for _ in range(1000):  # the server notices the close, then has room again
        if len(patient.connections.open) < 5:
            break
        await asyncio.sleep(0.01)
    again = await connect(patient)
    assert (await answered(again)).startswith(b"HTTP/1.1 200")
    for _, writer in [*held[1:], again]:
        writer.close()


def test_the_cap_leaves_room_under_the_open_file_limit() -> None:
    assert connection_cap(1000, open_files=300) == 225  # a quarter stays for the database, channels, logs
    assert connection_cap(1000, open_files=1024) == 768
    assert connection_cap(1000, open_files=1_048_576) == 1000
    assert connection_cap(1000, open_files=50) == 1


def test_the_settings_have_defaults_and_come_from_the_environment() -> None:
    defaults = load_config(None, environ={}).server
    assert (defaults.keepalive_timeout, defaults.header_timeout, defaults.body_timeout) == (75, 10, 30)
    assert defaults.max_connections == 1000
    tuned = load_config(None, environ={"NOTIFYHUB_SERVER__MAX_CONNECTIONS": "50"}).server
    assert tuned.max_connections == 50


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[int]:
    """`notifyhub serve` as a process, closing idle connections after half a second."""
    port = free_port()
    env = dict(
        os.environ,
        NOTIFYHUB_DATABASE__URL=db_url,
        NOTIFYHUB_SERVER__PORT=str(port),
        NOTIFYHUB_SERVER__KEEPALIVE_TIMEOUT="0.5",
        NOTIFYHUB_LOGGING__LEVEL="WARNING",
    )
    cmd = [sys.executable, "-m", "hub", "serve", "--no-workers", "--config", str(ROOT / "config.yaml")]
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


async def test_notifyhub_serve_closes_idle_connections(served: int) -> None:
    await wait_ready(f"http://127.0.0.1:{served}")
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(REQUEST)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    await until_closed(reader)
    writer.close()
