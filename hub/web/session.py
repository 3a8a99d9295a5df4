"""Signed, expiring session cookies with a CSRF token inside; nothing stored server-side.

cookie = seal(Session(...), secret)        # base64url(json) + "." + HMAC-SHA256
session = unseal(cookie, secret, now)      # None when forged, tampered with or expired
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Literal

COOKIE = "nh_session"
Role = Literal["agent", "client", "operator"]


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

    @property
    def operator(self) -> bool:
        """The operator sees every client's templates and connections."""
        return self.role == "operator"


def new_session(
    role: Role, client_id: str | None, name: str, now: float, minutes: int, key_id: str | None = None
) -> Session:
    """A fresh session with its own CSRF token."""
    return Session(role, client_id, name, secrets.token_urlsafe(24), now + minutes * 60, key_id)


def _mac(body: bytes, secret: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode().rstrip("=")


def seal(session: Session, secret: bytes) -> str:
    """The cookie value for a session."""
    body = base64.urlsafe_b64encode(json.dumps(asdict(session), separators=(",", ":")).encode())
    return f"{body.decode()}.{_mac(body, secret)}"


def unseal(value: str | None, secret: bytes, now: float) -> Session | None:
    """The session in a cookie, or None when it is missing, forged or expired."""
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _mac(body.encode(), secret)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        session = Session(**data)
    except (ValueError, TypeError):
        return None
    return session if session.expires > now else None


def csrf_ok(session: Session, token: str | None) -> bool:
    """True when a form or header carries this session's CSRF token."""
    return bool(token) and hmac.compare_digest(session.csrf, token or "")
