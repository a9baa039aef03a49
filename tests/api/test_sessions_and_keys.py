"""Sessions in the shared store (memory and the real Redis) and Idempotency-Key on writes,
through HTTP against the Koha simulator."""

from __future__ import annotations

import hashlib
import json

import pytest
from api_helpers import CARD, login

from ils_gateway.sealing import SealedState
from sealed_state import TEST_SECRET

T = "/v1/tenants/koha-demo"
IDLE_15 = "[tenants.policy]\nidle_timeout_minutes = 15\n"


@pytest.fixture(params=["memory", "redis"])
def store_settings(request) -> dict:
    """No settings (sessions and keys in memory), or the real Redis under a test prefix."""
    if request.param == "memory":
        return {}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_prefix": request.getfixturevalue("redis_prefix"),
    }


def _renewable(loans: dict) -> str:
    return next(loan["item"]["id"] for loan in loans["loans"] if loan["renewable"])


async def test_idle_timeout_counts_from_last_use(make_client, clock, store_settings):
    client = await make_client(IDLE_15, **store_settings)
    auth = await login(client)
    clock.advance(minutes=14)
    assert (await client.get(f"{T}/holds", headers=auth)).status == 200
    clock.advance(minutes=14)  # 14 min since the last use: still in
    assert (await client.get(f"{T}/holds", headers=auth)).status == 200
    clock.advance(minutes=15)
    expired = await client.get(f"{T}/holds", headers=auth)
    assert expired.status == 401
    assert (await expired.json())["type"].endswith("/session-expired")


async def test_token_of_one_library_is_no_session_at_another(make_client, store_settings):
    extra = (
        '[[tenants]]\nid = "other"\nname = "Other"\n[tenants.backend]\nkind = "koha"\n'
        'base_url = "http://127.0.0.1:9"\nclient_id = "x"\nclient_secret = "y"\n'
    )
    client = await make_client(extra, **store_settings)
    auth = await login(client)
    response = await client.get("/v1/tenants/other/loans", headers=auth)
    assert response.status == 401


async def test_redis_sessions_are_shared_by_processes_and_stored_hashed(
    make_client, redis_url, redis_prefix, redis_client
):
    first = await make_client(redis_url=redis_url, redis_prefix=redis_prefix)
    second = await make_client(redis_url=redis_url, redis_prefix=redis_prefix)
    auth = await login(first)
    token = auth["Authorization"].split()[1]
    assert (await second.get(f"{T}/loans", headers=auth)).status == 200
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}session:*")]
    assert keys == [f"{redis_prefix}session:{hashlib.sha256(token.encode()).hexdigest()}"]
    stored = await redis_client.get(keys[0])
    assert token.encode() not in stored and CARD.encode() not in stored
    # Sealed: opened with the deployment's secret, it keeps what the backend calls need; no
    # name, contact data or birth date.
    session = json.loads(SealedState(TEST_SECRET).open(stored, context=keys[0]))
    assert session["masked_card"] == "******0001"
    kept = session["extra"]["patron"]
    assert kept["card_number"] == CARD
    assert not {"name", "email", "phone", "birth_date"} & set(kept)
    assert (await second.delete(f"{T}/sessions/current", headers=auth)).status == 204
    assert (await first.get(f"{T}/loans", headers=auth)).status == 401


async def test_repeated_renewal_with_a_key_replays_the_first_answer(
    make_client, library, store_settings
):
    client = await make_client(**store_settings)
    auth = await login(client)
    item_id = _renewable(await (await client.get(f"{T}/loans", headers=auth)).json())
    keyed = {**auth, "Idempotency-Key": "renew-1"}
    first = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    second = await client.post(f"{T}/loans/{item_id}/renewal", headers=keyed)
    assert first.status == second.status == 200
    assert await first.read() == await second.read()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == item_id] == [1]
    # Without the key the same request runs again (and is refused: one renewal allowed).
    unkeyed = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert unkeyed.status == 422


async def test_same_key_with_another_request_is_a_conflict(make_client, store_settings):
    client = await make_client(**store_settings)
    auth = await login(client)
    keyed = {**auth, "Idempotency-Key": "batch-7"}
    loans = await (await client.get(f"{T}/loans", headers=auth)).json()
    ids = [loan["item"]["id"] for loan in loans["loans"]]
    first = await client.post(f"{T}/loans/renewals", headers=keyed, json={"item_ids": ids[:1]})
    assert first.status == 200
    other = await client.post(f"{T}/loans/renewals", headers=keyed, json={"item_ids": ids})
    assert other.status == 409
    problem = await other.json()
    assert problem["type"].endswith("/conflict")
    assert other.content_type == "application/problem+json"


async def test_refusals_are_replayed_and_keys_are_per_patron(make_client, store_settings):
    client = await make_client(**store_settings)
    auth = await login(client)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    ready = next(h for h in holds if h["status"] in ("ready", "in_transit"))
    keyed = {**auth, "Idempotency-Key": "cancel-ready"}
    first = await client.delete(f"{T}/holds/{ready['id']}", headers=keyed)
    again = await client.delete(f"{T}/holds/{ready['id']}", headers=keyed)
    assert first.status == again.status == 422
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["reason"] == "not_cancellable_in_state"
    # Another patron's identical key is theirs alone: their request runs.
    other = await login(client, "1000000007", "tadashi7")
    response = await client.delete(
        f"{T}/holds/{ready['id']}", headers={**other, "Idempotency-Key": "cancel-ready"}
    )
    assert "Idempotent-Replayed" not in response.headers


async def test_malformed_key_is_a_bad_request(client):
    auth = await login(client)
    response = await client.post(
        f"{T}/loans/renewals", headers={**auth, "Idempotency-Key": "x" * 300}, json={"item_ids": []}
    )
    assert response.status == 400
    assert (await response.json())["type"].endswith("/bad-request")
