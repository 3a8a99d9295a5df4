"""Issue 8: webhooks may not point at loopback, private, link-local or other non-public addresses."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestClient

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import WebhooksConfig
from hub.webhooks.url_policy import GuardedResolver, UrlGuard, UrlNotAllowed, UrlPolicy, check_target, refusal
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
STRICT = UrlPolicy()
NOT_PUBLIC = [
    "127.0.0.1",
    "127.1.2.3",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]


# -- pure: no event loop, addresses passed in ---------------------------------------------------


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(address, [address], STRICT) == f"{address} is not a public address"
    reason = refusal("hooks.shop.example", ["93.184.216.34", address], STRICT)
    assert reason == f"hooks.shop.example resolves to {address}, which is not a public address"


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal("hooks.shop.example", [address], STRICT) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://api.localhost./hook",
        "https://127.0.0.1:8443/hook",
        "https://[::1]:8080/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://0.0.0.0/hook",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_urls_naming_this_machine_or_private_networks_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed, match=r"not a public address.*webhooks\.allow_private_urls") as e:
        check_target(url, STRICT)
    assert e.value.code == "webhook_url_not_allowed" and e.value.status == 422


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://shop.example/hook", "must use https"),
        ("http://shop.example/hook", "webhooks.require_https"),
        ("https:///hook", "no host"),
        ("https://shop.example:99999/", "not a valid URL"),
    ],
)
def test_schemes_and_malformed_urls(url: str, why: str) -> None:
    with pytest.raises(UrlNotAllowed, match=why):
        check_target(url, STRICT)


def test_configuration_allows_private_urls_networks_and_hosts() -> None:
    assert check_target("http://127.0.0.1:9000/hook", UrlPolicy(allow_private=True, require_https=False))
    assert check_target("https://localhost/hook", UrlPolicy(allow_private=True)).port == 443
    config = WebhooksConfig(allowed_networks=("10.0.0.0/8",), allowed_hosts=("Receiver.Internal",))
    policy = UrlPolicy.from_config(config)
    assert refusal("hooks.internal", ["10.1.2.3"], policy) is None
    assert refusal("hooks.internal", ["10.1.2.3", "127.0.0.1"], policy) is not None
    assert refusal("receiver.internal", ["192.168.0.9"], policy) is None
    assert refusal("nowhere.example", [], STRICT) == "nowhere.example does not resolve to any address"


# -- resolution injected ------------------------------------------------------------------------


class FakeDns:
    """Answers from a table; counts lookups."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {host.replace("_", "."): found for host, found in answers.items()}
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


async def test_guard_resolves_names_and_caches_answers() -> None:
    dns = FakeDns(shop_example=["93.184.216.34"], intranet_shop_example=["10.0.0.7"])
    guard = UrlGuard(STRICT, dns)
    await guard.check("https://shop.example/hook")
    await guard.check("https://shop.example/other")
    assert dns.lookups == 1
    with pytest.raises(UrlNotAllowed, match=r"intranet\.shop\.example resolves to 10\.0\.0\.7"):
        await guard.check("https://intranet.shop.example/hook")
    with pytest.raises(UrlNotAllowed, match=r"typo\.example does not resolve"):
        await guard.check("https://typo.example/hook")


class _Inner(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = "127.0.0.1" if host == "rebound.example" else "93.184.216.34"
        return [ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)]

    async def close(self) -> None:
        pass


async def test_connector_resolver_refuses_a_name_rebound_to_loopback() -> None:
    resolver = GuardedResolver(STRICT, _Inner())
    assert (await resolver.resolve("shop.example", 443))[0]["host"] == "93.184.216.34"
    with pytest.raises(OSError, match=r"rebound\.example resolves to 127\.0\.0\.1"):
        await resolver.resolve("rebound.example", 443)


# -- registration and delivery ------------------------------------------------------------------


@pytest.fixture
async def strict(db_url: str, clock: FakeClock) -> AsyncIterator[tuple[Hub, FakeDns]]:
    """A hub with the production webhook policy and a fake DNS."""
    dns = FakeDns(shop_example=["93.184.216.34"], metadata_shop_example=["169.254.169.254"])
    config = make_config(db_url, webhooks=WebhooksConfig())
    guard = UrlGuard(UrlPolicy.from_config(config.webhooks), dns, ttl=0)  # no cache: DNS changes at once
    wired = build_hub(config, clock=clock, url_guard=guard)
    yield wired, dns
    await wired.aclose()


async def test_registration_refuses_private_targets(
    strict: tuple[Hub, FakeDns], aiohttp_client: MakeClient
) -> None:
    hub, _ = strict
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, _ = await new_client(hub)
    auth = {"Authorization": f"Bearer {made.api_key}"}
    for url, why in [
        ("https://127.0.0.1/hook", "127.0.0.1 is not a public address"),
        ("https://[::1]/hook", "::1 is not a public address"),
        ("https://localhost/hook", "localhost is this machine"),
        ("https://metadata.shop.example/", "resolves to 169.254.169.254"),
        ("http://shop.example/hook", "must use https"),
    ]:
        resp = await api.post("/v1/webhooks", json={"url": url}, headers=auth)
        assert resp.status == 422, url
        error = (await resp.json())["error"]
        assert error["code"] == "webhook_url_not_allowed" and why in error["message"], error
    ok = await api.post("/v1/webhooks", json={"url": "https://shop.example/hook"}, headers=auth)
    assert ok.status == 201
    listed = await (await api.get("/v1/webhooks", headers=auth)).json()
    assert [w["url"] for w in listed["webhooks"]] == ["https://shop.example/hook"]


async def test_delivery_refuses_a_host_that_now_resolves_privately(
    strict: tuple[Hub, FakeDns], aiohttp_client: MakeClient
) -> None:
    hub, dns = strict
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {made.api_key}"}
    body = {"url": "https://shop.example/hook", "events": ["reply.received"]}
    assert (await api.post("/v1/webhooks", json=body, headers=auth)).status == 201
    dns.answers["shop.example"] = ["127.0.0.1"]  # DNS changed after registration
    await link_customer(hub, client.id, "+79161110001", vk="2001")
    when = datetime.fromtimestamp(hub.clock.now(), UTC)
    await hub.ingest.apply([InboundMessage("vk", "2001", "где заказ?", "m1", when)])
    assert hub.webhook_sender is not None
    assert await hub.webhook_sender.run_once() == 1
    async with hub.uow() as uow:
        [delivery] = await uow.webhooks.log_all_pending()
    assert delivery.attempts == 1 and delivery.last_status is None
    assert delivery.last_error == (
        "url not allowed: shop.example resolves to 127.0.0.1, which is not a public address "
        "(allow it with webhooks.allow_private_urls or webhooks.allowed_networks)"
    )
