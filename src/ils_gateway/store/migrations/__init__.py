"""Alembic migrations of the gateway store, shipped with the package (see ``store.engine``)."""
