"""No log line of a whole sandbox run carries a full phone number (personal data stays out of logs)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.support.logs import FULL_PHONE, LogRecorder
from tests.support.scenario import (
    ALL_CHANNELS,
    accept,
    approved_template,
    new_client,
    notify_item,
    run_until_final,
)

PHONES = [f"+7999000000{n}" for n in range(1, 10)]


async def test_no_full_phone_number_in_any_log_line(hub: Hub, clock: FakeClock, logged: LogRecorder) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, context="survey")
    accepted = await accept(hub, client, [notify_item(template.id, p, route=ALL_CHANNELS) for p in PHONES])
    await hub.acceptor.accept(hub.uow(), client, [notify_item(template.id, "8 999 000 00 0x")], clock.now())
    await run_until_final(hub, clock, [a.id for a in accepted])
    assert any("ntf_" in line for line in logged.lines)  # the run did log
    assert [line for line in logged.lines if FULL_PHONE.search(line)] == []


_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_sends BEFORE INSERT ON sandbox_messages "
        "BEGIN SELECT RAISE(ABORT, 'the database refuses'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_sends() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the database refuses'; END $$",
        "CREATE TRIGGER refuse_sends BEFORE INSERT ON sandbox_messages "
        "FOR EACH ROW EXECUTE FUNCTION refuse_sends()",
    ],
}
_ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_sends"],
    "postgresql": ["DROP TRIGGER refuse_sends ON sandbox_messages", "DROP FUNCTION refuse_sends()"],
}


async def _sql(hub: Hub, statements: list[str]) -> None:
    async with hub.uow() as uow:
        for statement in statements:
            await uow.notifications._session.execute(text(statement))
        await uow.commit()


async def test_database_errors_log_no_phone_number_or_text(
    hub: Hub, clock: FakeClock, logged: LogRecorder
) -> None:
    """A worker whose statements fail (as during a PostgreSQL restart) logs the SQL, not its parameters."""
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, context="survey")
    sms = [{"channel": "sms"}]  # the sandbox stores the SMS recipient: the full phone is a parameter
    accepted = await accept(hub, client, [notify_item(template.id, p, route=sms) for p in PHONES[:3]])
    dialect = "sqlite" if hub.config.database.url.startswith("sqlite") else "postgresql"
    await _sql(hub, _REFUSE[dialect])
    stop = asyncio.Event()
    worker = asyncio.create_task(hub.dispatcher().run(stop))
    for _ in range(3000):  # until the worker logged a failed send (bounded, should it never fail)
        if any("round failed" in line or "crashed" in line for line in logged.lines):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await worker
    await _sql(hub, _ALLOW[dialect])
    await run_until_final(hub, clock, [a.id for a in accepted])
    failures = [line for line in logged.lines if "the database refuses" in line]
    assert failures and all("INSERT INTO sandbox_messages" in line for line in failures)
    assert [line for line in logged.lines if FULL_PHONE.search(line) or "Анна" in line] == []
