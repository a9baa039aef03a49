"""Store fixtures: every store test runs on a SQLite file and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import pytest

from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store

SECRET = b"test-server-secret-0123456789abcdef"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A URL for an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return default_url(tmp_path / "store.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def open_test_store(
    store_url: str, clock: FakeClock
) -> Callable[..., AbstractAsyncContextManager[Store]]:
    """Opens a store on the test database, as another gateway process would."""

    def opener(*, migrate: bool = True) -> AbstractAsyncContextManager[Store]:
        return open_store(
            store_url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock, migrate=migrate
        )

    return opener


@pytest.fixture
async def store(
    open_test_store: Callable[..., AbstractAsyncContextManager[Store]],
) -> AsyncIterator[Store]:
    """An open, migrated store with cheap argon2 and the fake clock."""
    async with open_test_store() as s:
        yield s
