"""My lists on the embedded demo: the SIP2 adapter against the SIP2 simulator on real TCP, with
the gateway store on SQLite and PostgreSQL; and sessions in Redis shared by two processes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.schema import reading_history_entries

T = "/v1/tenants/demo"
CARD, PASSWORD = "1000000001", "hanako01"
SECRET = b"sip2-lists-test-secret-0123456789"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return default_url(tmp_path / "gateway.sqlite3")
    return request.getfixturevalue("postgres_url")


async def _app(url: str, clock: ManualClock | None = None, **settings: object):
    store = StoreSettings(url, SECRET, kdf=KdfParams.minimal())
    gateway_settings, acs = await embedded_settings(
        clock=clock or ManualClock(SAMPLE_NOW), store=store, **settings
    )
    return create_app(gateway_settings), acs.library


async def _login(client, card: str = CARD, password: str = PASSWORD) -> dict:
    response = await client.post(f"{T}/sessions", json={"card_number": card, "password": password})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


def _lend_a_free_copy(library: SimulatedLibrary) -> str:
    """Lend 花子 a copy that is on the shelf and nobody waits for; its barcode."""
    for biblio in library.biblios():
        for info in library.items_of(biblio.id):
            if info.status == "available" and info.holdable and not info.hold_queue_length:
                library.checkout(CARD, info.barcode)
                return info.barcode
    raise AssertionError("no free copy in the sample library")


async def test_history_basket_and_shelves_over_sip2(aiohttp_client, store_url: str) -> None:
    clock = ManualClock(SAMPLE_NOW)
    app, library = await _app(store_url, clock)
    client = await aiohttp_client(app)
    auth = await _login(client)
    enabled = await client.post(
        f"{T}/reading-history/enable", json={"password": PASSWORD}, headers=auth
    )
    assert enabled.status == 200, await enabled.text()
    since = (await enabled.json())["since"]
    await client.get(f"{T}/loans", headers=auth)
    # Issue 16: what was out at the switch was lent before it; plain SIP2 gives no loan date,
    # and it is still not recorded.
    page = await (await client.get(f"{T}/reading-history", headers=auth)).json()
    assert page["entries"] == []
    on_loan = {loan.barcode for loan in library.loans(CARD)}
    new = _lend_a_free_copy(library)
    clock.advance(minutes=5)  # past the read cache: the gateway sees the new loan
    await client.get(f"{T}/loans", headers=auth)
    await client.get(f"{T}/loans", headers=auth)  # seen again: nothing new
    page = await (await client.get(f"{T}/reading-history", headers=auth)).json()
    assert [e["item_id"] for e in page["entries"]] == [new]
    # Plain SIP2 gives no loan date: entries are anchored at the moment history was switched on.
    assert {e["loaned_at"] for e in page["entries"]} == {since}
    store = app[GATEWAY_KEY].tenant("demo").mylists.store
    async with store.engine.connect() as conn:
        stored = await conn.scalar(select(func.count()).select_from(reading_history_entries))
    assert stored == 1

    added = await client.post(
        f"{T}/basket/items", json={"item_id": next(iter(on_loan)), "title": "t"}, headers=auth
    )
    assert added.status == 201
    shelf = await client.post(f"{T}/shelves", json={"name": "SIP2"}, headers=auth)
    assert shelf.status == 201
    # Sequences hold later members back by suspending them; SIP2 cannot suspend: said plainly.
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    waiting = [h["id"] for h in holds if h["status"] == "waiting"][:2]
    refused = await client.post(f"{T}/hold-sequences", json={"hold_ids": waiting}, headers=auth)
    problem = await refused.json()
    assert len(waiting) == 2
    assert refused.status == 403, problem
    assert problem["feature"] == "hold_sequences"


async def test_redis_sessions_serve_the_history_from_any_process_without_the_plain_key(
    aiohttp_client, tmp_path: Path, redis_url: str, redis_client, redis_prefix: str
) -> None:
    url = default_url(tmp_path / "gateway.sqlite3")
    clock = ManualClock(SAMPLE_NOW)
    first_app, library = await _app(url, clock, redis_url=redis_url, redis_prefix=redis_prefix)
    second_app, _ = await _app(url, redis_url=redis_url, redis_prefix=redis_prefix)
    first = await aiohttp_client(first_app)
    second = await aiohttp_client(second_app)
    auth = await _login(first)
    enabled = await first.post(
        f"{T}/reading-history/enable", json={"password": PASSWORD}, headers=auth
    )
    assert enabled.status == 200
    _lend_a_free_copy(library)  # lent after the switch: recorded
    clock.advance(minutes=5)  # past the read cache
    await first.get(f"{T}/loans", headers=auth)
    # The same session, answered by the other process: the key travels in the session.
    page = await (await second.get(f"{T}/reading-history", headers=auth)).json()
    assert page["status"]["unlocked"] is True and page["entries"]

    store = first_app[GATEWAY_KEY].tenant("demo").mylists.store
    key = await store.reading_history.unlock(store.patron("demo", CARD), PASSWORD)
    plain = (key.private_key, base64.b64encode(key.private_key), key.private_key.hex().encode())
    keys = [k async for k in redis_client.scan_iter(f"{redis_prefix}*")]
    stored = b"".join([await _redis_value(redis_client, k) for k in keys])
    assert b"reading_history_key" not in stored  # the whole session is sealed
    for secret in plain:
        assert secret not in stored


async def _redis_value(redis, key: bytes) -> bytes:
    kind = (await redis.type(key)).decode()
    if kind == "string":
        return await redis.get(key) or b""
    if kind == "hash":
        return b"|".join(k + b"=" + v for k, v in (await redis.hgetall(key)).items())
    if kind in ("set", "zset", "list"):
        return repr(await redis.dump(key)).encode()
    return b""


async def test_settings_checked_against_the_tenant_and_used_as_hold_defaults(
    aiohttp_client, tmp_path: Path
) -> None:
    # Issue 16: SIP2 cannot list pickup libraries, so "NOPE" used to be saved; the tenant's
    # own list is the reference, and the saved default is used when a hold names none.
    app, library = await _app(default_url(tmp_path / "gateway.sqlite3"))
    client = await aiohttp_client(app)
    auth = await _login(client)
    for code, field in (("NOPE", "default_pickup_library"), ("BM", "default_pickup_library")):
        bad = await client.patch(
            f"{T}/patron/settings", json={"default_pickup_library": code}, headers=auth
        )
        assert bad.status == 400, await bad.text()
        assert f"{field}: " in (await bad.json())["detail"]  # after the Japanese lead-in
    saved = await client.patch(
        f"{T}/patron/settings",
        json={"default_pickup_library": "KITA", "hold_contact_method": "phone"},
        headers=auth,
    )
    assert saved.status == 200, await saved.text()
    item = library.loans("1000000014")[0].barcode
    kita_before = [h.pickup for h in library.holds(CARD)].count("KITA")
    placed = await client.post(f"{T}/holds", json={"item_ids": [item]}, headers=auth)
    assert placed.status == 200, await placed.text()
    result = (await placed.json())["results"][0]
    assert result["outcome"] == "ok", result
    assert result["hold"]["pickup_library"] == "KITA"
    # In the library system too: one more hold for pickup at KITA than before.
    assert [h.pickup for h in library.holds(CARD)].count("KITA") == kita_before + 1


async def test_a_hold_without_pickup_library_or_default_is_a_400(
    aiohttp_client, tmp_path: Path
) -> None:
    app, library = await _app(default_url(tmp_path / "gateway.sqlite3"))
    client = await aiohttp_client(app)
    auth = await _login(client)
    item = library.loans("1000000014")[0].barcode
    refused = await client.post(f"{T}/holds", json={"item_ids": [item]}, headers=auth)
    assert refused.status == 400
    assert "pickup_library" in (await refused.json())["detail"]
