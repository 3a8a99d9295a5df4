"""A fake Telegram Bot API: `/bot<token>/<method>` taking form-data, urlencoded or JSON bodies.

Answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}` with the matching HTTP status, checks the token shape
`123456:ABC...`, keeps getUpdates offsets (an update is gone once a later offset confirms it),
and refuses chats that blocked the bot or never started it with 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{10,}$")
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "NotifyBot", "username": "notify_bot"}


@dataclass
class TgSent:
    """A message the fake accepted."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: Any = None
    deleted: bool = False


class FakeTelegramApi(FakeServer):
    """Records requests and accepted messages; inject errors, blocked users and updates."""

    def __init__(self, *, token: str = "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456") -> None:
        super().__init__()
        self.token = token
        self.sent: list[TgSent] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[str, deque[tuple[int, str, int | None]]] = {}
        self.blocked: set[int] = set()
        self.started: set[int] | None = None
        self.updates: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._next_update = 1000
        #: Seconds to hold the answer of the next sendMessage calls (the message is accepted first).
        self.late_answers: deque[float] = deque()
        self.app.router.add_post("/bot{token}/{method}", self._handle)

    def fail_next(self, method: str, code: int, description: str, retry_after: int | None = None) -> None:
        """The next call of `method` fails with this status and description."""
        self.errors.setdefault(method, deque()).append((code, description, retry_after))

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update (its update_id is assigned here and returned)."""
        self._next_update += 1
        self.updates.append({"update_id": self._next_update, **update})
        self._changed.set()
        return self._next_update

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(json.loads(await request.text() or "{}"))
        return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        params = await self._params(request)
        self.requests.append((method, params))
        if not TOKEN_SHAPE.match(token) or token != self.token:
            return _fail(401, "Unauthorized")
        queued = self.errors.get(method)
        if queued:
            return _fail(*queued.popleft())
        handler = {
            "sendMessage": self._send,
            "deleteMessage": self._delete,
            "getUpdates": self._get_updates,
            "getMe": self._get_me,
        }.get(method)
        if handler is None:
            return _fail(404, "Not Found: method not found")
        return await handler(params)

    async def _get_me(self, params: dict[str, Any]) -> web.Response:
        return _ok(BOT_USER)

    async def _send(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return _fail(403, "Forbidden: bot was blocked by the user")
        if self.started is not None and chat_id not in self.started:
            return _fail(403, "Forbidden: bot can't initiate conversation with a user")
        if not params.get("text"):
            return _fail(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        sent = TgSent(chat_id, len(self.sent) + 1, params["text"], markup)
        self.sent.append(sent)
        message = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "text": sent.text,
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private", "first_name": "Customer"},
        }
        if self.late_answers:  # accepted and delivered, but the answer is lost or late
            await asyncio.sleep(self.late_answers.popleft())
        return _ok(message)

    async def _delete(self, params: dict[str, Any]) -> web.Response:
        for sent in self.sent:
            if sent.chat_id == int(params["chat_id"]) and sent.message_id == int(params["message_id"]):
                sent.deleted = True
                return _ok(True)
        return _fail(400, "Bad Request: message to delete not found")

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(float(params.get("timeout") or 0), 1.0))
        return _ok(self.updates[:100])


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


def text_update(
    chat_id: int, text: str, *, message_id: int = 1, contact: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `message` update from a private chat, as Telegram sends it (without update_id)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": 1_700_000_000,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Customer"},
        "chat": {"id": chat_id, "type": "private", "first_name": "Customer"},
    }
    if contact is not None:
        message["contact"] = contact
    else:
        message["text"] = text
    return {"message": message}
