"""Reply actions with a stand-in classifier: confirm-once opt-out, language, opt-in, relabel and feedback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.conversations.replies import ASK_TEXT
from nlu.labels import Classification
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
PHONE = "+79161110001"
LABELS = {
    "хватит наверное": Classification("opt_out", None, 0.5),
    "да": Classification("other", None, 0.9),
    "stop": Classification("opt_out", None, 0.97),
    "start again": Classification("opt_in", None, 0.95),
    "где заказ?": Classification("question", None, 0.95),
}


class StandIn:
    """A classifier that knows a few phrases (and records the contexts it was given)."""

    def __init__(self) -> None:
        self.contexts: list[str | None] = []

    def classify_many(
        self, texts: list[str], contexts: list[str | None] | None = None
    ) -> list[Classification]:
        """Labels from the table above; anything else is `other`."""
        self.contexts += contexts or [None] * len(texts)
        return [LABELS.get(t, Classification("other", None, 0.9)) for t in texts]


@pytest.fixture
async def hub(db_url: str, clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub whose classifier is the stand-in."""
    wired = build_hub(make_config(db_url), clock=clock, classifier=StandIn())
    yield wired
    await wired.aclose()


class Customer:
    """Writes to the hub as a VK user through the sandbox path (no connection)."""

    def __init__(self, hub: Hub, vk_id: str) -> None:
        self.hub, self.vk_id, self.n = hub, vk_id, 0

    async def says(self, text: str) -> None:
        self.n += 1
        at = datetime.fromtimestamp(self.hub.clock.now(), UTC)
        await self.hub.ingest.apply([InboundMessage("vk", self.vk_id, text, f"m-{self.vk_id}-{self.n}", at)])


async def _thread(api: TestClient, auth: dict[str, str]) -> dict:  # type: ignore[type-arg]
    [head] = (await (await api.get("/v1/threads", params={"phone": PHONE}, headers=auth)).json())["threads"]
    return dict(await (await api.get(f"/v1/threads/{head['id']}", headers=auth)).json())


async def _opted_out(api: TestClient, auth: dict[str, str]) -> bool:  # type: ignore[type-arg]
    return bool((await (await api.get(f"/v1/contacts/{PHONE}", headers=auth)).json())["opted_out"])


async def test_unsure_opt_out_asks_once_and_the_answer_decides(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    await link_customer(hub, client.id, PHONE, vk="2001")
    anna = Customer(hub, "2001")
    await anna.says("хватит наверное")
    thread = await _thread(api, auth)
    assert [m["text"] for m in thread["messages"] if m["direction"] == "out"] == [ASK_TEXT]
    await anna.says("ну ладно")  # not a yes: nothing happens, the question is settled
    assert not await _opted_out(api, auth)
    await anna.says("хватит наверное")  # unsure again: asked again (once)
    await anna.says("да")
    assert await _opted_out(api, auth)
    outs = [m["text"] for m in (await _thread(api, auth))["messages"] if m["direction"] == "out"]
    assert outs[:2] == [ASK_TEXT, ASK_TEXT] and len(outs) == 3
    await anna.says("stop")  # already out: no second confirmation
    outs = [m["text"] for m in (await _thread(api, auth))["messages"] if m["direction"] == "out"]
    assert len(outs) == 3 and outs[2].startswith("Вы отписаны")
    await anna.says("start again")  # English opt-in: lifted, confirmed in English
    assert not await _opted_out(api, auth)
    outs = [m["text"] for m in (await _thread(api, auth))["messages"] if m["direction"] == "out"]
    assert outs[-1] == "You are subscribed to notifications again."


async def test_english_opt_out_is_confirmed_in_english(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    await link_customer(hub, client.id, PHONE, vk="2001")
    await Customer(hub, "2001").says("stop")
    outs = [m["text"] for m in (await _thread(api, auth))["messages"] if m["direction"] == "out"]
    assert outs == ["You are unsubscribed from notifications. Reply START to receive them again."]


async def test_relabel_undoes_and_applies_and_is_kept_as_feedback(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    await link_customer(hub, client.id, PHONE, vk="2001")
    anna = Customer(hub, "2001")
    await anna.says("stop")
    assert await _opted_out(api, auth)
    [first] = [m for m in (await _thread(api, auth))["messages"] if m["direction"] == "in"]
    fixed = await api.patch(f"/v1/messages/{first['id']}", json={"label": "other"}, headers=auth)
    assert fixed.status == 200 and (await fixed.json())["labeled_by"] == "agent:client"
    assert not await _opted_out(api, auth)  # the wrong opt-out is undone
    await anna.says("где заказ?")
    thread = await _thread(api, auth)
    assert thread["needs_agent"] is True
    question = thread["messages"][-1]
    relabelled = await api.patch(
        f"/v1/messages/{question['id']}", json={"label": "rating", "rating": 4}, headers=auth
    )
    assert relabelled.status == 200, await relabelled.text()
    assert (await _thread(api, auth))["needs_agent"] is False
    feedback = await (await api.get("/v1/feedback", headers=auth)).text()
    lines = [json.loads(line) for line in feedback.splitlines()]
    assert [(x["text"], x["label"], x["rating"]) for x in lines] == [
        ("stop", "other", None),
        ("где заказ?", "rating", 4),
    ]
    bad = await api.patch(f"/v1/messages/{question['id']}", json={"label": "spam"}, headers=auth)
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_field"


async def test_resolved_thread_reopens_and_unknown_connection_is_refused(
    hub: Hub, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    await link_customer(hub, client.id, PHONE, vk="2001")
    anna = Customer(hub, "2001")
    await anna.says("где заказ?")
    thread = await _thread(api, auth)
    assert (await (await api.post(f"/v1/threads/{thread['id']}/resolve", headers=auth)).json())[
        "status"
    ] == "resolved"
    await anna.says("где заказ?")
    await anna.says("где заказ?")  # a new message (new platform id) each time
    thread = await _thread(api, auth)
    assert thread["status"] == "open" and len(thread["messages"]) == 3
    at = datetime.fromtimestamp(hub.clock.now(), UTC)
    dup = InboundMessage("vk", "2001", "где заказ?", "m-2001-1", at)
    await hub.ingest.apply([dup])  # the same platform message again: stored once
    assert len((await _thread(api, auth))["messages"]) == 3
    await hub.ingest.apply([InboundMessage("vk", "2001", "hi", "x-1", at, connection_id=999_999)])
    assert hub.ingest.replies.refused == 1
