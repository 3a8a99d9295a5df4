"""Connections made before callback tokens existed get a random one each from the migration."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from hub.conversations.callback_auth import token_shaped
from storage.db import create_engine
from storage.migrate import upgrade
from tests.conftest import _pg_admin, _pg_dsn

CONNECTION = (
    "INSERT INTO connections (client_id, channel, name, settings, mode, status, created_at, updated_at) "
    "VALUES ('cli_1', :channel, :channel, '{}', 'callback', 'ok', 0, 0)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema yet, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"notifyhub_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {e}")
        pytest.skip(f"PostgreSQL not reachable: {e}")
    yield _pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://")
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _tokens(url: str) -> list[tuple[int, str]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            found = await conn.execute(text("SELECT id, callback_token FROM connections ORDER BY id"))
            return [(int(i), str(t)) for i, t in found.all()]
    finally:
        await engine.dispose()


def _old_rows(url: str) -> None:
    async def insert() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO clients (id, name, created_at) VALUES ('cli_1', 'Shop', 0)")
                )
                for channel in ("vk", "sms", "ok"):
                    await conn.execute(text(CONNECTION), {"channel": channel})
        finally:
            await engine.dispose()

    asyncio.run(insert())


def test_existing_connections_get_distinct_random_tokens(empty_db: str) -> None:
    upgrade(empty_db, "0005")
    _old_rows(empty_db)
    upgrade(empty_db)
    rows = asyncio.run(_tokens(empty_db))
    tokens = [token for _, token in rows]
    assert [i for i, _ in rows] == [1, 2, 3]
    assert len(set(tokens)) == 3 and all(token_shaped(t) and len(t) == 32 for t in tokens)
