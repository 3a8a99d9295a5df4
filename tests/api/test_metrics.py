"""/metrics: Prometheus text with request counters by route template and state from the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.support.scenario import accept, approved_template, new_client, notify_item


async def test_metrics_show_requests_and_notification_state(
    hub: Hub, aiohttp_client: Callable[..., Awaitable[Any]]
) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    await accept(hub, client, [notify_item(template.id, "+79990000001")])
    api = await aiohttp_client(create_app(hub, run_workers=False))
    await api.get("/v1/notifications/ntf_nope")
    text = await (await api.get("/metrics")).text()
    assert 'notifyhub_http_requests_total{route="/v1/notifications/{id}",status="401"} 1.0' in text
    assert 'notifyhub_notifications{status="queued"} 1.0' in text
    assert "notifyhub_outbox_pending 1.0" in text
