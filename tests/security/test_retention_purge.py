"""Issue 8: `notifyhub purge` removes old texts and personal data; statistics read the same after."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from typer.testing import CliRunner

from bots.base import StatusEvent
from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.cli.main import app
from hub.errors import RequestError
from hub.security.retention import PurgeReport, parse_duration, purge
from storage.db import session_factory
from storage.models import Base
from storage.repos.retention import RetentionStore
from tests.fakes.clock import FakeClock
from tests.support.scenario import (
    ALL_CHANNELS,
    accept,
    approved_template,
    deliver_webhooks,
    new_client,
    notify_item,
    run_until_final,
    step,
    thread_of,
)
from tests.support.webhook_receiver import Receiver

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]
READS, NEVER, STOP, RATES, ASKS, TELEGRAM = (f"+7999000000{n}" for n in (1, 3, 4, 5, 6, 7))
DAY = 86400.0
NEW_PARAMS = {"name": "Борис", "order": "1"}


def test_durations() -> None:
    assert [parse_duration(t) for t in ("180d", "12h", "2w", " 90D ")] == [
        180 * DAY,
        43200,
        14 * DAY,
        90 * DAY,
    ]
    for bad in ("180", "0d", "-1d", "1.5d", "180x", "d", ""):
        with pytest.raises(RequestError, match="--older-than: a positive duration such as 180d"):
            parse_duration(bad)


def test_summary_is_one_line() -> None:
    line = PurgeReport(notification_texts=3, idle_contacts=1).line(0.0, dry_run=True)
    assert line.startswith("would purge data from before 1970-01-01 00:00 UTC: notification texts 3,")
    assert "contacts anonymised 1" in line and "\n" not in line


async def _dump(hub: Hub) -> dict[str, list[str]]:
    """Every value of every table, as stored (plain SQL)."""
    found: dict[str, list[str]] = {}
    async with hub.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(text(f"SELECT * FROM {table.name}"))).all()
            found[table.name] = [v if isinstance(v, str) else json.dumps(v) for r in rows for v in r]
    return found


async def _statistics(hub: Hub, api: TestClient, key: str, template_id: str) -> dict[str, Any]:  # type: ignore[type-arg]
    """What reports, survey results, the dashboard and the notification API show in aggregate."""
    auth = {"Authorization": f"Bearer {key}"}
    survey = await (
        await api.get("/v1/surveys/results", params={"template_id": template_id}, headers=auth)
    ).json()
    sql = {
        "notes": "SELECT id, status, final, cost_minor, rating, created_at FROM notifications ORDER BY id",
        "legs": "SELECT id, channel, status, price_minor, units, sent_at, delivered_at, read_at FROM legs "
        "ORDER BY id",
        "messages": "SELECT id, direction, label, rating, notification_id, thread_id, at "
        "FROM inbound_messages ORDER BY id",
        "threads": "SELECT id, status, needs_agent, labels, assignee FROM threads ORDER BY id",
        "events": "SELECT count(*) FROM notification_events",
    }
    async with hub.engine.connect() as conn:
        rows = {name: [tuple(r) for r in (await conn.execute(text(q))).all()] for name, q in sql.items()}
    async with hub.uow() as uow:
        funnel = await uow.reports.funnel(0.0)
    return {"survey": survey, "funnel": funnel, **rows}


async def test_purge_removes_old_texts_and_phones_and_keeps_statistics(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    receiver = Receiver(verify=False)  # the pretend clock runs months ahead of real time
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {made.api_key}"}
    hook = await api.post("/v1/webhooks", json={"url": str(server.make_url("/hook"))}, headers=auth)
    assert hook.status == 201
    template = await approved_template(hub, client.id, context="survey")
    phones = [READS, NEVER, STOP, RATES, ASKS, TELEGRAM]
    old = await accept(hub, client, [notify_item(template.id, p, route=ALL_CHANNELS) for p in phones])
    await run_until_final(hub, clock, [a.id for a in old])
    asks = await thread_of(api, made.api_key, ASKS)
    assert (
        await api.post(f"/v1/threads/{asks['id']}/messages", json={"text": "Завтра до 18:00"}, headers=auth)
    ).status == 202
    tg = await thread_of(api, made.api_key, TELEGRAM)
    relabel = await api.patch(
        f"/v1/messages/{tg['messages'][0]['id']}", json={"label": "question"}, headers=auth
    )
    assert relabel.status == 200
    await hub.ingest.apply(
        [StatusEvent("vk", "never-sent-1", "delivered", datetime.fromtimestamp(clock.now(), UTC))]
    )
    for _ in range(30):  # the agent's answer goes out, late replies and receipts arrive
        await step(hub, clock)
    await deliver_webhooks(hub)
    before = await _dump(hub)
    old_texts = [v for v in before["notifications"] if "Анна" in v] + [
        "5, всё отлично",
        "а когда привезут?",
        "thanks, got it",
        "СТОП",
        "Завтра до 18:00",
        "Вы отписаны",
    ]
    assert all(any(t in v for vs in before.values() for v in vs) for t in old_texts)

    clock.advance(181 * DAY)  # half a year later READS gets another notification: an active contact
    now = datetime.fromtimestamp(clock.now(), UTC)
    new = await accept(
        hub,
        client,
        [notify_item(template.id, READS, route=ALL_CHANNELS, params=NEW_PARAMS, action_at=now)],
    )
    await run_until_final(hub, clock, [a.id for a in new])
    await deliver_webhooks(hub)
    stats = await _statistics(hub, api, made.api_key, template.id)
    cutoff = clock.now() - 180 * DAY
    store = RetentionStore(session_factory(hub.engine), batch_size=2)
    unpurged = await _dump(hub)
    planned = await purge(store, cutoff, dry_run=True)
    assert await _dump(hub) == unpurged  # a dry run only counts
    done = await purge(store, cutoff)
    assert done == planned and done.idle_contacts == 4  # NEVER, RATES, ASKS, TELEGRAM
    assert done.notification_texts == 8  # six old notifications, the opt-out confirmation, the answer
    assert (
        done.feedback == 1
        and done.webhook_deliveries > 0
        and done.sandbox_messages > 0
        and done.pending_receipts == 1
    )
    assert await purge(store, cutoff) == PurgeReport()  # nothing left to do

    assert await _statistics(hub, api, made.api_key, template.id) == stats
    after = await _dump(hub)
    idle_phones = [p.removeprefix("+7") for p in (NEVER, RATES, ASKS, TELEGRAM)]
    for table, values in after.items():
        for needle in old_texts + idle_phones:
            assert not any(needle in v for v in values), f"{needle!r} is still in {table}"
    assert STOP in after["contacts"] and READS in after["contacts"]  # the opt-out holds; READS is active
    assert any("Борис" in v for v in after["notifications"])  # recent texts stay
    async with hub.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT DISTINCT contact_id FROM identities"))).scalars().all()
    assert len(kept) == 2  # STOP's and READS's identities


def test_cli_purge_dry_run_and_bad_duration(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"database: {{url: '{db_url}'}}\nsandbox: {{enabled: false}}\nretention: {{days: 90}}\n"
    )
    runner = CliRunner()
    dry = runner.invoke(app, ["purge", "--dry-run", "--config", str(config)])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("would purge data from before ") and dry.stdout.count("\n") == 1
    done = runner.invoke(app, ["purge", "--older-than", "12h", "--batch-size", "10", "--config", str(config)])
    assert done.exit_code == 0 and done.stdout.startswith("purged data from before ")
    bad = runner.invoke(app, ["purge", "--older-than", "6 months", "--config", str(config)])
    assert bad.exit_code == 1 and isinstance(bad.exception, SystemExit)  # handled, not a traceback
    assert "error: --older-than: a positive duration such as 180d, 12h or 4w (got '6 months')" in bad.stderr
