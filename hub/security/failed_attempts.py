"""Failed credentials per source address: after a burst of wrong admin tokens or inbox sign-ins, 429.

Guessing the admin token or an agent key must cost time: each address may fail
`server.auth_failure_burst` times at once, then `server.auth_failures_per_minute` times a
minute. While an address is over its budget, every attempt from it is answered 429 with
`Retry-After` before the credential is even compared, so a right guess is not told apart from
a wrong one. Successful attempts cost nothing. Kept in this process's memory, like the API rate
limit; the buckets of addresses that have earned their budget back are forgotten.

    >>> limiter = FailedAttempts(per_minute=60, burst=2)
    >>> limiter.failed("192.0.2.1", now=0.0); limiter.failed("192.0.2.1", now=0.0)
    >>> limiter.refusal("192.0.2.1", now=0.0).status, limiter.refusal("192.0.2.9", now=0.0)
    (429, None)
"""

from __future__ import annotations

from aiohttp import web

from hub.errors import RequestError
from hub.security.ratelimit import Limit, TokenBucket

#: Past this many remembered addresses, the ones with a full budget again are dropped.
_PRUNE_AT = 10_000


class FailedAttempts:
    """One token bucket per source address, drained by failed attempts only."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self._limit = Limit(per_minute / 60.0, burst)
        self._buckets: dict[str, TokenBucket] = {}

    def refusal(self, address: str, now: float) -> RequestError | None:
        """The 429 to answer `address` with while it is over its budget, else None."""
        bucket = self._buckets.get(address)
        verdict = bucket.peek(now) if bucket is not None else None
        if verdict is None or verdict.allowed:
            return None
        wait = int(verdict.retry_after_header)
        message = f"too many failed attempts from this address; try again in {wait} s"
        return RequestError("too_many_attempts", message, status=429, retry_after=wait)

    def failed(self, address: str, now: float) -> None:
        """Count one failed attempt of `address`."""
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._buckets = {a: b for a, b in self._buckets.items() if not b.full(now)}
            bucket = self._buckets[address] = TokenBucket(self._limit, now)
        bucket.take(now)


FAILED_ATTEMPTS = web.AppKey("failed_attempts", FailedAttempts)
