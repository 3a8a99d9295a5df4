"""A fake HTTP SMS gateway: POST /send with a JSON or form body, deduplicated by client_id.

Can fail with a status, or hang (never answer, never send) to exercise route timeouts. `report`
posts a delivery report or an incoming message to the hub's callback URL the way a gateway does,
with the HTTP Basic credentials set in its dashboard (`callback_auth`).
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.server import FakeServer


@dataclass
class GatewaySms:
    """A message the gateway accepted (and would hand to the operator)."""

    id: str
    to: str
    text: str
    sender: str
    client_id: str | None


class FakeSmsGateway(FakeServer):
    """Records accepted messages; `fail_next(status)` or `hang = True` to misbehave."""

    def __init__(self, *, token: str = "gw-token", id_prefix: str = "gw") -> None:
        super().__init__()
        self.token = token
        self.id_prefix = id_prefix
        self.sent: list[GatewaySms] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.failures: deque[int] = deque()
        self.hang = False
        #: (user, password) sent with callbacks, as configured in the gateway's dashboard.
        self.callback_auth: tuple[str, str] | None = None
        self.app.router.add_post("/send", self._send)

    async def report(self, url: str, body: Any) -> tuple[int, str]:
        """POST one callback body (a report, a reply, or a list of them) to `url`; returns (status, body)."""
        headers = basic_auth(*self.callback_auth) if self.callback_auth else {}
        async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as resp:
            return resp.status, await resp.text()

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` sends answer HTTP `status` without sending."""
        self.failures.extend([status] * times)

    async def _send(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            body = {k: str(v) for k, v in (await request.json()).items()}
        else:
            body = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append((request.content_type, body))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.hang:
            await asyncio.Event().wait()
        if self.failures:
            status = self.failures.popleft()
            return web.json_response({"error": "failure"}, status=status, headers={"Retry-After": "5"})
        for old in self.sent:
            if body.get("client_id") and old.client_id == body.get("client_id"):
                return web.json_response({"id": old.id})
        sms = GatewaySms(
            f"{self.id_prefix}-{len(self.sent) + 1}",
            body["to"],
            body["text"],
            body["from"],
            body.get("client_id"),
        )
        self.sent.append(sms)
        return web.json_response({"id": sms.id, "status": "queued"})


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The `Authorization: Basic ...` header for these credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
