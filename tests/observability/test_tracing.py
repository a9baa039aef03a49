"""OpenTelemetry traces (issue 17): off (and not imported) unless configured; when on, a
request's span has the service's backend call and the SIP2 request under it, with bounded
names and no personal data."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.observability import tracing
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.simulators.sample_data import SAMPLE_NOW

T = "/v1/tenants/demo"


def test_no_opentelemetry_import_when_off() -> None:
    code = (
        "import sys\n"
        "import ils_gateway.api.app, ils_gateway.serve, ils_gateway.adapters.sip2.backend\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture
def exporter():
    spans = InMemorySpanExporter()
    tracing.configure_tracing(exporter=spans)
    try:
        yield spans
    finally:
        tracing.shutdown_tracing()
    assert tracing.tracer is None


async def test_request_traced_through_service_and_sip2(aiohttp_client, exporter) -> None:
    settings, _acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    client = await aiohttp_client(create_app(settings))
    card = "1000000001"
    login = await client.post(f"{T}/sessions", json={"card_number": card, "password": "hanako01"})
    token = (await login.json())["token"]
    exporter.clear()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await client.get(
        f"{T}/loans", headers={"Authorization": f"Bearer {token}", "traceparent": parent}
    )
    assert response.status == 200
    loans = (await response.json())["loans"]
    spans = {span.name: span for span in exporter.get_finished_spans()}
    http = spans["HTTP GET list_loans"]
    backend = spans["backend list_loans"]
    sip2 = [s for s in exporter.get_finished_spans() if s.name.startswith("sip2 ")]
    assert http.attributes["http.route"] == "/v1/tenants/{tenant}/loans"
    assert http.attributes["http.response.status_code"] == 200
    assert http.attributes["ils.tenant"] == "demo"
    # The caller's trace continues; the backend call is the request's child, SIP2 the call's.
    assert format(http.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert backend.parent.span_id == http.context.span_id
    assert backend.attributes["ils.backend"] == "sip2"
    assert backend.attributes["ils.outcome"] == "ok"
    assert sip2 and all(s.parent.span_id == backend.context.span_id for s in sip2)
    assert {s.attributes["sip2.message"] for s in sip2} >= {"63"}
    # No card, token or item id anywhere in the spans' names or attributes.
    text = repr([(s.name, dict(s.attributes)) for s in exporter.get_finished_spans()])
    for secret in [card, token, *(loan["item"]["id"] for loan in loans)]:
        assert secret not in text
