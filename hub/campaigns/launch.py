"""Starting and steering campaigns: validate, freeze the audience into recipients, pause, resume, cancel.

The audience is frozen when the campaign starts (at once, or at `send_at`): every contact becomes
one recipient row, skipped with a reason or due at its own local time (`hub.campaigns.plan`).
The feeder (`hub.campaigns.feeder`) turns due recipients into notifications.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.campaigns.plan import Member, Rules, pick_variant, plan
from hub.campaigns.spec import CampaignIn
from hub.campaigns.window import DayWindow, allowed_spans, zone_named
from hub.contacts.audiences import audience_filter
from hub.contacts.phones import normalize_phone
from hub.contacts.places import with_place
from hub.contacts.regions import locate
from hub.errors import RequestError
from hub.ids import new_id
from storage.models import Campaign, Client, Contact
from storage.repos.contacts import contact_row
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.campaigns")
YEAR = 366 * 86400
#: Contacts read per query when a group or segment is resolved.
_PAGE = 5000
#: Quiet hours for marketing in the customer's zone (38-FZ practice), unless the campaign opts out.
QUIET_HOURS = DayWindow.parse("21:00", "09:00", "quiet_hours")
#: The zone of a contact whose number spans several, who has none, and whose client set no default.
DEFAULT_ZONE = "Europe/Moscow"
#: What each control action may be applied to, and the status it leads to.
MOVES = {
    "pause": ({"scheduled", "running"}, "paused"),
    "resume": ({"paused"}, "running"),
    "cancel": ({"scheduled", "running", "paused"}, "cancelled"),
}


async def create_campaign(uow: UnitOfWork, client: Client, body: CampaignIn, now: float) -> Campaign:
    """Check the request against the client's templates and the clock, store it, start it if due."""
    start_at = body.send_at.timestamp() if body.send_at is not None else now
    if start_at < now - 60:
        raise RequestError("invalid_field", "send_at: is in the past")
    if start_at > now + YEAR:
        raise RequestError("invalid_field", "send_at: is more than a year ahead")
    phones = [normalize_phone(p) for p in body.audience.phones]
    async with uow:
        templates = await uow.templates.many(client.id, {t for t, _ in body.shares()})
        categories = set()
        for template_id, _ in body.shares():
            template = templates.get(template_id)
            if template is None:
                raise RequestError("template_not_found", f"no template {template_id}", status=404)
            if template.status != "approved":
                raise RequestError(
                    "template_not_approved", f"template {template_id} is {template.status}", status=409
                )
            if template.category not in ("marketing", "service"):
                raise RequestError(
                    "invalid_field",
                    f"template_id: a campaign sends marketing or service templates, not {template.category}",
                )
            categories.add(template.category)
        if "service" in categories and body.action_at is None:
            raise RequestError(
                "invalid_field", "action_at: service templates need the customer action they follow"
            )
        # unknown groups or segments: 404 now, not at start (they are resolved again when it starts)
        await audience_filter(uow, client.id, body.audience.groups, body.audience.segments, now)
        spec = body.model_dump(mode="json", by_alias=True)
        spec["phones"] = phones
        spec["marketing"] = "marketing" in categories
        row = {
            "id": new_id("cmp"),
            "client_id": client.id,
            "name": body.name,
            "status": "scheduled",
            "spec": spec,
            "start_at": start_at,
            "created_at": now,
        }
        await uow.campaigns.add(row)
        await uow.commit()
    campaign = Campaign(**row)
    if start_at <= now:
        await freeze(uow, campaign, now)
    return campaign


def _rules(spec: dict[str, Any], start_at: float) -> Rules:
    window = spec.get("local_window")
    day = DayWindow.parse(window["from"], window["to"]) if window else None
    quiet = QUIET_HOURS if spec["marketing"] and spec.get("quiet_hours", True) else None
    cap = spec.get("frequency_cap")
    return Rules(
        start_at=start_at,
        spans=allowed_spans(day, quiet),
        marketing=spec["marketing"],
        throttle_per_second=spec.get("throttle_per_second"),
        cap_max=cap["max"] if cap else None,
    )


async def _audience(uow: UnitOfWork, campaign: Campaign, now: float) -> list[Contact]:
    """The contacts of the campaign's audience, each once; unknown phones become contacts."""
    client_id, audience = campaign.client_id, campaign.spec["audience"]
    phones = list(dict.fromkeys(campaign.spec["phones"]))
    known = await uow.contacts.by_phones(client_id, phones)
    new = [with_place(contact_row(new_id("con"), client_id, p, now)) for p in phones if p not in known]
    if new:
        await uow.contacts.add_many(new, [])
        known.update(await uow.contacts.by_phones(client_id, [r["phone"] for r in new]))
    found = {c.id: c for c in (known[p] for p in phones if p in known)}
    node = await audience_filter(uow, client_id, audience["groups"], audience["segments"], now)
    if node is not None:
        zone, after = await _default_zone(uow, client_id), None
        while page := await uow.directory.page(client_id, node=node, zone=zone, after=after, limit=_PAGE):
            found.update((c.id, c) for c in page)
            after = page[-1].id
    return list(found.values())


async def _default_zone(uow: UnitOfWork, client_id: str) -> str:
    client = await uow.clients.get(client_id)
    return (client.default_timezone if client else None) or DEFAULT_ZONE


async def freeze(uow: UnitOfWork, campaign: Campaign, now: float) -> int:
    """Resolve the audience once and plan every recipient; the campaign runs from here."""
    spec = campaign.spec
    rules = _rules(spec, max(now, campaign.start_at))
    async with uow:
        contacts = await _audience(uow, campaign, now)
        recent: dict[str, int] = {}
        if spec.get("frequency_cap"):
            since = now - spec["frequency_cap"]["per_days"] * 86400
            recent = await uow.campaigns.recent_marketing(campaign.client_id, [c.id for c in contacts], since)
        default_zone = await _default_zone(uow, campaign.client_id)
        members = [
            Member(
                c.id,
                zone_named(c.timezone or (locate(c.phone).timezone if c.phone else None), default_zone),
                opted_out=c.opted_out,
                marketing_consent=c.marketing_consent,
                recent=recent.get(c.id, 0),
            )
            for c in contacts
        ]
        shares = [(v["template_id"], v["share"]) for v in spec["variants"]] if spec.get("variants") else None
        rows = []
        for decision in plan(members, rules):
            template_id = (
                pick_variant(campaign.id, decision.contact_id, shares) if shares else spec["template_id"]
            )
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "contact_id": decision.contact_id,
                    "template_id": template_id,
                    "status": "skipped" if decision.skip else "pending",
                    "due_at": decision.due_at,
                    "skip_reason": decision.skip,
                    "notification_id": None,
                    "claimed_until": None,
                }
            )
        await uow.campaigns.add_recipients(rows)
        await uow.campaigns.set_status(campaign.id, "running", started_at=now, audience_size=len(rows))
        await uow.commit()
    log.info("campaign=%s started audience=%d", campaign.id, len(rows))
    return len(rows)


async def steer(uow: UnitOfWork, client_id: str, campaign_id: str, action: str, now: float) -> Campaign:
    """Pause, resume or cancel; 409 when the campaign's status does not allow it."""
    allowed, target = MOVES[action]
    async with uow:
        campaign = await uow.campaigns.get(campaign_id, client_id)
        if campaign is None:
            raise RequestError("campaign_not_found", f"no campaign {campaign_id}", status=404)
        if campaign.status not in allowed:
            raise RequestError("campaign_status", f"cannot {action} a {campaign.status} campaign", status=409)
        if action == "resume" and campaign.started_at is None:
            target = "scheduled"  # paused before it started: it starts at its time
        fields: dict[str, Any] = {"finished_at": now} if target == "cancelled" else {}
        await uow.campaigns.set_status(campaign.id, target, **fields)
        if target == "cancelled":
            await uow.campaigns.cancel_pending(campaign.id)
        await uow.commit()
    campaign.status = target
    return campaign
