"""Inbox sessions: a signed cookie naming a session row kept in the database.

cookie = seal(token, secret)        # the random token, signed with itsdangerous
token = unseal(cookie, secret)      # None when missing, forged, tampered with or garbled (any bytes)
row, token = new_session(...)       # the row is stored by SHA-256 of the token, never the token

The row, not the cookie, makes a session live: signing out deletes it, so every copy of the
cookie ends at once; it expires on the server's clock; operator rows carry a keyed fingerprint
of the admin token they signed in with, so a new admin token ends them; agent and client rows
name their API key, and the session lasts only while that key does (see `hub.web.pages`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadData, URLSafeSerializer

from storage.models import WebSession

COOKIE = "nh_session"
Role = Literal["agent", "client", "operator"]
_SALT = "notifyhub.inbox.session"
#: Longer cookies are not ours (a sealed token is about 70 characters).
_MAX_COOKIE = 256


@dataclass(frozen=True)
class Session:
    """Who is signed in: an agent or client key of one client, or the operator (admin token)."""

    role: Role
    client_id: str | None
    name: str
    csrf: str
    expires: float
    #: The API key it was opened with (None for the operator): revoking the key ends the session.
    key_id: str | None = None
    #: The session row's id (SHA-256 of the cookie's token): signing out deletes that row.
    id: str = ""

    @property
    def operator(self) -> bool:
        """The operator sees every client's templates and connections."""
        return self.role == "operator"


def session_id(token: str) -> str:
    """The stored id of a session token (the token itself is only in the cookie)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(
    role: Role,
    client_id: str | None,
    name: str,
    now: float,
    minutes: int,
    key_id: str | None = None,
    admin_fingerprint: str | None = None,
) -> tuple[WebSession, str]:
    """A fresh session row with its own CSRF token, and the token for the cookie."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=session_id(token),
        role=role,
        client_id=client_id,
        key_id=key_id,
        name=name,
        csrf=secrets.token_urlsafe(24),
        admin_fingerprint=admin_fingerprint,
        created_at=now,
        expires_at=now + minutes * 60,
    )
    return row, token


def session_of(row: WebSession) -> Session:
    """The signed-in visitor a live row describes."""
    role: Role = "operator" if row.role == "operator" else ("agent" if row.role == "agent" else "client")
    return Session(role, row.client_id, row.name, row.csrf, row.expires_at, row.key_id, row.id)


def seal(token: str, secret: bytes) -> str:
    """The cookie value for a session token."""
    return URLSafeSerializer(secret, salt=_SALT).dumps(token)


def unseal(value: str | None, secret: bytes) -> str | None:
    """The session token in a cookie, or None when it is missing, forged or not even ASCII."""
    if not value or len(value) > _MAX_COOKIE or not value.isascii():
        return None
    try:
        token = URLSafeSerializer(secret, salt=_SALT).loads(value)
    except BadData:
        return None
    return token if isinstance(token, str) and token else None


def admin_fingerprint(admin_token: str | None, secret: bytes) -> str | None:
    """A keyed fingerprint of the admin token (None without one): it cannot be turned back into the token."""
    if not admin_token:
        return None
    return hmac.new(secret, b"admin-token:" + admin_token.encode(), hashlib.sha256).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time equality of two tokens of any characters; empty or missing never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # lone surrogates (undecodable header bytes) too


def csrf_ok(session: Session, token: str | None) -> bool:
    """True when a form or header carries this session's CSRF token."""
    return same_token(session.csrf, token)
