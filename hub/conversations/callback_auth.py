"""How a channel callback proves who sent it (sans-IO): the checks the ingress runs before parsing.

Every callback URL ends in its connection's random token (`/channels/{channel}/{token}`,
`hub.channels.connections.new_callback_token`); each platform's own proof comes on top:

    everything        URL token (404 unknown_connection), source address in the connection's
                      allow-list if it has one (403 ip_not_allowed)
    VK                the Callback API `secret` in the body (required for callback connections)
    Telegram          the `X-Telegram-Bot-Api-Secret-Token` header (required for webhook connections)
    SMS gateway       HTTP Basic (`callback_user`/`callback_password`) and/or the `X-Callback-Secret`
                      header (`callback_secret`), when the route has them (401 unauthorized)
    OK                nothing of its own: the token and the allow-list

    >>> token_shaped("A" * 32), token_shaped("3"), token_shaped("²" * 32)
    (True, False, False)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from typing import Any

#: What a callback token looks like (ASCII letters, digits, `-`, `_`): anything else is not looked up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SECRET_HEADER = "X-Callback-Secret"


def token_shaped(raw: str) -> bool:
    """True when `raw` could be a callback token (so a database lookup is worth making)."""
    return _TOKEN.fullmatch(raw) is not None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (user, password) of an `Authorization: Basic ...` header, or None."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def sms_refusal(headers: Mapping[str, str], settings: Mapping[str, Any]) -> str | None:
    """Why an SMS gateway callback does not prove itself, or None when it does."""
    user, password = settings.get("callback_user"), settings.get("callback_password")
    if user and password:
        given = basic_credentials(headers.get("Authorization"))
        # both compared, whatever the first gave: the time taken tells nothing about either
        ok_user = _same(given[0] if given else "", user)
        ok_password = _same(given[1] if given else "", password)
        if not (given and ok_user and ok_password):
            return "HTTP Basic credentials missing or wrong"
    secret = settings.get("callback_secret")
    if secret and not _same(headers.get(SECRET_HEADER, ""), secret):
        return f"{SECRET_HEADER} header missing or wrong"
    return None
