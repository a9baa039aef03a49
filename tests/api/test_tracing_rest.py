"""Traces of a request to a REST library system (Koha; issue 17): the REST spans name the
vendor's call and the path's shape, never a patron's or an item's id."""

from __future__ import annotations

import pytest
from api_helpers import CARD, login
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ils_gateway.observability import tracing


@pytest.fixture
def exporter():
    spans = InMemorySpanExporter()
    tracing.configure_tracing(exporter=spans)
    try:
        yield spans
    finally:
        tracing.shutdown_tracing()


async def test_rest_spans_under_the_backend_call(make_client, exporter) -> None:
    client = await make_client()
    auth = await login(client)
    exporter.clear()
    response = await client.get("/v1/tenants/koha-demo/loans", headers=auth)
    assert response.status == 200
    loans = (await response.json())["loans"]
    spans = exporter.get_finished_spans()
    http = next(s for s in spans if s.name == "HTTP GET list_loans")
    backend = next(s for s in spans if s.name == "backend list_loans")
    rest = [s for s in spans if s.name.startswith("rest ")]
    assert backend.parent.span_id == http.context.span_id
    assert backend.attributes["ils.backend"] == "koha"
    assert rest and all(s.parent.span_id == backend.context.span_id for s in rest)
    assert {s.attributes["http.request.method"] for s in rest} == {"GET"}
    text = repr([(s.name, dict(s.attributes)) for s in spans])
    assert "{id}" in text  # path shapes, not paths
    for secret in [CARD, auth["Authorization"][7:], *(loan["item"]["id"] for loan in loans)]:
        assert secret not in text
