"""POST /v1/contacts/import takes large files streamed (no row cap), XLSX, and a size cap (413)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import Workbook

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import ContactsConfig
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


Api = tuple[TestClient, dict[str, str]]  # type: ignore[type-arg]
MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(db_url: str, clock: FakeClock, aiohttp_client: MakeClient) -> AsyncIterator[MakeApi]:
    """A hub with its own `contacts` settings, its API, and one client's key."""
    hubs: list[Hub] = []

    async def make(**contacts: int) -> Api:
        hub = build_hub(make_config(db_url, contacts=ContactsConfig(**contacts)), clock=clock)
        hubs.append(hub)
        api = await aiohttp_client(create_app(hub, run_workers=False))
        created, _ = await new_client(hub, "Shop")
        return api, {"Authorization": f"Bearer {created.api_key}"}

    yield make
    for hub in hubs:
        await hub.aclose()


async def test_a_file_over_a_mebibyte_and_ten_thousand_rows_is_imported(
    make_api: MakeApi,
) -> None:
    api, auth = await make_api()
    lines = ["phone,name,note,average_check"]
    lines += [f"+7916{i:07d},Покупатель {i},{'x' * 60},{i % 500}" for i in range(12_000)]
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) > 1024 * 1024
    headers = {**auth, "Content-Type": "text/csv"}
    resp = await api.post("/v1/contacts/import", data=io.BytesIO(body), headers=headers)
    result = await resp.json()
    assert resp.status == 200, result
    assert (result["rows"], result["created"], result["error_count"]) == (12_000, 12_000, 0)
    page = await (await api.get("/v1/contacts?q=11999", headers=auth)).json()
    assert [(c["name"], c["attributes"]["average_check"]) for c in page["contacts"]] == [
        ("Покупатель 11999", 499)
    ]


async def test_an_xlsx_workbook_is_imported(
    make_api: MakeApi,
) -> None:
    api, auth = await make_api()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Phone", "Name", "City", "Visits", "Groups"])
    sheet.append([79161110001, "Анна", "Казань", 3, "VIP"])
    sheet.append(["+79161110002", "Борис", "Омск", "много", None])
    data = io.BytesIO()
    book.save(data)
    resp = await api.post("/v1/contacts/import", data=data.getvalue(), headers={**auth, "Content-Type": XLSX})
    result = await resp.json()
    assert (resp.status, result["created"], [(e["line"], e["code"]) for e in result["errors"]]) == (
        200,
        1,
        [(3, "invalid_attribute_value")],
    )
    contact = await (await api.get("/v1/contacts/+79161110001", headers=auth)).json()
    assert contact["attributes"] == {"city": "Казань", "visits": 3} and contact["groups"] == ["VIP"]


async def test_a_file_over_the_cap_is_refused_with_413_and_nothing_imported(
    make_api: MakeApi,
) -> None:
    api, auth = await make_api(import_max_bytes=4096)
    body = ("phone\n" + "".join(f"+7916{i:07d}\n" for i in range(400))).encode()
    resp = await api.post("/v1/contacts/import", data=body, headers={**auth, "Content-Type": "text/csv"})
    error = (await resp.json())["error"]
    assert resp.status == 413 and error["code"] == "import_too_large" and "4096 bytes" in error["message"]

    async def chunks():  # type: ignore[no-untyped-def]
        yield body[:3000]
        yield body[3000:]

    resp = await api.post("/v1/contacts/import", data=chunks(), headers={**auth, "Content-Type": "text/csv"})
    assert resp.status == 413  # no Content-Length: counted while streaming
    assert (await (await api.get("/v1/contacts", headers=auth)).json())["contacts"] == []


async def test_json_that_breaks_off_keeps_the_rows_before_and_says_so(
    make_api: MakeApi,
) -> None:
    api, auth = await make_api()
    items = json.dumps([{"phone": f"+7916{i:07d}"} for i in range(1500)])
    body = (items[:-1] + ', {"phone": oops').encode()
    resp = await api.post(
        "/v1/contacts/import", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    result = await resp.json()
    assert resp.status == 200 and (result["rows"], result["created"]) == (1500, 1500)
    [error] = result["errors"]
    assert error["code"] == "malformed_json" and "the rest of the file was not read" in error["message"]
