"""Saved new-arrival conditions over HTTP (GET/POST/PATCH/DELETE …/new-arrival-conditions):
gateway app → Koha adapter → Koha simulator on 127.0.0.1, store on a SQLite file; then the run
reads the same simulator's new arrivals (Koha items by acquisition_date) and mails the match."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sdi_support import SECRET, RecordingOutbox, koha_tenant

from address_links import confirmed_address
from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.services.sdi import run_sdi
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, build_sample_data
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry

T = "/v1/tenants/sdilib"
C = f"{T}/new-arrival-conditions"
HANAKO, KEN = ("1000000001", "hanako01"), ("1000000005", "makoto05")


@pytest.fixture
async def koha() -> AsyncIterator[tuple[SimulatedLibrary, str, ManualClock]]:
    clock = ManualClock(SAMPLE_NOW)
    sim = SimulatedLibrary(build_sample_data(now=SAMPLE_NOW), clock)
    runner = web.AppRunner(create_koha_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield sim, f"http://127.0.0.1:{runner.addresses[0][1]}", clock
    finally:
        await runner.cleanup()


@pytest.fixture
async def gw(aiohttp_client: Any, koha: Any, tmp_path: Path) -> Any:
    sim, url, clock = koha
    tenant = koha_tenant(url=url, max_conditions=2)
    settings = GatewaySettings(
        tenants=TenantRegistry([tenant]),
        clock=clock,
        backend_factory=lambda _t, *_: KohaBackend(tenant.backend, today=sim.today),  # type: ignore[arg-type]
        wrap_backend=None,
        store=StoreSettings(default_url(tmp_path / "gw.sqlite3"), SECRET, kdf=KdfParams.minimal()),
    )
    return await aiohttp_client(create_app(settings))


async def login(gw: Any, who: tuple[str, str]) -> dict[str, str]:
    response = await gw.post(f"{T}/sessions", json={"card_number": who[0], "password": who[1]})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_crud_limit_and_privacy(gw: Any) -> None:
    assert (await gw.get(C)).status == 401
    auth = await login(gw, HANAKO)
    empty = await (await gw.get(C, headers=auth)).json()
    assert empty == {"conditions": [], "max_conditions": 2, "schedule": "sat 15:30"}

    made = await gw.post(C, json={"name": "漱石", "author": "なつめ そうせき"}, headers=auth)
    assert made.status == 201, await made.text()
    first = await made.json()
    assert first["author"] == "なつめ そうせき" and first["material_type"] is None
    second = await gw.post(
        C, json={"name": "ジャズCD", "subject": "ジャズ", "material_type": "cd"}, headers=auth
    )
    assert second.status == 201
    full = await gw.post(C, json={"name": "三つ目", "title_words": "歴史"}, headers=auth)
    problem = await full.json()
    assert full.status == 422 and problem["type"].endswith("/list-limit-reached")
    assert (problem["list"], problem["limit"]) == ("sdi_conditions", 2)

    cid = first["condition_id"]
    changed = await gw.patch(
        f"{C}/{cid}", json={"title_words": "全集", "author": None}, headers=auth
    )
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["author"] is None
    assert (await changed.json())["title_words"] == "全集"
    listed = await (await gw.get(C, headers=auth)).json()
    assert [c["name"] for c in listed["conditions"]] == ["漱石", "ジャズCD"]

    # Personal data: another patron neither sees nor touches them.
    other = await login(gw, KEN)
    assert (await (await gw.get(C, headers=other)).json())["conditions"] == []
    assert (await gw.patch(f"{C}/{cid}", json={"name": "x"}, headers=other)).status == 404
    assert (await gw.delete(f"{C}/{cid}", headers=other)).status == 404

    assert (await gw.delete(f"{C}/{cid}", headers=auth)).status == 204
    assert (await gw.delete(f"{C}/{cid}", headers=auth)).status == 404


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"name": "x"}, "author"),  # no condition field at all
    ({"name": "", "author": "a"}, "name"),
    ({"author": "a"}, "name"),
    ({"name": "x", "material_type": "scroll"}, "material_type"),
    ({"name": "x", "author": "a" * 101}, "author"),
    ({"name": "x", "subject": 3}, "subject"),
    ({"name": "x", "author": "a", "colour": "red"}, "colour"),
]


async def test_bad_input_is_a_4xx_naming_the_field(gw: Any) -> None:
    auth = await login(gw, HANAKO)
    for body, field in BAD_BODIES:
        response = await gw.post(C, json=body, headers=auth)
        assert 400 <= response.status < 500, (body, await response.text())
        assert field in (await response.text()), body
    assert (await (await gw.get(C, headers=auth)).json())["conditions"] == []


async def test_patch_must_keep_one_field_and_the_openapi_lists_the_routes(gw: Any) -> None:
    auth = await login(gw, HANAKO)
    cid = (await (await gw.post(C, json={"name": "a", "author": "a"}, headers=auth)).json())[
        "condition_id"
    ]
    cleared = await gw.patch(f"{C}/{cid}", json={"author": None}, headers=auth)
    assert cleared.status == 400 and "author" in await cleared.text()
    assert (await gw.patch(f"{C}/{cid}", json={}, headers=auth)).status == 400
    document = await (await gw.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths[f"{T.replace('sdilib', '{tenant}')}/new-arrival-conditions"]) >= {
        "get",
        "post",
    }
    one = paths["/v1/tenants/{tenant}/new-arrival-conditions/{condition_id}"]
    assert set(one) >= {"patch", "delete"}
    assert "SdiConditionView" in document["components"]["schemas"]


async def test_the_run_reads_koha_new_arrivals_and_mails_the_match(
    gw: Any, koha: Any, tmp_path: Path
) -> None:
    _sim, url, clock = koha
    auth = await login(gw, HANAKO)
    await confirmed_address(gw, T, auth, "hanako@example.jp")
    for body in (
        {"name": "漱石", "author": "夏目"},  # Koha's JSON record has the name, not its reading
        {"name": "CD", "material_type": "cd"},
    ):
        assert (await gw.post(C, json=body, headers=auth)).status == 201
    outbox = RecordingOutbox()
    async with open_store(
        default_url(tmp_path / "gw.sqlite3"), secret=SECRET, kdf=KdfParams.minimal(), clock=clock
    ) as store:
        report = await run_sdi(koha_tenant(url=url), clock(), store=store, outbox=outbox)
    # Saturday 2025-05-31 15:30 back 7 days: copies received 5/24 … 5/30 (2 to 6 days ago).
    assert report.source == "koha" and report.enqueued == 1
    (mail,) = outbox.mails.values()
    titles = [t["title"] for t in mail["context"]["items"]]
    assert titles == ["ジャズ名盤ベスト50", "夏目漱石全集 第1巻"]
    assert mail["to"] == "hanako@example.jp"
