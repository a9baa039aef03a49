"""The store's OR-hold groups (issue 19): create, list, shrink, dissolve, per patron."""

import pytest

from ils_gateway.store.errors import AlreadyPresent, InvalidValue, OrHoldGroupNotFound
from ils_gateway.store.records import OrHoldMember
from ils_gateway.store.store import Store

EDITIONS = [OrHoldMember(f"r{n}", f"h{n}", f"title {n}") for n in range(1, 4)]


async def test_create_list_get_and_dissolve(store: Store) -> None:
    p = store.patron("koha-demo", "42")
    made = await store.or_holds.create(p, EDITIONS, "CEN")
    assert made.members == tuple(EDITIONS)
    assert await store.or_holds.list(p) == [made]
    assert await store.or_holds.get(p, made.group_id) == made
    await store.or_holds.dissolve(p, made.group_id)
    assert await store.or_holds.list(p) == []
    with pytest.raises(OrHoldGroupNotFound):
        await store.or_holds.dissolve(p, made.group_id)


async def test_members_leave_and_a_lone_record_drops_the_group(store: Store) -> None:
    p = store.patron("koha-demo", "42")
    made = await store.or_holds.create(p, EDITIONS, "CEN")
    await store.or_holds.remove_members(p, ["h2"])
    [left] = await store.or_holds.list(p)
    assert left.group_id == made.group_id and [m.hold_id for m in left.members] == ["h1", "h3"]
    await store.or_holds.remove_members(p, ["h1"])
    assert await store.or_holds.list(p) == []


async def test_groups_are_the_patrons_own(store: Store) -> None:
    mine, theirs = store.patron("koha-demo", "42"), store.patron("saitama", "42")
    made = await store.or_holds.create(mine, EDITIONS[:2], "CEN")
    assert await store.or_holds.list(theirs) == []
    with pytest.raises(OrHoldGroupNotFound):
        await store.or_holds.get(theirs, made.group_id)
    with pytest.raises(OrHoldGroupNotFound):
        await store.or_holds.dissolve(theirs, made.group_id)
    await store.or_holds.remove_members(theirs, ["h1"])
    assert await store.or_holds.list(mine) == [made]


async def test_a_group_needs_two_distinct_holds(store: Store) -> None:
    p = store.patron("koha-demo", "42")
    with pytest.raises(InvalidValue):
        await store.or_holds.create(p, EDITIONS[:1], "CEN")
    with pytest.raises(InvalidValue):
        await store.or_holds.create(p, [EDITIONS[0], EDITIONS[0]], "CEN")
    await store.or_holds.create(p, EDITIONS[:2], "CEN")
    with pytest.raises(AlreadyPresent):  # a hold is in one group at most
        await store.or_holds.create(p, [EDITIONS[0], EDITIONS[2]], "CEN")
