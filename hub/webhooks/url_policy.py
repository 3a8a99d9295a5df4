"""Where client webhooks may point: public addresses only, so the hub cannot be aimed at itself.

A webhook URL naming a loopback, private, link-local, shared, reserved or multicast address
(IPv4 or IPv6, IPv4-mapped, NAT64 and 6to4 forms included, `localhost` and hosts resolving to
such addresses) would let a client make the hub POST into its own network (SSRF). URLs are
checked at registration and again before every delivery (DNS may change), and the sender's
connector resolves through `GuardedResolver`, so the address connected to is the one checked.

`check_target` and `refusal` are pure (addresses are passed in) and tested without an event
loop; `UrlGuard` adds DNS resolution, which tests inject.

    >>> policy = UrlPolicy()
    >>> refusal("metadata", ["169.254.169.254"], policy)
    'metadata resolves to 169.254.169.254, which is not a public address'
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hub.config import WebhooksConfig
from hub.errors import RequestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: host, port -> the addresses it resolves to.
Resolve = Callable[[str, int], Awaitable[list[str]]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlNotAllowed(RequestError):
    """A webhook URL the policy refuses; the message is a sentence for the client."""

    def __init__(self, message: str) -> None:
        super().__init__("webhook_url_not_allowed", message, status=422)


@dataclass(frozen=True)
class UrlPolicy:
    """What the configuration allows beyond public https URLs."""

    allow_private: bool = False
    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)
    require_https: bool = True

    @classmethod
    def from_config(cls, config: WebhooksConfig) -> UrlPolicy:
        """The policy of the `webhooks` configuration section."""
        return cls(
            allow_private=config.allow_private_urls,
            networks=tuple(ipaddress.ip_network(n, strict=False) for n in config.allowed_networks),
            hosts=frozenset(h.lower().rstrip(".") for h in config.allowed_hosts),
            require_https=config.require_https,
        )


@dataclass(frozen=True)
class Target:
    """The host and port a webhook URL points at."""

    host: str
    port: int
    literal: IPAddress | None


def check_target(url: str, policy: UrlPolicy) -> Target:
    """Scheme and host checks that need no DNS; raises `UrlNotAllowed`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlNotAllowed(f"{url!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlNotAllowed("webhook URLs must use https (or http where allowed)")
    if scheme == "http" and policy.require_https:
        raise UrlNotAllowed("webhook URLs must use https (webhooks.require_https is on)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlNotAllowed("the webhook URL has no host")
    literal = _literal(host)
    local_name = host == "localhost" or host.endswith(".localhost")
    if local_name and not policy.allow_private and not _host_ok(host, policy):
        raise UrlNotAllowed(f"{host} is this machine, not a public address{_HINT}")
    if literal is not None and (reason := refusal(host, [str(literal)], policy)):
        raise UrlNotAllowed(reason + _HINT)
    return Target(host, port or (443 if scheme == "https" else 80), literal)


_HINT = " (allow it with webhooks.allow_private_urls or webhooks.allowed_networks)"


def refusal(host: str, addresses: Iterable[str], policy: UrlPolicy) -> str | None:
    """Why `host` with these resolved addresses is refused, or None when every address is allowed."""
    found = list(addresses)
    if policy.allow_private or _host_ok(host, policy):
        return None
    if not found:
        return f"{host} does not resolve to any address"
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not _public(address) and not any(address in net for net in policy.networks):
            subject = text if _literal(host) is not None else f"{host} resolves to {text}, which"
            return f"{subject} is not a public address"
    return None


def _host_ok(host: str, policy: UrlPolicy) -> bool:
    return host.lower() in policy.hosts


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _public(address: IPAddress) -> bool:
    """Globally routable unicast, looking inside IPv6 forms that carry an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return _public(inner)
    return address.is_global and not address.is_multicast


async def _system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class UrlGuard:
    """Checks webhook URLs against the policy, resolving host names (resolver injectable).

    Answers are cached for `ttl` seconds (as aiohttp caches DNS), so checking before every
    delivery does not double the lookups.
    """

    def __init__(self, policy: UrlPolicy, resolve: Resolve | None = None, ttl: float = 10.0) -> None:
        self.policy = policy
        self._resolve = resolve or _system_resolve
        self._ttl = ttl
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def check(self, url: str) -> None:
        """Raise `UrlNotAllowed` unless `url` may receive webhooks now."""
        target = check_target(url, self.policy)
        if target.literal is not None or self.policy.allow_private or _host_ok(target.host, self.policy):
            return
        reason = refusal(target.host, await self._addresses(target.host, target.port), self.policy)
        if reason:
            raise UrlNotAllowed(reason + _HINT)

    async def _addresses(self, host: str, port: int) -> list[str]:
        now = time.monotonic()
        cached = self._cache.get((host, port))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            found = await self._resolve(host, port)
        except (OSError, UnicodeError, ValueError):  # idna refuses some names before any lookup
            raise UrlNotAllowed(f"{host} does not resolve (check the host name)") from None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(host, port)] = (now + self._ttl, found)
        return found

    def resolver(self) -> AbstractResolver:
        """An aiohttp resolver that refuses non-public answers (no DNS rebinding between check and send)."""
        return GuardedResolver(self.policy)


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver, refusing a host whose addresses the policy does not allow."""

    def __init__(self, policy: UrlPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve, then refuse with `OSError` if any address is not allowed."""
        found = await self._inner.resolve(host, port, family)
        reason = refusal(host, [str(r["host"]) for r in found], self._policy)
        if reason:
            raise OSError(reason)
        return found

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()
