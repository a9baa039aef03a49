"""Personal data in Redis (issue 15): after a whole patron session on the demo tenant (SIP2
simulator, e-library simulator, the gateway store, reading history on) every Redis key and
value is dumped, and no patron name, card number, title, barcode or e-book id is found there,
in any type of value, in clear, JSON-escaped or base64-wrapped. Logging out then removes the
patron's cached data (the session too), in Redis and in memory."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.elibrary import SEED_TITLES
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams

T = "/v1/tenants/demo"
CARD, PASSWORD = "1000000001", "hanako01"
SECRET = b"redis-personal-data-test-secret-0123456789"


async def _app(tmp_path: Path, redis_url: str, redis_prefix: str):
    store = StoreSettings(
        default_url(tmp_path / "gateway.sqlite3"), SECRET, kdf=KdfParams.minimal()
    )
    settings, acs = await embedded_settings(
        clock=ManualClock(SAMPLE_NOW),
        store=store,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
    )
    return create_app(settings), acs.library


async def dump(redis: Any, prefix: str) -> dict[bytes, list[bytes]]:
    """Every key under ``prefix`` with every part of its value, whatever its type."""
    found: dict[bytes, list[bytes]] = {}
    async for key in redis.scan_iter(match=f"{prefix}*"):
        kind = (await redis.type(key)).decode()
        if kind == "string":
            parts = [await redis.get(key) or b""]
        elif kind == "hash":
            parts = [p for kv in (await redis.hgetall(key)).items() for p in kv]
        elif kind == "list":
            parts = list(await redis.lrange(key, 0, -1))
        elif kind == "set":
            parts = list(await redis.smembers(key))
        elif kind == "zset":
            parts = [m for m, _ in await redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "none":  # expired while scanning
            continue
        else:
            raise AssertionError(f"a Redis type this test cannot read: {kind}")
        found[key] = parts
    return found


def _readings(value: bytes) -> list[str]:
    """``value`` as text, and every string inside it if it is JSON, and what base64 strings
    inside it decode to: a title hidden as a base64 response body is found too."""
    texts = [value.decode("utf-8", "replace")]
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return texts
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            texts.append(item)
            try:
                decoded = base64.b64decode(item, validate=True)
            except (binascii.Error, ValueError):
                continue
            texts.extend(_readings(decoded))
    return texts


def leaks(found: dict[bytes, list[bytes]], secrets: set[str]) -> list[tuple[str, str]]:
    """(secret, key) for each secret seen in a key's name or anywhere in its value."""
    hits = []
    for key, parts in found.items():
        texts = [t for p in [key, *parts] for t in _readings(p)]
        for secret in secrets:
            escaped = json.dumps(secret)[1:-1]  # as JSON writes non-ASCII by default
            if any(secret in t or escaped in t for t in texts):
                hits.append((secret, key.decode("utf-8", "replace")))
    return hits


async def _session(client, library) -> tuple[dict[str, str], set[str]]:
    """A whole session with reading history on; the auth header and the personal data used."""
    login = await client.post(f"{T}/sessions", json={"card_number": CARD, "password": PASSWORD})
    assert login.status == 201, await login.text()
    auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
    wrong = {"card_number": CARD, "password": "not-the-password"}
    assert (await client.post(f"{T}/sessions", json=wrong)).status == 401  # a failure counted
    enabled = await client.post(
        f"{T}/reading-history/enable", json={"password": PASSWORD}, headers=auth
    )
    assert enabled.status == 200, await enabled.text()
    # history records loans made from the switch on: one lent at the desk after it
    lent = next(
        info.barcode
        for biblio in library.biblios()
        for info in library.items_of(biblio.id)
        if info.status == "available" and info.holdable and not info.hold_queue_length
    )
    library.checkout(CARD, lent)

    loans = await client.get(f"{T}/loans", headers=auth)
    assert loans.status == 200, await loans.text()
    assert (await client.get(f"{T}/patron", headers=auth)).status == 200
    holds = await client.get(f"{T}/holds", headers=auth)
    assert holds.status == 200
    on_loan = library.loans(CARD)
    renewable = [x["item"]["id"] for x in (await loans.json())["loans"] if x["renewable"]]
    keyed = {**auth, "Idempotency-Key": "renew-once"}
    renewed = await client.post(f"{T}/loans/{renewable[0]}/renewal", headers=keyed)
    assert renewed.status < 500, await renewed.text()
    renewed_all = await client.post(
        f"{T}/loans/renewals",
        json={"item_ids": renewable},
        headers={**auth, "Idempotency-Key": "r2"},
    )
    assert renewed_all.status < 500, await renewed_all.text()

    held = {h.biblio_id for h in library.holds(CARD)} | {loan.biblio_id for loan in on_loan}
    to_hold = next(i for i in library.data.items if i.biblio_id not in held and not i.not_for_loan)
    placed = await client.post(
        f"{T}/holds",
        json={"item_ids": [to_hold.barcode]},
        headers={**auth, "Idempotency-Key": "hold-1"},
    )
    assert placed.status < 500, await placed.text()
    assert (await client.get(f"{T}/holds", headers=auth)).status == 200
    assert (await client.get(f"{T}/items/{to_hold.barcode}", headers=auth)).status == 200

    # the renewals made the cached list stale: this read sees the loan lent after the switch
    assert (await client.get(f"{T}/loans", headers=auth)).status == 200
    history = await client.get(f"{T}/reading-history", headers=auth)
    assert history.status == 200 and (await history.json())["entries"]

    borrow, reserve = SEED_TITLES[0], SEED_TITLES[1]
    borrowed = await client.post(
        f"{T}/ebooks/loans",
        json={"title_id": borrow.id},
        headers={**auth, "Idempotency-Key": "ebook-1"},
    )
    assert borrowed.status == 201, await borrowed.text()
    reserved = await client.post(
        f"{T}/holds",
        json={"item_ids": [reserve.id], "source": "ebook"},
        headers={**auth, "Idempotency-Key": "ebook-hold-1"},
    )
    assert reserved.status < 500, await reserved.text()
    assert (await client.get(f"{T}/ebooks/loans", headers=auth)).status == 200
    assert (await client.get(f"{T}/ebooks/holds", headers=auth)).status == 200
    assert (await client.get(f"{T}/loans", headers=auth)).status == 200

    shelf = await client.post(f"{T}/shelves", json={"name": "to read"}, headers=auth)
    assert shelf.status == 201, await shelf.text()
    shelf_id = (await shelf.json())["shelf_id"]
    onto = await client.post(
        f"{T}/shelves/{shelf_id}/items", json={"item_id": to_hold.barcode}, headers=auth
    )
    assert onto.status < 500, await onto.text()
    assert (await client.get(f"{T}/shelves", headers=auth)).status == 200

    patron = library.patron_info(CARD)
    personal = {CARD, patron.name, patron.name_kana}
    personal |= {x for x in (patron.email, patron.phone) if x}
    personal |= {loan.title for loan in on_loan} | {loan.barcode for loan in on_loan}
    for hold in library.holds(CARD):
        personal |= {hold.title} | ({hold.barcode} if hold.barcode else set())
    personal |= {to_hold.barcode, library.biblio(to_hold.biblio_id).title}
    personal |= {borrow.id, borrow.title, reserve.id, reserve.title}
    return auth, personal


async def test_redis_holds_no_personal_data_after_a_whole_session(
    aiohttp_client, tmp_path: Path, redis_url: str, redis_client, redis_prefix: str
) -> None:
    app, library = await _app(tmp_path, redis_url, redis_prefix)
    client = await aiohttp_client(app)
    _, personal = await _session(client, library)

    found = await dump(redis_client, redis_prefix)
    assert len(found) >= 5, found.keys()  # sessions, caches, keys, counts are all there
    assert leaks(found, personal) == []


async def test_logout_removes_the_patrons_cached_data_from_redis(
    aiohttp_client, tmp_path: Path, redis_url: str, redis_client, redis_prefix: str
) -> None:
    app, library = await _app(tmp_path, redis_url, redis_prefix)
    client = await aiohttp_client(app)
    auth, _ = await _session(client, library)
    before = set(await dump(redis_client, redis_prefix))

    assert (await client.delete(f"{T}/sessions/current", headers=auth)).status == 204

    after = set(await dump(redis_client, redis_prefix))
    gone = before - after
    # The session, the patron's ILS cache, its e-library cache and its Idempotency-Keys.
    kinds = {key.decode()[len(redis_prefix) :].split(":")[0] for key in gone}
    assert {"session", "cache", "idem"} <= kinds, kinds
    left = {key.decode()[len(redis_prefix) :].split(":")[0] for key in after}
    assert "session" not in left and "idem" not in left, left


async def test_logout_removes_the_patrons_cached_data_in_memory(make_client) -> None:
    elibrary = '[tenants.elibrary]\nkind = "simulator"\n'
    client = await make_client(elibrary)
    koha = "/v1/tenants/koha-demo"
    login = await client.post(f"{koha}/sessions", json={"card_number": CARD, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
    for path in ("/loans", "/holds", "/patron", "/ebooks/loans"):
        assert (await client.get(koha + path, headers=auth)).status == 200
    tenant = client.app[GATEWAY_KEY].tenant("koha-demo")
    ils_cache = tenant.context.backend.cache
    assert tenant.ebooks.service is not None
    ebook_cache = tenant.ebooks.service._elibrary.cache
    assert ils_cache._personal.scopes and ebook_cache._personal.scopes

    assert (await client.delete(f"{koha}/sessions/current", headers=auth)).status == 204

    assert not ils_cache._personal.scopes and not ebook_cache._personal.scopes
