"""Errors are problem+json everywhere; OpenAPI 3.1 is generated; health and request ids."""

from __future__ import annotations

import pytest
from api_helpers import tenant_toml

from ils_gateway.api import middleware
from ils_gateway.api.app import create_app
from ils_gateway.api.openapi import build_openapi
from ils_gateway.api.routes import PUBLIC_ROUTE_NAMES, ROUTES
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

T = "/v1/tenants/koha-demo"
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "slug"),
    [
        ("GET", "/nowhere", {}, 404, "no-such-resource"),
        ("PUT", f"{T}/loans", {}, 405, "method-not-allowed"),
        ("GET", "/v1/tenants/nobody/libraries", {}, 404, "not-found"),
        ("POST", f"{T}/sessions", {"data": b"{not json", "headers": JSON}, 400, "bad-request"),
        ("POST", f"{T}/sessions", {"data": b"{not json"}, 415, "unsupported-media-type"),
        ("POST", f"{T}/sessions", {"json": {"card_number": "1"}}, 400, "bad-request"),
        (
            "POST",
            f"{T}/sessions",
            {"data": b"x" * 70_000, "headers": JSON},
            413,
            "request-too-large",
        ),
        ("GET", f"{T}/loans", {}, 401, "session-expired"),
    ],
)
async def test_errors_are_problem_documents(client, method, path, kwargs, status, slug):
    response = await client.request(method, path, **kwargs)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["type"] == f"https://ils-gateway.dev/problems/{slug}"
    assert body["status"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]


async def test_request_id_is_echoed_or_made(client):
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123-def"})
    assert given.headers["X-Request-ID"] == "abc-123-def"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id!"})
    assert made.headers["X-Request-ID"] != "bad id!" and len(made.headers["X-Request-ID"]) == 16


async def test_openapi_document_is_served_and_covers_every_route(client):
    response = await client.get("/openapi.json")
    doc = await response.json()
    assert doc == build_openapi()
    assert doc["openapi"] == "3.1.0"
    operations = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert {r.name for r in ROUTES} <= operations
    loan_list = doc["components"]["schemas"]["LoanList"]
    assert "loans" in loan_list["properties"]
    page = await client.get("/docs")
    assert page.status == 200 and "/loans" in await page.text()


def test_public_routes_agree_with_the_session_middleware():
    assert middleware.PUBLIC_ROUTE_NAMES is PUBLIC_ROUTE_NAMES
    assert {"create_session", "pickup_libraries", "item"} <= PUBLIC_ROUTE_NAMES
    assert "list_loans" not in PUBLIC_ROUTE_NAMES


async def test_readiness_reflects_the_backend(client, koha_url):
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["tenants"] == {"koha-demo": "ok"}
    assert (await client.get("/healthz")).status == 200


async def test_readiness_fails_when_the_backend_is_gone(aiohttp_client):
    registry = TenantRegistry(parse_tenants(tenant_toml("http://127.0.0.1:9")).tenants)
    client = await aiohttp_client(create_app(GatewaySettings(tenants=registry)))
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503
    assert body["status"] == "not_ready" and body["tenants"]["koha-demo"] != "ok"
    assert (await client.get("/healthz")).status == 200
