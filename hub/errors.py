"""The hub's own exceptions; adapters translate library errors into these at their edge.

    HubError
     ├── ChannelError            a channel send or receive went wrong
     │    ├── ChannelUnavailable     transient (network, 5xx, rate limit): retry the same leg later
     │    ├── OutcomeUnknown         sent, but no answer, on a platform with no dedupe key: never resend
     │    ├── RecipientUnreachable   this channel cannot reach this person: cascade to the next leg
     │    └── ChannelRejected        permanent for this message: fail the leg
     │         └── ConnectionBroken  the account itself is unusable (token revoked): alert the operator
     ├── ConnectionGone          events came in on a connection removed meanwhile: nothing committed
     └── RequestError            bad input from a client: HTTP 4xx / one CLI line

The cascade and dispatcher branch on these types only, never on aiohttp, vkbottle or aiogram types.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ChannelError(HubError):
    """A channel operation failed; carries the platform's code and text for the leg's `error`."""

    def __init__(self, message: str = "", *, channel: str, code: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.channel = channel
        self.code = code

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code is not None else ""
        return f"{self.channel}{code}: {self.message}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(channel={self.channel!r}, code={self.code!r}, message={self.message!r})"


class ChannelUnavailable(ChannelError):
    """Transient failure: the same leg is retried after `retry_after` seconds (or backoff)."""

    def __init__(
        self,
        message: str = "",
        *,
        channel: str,
        code: str | int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, channel=channel, code=code)
        self.retry_after = retry_after


class OutcomeUnknown(ChannelError):
    """The request went out and no answer came back; the platform cannot dedupe a resend (OK, Telegram).

    The leg counts as sent (unconfirmed): resending could reach the customer twice, so the cascade
    waits out the leg's TTL instead and moves on.
    """


class RecipientUnreachable(ChannelError):
    """This channel cannot reach this recipient (privacy, blocked, no dialog): next leg at once."""


class ChannelRejected(ChannelError):
    """The platform refused this message for good: the leg fails with the platform's reason."""


class ConnectionBroken(ChannelRejected):
    """The client's channel account is unusable (e.g. token revoked): the connection is marked broken."""


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
