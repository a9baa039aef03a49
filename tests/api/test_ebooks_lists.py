"""E-books never enter the basket or the cancelled-hold history (requirements §6, Saitama).

Ibaraki (basket of 100) and Saitama (cancelled holds kept 180 days, e-books excluded) from their
own tenant files, their SIP2 backends swapped for the Koha simulator over TCP, their e-libraries
the in-process simulator, and the gateway store on a SQLite file.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import BadRequest
from ils_gateway.domain.models import Hold, Item, Patron
from ils_gateway.domain.vocab import HoldStatus, ItemSource
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
SECRET = b"ebook-lists-test-secret-0123456789"
HANAKO = ("1000000001", "hanako01")
OTHER = ("1000000007", "tadashi7")


def on_koha(tenant: str, koha_url: str) -> str:
    """``tenant``'s own file, backend swapped for koha-demo's and e-library for the simulator."""
    text = (EXAMPLES / f"{tenant}.toml").read_text(encoding="utf-8")
    koha = (EXAMPLES / "koha-demo.toml").read_text(encoding="utf-8")
    found = re.search(r"\[tenants\.backend\].*?\n\n", koha, re.S)
    assert found is not None
    backend = found.group(0).replace("http://127.0.0.1:6201", koha_url)
    text = re.sub(r"\[tenants\.backend\].*?(?=\[tenants\.elibrary\])", backend, text, flags=re.S)
    simulator = '[tenants.elibrary]\nkind = "simulator"\n\n'
    return re.sub(r"\[tenants\.elibrary\].*?\n\n", simulator, text, count=1, flags=re.S)


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
def make_client(aiohttp_client, koha_url, clock, tmp_path):
    async def make(tenant: str):
        registry = TenantRegistry(parse_tenants(on_koha(tenant, koha_url)).tenants)
        store = StoreSettings(
            default_url(tmp_path / f"{tenant}.db"), SECRET, kdf=KdfParams.minimal()
        )
        settings = GatewaySettings(tenants=registry, clock=clock, store=store, wrap_backend=None)
        return await aiohttp_client(create_app(settings))

    return make


async def login(client, tenant: str, card: str, password: str) -> dict[str, str]:
    response = await client.post(
        f"/v1/tenants/{tenant}/sessions", json={"card_number": card, "password": password}
    )
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_the_basket_refuses_ebooks(make_client):
    client = await make_client("ibaraki")
    t = "/v1/tenants/ibaraki"
    auth = await login(client, "ibaraki", *HANAKO)
    ebook = await client.post(
        f"{t}/basket/items",
        json={"item_id": "KD000001", "title": "電子書籍", "source": "ebook"},
        headers=auth,
    )
    problem = await ebook.json()
    assert ebook.status == 400 and problem["type"].endswith("/bad-request")
    assert "電子書籍は予約かごを使わずに直接予約してください" == problem["detail"]
    # Without a source or a title, the library system is asked, and it has no such item.
    unknown = await client.post(f"{t}/basket/items", json={"item_id": "KD000001"}, headers=auth)
    assert unknown.status == 404
    assert (await (await client.get(f"{t}/basket", headers=auth)).json())["items"] == []
    # The service refuses too, whatever calls it.
    runtime = client.app[GATEWAY_KEY].tenant("ibaraki")
    lists = runtime.mylists
    assert lists is not None
    patron = Patron(id=HANAKO[0], card_number=HANAKO[0], name="花子")
    ctx = lists.context(runtime.config, patron)
    with pytest.raises(BadRequest):
        await lists.basket.add(
            ctx, runtime.context.backend, "KD000001", source=ItemSource.EBOOK, title="電子書籍"
        )
    assert await lists.basket.list(ctx) == []


async def test_cancelled_ebook_holds_never_enter_the_history(make_client, clock):
    client = await make_client("saitama")
    t = "/v1/tenants/saitama"
    other = await login(client, "saitama", *OTHER)
    taken = await client.post(f"{t}/ebooks/loans", json={"title_id": "KD000002"}, headers=other)
    assert taken.status == 201
    auth = await login(client, "saitama", *HANAKO)
    placed = await client.post(
        f"{t}/holds", json={"item_ids": ["KD000002"], "source": "ebook"}, headers=auth
    )
    assert (await placed.json())["results"][0]["outcome"] == "ok"
    holds = (await (await client.get(f"{t}/holds", headers=auth)).json())["holds"]
    waiting_ils = [h for h in holds if h["source"] == "ils" and h["status"] == "waiting"]
    assert waiting_ils, "the sample patron has a waiting library hold to cancel"
    ils_hold = waiting_ils[0]

    ebook_cancel = await client.delete(f"{t}/holds/KD000002?source=ebook", headers=auth)
    ils_cancel = await client.delete(f"{t}/holds/{ils_hold['id']}", headers=auth)
    assert ebook_cancel.status == ils_cancel.status == 204
    clock.advance(minutes=1)
    await client.get(f"{t}/holds", headers=auth)  # the list hook observes ended holds

    history = await (await client.get(f"{t}/cancelled-holds", headers=auth)).json()
    assert [e["hold_id"] for e in history["entries"]] == [ils_hold["id"]]

    # Observing an ended e-book hold (as a merged list would show it) keeps nothing either.
    runtime = client.app[GATEWAY_KEY].tenant("saitama")
    lists = runtime.mylists
    assert lists is not None
    patron = Patron(id=HANAKO[0], card_number=HANAKO[0], name="花子")
    ctx = lists.context(runtime.config, patron)
    ended = Hold(
        id="KD000002",
        item=Item(id="KD000002", title="電子書籍", source=ItemSource.EBOOK),
        status=HoldStatus.CANCELLED,
        source=ItemSource.EBOOK,
        created=(clock() - timedelta(days=1)).date(),
    )
    library_hold = Hold(
        id="B-ENDED",
        item=Item(id="B-ENDED", title="紙の本"),
        status=HoldStatus.EXPIRED,
        created=ended.created,
    )
    assert await lists.cancelled.observe(ctx, [ended, library_hold]) == 1
    after = await (await client.get(f"{t}/cancelled-holds", headers=auth)).json()
    assert sorted(e["hold_id"] for e in after["entries"]) == sorted([ils_hold["id"], "B-ENDED"])
