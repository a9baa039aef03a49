"""No log line pairs a patron with an item or a title (issue 15, Secrets): a renewal, a hold
and the loan list write request lines with the tenant and the masked card, so none of them may
carry an item id (the request path included) or a title."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from api_helpers import login

from ils_gateway.logging import configure_logging

T = "/v1/tenants/koha-demo"


@pytest.fixture
def json_logs(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(json=True, level=logging.DEBUG)
    return stream


async def test_renewal_and_hold_logs_name_no_item_or_title(client, json_logs):
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    loan = next(loan for loan in loans if loan["renewable"])
    item_id, title = loan["item"]["id"], loan["item"]["title"]
    renewed = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert renewed.status == 200, await renewed.text()
    hold_item = "2100000010"
    placed = await client.post(
        f"{T}/holds", headers=auth, json={"item_ids": [hold_item], "pickup_library": "CEN"}
    )
    assert placed.status == 200, await placed.text()
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    hold_ids = [str(h["id"]) for h in holds]
    hold = next(h for h in holds if "change_pickup" in h["allowed_actions"])
    changed = await client.patch(
        f"{T}/holds/{hold['id']}", headers=auth, json={"pickup_library": hold["pickup_library"]}
    )
    assert changed.status < 500
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line]
    requests = [line for line in lines if line["event"] == "request"]
    assert any(line.get("patron") for line in requests)  # the patron is in these lines
    text = json_logs.getvalue()
    for secret in (item_id, title, hold_item):
        assert secret not in text, secret
    paths = {line["path"] for line in requests}
    assert f"{T}/loans/{{item_id}}/renewal" in paths
    assert not any(hold_id in path.split("/") for path in paths for hold_id in hold_ids)
