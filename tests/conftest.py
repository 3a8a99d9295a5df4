"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and a wired hub with fakes.

PostgreSQL tests make a fresh database per run (dropped afterwards) on the server named by
NOTIFYHUB_TEST_PG_URL (default: the project's local server). Without a server they are skipped,
except under CI=true, where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hub.bootstrap import Hub, build_hub
from hub.config import Config, load_config
from storage.migrate import upgrade
from tests.fakes.clock import FakeClock
from tests.support.logs import logged  # noqa: F401  (a fixture for every test package)

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("NOTIFYHUB_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
#: Seals stored tokens in tests (PostgreSQL refuses to start without a key).
TEST_SECRET_KEY = "dGVzdHMtb25seS1rZXktbm90LWZvci1wcm9kdWN0aW8="
TABLES = (
    "segments, group_members, contact_groups, contact_attributes, "
    "campaign_recipients, campaigns, link_tokens, webhook_deliveries, webhook_endpoints, "
    "classifier_feedback, threads, "
    "connections, sandbox_messages, inbound_messages, pending_receipts, outbox, notification_events, "
    "legs, notifications, identities, contacts, templates, web_sessions, api_keys, clients, audit_log, "
    "reader_leases"
)


def _pg_dsn(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _secret_key_env() -> Iterator[None]:
    """CLI and subprocess tests read os.environ: they get the same key as `make_config`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NOTIFYHUB_SECRET_KEY", TEST_SECRET_KEY)
        yield


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run; dropped at the end."""
    name = f"notifyhub_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_URL}: {e}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {e}")
    url = _pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://")
    upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is faster)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Each database test runs on SQLite and on PostgreSQL, starting empty."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")

    async def _truncate() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    asyncio.run(_truncate())
    return url


def make_config(db_url: str, **overrides: Any) -> Config:
    """The repository's config.yaml (sandbox customers included) on the given database.

    Webhook receivers in tests listen on http://127.0.0.1, which the configuration must allow.
    """
    environ = {
        "NOTIFYHUB_DATABASE__URL": db_url,
        "NOTIFYHUB_ADMIN_TOKEN": "admin-secret",
        "NOTIFYHUB_SECRET_KEY": TEST_SECRET_KEY,
        "NOTIFYHUB_WEBHOOKS__ALLOW_PRIVATE_URLS": "true",
        "NOTIFYHUB_WEBHOOKS__REQUIRE_HTTPS": "false",
    }
    base = load_config(ROOT / "config.yaml", environ=environ)
    return base.model_copy(update=overrides)


@pytest.fixture
def clock() -> FakeClock:
    """Time under the test's control."""
    return FakeClock()


@pytest.fixture
async def hub(db_url: str, clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub on the test database with the sandbox network and a fake clock."""
    wired = build_hub(make_config(db_url), clock=clock)
    yield wired
    await wired.aclose()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many PostgreSQL tests passed, so CI can insist they ran."""
    passed = terminalreporter.stats.get("passed", [])
    count = sum(1 for report in passed if "postgresql" in report.nodeid.partition("[")[2])
    terminalreporter.write_line(f"PostgreSQL tests passed: {count}")
