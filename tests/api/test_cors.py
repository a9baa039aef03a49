"""CORS per tenant (issue 15, HTTP): only the tenant's allowed origins get
Access-Control-Allow-Origin; preflights are answered with the route's methods; answers vary by
Origin; no tenant allows any origin by default."""

from __future__ import annotations

import pytest
from api_helpers import CARD, PASSWORD
from pydantic import ValidationError

from ils_gateway.tenants.http import CorsPolicy, normalise_origin

T = "/v1/tenants/koha-demo"
PORTAL = "https://opac.city.example.jp"
CORS = f"""
[tenants.cors]
allowed_origins = ["{PORTAL}", "HTTP://Localhost:8000/"]
max_age = 900
"""


def _preflight(method: str, origin: str = PORTAL, **more: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, **more}


async def test_preflight_from_an_allowed_origin_names_the_routes_methods(make_client) -> None:
    client = await make_client(CORS)
    response = await client.options(
        f"{T}/holds/H1",
        headers=_preflight("PATCH", **{"Access-Control-Request-Headers": "authorization"}),
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert response.headers["Access-Control-Allow-Methods"] == "DELETE, PATCH"
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type", "idempotency-key", "accept-language"} <= allowed
    assert response.headers["Access-Control-Max-Age"] == "900"
    assert "Origin" in response.headers["Vary"]
    assert "WWW-Authenticate" not in response.headers  # no session needed for a preflight
    login = await client.options(f"{T}/sessions", headers=_preflight("POST"))
    assert login.headers["Access-Control-Allow-Methods"] == "POST"


async def test_a_disallowed_origin_gets_no_cors_headers(make_client) -> None:
    client = await make_client(CORS)
    evil = "https://evil.example"
    pre = await client.options(f"{T}/loans", headers=_preflight("GET", evil))
    assert pre.status == 204
    assert not [h for h in pre.headers if h.lower().startswith("access-control-")]
    assert pre.headers["Allow"] == "GET, OPTIONS"
    real = await client.get(f"{T}/libraries", headers={"Origin": evil})
    assert real.status == 200
    assert "Access-Control-Allow-Origin" not in real.headers
    assert "Origin" in real.headers["Vary"]
    # A method the route does not have: no CORS headers either.
    wrong = await client.options(f"{T}/loans", headers=_preflight("DELETE"))
    assert wrong.status == 204 and "Access-Control-Allow-Methods" not in wrong.headers


async def test_answers_to_an_allowed_origin_carry_acao_and_exposed_headers(make_client) -> None:
    client = await make_client(CORS)
    origin = {"Origin": PORTAL}
    login = await client.post(
        f"{T}/sessions", json={"card_number": CARD, "password": PASSWORD}, headers=origin
    )
    assert login.status == 201
    assert login.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Access-Control-Allow-Credentials" not in login.headers
    exposed = login.headers["Access-Control-Expose-Headers"]
    assert "Retry-After" in exposed and "Location" in exposed
    # Errors too, so that the portal can read the problem document.
    error = await client.get(f"{T}/loans", headers=origin)
    assert error.status == 401
    assert error.headers["Access-Control-Allow-Origin"] == PORTAL
    assert (
        await client.get(f"{T}/libraries", headers={"Origin": "http://localhost:8000"})
    ).headers["Access-Control-Allow-Origin"] == "http://localhost:8000"


async def test_by_default_no_origin_is_allowed(make_client) -> None:
    client = await make_client()
    pre = await client.options(f"{T}/loans", headers=_preflight("GET"))
    assert pre.status == 204 and "Access-Control-Allow-Origin" not in pre.headers
    real = await client.get(f"{T}/libraries", headers={"Origin": PORTAL})
    assert "Access-Control-Allow-Origin" not in real.headers


async def test_options_elsewhere_is_answered_as_before(make_client) -> None:
    client = await make_client(CORS)
    assert (await client.options("/v1/tenants/nope/loans", headers=_preflight("GET"))).status == 404
    assert (await client.options(f"{T}/no-such-route", headers=_preflight("GET"))).status == 404
    assert (await client.options("/healthz", headers=_preflight("GET"))).status == 405


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://OPAC.example.jp", "https://opac.example.jp"),
        ("https://opac.example.jp:443", "https://opac.example.jp"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://opac.example.jp/", "https://opac.example.jp"),
    ],
)
def test_origins_are_normalised(given: str, expected: str) -> None:
    assert normalise_origin(given) == expected


@pytest.mark.parametrize(
    "bad",
    ["*", "opac.example.jp", "https://opac.example.jp/portal", "ftp://x.example",
     "https://user@x.example", "https://図書館.jp", "https://x.example:99999"],
)  # fmt: skip
def test_what_is_not_an_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        CorsPolicy(allowed_origins=frozenset({bad}))


def test_the_policy_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        CorsPolicy.model_validate({"allowed_origin": ["https://x.example"]})
