"""What a campaign did, as `GET /v1/campaigns/{id}` shows it: counts per variant, cost, ETA (pure)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hub.clock import iso
from storage.models import Campaign

#: Notification statuses that mean the customer got it (the best leg).
_REACHED = ("delivered", "read")


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    status: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    cost = replied = 0
    for row in rows:
        n = int(row["n"])
        status["audience"] += n
        if row["status"] == "skipped":
            skipped[row["skip_reason"] or "unknown"] += n
        elif row["status"] in ("pending", "cancelled"):
            status[row["status"]] += n
        elif row["status"] == "queued":
            status["queued"] += n
            outcome = row["notification_status"] or "queued"
            if outcome in ("sent", "delivered", "read"):
                status["sent"] += n
            if outcome in _REACHED:
                status["delivered"] += n
            if outcome == "read":
                status["read"] += n
            if outcome in ("failed", "expired", "skipped"):
                status["failed"] += n
        cost += int(row["cost_minor"] or 0)
        replied += int(row["replied"] or 0)
    return {
        "audience": status["audience"],
        "pending": status["pending"],
        "queued": status["queued"],
        "sent": status["sent"],
        "delivered": status["delivered"],
        "read": status["read"],
        "replied": replied,
        "failed": status["failed"],
        "cancelled": status["cancelled"],
        "skipped": dict(sorted(skipped.items())),
        "cost": round(cost / 100, 2),
    }


def campaign_view(campaign: Campaign, rows: list[dict[str, Any]], eta: float | None = None) -> dict[str, Any]:
    """The campaign with its totals and the same counts per variant."""
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_variant.setdefault(row["template_id"], []).append(row)
    spec = campaign.spec
    shares = {v["template_id"]: v["share"] for v in spec.get("variants") or []} or {
        spec.get("template_id"): 1.0
    }
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "send_at": iso(campaign.start_at),
        "started_at": iso(campaign.started_at),
        "finished_at": iso(campaign.finished_at),
        "audience_size": campaign.audience_size,
        "local_window": spec.get("local_window"),
        "throttle_per_second": spec.get("throttle_per_second"),
        "frequency_cap": spec.get("frequency_cap"),
        "counts": _counts(rows),
        "variants": [
            {"template_id": t, "share": shares.get(t), **_counts(r)} for t, r in sorted(by_variant.items())
        ],
        "eta": iso(eta),
    }
