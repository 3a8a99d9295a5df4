"""Retention: `notifyhub purge` removes message texts and personal data past the retention period.

Older than the cutoff (default `retention.days`, 180):

- finished notifications: rendered text blanked, client `reference` and `idempotency_key` cleared,
  their legs' `recipient` (phone or messenger id) cleared;
- thread messages, both directions: text blanked;
- classifier feedback (agents' relabellings, i.e. customers' texts), delivered and dead webhook
  deliveries (payloads), sandbox messages, parked receipts, used or expired link tokens: deleted;
- contacts with no activity since the cutoff (no notification, message, identity activity or
  link): phone cleared, marketing consent cleared, messenger identities and link tokens deleted.
  Opted-out contacts keep their phone and identities, so the opt-out still holds.

Kept: every row the statistics count (notifications, legs, events, threads, messages), with
statuses, timestamps, costs, labels, ratings and survey links, so reports, survey results and
the dashboard read the same before and after. Templates, clients, keys and the audit log stay.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from hub.errors import RequestError
from storage.repos.retention import RetentionStore

log = logging.getLogger("notifyhub.purge")

_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$", re.IGNORECASE)


def parse_duration(text: str, option: str = "--older-than") -> float:
    """Seconds in `180d`, `12h` or `4w`; a `RequestError` naming the option otherwise."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise RequestError(
            "invalid_field", f"{option}: a positive duration such as 180d, 12h or 4w (got {text!r})"
        )
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class PurgeReport:
    """How many rows each step changed (or, in a dry run, would change)."""

    notification_texts: int = 0
    message_texts: int = 0
    feedback: int = 0
    webhook_deliveries: int = 0
    sandbox_messages: int = 0
    pending_receipts: int = 0
    link_tokens: int = 0
    idle_contacts: int = 0

    def line(self, cutoff: float, dry_run: bool) -> str:
        """The one-line summary the CLI prints."""
        when = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m-%d %H:%M UTC")
        counts = ", ".join(f"{_LABELS[f.name]} {getattr(self, f.name)}" for f in fields(self))
        return f"{'would purge' if dry_run else 'purged'} data from before {when}: {counts}"


_LABELS = {
    "notification_texts": "notification texts",
    "message_texts": "message texts",
    "feedback": "feedback rows",
    "webhook_deliveries": "webhook deliveries",
    "sandbox_messages": "sandbox messages",
    "pending_receipts": "parked receipts",
    "link_tokens": "link tokens",
    "idle_contacts": "contacts anonymised",
}


async def purge(store: RetentionStore, cutoff: float, *, dry_run: bool = False) -> PurgeReport:
    """Run every retention step for data older than `cutoff` (UNIX seconds)."""
    counts = {}
    for f in fields(PurgeReport):
        counts[f.name] = await getattr(store, f.name)(cutoff, dry_run)
    report = PurgeReport(**counts)
    if not dry_run:
        log.debug("purge before %.0f: %s", cutoff, counts)
    return report
