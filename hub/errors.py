"""The hub's own exceptions, and the ones it shows a user as one line (HTTP 4xx or a CLI error).

    HubError
     ├── ConnectionGone          events came in on a connection removed meanwhile: nothing committed
     └── RequestError            bad input from a client: HTTP 4xx / one CLI line

The channel errors (`ChannelError` and its kinds) belong to the channel port, `bots.errors`, and
are re-exported here; `storage.secret_box.SecretKeyError` is the storage layer's. `USER_ERRORS`
lists what the CLI prints as one line instead of a traceback.
"""

from __future__ import annotations

from bots.errors import (
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    OutcomeUnknown,
    RecipientUnreachable,
)
from storage.secret_box import SecretKeyError

__all__ = [
    "USER_ERRORS",
    "ChannelError",
    "ChannelRejected",
    "ChannelUnavailable",
    "ConnectionBroken",
    "ConnectionGone",
    "HubError",
    "OutcomeUnknown",
    "RecipientUnreachable",
    "RequestError",
    "SecretKeyError",
]


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ConnectionGone(HubError):
    """The connection some events came in on was removed: nothing of them was committed."""


class RequestError(HubError):
    """Bad input: becomes `{error: {code, message}}` with an HTTP status, or one CLI line."""

    def __init__(self, code: str, message: str, *, status: int = 422, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        #: Seconds to wait before asking again (`Retry-After`), for 429 and 503.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"RequestError(code={self.code!r}, status={self.status}, message={self.message!r})"


#: Errors a user can act on: shown as one line, never as a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (HubError, ChannelError, SecretKeyError)
