"""Template submission and the operator's decision: automatic checks first, then a person."""

from __future__ import annotations

import logging

from hub.api.schemas import Decision, TemplateIn
from hub.clock import iso
from hub.delivery.templates import moderate, placeholders, rejection
from hub.errors import RequestError
from hub.ids import new_id
from hub.webhooks import events as webhooks
from storage.models import Template
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.moderation")


async def submit(uow: UnitOfWork, client_id: str, body: TemplateIn, now: float) -> Template:
    """Store a template as pending (or rejected at once when a hard check fails)."""
    checks = moderate(body.text, body.category)
    reason = rejection(checks)
    template = Template(
        id=new_id("tpl"),
        client_id=client_id,
        name=body.name,
        text=body.text,
        category=body.category,
        context=body.context,
        important=body.important,
        status="rejected" if reason else "pending",
        reason=reason,
        checks=[{"name": c.name, "passed": c.passed, "detail": c.detail} for c in checks],
        created_at=now,
        moderated_at=now if reason else None,
    )
    async with uow:
        await uow.templates.add(template)
        await uow.commit()
    log.info("template submitted id=%s client=%s status=%s", template.id, client_id, template.status)
    return template


async def decide(uow: UnitOfWork, template_id: str, decision: Decision, now: float) -> Template:
    """Apply an operator's approve/reject to a template."""
    async with uow:
        template = await uow.templates.get(template_id)
        if template is None:
            raise RequestError("template_not_found", f"no template {template_id}", status=404)
        if decision.status == "approved" and any(
            c["name"] in ("not_empty", "length") and not c["passed"] for c in template.checks
        ):
            raise RequestError(
                "checks_failed", "this template failed a mandatory check and cannot be approved", status=409
            )
        template.status = decision.status
        template.reason = decision.reason
        template.moderated_at = now
        data = {"template_id": template.id, "status": decision.status, "reason": decision.reason}
        await webhooks.emit(
            uow, [webhooks.Event(template.client_id, "template.moderated", template.id, data)], now
        )
        await uow.commit()
    log.info("template moderated id=%s status=%s", template_id, decision.status)
    return template


def template_view(template: Template) -> dict[str, object]:
    """The API's JSON shape of a template."""
    return {
        "id": template.id,
        "name": template.name,
        "text": template.text,
        "category": template.category,
        "context": template.context,
        "important": template.important,
        "status": template.status,
        "reason": template.reason,
        "placeholders": placeholders(template.text),
        "checks": template.checks,
        "created_at": iso(template.created_at),
        "moderated_at": iso(template.moderated_at),
    }
