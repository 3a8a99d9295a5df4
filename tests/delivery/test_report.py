"""Delivery statistics: `GET /v1/reports/delivery` and `notifyhub report` count what the sandbox did."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.cli.main import app
from hub.delivery.report import delivery_report, format_report
from tests.fakes.clock import FakeClock
from tests.support.scenario import (
    ALL_CHANNELS,
    accept,
    approved_template,
    new_client,
    notify_item,
    run_until_final,
)

PHONES = [f"+7999000000{n}" for n in range(1, 10)]
MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


async def _sandbox_run(hub: Hub, clock: FakeClock, name: str = "Shop") -> str:
    made, client = await new_client(hub, name)
    template = await approved_template(hub, client.id, context="survey")
    accepted = await accept(hub, client, [notify_item(template.id, p, route=ALL_CHANNELS) for p in PHONES])
    await run_until_final(hub, clock, [a.id for a in accepted])
    return made.api_key


async def test_report_counts_reach_cost_channels_and_reasons(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    key = await _sandbox_run(hub, clock)
    api = await aiohttp_client(create_app(hub, run_workers=False))
    resp = await api.get(
        "/v1/reports/delivery", params={"since": "1d"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status == 200
    report: dict[str, Any] = await resp.json()
    assert report["notifications"] == 9
    assert report["reached"] == 8 and report["by_status"]["failed"] == 1  # +79990000009: SMS failed
    # the demo's 18.50 (VK 0.90 x 4, OK 0.90, SMS 7.00 x 2) and the opt-out confirmation by VK, 0.90
    assert report["answers"] == 1 and report["cost"] == 19.4
    assert report["channels"]["sms"]["fallback"] == 3
    assert report["channels"]["vk"]["read"] == 5  # 4 notifications and the confirmation
    reasons = {(m["channel"], m["status"], m["reason"]) for m in report["undelivered"]}
    assert reasons == {
        ("vk", "skipped", "inactive"),
        ("vk", "skipped", "no_identity"),
        ("ok", "skipped", "no_identity"),
        ("telegram", "skipped", "no_identity"),
        ("vk", "expired", "ttl_elapsed"),
        ("sms", "failed", "undeliverable (sandbox)"),
    }  # legs left out because an earlier one got through ("not_needed") are not misses
    text = format_report(report, "Shop")
    assert "reached: 8 (88.9%)" in text and "inactive" in text


async def test_report_is_per_client_and_refuses_a_bad_period(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    await _sandbox_run(hub, clock, "A")
    other = (await new_client(hub, "B"))[0].api_key
    api = await aiohttp_client(create_app(hub, run_workers=False))
    auth = {"Authorization": f"Bearer {other}"}
    empty = await (await api.get("/v1/reports/delivery", headers=auth)).json()
    assert empty["notifications"] == 0 and empty["channels"] == {}
    bad = await api.get("/v1/reports/delivery", params={"since": "yesterday"}, headers=auth)
    assert bad.status == 422
    assert (await bad.json())["error"]["code"] == "invalid_field"
    everyone = await delivery_report(hub.uow(), hub.clock.now() - 86400, None)  # the operator's view
    assert everyone["notifications"] == 9


async def test_cli_report_for_one_client(hub: Hub, clock: FakeClock, db_url: str, tmp_path: Path) -> None:
    await _sandbox_run(hub, clock, "Pizza")
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"database: {{url: '{db_url}'}}\nsandbox: {{enabled: false}}\nlogging: {{level: WARNING}}\n"
    )
    runner = CliRunner()

    async def cli(*args: str) -> Any:  # the CLI runs its own event loop
        return await asyncio.to_thread(runner.invoke, app, [*args, "--config", str(config)])

    text = await cli("report", "--client", "Pizza", "--since", "1d")
    assert text.exit_code == 0, text.output
    assert text.output.startswith("Pizza, since ") and "reached: 8 (88.9%)" in text.output
    data = await cli("report", "--client", "Pizza", "--json")
    assert json.loads(data.output)["notifications"] == 9
    bad = await cli("report", "--since", "soon")
    assert bad.exit_code == 1 and "--since: a positive duration" in bad.output
    unknown = await cli("report", "--client", "Nobody")
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
