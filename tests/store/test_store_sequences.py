import pytest

from ils_gateway.store.errors import HoldAlreadyInSequence, InvalidValue, SequenceNotFound
from ils_gateway.store.records import SequenceMember
from ils_gateway.store.store import Store

VOLUMES = [SequenceMember(f"h{n}", f"vol{n}") for n in range(1, 5)]


async def test_create_read_and_find_by_hold(store: Store) -> None:
    p = store.patron("akiruno", "42")
    made = await store.sequences.create(p, VOLUMES[:3])
    assert made.members == tuple(VOLUMES[:3])
    assert await store.sequences.get(p, made.sequence_id) == made
    assert await store.sequences.list(p) == [made]
    assert await store.sequences.find_by_hold(p, "h2") == made
    assert await store.sequences.find_by_hold(p, "h4") is None


async def test_remove_member_keeps_order_and_dissolves_below_two(store: Store) -> None:
    p = store.patron("akiruno", "42")
    made = await store.sequences.create(p, VOLUMES)
    shorter = await store.sequences.remove_member(p, "h2")
    assert shorter is not None
    assert [m.hold_id for m in shorter.members] == ["h1", "h3", "h4"]
    shorter = await store.sequences.remove_member(p, "h1")
    assert shorter is not None and [m.hold_id for m in shorter.members] == ["h3", "h4"]
    assert await store.sequences.remove_member(p, "h4") is None
    assert await store.sequences.list(p) == []
    with pytest.raises(SequenceNotFound):
        await store.sequences.get(p, made.sequence_id)
    # The last hold left is free to join a new sequence.
    await store.sequences.create(p, [VOLUMES[2], VOLUMES[0]])


async def test_dissolve(store: Store) -> None:
    p = store.patron("akiruno", "42")
    made = await store.sequences.create(p, VOLUMES[:2])
    await store.sequences.dissolve(p, made.sequence_id)
    assert await store.sequences.find_by_hold(p, "h1") is None
    with pytest.raises(SequenceNotFound):
        await store.sequences.dissolve(p, made.sequence_id)


async def test_rules(store: Store) -> None:
    p = store.patron("akiruno", "42")
    with pytest.raises(InvalidValue):
        await store.sequences.create(p, VOLUMES[:1])
    with pytest.raises(InvalidValue):
        await store.sequences.create(p, [VOLUMES[0], VOLUMES[0]])
    await store.sequences.create(p, VOLUMES[:2])
    with pytest.raises(HoldAlreadyInSequence):
        await store.sequences.create(p, VOLUMES[1:3])
    with pytest.raises(SequenceNotFound):
        await store.sequences.remove_member(p, "nope")
    assert len(await store.sequences.list(p)) == 1
