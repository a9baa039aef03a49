"""Gaps closed after integration, over TCP against the simulator: title-level holds cancelled
and moved by the id the list gives them, card expiry and temporary password from the 64, and
renew-all (65) for an ACS without 29."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sip2_acs_recording import LOGIN_PASSWORD, LOGIN_USER, backend_config

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import Outcome, RefusalReason
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.sip2_acs import SimulatedACS, Sip2Quirks, start_sip2_simulator
from ils_gateway.sip2.fields import SupportedMessages
from ils_gateway.sip2.server import SIP2Server

HANAKO = ("1000000001", "hanako01")
MISAKI = ("1000000004", "4825170396")  # on a temporary password
ICHIRO = ("1000000003", "ichiro03")  # card expired 2025-04-01


async def _simulator(
    library: SimulatedLibrary, **options: object
) -> tuple[SIP2Server, SimulatedACS]:
    return await start_sip2_simulator(library, logins={LOGIN_USER: LOGIN_PASSWORD}, **options)


@pytest.fixture
async def wire(library: SimulatedLibrary, quirks: Sip2Quirks) -> AsyncIterator[SIP2Server]:
    server, _ = await _simulator(library, quirks=quirks)
    yield server
    await server.aclose()


async def _backend(server: SIP2Server, library: SimulatedLibrary, **extra: object) -> Sip2Backend:
    adapter = Sip2Backend(backend_config(server.port, **extra), today=library.today)
    await adapter.start()
    return adapter


# --- 1. every waiting hold can be cancelled and moved ----------------------------------------


async def test_title_level_holds_are_listed_by_record_id(
    wire: SIP2Server, library: SimulatedLibrary
) -> None:
    adapter = await _backend(wire, library)
    try:
        patron = await adapter.authenticate(*HANAKO)
        holds = {h.id: h for h in await adapter.list_holds(patron)}
    finally:
        await adapter.close()
    no_copy = [v for v in library.holds(HANAKO[0]) if v.barcode is None]
    assert len(no_copy) >= 2
    for view in no_copy:
        hold = holds[f"title:{view.biblio_id}"]
        assert hold.title_level and hold.item.title == view.title


def _not_found_yet(library: SimulatedLibrary) -> dict[str, int]:
    """Adapter hold id -> hold id of every hold the house rules let the patron cancel or move
    (copies already set aside and purchase suggestions are refused by rule, not by the wire)."""
    return {
        v.barcode or f"title:{v.biblio_id}": v.hold_id
        for v in library.holds(HANAKO[0])
        if v.state in library.rules.cancellable_states
    }


@pytest.mark.parametrize("action", ["cancel", "change"])
async def test_every_waiting_hold_can_be_cancelled_or_moved_over_the_wire(
    wire: SIP2Server, library: SimulatedLibrary, action: str
) -> None:
    waiting = _not_found_yet(library)
    assert sum(i.startswith("title:") for i in waiting) >= 2
    adapter = await _backend(wire, library)
    try:
        patron = await adapter.authenticate(*HANAKO)
        listed = {h.id for h in await adapter.list_holds(patron)}
        assert set(waiting) <= listed
        for hold_id in waiting:
            if action == "cancel":
                await adapter.cancel_hold(patron, hold_id)
            else:
                moved = await adapter.change_hold(patron, hold_id, pickup_library="MINAMI")
                assert moved.id == hold_id
    finally:
        await adapter.close()
    after = {v.hold_id: v for v in library.holds(HANAKO[0], include_closed=True)}
    for hold_id in waiting.values():
        if action == "cancel":
            assert after[hold_id].state is HoldState.CANCELLED
        else:
            assert after[hold_id].pickup == "MINAMI"


async def test_a_title_only_acs_still_lists_title_holds_by_title(
    library: SimulatedLibrary,
) -> None:
    server, _ = await _simulator(library, title_hold_entries="title")
    adapter = await _backend(server, library, title_hold_entries="title")
    try:
        patron = await adapter.authenticate(*HANAKO)
        ids = {h.id for h in await adapter.list_holds(patron)}
    finally:
        await adapter.close()
        await server.aclose()
    for view in library.holds(HANAKO[0]):
        if view.barcode is None:
            assert f"title:{view.title}" in ids


# --- 2. card expiry and temporary password ---------------------------------------------------


async def test_card_expiry_read_from_the_tenants_expiry_field(
    wire: SIP2Server, library: SimulatedLibrary
) -> None:
    adapter = await _backend(wire, library, expiry_field="PA")
    try:
        hanako = await adapter.authenticate(*HANAKO)
        ichiro = await adapter.authenticate(*ICHIRO)
        summary = await adapter.patron_summary(Patron(id=HANAKO[0], card_number=HANAKO[0]))
    finally:
        await adapter.close()
    assert hanako.card_expires == date(2027, 3, 31)
    assert ichiro.card_expires == date(2025, 4, 1)
    assert ichiro.card_expired_on(library.today())
    assert summary.card_expires == date(2027, 3, 31)


async def test_card_expiry_in_a_polaris_style_field(library: SimulatedLibrary) -> None:
    server, _ = await _simulator(library, expiry_field="PX")
    adapter = await _backend(server, library, expiry_field="PX")
    try:
        patron = await adapter.authenticate(*HANAKO)
    finally:
        await adapter.close()
        await server.aclose()
    assert patron.card_expires == date(2027, 3, 31)


async def test_no_expiry_field_configured_leaves_expiry_unknown(
    wire: SIP2Server, library: SimulatedLibrary
) -> None:
    adapter = await _backend(wire, library)
    try:
        patron = await adapter.authenticate(*HANAKO)
    finally:
        await adapter.close()
    assert patron.card_expires is None


async def test_temporary_password_from_the_screen_message(
    wire: SIP2Server, library: SimulatedLibrary
) -> None:
    adapter = await _backend(wire, library)
    try:
        misaki = await adapter.authenticate(*MISAKI)
        hanako = await adapter.authenticate(*HANAKO)
    finally:
        await adapter.close()
    assert misaki.temporary_password is True
    assert misaki.block_messages == ()  # the notice is not a block text
    assert hanako.temporary_password is False


async def test_temporary_password_patterns_come_from_the_tenant(library: SimulatedLibrary) -> None:
    server, _ = await _simulator(
        library, temporary_password_message="Temporary PIN: please choose a new one"
    )
    english = await _backend(server, library)
    only_japanese = await _backend(server, library, temporary_password_patterns=["仮パスワード"])
    try:
        assert (await english.authenticate(*MISAKI)).temporary_password is True
        assert (await only_japanese.authenticate(*MISAKI)).temporary_password is False
    finally:
        await english.close()
        await only_japanese.close()
        await server.aclose()


# --- 3. renew all (65) when the ACS lacks 29 ------------------------------------------------


def _without_renew() -> str:
    flags = SupportedMessages.from_bx("Y" * 16)
    return SupportedMessages(
        **{name: getattr(flags, name) for name in SupportedMessages.__slots__} | {"renew": False}
    ).to_bx()


@pytest.fixture
async def renew_all_only(library: SimulatedLibrary) -> AsyncIterator[Sip2Backend]:
    server, _ = await _simulator(library, supported_messages=_without_renew())
    adapter = await _backend(server, library)
    yield adapter
    await adapter.close()
    await server.aclose()


async def test_renew_all_over_65_reports_each_loan(
    renew_all_only: Sip2Backend, library: SimulatedLibrary
) -> None:
    adapter = renew_all_only
    assert not adapter.capabilities.supports(Capability.RENEW)
    assert adapter.capabilities.supports(Capability.RENEW_MANY)
    patron = await adapter.authenticate(*HANAKO)
    before = {v.barcode: v for v in library.loans(HANAKO[0])}
    assert len(before) >= 2

    batch = await adapter.renew_many(patron, list(before))

    after = {v.barcode: v for v in library.loans(HANAKO[0])}
    by_item = {r.item_id: r for r in batch.results}
    assert set(by_item) == set(before)
    renewed = {b for b, r in by_item.items() if r.outcome is Outcome.OK}
    refused = {b for b, r in by_item.items() if r.outcome is Outcome.REFUSED}
    assert renewed and refused  # the sample patron has both kinds
    for barcode in renewed:
        assert after[barcode].renewals == before[barcode].renewals + 1
    for barcode in refused:
        assert after[barcode].renewals == before[barcode].renewals
        assert by_item[barcode].reason is not RefusalReason.UNKNOWN
        assert by_item[barcode].backend_message


async def test_renew_all_refuses_a_subset_before_sending_anything(
    renew_all_only: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await renew_all_only.authenticate(*HANAKO)
    before = {v.barcode: v.renewals for v in library.loans(HANAKO[0])}
    with pytest.raises(FeatureDisabled):
        await renew_all_only.renew_many(patron, list(before)[:1])
    assert {v.barcode: v.renewals for v in library.loans(HANAKO[0])} == before
