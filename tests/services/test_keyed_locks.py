"""``KeyedLocks``: one holder per key, others wait their turn; no lock outlives its users."""

from __future__ import annotations

import asyncio

import pytest

from ils_gateway.services.keyed_locks import KeyedLocks


async def test_a_second_holder_of_a_key_waits_and_other_keys_do_not() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def hold(key: str, name: str, wait: bool) -> None:
        async with locks.one_at_a_time(key):
            order.append(f"{name} in")
            if wait:
                await release.wait()
            order.append(f"{name} out")

    first = asyncio.ensure_future(hold("card:1", "a", True))
    second = asyncio.ensure_future(hold("card:1", "b", False))
    other = asyncio.ensure_future(hold("card:2", "c", False))
    await other
    assert order == ["a in", "c in", "c out"]  # b waits behind a; c is not held up
    release.set()
    await asyncio.gather(first, second)
    assert order == ["a in", "c in", "c out", "a out", "b in", "b out"]
    assert len(locks) == 0


async def test_a_failing_holder_frees_the_key() -> None:
    locks = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.one_at_a_time("card:1"):
            raise RuntimeError("library down")
    assert len(locks) == 0
    async with locks.one_at_a_time("card:1"):
        assert len(locks) == 1
    assert len(locks) == 0
