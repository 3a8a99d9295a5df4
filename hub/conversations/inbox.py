"""What agents do with threads: read them, answer, assign, resolve, relabel (and its feedback).

Every function takes the client id from the caller's key: a thread or message of another client
is "not found", never shown.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from hub.clock import iso
from hub.config import Config
from hub.conversations.outgoing import queue_message
from hub.conversations.replies import Plan, confirm
from hub.conversations.threads import apply_plan
from hub.delivery.views import leg_view
from hub.errors import RequestError
from hub.webhooks.events import Event, emit
from storage.models import InboundMessage, Thread
from storage.repos.threads import ThreadFilter
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.threads")


def _missing(thread_id: str) -> RequestError:
    return RequestError("thread_not_found", f"no thread {thread_id}", status=404)


def thread_view(thread: Thread, phone: str | None) -> dict[str, Any]:
    """A thread without its messages."""
    return {
        "id": thread.id,
        "contact": {"id": thread.contact_id, "phone": phone},
        "status": thread.status,
        "needs_agent": thread.needs_agent,
        "assignee": thread.assignee,
        "labels": thread.labels,
        "last_channel": thread.last_channel,
        "created_at": iso(thread.created_at),
        "updated_at": iso(thread.updated_at),
    }


def message_view(m: InboundMessage, delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    """One message of a thread; outgoing ones carry their delivery status."""
    view: dict[str, Any] = {
        "id": m.id,
        "direction": m.direction,
        "channel": m.channel,
        "text": m.text,
        "at": iso(m.at),
        "notification_id": m.notification_id,
    }
    if m.direction == "in":
        view.update(label=m.label, rating=m.rating, confidence=m.confidence, labeled_by=m.labeled_by)
    else:
        view.update(author=m.author, delivery=delivery)
    return view


async def list_threads(uow: UnitOfWork, client_id: str, f: ThreadFilter) -> dict[str, Any]:
    """A page of threads and the cursor of the next one (None at the end)."""
    async with uow:
        found = await uow.threads.search(client_id, f)
    cursor = None
    if len(found) == f.limit:
        last = found[-1][0]
        cursor = f"{last.updated_at!r}|{last.id}"
    return {"threads": [thread_view(t, phone) for t, phone in found], "next_cursor": cursor}


def parse_cursor(raw: str | None) -> tuple[float, str] | None:
    """The (updated_at, id) position a `next_cursor` names."""
    if not raw:
        return None
    at, _, tid = raw.partition("|")
    try:
        position = float(at)
    except ValueError as e:
        raise RequestError("invalid_field", "cursor: pass next_cursor from the previous page") from e
    if not math.isfinite(position):
        raise RequestError("invalid_field", "cursor: pass next_cursor from the previous page")
    return position, tid


async def get_thread(uow: UnitOfWork, client_id: str, thread_id: str) -> dict[str, Any]:
    """A thread with its messages in order."""
    async with uow:
        thread = await uow.threads.get(thread_id, client_id)
        if thread is None:
            raise _missing(thread_id)
        contact = (await uow.contacts.get_many([thread.contact_id]))[thread.contact_id]
        messages = await uow.threads.messages(thread.id)
        outgoing = [m.notification_id for m in messages if m.direction == "out" and m.notification_id]
        legs = await uow.notifications.legs(outgoing)
    views = [message_view(m, _delivery(legs.get(m.notification_id or ""))) for m in messages]
    return {**thread_view(thread, contact.phone), "messages": views}


def _delivery(legs: list[Any] | None) -> dict[str, Any] | None:
    return leg_view(legs[0]) if legs else None


async def answer(
    uow: UnitOfWork, config: Config, client_id: str, thread_id: str, text: str, agent: str, now: float
) -> dict[str, Any]:
    """Queue an agent's answer on the channel the customer last wrote from."""
    async with uow:
        thread = await uow.threads.get(thread_id, client_id)
        if thread is None:
            raise _missing(thread_id)
        if thread.last_channel is None:
            raise RequestError("no_channel", "the customer has not written yet; use /v1/notify", status=409)
        message = await queue_message(
            uow,
            config,
            client_id=client_id,
            contact_id=thread.contact_id,
            thread_id=thread.id,
            channel=thread.last_channel,
            text=text,
            author=f"agent:{agent}",
            now=now,
        )
        thread.needs_agent, thread.updated_at = False, now
        await uow.commit()
    log.info(
        "agent answer %s queued on %s for thread %s",
        message["notification_id"],
        message["channel"],
        thread_id,
    )
    return {
        "id": message["id"],
        "direction": "out",
        "channel": message["channel"],
        "text": text,
        "notification_id": message["notification_id"],
        "status": "queued",
    }


async def update_thread(
    uow: UnitOfWork, client_id: str, thread_id: str, now: float, **values: Any
) -> dict[str, Any]:
    """Assign or resolve a thread."""
    async with uow:
        thread = await uow.threads.get(thread_id, client_id)
        if thread is None:
            raise _missing(thread_id)
        for key, value in values.items():
            setattr(thread, key, value)
        thread.updated_at = now
        contact = (await uow.contacts.get_many([thread.contact_id]))[thread.contact_id]
        await uow.commit()
    return thread_view(thread, contact.phone)


async def relabel(
    uow: UnitOfWork,
    config: Config,
    client_id: str,
    message_id: str,
    label: str,
    rating: int | None,
    agent: str,
    now: float,
) -> dict[str, Any]:
    """Correct a message's label: undo the old label's action, apply the new one, keep the feedback."""
    async with uow:
        msg = await uow.threads.message(message_id, client_id)
        if msg is None or msg.direction != "in" or msg.thread_id is None:
            raise RequestError("message_not_found", f"no customer message {message_id}", status=404)
        thread = await uow.threads.get(msg.thread_id, client_id)
        assert thread is not None
        contact = (await uow.contacts.get_many([msg.contact_id]))[msg.contact_id]
        previous, new_rating = (
            msg.label,
            rating if rating is not None else (msg.rating if label == "rating" else None),
        )
        plan = _relabel_plan(previous, label, new_rating, contact.opted_out, msg.text)
        row = {"id": msg.id, "channel": msg.channel, "notification_id": msg.notification_id}
        events: list[Event] = []
        await apply_plan(uow, config, thread, plan, contact.opted_out, row, contact.phone, now, events)
        if previous == "rating" and label != "rating" and msg.notification_id:
            await uow.inbound.set_rating(msg.notification_id, None)
        msg.label, msg.rating, msg.labeled_by = label, new_rating, f"agent:{agent}"
        if label not in thread.labels:
            thread.labels = [*thread.labels, label]
        thread.updated_at = now
        await uow.threads.add_feedback(
            {
                "client_id": client_id,
                "message_id": msg.id,
                "text": msg.text,
                "context": msg.context,
                "label": label,
                "rating": new_rating,
                "previous": previous,
                "at": now,
            }
        )
        await emit(uow, events, now)
        await uow.commit()
    return message_view(msg)


def _relabel_plan(previous: str | None, label: str, rating: int | None, opted_out: bool, text: str) -> Plan:
    """What changes when a message's label goes from `previous` to `label`."""
    out: bool | None = None
    send = None
    if label == "opt_out" and not opted_out:
        out, send = True, confirm("opt_out", text)
    elif previous == "opt_out" and label != "opt_out" and opted_out:
        out = False  # undo the suppression the wrong label caused (silently)
    elif label == "opt_in" and opted_out:
        out, send = False, confirm("opt_in", text)
    needs = True if label == "question" else (False if previous == "question" else None)
    return Plan(
        opted_out=out, needs_agent=needs, record_rating=rating if label == "rating" else None, send_text=send
    )


async def feedback_jsonl(uow: UnitOfWork, client_id: str) -> str:
    """Agents' relabellings as JSON lines in the classifier's training format."""
    async with uow:
        rows = await uow.threads.feedback(client_id)
    lines = [
        json.dumps(
            {"text": r.text, "label": r.label, "rating": r.rating, "context": r.context, "source": "agent"},
            ensure_ascii=False,
        )
        for r in rows
    ]
    return "".join(line + "\n" for line in lines)
