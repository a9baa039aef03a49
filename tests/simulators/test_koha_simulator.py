"""The Koha-like simulator, driven end to end by the Koha adapter over real HTTP.

Every request and every answer on the wire is held against Koha's published definition by
a checking transport, so the simulator answers as Koha's definition says and the adapter
asks only what it allows.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "koha"))
from koha_spec import KohaSpec, SpecCheckingTransport, load_spec_or_skip

from ils_gateway.adapters.base import CancelOutcome
from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.adapters.koha.config import KohaBackendConfig
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    HoldRefused,
    RenewalRefused,
)
from ils_gateway.domain.vocab import HoldStatus, MaterialType, RefusalReason
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import (
    Biblio,
    Branch,
    Item,
    ItemStatus,
    LibraryData,
    Loan,
    Patron,
    PatronCategory,
)

NOW = datetime(2026, 1, 10, 10, 0, tzinfo=TOKYO)


def small_library() -> LibraryData:
    return LibraryData(
        name="テスト市立図書館",
        branches=[Branch("CEN", "中央図書館"), Branch("NIS", "西図書館")],
        biblios=[
            Biblio(1, "吾輩は猫である", "夏目漱石", ItemType.BOOK),
            Biblio(2, "ぐりとぐら", "中川李枝子", ItemType.PICTURE_BOOK),
            Biblio(3, "坊っちゃん", "夏目漱石", ItemType.BOOK),
        ],
        items=[
            Item(101, "1000101", 1, "CEN", "CEN", "913.6/ナ", ItemStatus.CHECKED_OUT),
            Item(102, "1000102", 2, "CEN", "CEN", "E/ナ"),
            Item(103, "1000103", 3, "NIS", "NIS", "913.6/ナ", ItemStatus.CHECKED_OUT),
        ],
        patrons=[
            Patron(
                1,
                "0000000001",
                "pass1234",
                "山田 花子",
                "ヤマダ ハナコ",
                PatronCategory.ADULT,
                "CEN",
                date(1980, 4, 1),
                date(2028, 3, 31),
                date(2026, 1, 3),
                email="hanako@example.jp",
            ),
            Patron(
                2,
                "0000000002",
                "pass5678",
                "佐藤 一郎",
                "サトウ イチロウ",
                PatronCategory.ADULT,
                "NIS",
                date(1975, 6, 1),
                date(2028, 3, 31),
                date(2026, 1, 3),
            ),
        ],
        loans=[
            Loan(1, 101, 1, "CEN", datetime(2026, 1, 3, 11, 0, tzinfo=TOKYO), date(2026, 1, 17)),
            Loan(2, 103, 2, "NIS", datetime(2026, 1, 4, 11, 0, tzinfo=TOKYO), date(2026, 1, 18)),
        ],
    )


@pytest.fixture
def koha_spec() -> KohaSpec:
    return load_spec_or_skip()


@pytest.fixture
async def koha_url() -> AsyncIterator[tuple[str, SimulatedLibrary]]:
    library = SimulatedLibrary(small_library(), ManualClock(NOW))
    runner = web.AppRunner(create_koha_app(library, basic=("staff", "staffpw")))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", library
    await runner.cleanup()


def config(url: str, **extra: object) -> KohaBackendConfig:
    return KohaBackendConfig(
        kind="koha",
        base_url=url,
        client_id="koha-demo-gateway",
        client_secret="koha-demo-secret",
        retry_backoff=0,
        **extra,
    )


async def backend_for(
    url: str, spec: KohaSpec, **extra: object
) -> tuple[KohaBackend, SpecCheckingTransport]:
    transport = SpecCheckingTransport(
        spec, allow_newer=bool(extra.get("cancellation_request_flow"))
    )
    koha = KohaBackend(config(url, **extra), transport=transport, today=lambda: NOW.date())
    return koha, transport


async def test_loans_and_renewals_end_to_end(
    koha_url: tuple[str, SimulatedLibrary], koha_spec: KohaSpec
) -> None:
    url, _ = koha_url
    koha, transport = await backend_for(url, koha_spec)
    try:
        with pytest.raises(AuthenticationFailed):
            await koha.authenticate("0000000001", "wrong")
        patron = await koha.authenticate("0000000001", "pass1234")
        assert patron.name == "山田 花子" and patron.loans_count == 1
        (loan,) = await koha.list_loans(patron)
        assert loan.item.id == "1000101" and loan.due_date == date(2026, 1, 17)
        assert loan.renewable and loan.item.material_type is MaterialType.BOOK
        assert loan.item.title == "吾輩は猫である" and loan.item.author == "夏目漱石"
        result = await koha.renew(patron, "1000101")
        assert result.ok and result.new_due_date is not None
        assert result.new_due_date > date(2026, 1, 17)
        assert result.loan is not None and not result.loan.renewable
        with pytest.raises(RenewalRefused) as info:
            await koha.renew(patron, "1000101")
        assert info.value.reason is RefusalReason.RENEWAL_LIMIT
        assert info.value.backend_message
    finally:
        await koha.close()
    assert transport.exchanges > 8


async def test_holds_end_to_end(
    koha_url: tuple[str, SimulatedLibrary], koha_spec: KohaSpec
) -> None:
    url, _ = koha_url
    koha, _ = await backend_for(url, koha_spec)
    try:
        patron = await koha.authenticate("0000000001", "pass1234")
        assert {lib.code for lib in await koha.list_pickup_libraries()} == {"CEN", "NIS"}
        hold = await koha.place_hold(patron, "1000103", "CEN")
        assert hold.status is HoldStatus.WAITING and hold.item.id == "biblio:3"
        assert hold.item.title == "坊っちゃん"
        with pytest.raises(HoldRefused) as info:
            await koha.place_hold(patron, "1000103", "CEN")
        assert info.value.reason is RefusalReason.DUPLICATE_HOLD
        with pytest.raises(HoldRefused):
            await koha.place_hold(patron, "1000101", "CEN")  # borrowing it now
        moved = await koha.change_hold(patron, hold.id, pickup_library="NIS")
        assert moved.pickup_library == "NIS"
        suspended = await koha.suspend_hold(patron, hold.id, date(2026, 2, 1))
        assert suspended.status is HoldStatus.SUSPENDED
        assert (await koha.resume_hold(patron, hold.id)).status is HoldStatus.WAITING
        assert [lib.code for lib in await koha.hold_pickup_libraries(patron, hold.id)]
        assert await koha.cancel_hold(patron, hold.id) is CancelOutcome.CANCELLED
        assert await koha.list_holds(patron) == []
        item = await koha.get_item("1000102")
        assert item.material_type is MaterialType.PICTURE_BOOK
    finally:
        await koha.close()


async def test_ready_hold_cancel(
    koha_url: tuple[str, SimulatedLibrary], koha_spec: KohaSpec
) -> None:
    """Koha cancels even a waiting hold (Holds.pm ``delete``); newer Koha, asked for the
    cancellation-request flow, files a request for staff instead (202)."""
    url, library = koha_url
    koha, _ = await backend_for(url, koha_spec)
    newer, _ = await backend_for(url, koha_spec, cancellation_request_flow=True)
    try:
        patron = await koha.authenticate("0000000001", "pass1234")
        hold = await koha.place_hold(patron, "1000102", "CEN")
        assert hold.status is HoldStatus.WAITING  # Koha: found only once checked in
        library.checkin("1000102", "CEN")  # staff pull the copy from the shelf
        (waiting,) = await newer.list_holds(patron)
        assert waiting.status is HoldStatus.READY and not waiting.cancellation_requested
        outcome = await newer.cancel_hold(patron, hold.id)
        assert outcome is CancelOutcome.CANCELLATION_REQUESTED
        (listed,) = await newer.list_holds(patron)
        assert "cancellation requested" in (listed.backend_status or "")
        assert listed.cancellation_requested and listed.status.is_active
        assert await koha.cancel_hold(patron, hold.id) is CancelOutcome.CANCELLED
        assert await koha.list_holds(patron) == []
    finally:
        await koha.close()
        await newer.close()


async def test_wrong_client_credentials(
    koha_url: tuple[str, SimulatedLibrary], koha_spec: KohaSpec
) -> None:
    url, _ = koha_url
    transport = SpecCheckingTransport(koha_spec)
    bad = KohaBackendConfig(kind="koha", base_url=url, client_id="x", client_secret="y")
    koha = KohaBackend(bad, transport=transport)
    try:
        with pytest.raises(BackendUnavailable):
            await koha.authenticate("0000000001", "pass1234")
    finally:
        await koha.close()


async def test_basic_auth(koha_url: tuple[str, SimulatedLibrary], koha_spec: KohaSpec) -> None:
    url, _ = koha_url
    cfg = KohaBackendConfig(
        kind="koha", base_url=url, auth="basic", username="staff", password="staffpw"
    )
    koha = KohaBackend(cfg, transport=SpecCheckingTransport(koha_spec))
    try:
        assert (await koha.authenticate("0000000002", "pass5678")).id == "2"
    finally:
        await koha.close()


async def test_item_lookup_says_where_the_copy_is(
    koha_url: tuple[str, SimulatedLibrary], koha_spec: KohaSpec
) -> None:
    """A lent copy is not "available": the simulator sends checked_out_date as Koha does, and
    a copy set aside for a hold reads as such (Koha's item says nothing; its hold does)."""
    url, library = koha_url
    koha, transport = await backend_for(url, koha_spec)
    try:
        assert (await koha.get_item("1000101")).circulation_status == "checked_out"
        assert (await koha.get_item("1000103")).circulation_status == "checked_out"
        assert (await koha.get_item("1000102")).circulation_status == "available"
        patron = await koha.authenticate("0000000002", "pass5678")
        await koha.place_hold(patron, "1000102", "CEN")
        assert (await koha.get_item("1000102")).circulation_status == "available"
        library.checkin("1000102", "CEN")  # staff trap the copy for the hold
        assert (await koha.get_item("1000102")).circulation_status == "on_hold_shelf"
    finally:
        await koha.close()
    assert transport.exchanges > 5
