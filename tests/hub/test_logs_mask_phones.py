"""No log line of a whole sandbox run carries a full phone number (personal data stays out of logs)."""

from __future__ import annotations

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
