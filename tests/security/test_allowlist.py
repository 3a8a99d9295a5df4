"""Allow-list matching, the caller's address behind trusted proxies, and audit detail scrubbing (sans-IO)."""

from __future__ import annotations

import pytest

from hub.errors import RequestError
from hub.security.allowlist import allowed, client_ip, parse_cidrs
from hub.security.audit import REDACTED, scrub, url_origin

PROXIES = ["10.0.0.0/8", "127.0.0.1/32"]


def test_parse_cidrs_normalises_and_refuses_junk() -> None:
    assert parse_cidrs(["203.0.113.7", "198.51.100.9/24", " 2001:db8::/32 ", "203.0.113.7"]) == [
        "203.0.113.7/32",
        "198.51.100.0/24",
        "2001:db8::/32",
    ]
    assert parse_cidrs([]) == []
    for bad in (["not-an-ip"], ["10.0.0.0/33"], "10.0.0.0/8", [1], ["1.1.1.1"] * 101):
        with pytest.raises(RequestError) as e:
            parse_cidrs(bad)
        assert e.value.code == "invalid_field"


def test_allowed() -> None:
    assert allowed("198.51.100.1", None) and allowed("198.51.100.1", [])
    assert allowed("203.0.113.7", ["203.0.113.0/24"])
    assert not allowed("203.0.114.7", ["203.0.113.0/24"])
    assert allowed("2001:db8::1", ["203.0.113.0/24", "2001:db8::/32"])
    assert not allowed(None, ["0.0.0.0/0"]) and not allowed("garbage", ["0.0.0.0/0"])


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_ip("127.0.0.1", "203.0.113.7", []) == "127.0.0.1"
    assert client_ip("198.51.100.1", "203.0.113.7", PROXIES) == "198.51.100.1"
    assert client_ip("127.0.0.1", "203.0.113.7", PROXIES) == "203.0.113.7"
    assert client_ip("127.0.0.1", None, PROXIES) == "127.0.0.1"


def test_forwarded_for_takes_the_rightmost_untrusted_hop() -> None:
    # the caller wrote "1.2.3.4" itself; the proxies appended the real address and each other
    assert client_ip("10.0.0.2", "1.2.3.4, 203.0.113.7, 10.0.0.9", PROXIES) == "203.0.113.7"
    assert client_ip("10.0.0.2", "10.0.0.7, 10.0.0.9", PROXIES) == "10.0.0.7"
    assert client_ip("10.0.0.2", "junk", PROXIES) == "junk"  # refused by any allow-list


def test_ipv4_mapped_peers_match_ipv4_lists() -> None:
    assert client_ip("::ffff:127.0.0.1", None, []) == "127.0.0.1"
    assert allowed("::ffff:203.0.113.7", ["203.0.113.0/24"])


def test_scrub_redacts_secrets_and_masks_phones() -> None:
    details = {
        "phone": "+79991234567",
        "note": "call +7 999 123-45-67, key nh_abcdefghijklmnop, whsec_c2VjcmV0c2VjcmV0",
        "token": "anything",
        "nested": [{"webhook_secret": "x"}, {"settings": {"token": "t"}}],
        "at": "2026-11-30T10:00:00Z",
        "key_id": "key_01jd2345678901abcd",
        "count": 3,
    }
    clean = scrub(details)
    assert clean["phone"] == "+7999***4567"
    assert (
        "123-45-67" not in clean["note"] and "nh_abc" not in clean["note"] and "whsec_" not in clean["note"]
    )
    assert clean["token"] == REDACTED and clean["nested"] == [
        {"webhook_secret": REDACTED},
        {"settings": REDACTED},
    ]
    assert clean["at"] == details["at"] and clean["key_id"] == details["key_id"] and clean["count"] == 3


def test_url_origin_drops_credentials_paths_and_queries() -> None:
    assert url_origin("https://u:p@shop.example:8443/hooks/T0K3N?sig=1") == "https://shop.example:8443"
    assert url_origin("http://127.0.0.1/x") == "http://127.0.0.1"
