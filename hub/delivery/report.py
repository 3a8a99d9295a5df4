"""Delivery statistics for a period: `notifyhub report` and `GET /v1/reports/delivery`.

What a business asks after a campaign: how many notifications went out, how many reached the
customer and on which channel, what it cost (agents' answers and the hub's confirmations count
apart from the templated notifications, their cost included), how many customers answered, how many fell back
to SMS, and why the rest did not arrive (each undelivered leg's reason: no identity, inactive,
opted out, the platform's error). Built from the same rows the dashboard counts, so `purge`
(which keeps counts, statuses and costs) leaves a report unchanged.
"""

from __future__ import annotations

from typing import Any

from hub.clock import iso
from storage.uow import UnitOfWork

#: Statuses in which a notification reached the customer.
REACHED = ("sent", "delivered", "read")
#: Reasons listed one by one; the rest are summed up.
TOP_REASONS = 10


async def delivery_report(uow: UnitOfWork, since: float, client_id: str | None) -> dict[str, Any]:
    """The report for one client (or all, for the operator) since a moment."""
    async with uow:
        funnel = await uow.reports.funnel(since, client_id)
        outcomes = await uow.reports.outcomes(since, client_id)
    by_status = outcomes["by_status"]
    total = sum(count for count, _ in by_status.values())
    reached = sum(by_status.get(status, (0, 0))[0] for status in REACHED)
    misses = sorted(outcomes["misses"], key=lambda m: (-m[3], m[0], m[1], m[2]))
    return {
        "since": iso(since),
        "notifications": total,
        "reached": reached,
        "reached_share": round(reached / total, 4) if total else None,
        "answers": outcomes["answers"][0],
        "cost": (sum(cost for _, cost in by_status.values()) + outcomes["answers"][1]) / 100,
        "by_status": {status: count for status, (count, _) in sorted(by_status.items())},
        "channels": {channel: funnel[channel] for channel in sorted(funnel)},
        "undelivered": [
            {"channel": channel, "status": status, "reason": reason or None, "legs": count}
            for channel, status, reason, count in misses
        ],
    }


def format_report(report: dict[str, Any], title: str) -> str:
    """The report as a few readable lines (the CLI's default output)."""
    share = f" ({report['reached_share']:.1%})" if report["reached_share"] is not None else ""
    lines = [
        f"{title}, since {report['since']}",
        f"notifications: {report['notifications']:,}   reached: {report['reached']:,}{share}"
        f"   answers and confirmations: {report['answers']:,}   cost: {report['cost']:,.2f} RUB",
        "by status: " + (", ".join(f"{s} {n:,}" for s, n in report["by_status"].items()) or "none"),
        "",
        f"{'channel':<10} {'sent':>8} {'delivered':>10} {'read':>8} {'replied':>8} {'fell back to SMS':>17}",
    ]
    for channel, row in report["channels"].items():
        lines.append(
            f"{channel:<10} {row['sent']:>8,} {row['delivered']:>10,} {row['read']:>8,} "
            f"{row['replied']:>8,} {row['fallback']:>17,}"
        )
    if report["undelivered"]:
        lines += ["", "legs that did not deliver, by reason:"]
        for miss in report["undelivered"][:TOP_REASONS]:
            reason = miss["reason"] or "(no reason given)"
            lines.append(f"  {miss['channel']:<9} {miss['status']:<8} {miss['legs']:>7,}  {reason}")
        rest = sum(m["legs"] for m in report["undelivered"][TOP_REASONS:])
        if rest:
            lines.append(f"  ... and {rest:,} more legs for other reasons")
    return "\n".join(lines)
