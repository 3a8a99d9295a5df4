"""Who gets which variant, who is skipped and why, and when each message goes out (pure, no IO).

A campaign's audience is frozen when it starts; `plan` turns it into one decision per contact:
skipped with a reason, or due at a moment inside the contact's own sending window, spaced by the
campaign's throttle. The A/B split hashes the campaign and the contact, so a contact always gets
the same variant, whichever worker plans it and however often.

    >>> pick_variant("cmp_1", "con_1", [("tpl_a", 0.8), ("tpl_b", 0.2)]) in ("tpl_a", "tpl_b")
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hub.campaigns.window import next_allowed

#: Reasons a contact of the audience gets no message, as the campaign's counts name them.
OPTED_OUT, NO_CONSENT, OVER_CAP, NO_WINDOW = "opted_out", "no_marketing_consent", "frequency_cap", "no_window"


def pick_variant(campaign_id: str, contact_id: str, variants: Sequence[tuple[str, float]]) -> str:
    """The variant of this contact: a stable hash of (campaign, contact) placed on the shares."""
    digest = hashlib.sha256(f"{campaign_id}:{contact_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for template_id, share in variants:
        edge += share
        if point < edge:
            return template_id
    return variants[-1][0]


@dataclass(frozen=True)
class Member:
    """What planning needs to know of one contact in the audience."""

    contact_id: str
    zone: ZoneInfo
    opted_out: bool = False
    marketing_consent: bool = True
    #: Marketing messages this contact got inside the frequency cap's period.
    recent: int = 0


@dataclass(frozen=True)
class Rules:
    """The campaign's sending rules."""

    start_at: float
    spans: list[tuple[int, int]]
    marketing: bool = True
    throttle_per_second: float | None = None
    cap_max: int | None = None


@dataclass(frozen=True)
class Decision:
    """One contact's outcome: a due time (and variant), or a skip reason."""

    contact_id: str
    due_at: float | None
    skip: str | None = None


def decide(member: Member, rules: Rules) -> Decision:
    """Skip with a reason, or the first allowed moment at or after the start (throttle not applied)."""
    if member.opted_out:
        return Decision(member.contact_id, None, OPTED_OUT)
    if rules.marketing and not member.marketing_consent:
        return Decision(member.contact_id, None, NO_CONSENT)
    if rules.cap_max is not None and member.recent >= rules.cap_max:
        return Decision(member.contact_id, None, OVER_CAP)
    due = next_allowed(rules.start_at, member.zone, rules.spans)
    if due is None:
        return Decision(member.contact_id, None, NO_WINDOW)
    return Decision(member.contact_id, due)


def plan(members: Iterable[Member], rules: Rules) -> list[Decision]:
    """Every contact's decision; due times spaced so no second holds more than the throttle allows.

    Contacts whose window opens at the same moment keep their audience order; a throttled contact
    may be pushed past its window's end, which the dispatcher checks again before sending.
    """
    decisions = [decide(m, rules) for m in members]
    if not rules.throttle_per_second:
        return decisions
    step = 1.0 / rules.throttle_per_second
    due = sorted((d for d in decisions if d.due_at is not None), key=lambda d: d.due_at or 0.0)
    spaced: dict[str, float] = {}
    free_at = float("-inf")
    for d in due:
        at = max(d.due_at or 0.0, free_at)
        spaced[d.contact_id] = at
        free_at = at + step
    return [Decision(d.contact_id, spaced[d.contact_id]) if d.contact_id in spaced else d for d in decisions]
