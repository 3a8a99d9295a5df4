"""A fake VK API: `/method/<name>` (form-encoded, `v` and `access_token` checked) and a long poll server.

Reproduces what real clients trip on: `{"response": ...}` / `{"error": {"error_code",
"error_msg", "request_params"}}`, the `peer_ids` list answer with per-peer errors, `random_id`
deduplication, the message object's required fields, `failed` 1/2/3 on the long poll server,
and error 6 when a token makes more than `rate_limit` requests in a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.server import FakeServer

ERROR_TEXTS = {
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    9: "Flood control",
    10: "Internal server error",
    901: "Can't send messages for users without permission",
    902: "Can't send messages to this user due to their privacy settings",
    924: "Can't delete this message for everybody",
    943: "Cannot use this intent",
    944: "Limits overflow for this intent",
    950: "Can't send message, reply timed out",
}


@dataclass
class SentMessage:
    """A message the fake accepted: what the customer would see."""

    peer_id: int
    message_id: int
    text: str
    random_id: int
    intent: str | None
    deleted: bool = False


@dataclass
class _LongPoll:
    updates: list[dict[str, Any]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    failures: deque[int] = field(default_factory=deque)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    key_no: int = 0
    start_ts: int = 1


class FakeVkApi(FakeServer):
    """Records every request and every accepted message; inject errors by method and code."""

    def __init__(
        self, *, token: str = "vk1.a.test-token", group_id: int = 1, rate_limit: int | None = None
    ) -> None:
        super().__init__()
        self.token = token
        self.group_id = group_id
        self.rate_limit = rate_limit
        self.sent: list[SentMessage] = []
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self.errors: dict[str, deque[int]] = {}
        self.peer_errors: dict[int, int] = {}
        self.lp = _LongPoll()
        self.lp_requests: list[dict[str, str]] = []
        self._stamps: deque[float] = deque()
        self._next_id = 100
        self.app.router.add_post("/method/{name}", self._method)
        self.app.router.add_get("/lp", self._long_poll)

    @property
    def api_base_url(self) -> str:
        """What the adapter's `api_base_url` should be."""
        return f"{self.url}/method"

    def fail_next(self, method: str, code: int, times: int = 1) -> None:
        """The next `times` calls of `method` answer VK error `code`."""
        self.errors.setdefault(method, deque()).extend([code] * times)

    # --- API methods ---------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        params = {**dict(request.query), **form}
        self.requests.append((name, params, time.monotonic()))
        if error := self._check(name, params):
            return self._error(error, params)
        handler = {
            "messages.send": self._send,
            "messages.delete": self._delete,
            "groups.getLongPollServer": self._lp_server,
        }.get(name)
        if handler is None:
            return self._error(3, params)
        result = handler(params)
        if isinstance(result, int) and name != "messages.send":
            return self._error(result, params)
        return web.json_response({"response": result})

    def _check(self, name: str, params: dict[str, str]) -> int | None:
        if params.get("access_token") != self.token:
            return 5
        if params.get("v") != "5.199":
            return 8
        if self.rate_limit is not None and self._over_rate():
            return 6
        queued = self.errors.get(name)
        return queued.popleft() if queued else None

    def _over_rate(self) -> bool:
        now = time.monotonic()
        while self._stamps and now - self._stamps[0] >= 1.0:
            self._stamps.popleft()
        self._stamps.append(now)
        return len(self._stamps) > (self.rate_limit or 0)

    def _error(self, code: int, params: dict[str, str]) -> web.Response:
        request_params = [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        body = {
            "error_code": code,
            "error_msg": ERROR_TEXTS.get(code, "Unknown error"),
            "request_params": request_params,
        }
        return web.json_response({"error": body})

    def _send(self, params: dict[str, str]) -> Any:
        if "message" not in params or "random_id" not in params:
            return 100
        peers = [int(p) for p in (params.get("peer_ids") or params.get("peer_id", "")).split(",") if p]
        items = [self._send_one(peer, params) for peer in peers]
        if "peer_ids" in params:
            return items
        if "error" in items[0]:
            return items[0]["error"]["code"]
        return items[0]["message_id"]

    def _send_one(self, peer: int, params: dict[str, str]) -> dict[str, Any]:
        if peer in self.peer_errors:
            code = self.peer_errors[peer]
            return {
                "peer_id": peer,
                "message_id": 0,
                "conversation_message_id": 0,
                "error": {"code": code, "description": ERROR_TEXTS.get(code, "error")},
            }
        rid = int(params["random_id"])
        for old in self.sent:
            if old.peer_id == peer and old.random_id == rid and rid != 0:
                return {
                    "peer_id": peer,
                    "message_id": old.message_id,
                    "conversation_message_id": old.message_id,
                }
        self._next_id += 1
        self.sent.append(SentMessage(peer, self._next_id, params["message"], rid, params.get("intent")))
        return {"peer_id": peer, "message_id": self._next_id, "conversation_message_id": self._next_id}

    def _delete(self, params: dict[str, str]) -> Any:
        ids = [int(i) for i in params.get("message_ids", "").split(",") if i]
        result: dict[str, int] = {}
        for message in self.sent:
            if message.message_id in ids:
                message.deleted = True
                result[str(message.message_id)] = 1
        return result

    def _lp_server(self, params: dict[str, str]) -> Any:
        if int(params.get("group_id", 0)) != self.group_id:
            return 100
        self.lp.key_no += 1
        key = f"key{self.lp.key_no}"
        self.lp.keys.add(key)
        return {"key": key, "server": f"{self.url}/lp", "ts": str(self.next_ts)}

    # --- long poll -----------------------------------------------------------------------

    @property
    def next_ts(self) -> int:
        """The ts the next pushed update will get."""
        return self.lp.start_ts + len(self.lp.updates)

    def push(self, update: dict[str, Any]) -> None:
        """Queue one update for long poll readers."""
        self.lp.updates.append(update)
        self.lp.changed.set()

    def fail_long_poll(self, code: int) -> None:
        """The next a_check answers `{"failed": code}` (2 also expires every key)."""
        self.lp.failures.append(code)
        self.lp.changed.set()

    async def _long_poll(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.lp_requests.append(q)
        if q.get("act") != "a_check":
            return web.json_response({"failed": 4})
        if self.lp.failures:
            return self._lp_failure(self.lp.failures.popleft(), int(q.get("ts", 0)))
        if q.get("key") not in self.lp.keys:
            return web.json_response({"failed": 2})
        ts = int(q["ts"])
        if ts > self.next_ts:
            return web.json_response({"failed": 1, "ts": str(self.next_ts)})
        if ts == self.next_ts:
            await self._wait_change(min(float(q.get("wait", 25)), 1.0))
        updates = self.lp.updates[ts - self.lp.start_ts :]
        return web.json_response({"ts": str(self.next_ts), "updates": updates})

    def _lp_failure(self, code: int, ts: int) -> web.Response:
        if code == 1:
            return web.json_response({"failed": 1, "ts": str(ts)})
        self.lp.keys.clear()
        return web.json_response({"failed": code})

    async def _wait_change(self, timeout: float) -> None:
        self.lp.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.lp.changed.wait(), timeout)


def message_new(
    event_id: str, *, from_id: int, text: str, message_id: int, group_id: int = 1, ref: str | None = None
) -> dict[str, Any]:
    """A `message_new` update with every field VK marks required."""
    message: dict[str, Any] = {
        "id": message_id,
        "date": 1_700_000_000,
        "peer_id": from_id,
        "from_id": from_id,
        "text": text,
        "conversation_message_id": message_id,
        "out": 0,
        "version": 1,
        "fwd_messages": [],
        "attachments": [],
        "important": False,
        "is_hidden": False,
    }
    if ref is not None:
        message["ref"] = ref
        message["ref_source"] = "site"
    return {
        "group_id": group_id,
        "type": "message_new",
        "event_id": event_id,
        "v": "5.199",
        "object": {"message": message, "client_info": {"keyboard": True}},
    }


async def send_callback(url: str, update: dict[str, Any], *, secret: str | None = None) -> tuple[int, str]:
    """POST one Callback API update to `url` the way VK does; returns (status, body)."""
    body = dict(update)
    if secret is not None:
        body["secret"] = secret
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.text()
