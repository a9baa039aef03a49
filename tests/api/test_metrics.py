"""``/metrics`` (issue 17): the series after a session over SIP2, their labels, no personal data,
who may read it, and the Grafana dashboard's metric names."""

from __future__ import annotations

import json
import re
from ipaddress import ip_network
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.observability.metrics import METRIC_NAMES
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.simulators.sample_data import DEMO_PATRONS, SAMPLE_NOW

T = "/v1/tenants/demo"
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "ils-gateway.json"


@pytest.fixture
async def embedded(aiohttp_client):
    settings, acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    client = await aiohttp_client(create_app(settings))
    return client, acs.library


async def _session(client) -> list[str]:
    """A patron's session: a failed login, a login, loans twice (a miss, then a hit), holds,
    an item lookup, a renewal; returns the ids it used."""
    card, password = "1000000001", "hanako01"
    bad = await client.post(f"{T}/sessions", json={"card_number": card, "password": "wrong-pw"})
    assert bad.status == 401, await bad.text()
    response = await client.post(f"{T}/sessions", json={"card_number": card, "password": password})
    assert response.status == 201, await response.text()
    token = (await response.json())["token"]
    auth = {"Authorization": f"Bearer {token}"}
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    await client.get(f"{T}/loans", headers=auth)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    item_id = loans[0]["item"]["id"]
    assert (await client.get(f"{T}/items/{item_id}")).status == 200
    renewable = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    assert (await client.post(f"{T}/loans/{renewable}/renewal", headers=auth)).status == 200
    ids = [card, password, token, "wrong-pw"]
    ids += [loan["item"]["id"] for loan in loans]
    ids += [loan["item"].get("title") or "" for loan in loans]
    ids += [hold["id"] for hold in holds]
    return [i for i in ids if i]


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


async def test_metrics_after_a_session(embedded):
    client, _library = embedded
    await _session(client)
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = _samples(await response.text())

    def find(name: str, **labels: str) -> list[float]:
        return [v for n, ls, v in samples if n == name and labels.items() <= ls.items()]

    # Requests by route name (never the path), tenant and status; latency by route and tenant.
    assert find("ils_gateway_http_requests_total", route="list_loans", tenant="demo", status="200")
    assert find("ils_gateway_http_requests_total", route="create_session", status="401")
    assert find("ils_gateway_http_requests_total", route="renew_loan", status="200")
    assert find("ils_gateway_http_request_duration_seconds_count", route="item", tenant="demo")
    # Backend calls by kind, operation and outcome.
    assert find(
        "ils_gateway_backend_call_duration_seconds_count",
        backend="sip2",
        operation="list_loans",
        outcome="ok",
    )
    assert find("ils_gateway_backend_call_duration_seconds_count", backend="sip2", outcome="ok")
    # The read cache: the second GET loans was a hit.
    assert find("ils_gateway_cache_requests_total", tenant="demo", system="ils", result="hit")
    assert find("ils_gateway_cache_requests_total", tenant="demo", system="ils", result="miss")
    # The SIP2 pool's connections, and the failed login counted by key kind.
    assert find("ils_gateway_sip2_pool_connections", state="idle")
    assert find("ils_gateway_sip2_pool_connections", state="in_use")
    assert find("ils_gateway_login_failures_total", tenant="demo", key="card")
    # Every route label is a route name: no slash, no digits of an id.
    routes = {ls["route"] for n, ls, _ in samples if "route" in ls}
    assert all("/" not in r for r in routes), routes


async def test_no_personal_data_in_metrics(embedded):
    client, _library = embedded
    ids = await _session(client)
    text = await (await client.get("/metrics")).text()
    leaked = [i for i in ids if len(i) >= 4 and i in text]
    assert leaked == []
    # No other demo patron's card either, and no label value looks like a card number.
    assert not [p.card_number for p in DEMO_PATRONS if p.card_number in text]
    values = {v for _, ls, _ in _samples(text) for v in ls.values()}
    assert not [v for v in values if re.fullmatch(r"\d{6,}", v)]


async def test_metrics_not_in_the_openapi_document(embedded):
    client, _library = embedded
    document = await (await client.get("/openapi.json")).json()
    assert "/metrics" not in document["paths"]


async def test_metrics_allowed_networks(aiohttp_client):
    settings, _acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    import dataclasses

    closed = dataclasses.replace(settings, metrics_allowed=(ip_network("10.0.0.0/8"),))
    client = await aiohttp_client(create_app(closed))
    response = await client.get("/metrics")
    assert response.status == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    opened = dataclasses.replace(settings, metrics_allowed=(ip_network("127.0.0.0/8"),))
    client = await aiohttp_client(create_app(opened))
    assert (await client.get("/metrics")).status == 200


async def test_dashboard_uses_only_exposed_metrics(embedded):
    client, _library = embedded
    await _session(client)
    text = await (await client.get("/metrics")).text()
    exposed = {n for n, _, _ in _samples(text)} | set(METRIC_NAMES)
    # Every metric family exposed (series may be absent until something happens, e.g. a job).
    families = {f.name for f in text_string_to_metric_families(text)}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]
    assert exprs
    used = {m for e in exprs for m in re.findall(r"\b(ils_gateway_[a-z0-9_]+)", e)}
    assert used
    for name in used:
        base = re.sub(r"_(bucket|count|sum|total)$", "", name)
        assert name in exposed or base in families, name
    assert used <= {
        n + suffix for n in METRIC_NAMES for suffix in ("", "_bucket", "_count", "_sum")
    }
