"""The FOLIO simulator itself, over real HTTP: Okapi's tenant and token rules, FOLIO's paging,
CQL, error shapes and statuses, and every answer held against FOLIO's schemas in
``shared/reference/folio`` (loaded by the FOLIO adapter tests' ``folio_schemas``)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "folio"))
from folio_schemas import CIRCULATION, reference_or_skip, schema
from folio_sim_traffic import _ANSWERS, _ROWS, checked_routes, schema_violations

from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.folio import DEFAULT_LIMIT, FOLIO_STATE, Exchange, FolioState
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.folio_records import REQUEST_STATUS, folio_id
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.sample_data import DEMO_PATRONS, SAMPLE_NOW, sample_library

HANAKO = DEMO_PATRONS[0]
TENANT = "midori"


class Okapi:
    """A logged-in client of the simulator, and the simulator's state."""

    def __init__(self, client: httpx.AsyncClient, state: FolioState, clock: ManualClock) -> None:
        self.client = client
        self.state = state
        self.clock = clock

    async def login(self) -> str:
        r = await self.client.post(
            "/authn/login-with-expiry",
            json={"username": "ils-gateway", "password": "folio-demo-pass"},
            headers={"X-Okapi-Tenant": TENANT},
        )
        assert r.status_code == 201, r.text
        token = r.cookies["folioAccessToken"]
        self.client.headers.update({"X-Okapi-Tenant": TENANT, "X-Okapi-Token": token})
        return token

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params)


@pytest.fixture
async def okapi() -> AsyncIterator[Okapi]:
    reference_or_skip()
    clock = ManualClock(SAMPLE_NOW)
    library = sample_library(clock=clock)
    runner, url = await start_folio_simulator(library, port=0, tenant=TENANT, token_clock=clock)
    state = runner.app[FOLIO_STATE]
    async with httpx.AsyncClient(base_url=url) as client:
        o = Okapi(client, state, clock)
        await o.login()
        yield o
    await runner.cleanup()
    # Some tests send wrong bodies on purpose; every answer must still be FOLIO's.
    assert schema_violations(state.traffic, bodies=False) == []


def _hanako_id(o: Okapi) -> str:
    return folio_id("user", o.state.library.patron_info(HANAKO.card_number).patron_id)


# -- Okapi ----------------------------------------------------------------------------------------


async def test_tenant_and_token_are_required(okapi: Okapi) -> None:
    url = "/service-points"
    assert (await okapi.client.get(url, headers={"X-Okapi-Tenant": ""})).status_code == 400
    other = await okapi.client.get(url, headers={"X-Okapi-Tenant": "elsewhere"})
    assert other.status_code == 400 and "elsewhere" in other.text
    bad = await okapi.client.get(url, headers={"X-Okapi-Token": "forged"})
    assert (bad.status_code, bad.headers["content-type"].split(";")[0]) == (401, "text/plain")
    assert (await okapi.get(url)).status_code == 200


async def test_tokens_expire_after_ten_minutes(okapi: Okapi) -> None:
    okapi.clock.advance(minutes=9)
    assert (await okapi.get("/service-points")).status_code == 200
    okapi.clock.advance(minutes=2)
    assert (await okapi.get("/service-points")).status_code == 401
    await okapi.login()
    assert (await okapi.get("/service-points")).status_code == 200


async def test_wrong_gateway_password_is_mod_login_s_422(okapi: Okapi) -> None:
    r = await okapi.client.post(
        "/authn/login-with-expiry", json={"username": "ils-gateway", "password": "no"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "password.incorrect"


async def test_legacy_login_gives_the_token_in_a_header(okapi: Okapi) -> None:
    r = await okapi.client.post(
        "/authn/login", json={"username": "ils-gateway", "password": "folio-demo-pass"}
    )
    assert r.status_code == 201 and r.headers["x-okapi-token"]


# -- collections ----------------------------------------------------------------------------------


async def test_collections_page_by_ten_unless_asked(okapi: Okapi) -> None:
    first = (await okapi.get("/users")).json()
    assert len(first["users"]) == DEFAULT_LIMIT and first["totalRecords"] == 20
    rest = (await okapi.get("/users", limit=100, offset=10)).json()
    assert len(rest["users"]) == 10
    assert {u["id"] for u in first["users"]}.isdisjoint(u["id"] for u in rest["users"])


async def test_cql_exact_prefix_and_sort(okapi: Okapi) -> None:
    one = (await okapi.get("/users", query=f'barcode=="{HANAKO.card_number}"')).json()
    assert [u["barcode"] for u in one["users"]] == [HANAKO.card_number]
    # "==" is exact: a prefix of a card number matches nothing without "*"
    assert (await okapi.get("/users", query='barcode=="100000000"')).json()["totalRecords"] == 0
    assert (await okapi.get("/users", query='barcode=="100000000*"')).json()["totalRecords"] == 9
    requests = await okapi.get(
        "/circulation/requests",
        query=f'requesterId=="{_hanako_id(okapi)}" and (status=="Open*" or status=="New*")'
        " sortby requestDate",
        limit=100,
    )
    dates = [r["requestDate"] for r in requests.json()["requests"]]
    assert dates == sorted(dates) and dates


async def test_unsupported_cql_is_an_error_not_everything(okapi: Okapi) -> None:
    # (barcode>1 is CQL the simulator now evaluates: ordering relations, for createdDate)
    r = await okapi.get("/users", query="barcode any 1")
    assert r.status_code == 400
    created = await okapi.get(
        "/inventory/instances", query='metadata.createdDate>="2025-05-30T00:00:00.000Z"'
    )
    assert created.status_code == 200
    titles = {i["title"] for i in created.json()["instances"]}
    assert titles == {"星降る町の図書館 7", "夏目漱石全集 第1巻"}


async def test_purchase_suggestions_are_not_requests(okapi: Okapi) -> None:
    body = (await okapi.get("/circulation/requests", limit=1000)).json()
    statuses = {r["status"] for r in body["requests"]}
    assert statuses <= set(REQUEST_STATUS.values())
    suggested = [h for h in okapi.state.library.data.holds if h.state is HoldState.SUGGESTED]
    assert suggested
    ids = {r["id"] for r in body["requests"]}
    assert all(folio_id("request", h.id) not in ids for h in suggested)


def test_request_statuses_are_folio_s_vocabulary() -> None:
    enum = schema(f"{CIRCULATION}/request.json")["properties"]["status"]["enum"]
    assert set(REQUEST_STATUS.values()) <= set(enum)


# -- errors ---------------------------------------------------------------------------------------


async def test_refusals_are_422_errors_with_message_and_parameters(okapi: Okapi) -> None:
    library = okapi.state.library
    loan = next(v for v in library.loans(HANAKO.card_number) if not v.renewable)
    r = await okapi.client.post(
        "/circulation/renew-by-id",
        json={"itemId": folio_id("item", loan.item_id), "userId": _hanako_id(okapi)},
    )
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["message"] and isinstance(error["parameters"], list)
    assert all(set(p) == {"key", "value"} for p in error["parameters"])


async def test_missing_request_is_404_text(okapi: Okapi) -> None:
    missing = folio_id("request", "none")
    r = await okapi.get(f"/circulation/requests/{missing}")
    assert r.status_code == 404 and r.text == f'Request record with ID "{missing}" cannot be found'


async def test_allowed_service_points_needs_folio_s_parameter_combinations(okapi: Okapi) -> None:
    user = _hanako_id(okapi)
    assert (await okapi.get("/circulation/requests/allowed-service-points")).status_code == 400
    only_requester = await okapi.get(
        "/circulation/requests/allowed-service-points", operation="create", requesterId=user
    )
    assert only_requester.status_code == 400
    assert only_requester.text == "Invalid combination of query parameters"


async def test_request_body_missing_fields_is_refused(okapi: Okapi) -> None:
    r = await okapi.client.post("/circulation/requests", json={"requesterId": _hanako_id(okapi)})
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == "Request must have a request date"


async def test_request_may_not_change_its_requester(okapi: Okapi) -> None:
    body = (await okapi.get("/circulation/requests", limit=1)).json()["requests"][0]
    other = folio_id("user", 999)
    r = await okapi.client.put(
        f"/circulation/requests/{body['id']}", json={**body, "requesterId": other}
    )
    assert r.status_code == 422


# -- every route's answers against FOLIO's schemas -----------------------------------------------


async def test_every_route_answers_in_folio_s_schemas(okapi: Okapi) -> None:
    library = okapi.state.library
    user = _hanako_id(okapi)
    await okapi.get("/users", query=f'barcode=="{HANAKO.card_number}"')
    await okapi.get(f"/users/{user}")
    await okapi.get("/service-points", query="pickupLocation==true", limit=100)
    await okapi.get("/circulation/loans", query=f'userId=="{user}"', limit=100)
    requests = (await okapi.get("/circulation/requests", limit=1000)).json()["requests"]
    await okapi.get(f"/circulation/requests/{requests[0]['id']}")
    loan = next(v for v in library.loans(HANAKO.card_number) if v.renewable)
    renewed = await okapi.client.post(
        "/circulation/renew-by-id", json={"itemId": folio_id("item", loan.item_id), "userId": user}
    )
    assert renewed.status_code == 200
    from ils_gateway.contract.embedded import holdable_waiting_item

    barcode = holdable_waiting_item(library, HANAKO.card_number)
    assert barcode is not None
    info = library.item_info(barcode)
    instance = folio_id("instance", info.biblio_id)
    points = await okapi.get(
        "/circulation/requests/allowed-service-points",
        operation="create",
        requesterId=user,
        instanceId=instance,
    )
    pickup = points.json()["Hold"][0]["id"]
    created = await okapi.client.post(
        "/circulation/requests/instances",
        json={
            "requestDate": "2025-06-02T01:00:00Z",
            "requesterId": user,
            "instanceId": instance,
            "requestLevel": "Title",
            "pickupServicePointId": pickup,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["requestLevel"] == "Title"
    assert created.json()["requestType"] == "Hold"  # every copy is out: no page
    shelf = next(
        i.barcode
        for i in library.data.items
        if i.status.value == "available" and not i.not_for_loan
    )
    point = folio_id("service-point", "CEN")
    lent = await okapi.client.post(
        "/circulation/check-out-by-barcode",
        json={"itemBarcode": shelf, "userBarcode": HANAKO.card_number, "servicePointId": point},
    )
    assert lent.status_code == 201, lent.text
    back = await okapi.client.post(
        "/circulation/check-in-by-barcode",
        json={
            "itemBarcode": shelf,
            "servicePointId": point,
            "checkInDate": "2025-06-02T01:00:00.000Z",
        },
    )
    assert back.status_code == 200, back.text
    assert back.json()["loan"]["id"] == lent.json()["id"]
    covered = checked_routes(okapi.state.traffic)
    assert covered >= set(_ANSWERS) - {
        ("POST", "/circulation/renew-by-barcode"),
        ("POST", "/circulation/requests"),
    }
    assert covered >= set(_ROWS)


def test_the_schema_check_catches_a_wrong_answer() -> None:
    reference_or_skip()
    wrong = Exchange(
        "GET", "/circulation/requests/{id}", None, 200, {"id": "x", "status": "Open - Waiting"}
    )
    found = schema_violations([wrong])
    assert any("status" in v for v in found) and any("requesterId" in v for v in found)
