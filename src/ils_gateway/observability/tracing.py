"""OpenTelemetry traces of a request through the gateway: off unless configured.

``configure_tracing(endpoint=…)`` (``serve --otel-endpoint``, or ``OTEL_EXPORTER_OTLP_ENDPOINT``)
imports the OpenTelemetry SDK and the OTLP/HTTP exporter and starts sending spans; until then
``span`` returns one shared no-op context manager and nothing of OpenTelemetry is imported.

Spans (names and attributes bounded and free of personal data: no card, patron, item, hold or
title id, no raw path):

- ``HTTP <method> <route name>``: the API request (``http.request.method``, ``http.route`` as
  the route's template, ``http.response.status_code``, ``ils.tenant``); a ``traceparent`` header
  from the caller is continued;
- ``backend <operation>``: a call from the resilience layer to a library system or e-library
  (``ils.backend``, ``ils.operation``, ``ils.outcome``);
- ``sip2 <code>``: one SIP2 request on the client pool (``sip2.message``, the request's
  message code; ``sip2.response``);
- ``rest <METHOD> <call>``: one REST request to Koha, FOLIO or an e-library (the vendor's call
  name stands for the path's shape).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from typing import Any

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"

_NULL: AbstractContextManager[Any] = nullcontext()
tracer: Any = None
"""The tracer when tracing is on, else None (callers may test it to skip building attributes)."""
_provider: Any = None


def span(name: str, attributes: dict[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A span around the ``with`` block (the current span its parent); a no-op when off.

    The span is what the ``with`` yields (None when off): ``set_attribute`` on it adds what is
    known only at the end."""
    current = tracer
    if current is None:
        return _NULL
    return current.start_as_current_span(name, attributes=attributes)  # type: ignore[no-any-return]  # the SDK's tracer, typed Any here


def server_span(name: str, headers: Any, attributes: dict[str, Any]) -> AbstractContextManager[Any]:
    """A server span continuing the caller's ``traceparent`` (in ``headers``), when on."""
    current = tracer
    if current is None:
        return _NULL
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    return current.start_as_current_span(  # type: ignore[no-any-return]  # as above
        name, context=extract(headers), kind=SpanKind.SERVER, attributes=attributes
    )


def endpoint_from_env() -> str | None:
    """The OTLP endpoint from ``OTEL_EXPORTER_OTLP_ENDPOINT``, or None."""
    return os.environ.get(ENDPOINT_ENV) or None


def configure_tracing(
    endpoint: str | None = None,
    *,
    exporter: Any = None,
    service_name: str = "ils-gateway",
) -> None:
    """Turn tracing on: spans to the OTLP/HTTP ``endpoint`` (batched), or to ``exporter`` (a
    span exporter, e.g. the SDK's ``InMemorySpanExporter`` in tests; sent as each span ends).

    Needs the ``otel`` extra (``pip install 'ils-gateway[otel]'``); ``RuntimeError`` says so
    when it is missing."""
    global tracer, _provider
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("tracing needs OpenTelemetry: pip install 'ils-gateway[otel]'") from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        if endpoint is None:
            raise ValueError("configure_tracing needs an endpoint or an exporter")
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "the OTLP exporter is missing: pip install 'ils-gateway[otel]'"
            ) from exc
        url = endpoint.rstrip("/")
        if not url.endswith("/v1/traces"):
            url += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    shutdown_tracing()
    _provider = provider
    tracer = provider.get_tracer("ils_gateway")


def shutdown_tracing() -> None:
    """Send what is pending and turn tracing off."""
    global tracer, _provider
    provider, _provider, tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()
