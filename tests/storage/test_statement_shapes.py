"""Issue 8 (soak memory): a membership test keeps one SQL text, so one prepared statement, on PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from storage.db import any_of, create_engine, session_factory
from storage.models import Client


async def test_any_of_matches_in_and_keeps_one_statement_text_on_postgres(db_url: str) -> None:
    """Lists of 1..40 ids select what IN would; on PostgreSQL they share one statement text."""
    engine = create_engine(db_url, pool_size=1)
    texts: set[str] = set()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM clients" in statement:
            texts.add(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with session_factory(engine)() as session:
            session.add_all(Client(id=f"c{n}", name=f"Client {n}", created_at=0.0) for n in range(50))
            await session.commit()
            for size in range(1, 41):
                wanted = {f"c{n}" for n in range(0, 2 * size, 2)}  # half of them exist beyond c49
                query = select(Client.id).where(any_of(session, Client.id, wanted))
                found = set(await session.scalars(query))
                assert found == {w for w in wanted if int(w[1:]) < 50}
            none = select(Client.id).where(any_of(session, Client.id, []))
            assert set(await session.scalars(none)) == set()
    finally:
        await engine.dispose()
    if engine.dialect.name == "postgresql":
        assert len(texts) == 1, texts
        assert "= ANY" in next(iter(texts))
    else:
        assert all(" IN " in t for t in texts)


async def test_in_lists_make_a_statement_text_per_length(db_url: str) -> None:
    """Why any_of exists: a plain IN renders one text per list length (on PostgreSQL, one more
    prepared statement in each pooled connection's cache)."""
    engine = create_engine(db_url, pool_size=1)
    texts: set[str] = set()
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: texts.add(statement)
    )
    try:
        async with engine.connect() as conn:
            for size in range(1, 6):
                await conn.execute(select(Client.id).where(Client.id.in_([f"c{n}" for n in range(size)])))
    finally:
        await engine.dispose()
    assert len({t for t in texts if "FROM clients" in t}) == 5


async def test_thread_messages_keep_one_insert_text_whatever_the_batch_size(hub: Any) -> None:
    """The reply path's insert skips duplicates and returns what it stored; on PostgreSQL one SQL
    text serves every batch size (a multi-row VALUES list would be a new one each time)."""
    from storage.repos.contacts import contact_row
    from tests.support.scenario import new_client

    _, client = await new_client(hub)
    async with hub.uow() as uow:
        await uow.contacts.add_many([contact_row("con_1", client.id, "+79990000001", 0.0)], [])
        await uow.commit()
    texts: set[str] = set()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "INSERT INTO inbound_messages" in statement:
            texts.add(statement)

    event.listen(hub.engine.sync_engine, "before_cursor_execute", seen)

    def row(n: int) -> dict[str, Any]:
        return {
            "id": f"msg_{n}",
            "client_id": client.id,
            "contact_id": "con_1",
            "channel": "vk",
            "external_id": f"ext{n}",
            "text": f"reply {n}",
            "at": float(n),
            "direction": "in",
        }

    stored: set[str] = set()
    for size in range(1, 7):
        batch = [row(10 * size + k) for k in range(size)] + [row(10)]  # msg_10 again: a duplicate
        async with hub.uow() as uow:
            got = await uow.threads.add_messages(batch)
            await uow.commit()
        assert got == {r["id"] for r in batch} - stored
        stored |= got
    async with hub.uow() as uow:
        assert len(await uow.inbound.for_contact("con_1")) == len(stored) == 21
    if hub.engine.dialect.name == "postgresql":
        assert len(texts) == 1, texts
