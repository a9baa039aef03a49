"""The purges of issue 18's new data (``purge_account_tokens``, ``purge_sent_mail``), on
SQLite and the real PostgreSQL, with a clock the test moves: what is kept and what goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.jobs.registry import JOBS
from ils_gateway.services.retention import (
    FAILED_MAIL_RETENTION,
    SENT_MAIL_RETENTION,
    TOKEN_GRACE,
    MailPurge,
)
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store

SECRET = b"test-server-secret-0123456789abcdef"


class PurgeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> PurgeClock:
    return PurgeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def purge_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return default_url(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def purge_store(purge_store_url: str, clock: PurgeClock) -> AsyncIterator[Store]:
    url = purge_store_url
    async with open_store(url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock) as store:
        yield store


async def _run(name: str, store: Store, clock: PurgeClock) -> Any:
    spec = JOBS[name]
    assert not spec.per_tenant and spec.needs_store
    env = SimpleNamespace(lists=SimpleNamespace(store=store), clock=clock)
    return await spec.run(env, None)  # type: ignore[arg-type]


async def test_tokens_used_or_expired_past_the_grace_go_the_live_ones_stay(
    purge_store: Store, clock: PurgeClock
) -> None:
    account = purge_store.account
    owner = purge_store.patron("lib-a", "1000000001")
    other = purge_store.patron("lib-a", "1000000002")
    t0 = clock()
    await account.add_token(owner, "expires-early", "reset", {}, t0 + timedelta(minutes=30))
    await account.add_token(owner, "used-early", "email_confirm", {}, t0 + timedelta(days=5))
    assert await account.take_token("used-early", "email_confirm") is not None
    clock.advance(days=2)
    # a link made now and a reset voided by a newer one, both within the grace
    await account.add_token(other, "voided", "reset", {}, clock() + timedelta(minutes=30))
    await account.add_token(other, "live", "reset", {}, clock() + timedelta(minutes=30))
    await account.add_token(owner, "long-live", "registration", {}, clock() + timedelta(days=9))
    assert await _run("purge_account_tokens", purge_store, clock) == 2
    assert await account.take_token("long-live", "registration") is not None  # kept, usable
    await account.release_token("long-live")
    clock.advance(minutes=31)  # "live" has expired and "voided" is still within the grace
    assert await _run("purge_account_tokens", purge_store, clock) == 0
    clock.advance(seconds=TOKEN_GRACE.total_seconds())
    assert await _run("purge_account_tokens", purge_store, clock) == 2  # voided, live
    assert await account.take_token("long-live", "registration") is not None  # never expired


async def _send(store: Store, clock: PurgeClock, key: str) -> None:
    await store.outbox.enqueue("lib-a", key, ["a@example.jp"], "hold_ready", None, {"t": 1})
    (mail,) = await store.outbox.claim(limit=5, lease=timedelta(minutes=5), max_attempts=3)
    assert mail.dedup_key == key and await store.outbox.mark_sent(mail)


async def _fail(store: Store, key: str | None) -> None:
    if key is not None:
        await store.outbox.enqueue("lib-a", key, ["a@example.jp"], "hold_ready", None, {"t": 1})
    (mail,) = await store.outbox.claim(limit=5, lease=timedelta(minutes=5), max_attempts=3)
    assert await store.outbox.mark_failed(mail, "550 no such user")


async def test_sent_mail_goes_after_its_retention_failed_later_pending_never(
    purge_store: Store, clock: PurgeClock
) -> None:
    outbox = purge_store.outbox
    far = clock() + timedelta(days=365)
    await outbox.enqueue(
        "lib-a", "waiting", ["p@example.jp"], "hold_ready", None, {}, not_before=far
    )
    await _send(purge_store, clock, "old-sent")
    await _fail(purge_store, "failed-untouched")
    await _fail(purge_store, "failed-retried")
    clock.advance(days=20)
    await _send(purge_store, clock, "recent-sent")

    def keys(mails: list[Any]) -> set[str]:
        return {m.dedup_key for m in mails}

    clock.advance(days=SENT_MAIL_RETENTION.days - 20, seconds=1)
    assert await _run("purge_sent_mail", purge_store, clock) == MailPurge(sent=1, failed=0)
    assert await outbox.find("lib-a", "old-sent") is None
    assert keys(await outbox.list(status="sent")) == {"recent-sent"}
    assert keys(await outbox.list(status="failed")) == {"failed-untouched", "failed-retried"}

    # an operator retries one failed mail; it fails again: its 90 days count from the retry
    failed = await outbox.find("lib-a", "failed-retried")
    assert failed is not None and await outbox.retry(failed.id)
    await _fail(purge_store, None)
    clock.advance(seconds=(FAILED_MAIL_RETENTION - SENT_MAIL_RETENTION).total_seconds())
    assert await _run("purge_sent_mail", purge_store, clock) == MailPurge(sent=1, failed=1)
    assert keys(await outbox.list(status="failed")) == {"failed-retried"}
    assert keys(await outbox.list(status="pending")) == {"waiting"}  # never purged
    # the dedup key of a purged mail is free again; a kept one still dedups
    assert not await outbox.enqueue("lib-a", "failed-retried", ["a@example.jp"], "x", None, {})
    assert await outbox.enqueue("lib-a", "old-sent", ["a@example.jp"], "hold_ready", None, {})


def test_jobs_run_purge_sent_mail_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ILS_GATEWAY_SETTINGS", raising=False)
    store = default_url(tmp_path / "jobs.db")
    for name, said in (
        ("purge_sent_mail", "MailPurge(sent=0, failed=0)"),
        ("purge_account_tokens", "0"),
    ):
        result = CliRunner().invoke(main, ["jobs", "run", name, "--store", store])
        assert result.exit_code == 0, result.output
        assert f"{name}: ok {said}" in result.output
