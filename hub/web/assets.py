"""The inbox's static assets (its stylesheet and script), read once at start-up and served from memory.

aiohttp's file responses open the file in a worker thread; a request cancelled meanwhile (a browser
that navigates away before the script arrived, a server shutting down) leaves the file that thread
opened to the garbage collector, which warns "unclosed file" whenever it gets to it. A couple of
small files need no file handle per request at all.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.Response]]


def setup_assets(app: web.Application, prefix: str, folder: Path) -> None:
    """Serve each file of `folder` at `prefix`/name (GET and HEAD), revalidated by its ETag."""
    for path in sorted(folder.iterdir()):
        if path.is_file():
            app.router.add_get(f"{prefix}/{path.name}", _asset(path.name, path.read_bytes()))


def _asset(name: str, body: bytes) -> Handler:
    """A handler answering with `body`, or 304 when the browser already has this version."""
    etag = hashlib.sha256(body).hexdigest()[:20]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    charset = "utf-8" if content_type.startswith("text/") else None

    async def asset(request: web.Request) -> web.Response:
        if etag in request.headers.get("If-None-Match", ""):
            response = web.Response(status=304)
        else:
            response = web.Response(body=body, content_type=content_type, charset=charset)
        response.etag = etag
        response.headers["Cache-Control"] = "no-cache"  # revalidate: a new release changes the ETag
        return response

    return asset
