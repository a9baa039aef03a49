"""No 500 for any input (issue 15): values that cannot go into a SIP2 field are refused with a
400 problem naming the field, before the library system is asked anything. Against the demo
tenant (SIP2 adapter → SIP2 simulator over TCP)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ils_gateway.api.app import create_app
from ils_gateway.api.bodies import MAX_JSON_DEPTH, MAX_NUMBER_CHARS
from ils_gateway.api.openapi import build_openapi
from ils_gateway.api.schemas.common import LIBRARY_VALUE_PATTERN, library_values
from ils_gateway.api.schemas.holds import PlaceHoldsRequest
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.loader import TenantRegistry

T = "/v1/tenants/demo"
CARD, PASSWORD = "1000000001", "hanako01"
BAD = ["a|b", "a\rb", "a\nb", "a\x00b", "x" * 256]


@pytest.fixture
async def demo(aiohttp_client):
    settings, acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    client = await aiohttp_client(create_app(settings))
    asked: list[str] = []
    dispatch = acs.dispatch  # the server holds ``handle``; ``handle`` looks ``dispatch`` up

    async def counted(message, session):
        asked.append(message.code)
        return await dispatch(message, session)

    acs.dispatch = counted
    yield client, asked
    # The pool's own 93/99, and the one 63 of a successful login; nothing for a refused request.
    assert [c for c in asked if c not in ("93", "99")] in ([], ["63"]), asked


async def _login(client) -> dict:
    response = await client.post(f"{T}/sessions", json={"card_number": CARD, "password": PASSWORD})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def _refused(response, field: str) -> None:
    assert response.status == 400, await response.text()
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert field in problem["detail"], problem


@pytest.mark.parametrize("bad", BAD)
async def test_login_fields_that_cannot_be_sip2_fields_are_refused(demo, bad):
    client, _acs = demo
    url = f"{T}/sessions"
    await _refused(await client.post(url, json={"card_number": CARD, "password": bad}), "password")
    await _refused(
        await client.post(url, json={"card_number": bad, "password": "x"}), "card_number"
    )


@pytest.mark.parametrize("bad", BAD)
async def test_item_ids_and_pickup_codes_that_cannot_be_sip2_fields_are_refused(demo, bad):
    client, _acs = demo
    auth = await _login(client)
    holds = f"{T}/holds"
    await _refused(await client.post(holds, json={"item_ids": [bad]}, headers=auth), "item_ids")
    await _refused(
        await client.post(
            holds, json={"item_ids": ["3000000001"], "pickup_library": bad}, headers=auth
        ),
        "pickup_library",
    )
    await _refused(
        await client.post(f"{T}/loans/renewals", json={"item_ids": [bad]}, headers=auth), "item_ids"
    )
    await _refused(
        await client.post(
            f"{T}/patron/password",
            json={"old_password": bad, "new_password": "abcdefgh1"},
            headers=auth,
        ),
        "old_password",
    )


@pytest.mark.parametrize("bad", ["a|b", "a%0Db", "a%0Ab", "a%00b", "x" * 256])
async def test_path_ids_that_cannot_be_sip2_fields_are_refused(demo, bad):
    client, _acs = demo
    auth = await _login(client)
    await _refused(await client.post(f"{T}/loans/{bad}/renewal", headers=auth), "item_id")
    await _refused(await client.get(f"{T}/items/{bad}"), "item_id")
    await _refused(await client.delete(f"{T}/holds/{bad}", headers=auth), "hold_id")


@pytest.mark.parametrize("bad", ["%FF%FE", "21%FF%FE00", "21%ED%A0%8000", "%C0%80", "a%C3"])
async def test_path_ids_that_are_not_utf8_once_decoded_are_refused(demo, bad):
    """The router leaves bytes that are not UTF-8 percent-encoded: before the fix the item id
    ``%FF%FE`` reached the library system as the text ``%FF%FE`` (and got a 404)."""
    client, _acs = demo
    auth = await _login(client)
    await _refused(await client.get(f"{T}/items/{bad}"), "item_id")
    await _refused(await client.post(f"{T}/loans/{bad}/renewal", headers=auth), "item_id")
    await _refused(await client.delete(f"{T}/holds/{bad}", headers=auth), "hold_id")
    response = await client.get(f"{T}/items/{bad}")
    assert "UTF-8" in (await response.json())["detail"]


# --- JSON bodies: media type, size, depth, numbers (without a session: the login route) ---


async def test_a_body_that_is_not_json_is_415(demo):
    client, _asked = demo
    form = await client.post(f"{T}/sessions", data={"card_number": CARD, "password": PASSWORD})
    text = await client.post(
        f"{T}/sessions",
        data=b'{"card_number": "1", "password": "x"}',
        headers={"Content-Type": "text/plain"},
    )
    for response in (form, text):
        assert response.status == 415, await response.text()
        assert response.content_type == "application/problem+json"
        assert "application/json" in (await response.json())["detail"]


async def _bad_json(client, raw: bytes, words: str, status: int = 400) -> None:
    response = await client.post(
        f"{T}/sessions", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    assert words in (await response.json())["detail"]


async def test_json_nested_too_deep_is_400(demo):
    client, _asked = demo
    await _bad_json(client, b"[" * 1000 + b"]" * 1000, "nested")
    await _bad_json(client, b'{"a":' * 1000 + b"1" + b"}" * 1000, "nested")


async def test_huge_numbers_are_400(demo):
    client, _asked = demo
    await _bad_json(client, b'{"card_number": ' + b"9" * 5000 + b', "password": "x"}', "number")
    await _bad_json(client, b'{"card_number": 1e999999, "password": "x"}', "number")
    await _bad_json(client, b'{"card_number": NaN, "password": "x"}', "number")


async def test_a_body_too_large_is_refused_naming_the_limit(demo):
    client, _asked = demo
    big = b'{"card_number": "1", "password": "' + b"x" * 70_000 + b'"}'
    await _bad_json(client, big, "size", status=413)


async def test_values_the_tenants_encoding_cannot_write_are_refused(aiohttp_client):
    settings, acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    tenant = settings.tenants.get("demo")
    ascii_backend = tenant.backend.model_copy(update={"encoding": "ascii"})
    ascii_tenant = tenant.model_copy(update={"backend": ascii_backend})
    settings = replace(settings, tenants=TenantRegistry([ascii_tenant]))
    client = await aiohttp_client(create_app(settings))
    asked: list[str] = []
    dispatch = acs.dispatch

    async def counted(message, session):
        asked.append(message.code)
        return await dispatch(message, session)

    acs.dispatch = counted
    url = f"{T}/sessions"
    response = await client.post(url, json={"card_number": CARD, "password": "café"})
    await _refused(response, "password")
    assert "ascii" in (await response.json())["detail"]
    await _refused(
        await client.post(url, json={"card_number": "１０", "password": "x"}), "card_number"
    )
    # The e-library's patron check reaches the same library system.
    bridge = "/elibrary/v1/libraries/demo/patron-check"
    response = await client.post(bridge, json={"cardNumber": CARD, "password": "café"})
    await _refused(response, "password")
    # Ids in the path likewise (before the fix: looked up, 404).
    response = await client.get(f"{T}/items/caf%C3%A9")
    await _refused(response, "item_id")
    assert "ascii" in (await response.json())["detail"]
    assert [c for c in asked if c not in ("93", "99")] == []
    # A percent sign written as %25 is text, not a byte: looked up, not refused.
    response = await client.get(f"{T}/items/%25FF%25FE")
    assert response.status == 404, await response.text()
    assert [c for c in asked if c not in ("93", "99")] == ["17"]


def test_library_values_are_found_in_lists_and_optionals():
    body = PlaceHoldsRequest(item_ids=["a", "b"], pickup_library="c")
    assert list(library_values(body)) == [
        ("item_ids[0]", "a"),
        ("item_ids[1]", "b"),
        ("pickup_library", "c"),
    ]
    assert list(library_values(PlaceHoldsRequest(item_ids=["a"]))) == [("item_ids[0]", "a")]


# --- the OpenAPI document states the same limits ---


def test_openapi_states_the_input_limits():
    doc = build_openapi()
    schemas = doc["components"]["schemas"]
    password = schemas["LoginRequest"]["properties"]["password"]
    assert password["maxLength"] == 128 and password["pattern"] == LIBRARY_VALUE_PATTERN
    item_ids = schemas["PlaceHoldsRequest"]["properties"]["item_ids"]
    assert item_ids["maxItems"] == 100 and item_ids["items"]["pattern"] == LIBRARY_VALUE_PATTERN
    renew = doc["paths"]["/v1/tenants/{tenant}/loans/{item_id}/renewal"]["post"]
    (item_id,) = [p for p in renew["parameters"] if p["name"] == "item_id"]
    assert item_id["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": LIBRARY_VALUE_PATTERN,
    }
    login = doc["paths"]["/v1/tenants/{tenant}/sessions"]["post"]
    assert set(login["requestBody"]["content"]) == {"application/json"}
    limits = login["requestBody"]["description"]
    assert f"{MAX_JSON_DEPTH} levels" in limits and f"{MAX_NUMBER_CHARS} characters" in limits
    assert {"400", "413", "415"} <= set(login["responses"])
