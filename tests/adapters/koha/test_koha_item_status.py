"""Item lookup over a fake Koha: the circulation status says where the copy is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from koha_fake import Answer, FakeKoha, oauth_config

from ils_gateway.adapters.koha.backend import KohaBackend

BARCODE = "3010001"


def item_row(**extra: Any) -> dict[str, Any]:
    return {"item_id": 101, "biblio_id": 11, "external_id": BARCODE, **extra}


def hold_row(status: str | None) -> dict[str, Any]:
    return {"hold_id": 31, "patron_id": 8, "biblio_id": 11, "item_id": "101", "status": status}


@pytest.fixture
async def backend(fake_koha: FakeKoha) -> AsyncIterator[KohaBackend]:
    fake_koha.token()
    fake_koha.on("GET", "/biblios/11", Answer(json={"biblio_id": 11, "title": "吾輩は猫である"}))
    koha = KohaBackend(oauth_config(), today=lambda: date(2026, 1, 10))
    yield koha
    await koha.close()


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"checked_out_date": "2026-01-03"}, "checked_out"),
        ({"checked_out_date": "2026-01-03", "lost_status": 1}, "lost"),
        ({"withdrawn": 1, "checked_out_date": "2026-01-03"}, "withdrawn"),
        ({"not_for_loan_status": 2}, "not_for_loan"),
    ],
)
async def test_what_the_item_itself_says(
    fake_koha: FakeKoha, backend: KohaBackend, fields: dict[str, Any], status: str
) -> None:
    fake_koha.on("GET", "/items", Answer(json=[item_row(**fields)]))
    holds = fake_koha.on("GET", "/holds", Answer(json=[]))
    assert (await backend.get_item(BARCODE)).circulation_status == status
    assert not holds.called  # no hold can have a copy that is out, lost or not lent


@pytest.mark.parametrize(
    ("hold_status", "status"),
    [
        ("W", "on_hold_shelf"),
        ("T", "in_transit"),
        ("P", "in_process"),
        (None, "available"),  # an item-level hold still waiting for this copy to come back
    ],
)
async def test_a_copy_set_aside_for_a_hold(
    fake_koha: FakeKoha, backend: KohaBackend, hold_status: str | None, status: str
) -> None:
    fake_koha.on("GET", "/items", Answer(json=[item_row(not_for_loan_status=0)]))
    holds = fake_koha.on("GET", "/holds", Answer(json=[hold_row(hold_status)]))
    assert (await backend.get_item(BARCODE)).circulation_status == status
    assert holds.calls.last.request.url.params["item_id"] == "101"


async def test_a_damaged_copy_on_the_shelf(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/items", Answer(json=[item_row(damaged_status=1)]))
    fake_koha.on("GET", "/holds", Answer(json=[]))
    assert (await backend.get_item(BARCODE)).circulation_status == "damaged"


async def test_an_open_transfer_where_koha_embeds_it(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    transfer = {"from_library_id": "CEN", "to_library_id": "NIS"}
    fake_koha.on("GET", "/items", Answer(json=[item_row(transfer=transfer)]))
    fake_koha.on("GET", "/holds", Answer(json=[]))
    assert (await backend.get_item(BARCODE)).circulation_status == "in_transit"
