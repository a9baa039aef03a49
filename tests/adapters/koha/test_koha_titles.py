"""Titles on Koha loans and holds: one record read per distinct title, bounded, cached."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from koha_fake import Answer, FakeClock, FakeKoha, oauth_config

from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.domain.models import Patron

PATRON = Patron(id="7", card_number="1000000001", name="山田 花子")
TITLES = {11: "吾輩は猫である", 12: "ぐりとぐら", 13: "坊っちゃん", 14: "こころ", 15: "門"}


def checkout(checkout_id: int, item_id: int) -> dict[str, object]:
    return {
        "checkout_id": checkout_id,
        "patron_id": 7,
        "item_id": item_id,
        "due_date": "2026-01-20T23:59:00+09:00",
    }


def item(item_id: int, biblio_id: int) -> dict[str, object]:
    return {"item_id": item_id, "biblio_id": biblio_id, "external_id": f"30{item_id}"}


def serve_loans(fake_koha: FakeKoha, biblio_of_item: dict[int, int]) -> None:
    rows = [checkout(500 + i, i) for i in biblio_of_item]
    fake_koha.on("GET", "/checkouts", Answer(json=rows))
    for item_id, biblio_id in biblio_of_item.items():
        fake_koha.on("GET", f"/items/{item_id}", Answer(json=item(item_id, biblio_id)))
        fake_koha.on(
            "GET",
            f"/checkouts/{500 + item_id}/allows_renewal",
            Answer(json={"allows_renewal": True, "max_renewals": 2, "error": None}),
        )


def serve_biblios(fake_koha: FakeKoha) -> dict[int, object]:
    return {
        biblio_id: fake_koha.on(
            "GET",
            f"/biblios/{biblio_id}",
            Answer(json={"biblio_id": biblio_id, "title": title, "author": "夏目漱石"}),
        )
        for biblio_id, title in TITLES.items()
    }


@pytest.fixture
async def backend(fake_koha: FakeKoha, clock: FakeClock) -> AsyncIterator[KohaBackend]:
    fake_koha.token()
    koha = KohaBackend(oauth_config(), clock=clock, today=lambda: date(2026, 1, 10), title_ttl=600)
    yield koha
    await koha.close()


async def test_one_record_read_per_distinct_title(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    serve_loans(fake_koha, {101: 11, 102: 11, 103: 12, 104: 11})
    routes = serve_biblios(fake_koha)
    loans = await backend.list_loans(PATRON)
    assert sorted(loan.item.title for loan in loans) == ["ぐりとぐら"] + ["吾輩は猫である"] * 3
    assert routes[11].call_count == 1 and routes[12].call_count == 1  # type: ignore[attr-defined]
    request = routes[11].calls.last.request  # type: ignore[attr-defined]
    assert request.headers["accept"] == "application/json"


async def test_titles_are_cached_until_their_ttl(
    fake_koha: FakeKoha, backend: KohaBackend, clock: FakeClock
) -> None:
    serve_loans(fake_koha, {101: 11})
    routes = serve_biblios(fake_koha)
    await backend.list_loans(PATRON)
    clock.now += 599
    await backend.list_loans(PATRON)
    assert routes[11].call_count == 1  # type: ignore[attr-defined]
    clock.now += 2
    await backend.list_loans(PATRON)
    assert routes[11].call_count == 2  # type: ignore[attr-defined]


async def test_deleted_record_leaves_the_loan_without_a_title(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    serve_loans(fake_koha, {101: 19})
    fake_koha.on("GET", "/biblios/19", Answer(404, {"error": "Bibliographic record not found"}))
    (loan,) = await backend.list_loans(PATRON)
    assert loan.item.id == "30101" and loan.item.title == ""


async def test_title_level_holds_carry_the_title(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    rows = [
        {"hold_id": 30 + b, "patron_id": 7, "biblio_id": b, "priority": 1, "item_level": False}
        for b in (13, 14, 13)
    ]
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=rows))
    routes = serve_biblios(fake_koha)
    holds = await backend.list_holds(PATRON)
    assert [h.item.title for h in holds] == ["坊っちゃん", "こころ", "坊っちゃん"]
    assert routes[13].call_count == 1  # type: ignore[attr-defined]


async def test_record_reads_are_bounded(fake_koha: FakeKoha, clock: FakeClock) -> None:
    """Five distinct titles, two reads at a time: never more than two in flight."""
    fake_koha.token()
    serve_loans(fake_koha, {100 + b: b for b in TITLES})
    in_flight = 0
    most = 0
    release = asyncio.Event()

    async def record(request: httpx.Request, biblio_id: str) -> httpx.Response:
        nonlocal in_flight, most
        fake_koha.spec.check_request("GET", str(request.url), dict(request.headers), b"")
        in_flight += 1
        most = max(most, in_flight)
        if most == 2:
            release.set()
        await release.wait()  # hold each read open until the bound has been reached
        in_flight -= 1
        body = {"biblio_id": int(biblio_id), "title": TITLES[int(biblio_id)]}
        fake_koha.spec.check_response("GET", str(request.url), 200, json.dumps(body).encode())
        return httpx.Response(200, json=body)

    fake_koha.router.route(method="GET", path__regex=r"/api/v1/biblios/(?P<biblio_id>\d+)$").mock(
        side_effect=record
    )
    koha = KohaBackend(oauth_config(), clock=clock, title_concurrency=2)
    try:
        loans = await koha.list_loans(PATRON)
    finally:
        await koha.close()
    assert most == 2
    assert sorted(loan.item.title for loan in loans) == sorted(TITLES.values())
