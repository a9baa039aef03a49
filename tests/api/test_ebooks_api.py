"""E-books through the patron API: gateway over HTTP → KinoDen adapter → e-library simulator.

The koha-demo tenant gets ``[tenants.elibrary] kind = "simulator"``: the gateway starts the
simulated e-library in-process on its own clock (the fixtures' ``ManualClock``).
"""

from __future__ import annotations

from datetime import timedelta

from api_helpers import login, tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

T = "/v1/tenants/koha-demo"
T_TEMPLATE = "/v1/tenants/{tenant}"
BRIDGE = "/elibrary/v1/libraries/koha-demo/patron-check"
BRIDGE_KEY = "bridge-key-for-tests"
WITH_ELIBRARY = f"""
[tenants.elibrary]
kind = "simulator"
bridge_keys = ["another-key", "{BRIDGE_KEY}"]
"""
DEAD_ELIBRARY = """
[tenants.elibrary]
kind = "kinoden"
base_url = "http://127.0.0.1:9"
client_id = "x"
client_secret = "y"
"""
OTHER = ("1000000007", "tadashi7")


async def test_borrow_lists_merged_and_early_return(make_client, clock):
    client = await make_client(WITH_ELIBRARY)
    auth = await login(client)
    borrowed = await client.post(f"{T}/ebooks/loans", json={"title_id": "KD000001"}, headers=auth)
    assert borrowed.status == 201, await borrowed.text()
    due_at = (await borrowed.json())["due"]
    loans = await (await client.get(f"{T}/loans", headers=auth)).json()
    assert loans["ebooks"] == {"available": True, "detail": None, "count": 1}
    ebook = [x for x in loans["loans"] if x["source"] == "ebook"]
    assert [x["item"]["id"] for x in ebook] == ["KD000001"]
    expected_due = (clock() + timedelta(days=15)).date().isoformat()
    assert ebook[0]["due_date"] == expected_due and due_at.startswith(expected_due)
    assert any(x["source"] == "ils" for x in loans["loans"]), "the ILS part is listed too"
    returned = await client.delete(f"{T}/ebooks/loans/KD000001", headers=auth)
    assert returned.status == 204
    after = await (await client.get(f"{T}/ebooks/loans", headers=auth)).json()
    assert after == {"loans": []}
    again = await client.delete(f"{T}/ebooks/loans/KD000001", headers=auth)
    assert again.status == 404


async def test_holds_are_routed_by_source_and_listed_with_labels(make_client):
    client = await make_client(WITH_ELIBRARY)
    other = await login(client, *OTHER)
    auth = await login(client)
    taken = await client.post(f"{T}/ebooks/loans", json={"title_id": "KD000002"}, headers=other)
    assert taken.status == 201
    placed = await client.post(
        f"{T}/holds",
        json={"item_ids": ["KD000002"], "pickup_library": "-", "source": "ebook"},
        headers=auth,
    )
    result = (await placed.json())["results"][0]
    assert result["outcome"] == "ok" and result["hold"]["source"] == "ebook"
    holds = await (await client.get(f"{T}/holds", headers=auth)).json()
    ebook = [h for h in holds["holds"] if h["source"] == "ebook"]
    assert [(h["id"], h["status"], h["queue_position"]) for h in ebook] == [
        ("KD000002", "waiting", 1)
    ]
    assert holds["ebooks"]["available"] is True
    labelled = await (await client.get(f"{T}/ebooks/holds", headers=auth)).json()
    assert labelled["holds"][0]["status_label"] == "予約中"
    title = await (await client.get(f"{T}/ebooks/titles/KD000002", headers=auth)).json()
    assert title["title"]["availability"]["holds_waiting"] == 1
    cancelled = await client.delete(f"{T}/holds/KD000002?source=ebook", headers=auth)
    assert cancelled.status == 204
    assert (await (await client.get(f"{T}/ebooks/holds", headers=auth)).json())["holds"] == []


async def test_ebook_refusals_are_problem_documents(make_client):
    client = await make_client(WITH_ELIBRARY)
    auth = await login(client)
    free = await client.post(f"{T}/ebooks/holds", json={"title_id": "KD000003"}, headers=auth)
    problem = await free.json()
    assert free.status == 422 and problem["type"].endswith("/hold-refused")
    assert problem["reason"] == "title_available"
    unknown = await client.get(f"{T}/ebooks/titles/KD999999", headers=auth)
    assert unknown.status == 404
    many = await client.get(f"{T}/ebooks/titles?ids=KD000001,KD999999", headers=auth)
    assert [t["id"] for t in (await many.json())["titles"]] == ["KD000001"]


async def test_without_an_elibrary_lists_have_no_ebook_part(client):
    auth = await login(client)
    loans = await (await client.get(f"{T}/loans", headers=auth)).json()
    assert loans["ebooks"] is None and loans["loans"]
    refused = await client.get(f"{T}/ebooks/loans", headers=auth)
    assert refused.status == 403
    assert (await refused.json())["type"].endswith("/feature-disabled")


async def test_elibrary_down_keeps_the_ils_part(make_client):
    client = await make_client(DEAD_ELIBRARY)
    auth = await login(client)
    loans = await client.get(f"{T}/loans", headers=auth)
    body = await loans.json()
    assert loans.status == 200
    assert body["loans"] and all(x["source"] == "ils" for x in body["loans"])
    assert body["ebooks"]["available"] is False and body["ebooks"]["detail"]
    holds = await (await client.get(f"{T}/holds", headers=auth)).json()
    assert holds["holds"] and holds["ebooks"]["available"] is False
    borrow = await client.post(f"{T}/ebooks/loans", json={"title_id": "KD000001"}, headers=auth)
    assert borrow.status == 503


async def test_bridge_answers_yes_or_no_only(make_client):
    client = await make_client(WITH_ELIBRARY)
    key = {"Authorization": f"Bearer {BRIDGE_KEY}"}

    async def check(card: str, password: str, headers=key):
        return await client.post(
            BRIDGE, json={"cardNumber": card, "password": password}, headers=headers
        )

    yes = await check("1000000001", "hanako01")
    assert yes.status == 200 and (await yes.json())["valid"] is True
    answers = [
        await check("1000000001", "wrong"),  # wrong password
        await check("1999999999", "hanako01"),  # unknown card
        await check("1000000003", "ichiro03"),  # expired card
    ]
    assert {r.status for r in answers} == {200}
    assert [await r.json() for r in answers] == [{"valid": False}] * 3
    wrong_key = await check("1000000001", "hanako01", {"Authorization": "Bearer nope"})
    no_key = await check("1000000001", "hanako01", {})
    assert wrong_key.status == no_key.status == 401
    unknown_library = await client.post(
        "/elibrary/v1/libraries/nowhere/patron-check",
        json={"cardNumber": "1", "password": "x"},
        headers=key,
    )
    assert unknown_library.status == 404


# The bridge's own per-card limit, without the login guard's growing delays (tested in
# test_login_guard) answering first.
NO_LOGIN_DELAYS = "\n[tenants.policy.login]\nfirst_delay_seconds = 0\n"


async def test_bridge_is_rate_limited_per_card(make_client, clock):
    client = await make_client(WITH_ELIBRARY + NO_LOGIN_DELAYS)
    key = {"Authorization": f"Bearer {BRIDGE_KEY}"}
    body = {"cardNumber": "1000000001", "password": "guess"}
    statuses = [(await client.post(BRIDGE, json=body, headers=key)).status for _ in range(5)]
    assert statuses == [200] * 5
    limited = await client.post(BRIDGE, json=body, headers=key)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    # Another card is not affected; the limited card may try again in the next window.
    other = await client.post(
        BRIDGE, json={"cardNumber": "1000000007", "password": "tadashi7"}, headers=key
    )
    assert (await other.json())["valid"] is True
    clock.advance(seconds=int(limited.headers["Retry-After"]))
    assert (await client.post(BRIDGE, json=body, headers=key)).status == 200


async def test_bridge_card_limit_counts_every_spelling_of_the_card_as_one(make_client):
    # Hyphens, spaces and full-width digits are the same card after the tenant's card rule.
    client = await make_client(WITH_ELIBRARY + NO_LOGIN_DELAYS)
    key = {"Authorization": f"Bearer {BRIDGE_KEY}"}
    spellings = [
        "1000000001",
        "1000-000-001",
        " 1000 000001 ",
        "\uff11\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff11",
        "10000-00001",
    ]
    for card in spellings:
        body = {"cardNumber": card, "password": "guess"}
        assert (await client.post(BRIDGE, json=body, headers=key)).status == 200
    limited = await client.post(
        BRIDGE, json={"cardNumber": "1 0 0 0 0 0 0 0 0 1", "password": "hanako01"}, headers=key
    )
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1


# -- the route table, the app key, POST /holds, kiosks, Redis ------------------------------


async def test_ebook_routes_and_the_bridge_are_in_the_openapi_document(client):
    doc = await (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    expected = {
        f"{T_TEMPLATE}/ebooks/titles": {"get"},
        f"{T_TEMPLATE}/ebooks/titles/{{title_id}}": {"get"},
        f"{T_TEMPLATE}/ebooks/loans": {"get", "post"},
        f"{T_TEMPLATE}/ebooks/loans/{{title_id}}": {"delete"},
        f"{T_TEMPLATE}/ebooks/holds": {"get", "post"},
        f"{T_TEMPLATE}/ebooks/holds/{{title_id}}": {"delete"},
        "/elibrary/v1/libraries/{library}/patron-check": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths.get(path, {})), path
    schemas = doc["components"]["schemas"]
    assert {"EbookTitleList", "EbookLoan", "EbookHoldView", "BorrowRequest"} <= set(schemas)
    check = paths["/elibrary/v1/libraries/{library}/patron-check"]["post"]
    assert [p["name"] for p in check["parameters"] if p["in"] == "path"] == ["library"]
    assert "security" not in check  # the e-library's own key, not a patron session
    body_ref = check["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    answer_ref = check["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/PatronCheckRequest") and answer_ref.endswith("/PatronCheckResponse")
    assert set(schemas["PatronCheckResponse"]["properties"]) == {"valid", "patronCategory"}
    borrow = paths[f"{T_TEMPLATE}/ebooks/loans"]["post"]
    assert "201" in borrow["responses"] and borrow["security"]
    place = schemas["PlaceHoldsRequest"]
    assert "pickup_library" not in place.get("required", [])


async def test_the_ebook_runtimes_live_under_the_api_app_key(make_client):
    client = await make_client(WITH_ELIBRARY)
    runtimes = {r.config.id: r.ebooks for r in client.app[GATEWAY_KEY]}
    assert set(runtimes) == {"koha-demo"} and runtimes["koha-demo"].service is not None


async def test_ebook_holds_through_post_holds_need_no_pickup_library(make_client):
    client = await make_client(WITH_ELIBRARY)
    other = await login(client, *OTHER)
    auth = await login(client)
    assert (
        await client.post(f"{T}/ebooks/loans", json={"title_id": "KD000002"}, headers=other)
    ).status == 201
    placed = await client.post(
        f"{T}/holds", json={"item_ids": ["KD000002"], "source": "ebook"}, headers=auth
    )
    assert placed.status == 200, await placed.text()
    assert (await placed.json())["results"][0]["outcome"] == "ok"
    # Library items still need one: the ILS must know where to send the copy.
    ils = await client.post(f"{T}/holds", json={"item_ids": ["B0001"]}, headers=auth)
    problem = await ils.json()
    assert ils.status == 400 and "pickup_library" in problem["detail"]


KIOSK_KEY = "kiosk-key-for-tests"


async def test_kiosks_follow_the_tenants_ebook_restrictions(aiohttp_client, koha_url, clock):
    toml = tenant_toml(
        koha_url, WITH_ELIBRARY + '\n[tenants.policy.disabled_features]\nkiosk = ["ebooks"]\n'
    )
    toml = toml.replace(
        'name_en = "Koha City Library (demo)"\n',
        f'name_en = "Koha City Library (demo)"\nkiosk_keys = ["{KIOSK_KEY}"]\n',
    )
    registry = TenantRegistry(parse_tenants(toml).tenants)
    client = await aiohttp_client(create_app(GatewaySettings(tenants=registry, clock=clock)))
    kiosk = {**await login(client, **{"X-Kiosk-Key": KIOSK_KEY}), "X-Kiosk-Key": KIOSK_KEY}
    web = await login(client)
    for path in ("/ebooks/titles/KD000001", "/ebooks/titles?ids=KD000001", "/ebooks/loans"):
        refused = await client.get(T + path, headers=kiosk)
        assert refused.status == 403, path
        assert (await refused.json())["type"].endswith("/feature-disabled")
        assert (await client.get(T + path, headers=web)).status == 200, path
    loans = await (await client.get(f"{T}/loans", headers=kiosk)).json()
    assert loans["ebooks"] is None and all(x["source"] == "ils" for x in loans["loans"])


async def test_bridge_limits_are_shared_between_processes_through_redis(
    make_client, redis_url, redis_prefix
):
    # Two apps on one Redis stand for two gateway processes behind a load balancer.
    tenant = WITH_ELIBRARY + NO_LOGIN_DELAYS
    first = await make_client(tenant, redis_url=redis_url, redis_prefix=redis_prefix)
    second = await make_client(tenant, redis_url=redis_url, redis_prefix=redis_prefix)
    key = {"Authorization": f"Bearer {BRIDGE_KEY}"}
    body = {"cardNumber": "1000000001", "password": "guess"}
    for client in (first, second, first, second, first):
        assert (await client.post(BRIDGE, json=body, headers=key)).status == 200
    limited = await second.post(BRIDGE, json=body, headers=key)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
