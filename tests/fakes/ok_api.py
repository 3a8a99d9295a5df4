"""A fake OK Bot API (Graph API): `/graph/me/messages[/chat_id]` and `/graph/me/subscribe`.

JSON bodies with `access_token` in the query; errors as `{"error_code", "error_msg": "NAME : text",
"error_data": null}` with the `invocation-error` header, like api.ok.ru.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

ERRORS = {
    8: "FLOOD_BLOCKED : Flood blocked",
    10: "PERMISSION_DENIED : User has not allowed messages from the group",
    11: "LIMIT_REACHED : Limit reached",
    102: "PARAM_SESSION_EXPIRED : Session expired",
    9999: "SYSTEM : Internal error",
}


@dataclass
class OkSent:
    """A message the fake accepted."""

    recipient: str
    text: str
    mid: str


class FakeOkApi(FakeServer):
    """Records every request and accepted message; inject errors or per-user failures."""

    def __init__(self, *, token: str = "tkn1ok:GROUPTOKEN") -> None:
        super().__init__()
        self.token = token
        self.sent: list[OkSent] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.errors: deque[int] = deque()
        self.refused_users: set[str] = set()
        self.subscriptions: list[str] = []
        self.app.router.add_post("/graph/me/messages", self._messages)
        self.app.router.add_post("/graph/me/messages/{chat_id}", self._messages)
        self.app.router.add_post("/graph/me/subscribe", self._subscribe)

    def fail_next(self, code: int, times: int = 1) -> None:
        """The next `times` requests answer OK error `code`."""
        self.errors.extend([code] * times)

    async def _read(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        body = json.loads(await request.text() or "{}")
        self.requests.append((request.path, body))
        if not request.content_type.startswith("application/json"):
            return None, self._error(4)
        if request.query.get("access_token") != self.token:
            return None, self._error(102)
        if self.errors:
            return None, self._error(self.errors.popleft())
        return body, None

    def _error(self, code: int) -> web.Response:
        body = {"error_code": code, "error_msg": ERRORS.get(code, "PARAM : bad request"), "error_data": None}
        return web.json_response(body, headers={"invocation-error": str(code)})

    async def _messages(self, request: web.Request) -> web.Response:
        body, error = await self._read(request)
        if error is not None or body is None:
            return error or self._error(4)
        recipient = body["recipient"]
        target = recipient.get("chat_id") or recipient["user_ids"][0]
        if target in self.refused_users:
            return web.json_response({"success": False, "error_code": 10, "error_msg": ERRORS[10]})
        mid = f"mid:C3ecb9d02a600.{len(self.sent) + 1:x}"
        self.sent.append(OkSent(target, body["message"]["text"], mid))
        return web.json_response({"success": True, "message_id": mid})

    async def _subscribe(self, request: web.Request) -> web.Response:
        body, error = await self._read(request)
        if error is not None or body is None:
            return error or self._error(4)
        self.subscriptions.append(body["url"])
        return web.json_response({"success": True})


def ok_update(
    mid: str, *, user_id: str = "user:123456789012", text: str = "Да", ts: int = 1498581292941
) -> dict[str, Any]:
    """A webhook body as OK posts it for a new message in a group dialog."""
    return {
        "webhookType": "MESSAGE_CREATED",
        "sender": {"user_id": user_id, "name": "Customer"},
        "recipient": {"chat_id": "chat:C3ecb9d02a600"},
        "message": {"text": text, "seq": 98211023614189660, "mid": mid},
        "timestamp": ts,
    }
