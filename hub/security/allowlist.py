"""IP allow-lists of clients and who the caller really is behind trusted proxies (sans-IO).

X-Forwarded-For is believed only when the direct peer is one of `server.trusted_proxies`; then the
caller is the rightmost address in the header that is not itself a trusted proxy (anything to its
left was written by the caller and proves nothing).

    >>> client_ip("10.0.0.5", "203.0.113.7, 10.0.0.9", ["10.0.0.0/8"])
    '203.0.113.7'
    >>> client_ip("198.51.100.1", "203.0.113.7", ["10.0.0.0/8"])
    '198.51.100.1'
    >>> allowed("203.0.113.7", ["203.0.113.0/24"]), allowed("198.51.100.1", ["203.0.113.0/24"])
    (True, False)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from hub.errors import RequestError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ENTRIES = 100


def parse_cidrs(raw: object) -> list[str]:
    """A client's allow-list as given (a list of CIDRs or single addresses), normalised; 422 if bad."""
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise RequestError("invalid_field", "ip_allowlist: a list of CIDRs such as 203.0.113.0/24")
    if len(raw) > MAX_ENTRIES:
        raise RequestError("invalid_field", f"ip_allowlist: at most {MAX_ENTRIES} entries")
    out: list[str] = []
    for cidr in raw:
        try:
            out.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError as e:
            raise RequestError("invalid_field", f"ip_allowlist: {cidr!r} is not an address or CIDR") from e
    return sorted(set(out), key=out.index)


def allowed(ip: str | None, cidrs: Sequence[str] | None) -> bool:
    """True when the list is empty (any address) or `ip` is inside one of its networks."""
    if not cidrs:
        return True
    address = _address(ip)
    return address is not None and any(address in _network(c) for c in cidrs)


def client_ip(remote: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str | None:
    """The caller's address: the peer, or (behind trusted proxies) the first untrusted X-Forwarded-For hop."""
    if not trusted or not forwarded_for or not _trusted(remote, trusted):
        return _clean(remote)
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return _clean(hop)
    return _clean(hops[0]) if hops else _clean(remote)


def _trusted(ip: str | None, trusted: Sequence[str]) -> bool:
    address = _address(ip)
    return address is not None and any(address in _network(c) for c in trusted)


def _address(ip: str | None) -> IpAddress | None:
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _clean(ip: str | None) -> str | None:
    """The address in canonical form; unparsable text is kept (short) so it is refused, not lost."""
    address = _address(ip)
    return str(address) if address is not None else (ip or "")[:64] or None


@lru_cache(maxsize=1024)
def _network(cidr: str) -> IpNetwork:
    return ipaddress.ip_network(cidr, strict=False)
