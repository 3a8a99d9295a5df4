"""The inbox's stylesheet and script: served from memory (no file opened per request), revalidated."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.web.assets import setup_assets

STATIC = Path(__file__).resolve().parents[2] / "hub" / "web" / "static"


async def test_assets_are_read_once_and_revalidated_by_etag(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "app.js").write_text("console.log('v1');\n")
    app = web.Application()
    setup_assets(app, "/inbox/static", folder)
    (folder / "app.js").unlink()  # read at start-up: nothing is opened when a request comes
    async with TestClient(TestServer(app)) as client:
        first = await client.get("/inbox/static/app.js")
        assert first.status == 200 and await first.text() == "console.log('v1');\n"
        assert first.content_type == "text/javascript" and first.headers["ETag"]
        again = await client.get("/inbox/static/app.js", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status == 304
        assert (await client.get("/inbox/static/nothing.js")).status == 404


def test_the_inbox_assets_exist() -> None:
    assert {p.name for p in STATIC.iterdir()} >= {"app.css", "app.js"}
