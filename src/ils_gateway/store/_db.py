"""How repositories open transactions on either database (internal to ``store``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Table, delete, text

from ils_gateway.store.async_engine import AsyncConnection, AsyncEngine
from ils_gateway.store.records import PatronRef


class Database:
    """The engine and the store's two kinds of transaction: read, and write."""

    def __init__(self, engine: AsyncEngine, write_option: str) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{write_option: True})
        # The dialect's INSERT, imported for this database only: SQLAlchemy's PostgreSQL
        # dialect (with every driver's module) costs a SQLite gateway's start ~0.1 s otherwise.
        self._insert: Callable[[Table], Any]
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            self._insert = postgresql.insert
        else:
            from sqlalchemy.dialects import sqlite

            self._insert = sqlite.insert

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads; whatever it began is rolled back on exit."""
        return self.engine.connect()

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction that commits on success (SQLite: holds the write lock throughout)."""
        return self._writer.begin()

    def insert(self, table: Table) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing`` on this database."""
        return self._insert(table)

    async def delete_owned(self, table: Table, owner: PatronRef, *where: Any) -> int:
        """Delete the patron's rows of ``table`` that match ``where``, in one write; how many."""
        async with self.write() as conn:
            result = await conn.execute(delete(table).where(owned_by(table, owner), *where))
            return result.rowcount

    async def lock_patron(self, conn: AsyncConnection, owner: PatronRef, topic: str) -> None:
        """Serialise check-then-write sequences (limits) for one patron until commit.

        SQLite needs nothing: a write transaction there already holds the database's write lock.
        """
        if self.dialect == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                {"k": f"{topic}/{owner.tenant_id}/{owner.patron_key}"},
            )


def owned_by(table: Table, owner: PatronRef) -> Any:
    """The WHERE clause restricting ``table`` to one patron of one tenant."""
    return (table.c.tenant_id == owner.tenant_id) & (table.c.patron_key == owner.patron_key)


def owner_values(owner: PatronRef) -> dict[str, str]:
    """Column values naming the owner of a new row."""
    return {"tenant_id": owner.tenant_id, "patron_key": owner.patron_key}
