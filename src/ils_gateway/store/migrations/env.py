"""Alembic environment: runs on a connection handed over by ``store.engine.upgrade``."""

from __future__ import annotations

from alembic import context

from ils_gateway.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run store migrations through `ils-gateway store upgrade` or store.engine.upgrade()"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
