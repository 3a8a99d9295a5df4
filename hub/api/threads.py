"""HTTP API for conversations: threads, agent answers, relabelling, surveys, agent keys.

Client keys and agent keys (role `agent`, scoped to one client) both work here; everything is
read through the key's client, so another client's ids answer 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from hub.api.guard import admin_actor, key_actor
from hub.api.request_input import query_int, query_time
from hub.api.requests import HUB, Principal, principal, read_json, require_admin
from hub.api.schemas import AgentIn, AnswerIn, AssignIn, RelabelIn, parse
from hub.contacts.phones import normalize_phone
from hub.conversations.inbox import (
    answer,
    feedback_jsonl,
    get_thread,
    list_threads,
    parse_cursor,
    relabel,
    update_thread,
)
from hub.errors import RequestError
from hub.security import audit
from hub.security.accounts import create_agent
from hub.surveys.results import survey_results
from storage.repos.threads import ThreadFilter
from storage.uow import UnitOfWork


def _audited(request: web.Request, who: Principal, action: str, **details: Any) -> UnitOfWork:
    """A unit of work whose commit also writes the audit entry of this thread or message action."""
    hub = request.app[HUB]
    target = request.match_info["id"]
    actor, now = key_actor(request), hub.clock.now()
    client_id = who.client_id
    return audit.record(hub.uow(), actor, action, now, client_id=client_id, target=target, details=details)


def _flag(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise RequestError("invalid_field", f"{name}: true or false")


def _limit(query: Mapping[str, str]) -> int:
    return query_int(query, "limit", 50, low=1, high=200) or 50


async def get_threads(request: web.Request) -> web.Response:
    """Threads, filtered and paged by cursor."""
    who = await principal(request)
    q = request.query
    status = q.get("status")
    if status not in (None, "open", "resolved"):
        raise RequestError("invalid_field", "status: open or resolved")
    f = ThreadFilter(
        status=status,
        label=q.get("label"),
        needs_agent=_flag(q.get("needs_agent"), "needs_agent"),
        assignee=q.get("assignee"),
        phone=normalize_phone(q["phone"]) if q.get("phone") else None,
        updated_since=query_time(q, "updated_since"),
        after=parse_cursor(q.get("cursor")),
        limit=_limit(q),
    )
    return web.json_response(await list_threads(request.app[HUB].uow(), who.client_id, f))


async def get_one_thread(request: web.Request) -> web.Response:
    """One thread with its messages."""
    who = await principal(request)
    return web.json_response(
        await get_thread(request.app[HUB].uow(), who.client_id, request.match_info["id"])
    )


async def post_message(request: web.Request) -> web.Response:
    """An agent's answer, out on the channel the customer last wrote from."""
    who = await principal(request)
    body = parse(AnswerIn, await read_json(request))
    hub = request.app[HUB]
    uow = _audited(request, who, "thread.answered", length=len(body.text))
    sent = await answer(
        uow, hub.config, who.client_id, request.match_info["id"], body.text, who.name, hub.clock.now()
    )
    return web.json_response(sent, status=202)


async def post_assign(request: web.Request) -> web.Response:
    """Assign the thread (to the calling agent when no assignee is given)."""
    who = await principal(request)
    raw = await read_json(request)
    body = parse(AssignIn, raw)
    assignee = body.assignee if "assignee" in raw else (who.name if who.role == "agent" else None)
    hub = request.app[HUB]
    uow = _audited(request, who, "thread.assigned", assignee=assignee)
    thread_id = request.match_info["id"]
    view = await update_thread(uow, who.client_id, thread_id, hub.clock.now(), assignee=assignee)
    return web.json_response(view)


async def post_resolve(request: web.Request) -> web.Response:
    """Resolve the thread; it re-opens when the customer writes again."""
    who = await principal(request)
    hub = request.app[HUB]
    view = await update_thread(
        _audited(request, who, "thread.resolved"),
        who.client_id,
        request.match_info["id"],
        hub.clock.now(),
        status="resolved",
        needs_agent=False,
    )
    return web.json_response(view)


async def patch_message(request: web.Request) -> web.Response:
    """Relabel a customer's message."""
    who = await principal(request)
    body = parse(RelabelIn, await read_json(request))
    hub = request.app[HUB]
    view = await relabel(
        _audited(request, who, "message.relabeled", label=body.label, rating=body.rating),
        hub.config,
        who.client_id,
        request.match_info["id"],
        body.label,
        body.rating,
        who.name,
        hub.clock.now(),
    )
    return web.json_response(view)


async def get_feedback(request: web.Request) -> web.Response:
    """Agents' relabellings as JSONL (the classifier's training format)."""
    who = await principal(request)
    text = await feedback_jsonl(request.app[HUB].uow(), who.client_id)
    return web.Response(text=text, content_type="application/x-ndjson")


async def get_survey(request: web.Request) -> web.Response:
    """Survey results of one template."""
    who = await principal(request)
    template_id = request.query.get("template_id")
    if not template_id:
        raise RequestError("missing_field", "template_id: give the survey template's id")
    return web.json_response(await survey_results(request.app[HUB].uow(), who.client_id, template_id))


async def admin_create_agent(request: web.Request) -> web.Response:
    """Operator: an agent key for one client (shown once)."""
    require_admin(request)
    body = parse(AgentIn, await read_json(request))
    hub = request.app[HUB]
    made = await create_agent(hub.uow(), body.client_id, body.name, hub.clock.now(), admin_actor(request))
    return web.json_response(
        {"client_id": made.client_id, "name": made.name, "api_key": made.api_key}, status=201
    )


def setup_thread_routes(app: web.Application) -> None:
    """Conversation routes."""
    app.router.add_get("/v1/threads", get_threads)
    app.router.add_get("/v1/threads/{id}", get_one_thread)
    app.router.add_post("/v1/threads/{id}/messages", post_message)
    app.router.add_post("/v1/threads/{id}/assign", post_assign)
    app.router.add_post("/v1/threads/{id}/resolve", post_resolve)
    app.router.add_patch("/v1/messages/{id}", patch_message)
    app.router.add_get("/v1/feedback", get_feedback)
    app.router.add_get("/v1/surveys/results", get_survey)
    app.router.add_post("/v1/admin/agents", admin_create_agent)
