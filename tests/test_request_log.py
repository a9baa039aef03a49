"""The request line written directly is the line structlog's chain would write (keys and values),
and it goes through structlog whenever the configuration is not the JSON one
``configure_logging`` made."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog
from structlog.contextvars import bind_contextvars, reset_contextvars

from ils_gateway.logging import RequestLog, configure_logging

CONTEXT = {
    "request_id": "0123456789abcdef",
    "method": "GET",
    "path": "/v1/tenants/demo/loans",
    "tenant": "demo",
    "patron": "******0001",
    "channel": "web",
    "card_number": "1000000001",  # would be a mistake to bind; masked either way
}


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    out = io.StringIO()

    def configure(**options: object) -> None:
        # set here, not at fixture set-up: pytest puts its own stderr back for the test call
        monkeypatch.setattr(sys, "stderr", out)
        configure_logging(**options)  # type: ignore[arg-type]

    out.configure = configure  # type: ignore[attr-defined]
    yield out


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_direct_line_has_the_chains_keys_and_values(stream: io.StringIO) -> None:
    stream.configure(json=True, level=logging.INFO)
    tokens = bind_contextvars(**CONTEXT)
    try:
        RequestLog("ils_gateway.api").done(dict(CONTEXT), 200, 1.5)
        structlog.get_logger("ils_gateway.api").info("request", status=200, ms=1.5)
    finally:
        reset_contextvars(**tokens)
    direct, chain = _lines(stream)
    assert direct.pop("timestamp").endswith("Z") and chain.pop("timestamp").endswith("Z")
    assert direct == chain
    # the event's own fields first, then the context (the chain's context order is the context
    # variables' and may differ), level and timestamp last
    assert list(direct)[:3] == list(chain)[:3] == ["status", "ms", "event"]
    assert direct["card_number"] == "******0001" and direct["level"] == "info"


def test_below_the_configured_level_no_line(stream: io.StringIO) -> None:
    stream.configure(json=True, level=logging.WARNING)
    RequestLog("ils_gateway.api").done(dict(CONTEXT), 200, 1.5)
    assert stream.getvalue() == ""


def test_other_configurations_get_the_line_through_structlog(stream: io.StringIO) -> None:
    stream.configure(json=True, level=logging.INFO)
    tokens = bind_contextvars(request_id="r-1")
    try:
        with structlog.testing.capture_logs() as captured:
            RequestLog("ils_gateway.api").done({"request_id": "r-1"}, 404, 0.2)
    finally:
        reset_contextvars(**tokens)
    assert captured == [{"event": "request", "status": 404, "ms": 0.2, "log_level": "info"}]
    assert stream.getvalue() == ""
    stream.configure(json=False, level=logging.INFO)
    RequestLog("ils_gateway.api").done({"request_id": "r-2"}, 200, 0.1)
    assert "request" in stream.getvalue() and not stream.getvalue().startswith("{")


async def test_lines_of_one_loop_turn_are_written_together_at_its_end(
    stream: io.StringIO,
) -> None:
    import asyncio

    stream.configure(json=True, level=logging.INFO)
    log = RequestLog("ils_gateway.api")
    log.done({"request_id": "r-1"}, 200, 0.1)
    log.done({"request_id": "r-2"}, 404, 0.2)
    assert stream.getvalue() == ""  # not yet: at the end of this turn of the loop
    await asyncio.sleep(0)
    assert [line["request_id"] for line in _lines(stream)] == ["r-1", "r-2"]
    log.done({"request_id": "r-3"}, 200, 0.1)
    await asyncio.sleep(0)
    assert [line["request_id"] for line in _lines(stream)] == ["r-1", "r-2", "r-3"]
