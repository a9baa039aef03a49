"""Open the store: engine from a URL, SQLite pragmas, migrations, the ``Store`` lifecycle.

``sqlite+aiosqlite:///<path>`` is the default; a ``postgresql+asyncpg://`` URL selects
PostgreSQL. A libpq-style ``options=-csearch_path=<schema>`` in a PostgreSQL URL is honoured
(asyncpg itself does not take ``options``; it becomes the ``search_path`` server setting).

Opening a store that is already at ``HEAD_REVISION`` reads its ``alembic_version`` row and does
not import alembic (about half a second of a gateway's start); alembic is imported only to
migrate, or by ``current_revision`` and the ``store`` commands.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.store.async_engine import AsyncEngine, create_async_engine
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store

if TYPE_CHECKING:
    from alembic.config import Config

#: How long a SQLite connection waits for another writer before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option marking a connection that will write (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "ils_gateway_write"
#: The newest migration script's revision (a test checks it against the scripts): a database
#: at this revision opens without running (or importing) alembic.
HEAD_REVISION = "0008"


def default_url(path: str | Path) -> str:
    """The SQLite URL for a store file at ``path``."""
    return f"sqlite+aiosqlite:///{Path(path)}"


def _search_path_from_options(url: URL) -> tuple[URL, str | None]:
    options = url.query.get("options")
    if options is None:
        return url, None
    if isinstance(options, tuple):
        options = options[0]
    search_path = None
    for part in unquote(options).split():
        if part.startswith("-csearch_path="):
            search_path = part.removeprefix("-csearch_path=")
        else:
            raise ValueError(f"unsupported PostgreSQL option in store URL: {part!r}")
    return url.difference_update_query(["options"]), search_path


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine for ``url`` with the store's per-database settings.

    Statement parameters are hidden from error texts (``hide_parameters``): they are titles,
    item and patron ids, and a failing write's text reaches the log in a traceback."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _private_sqlite_file(parsed.database)
        engine = create_async_engine(parsed, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        parsed, search_path = _search_path_from_options(parsed)
        connect_args: dict[str, Any] = {}
        if search_path:
            connect_args["server_settings"] = {"search_path": search_path}
        return create_async_engine(
            parsed, connect_args=connect_args, pool_pre_ping=True, hide_parameters=True
        )
    raise ValueError(f"unsupported store database {backend!r} (use sqlite or postgresql)")


def _private_sqlite_file(database: str | None) -> None:
    """Create the store's file readable by this user only (0600), or make an existing one so.

    SQLite gives its WAL and shared-memory files the database file's mode, so they follow.
    In-memory databases and URI file names are left to SQLite."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports the missing directory itself
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except (FileNotFoundError, PermissionError):
            pass  # not there yet, or not ours to change: SQLite opens it as it is


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so "begin" below decides how to BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that read first
        # would fail with SQLITE_BUSY on upgrade instead of waiting its turn.
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def alembic_config() -> Config:
    """The alembic configuration for the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "ils_gateway.store:migrations")
    return config


async def upgrade(url: str, revision: str = "head", *, config: Config | None = None) -> None:
    """Bring the database at ``url`` to ``revision`` in place (a no-op when already there)."""
    engine = create_engine(url)
    try:
        await _upgrade(engine, revision, config)
    finally:
        await engine.dispose()


async def _upgrade(engine: AsyncEngine, revision: str, config: Config | None) -> None:
    if revision == "head" and config is None and await _at_head(engine):
        return  # the usual start: nothing to migrate, alembic not even imported
    from alembic import command

    await _run_alembic(engine, config or alembic_config(), command.upgrade, revision)


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the database's ``alembic_version`` says ``HEAD_REVISION`` (False when it has no
    such table yet: a new database)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return False
    return [row[0] for row in rows] == [HEAD_REVISION]


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it has none yet."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def _run_alembic(
    engine: AsyncEngine, config: Config, action: Callable[..., None], revision: str
) -> None:
    def run(sync_conn: Connection) -> None:
        config.attributes["connection"] = sync_conn
        action(config, revision)

    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.run_sync(run)


@asynccontextmanager
async def open_store(
    url: str,
    *,
    secret: bytes,
    kdf: KdfParams | None = None,
    clock: Clock = system_clock,
    migrate: bool = True,
) -> AsyncIterator[Store]:
    """Open the store at ``url`` (upgrading it first unless ``migrate`` is false); close on exit.

    ``secret`` is the server secret the patron keys and history dedupe tags are derived from;
    it must not live in the database. Usable directly in an aiohttp cleanup context::

        async def store_ctx(app):
            async with open_store(url, secret=secret) as app[STORE]:
                yield
    """
    engine = create_engine(url)
    if migrate:
        try:
            await _upgrade(engine, "head", None)
        except BaseException:
            await asyncio.shield(engine.dispose())
            raise
    store = Store(
        engine,
        secret=secret,
        kdf=kdf or KdfParams.interactive(),
        clock=clock,
        write_option=WRITE_OPTION,
    )
    try:
        yield store
    finally:
        # Shield so a cancelled shutdown still returns pooled connections.
        await asyncio.shield(engine.dispose())
