"""The agents' inbox in a real browser: a reply arrives live, is answered, its delivery shows, resolved."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.security.accounts import create_agent
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item, step

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROUTE = [{"channel": "vk", "ttl": 60}, {"channel": "sms"}]


@pytest.fixture
async def running(hub: Hub, clock: FakeClock) -> AsyncIterator[None]:
    """Workers and the sandbox ticking in the background (half a pretend second per real 50 ms)."""

    async def tick() -> None:
        while True:
            await step(hub, clock)
            await asyncio.sleep(0.05)

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_agent_sees_reply_live_answers_and_resolves(
    hub: Hub, clock: FakeClock, browser: Browser, aiohttp_server: Callable[..., Awaitable[Any]], running: None
) -> None:
    server = await aiohttp_server(create_app(hub, run_workers=False))
    base = f"http://127.0.0.1:{server.port}"
    _, client = await new_client(hub, "Pizza Ltd")
    agent = await create_agent(hub.uow(), client.id, "Marina", clock.now())
    template = await approved_template(hub, client.id, context="delivery")
    page = await browser.new_page(
        viewport={"width": 1280, "height": 800}, extra_http_headers={"Accept-Language": "ru"}
    )
    await page.goto(f"{base}/inbox/login")
    await page.fill("#key", agent.api_key)
    await page.click("button[type=submit]")
    assert page.url.endswith("/inbox/threads")
    await expect(page.locator(".note")).to_have_text("Обращений пока нет.")

    # the customer answers a delivery notice; the list updates without a reload
    await accept(hub, client, [notify_item(template.id, "+79990000006", route=ROUTE)])
    row = page.locator("li.thread-row")
    await expect(row).to_have_count(1, timeout=20_000)
    await expect(row).to_contain_text("а когда привезут?")
    await expect(row).to_contain_text("+7999***0006")
    await expect(row.locator(".label-question")).to_be_visible()

    # a hostile reply is shown as text
    hostile = "<script>document.title='pwned'</script><b>bold?</b>"
    await hub.ingest.apply(
        [InboundMessage("vk", "1006", hostile, "xss-1", datetime.fromtimestamp(clock.now(), UTC))]
    )
    await expect(row).to_contain_text("<script>", timeout=20_000)
    await page.screenshot(path=str(DOCS / "inbox.png"), full_page=True)

    await row.locator("a").click()
    thread_url = page.url
    notice = page.locator("li.notification")
    await expect(notice.locator(".bubble")).to_contain_text("Ваш заказ 77031 доставлен")
    await expect(notice.locator(".leg-read .delivery")).to_have_text("прочитано")
    await expect(page.locator(".msg-in .bubble").filter(has_text="<script>")).to_have_text(hostile)
    assert await page.title() != "pwned"
    await page.fill("#answer", "Курьер будет у вас сегодня до 18:00.")
    await page.click(".answer button")
    sent = page.locator(".msg-out").last
    await expect(sent.locator(".bubble")).to_have_text("Курьер будет у вас сегодня до 18:00.")
    await expect(sent.locator(".delivery")).to_have_text(
        "прочитано", timeout=30_000
    )  # the sandbox customer read it
    await page.locator("form[action$='/assign'] button").click()
    await expect(page.locator("h1")).to_contain_text("Marina")
    await page.screenshot(path=str(DOCS / "thread.png"), full_page=True)
    await page.locator("form[action$='/resolve'] button").click()
    await expect(page.locator("h1 .chip")).to_have_text("решено")

    # another client's agent gets "not found", never the conversation
    _, other = await new_client(hub, "Other shop")
    stranger = await create_agent(hub.uow(), other.id, "Ivan", clock.now())
    context = await browser.new_context()
    other_page = await context.new_page()
    await other_page.goto(f"{base}/inbox/login?lang=en")
    await other_page.fill("#key", stranger.api_key)
    await other_page.click("button[type=submit]")
    answer = await other_page.goto(thread_url)
    assert answer is not None and answer.status == 404
    assert "а когда привезут" not in await other_page.content()
    await context.close()


async def test_expired_or_forged_session_goes_back_to_sign_in(
    hub: Hub, clock: FakeClock, browser: Browser, aiohttp_server: Callable[..., Awaitable[Any]]
) -> None:
    server = await aiohttp_server(create_app(hub, run_workers=False))
    base = f"http://127.0.0.1:{server.port}"
    created, _ = await new_client(hub)
    page = await browser.new_page()
    await page.goto(f"{base}/inbox/login?lang=en")
    await page.fill("#key", created.api_key)
    await page.click("button[type=submit]")
    assert page.url.endswith("/inbox/threads")
    clock.advance(hub.config.web.session_minutes * 60 + 1)
    await page.goto(f"{base}/inbox/threads")
    assert "/inbox/login" in page.url
    await expect(page.locator(".note")).to_have_text("Your session has expired. Sign in again.")
    cookies = await page.context.cookies()
    assert all(c["httpOnly"] for c in cookies if c["name"] == "nh_session")
    await page.context.add_cookies([{"name": "nh_session", "value": "forged.value", "url": base}])
    await page.goto(f"{base}/inbox/threads")
    assert "/inbox/login" in page.url
