"""Ibaraki's e-book rules end to end through the gateway's API (requirements §6).

Ibaraki's own tenant file (3 e-book loans of 15 days, 3 e-book holds, ready holds kept 7 days,
its status labels) with its library system swapped for the Koha simulator over TCP, and its
``[tenants.elibrary] kind = "simulator"`` started in-process by the gateway. Gateway, library and
e-library share one ``ManualClock``; "7 days later" is the clock moved, not waited for.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
T = "/v1/tenants/ibaraki"
HANAKO = ("1000000001", "hanako01")
OTHERS = (("1000000007", "tadashi7"), ("1000000009", "naoki009"))
SINGLE_COPY = ("KD000002", "KD000004", "KD000006", "KD000007")


def ibaraki_on_koha(koha_url: str, elibrary: str | None = None) -> TenantRegistry:
    """Ibaraki's tenant file, its SIP2 backend replaced by koha-demo's, pointed at ``koha_url``."""
    ibaraki = (EXAMPLES / "ibaraki.toml").read_text(encoding="utf-8")
    koha = (EXAMPLES / "koha-demo.toml").read_text(encoding="utf-8")
    koha_backend = re.search(r"\[tenants\.backend\].*?\n\n", koha, re.S)
    assert koha_backend is not None
    backend = koha_backend.group(0).replace("http://127.0.0.1:6201", koha_url)
    text = re.sub(r"\[tenants\.backend\].*?(?=\[tenants\.elibrary\])", backend, ibaraki, flags=re.S)
    if elibrary is not None:
        text = re.sub(r'\[tenants\.elibrary\]\nkind = "simulator"\n', elibrary, text)
    return TenantRegistry(parse_tenants(text, "<ibaraki on koha>").tenants)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
async def koha_url(clock) -> AsyncIterator[str]:
    runner, url = await start_koha_simulator(sample_library(clock=clock), port=0)
    try:
        yield url
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(aiohttp_client, koha_url, clock):
    settings = GatewaySettings(tenants=ibaraki_on_koha(koha_url), clock=clock)
    return await aiohttp_client(create_app(settings))


async def login(client, card: str, password: str) -> dict[str, str]:
    response = await client.post(f"{T}/sessions", json={"card_number": card, "password": password})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def borrow(client, auth, title_id: str):
    return await client.post(f"{T}/ebooks/loans", json={"title_id": title_id}, headers=auth)


async def test_three_loans_of_fifteen_days_and_no_fourth(client, clock):
    auth = await login(client, *HANAKO)
    for title_id in ("KD000001", "KD000003", "KD000008"):
        assert (await borrow(client, auth, title_id)).status == 201
    loans = await (await client.get(f"{T}/loans", headers=auth)).json()
    due = (clock() + timedelta(days=15)).date().isoformat()
    ebook = [(x["item"]["id"], x["due_date"]) for x in loans["loans"] if x["source"] == "ebook"]
    assert sorted(ebook) == [("KD000001", due), ("KD000003", due), ("KD000008", due)]
    assert loans["ebooks"]["count"] == 3
    fourth = await borrow(client, auth, "KD000011")
    assert fourth.status == 422 and (await fourth.json())["reason"] == "loan_limit"


async def test_a_fourth_ebook_hold_is_refused_with_hold_limit(client):
    first, second = [await login(client, *who) for who in OTHERS]
    for title_id in SINGLE_COPY[:3]:
        assert (await borrow(client, first, title_id)).status == 201
    assert (await borrow(client, second, SINGLE_COPY[3])).status == 201
    auth = await login(client, *HANAKO)
    placed = await client.post(
        f"{T}/holds",
        json={"item_ids": list(SINGLE_COPY), "pickup_library": "-", "source": "ebook"},
        headers=auth,
    )
    results = (await placed.json())["results"]
    assert [r["outcome"] for r in results] == ["ok", "ok", "ok", "refused"]
    assert results[3]["reason"] == "hold_limit"
    alone = await client.post(f"{T}/ebooks/holds", json={"title_id": SINGLE_COPY[3]}, headers=auth)
    problem = await alone.json()
    assert alone.status == 422 and problem["reason"] == "hold_limit"
    assert problem["type"].endswith("/hold-refused")


async def test_a_ready_hold_is_listed_then_gone_after_seven_days(client, clock):
    other = await login(client, *OTHERS[0])
    assert (await borrow(client, other, "KD000002")).status == 201
    auth = await login(client, *HANAKO)
    hold = await client.post(f"{T}/ebooks/holds", json={"title_id": "KD000002"}, headers=auth)
    assert hold.status == 201 and (await hold.json())["status_label"] == "確保待ち"
    assert (await client.delete(f"{T}/ebooks/loans/KD000002", headers=other)).status == 204
    holds = await (await client.get(f"{T}/holds", headers=auth)).json()
    [ready] = [h for h in holds["holds"] if h["source"] == "ebook"]
    deadline = (clock() + timedelta(days=7)).date().isoformat()
    assert (ready["status"], ready["pickup_deadline"]) == ("ready", deadline)
    labelled = await (await client.get(f"{T}/ebooks/holds", headers=auth)).json()
    assert labelled["holds"][0]["status_label"] == "貸出可能"  # Ibaraki's own label

    clock.advance(days=7)
    auth = await login(client, *HANAKO)  # Ibaraki logs idle patrons out after 15 minutes
    holds = await (await client.get(f"{T}/holds", headers=auth)).json()
    assert [h for h in holds["holds"] if h["source"] == "ebook"] == []
    assert holds["ebooks"] == {"available": True, "detail": None, "count": 0}
    title = await (await client.get(f"{T}/ebooks/titles/KD000002", headers=auth)).json()
    assert title["title"]["availability"]["copies_available"] == 1


async def test_elibrary_down_still_lists_the_ils_part(aiohttp_client, koha_url, clock):
    down = '[tenants.elibrary]\nkind = "kinoden"\nbase_url = "http://127.0.0.1:9"\n'
    down += 'client_id = "ibaraki"\nclient_secret = "unused"\n'
    settings = GatewaySettings(tenants=ibaraki_on_koha(koha_url, down), clock=clock)
    client = await aiohttp_client(create_app(settings))
    auth = await login(client, *HANAKO)
    loans = await client.get(f"{T}/loans", headers=auth)
    body = await loans.json()
    assert loans.status == 200 and body["loans"]
    assert {x["source"] for x in body["loans"]} == {"ils"}
    assert body["ebooks"]["available"] is False


async def test_ebook_writes_pause_for_the_nightly_maintenance_window(client, clock):
    other = await login(client, *OTHERS[0])
    assert (await borrow(client, other, "KD000002")).status == 201
    auth = await login(client, *HANAKO)
    assert (await borrow(client, auth, "KD000001")).status == 201
    hold = await client.post(f"{T}/ebooks/holds", json={"title_id": "KD000002"}, headers=auth)
    assert hold.status == 201
    # SAMPLE_NOW is 10:00 in Tokyo; Ibaraki pauses writes from 03:50 to 04:20.
    clock.advance(hours=17, minutes=55)
    auth = await login(client, *HANAKO)  # logging in is not a write
    writes = [
        ("POST", "/ebooks/loans", {"title_id": "KD000003"}),
        ("DELETE", "/ebooks/loans/KD000001", None),
        ("POST", "/ebooks/holds", {"title_id": "KD000004"}),
        ("DELETE", "/ebooks/holds/KD000002", None),
        ("POST", "/holds", {"item_ids": ["KD000004"], "source": "ebook"}),
        ("DELETE", "/holds/KD000002?source=ebook", None),
    ]
    for method, path, body in writes:
        paused = await client.request(method, T + path, json=body, headers=auth)
        problem = await paused.json()
        assert paused.status == 503 and problem["type"].endswith("/maintenance"), path
        assert paused.headers["Retry-After"] == str(25 * 60)
    loans = await (await client.get(f"{T}/loans", headers=auth)).json()
    assert [x["item"]["id"] for x in loans["loans"] if x["source"] == "ebook"] == ["KD000001"]
    holds = await (await client.get(f"{T}/ebooks/holds", headers=auth)).json()
    assert [h["title"]["id"] for h in holds["holds"]] == ["KD000002"]

    clock.advance(minutes=25)  # 04:20: writes are back
    auth = await login(client, *HANAKO)
    assert (await client.delete(f"{T}/ebooks/loans/KD000001", headers=auth)).status == 204
