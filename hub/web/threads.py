"""The agents' inbox pages: the thread list (live over server-sent events) and one conversation.

They call the same functions as the threads API (`hub.conversations.inbox`), scoped to the signed-in
client, so the browser and the API can never disagree about what an agent may see or do.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.api.guard import session_actor
from hub.api.requests import HUB
from hub.clock import iso
from hub.contacts.phones import mask_phone
from hub.conversations.inbox import answer, get_thread, list_threads, relabel, update_thread
from hub.delivery.views import leg_view
from hub.errors import RequestError
from hub.security import audit
from hub.web.rendering import SESSION, render
from hub.web.session import Session
from storage.repos.threads import ThreadFilter
from storage.uow import UnitOfWork

LABELS = ("opt_out", "opt_in", "question", "rating", "other")
#: Legs not worth showing in a timeline: the customer is not on that channel, or it was not needed.
_QUIET = ("no_identity", "not_needed")
POLL_SECONDS = 1.0
#: A stream ends after this long and EventSource reconnects: no handler outlives a shutdown for long.
STREAM_SECONDS = 20.0


def client_of(request: web.Request) -> Session:
    session: Session = request[SESSION]
    if session.client_id is None:  # the operator works on templates and connections, not threads
        raise web.HTTPSeeOther("/inbox/console")
    return session


def _agent(session: Session) -> str:
    return session.name


async def _rows(request: web.Request, session: Session) -> list[dict[str, Any]]:
    q = request.query
    needs = {"1": True, "0": False}.get(q.get("needs_agent", ""))
    f = ThreadFilter(
        status=q.get("status") or None,
        label=q.get("label") or None,
        needs_agent=needs,
        assignee=q.get("assignee") or None,
        limit=100,
    )
    assert session.client_id is not None
    hub = request.app[HUB]
    page = await list_threads(hub.uow(), session.client_id, f)
    rows = []
    async with hub.uow() as uow:
        for view in page["threads"]:
            messages = await uow.threads.messages(view["id"])
            last_out = max((i for i, m in enumerate(messages) if m.direction == "out"), default=-1)
            unread = sum(1 for m in messages[last_out + 1 :] if m.direction == "in")
            last = messages[-1] if messages else None
            rows.append(
                {
                    **view,
                    "phone": mask_phone(view["contact"]["phone"]),
                    "unread": unread,
                    "preview": last.text[:120] if last else "",
                    "rating": _rating(messages),
                }
            )
    return rows


def _rating(messages: list[Any]) -> int | None:
    rated = [m.rating for m in messages if m.direction == "in" and m.rating]
    return rated[-1] if rated else None


async def inbox(request: web.Request) -> web.Response:
    """Threads, newest activity first, with filters; `?partial=1` gives just the list (for live reload)."""
    session = client_of(request)
    rows = await _rows(request, session)
    name = "threads_list.html" if request.query.get("partial") else "inbox.html"
    refresh = "/inbox/threads?" + urlencode({**request.query, "partial": "1"})
    return render(request, name, rows=rows, labels=LABELS, q=request.query, refresh=refresh)


async def thread(request: web.Request) -> web.Response:
    """One conversation with delivery timelines, label chips and the answer box."""
    session = client_of(request)
    assert session.client_id is not None
    try:
        view = await get_thread(request.app[HUB].uow(), session.client_id, request.match_info["id"])
    except RequestError as e:
        return render(request, "error.html", status=e.status, message=e.message)
    view["phone"] = mask_phone(view["contact"]["phone"])
    view["timeline"] = await _timeline(request, session.client_id, view)
    name = "thread_messages.html" if request.query.get("partial") else "thread.html"
    return render(request, name, th=view, labels=LABELS)


async def _timeline(request: web.Request, client_id: str, view: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages and templated notifications (with their legs) in time order."""
    async with request.app[HUB].uow() as uow:
        notes = await uow.notifications.of_contact(client_id, view["contact"]["id"])
        legs = await uow.notifications.legs([n.id for n in notes])
    items = [{"kind": "message", "at": m["at"], "m": m} for m in view["messages"]]
    for note in notes:
        steps = [
            leg_view(leg)
            for leg in legs.get(note.id, [])
            if leg.status != "skipped" or leg.error not in _QUIET
        ]
        items.append({"kind": "notification", "at": iso(note.created_at), "n": note, "legs": steps})
    return sorted(items, key=lambda item: item["at"] or "")


async def act(request: web.Request) -> web.StreamResponse:
    """Answer, assign to me, resolve, reopen, or relabel a message; then back to the thread."""
    session = client_of(request)
    assert session.client_id is not None
    hub = request.app[HUB]
    form = await request.post()
    thread_id = request.match_info["id"]
    action = request.match_info["action"]
    now = hub.clock.now()

    def audited(name: str, target: str = thread_id, **details: Any) -> UnitOfWork:
        actor = session_actor(request, session)
        client_id = session.client_id
        return audit.record(hub.uow(), actor, name, now, client_id=client_id, target=target, details=details)

    try:
        if action == "answer":
            text = str(form.get("text", "")).strip()
            if not text:
                raise RequestError("invalid_field", "text: write an answer")
            uow = audited("thread.answered", length=len(text))
            await answer(uow, hub.config, session.client_id, thread_id, text, _agent(session), now)
        elif action == "assign":
            uow = audited("thread.assigned", assignee=_agent(session))
            await update_thread(uow, session.client_id, thread_id, now, assignee=_agent(session))
        elif action in ("resolve", "reopen"):
            status = "resolved" if action == "resolve" else "open"
            uow = audited("thread.resolved" if action == "resolve" else "thread.reopened")
            await update_thread(uow, session.client_id, thread_id, now, status=status)
        elif action == "relabel":
            label = str(form.get("label", ""))
            if label not in LABELS:
                raise RequestError("invalid_field", "label: choose one of the labels")
            message_id = str(form.get("message_id", ""))
            uow = audited("message.relabeled", message_id, label=label)
            await relabel(uow, hub.config, session.client_id, message_id, label, None, _agent(session), now)
        else:
            raise web.HTTPNotFound()
    except RequestError as e:
        return render(request, "error.html", status=e.status, message=e.message)
    raise web.HTTPSeeOther(f"/inbox/threads/{thread_id}")


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `changed` with a thread id whenever one of the client's threads moves."""
    session = client_of(request)
    assert session.client_id is not None
    hub = request.app[HUB]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    since = hub.clock.now()
    ends = asyncio.get_running_loop().time() + STREAM_SECONDS  # then the browser reconnects by itself
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        await response.write(b"retry: 1000\n\n")
        while session.expires > hub.clock.now() and asyncio.get_running_loop().time() < ends:
            page = await list_threads(
                hub.uow(), session.client_id, ThreadFilter(updated_since=since, limit=100)
            )
            for view in page["threads"]:
                await response.write(f"event: changed\ndata: {view['id']}\n\n".encode())
            if page["threads"]:
                since = hub.clock.now()
            else:
                await response.write(b": keep-alive\n\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(request.app[CLOSING].wait(), POLL_SECONDS)
                break  # the server is shutting down
    return response


CLOSING = web.AppKey("web_closing", asyncio.Event)


async def _closing(app: web.Application) -> None:
    app[CLOSING].set()


def setup_thread_pages(app: web.Application) -> None:
    """Mount the inbox pages; open event streams end when the server shuts down."""
    app[CLOSING] = asyncio.Event()
    app.on_shutdown.append(_closing)
    app.router.add_get("/inbox/threads", inbox)
    app.router.add_get("/inbox/threads/{id}", thread)
    app.router.add_post("/inbox/threads/{id}/{action}", act)
    app.router.add_get("/inbox/events", events)
