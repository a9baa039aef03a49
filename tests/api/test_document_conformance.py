"""What schemathesis found (issue 15), each kept as a plain test: the gateway answers as its
OpenAPI document says, and refuses what the document says is invalid.

Each test failed before its fix: the Idempotency-Key bound (128 documented, 255 taken), the
header documented on routes that ignore it, a second basket add answering an undocumented 200,
0/1 taken for a boolean, undocumented query parameters (``ids``, ``limit``/``offset``,
``source``), an unknown ``source`` taken for the ILS, and an offset past what the store binds.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_helpers import CARD, login

from ils_gateway.api.openapi import build_openapi
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams

T = "/v1/tenants/koha-demo"
P = "/v1/tenants/{tenant}"
SECRET = b"conformance-test-secret-0123456789"
LISTS = """
[tenants.policy.lists]
basket_size = 5
"""
ELIBRARY = """
[tenants.elibrary]
kind = "simulator"
"""


def _operation(path: str, method: str) -> dict[str, Any]:
    return build_openapi()["paths"][path][method]


def _parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p["name"] == name)


@pytest.fixture
def store(tmp_path: Path) -> StoreSettings:
    return StoreSettings(default_url(tmp_path / "store.db"), SECRET, kdf=KdfParams.minimal())


async def test_idempotency_key_is_taken_up_to_the_documented_length_and_no_further(make_client):
    documented = _parameter(_operation(f"{P}/sessions/current", "delete"), "Idempotency-Key")
    longest = documented["schema"]["maxLength"]
    client = await make_client()
    auth = await login(client)
    too_long = await client.delete(
        f"{T}/sessions/current", headers={**auth, "Idempotency-Key": "k" * (longest + 1)}
    )
    assert too_long.status == 400, "a key longer than the document allows is refused"
    taken = await client.delete(
        f"{T}/sessions/current", headers={**auth, "Idempotency-Key": "k" * longest}
    )
    assert taken.status == 204, await taken.text()


def test_idempotency_key_is_documented_only_where_it_is_honoured():
    for path in (f"{P}/sessions", "/elibrary/v1/libraries/{library}/patron-check"):
        names = {p["name"] for p in _operation(path, "post")["parameters"]}
        assert "Idempotency-Key" not in names, path
    assert (
        _parameter(_operation(f"{P}/holds", "post"), "Idempotency-Key")["schema"]["minLength"] == 1
    )


async def test_adding_an_item_already_in_the_basket_answers_a_documented_200(make_client, store):
    client = await make_client(LISTS, store=store)
    auth = await login(client)
    first = await client.post(f"{T}/basket/items", json={"item_id": "2100000010"}, headers=auth)
    again = await client.post(f"{T}/basket/items", json={"item_id": "2100000010"}, headers=auth)
    assert (first.status, again.status) == (201, 200)
    assert (await again.json())["added"] is False
    responses = _operation(f"{P}/basket/items", "post")["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BasketAddedView"
    }


@pytest.mark.parametrize("value", [0, 1, "true"])
async def test_a_boolean_member_takes_only_true_or_false(make_client, store, value):
    client = await make_client(store=store)
    auth = await login(client)
    response = await client.patch(
        f"{T}/patron/settings", json={"due_date_reminder": value}, headers=auth
    )
    assert response.status == 400, await response.text()
    assert "due_date_reminder" in (await response.json())["detail"]


async def test_a_number_member_takes_no_string(make_client, store):
    client = await make_client(store=store)
    auth = await login(client)
    shelf = await client.post(f"{T}/shelves", json={"name": "絵本"}, headers=auth)
    assert shelf.status == 201, await shelf.text()
    items = f"{T}/shelves/{(await shelf.json())['shelf_id']}/items"
    added = await client.post(items, json={"item_id": "2100000010"}, headers=auth)
    assert added.status == 201, await added.text()
    rated = await client.patch(f"{items}/2100000010", json={"rating": "4"}, headers=auth)
    assert rated.status == 400, await rated.text()
    assert "rating" in (await rated.json())["detail"]


def test_query_parameters_are_documented():
    titles = _parameter(_operation(f"{P}/ebooks/titles", "get"), "ids")
    assert titles["in"] == "query" and titles["required"] is True
    history = _operation(f"{P}/reading-history", "get")
    assert _parameter(history, "limit")["schema"]["maximum"] == 500
    assert _parameter(history, "offset")["schema"]["minimum"] == 0
    source = _parameter(_operation(f"{P}/holds/{{hold_id}}", "delete"), "source")
    assert source["schema"]["enum"] == ["ils", "ebook"]


async def test_title_ids_that_cannot_reach_the_library_are_refused(make_client):
    client = await make_client(ELIBRARY)
    auth = await login(client)
    for ids in ("KD000001|KD000002", "KD000001\r\n", "K" * 256):
        response = await client.get(f"{T}/ebooks/titles", params={"ids": ids}, headers=auth)
        assert response.status == 400, ids
        assert "ids" in (await response.json())["detail"]
    fine = await client.get(f"{T}/ebooks/titles", params={"ids": "KD000001"}, headers=auth)
    assert fine.status == 200, await fine.text()


async def test_an_unknown_hold_source_is_refused_not_taken_for_the_ils(make_client):
    client = await make_client()
    auth = await login(client)
    response = await client.delete(f"{T}/holds/H1?source=paper", headers=auth)
    assert response.status == 400
    assert "source" in (await response.json())["detail"]


async def test_a_reading_history_offset_past_the_bound_is_a_400_not_a_500(make_client, store):
    client = await make_client(store=store)
    auth = await login(client)
    enabled = await client.post(
        f"{T}/reading-history/enable", json={"password": "hanako01"}, headers=auth
    )
    assert enabled.status == 200, await enabled.text()
    for offset in (str(10**30), "-1", "1000001"):
        response = await client.get(f"{T}/reading-history?offset={offset}", headers=auth)
        assert response.status == 400, (offset, await response.text())
    last = await client.get(f"{T}/reading-history?offset=1000000", headers=auth)
    assert last.status == 200, await last.text()


async def test_documented_response_headers_are_sent(make_client):
    client = await make_client()
    loans = _operation(f"{P}/loans", "get")["responses"]
    assert loans["401"]["headers"]["WWW-Authenticate"]["required"] is True
    for response in loans.values():
        assert {"X-Request-ID", "Cache-Control"} <= set(response["headers"])
    refused = await client.get(f"{T}/loans")
    assert refused.status == 401
    assert (
        refused.headers["WWW-Authenticate"]
        in (loans["401"]["headers"]["WWW-Authenticate"]["schema"]["enum"])
    )
    assert refused.headers["Cache-Control"] == "no-store" and refused.headers["X-Request-ID"]
    # The anonymous catalog may be stored: no Cache-Control is promised there.
    libraries = _operation(f"{P}/libraries", "get")["responses"]["200"]["headers"]
    assert "Cache-Control" not in libraries and libraries["X-Request-ID"]["required"] is True
    health = _operation("/healthz", "get")["responses"]
    assert "default" in health, "a wrong method on /healthz is a problem document too"


# --- Retry-After: documented on every answer that carries it (issue 15) ---

BRIDGE = "/elibrary/v1/libraries/koha-demo/patron-check"
BRIDGE_PATH = "/elibrary/v1/libraries/{library}/patron-check"
RETRY_LATER = """
[tenants.elibrary]
kind = "simulator"
bridge_keys = ["conformance-bridge-key"]

[tenants.policy]
maintenance = { start = 03:50:00, end = 04:20:00, timezone = "Asia/Tokyo" }

[tenants.policy.login]
max_failures = 2
"""


def _retry_after(response: dict[str, Any]) -> dict[str, Any]:
    header = response["headers"]["Retry-After"]
    assert header["required"] is True and header["schema"]["type"] == "integer"
    return header


def test_retry_after_is_documented_on_every_429_and_503():
    doc = build_openapi()
    operations = {
        (path, method): op
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
        if path not in ("/healthz", "/readyz")  # their 503 is the health document
    }
    for key, op in operations.items():
        assert "503" in op["responses"], key
        _retry_after(op["responses"]["503"])  # backend-unavailable, maintenance
    limited = {key for key, op in operations.items() if "429" in op["responses"]}
    assert {(f"{P}/sessions", "post"), (BRIDGE_PATH, "post")} <= limited
    for key in limited:
        assert _retry_after(operations[key]["responses"]["429"])["schema"]["minimum"] == 1


async def test_the_429_and_503_answers_carry_the_documented_retry_after(make_client, clock):
    client = await make_client(RETRY_LATER)
    tokyo = ZoneInfo("Asia/Tokyo")
    clock.now = datetime(2025, 6, 3, 3, 40, tzinfo=tokyo)

    def check(answer: Any, path: str, status: int, slug: str) -> None:
        assert answer.status == status and answer.headers["Content-Type"].startswith(
            "application/problem+json"
        )
        response = _operation(path, "post")["responses"][str(status)]
        documented = _retry_after(response)
        assert int(answer.headers["Retry-After"]) >= documented["schema"]["minimum"]
        assert f"`{slug}`" in response["description"], "the document names the answer"

    auth = await login(client)  # before the card is locked
    # The login guard's lock (after max_failures = 2), for a card of the library.
    sessions = f"{T}/sessions"
    for _ in range(2):
        wrong = await client.post(sessions, json={"card_number": CARD, "password": "wrong"})
        assert wrong.status == 401
    locked = await client.post(sessions, json={"card_number": CARD, "password": "wrong"})
    check(locked, f"{P}/sessions", 429, "login-locked")
    assert (await locked.json())["type"].endswith("/login-locked")
    assert locked.headers["Retry-After"] == str(15 * 60)
    # The bridge's per-card limit (5 checks in 5 minutes), with another card's right password.
    key = {"Authorization": "Bearer conformance-bridge-key"}
    body = {"cardNumber": "1000000002", "password": "ken00002"}
    for _ in range(5):
        assert (await client.post(BRIDGE, json=body, headers=key)).status == 200
    limited = await client.post(BRIDGE, json=body, headers=key)
    check(limited, BRIDGE_PATH, 429, "rate-limited")
    assert (await limited.json())["type"].endswith("/rate-limited")
    # The maintenance window: a write is paused until it ends (04:20 Tokyo).
    clock.now = datetime(2025, 6, 3, 3, 55, tzinfo=tokyo)
    paused = await client.post(f"{T}/loans/renewals", json={"item_ids": ["x"]}, headers=auth)
    check(paused, f"{P}/loans/renewals", 503, "maintenance")
    assert (await paused.json())["type"].endswith("/maintenance")
    assert paused.headers["Retry-After"] == str(25 * 60)


async def test_the_labels_beside_labelled_values_are_documented(client):
    """Schemathesis found ``blocks_labels`` outside PatronView (``additionalProperties`` is
    false): the labels api.language adds were not in the document."""
    schemas = build_openapi()["components"]["schemas"]
    auth = await login(client)
    patron = (await (await client.get(f"{T}/patron", headers=auth)).json())["patron"]
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    assert "blocks_labels" in patron and holds and loans
    for model, answers in (("PatronView", [patron]), ("Hold", holds), ("Loan", loans)):
        documented = set(schemas[model]["properties"])
        for answer in answers:
            assert set(answer) <= documented, (model, set(answer) - documented)
