"""A local webhook receiver for tests: records what arrives, verifies it with `standardwebhooks`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    """One accepted delivery."""

    id: str
    type: str
    data: dict[str, Any]


@dataclass
class Receiver:
    """Answers 200 (or `down_status` while down) and keeps accepted deliveries in arrival order."""

    secret: str | None = None
    up: bool = True
    down_status: int = 503
    verify: bool = True
    got: list[Received] = field(default_factory=list)
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        """The endpoint."""
        body = await request.read()
        if not self.up:
            self.refused += 1
            return web.Response(status=self.down_status)
        headers = {k: v for k, v in request.headers.items()}
        if self.verify:
            assert self.secret is not None
            payload = Webhook(self.secret).verify(body, headers)  # raises on a bad signature
        else:
            payload = json.loads(body)
        self.got.append(Received(headers["webhook-id"], payload["type"], payload["data"]))
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        """An aiohttp app serving the endpoint at /hook."""
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app

    def types(self) -> list[str]:
        """Event types received, in order."""
        return [r.type for r in self.got]
