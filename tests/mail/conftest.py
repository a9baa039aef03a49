"""Mail fixtures: a store on SQLite and on the real PostgreSQL, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import pytest

from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store

SECRET = b"test-server-secret-0123456789abcdef"


class MailClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> MailClock:
    return MailClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def mail_store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A URL for an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return default_url(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def open_mail_store(
    mail_store_url: str, clock: MailClock
) -> Callable[..., AbstractAsyncContextManager[Store]]:
    """Opens a store on the test database, as another gateway process would."""

    def opener() -> AbstractAsyncContextManager[Store]:
        return open_store(mail_store_url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock)

    return opener


@pytest.fixture
async def mail_store(
    open_mail_store: Callable[..., AbstractAsyncContextManager[Store]],
) -> AsyncIterator[Store]:
    async with open_mail_store() as s:
        yield s


@pytest.fixture
async def lite_store(tmp_path, clock: MailClock) -> AsyncIterator[Store]:  # type: ignore[no-untyped-def]
    """A store on SQLite only, for tests whose subject is not the database (content, SMTP)."""
    url = default_url(tmp_path / "lite.db")
    async with open_store(url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock) as s:
        yield s
