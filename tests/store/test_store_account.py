"""Account link tokens and gateway-kept account data (issue 18), on SQLite and PostgreSQL:
only the token's hash is stored, the payload opens with the token alone, a token is taken once
(also by two stores at once), expires, and a newer link voids the older."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from ils_gateway.store.account import token_digest
from ils_gateway.store.schema import account_tokens

TOKEN = "t0ken-" + "a" * 40
OTHER = "t0ken-" + "b" * 40


async def test_a_token_is_kept_by_hash_and_taken_once(store, clock) -> None:  # type: ignore[no-untyped-def]
    owner = store.patron("lib-a", "1000000001")
    expires = clock() + timedelta(minutes=30)
    await store.account.add_token(owner, TOKEN, "reset", {"card": "1000000001"}, expires)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(account_tokens))).all()
    assert [r.token_hash for r in rows] == [token_digest(TOKEN)]
    assert b"1000000001" not in rows[0].payload and TOKEN.encode() not in rows[0].payload
    assert await store.account.take_token(TOKEN, "email_confirm") is None  # another purpose
    taken = await store.account.take_token(TOKEN, "reset")
    assert taken is not None and taken.payload == {"card": "1000000001"} and taken.owner == owner
    assert await store.account.take_token(TOKEN, "reset") is None
    await store.account.release_token(TOKEN)
    assert await store.account.take_token(TOKEN, "reset") is not None


async def test_expiry_and_only_the_newest_link(store, clock) -> None:  # type: ignore[no-untyped-def]
    owner = store.patron("lib-a", "1000000001")
    soon = clock() + timedelta(minutes=30)
    await store.account.add_token(owner, TOKEN, "reset", {}, soon)
    await store.account.add_token(owner, OTHER, "reset", {}, soon)
    assert await store.account.take_token(TOKEN, "reset") is None  # voided by the newer
    clock.advance(minutes=31)
    assert await store.account.take_token(OTHER, "reset") is None  # expired
    assert await store.account.purge_tokens(clock()) == 2


async def test_two_stores_take_one_token_once(open_test_store, clock) -> None:  # type: ignore[no-untyped-def]
    async with open_test_store() as first, open_test_store() as second:
        owner = first.patron("lib-a", "1000000001")
        await first.account.add_token(owner, TOKEN, "reset", {}, clock() + timedelta(hours=1))
        results = await asyncio.gather(
            first.account.take_token(TOKEN, "reset"), second.account.take_token(TOKEN, "reset")
        )
    assert sum(r is not None for r in results) == 1


async def test_gateway_kept_password_and_phone(store) -> None:  # type: ignore[no-untyped-def]
    owner = store.patron("lib-a", "1000000001")
    assert (await store.account.profile(owner)).password_hash is None
    await store.account.set_password_hash(owner, "scrypt$2$1$1$c2FsdA==$aGFzaA==")
    await store.account.set_phone(owner, "048-000-0001")
    profile = await store.account.profile(owner)
    assert (profile.password_hash, profile.phone) == (
        "scrypt$2$1$1$c2FsdA==$aGFzaA==",
        "048-000-0001",
    )
    assert (await store.account.profile(store.patron("lib-b", "1000000001"))).phone is None
