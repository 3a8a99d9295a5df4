"""The operator console in a real browser: sign in, moderate, see connection health and the dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from hub.api.app import create_app
from hub.api.schemas import TemplateIn
from hub.bootstrap import Hub
from hub.delivery.moderation import submit
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item, step

DOCS = Path(__file__).resolve().parents[2] / "docs"
XSS = "Заказ #order# готов <script>document.title='pwned'</script><img src=x onerror=alert(1)>"


async def _server(hub: Hub, aiohttp_server: Callable[..., Awaitable[Any]]) -> str:
    server = await aiohttp_server(create_app(hub, run_workers=False))
    return f"http://127.0.0.1:{server.port}"


async def _sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(f"{base}/inbox/login?lang=en")
    await page.fill("#key", key)
    await page.click("button[type=submit]")


async def test_operator_signs_in_and_approves_a_template(
    hub: Hub, clock: FakeClock, browser: Browser, aiohttp_server: Callable[..., Awaitable[Any]]
) -> None:
    base = await _server(hub, aiohttp_server)
    _, client = await new_client(hub, "Pizza Ltd")
    body = TemplateIn(name="delivered", text="Ваш заказ #order# доставлен.", category="service")
    template = await submit(hub.uow(), client.id, body, clock.now())
    hostile = await submit(
        hub.uow(), client.id, TemplateIn(name="hostile", text=XSS, category="service"), clock.now()
    )
    page = await browser.new_page(viewport={"width": 1280, "height": 800})

    await _sign_in(page, base, "wrong-key")
    assert await page.locator("[role=alert]").inner_text() == "This key is not valid."
    await _sign_in(page, base, "admin-secret")
    assert page.url.endswith("/inbox/console")
    card = page.locator(f"article[data-id='{template.id}']")
    assert "Ваш заказ #order# доставлен." in await card.inner_text()
    hostile_card = page.locator(f"article[data-id='{hostile.id}']")
    assert "<script>" in await hostile_card.locator(".text").inner_text()  # shown as text, not run
    assert await page.title() != "pwned"
    await page.screenshot(path=str(DOCS / "console.png"), full_page=True)

    await card.get_by_role("button", name="Approve").click()
    assert await page.locator(f"article[data-id='{template.id}']").count() == 0
    async with hub.uow() as uow:
        stored = await uow.templates.get(template.id)
    assert stored is not None and stored.status == "approved"


async def test_forged_post_without_csrf_token_is_refused(
    hub: Hub, clock: FakeClock, browser: Browser, aiohttp_server: Callable[..., Awaitable[Any]]
) -> None:
    base = await _server(hub, aiohttp_server)
    _, client = await new_client(hub)
    template = await submit(
        hub.uow(), client.id, TemplateIn(name="x", text="Код #code#", category="otp"), clock.now()
    )
    page = await browser.new_page()
    await _sign_in(page, base, "admin-secret")
    answer = await page.request.post(
        f"{base}/inbox/console/templates/{template.id}/decision", form={"status": "approved"}
    )
    assert answer.status == 403
    async with hub.uow() as uow:
        stored = await uow.templates.get(template.id)
    assert stored is not None and stored.status == "pending"


async def test_agent_sees_own_dashboard_in_russian(
    hub: Hub, clock: FakeClock, browser: Browser, aiohttp_server: Callable[..., Awaitable[Any]]
) -> None:
    base = await _server(hub, aiohttp_server)
    created, client = await new_client(hub, "Pizza Ltd")
    template = await approved_template(hub, client.id, context="survey")
    phones = [f"+7999000000{n}" for n in (1, 2, 5, 8)]
    await accept(
        hub,
        client,
        [
            notify_item(
                template.id,
                p,
                route=[{"channel": "vk", "ttl": 60}, {"channel": "ok", "ttl": 60}, {"channel": "sms"}],
            )
            for p in phones
        ],
    )
    for _ in range(12):
        await step(hub, clock)
    page = await browser.new_page(
        viewport={"width": 390, "height": 844},
        locale="ru-RU",
        extra_http_headers={"Accept-Language": "ru-RU,ru"},
    )
    await page.goto(f"{base}/inbox/login")
    await page.fill("#key", created.api_key)
    await page.click("button[type=submit]")
    assert page.url.endswith("/inbox/threads")
    await page.goto(f"{base}/inbox/dashboard")
    assert await page.locator("h1").first.inner_text() != ""
    text = await page.locator("main").inner_text()
    assert "доставлено" in text and "ушло в SMS" in text
    await page.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
    await page.goto(f"{base}/inbox/connections")
    assert "песочницу" in await page.locator("main").inner_text()
    await page.locator("header form button").click()  # sign out
    await page.goto(f"{base}/inbox/dashboard")
    assert "/inbox/login" in page.url
