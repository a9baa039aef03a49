"""Logs through a real request: JSON lines carrying the request id, no password, masked cards."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from api_helpers import CARD, PASSWORD

from ils_gateway.logging import configure_logging, redact

T = "/v1/tenants/koha-demo"


@pytest.fixture
def json_logs(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # configure_logging writes to sys.stderr

    def lines() -> list[dict]:
        text = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return [json.loads(line) for line in text.splitlines() if line]

    configure_logging(json=True, level=logging.DEBUG)
    yield lines


async def test_request_lines_carry_the_request_id_and_never_the_password(client, json_logs):
    json_logs()  # drop start-up lines
    response = await client.post(
        f"{T}/sessions",
        json={"card_number": CARD, "password": PASSWORD},
        headers={"X-Request-ID": "login-request-0001"},
    )
    assert response.status == 201
    wrong = await client.post(f"{T}/sessions", json={"card_number": CARD, "password": "Nope-99"})
    assert wrong.status == 401
    lines = json_logs()
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert PASSWORD not in text and "Nope-99" not in text
    assert CARD not in text, "card numbers are masked to their last four digits"
    mine = [line for line in lines if line.get("request_id") == "login-request-0001"]
    assert any(line["event"] == "request" and line["status"] == 201 for line in mine)
    assert {line["request_id"] for line in lines if line["event"] == "request"} == {
        "login-request-0001",
        wrong.headers["X-Request-ID"],
    }
    refusal = next(line for line in lines if line["event"] == "gateway_error")
    assert refusal["type"] == "authentication-failed" and refusal["level"] == "info"


def test_redact_hides_secrets_and_masks_cards():
    event = {
        "event": "x",
        "password": "hanako01",
        "new_password": "s3cret",
        "Authorization": "Bearer abc",
        "kiosk_key": "k",
        "card_number": "1000000001",
        "card": "2000000002",
        "count": 3,
    }
    out = redact(None, "info", dict(event))
    assert out["password"] == out["new_password"] == out["Authorization"] == "***"
    assert out["kiosk_key"] == "***"
    assert out["card_number"].endswith("0001") and "100000" not in out["card_number"]
    assert out["card"].endswith("0002") and "200000" not in out["card"]
    assert out["count"] == 3 and out["event"] == "x"
