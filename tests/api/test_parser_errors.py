"""Requests aiohttp cannot parse (issue 15, HTTP): over a raw socket to the app served the way
``serve`` serves it (``GatewayRunner``). The answer is a problem+json 400/414/431 with a fixed
detail, the gateway's Server header and no echo of the request; the logs name the error class,
never a header value; a body that cannot be read is a 400 problem, not a 500."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from api_helpers import tenant_toml
from structlog.testing import capture_logs

from ils_gateway.api.app import create_app
from ils_gateway.api.server import (
    MAX_FIELD_SIZE,
    MAX_LINE_SIZE,
    GatewayRunner,
    HeaderSafeFilter,
    check_aiohttp,
)
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

SECRET = b"SECRETTOKEN123"
CARD = b"4900123412341234"
AUTH = b"Authorization: Bearer " + SECRET + b"\r\n"
T = b"/v1/tenants/koha-demo"

CASES: dict[str, tuple[bytes, int]] = {
    "bad header line": (
        b"GET " + T + b"/loans HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Bad Line " + CARD + b"\r\n\r\n",
        400,
    ),
    "control character in the token": (
        b"GET " + T + b"/loans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET + b"\x01"
        b"\r\nX-Card: " + CARD + b"\r\n\r\n",
        400,
    ),
    "header line too long": (
        b"GET " + T + b"/loans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET + CARD
        + b"A" * (MAX_FIELD_SIZE + 10) + b"\r\n\r\n",
        431,
    ),
    "too many headers": (
        b"GET / HTTP/1.1\r\nHost: x\r\n" + AUTH
        + b"".join(b"X-%d: " % i + CARD + b"\r\n" for i in range(200)) + b"\r\n",
        431,
    ),
    "request line too long": (
        b"GET /" + CARD + b"a" * (MAX_LINE_SIZE + 10) + b" HTTP/1.1\r\n" + AUTH + b"\r\n",
        414,
    ),
    "bad method": (b"G(T / HTTP/1.1\r\n" + AUTH + b"X-Card: " + CARD + b"\r\n\r\n", 400),
    "bad version": (b"GET /" + CARD + b" HTTP/9.x\r\n" + AUTH + b"\r\n", 400),
    "bad chunk size": (
        b"POST " + T + b"/sessions HTTP/1.1\r\nHost: x\r\n" + AUTH
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"ZZ\r\n" + CARD + b"\r\n0\r\n\r\n",
        400,
    ),
    "length and chunked together": (
        b"POST " + T + b"/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n" + AUTH + b"\r\n0\r\n\r\n",
        400,
    ),
}  # fmt: skip


@pytest.fixture
async def port(koha_url: str, clock) -> AsyncIterator[int]:
    registry = TenantRegistry(parse_tenants(tenant_toml(koha_url)).tenants)
    app = create_app(GatewaySettings(tenants=registry, clock=clock))
    runner = GatewayRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _exchange(port: int, *parts: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def _split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("case", list(CASES))
async def test_malformed_requests_are_answered_without_echo(port, case, caplog) -> None:
    request, status = CASES[case]
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        raw = await _exchange(port, request)
    answer, headers, body = _split(raw)
    assert answer == status, raw[:300]
    assert SECRET not in raw and CARD not in raw
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["server"] == "ils-gateway"
    doc = json.loads(body)
    assert doc["status"] == status and doc["type"].startswith("https://ils-gateway.dev/problems/")
    logged = repr(logs) + caplog.text
    assert SECRET.decode() not in logged and CARD.decode() not in logged
    assert next(e for e in logs if e["event"] == "http_error")["error"]


async def test_a_body_that_cannot_be_read_is_a_400_problem_not_a_500(port) -> None:
    # The head parses; reading the body fails in the handler (aiohttp's RequestPayloadError):
    # before issue 15 this was an unhandled error, a 500 with a traceback in the log.
    body = b"not deflate " + CARD
    request = (
        b"POST /v1/tenants/koha-demo/sessions HTTP/1.1\r\nHost: x\r\n" + AUTH
        + b"Content-Type: application/json\r\nContent-Encoding: deflate\r\n"
        + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )  # fmt: skip
    with capture_logs() as logs:
        raw = await _exchange(port, request)
    answer, headers, payload = _split(raw)
    assert answer == 400, raw[:300]
    assert SECRET not in raw and CARD not in raw
    assert headers["server"] == "ils-gateway"
    assert json.loads(payload)["type"].endswith("/bad-request")
    assert CARD.decode() not in repr(logs) and SECRET.decode() not in repr(logs)
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]
    assert [e for e in logs if e["event"] == "unreadable_body"]


async def test_a_good_request_still_works_and_is_logged_once(port) -> None:
    raw = await _exchange(
        port,
        b"GET /v1/tenants/koha-demo/libraries HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    status, headers, _ = _split(raw)
    assert status == 200 and headers["server"] == "ils-gateway"


def test_the_filter_strips_header_values_and_exception_messages() -> None:
    filt = HeaderSafeFilter()
    try:
        raise ValueError(b"Authorization: Bearer " + SECRET)  # the frame shows this line
    except ValueError as exc:
        record = logging.LogRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Error from %s: %s",
            ("127.0.0.1", exc), (type(exc), exc, exc.__traceback__),
        )  # fmt: skip
    assert filt.filter(record)
    text = logging.Formatter().format(record)
    assert "SECRETTOKEN123" not in text and "ValueError" in text and "127.0.0.1" in text
    access = logging.LogRecord(
        "aiohttp.access", logging.INFO, __file__, 1, '%s "Bearer SECRETTOKEN123"', None, None
    )
    access.__dict__.update(
        remote_address="10.0.0.1", first_request_line="GET / HTTP/1.1", response_status=200,
        response_size=5, request_header={"Authorization": "Bearer SECRETTOKEN123"},
    )  # fmt: skip
    assert filt.filter(access)
    text = logging.Formatter().format(access)
    assert "SECRETTOKEN123" not in text and "10.0.0.1" in text and "200" in text
    assert not hasattr(access, "request_header")


def test_what_the_runner_relies_on_in_aiohttp_is_there() -> None:
    check_aiohttp()
