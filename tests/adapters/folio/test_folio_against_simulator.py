"""FolioBackend end to end against the FOLIO simulator over real HTTP on 127.0.0.1.

The simulator is the sample library's FOLIO face (``ils_gateway.simulators.folio``); after
every test, every body the adapter sent and every answer the simulator gave is held against
FOLIO's own schemas (``folio_sim_traffic``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from folio_fake import folio_config
from folio_sim_traffic import schema_violations

from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.domain.errors import AuthenticationFailed, HoldRefused, NotFound, RenewalRefused
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, HoldStatus, RefusalReason
from ils_gateway.simulators.folio import FOLIO_STATE, FolioState
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.folio_records import folio_id
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library

HANAKO, KEN, ICHIRO = DEMO_PATRONS[0], DEMO_PATRONS[1], DEMO_PATRONS[2]
MAKOTO = DEMO_PATRONS[4]
TENANT, USER, PASSWORD = "midori", "ils-gateway", "folio-demo-pass"


@dataclass
class Sim:
    library: SimulatedLibrary
    state: FolioState
    url: str
    backend: Callable[..., FolioBackend]


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[Sim]:
    """The simulator on a free port, and a factory of backends for it (closed afterwards)."""
    marker = request.node.get_closest_marker("folio_sim")
    options: Mapping[str, Any] = marker.kwargs if marker else {}
    library = sample_library()
    runner, url = await start_folio_simulator(
        library,
        port=0,
        tenant=TENANT,
        username=USER,
        password=PASSWORD,
        token_clock=library.now,
        **options,
    )
    backends: list[FolioBackend] = []

    def backend(**overrides: Any) -> FolioBackend:
        values = {"okapi_url": url, "tenant": TENANT, "username": USER, "password": PASSWORD}
        config = folio_config(**(values | overrides))
        made = FolioBackend(config, now=library.now)
        backends.append(made)
        return made

    state = runner.app[FOLIO_STATE]
    try:
        yield Sim(library, state, url, backend)
    finally:
        for b in backends:
            await b.close()
        await runner.cleanup()
    assert schema_violations(state.traffic) == []


async def _login(sim: Sim, who: Any = HANAKO, **overrides: Any) -> tuple[FolioBackend, Patron]:
    backend = sim.backend(**overrides)
    return backend, await backend.authenticate(who.card_number, who.password)


def _title_id(sim: Sim, barcode: str) -> str:
    return "instance:" + folio_id("instance", sim.library.item_info(barcode).biblio_id)


def _waiting_barcode(sim: Sim, card: str) -> str:
    """A copy of a title ``card`` may hold, all copies on loan (the hold stays waiting)."""
    from ils_gateway.contract.embedded import holdable_waiting_item

    barcode = holdable_waiting_item(sim.library, card)
    assert barcode is not None
    return barcode


# -- patrons and blocks -------------------------------------------------------------------------


async def test_login_checks_the_pin(sim: Sim) -> None:
    backend, patron = await _login(sim)
    assert patron.id == folio_id("user", sim.library.patron_info(HANAKO.card_number).patron_id)
    assert patron.name == "山田 花子" and patron.blocks == ()
    with pytest.raises(AuthenticationFailed):
        await backend.authenticate(HANAKO.card_number, "wrong")
    with pytest.raises(AuthenticationFailed):
        await backend.authenticate("0000000000", "x")


@pytest.mark.parametrize(
    ("who", "blocks"),
    [
        (KEN, {BlockReason.ADMINISTRATIVE, BlockReason.OVERDUE_ITEMS}),  # manual + 25 days overdue
        (MAKOTO, {BlockReason.OVERDUE_ITEMS}),  # automated only
        (ICHIRO, {BlockReason.CARD_EXPIRED}),
    ],
    ids=["manual", "automated", "expired"],
)
async def test_blocks_come_from_manual_and_automated_blocks(
    sim: Sim, who: Any, blocks: set[BlockReason]
) -> None:
    backend, patron = await _login(sim, who)
    assert set(patron.blocks) == blocks
    assert set((await backend.patron_summary(patron)).blocks) == blocks


async def test_summary_counts_match_the_library(sim: Sim) -> None:
    backend, patron = await _login(sim)
    summary = await backend.patron_summary(patron)
    info = sim.library.patron_info(HANAKO.card_number)
    assert summary.loans_count == len(info.charged_items)
    open_requests = [
        h for h in sim.library.holds(HANAKO.card_number) if h.state.value != "suggested"
    ]
    assert summary.holds_count == len(open_requests)
    assert summary.holds_ready_count == len(info.hold_items)


# -- loans --------------------------------------------------------------------------------------


async def test_loans_and_renewals_by_id_and_by_barcode(sim: Sim) -> None:
    backend, patron = await _login(sim)
    loans = await backend.list_loans(patron)
    expected = sim.library.loans(HANAKO.card_number)
    assert len(loans) == len(expected) > 0  # more than FOLIO's default page of 10 would hide
    renewable = next(v for v in expected if v.renewable)
    by_id = folio_id("item", renewable.item_id)
    result = await backend.renew(patron, by_id)
    assert result.ok and result.loan is not None and result.loan.renewals_used == 1
    refused = next(v for v in expected if not v.renewable)
    with pytest.raises(RenewalRefused) as caught:
        await backend.renew(patron, refused.barcode)
    assert caught.value.backend_message


# -- holds ----------------------------------------------------------------------------------------


async def test_title_level_hold_place_list_cancel(sim: Sim) -> None:
    backend, patron = await _login(sim)
    barcode = _waiting_barcode(sim, HANAKO.card_number)
    title = _title_id(sim, barcode)
    hold = await backend.place_hold(patron, title, "KITA")
    assert hold.title_level and hold.item.id == title and hold.status is HoldStatus.WAITING
    assert hold.pickup_library == "KITA"
    listed = {h.id: h for h in await backend.list_holds(patron)}
    assert hold.id in listed and listed[hold.id].item.id == title
    placed = [h for h in sim.library.holds(HANAKO.card_number) if not h.item_level]
    assert any(folio_id("request", h.hold_id) == hold.id for h in placed)
    await backend.cancel_hold(patron, hold.id)
    assert hold.id not in {h.id for h in await backend.list_holds(patron)}
    cancelled = sim.library.hold_by_id(
        next(h.id for h in sim.library.data.holds if folio_id("request", h.id) == hold.id)
    )
    assert cancelled.state is HoldState.CANCELLED


async def test_hold_by_item_barcode_is_a_title_request_for_its_instance(sim: Sim) -> None:
    backend, patron = await _login(sim)
    barcode = _waiting_barcode(sim, HANAKO.card_number)
    hold = await backend.place_hold(patron, barcode, "CEN")
    assert hold.title_level and hold.item.id == _title_id(sim, barcode)


async def test_item_level_hold_requests_that_copy(sim: Sim) -> None:
    backend, patron = await _login(sim, request_level="Item")
    barcode = _waiting_barcode(sim, HANAKO.card_number)
    item_id = folio_id("item", sim.library.item_info(barcode).item_id)
    hold = await backend.place_hold(patron, item_id, "CEN")
    assert not hold.title_level and hold.item.id == item_id
    mine = [h for h in sim.library.holds(HANAKO.card_number) if h.item_level]
    assert [h.barcode for h in mine] == [barcode]
    sent = [
        x for x in sim.state.traffic if x.route == "/circulation/requests" and x.method == "POST"
    ]
    assert sent[-1].body["requestType"] == "Hold" and sent[-1].status == 201


@pytest.mark.folio_sim(tlr_enabled=False)
async def test_without_title_level_requests_folio_picks_a_copy(sim: Sim) -> None:
    backend, patron = await _login(sim)
    barcode = _waiting_barcode(sim, HANAKO.card_number)
    hold = await backend.place_hold(patron, _title_id(sim, barcode), "CEN")
    assert not hold.title_level  # FOLIO made an item-level request on one of the copies


async def test_duplicate_hold_is_refused_in_folio_words(sim: Sim) -> None:
    backend, patron = await _login(sim)
    title = _title_id(sim, _waiting_barcode(sim, HANAKO.card_number))
    await backend.place_hold(patron, title, "CEN")
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, title, "CEN")
    assert caught.value.reason is RefusalReason.DUPLICATE_HOLD


async def test_blocked_patron_cannot_request(sim: Sim) -> None:
    backend, patron = await _login(sim, MAKOTO)
    title = _title_id(sim, _waiting_barcode(sim, MAKOTO.card_number))
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, title, "CEN")
    assert caught.value.reason is RefusalReason.PATRON_BLOCKED


# -- pickup points ------------------------------------------------------------------------------


async def test_pickup_libraries_are_the_pickup_service_points(sim: Sim) -> None:
    backend = sim.backend()
    codes = [lib.code for lib in await backend.list_pickup_libraries()]
    assert codes == [p.code for p in sim.library.pickup_locations()]


@pytest.mark.folio_sim(allowed_service_points={"Hold": frozenset({"CEN", "EKI"})})
async def test_pickup_outside_the_request_policy_is_refused_and_nothing_is_placed(
    sim: Sim,
) -> None:
    backend, patron = await _login(sim)
    before = len(sim.library.data.holds)
    title = _title_id(sim, _waiting_barcode(sim, HANAKO.card_number))
    with pytest.raises(HoldRefused) as caught:
        await backend.place_hold(patron, title, "KITA")  # a pickup point, not this policy's
    assert caught.value.reason is RefusalReason.INVALID_PICKUP_LIBRARY
    assert len(sim.library.data.holds) == before
    assert not any(x.method == "POST" for x in sim.state.traffic if "requests" in x.route)
    hold = await backend.place_hold(patron, title, "EKI")
    with pytest.raises(HoldRefused):
        await backend.change_hold(patron, hold.id, pickup_library="MINAMI")
    moved = await backend.change_hold(patron, hold.id, pickup_library="CEN")
    assert moved.pickup_library == "CEN"


async def test_change_pickup_of_a_waiting_hold(sim: Sim) -> None:
    backend, patron = await _login(sim)
    hold = await backend.place_hold(
        patron, _title_id(sim, _waiting_barcode(sim, HANAKO.card_number)), "CEN"
    )
    moved = await backend.change_hold(patron, hold.id, pickup_library="MINAMI")
    assert moved.pickup_library == "MINAMI"
    ready = next(h for h in await backend.list_holds(patron) if h.status is HoldStatus.READY)
    with pytest.raises(HoldRefused):
        await backend.change_hold(patron, ready.id, pickup_library="KITA")


# -- items --------------------------------------------------------------------------------------


async def test_items_by_barcode_by_id_and_titles(sim: Sim) -> None:
    backend = sim.backend()
    barcode = _waiting_barcode(sim, HANAKO.card_number)
    info = sim.library.item_info(barcode)
    by_barcode = await backend.get_item(barcode)
    by_id = await backend.get_item(folio_id("item", info.item_id))
    assert by_barcode.id == barcode and by_id.id == folio_id("item", info.item_id)
    assert by_barcode.model_copy(update={"id": by_id.id}) == by_id and by_id.title == info.title
    assert by_id.circulation_status == "Checked out"
    title = await backend.get_item(_title_id(sim, barcode))
    assert title.title == info.title
    with pytest.raises(NotFound):
        await backend.get_item("0000000000")


# -- the gateway's own login -----------------------------------------------------------------


async def test_wrong_gateway_password_is_unavailable(sim: Sim) -> None:
    from ils_gateway.domain.errors import BackendUnavailable

    backend = sim.backend(password="not-it")
    with pytest.raises(BackendUnavailable):
        await backend.list_pickup_libraries()


async def test_legacy_login_works_too(sim: Sim) -> None:
    backend = sim.backend(login_path="/authn/login")
    assert await backend.list_pickup_libraries()


# -- faults -------------------------------------------------------------------------------------


async def test_injected_faults_are_folio_s_500s(sim: Sim) -> None:
    from ils_gateway.domain.errors import BackendUnavailable, OutcomeUnknown
    from ils_gateway.simulators.library import Operation

    backend, patron = await _login(sim, read_attempts=2)
    title = _title_id(sim, _waiting_barcode(sim, HANAKO.card_number))
    sim.library.faults.failure_rate.update({Operation.LOANS: 1.0, Operation.PLACE_HOLD: 1.0})
    with pytest.raises(BackendUnavailable):
        await backend.list_loans(patron)
    with pytest.raises(OutcomeUnknown):  # a write that failed inside FOLIO is never resent
        await backend.place_hold(patron, title, "CEN")
    posts = [x for x in sim.state.traffic if x.route == "/circulation/requests/instances"]
    assert [(x.status, x.answer) for x in posts] == [(500, "Internal server error")]


# -- password (the patron PIN; issue 16) --------------------------------------------------------


async def test_the_pin_is_changed_after_the_old_one_is_checked(sim: Sim) -> None:
    from ils_gateway.domain.errors import PasswordRejected

    backend, patron = await _login(sim)
    with pytest.raises(PasswordRejected):
        await backend.change_password(patron, "not-the-pin", "new-pin-2025")
    assert sim.library.authenticate(HANAKO.card_number, HANAKO.password).ok
    await backend.change_password(patron, HANAKO.password, "new-pin-2025")
    sent = [x for x in sim.state.traffic if x.route == "/patron-pin"]
    assert [(x.method, x.status) for x in sent] == [("POST", 201)]
    assert sent[0].body == {"id": patron.id, "pin": "new-pin-2025"}
    assert (await backend.authenticate(HANAKO.card_number, "new-pin-2025")).id == patron.id
    with pytest.raises(AuthenticationFailed):
        await backend.authenticate(HANAKO.card_number, HANAKO.password)


async def test_a_folio_that_checks_no_pin_cannot_change_one(sim: Sim) -> None:
    from ils_gateway.adapters.base import Capability

    assert sim.backend().capabilities.supports(Capability.CHANGE_PASSWORD)
    assert not sim.backend(verify_patron_pin=False).capabilities.supports(
        Capability.CHANGE_PASSWORD
    )
