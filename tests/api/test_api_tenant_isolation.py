"""Tenant isolation across every endpoint of the HTTP API (issue 15).

Two tenants, ``lib-a`` and ``lib-b``, each on its own simulated library (the same sample data,
so the same card number is a patron of both), with the store (lists), kiosk keys and an
e-library bridge. Every route of the route table is called:

- with A's sessions (web, and kiosk with A's kiosk key) on B's paths: always a 401 problem;
  B's kiosk session with A's kiosk key: refused; A's bridge key on B's bridge: 401; the
  public routes answer the same with or without A's token;
- with A's session on A's paths and B's resource ids (holds, shelves, sequences…): never a
  5xx, and nothing of B in any answer;
- afterwards B's data, read through every GET route with B's session, is what it was.

The routes come from the table (``api.routes.ROUTES``), checked against the router and the
OpenAPI document, so a new route is exercised without touching this file; a new path
parameter or request body type fails ``test_every_route_is_covered`` until it is given here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parents[1] / "services" / "mylists"))

from mylists_support import (
    CARD,
    PASSWORD,
    SECRET,
    TENANT_TOML,
    Clock,
    koha_backend,
    library_data,
)

from ils_gateway.api.app import create_app
from ils_gateway.api.routes import OPERATOR_ROUTE_NAMES, PUBLIC_ROUTE_NAMES, ROUTES
from ils_gateway.api.routing import BRIDGE_PREFIX, PREFIX, Route
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

A, B = "lib-a", "lib-b"
KIOSK_KEYS = {A: "kiosk-key-of-a", B: "kiosk-key-of-b"}
BRIDGE_KEYS = {A: "bridge-key-of-a", B: "bridge-key-of-b"}
# Strings only B's data holds: none may appear in an answer to A.
B_MARKS = ("B-only-shelf", "B-only-title", "B-basket-title", "B-only-comment")
TITLE = "KD000001"
B_EBOOK = "KD000002"  # B's patron has it on loan

# A valid body for every request body type of the table (the checks must get past validation
# where the tenant's own session is used). Keyed by the model's name.
BODIES: dict[str, Any] = {
    "LoginRequest": {"card_number": CARD, "password": PASSWORD},
    "PasswordChangeRequest": {"old_password": "not-the-password", "new_password": "Zz9-newpw1"},
    "RenewManyRequest": {"item_ids": ["2000101"]},
    "PlaceHoldsRequest": {"item_ids": ["2000104"], "pickup_library": "CEN"},
    "ChangeHoldRequest": {"pickup_library": "NIS"},
    "BasketAddRequest": {"item_id": "2000104"},
    "BasketConfirmRequest": {"item_ids": ["2000102"], "pickup_library": "CEN"},
    "SequenceCreateRequest": {"hold_ids": ["{hold_id}", "{hold_id_2}"]},
    "SkipRequest": {"until": "2026-02-01"},
    "ShelfCreateRequest": {"name": "a-shelf"},
    "ShelfUpdateRequest": {"name": "renamed", "comment": "x"},
    "ShelfItemAddRequest": {"item_id": "2000104"},
    "ShelfItemUpdateRequest": {"rating": 1},
    "ShelfItemTransferRequest": {"to_shelf": "{shelf_id}"},
    "PasswordRequest": {"password": PASSWORD},
    "SettingsUpdateRequest": {},
    "BorrowRequest": {"title_id": TITLE},
    "EbookHoldRequest": {"title_id": TITLE},
    "PatronCheckRequest": {"cardNumber": CARD, "password": PASSWORD},
    "SdiConditionCreateRequest": {"name": "a-condition", "author": "なつめ"},
    "SdiConditionUpdateRequest": {"name": "renamed"},
    "CatalogHoldRequest": {"pickup_library": "CEN"},
    "OrHoldCreateRequest": {
        "record_ids": ["{record_id}", "{record_id_2}"],
        "pickup_library": "CEN",
    },
    # issue 18: the account lifecycle
    "RegistrationRequest": {
        "card_number": CARD,
        "proofs": {"birth_date": "1980-04-01"},
        "new_password": "Zz9-newpw1",
    },
    "ResetRequest": {"card_number": CARD},
    "ResetConfirmRequest": {"token": "x" * 43, "new_password": "Zz9-newpw1"},
    "ContactChangeRequest": {"phone": "03-1234-5678"},
    "ContactConfirmRequest": {"token": "x" * 43},
    "NoticePreferencesUpdate": {"due_reminder": True, "due_reminder_days": 2},
    "CallDoneRequest": {"by": "A-staff"},
}
# Query strings a route needs to answer more than a 400.
QUERIES = {"list_titles": f"?ids={TITLE}"}
# The path parameters the table uses (B's resource ids fill them in).
PARAMETERS = {
    "item_id",
    "hold_id",
    "sequence_id",
    "shelf_id",
    "entry_id",
    "title_id",
    "condition_id",
    "record_id",
    "call_id",
    "group_id",
}
# Records B's patron holds as one OR-hold group (issue 19).
OR_RECORDS = ["2", "4"]
_PARAM = re.compile(r"\{(\w+)\}")


def _tenant_toml(tenant: str, url: str) -> str:
    text = TENANT_TOML.format(id=tenant).replace("http://127.0.0.1:9", url)
    name = 'name = "テスト市立図書館"\n'
    text = text.replace(name, f'{name}kiosk_keys = ["{KIOSK_KEYS[tenant]}"]\n', 1)
    holds = "[tenants.policy.holds]\n"
    text = text.replace(holds, f"{holds}or_holds_max = 3\n", 1)  # issue 19: OR-holds offered
    return text + (
        f'\n[tenants.elibrary]\nkind = "simulator"\nbridge_keys = ["{BRIDGE_KEYS[tenant]}"]\n'
        "\n[tenants.sdi]\nenabled = true\n"
    )


async def _serve(sim: SimulatedLibrary) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(create_koha_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def gw(aiohttp_client, tmp_path: Path) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    clock = Clock()
    sims = {t: SimulatedLibrary(library_data(), clock) for t in (A, B)}
    served = {t: await _serve(sims[t]) for t in (A, B)}
    urls = {t: served[t][1] for t in (A, B)}
    text = "\n".join(_tenant_toml(t, urls[t]) for t in (A, B))
    registry = TenantRegistry(parse_tenants(text, "<test>").tenants)
    settings = GatewaySettings(
        tenants=registry,
        clock=clock,
        backend_factory=lambda tenant, *_: koha_backend(urls[tenant.id], sims[tenant.id]),
        wrap_backend=None,
        store=StoreSettings(
            default_url(tmp_path / "gateway.sqlite3"), SECRET, kdf=KdfParams.minimal()
        ),
    )
    try:
        yield await aiohttp_client(create_app(settings))
    finally:
        for runner, _ in served.values():
            await runner.cleanup()


def _base(tenant: str) -> str:
    return f"/v1/tenants/{tenant}"


async def _login(gw: Any, tenant: str, kiosk: bool = False) -> dict[str, str]:
    headers = {"X-Kiosk-Key": KIOSK_KEYS[tenant]} if kiosk else {}
    response = await gw.post(
        f"{_base(tenant)}/sessions",
        json={"card_number": CARD, "password": PASSWORD},
        headers=headers,
    )
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}", **headers}


async def _post(gw: Any, path: str, auth: dict[str, str], body: Any) -> Any:
    response = await gw.post(path, json=body, headers=auth)
    assert response.status in (200, 201), (path, response.status, await response.text())
    return await response.json()


async def _b_data(gw: Any, auth: dict[str, str]) -> dict[str, str]:
    """B's own data for B's patron: holds, a sequence, a shelf with an item, a basket item."""
    base = _base(B)
    holds = await _post(
        gw, f"{base}/holds", auth, {"item_ids": ["2000101", "2000103"], "pickup_library": "CEN"}
    )
    hold_ids = [r["hold"]["id"] for r in holds["results"]]
    sequence = await _post(gw, f"{base}/hold-sequences", auth, {"hold_ids": hold_ids})
    shelf = await _post(
        gw, f"{base}/shelves", auth, {"name": "B-only-shelf", "comment": "B-only-comment"}
    )
    shelf_id = shelf["shelf_id"]
    await _post(
        gw,
        f"{base}/shelves/{shelf_id}/items",
        auth,
        {"item_id": "2000105", "title": "B-only-title"},
    )
    await _post(gw, f"{base}/basket/items", auth, {"item_id": "2000102", "title": "B-basket-title"})
    await _post(gw, f"{base}/ebooks/loans", auth, {"title_id": B_EBOOK})
    condition = await _post(
        gw, f"{base}/new-arrival-conditions", auth, {"name": "B-only-condition", "author": "B"}
    )
    group = await _post(
        gw, f"{base}/or-holds", auth, {"record_ids": OR_RECORDS, "pickup_library": "CEN"}
    )
    return {
        "condition_id": condition["condition_id"],
        "item_id": "2000105",
        "hold_id": hold_ids[0],
        "hold_id_2": hold_ids[1],
        "sequence_id": sequence["sequence_id"],
        "shelf_id": str(shelf_id),
        "entry_id": "1",
        "title_id": B_EBOOK,
        "record_id": "1",
        "record_id_2": "2",
        "call_id": "1",
        "group_id": group["group_id"],
    }


def _path(route: Route, tenant: str, ids: dict[str, str]) -> str:
    path = route.prefix.replace("{tenant}", tenant).replace("{library}", tenant) + route.path
    return _PARAM.sub(lambda m: ids[m.group(1)], path) + QUERIES.get(route.name, "")


def _body(route: Route, ids: dict[str, str]) -> Any:
    if route.body is None:
        return None
    template = BODIES[route.body.__name__]
    return _fill(template, ids)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PARAM.sub(lambda m: ids[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def _call(gw: Any, route: Route, path: str, headers: dict[str, str], body: Any) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return await gw.request(route.method, path, **kwargs)


def _problem(body: str) -> dict[str, Any]:
    import json

    problem = json.loads(body)
    return {k: v for k, v in problem.items() if k not in ("request_id", "instance")}


async def _snapshot(gw: Any, auth: dict[str, str], ids: dict[str, str]) -> dict[str, Any]:
    """Everything B's patron can read: every GET route of the table, with B's ids."""
    seen = {}
    for route in ROUTES:
        if route.method != "GET" or route.prefix != PREFIX:
            continue
        response = await gw.get(_path(route, B, ids), headers=auth)
        text = await response.text()
        if response.content_type == "application/problem+json":
            text = str(_problem(text))
        seen[route.name] = (response.status, text)
    return seen


def _ordered(routes: tuple[Route, ...]) -> list[Route]:
    # Logging out goes last: the session is needed for the other calls.
    return sorted(routes, key=lambda r: r.name == "end_session")


def test_every_route_is_covered(gw) -> None:  # type: ignore[no-untyped-def]
    """Every route the app serves under a tenant (or the bridge) is in the table this test
    walks, every path parameter and body type of the table has a value here."""
    app = gw.server.app
    served = set()
    for resource in app.router.resources():
        canonical = resource.canonical
        if canonical.startswith((PREFIX, BRIDGE_PREFIX)):
            for route in resource:
                if route.method != "HEAD":
                    served.add((route.method, canonical))
    table = {(r.method, r.prefix + r.path) for r in ROUTES}
    assert served == table, "routes served outside the table are not covered by this test"
    for route in ROUTES:
        names = set(_PARAM.findall(route.path))
        assert names <= PARAMETERS, f"{route.name}: give {names - PARAMETERS} a B id here"
        if route.body is not None:
            assert route.body.__name__ in BODIES, f"{route.name}: give a body here"


async def test_the_openapi_document_has_no_route_outside_the_table(gw) -> None:  # type: ignore[no-untyped-def]
    document = await (await gw.get("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith((PREFIX, BRIDGE_PREFIX))
    }
    assert documented == {(r.method, r.prefix + r.path) for r in ROUTES}


async def test_a_session_of_one_tenant_is_nothing_at_another(gw) -> None:  # type: ignore[no-untyped-def]
    b_auth = await _login(gw, B)
    ids = await _b_data(gw, b_auth)
    b_kiosk = await _login(gw, B, kiosk=True)
    before = await _snapshot(gw, b_auth, ids)
    a_web = await _login(gw, A)
    a_kiosk = await _login(gw, A, kiosk=True)
    b_kiosk_with_a_key = {**b_kiosk, "X-Kiosk-Key": KIOSK_KEYS[A]}
    called = set()
    for route in _ordered(ROUTES):
        path, body = _path(route, B, ids), _body(route, ids)
        called.add(route.name)
        if route.prefix == BRIDGE_PREFIX:
            for key in (BRIDGE_KEYS[A], "no-key"):
                answer = await _call(gw, route, path, {"Authorization": f"Bearer {key}"}, body)
                assert answer.status == 401, (route.name, await answer.text())
                assert "valid" not in await answer.text()
            continue
        if route.name in OPERATOR_ROUTE_NAMES:  # staff's key, not a patron's session
            for who, headers in (("A web", a_web), ("A kiosk", a_kiosk), ("none", {})):
                answer = await _call(gw, route, path, headers, body)
                assert answer.status == 401, (who, route.name, answer.status)
            continue
        if route.name in PUBLIC_ROUTE_NAMES:
            with_a = await _call(gw, route, path, a_web, body)
            without = await _call(gw, route, path, {}, body)
            assert with_a.status == without.status, route.name
            if with_a.status >= 400:  # a problem (no calendar here): its request ids differ
                assert _problem(await with_a.text()) == _problem(await without.text())
            elif route.name != "create_session":  # a fresh token each time
                assert await with_a.text() == await without.text(), route.name
            continue
        for who, headers in (("A web", a_web), ("A kiosk", a_kiosk)):
            answer = await _call(gw, route, path, headers, body)
            text = await answer.text()
            assert answer.status == 401, (who, route.method, path, answer.status, text)
            assert _problem(text)["type"].endswith("/session-expired"), (who, route.name)
        answer = await _call(gw, route, path, b_kiosk_with_a_key, body)
        assert answer.status in (400, 401, 403), (route.name, answer.status)
        assert answer.content_type == "application/problem+json", route.name
    assert called == {r.name for r in ROUTES}
    # A's sessions still work at A, B's at B; B's data is untouched.
    assert (await gw.get(f"{_base(A)}/patron", headers=a_web)).status == 200
    assert await _snapshot(gw, b_auth, ids) == before


async def test_another_tenants_ids_give_nothing_of_it(gw) -> None:  # type: ignore[no-untyped-def]
    b_auth = await _login(gw, B)
    ids = await _b_data(gw, b_auth)
    before = await _snapshot(gw, b_auth, ids)
    a_web = await _login(gw, A)
    called = set()
    for route in _ordered(ROUTES):
        if route.prefix == BRIDGE_PREFIX:
            continue  # its key is A's: nothing of B on A's bridge (the other test covers B's)
        called.add(route.name)
        path = _path(route, A, ids)
        answer = await _call(gw, route, path, a_web, _body(route, ids))
        text = await answer.text()
        assert answer.status < 500, (route.method, path, answer.status, text)
        leaked = [mark for mark in B_MARKS if mark in text]
        assert not leaked, (route.method, path, leaked)
    assert called == {r.name for r in ROUTES if r.prefix == PREFIX}
    assert await _snapshot(gw, b_auth, ids) == before
