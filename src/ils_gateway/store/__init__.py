"""The gateway's own data: basket, hold sequences, cancelled-hold history, bookshelves,
patron settings, idempotency keys and the encrypted reading history.

SQLAlchemy Core, async; a SQLite file by default, PostgreSQL when configured. Import from the
submodules (``store.engine.open_store``, ``store.records``, ``store.errors``); SQL stays inside
this package.
"""
