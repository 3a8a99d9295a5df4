"""The cascade rules as pure functions: legs in, legs and decisions out; no IO, no event loop.

A notification walks its route leg by leg. A leg that cannot reach the contact is skipped at
once; a started leg waits until it reaches its `until` state (sent, delivered or read) or its TTL
runs out, when it expires and the next leg starts. An expired messenger message the platform
named is withdrawn first: the leg expires with `withdrawal="pending"` (committed with the
expiry, so a crash cannot forget it), and the next leg does not start until `record_withdrawal`
has settled it: withdrawn, refused by the platform, unsupported by the adapter, or failed after
`Policy.withdraw_attempts` tries (a platform that refuses or is down must not hold the SMS back
for long). The dispatcher calls `advance` whenever a notification is due and applies what
comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from bots.backoff import BackoffConfig
from hub.errors import ChannelError, ChannelUnavailable, OutcomeUnknown, RecipientUnreachable
from storage.legs import LegState as LegState  # the cascade's unit, re-exported

WithdrawAnswer = Literal["withdrawn", "refused", "unsupported"]

MESSENGERS = frozenset({"vk", "ok", "telegram"})
DEFAULT_UNTIL = {"vk": "delivered", "ok": "delivered", "telegram": "sent", "sms": "delivered"}
TTL_MIN, TTL_MAX = 15, 86400
#: Best first: the whole notification shows its best leg.
RANK = ("read", "delivered", "sent", "sending", "queued", "expired", "failed", "skipped")
_OPEN = ("queued", "sending", "sent", "delivered")
MAX_UNAVAILABLE_RETRIES = 8


@dataclass(frozen=True)
class IdentityView:
    """What the hub knows of a contact's account on one messenger."""

    external_id: str
    last_active_at: float | None
    allowed: bool = True


@dataclass(frozen=True)
class Audience:
    """The contact and the template facts that decide whether a leg can reach them."""

    phone: str | None
    identities: dict[str, IdentityView]
    category: str = "service"
    important: bool = False
    opted_out: bool = False
    ownership: str = "verified"
    marketing_consent: bool = False


@dataclass(frozen=True)
class Policy:
    """Tenant-level knobs of the cascade."""

    activity_days: float = 7
    last_leg_watch_seconds: int = 86400
    retry_min_delay: float = 1.0
    retry_max_delay: float = 300.0
    #: Tries to withdraw an expired message while the platform is unavailable, then the next leg goes.
    withdraw_attempts: int = 3
    #: The longest pause between two of those tries.
    withdraw_max_delay: float = 5.0


@dataclass(frozen=True)
class Step:
    """What `advance` decided: the new legs, which to send or withdraw, the timeline, the wake-up."""

    legs: tuple[LegState, ...]
    send: tuple[int, ...] = ()
    withdraw: tuple[int, ...] = ()
    events: tuple[tuple[str, int | None, str | None], ...] = ()
    #: When to look again; None when the notification is final.
    due_at: float | None = None

    @property
    def final(self) -> bool:
        """True when nothing more will happen to this notification."""
        return self.due_at is None


@dataclass
class _Draft:
    legs: list[LegState]
    send: list[int] = field(default_factory=list)
    withdraw: list[int] = field(default_factory=list)
    events: list[tuple[str, int | None, str | None]] = field(default_factory=list)

    def done(self, due_at: float | None) -> Step:
        return Step(tuple(self.legs), tuple(self.send), tuple(self.withdraw), tuple(self.events), due_at)


def skip_reason(leg: LegState, audience: Audience, now: float, policy: Policy) -> str | None:
    """Why this leg cannot reach the contact, or None when it can."""
    if audience.opted_out and audience.category not in ("otp", "reply"):
        return "opted_out"
    if audience.category == "marketing" and not audience.marketing_consent:
        return "no_marketing_consent"
    if leg.channel == "sms":
        return None if audience.phone else "no_phone"
    ident = audience.identities.get(leg.channel)
    if ident is None:
        return "no_identity"
    if not ident.allowed:
        return "messages_not_allowed"
    if ident.last_active_at is None or now - ident.last_active_at > policy.activity_days * 86400:
        return "inactive"
    if audience.important and audience.ownership != "verified":
        return "ownership_not_verified"
    return None


def _recipient(leg: LegState, audience: Audience) -> str | None:
    if leg.channel == "sms":
        return audience.phone
    ident = audience.identities.get(leg.channel)
    return ident.external_id if ident else None


def _watch_seconds(leg: LegState, last: bool, policy: Policy) -> int:
    return leg.ttl if leg.ttl is not None else policy.last_leg_watch_seconds if last else TTL_MAX


def advance(legs: tuple[LegState, ...], audience: Audience, now: float, policy: Policy) -> Step:
    """Move a notification as far as it can go now without waiting on a channel."""
    draft = _Draft(list(legs))
    for i, leg in enumerate(draft.legs):
        last = i == len(draft.legs) - 1
        if leg.withdrawal == "pending":  # the next leg waits until the expired message is withdrawn
            if leg.next_try_at is not None and now < leg.next_try_at:
                return draft.done(leg.next_try_at)
            draft.withdraw.append(i)
            return draft.done(now)
        if leg.status in ("skipped", "failed", "expired", "read"):
            if leg.status == "read":
                return _finish(draft, i)
            continue
        if leg.status == "queued":
            if leg.started_at is not None and leg.expires_at is not None and now >= leg.expires_at:
                draft.legs[i] = replace(leg, status="expired", error=leg.error or "ttl_elapsed")
                draft.events.append(("leg_expired", i, leg.error))
                continue
            reason = skip_reason(leg, audience, now, policy) if leg.started_at is None else None
            if reason:
                draft.legs[i] = replace(leg, status="skipped", error=reason)
                draft.events.append(("leg_skipped", i, reason))
                continue
            if leg.next_try_at is not None and now < leg.next_try_at:
                return draft.done(leg.next_try_at)
            started = leg.started_at if leg.started_at is not None else now
            draft.legs[i] = replace(
                leg,
                status="sending",
                recipient=leg.recipient or _recipient(leg, audience),
                started_at=started,
                expires_at=leg.expires_at or started + _watch_seconds(leg, last, policy),
            )
            draft.send.append(i)
            return draft.done(now)
        if leg.status == "sending":
            draft.send.append(i)  # a worker died mid-send: resend with the same leg key
            return draft.done(now)
        if leg.reached:
            return _finish(draft, i)
        assert leg.expires_at is not None
        if now < leg.expires_at:
            return draft.done(leg.expires_at)
        if last and leg.ttl is None:
            return draft.done(None)  # nothing to fall back to: the honest status stays
        withdraw = leg.channel in MESSENGERS and leg.external_id is not None
        draft.legs[i] = replace(
            leg,
            status="expired",
            error="ttl_elapsed",
            withdrawal="pending" if withdraw else None,
            next_try_at=None,
        )
        draft.events.append(("leg_expired", i, f"not {leg.until} within {leg.ttl}s"))
        if withdraw:
            draft.withdraw.append(i)
            return draft.done(now)
    return draft.done(None)


def _finish(draft: _Draft, reached: int) -> Step:
    """The notification got through on leg `reached`: later legs are not needed."""
    for j in range(reached + 1, len(draft.legs)):
        if draft.legs[j].status == "queued":
            draft.legs[j] = replace(draft.legs[j], status="skipped", error="not_needed")
    return draft.done(None)


def backoff_delay(attempts: int, policy: Policy) -> float:
    """Exponential delay before retry number `attempts` (1-based) of an unavailable channel."""
    return BackoffConfig(policy.retry_min_delay, policy.retry_max_delay, jitter=0).delay(attempts)


def record_send(
    leg: LegState,
    outcome: tuple[str, str, int] | ChannelError,
    now: float,
    policy: Policy,
) -> tuple[LegState, tuple[str, int | None, str | None]]:
    """Apply a channel's answer to a `sending` leg: (external_id, status, units) or our error."""
    if isinstance(outcome, tuple):
        external_id, status, units = outcome
        sent = replace(
            leg, status=status, external_id=external_id, units=units, sent_at=now, next_try_at=None
        )
        if status == "delivered":
            sent = replace(sent, delivered_at=now)
        return sent, ("leg_" + status, leg.idx, None)
    detail = str(outcome)
    if isinstance(outcome, OutcomeUnknown):  # resending could reach the customer twice: wait out the TTL
        unconfirmed = replace(leg, status="sent", sent_at=now, next_try_at=None, error=detail)
        return unconfirmed, ("leg_sent", leg.idx, f"unconfirmed: {detail}")
    if isinstance(outcome, ChannelUnavailable) and leg.attempts + 1 < MAX_UNAVAILABLE_RETRIES:
        attempts = leg.attempts + 1
        delay = outcome.retry_after if outcome.retry_after is not None else backoff_delay(attempts, policy)
        retried = replace(leg, status="queued", attempts=attempts, next_try_at=now + delay)
        return retried, ("leg_retry", leg.idx, detail)
    if isinstance(outcome, RecipientUnreachable):
        return replace(leg, status="skipped", error=detail), ("leg_skipped", leg.idx, detail)
    return replace(leg, status="failed", error=detail), ("leg_failed", leg.idx, detail)


def record_withdrawal(
    leg: LegState, outcome: WithdrawAnswer | ChannelError, now: float, policy: Policy
) -> tuple[LegState, tuple[str, int | None, str | None]]:
    """Apply the answer to withdrawing an expired leg's message; only an unavailable platform is retried."""
    if outcome == "withdrawn":
        return replace(leg, withdrawal="withdrawn", next_try_at=None), ("leg_withdrawn", leg.idx, None)
    if isinstance(outcome, str):  # refused (too old, not allowed) or unsupported by the adapter
        settled = replace(leg, withdrawal=outcome, next_try_at=None)
        return settled, ("leg_not_withdrawn", leg.idx, outcome)
    attempts = leg.withdraw_attempts + 1
    detail = str(outcome)
    if isinstance(outcome, ChannelUnavailable) and attempts < policy.withdraw_attempts:
        delay = outcome.retry_after if outcome.retry_after is not None else backoff_delay(attempts, policy)
        retry_at = now + min(delay, policy.withdraw_max_delay)
        retried = replace(leg, withdraw_attempts=attempts, next_try_at=retry_at)
        return retried, ("leg_withdraw_retry", leg.idx, detail)
    failed = replace(leg, withdrawal="failed", withdraw_attempts=attempts, next_try_at=None)
    return failed, ("leg_not_withdrawn", leg.idx, f"failed: {detail}")


def apply_receipt(leg: LegState, status: str, at: float, error: str | None = None) -> LegState | None:
    """A platform receipt for a sent leg; None when it changes nothing (late, duplicate, withdrawn)."""
    if leg.status in ("expired", "skipped") or leg.status == status:
        return None
    if status == "failed":
        if leg.status not in ("sending", "sent"):
            return None
        return replace(leg, status="failed", error=error or "undelivered")
    if status == "delivered" and leg.status in ("sending", "sent", "failed"):
        return replace(leg, status="delivered", delivered_at=at)
    if status == "read" and leg.status in ("sending", "sent", "delivered", "failed"):
        return replace(leg, status="read", delivered_at=leg.delivered_at or at, read_at=at)
    return None


def summarize(legs: tuple[LegState, ...] | list[LegState]) -> tuple[str, int]:
    """The whole notification's status (its best leg) and its cost (delivered legs only)."""
    best = min((RANK.index(leg.status) for leg in legs), default=RANK.index("queued"))
    status = RANK[best]
    cost = sum(leg.price_minor * leg.units for leg in legs if leg.status in ("delivered", "read"))
    return ("queued" if status == "sending" else status), cost


def is_open(status: str) -> bool:
    """True while a leg may still change by itself."""
    return status in _OPEN
