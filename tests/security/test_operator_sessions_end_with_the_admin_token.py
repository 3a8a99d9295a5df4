"""An operator's inbox session is bound to the admin token it signed in with: a new token ends it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import WebConfig
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.inbox_session import sign_in, visit

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
#: Several processes (or restarts) share the session secret, so cookies outlive one process.
WEB = WebConfig(session_secret="shared-session-secret-for-tests")


@pytest.fixture
async def hubs(db_url: str, clock: FakeClock) -> AsyncIterator[Callable[[str], Hub]]:
    """Hubs on one database, each configured with the admin token given."""
    made: list[Hub] = []

    def with_token(token: str) -> Hub:
        made.append(build_hub(make_config(db_url, admin_token=SecretStr(token), web=WEB), clock=clock))
        return made[-1]

    yield with_token
    for hub in made:
        await hub.aclose()


async def test_changing_the_admin_token_ends_operator_sessions(
    hubs: Callable[[str], Hub], aiohttp_client: MakeClient
) -> None:
    before = await aiohttp_client(create_app(hubs("old-admin-token"), run_workers=False))
    cookie = await sign_in(before, "old-admin-token")
    assert (await visit(before, cookie, "/inbox/console")).status == 200

    restarted = await aiohttp_client(create_app(hubs("old-admin-token"), run_workers=False))
    assert (await visit(restarted, cookie, "/inbox/console")).status == 200  # same token: still signed in

    changed = await aiohttp_client(create_app(hubs("new-admin-token"), run_workers=False))
    refused = await visit(changed, cookie, "/inbox/console")
    assert refused.status == 303 and refused.headers["Location"].startswith("/inbox/login")
    fresh = await sign_in(changed, "new-admin-token")
    assert (await visit(changed, fresh, "/inbox/console")).status == 200
