"""A bearer key of any bytes (not even UTF-8) is a wrong key: 401, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


async def status_of(api: TestClient, request: bytes) -> bytes:  # type: ignore[type-arg]
    """Send raw request bytes (the test client refuses to send undecodable headers); the status code."""
    reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(request)
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return status_line.split()[1]


@pytest.mark.parametrize("key", [b"\xff\xfe", b"nh_\xc3\x28", "ключ".encode(), b"\xed\xa0\x80"])
@pytest.mark.parametrize("path", [b"/v1/templates", b"/v1/keys", b"/v1/threads"])
async def test_a_garbled_bearer_key_gets_401(
    hub: Hub, aiohttp_client: MakeClient, key: bytes, path: bytes
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    head = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
    assert await status_of(api, head + b"\r\nConnection: close\r\n\r\n") == b"401"
