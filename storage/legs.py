"""The stored state of one leg of a notification: what the cascade reads and writes, field by field.

A plain value object (no IO) shared by the cascade (`hub.delivery.cascade`, which decides) and the
notification repository (which maps rows onto it positionally).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Statuses that count as reaching each `until`.
REACHED = {"sent": ("sent", "delivered", "read"), "delivered": ("delivered", "read"), "read": ("read",)}


@dataclass(frozen=True)
class LegState:
    """One leg as the cascade sees it."""

    idx: int
    channel: str
    until: str
    ttl: int | None = None
    status: str = "queued"
    recipient: str | None = None
    attempts: int = 0
    started_at: float | None = None
    expires_at: float | None = None
    sent_at: float | None = None
    delivered_at: float | None = None
    read_at: float | None = None
    external_id: str | None = None
    error: str | None = None
    price_minor: int = 0
    units: int = 1
    #: When to try again: the send of a queued leg, or the withdrawal of an expired one.
    next_try_at: float | None = None
    #: `pending` while an expired message waits to be withdrawn (the next leg waits with it), then
    #: `withdrawn`, `refused`, `unsupported` or `failed`; None when there was nothing to withdraw.
    withdrawal: str | None = None
    withdraw_attempts: int = 0

    @property
    def reached(self) -> bool:
        """True once the leg is as far as its `until` asks."""
        return self.status in REACHED[self.until]
