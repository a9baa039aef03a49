"""Sessions, in memory and on the real Redis: token once and only hashed, idle timeout with
touch on use, updates, logout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ils_gateway.domain.errors import SessionExpired
from ils_gateway.domain.vocab import Channel
from ils_gateway.nearcache import NearCache
from ils_gateway.sealing import SealedState
from ils_gateway.state.sessions import (
    HOT_SESSIONS,
    PURGE_STEP,
    MemorySessionStore,
    RedisSessionStore,
    SessionData,
    SessionStore,
    token_hash,
)
from sealed_state import SEALED


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, clock: Clock) -> SessionStore:
    if request.param == "memory":
        return MemorySessionStore(clock=clock)
    return RedisSessionStore(
        request.getfixturevalue("redis_client"),
        sealed=SEALED,
        prefix=request.getfixturevalue("redis_prefix"),
        clock=clock,
    )


async def login(store: SessionStore, **extra: Any):  # type: ignore[no-untyped-def]
    return await store.create(
        tenant_id="tokyo-a",
        patron_id="20001234567",
        masked_card="*******4567",
        channel=Channel.WEB,
        idle_timeout=timedelta(minutes=30),
        **extra,
    )


async def test_create_and_get(store: SessionStore, clock: Clock) -> None:
    new = await login(store, extra={"history_key": "a2V5"})
    assert len(new.token) >= 43  # token_urlsafe(32)
    got = await store.get(new.token)
    assert got == new.session
    assert (got.tenant_id, got.patron_id, got.channel) == ("tokyo-a", "20001234567", Channel.WEB)
    assert got.extra == {"history_key": "a2V5"} and got.created_at == clock.now


async def test_tokens_are_unique_and_a_wrong_token_is_refused(store: SessionStore) -> None:
    a, b = await login(store), await login(store)
    assert a.token != b.token
    with pytest.raises(SessionExpired):
        await store.get(a.token[:-1] + ("A" if a.token[-1] != "A" else "B"))


async def test_idle_timeout_and_touch_on_use(store: SessionStore, clock: Clock) -> None:
    new = await login(store)
    clock.now += timedelta(minutes=29)
    await store.get(new.token)  # touched: another 30 minutes from now
    clock.now += timedelta(minutes=29)
    assert (await store.get(new.token)).last_seen == clock.now
    clock.now += timedelta(minutes=30)
    with pytest.raises(SessionExpired):
        await store.get(new.token)
    clock.now -= timedelta(minutes=10)  # it stays gone
    with pytest.raises(SessionExpired):
        await store.get(new.token)


async def test_update_flag_and_extra(store: SessionStore) -> None:
    new = await login(store, password_change_required=True)
    assert (await store.get(new.token)).password_change_required
    updated = await store.update(new.token, password_change_required=False, extra={"k": [1, 2]})
    again = await store.get(new.token)
    assert updated == again
    assert not again.password_change_required and again.extra == {"k": [1, 2]}


async def test_end_session(store: SessionStore) -> None:
    new = await login(store)
    await store.end(new.token)
    await store.end(new.token)  # twice is fine
    with pytest.raises(SessionExpired):
        await store.get(new.token)
    with pytest.raises(SessionExpired):
        await store.update(new.token, extra={})


async def test_token_is_never_stored_in_clear(redis_client, redis_prefix: str, clock: Clock):  # type: ignore[no-untyped-def]
    store = RedisSessionStore(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    new = await login(store)
    keys = sorted([k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")])
    # The session, and the patron's index of sessions (named by a keyed hash; issue 18).
    assert keys[1] == f"{redis_prefix}session:{token_hash(new.token)}"
    assert keys[0].startswith(f"{redis_prefix}patron-sessions:") and len(keys) == 2
    assert "20001234567" not in keys[0] and "4567" not in keys[0]
    keys = keys[1:]
    value = await redis_client.get(keys[0])
    assert new.token.encode() not in value and new.token not in keys[0]
    assert 0 < await redis_client.ttl(keys[0]) <= 30 * 60


async def test_redis_sessions_are_sealed(redis_client, redis_prefix: str, clock: Clock):  # type: ignore[no-untyped-def]
    store = RedisSessionStore(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    new = await login(store, extra={"note": "kept"})
    (key,) = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}session:*")]
    value = await redis_client.get(key)
    for clear in (b"20001234567", b"4567", b"tokyo-a", b"kept", b"patron_id"):
        assert clear not in value
    assert (await store.get(new.token)).extra == {"note": "kept"}
    # Under another server secret the value does not open: the session is gone, not misread.
    other = RedisSessionStore(
        redis_client, sealed=SealedState(b"another-secret-0123456789"), prefix=redis_prefix
    )
    with pytest.raises(SessionExpired):
        await other.get(new.token)


async def test_memory_store_keys_by_hash_only(clock: Clock) -> None:
    store = MemorySessionStore(clock=clock)
    new = await login(store)
    assert list(store._sessions) == [token_hash(new.token)]
    assert new.token not in repr(store._sessions)


async def test_a_session_on_another_process_is_the_same_session(
    redis_client, redis_prefix: str, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    one = RedisSessionStore(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    two = RedisSessionStore(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    new = await login(one)
    assert (await two.get(new.token)).patron_id == "20001234567"
    await two.end(new.token)
    with pytest.raises(SessionExpired):
        await one.get(new.token)


def test_card_numbers_must_be_masked() -> None:
    now = datetime(2025, 6, 2, tzinfo=UTC)
    with pytest.raises(ValidationError):
        SessionData(
            tenant_id="t",
            patron_id="p",
            masked_card="20001234567",
            channel=Channel.KIOSK,
            created_at=now,
            last_seen=now,
            idle_timeout_seconds=60,
        )


async def test_touches_within_a_second_write_nothing(store: SessionStore, clock: Clock) -> None:
    new = await login(store)
    clock.now += timedelta(milliseconds=400)
    first = await store.get(new.token)
    assert first.last_seen == new.session.last_seen, "a touch within 1 s is not written"
    clock.now += timedelta(milliseconds=700)  # 1.1 s after the last write
    assert (await store.get(new.token)).last_seen == clock.now


async def test_a_quiet_session_still_expires_on_time_with_touch_resolution(
    store: SessionStore, clock: Clock
) -> None:
    new = await login(store)
    clock.now += timedelta(milliseconds=999)
    await store.get(new.token)  # not written: last_seen stays at login
    clock.now = new.session.last_seen + timedelta(minutes=30)
    with pytest.raises(SessionExpired):
        await store.get(new.token)  # ended at most TOUCH_RESOLUTION early, never late


async def test_memory_touches_within_a_second_hand_out_the_same_record(clock: Clock) -> None:
    store = MemorySessionStore(clock=clock)
    new = await login(store)
    assert await store.get(new.token) is await store.get(new.token)


async def test_an_update_within_a_second_is_still_written(store: SessionStore) -> None:
    new = await login(store)
    await store.update(new.token, extra={"k": 1})
    assert (await store.get(new.token)).extra == {"k": 1}
    await store.update(new.token, password_change_required=True)
    assert (await store.get(new.token)).password_change_required is True


async def test_redis_touch_within_a_second_sends_no_write(
    redis_client: Any, redis_prefix: str, clock: Clock
) -> None:
    store = RedisSessionStore(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    new = await login(store)
    writes: list[Any] = []
    real_set = redis_client.set

    async def counting_set(*args: Any, **kwargs: Any) -> Any:
        writes.append(args[0])
        return await real_set(*args, **kwargs)

    redis_client.set = counting_set
    try:
        await store.get(new.token)
        assert writes == []
        clock.now += timedelta(seconds=2)
        await store.get(new.token)
        assert len(writes) == 1
    finally:
        redis_client.set = real_set


async def test_a_login_looks_at_a_few_sessions_however_many_live(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 17: every login scanned all sessions for expired ones (CPU grew with the crowd).
    store = MemorySessionStore(clock=clock)
    for _ in range(2000):
        await login(store)
    looked: list[int] = []
    real = SessionData.expired_at
    monkeypatch.setattr(
        SessionData, "expired_at", lambda self, now: looked.append(1) or real(self, now)
    )
    await login(store)
    assert len(looked) <= PURGE_STEP
    monkeypatch.undo()
    # Expired sessions still go, a few per login: after the idle timeout, as many logins as
    # there were sessions leave none of the old ones.
    clock.now += timedelta(hours=2)
    for _ in range(2001 // PURGE_STEP + 1):
        await login(store)
    assert len(store._sessions) == 2001 // PURGE_STEP + 1


async def test_memory_keeps_only_the_most_recently_used_sessions_decoded(clock: Clock) -> None:
    # Issue 17 (memory): the others are kept as JSON and decoded again when used, unchanged.
    store = MemorySessionStore(clock=clock, hot=2)
    one = await login(store, extra={"note": "kept"}, password_change_required=True)
    two, three = await login(store), await login(store)
    assert len(store._sessions) == 3 and len(store._hot) == 2
    assert all(isinstance(value, tuple) for value in store._sessions.values())
    again = await store.get(one.token)  # cold: decoded from its JSON
    assert again == one.session and again is not one.session
    assert await store.get(one.token) is again  # hot again: the same record
    clock.now += timedelta(seconds=2)
    touched = await store.get(two.token)  # cold, then touched: written back
    assert touched.last_seen == clock.now
    await store.get(one.token)
    await store.get(three.token)  # two is cold again
    assert (await store.get(two.token)).last_seen == clock.now
    await store.end(one.token)
    with pytest.raises(SessionExpired):
        await store.get(one.token)
    assert HOT_SESSIONS >= 256  # a portal's busy patrons stay decoded


async def test_memory_cold_sessions_expire_and_are_purged(clock: Clock) -> None:
    store = MemorySessionStore(clock=clock, hot=1)
    old = await login(store)
    await login(store)  # old is cold
    clock.now += timedelta(minutes=30)
    with pytest.raises(SessionExpired):
        await store.get(old.token)
    assert token_hash(old.token) not in store._sessions
    for _ in range(2):
        await login(store)  # the purge looks at the oldest: the expired second one goes
    assert len(store._sessions) == 2 and len(store._hot) == 1


async def test_memory_peek_answers_only_what_get_would_answer_unchanged(clock: Clock) -> None:
    store = MemorySessionStore(clock=clock)
    new = await login(store)
    assert store.peek(new.token) is new.session  # hot, live, just touched
    clock.now += timedelta(milliseconds=900)
    assert store.peek(new.token) is new.session  # within the touch resolution: no write due
    clock.now += timedelta(milliseconds=200)
    assert store.peek(new.token) is None  # a touch is due: ``get`` writes it
    touched = await store.get(new.token)
    assert touched.last_seen == clock.now and store.peek(new.token) is touched
    clock.now += timedelta(minutes=30)
    assert store.peek(new.token) is None  # idle for its timeout: ``get`` ends it
    with pytest.raises(SessionExpired):
        await store.get(new.token)
    assert store.peek(new.token) is None and store.peek("no such token") is None


def _near_store(redis_client: Any, redis_prefix: str, clock: Clock) -> RedisSessionStore:
    near = NearCache()
    near.active = True  # as once the invalidation channel is listened to (runtime.shared)
    return RedisSessionStore(
        redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock, near=near
    )


async def test_redis_peek_answers_only_what_get_would_answer_unchanged(
    redis_client: Any, redis_prefix: str, clock: Clock
) -> None:
    store = _near_store(redis_client, redis_prefix, clock)
    new = await login(store)
    assert store.peek(new.token) is None  # not read in this process yet
    read = await store.get(new.token)
    assert store.peek(new.token) is read  # kept in the near cache, just touched
    clock.now += timedelta(milliseconds=900)
    assert store.peek(new.token) is read
    clock.now += timedelta(milliseconds=200)
    assert store.peek(new.token) is None  # a touch is due: ``get`` writes it
    touched = await store.get(new.token)
    assert touched.last_seen == clock.now and store.peek(new.token) is touched
    clock.now += timedelta(minutes=30)
    assert store.peek(new.token) is None  # idle for its timeout
    with pytest.raises(SessionExpired):
        await store.get(new.token)
    assert store.peek("no such token") is None
    plain = RedisSessionStore(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    assert plain.peek((await login(plain)).token) is None  # no near cache: always ask Redis


async def test_redis_near_cache_not_trusted_peeks_nothing(
    redis_client: Any, redis_prefix: str, clock: Clock
) -> None:
    store = _near_store(redis_client, redis_prefix, clock)
    new = await login(store)
    await store.get(new.token)
    store._near.active = False  # type: ignore[union-attr]  # the channel was lost
    assert store.peek(new.token) is None


async def test_redis_concurrent_requests_due_a_touch_write_it_once(
    redis_client: Any, redis_prefix: str, clock: Clock
) -> None:
    # Issue 17: when a session's touch fell due, every request in flight for it read, opened,
    # validated, sealed and wrote the session again (tens at a time under load).
    store = _near_store(redis_client, redis_prefix, clock)
    new = await login(store)
    first = await store.get(new.token)
    calls: list[str] = []
    real_get, real_set = redis_client.get, redis_client.set

    async def counting_get(*args: Any, **kwargs: Any) -> Any:
        calls.append("get")
        return await real_get(*args, **kwargs)

    async def counting_set(*args: Any, **kwargs: Any) -> Any:
        calls.append("set")
        return await real_set(*args, **kwargs)

    redis_client.get, redis_client.set = counting_get, counting_set
    try:
        clock.now += timedelta(seconds=2)
        answers = await asyncio.gather(*(store.get(new.token) for _ in range(20)))
        assert calls == ["get", "set"]
        touched = answers[0]
        assert touched.last_seen == clock.now
        assert all(a is first for a in answers[1:])  # served while the touch was written
        assert store.peek(new.token) is touched and not store._touching
        # An update that changes something is never answered from the near cache.
        await store.update(new.token, extra={"k": 1})
        assert calls[2:] == ["get", "set"] and (await store.get(new.token)).extra == {"k": 1}
    finally:
        redis_client.get, redis_client.set = real_get, real_set


async def test_redis_a_failed_touch_lets_the_next_request_try_again(
    redis_client: Any, redis_prefix: str, clock: Clock
) -> None:
    store = _near_store(redis_client, redis_prefix, clock)
    new = await login(store)
    await store.get(new.token)
    real_get = redis_client.get

    async def failing_get(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis went away")

    clock.now += timedelta(seconds=2)
    redis_client.get = failing_get
    try:
        with pytest.raises(ConnectionError):
            await store.get(new.token)
    finally:
        redis_client.get = real_get
    assert not store._touching and store.peek(new.token) is None
    assert (await store.get(new.token)).last_seen == clock.now
