"""Identity linking decisions, sans-IO: tokens, deep links, where an identity goes, phone ownership.

No messenger delivers by phone number, so the hub builds each client's phone -> messenger
directory itself. A client asks for links for one phone; each link carries a one-time token
(random, stored only as its SHA-256, scoped to one client, one contact and one channel, expiring).
When the customer follows a link and writes, the platform hands the token back (VK `ref`,
Telegram `/start <token>`) and the sender's identity is linked to that phone:

    token unknown, used, expired, other channel or other client -> nothing linked (reply filed as usual)
    identity new                                  -> added to the contact, contact `verified`
    identity already on this contact              -> refreshed, contact `verified` again
    identity on a contact with a DIFFERENT phone  -> moved; that contact becomes `changed`
    identity on a contact without a phone         -> moved (the stranger now has a phone)
    contact had another account on this channel   -> that identity is dropped (superseded)

Ownership (stored on the contact; `suspicious` is computed, never stored):
`verified` turns `suspicious` when none of the contact's identities was linked or active within
90 days; `changed` comes from a conflicting link or the client's report and stays until a link
is followed again. `important` templates skip messenger legs unless the state is `verified`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bots.base import InboundMessage
from hub.ids import new_id

LINKABLE = ("vk", "ok", "telegram")
OWNERSHIP = ("verified", "suspicious", "changed")
DEFAULT_TOKEN_DAYS = 30
MAX_TOKEN_DAYS = 90
SUSPICIOUS_AFTER = 90 * 86400
#: token_urlsafe(18): 24 characters of [A-Za-z0-9_-], inside Telegram's 64-character start payload.
_TOKEN_BYTES = 18
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_OK_REASON = "OK group messages carry no deep-link payload: import OK ids instead"
_TG_REASON = "set the bot's username on the Telegram connection (connections add telegram --username)"


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store (the token itself is only ever in the link)."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of a token (random and high-entropy, so plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_of(reply: InboundMessage) -> str | None:
    """The link token a message carries: the platform's ref, or a typed `/start <token>`."""
    ref = reply.ref
    if ref is None and reply.text.startswith("/start "):
        ref = reply.text.split(maxsplit=1)[1].strip()
    return ref if ref and _TOKEN.match(ref) else None


@dataclass(frozen=True)
class LinkTarget:
    """Where a link can point: a channel of the client (a connection, or the sandbox)."""

    channel: str
    connection_id: int | None
    #: The URL with `{token}` to fill in; None when the channel cannot carry a token.
    template: str | None
    reason: str | None = None


def _target(channel: str, connection_id: int, settings: Mapping[str, Any]) -> LinkTarget:
    if channel == "vk":
        return LinkTarget("vk", connection_id, f"https://vk.me/club{settings['group_id']}?ref={{token}}")
    if channel == "telegram" and settings.get("username"):
        return LinkTarget("telegram", connection_id, f"https://t.me/{settings['username']}?start={{token}}")
    return LinkTarget(channel, connection_id, None, _TG_REASON if channel == "telegram" else _OK_REASON)


def link_targets(
    connections: Iterable[tuple[int, str, Mapping[str, Any]]], sandbox: bool, channels: set[str] | None
) -> list[LinkTarget]:
    """Link targets from the client's live connections; the sandbox's when it has none at all."""
    found = list(connections)
    if found:
        targets = [_target(ch, cid, s) for cid, ch, s in found if ch in LINKABLE]
    elif sandbox:
        targets = [LinkTarget(ch, None, f"sandbox://{ch}?start={{token}}") for ch in LINKABLE]
    else:
        targets = []
    return [t for t in targets if channels is None or t.channel in channels]


def token_row(
    target: LinkTarget, digest: str, client_id: str, contact_id: str, now: float, expires_at: float
) -> dict[str, Any]:
    """The stored row of a freshly minted token (its hash only)."""
    return {
        "id": new_id("lnk"),
        "token_hash": digest,
        "client_id": client_id,
        "contact_id": contact_id,
        "channel": target.channel,
        "connection_id": target.connection_id,
        "created_at": now,
        "expires_at": expires_at,
    }


def identity_row(
    client_id: str, contact_id: str, channel: str, external_id: str, active_at: float | None, now: float
) -> dict[str, Any]:
    """A new identity linked now (allowed until the customer says otherwise)."""
    return {
        "id": new_id("idn"),
        "client_id": client_id,
        "contact_id": contact_id,
        "channel": channel,
        "external_id": external_id,
        "last_active_at": active_at,
        "allowed": True,
        "linked_at": now,
    }


def link_view(target: LinkTarget, token: str | None) -> dict[str, Any]:
    """A link as the API answers it; without a token, why the channel cannot carry one."""
    where = {"channel": target.channel, "connection_id": target.connection_id}
    if token is None or target.template is None:
        return {**where, "reason": target.reason}
    return {**where, "url": target.template.format(token=token), "token": token}


class TokenRow(Protocol):
    """What a stored token tells (see `storage.models.LinkToken`)."""

    client_id: str
    channel: str
    connection_id: int | None
    expires_at: float
    used_at: float | None


def token_refusal(
    token: TokenRow | None, reply: InboundMessage, source_client: str | None, now: float
) -> str | None:
    """Why this token must not link the reply's sender, or None when it may."""
    if token is None:
        return "unknown_token"
    if token.used_at is not None:
        return "token_used"
    if now >= token.expires_at:
        return "token_expired"
    if token.channel != reply.channel:
        return "wrong_channel"
    if (token.connection_id is None) != (reply.connection_id is None):
        return "wrong_client"  # a sandbox token on a real connection, or the other way round
    if reply.connection_id is not None and source_client != token.client_id:
        return "wrong_client"
    if reply.client_id is not None and reply.client_id != token.client_id:
        return "wrong_client"  # another client's sandbox
    return None


@dataclass(frozen=True)
class LinkPlan:
    """What linking one identity to one contact changes."""

    #: The existing identity to move onto the contact; None: insert a new one.
    move: str | None
    #: A contact with a different phone that loses the identity: its ownership becomes `changed`.
    conflict: str | None
    #: The contact's previous identity on this channel, superseded by the new account.
    drop: str | None


def plan_link(
    contact_id: str, current: tuple[str, str] | None, current_has_phone: bool, previous: str | None
) -> LinkPlan:
    """Decide a link: `current` is (identity id, its contact id), `previous` the contact's own identity."""
    move = current[0] if current else None
    conflict = current[1] if current and current[1] != contact_id and current_has_phone else None
    drop = previous if previous is not None and previous != move else None
    return LinkPlan(move, conflict, drop)


class IdentityTimes(Protocol):
    """An identity's link and activity times."""

    linked_at: float
    last_active_at: float | None


def ownership_state(stored: str, identities: Iterable[IdentityTimes], now: float) -> str:
    """The ownership the cascade and the API see: `verified` goes `suspicious` after 90 quiet days."""
    if stored != "verified":
        return stored
    seen = [max(i.linked_at, i.last_active_at or 0.0) for i in identities]
    if seen and now - max(seen) > SUSPICIOUS_AFTER:
        return "suspicious"
    return stored
