"""Engine, migrations, and a second gateway process on the same database."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from ils_gateway.store import migrations
from ils_gateway.store.engine import (
    HEAD_REVISION,
    alembic_config,
    create_engine,
    current_revision,
    default_url,
    open_store,
    upgrade,
)
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.records import SequenceMember
from ils_gateway.store.schema import metadata
from ils_gateway.store.store import Store

HEAD = "0008"

START = textwrap.dedent(
    """
    import asyncio, json, sys
    from ils_gateway.store.engine import open_store
    from ils_gateway.store.reading_history import KdfParams

    async def start():
        async with open_store(sys.argv[1], secret=b"s" * 32, kdf=KdfParams.minimal()):
            pass

    asyncio.run(start())
    print(json.dumps([name for name in ("alembic", "sqlalchemy.dialects.postgresql")
                      if name in sys.modules]))
    """
)

SECOND_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cancelled_holds", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("cancelled_holds", "note")
"""


async def test_upgrade_twice_is_a_no_op(store_url: str) -> None:
    await upgrade(store_url)
    assert await current_revision(store_url) == HEAD
    await upgrade(store_url)
    assert await current_revision(store_url) == HEAD


def test_head_revision_is_the_migration_scripts_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION] == [HEAD]


def _start_imports(url: str) -> set[str]:
    """Open the store at ``url`` in a fresh process: which of alembic and SQLAlchemy's
    PostgreSQL dialect it imported."""
    result = subprocess.run(
        [sys.executable, "-c", START, url], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


async def test_a_start_on_an_up_to_date_store_does_not_import_alembic(store_url: str) -> None:
    postgres = {"sqlalchemy.dialects.postgresql"} if store_url.startswith("postgresql") else set()
    assert "alembic" in _start_imports(store_url)  # a new store: migrated
    assert await current_revision(store_url) == HEAD
    # the second start: at the head already; a SQLite store loads no PostgreSQL dialect
    assert _start_imports(store_url) == postgres
    assert await current_revision(store_url) == HEAD


async def test_a_store_behind_the_head_is_migrated_when_opened(store_url: str) -> None:
    await upgrade(store_url, "0001")
    async with open_store(store_url, secret=b"s" * 32, kdf=KdfParams.minimal()) as store:
        assert await current_revision(store_url) == HEAD
        owner = store.patron("ibaraki", "0001")  # the roster's table came with 0002
        await store.roster.enrol(owner, {"card": "0001"})
        assert await store.roster.is_enrolled(owner)


async def test_migrated_schema_matches_the_tables_the_code_uses(store_url: str) -> None:
    await upgrade(store_url)
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_database_at_revision_1_upgrades_in_place(store_url: str, tmp_path: Path) -> None:
    await upgrade(store_url, "0001")
    engine = create_engine(store_url)
    insert = text(
        "INSERT INTO cancelled_holds (tenant_id, patron_key, hold_id, title, reason, at) "
        "VALUES ('t', 'p', 'h1', 'kept', 'expired', CURRENT_TIMESTAMP)"
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(insert)
        extra = tmp_path / "versions"
        extra.mkdir()
        (extra / "0009_note.py").write_text(SECOND_REVISION)
        config = alembic_config()
        packaged = Path(migrations.__file__).parent / "versions"
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", f"{packaged}:{extra}")
        await upgrade(store_url, config=config)
        assert await current_revision(store_url) == "0009"
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT hold_id, title, note FROM cancelled_holds"))
            ).all()
        assert [tuple(r) for r in rows] == [("h1", "kept", None)]
    finally:
        await engine.dispose()


async def test_a_second_gateway_process_sees_the_same_data(store: Store, open_test_store) -> None:
    p = store.patron("ibaraki", "0001")
    await store.basket.add(p, "ils", "b1", "t", max_items=100)
    async with open_test_store() as second:
        assert [i.item_id for i in await second.basket.list(p)] == ["b1"]
        made = await second.sequences.create(
            p, [SequenceMember("h1", "i1"), SequenceMember("h2", "i2")]
        )
        await second.reading_history.set_up(p, "pw")
    assert await store.sequences.get(p, made.sequence_id) == made
    await store.reading_history.unlock(p, "pw")  # a key made by the other process opens here


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    url = default_url(tmp_path / "s.db")
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 10_000
    finally:
        await engine.dispose()


async def test_postgres_search_path_option_keeps_tables_in_the_test_schema(
    postgres_url: str,
) -> None:
    await upgrade(postgres_url)
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            schema = (await conn.execute(text("SELECT current_schema()"))).scalar()
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names(schema=schema))
            public = await conn.run_sync(lambda sync: inspect(sync).get_table_names("public"))
    finally:
        await engine.dispose()
    assert schema is not None and schema.startswith("t_")
    assert "reading_history_entries" in tables and "alembic_version" in tables
    assert "reading_history_entries" not in public


def test_unsupported_databases_and_options_are_refused() -> None:
    with pytest.raises(ValueError):
        create_engine("mysql+aiomysql://u@h/db")
    with pytest.raises(ValueError):
        create_engine("postgresql+asyncpg://u@h/db?options=-cstatement_timeout%3D5")
