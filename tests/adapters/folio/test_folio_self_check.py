"""Self-check through FOLIO: ``check-out-by-barcode`` and ``check-in-by-barcode``, end to end
against the FOLIO simulator (real HTTP on 127.0.0.1; every body and answer held against
mod-circulation's schemas afterwards), and the answers a real FOLIO could send that the
simulator never does (respx: ``folio`` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from folio_fake import OKAPI, PATRON_CARD, PATRON_ID, FakeFolio, folio_config
from folio_sim_traffic import schema_violations

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.adapters.resilience.backend import ResilientBackend
from ils_gateway.domain.errors import (
    BackendProtocolError,
    FeatureDisabled,
    NotFound,
    OutcomeUnknown,
    Refused,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import RefusalReason
from ils_gateway.simulators.folio import FOLIO_STATE, FolioState
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.folio_records import folio_id
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.records import ItemStatus
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library

HANAKO, KEN, ICHIRO = DEMO_PATRONS[0], DEMO_PATRONS[1], DEMO_PATRONS[2]
TENANT, USER, PASSWORD = "midori", "ils-gateway", "folio-demo-pass"
CENTRAL = folio_id("service-point", "CEN")


@dataclass
class Sim:
    library: SimulatedLibrary
    state: FolioState
    url: str
    backend: Callable[..., FolioBackend]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    library = sample_library()
    runner, url = await start_folio_simulator(
        library, port=0, tenant=TENANT, username=USER, password=PASSWORD, token_clock=library.now
    )
    made: list[FolioBackend] = []

    def backend(**overrides: Any) -> FolioBackend:
        values = {
            "okapi_url": url,
            "tenant": TENANT,
            "username": USER,
            "password": PASSWORD,
            "service_point_id": CENTRAL,
        }
        b = FolioBackend(folio_config(**(values | overrides)), now=library.now)
        made.append(b)
        return b

    state = runner.app[FOLIO_STATE]
    try:
        yield Sim(library, state, url, backend)
    finally:
        for b in made:
            await b.close()
        await runner.cleanup()
    assert schema_violations(state.traffic) == []


async def _login(sim: Sim, who: Any = HANAKO) -> tuple[FolioBackend, Patron]:
    backend = sim.backend()
    return backend, await backend.authenticate(who.card_number, who.password)


def _shelf_copy(library: SimulatedLibrary, *, not_for_loan: bool = False) -> str:
    return next(
        i.barcode
        for i in library.data.items
        if i.status is ItemStatus.AVAILABLE
        and i.not_for_loan is not_for_loan
        and library.item_info(i.barcode).hold_queue_length == 0
    )


def _copy_with_status(library: SimulatedLibrary, status: ItemStatus) -> str:
    return next(i.barcode for i in library.data.items if i.status is status)


def _folio_words(sim: Sim) -> list[str]:
    """FOLIO's messages in the 422s it sent."""
    return [
        e["message"]
        for x in sim.state.traffic
        if x.status == 422 and isinstance(x.answer, dict)
        for e in x.answer["errors"]
    ]


# -- check-out -------------------------------------------------------------------------------


async def test_a_checkout_is_the_patrons_new_loan_with_the_barcode(sim: Sim) -> None:
    backend, patron = await _login(sim)
    barcode = _shelf_copy(sim.library)
    loan = await backend.checkout(patron, barcode)
    item = sim.library.item_info(barcode)
    assert loan.item.barcode == barcode and loan.item.id == folio_id("item", item.item_id)
    assert loan.item.title == item.title and loan.loan_branch == "CEN"
    assert loan.due_date > sim.library.today()
    assert barcode in {ln.barcode for ln in sim.library.loans(HANAKO.card_number)}
    sent = [x.body for x in sim.state.traffic if x.route == "/circulation/check-out-by-barcode"]
    assert sent == [
        {"itemBarcode": barcode, "userBarcode": HANAKO.card_number, "servicePointId": CENTRAL}
    ]
    # The loan list names the copy by UUID and carries the barcode a machine scans.
    listed = {ln.item.barcode: ln for ln in await backend.list_loans(patron)}
    assert listed[barcode].id == loan.id


async def test_a_checkout_by_item_uuid_sends_its_barcode(sim: Sim) -> None:
    backend, patron = await _login(sim)
    barcode = _shelf_copy(sim.library)
    uuid = folio_id("item", sim.library.item_info(barcode).item_id)
    loan = await backend.checkout(patron, uuid)
    assert loan.item.barcode == barcode


async def test_checkin_returns_the_copy_available(sim: Sim) -> None:
    backend, patron = await _login(sim)
    barcode = _shelf_copy(sim.library)
    await backend.checkout(patron, barcode)
    item = await backend.checkin(barcode)
    assert item.barcode == barcode and item.circulation_status == "Available"
    assert item.title == sim.library.item_info(barcode).title
    assert barcode not in {ln.barcode for ln in sim.library.loans(HANAKO.card_number)}
    sent = next(x.body for x in sim.state.traffic if x.route == "/circulation/check-in-by-barcode")
    assert sent["itemBarcode"] == barcode and sent["servicePointId"] == CENTRAL
    assert sent["checkInDate"].endswith("Z")
    answer = next(
        x.answer for x in sim.state.traffic if x.route == "/circulation/check-in-by-barcode"
    )
    assert answer["loan"]["status"]["name"] == "Closed"


@pytest.mark.parametrize(
    ("here", "status", "state"),
    [
        (True, "Awaiting pickup", HoldState.AWAITING_PICKUP),
        (False, "In transit", HoldState.TRANSIT),
    ],
    ids=["picked-up-here", "picked-up-elsewhere"],
)
async def test_a_copy_a_patron_waits_for_goes_to_the_hold(
    sim: Sim, here: bool, status: str, state: HoldState
) -> None:
    """The only request on a title, all copies out: checked in at the central library, its
    copy waits on the hold shelf there, or travels to the request's pickup service point."""
    library = sim.library
    pending = [h for h in library.data.holds if h.state is HoldState.PENDING]
    hold = next(
        h
        for h in pending
        if (h.pickup == "CEN") is here
        and not h.item_level
        and not h.suspended
        and [o.biblio_id for o in pending].count(h.biblio_id) == 1
        and library.item_info(
            next(i.barcode for i in library.data.items if i.biblio_id == h.biblio_id)
        ).status
        == ItemStatus.CHECKED_OUT.value
    )
    barcode = next(i.barcode for i in library.data.items if i.biblio_id == hold.biblio_id)
    item = await sim.backend().checkin(barcode)
    assert item.barcode == barcode and item.circulation_status == status
    assert library.hold_by_id(hold.id).state is state
    answer = next(
        x.answer for x in sim.state.traffic if x.route == "/circulation/check-in-by-barcode"
    )
    destination = answer["item"].get("inTransitDestinationServicePointId")
    assert destination == (None if here else folio_id("service-point", hold.pickup))


async def test_a_copy_not_on_loan_is_checked_in_without_a_loan(sim: Sim) -> None:
    backend = sim.backend()
    barcode = _shelf_copy(sim.library)
    item = await backend.checkin(barcode)
    assert item.barcode == barcode
    answer = next(
        x.answer for x in sim.state.traffic if x.route == "/circulation/check-in-by-barcode"
    )
    assert "loan" not in answer


@pytest.mark.parametrize(
    ("who", "pick", "reason", "words"),
    [
        (HANAKO, "lent", RefusalReason.UNKNOWN, "Item is already checked out"),
        (KEN, "shelf", RefusalReason.PATRON_BLOCKED, "Patron blocked from borrowing"),
        (ICHIRO, "shelf", RefusalReason.CARD_EXPIRED, "Cannot check out to inactive user"),
        (HANAKO, "reference", RefusalReason.NON_CIRCULATING, "Item is not loanable"),
        (HANAKO, "lost", RefusalReason.NON_CIRCULATING, "and cannot be checked out"),
        (HANAKO, "on_hold_shelf", RefusalReason.HAS_HOLDS, "requested by another patron"),
    ],
    ids=["checked-out", "blocked", "inactive", "not-loanable", "item-status", "requested"],
)
async def test_folio_refusals_in_folio_words(
    sim: Sim, who: Any, pick: str, reason: RefusalReason, words: str
) -> None:
    library = sim.library
    barcode = {
        "lent": lambda: _copy_with_status(library, ItemStatus.CHECKED_OUT),
        "shelf": lambda: _shelf_copy(library),
        "reference": lambda: _shelf_copy(library, not_for_loan=True),
        "lost": lambda: _copy_with_status(library, ItemStatus.LOST),
        "on_hold_shelf": lambda: next(
            library.item_info(i.barcode).barcode
            for i in library.data.items
            if i.status is ItemStatus.HOLD_SHELF
            and all(
                h.patron_id != library.patron_info(who.card_number).patron_id
                for h in library.data.holds
                if h.item_id == i.id
            )
        ),
    }[pick]()
    backend = sim.backend()
    # An inactive user cannot log in with a PIN check alone: look the patron up.
    patron = await backend.find_patron(who.card_number)
    loans_before = len(library.loans(who.card_number))
    with pytest.raises(Refused) as refused:
        await backend.checkout(patron, barcode)
    assert refused.value.reason is reason
    assert words in (refused.value.backend_message or "")
    assert any(words in m for m in _folio_words(sim))
    assert len(library.loans(who.card_number)) == loans_before


async def test_an_unknown_barcode_is_not_found_both_ways(sim: Sim) -> None:
    backend, patron = await _login(sim)
    with pytest.raises(NotFound):
        await backend.checkout(patron, "9999999999")
    with pytest.raises(NotFound):
        await backend.checkin("9999999999")
    assert _folio_words(sim) == [
        "No item with barcode 9999999999 could be found",
        "No item with barcode 9999999999 exists",
    ]


async def test_a_title_is_never_lent_or_returned(sim: Sim) -> None:
    backend, patron = await _login(sim)
    title = "instance:" + folio_id("instance", 1)
    with pytest.raises(NotFound):
        await backend.checkout(patron, title)
    with pytest.raises(NotFound):
        await backend.checkin(title)


async def test_without_a_service_point_there_is_no_self_check(sim: Sim) -> None:
    backend = sim.backend(service_point_id=None)
    patron = await backend.authenticate(HANAKO.card_number, HANAKO.password)
    assert not backend.capabilities.supports(Capability.CHECKOUT)
    assert not backend.capabilities.supports(Capability.CHECKIN)
    with pytest.raises(FeatureDisabled) as off:
        await backend.checkout(patron, _shelf_copy(sim.library))
    assert "service_point_id" in (off.value.operator_detail or "")
    with pytest.raises(FeatureDisabled):
        await backend.checkin(_shelf_copy(sim.library))
    assert not [x for x in sim.state.traffic if "check-" in x.route]


def test_the_service_point_must_be_a_uuid() -> None:
    with pytest.raises(ValueError, match="service_point_id"):
        folio_config(service_point_id="CEN")


# -- the simulator holds FOLIO's contract -----------------------------------------------------


async def _post(sim: Sim, path: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        login = await client.post(
            "/authn/login",
            json={"username": USER, "password": PASSWORD},
            headers={"X-Okapi-Tenant": TENANT},
        )
        token = login.headers["x-okapi-token"]
        return await client.post(
            path, json=body, headers={"X-Okapi-Tenant": TENANT, "X-Okapi-Token": token}
        )


@pytest.mark.parametrize(
    ("path", "body", "message", "parameter"),
    [
        (
            "/circulation/check-out-by-barcode",
            {"itemBarcode": "1", "userBarcode": HANAKO.card_number},
            "Check out must be performed at a service point",
            ("servicePointId", "null"),
        ),
        (
            "/circulation/check-out-by-barcode",
            {"userBarcode": HANAKO.card_number, "servicePointId": CENTRAL},
            "Cannot check out item when item barcode is not provided",
            ("itemBarcode", "null"),
        ),
        (
            "/circulation/check-out-by-barcode",
            {"itemBarcode": "1", "userBarcode": "0", "servicePointId": CENTRAL},
            "Could not find user with matching barcode",
            ("userBarcode", "0"),
        ),
        (
            "/circulation/check-in-by-barcode",
            {"itemBarcode": "1", "servicePointId": CENTRAL},
            "Checkin request must have an check in date",
            ("checkInDate", "null"),
        ),
        (
            "/circulation/check-in-by-barcode",
            {
                "itemBarcode": "1",
                "servicePointId": CENTRAL,
                "checkInDate": "2025-06-02T01:00:00.000Z",
                "userBarcode": HANAKO.card_number,
            },
            'Unrecognized field "userBarcode"',
            ("userBarcode", f'"{HANAKO.card_number}"'),
        ),
    ],
    ids=["no-service-point", "no-item", "no-user", "no-date", "unknown-member"],
)
async def test_the_simulator_refuses_bad_bodies_as_folio_does(
    sim: Sim, path: str, body: dict[str, Any], message: str, parameter: tuple[str, str]
) -> None:
    answer = await _post(sim, path, body)
    assert answer.status_code == 422
    error = answer.json()["errors"][0]
    assert error["message"] == message
    assert error["parameters"] == [{"key": parameter[0], "value": parameter[1]}]
    sim.state.traffic.clear()  # the bodies break the schemas on purpose


# -- answers a real FOLIO could send (respx) --------------------------------------------------


@pytest.fixture
async def lending(folio: FakeFolio) -> AsyncIterator[FolioBackend]:
    b = FolioBackend(folio_config(service_point_id=CENTRAL))
    yield b
    await b.close()


def _loan_answer(barcode: str, user_id: str = PATRON_ID) -> dict[str, Any]:
    return {
        "id": "6b2a4e4e-2c1d-4b61-9b8f-0a0e3b0d0c01",
        "userId": user_id,
        "itemId": "0b96a642-5e7f-452d-9cae-9cee66c9a892",
        "item": {"title": "こころ", "barcode": barcode},
        "loanDate": "2025-06-02T01:00:00.000Z",
        "dueDate": "2025-06-16T14:59:59.000Z",
        "status": {"name": "Open"},
    }


PATRON = Patron(id=PATRON_ID, card_number=PATRON_CARD, name="x")


@pytest.mark.parametrize(
    "answer",
    [_loan_answer("OTHER-COPY"), _loan_answer("B1", "0a1b2c3d-0000-4000-8000-000000000000")],
    ids=["another-copy", "another-patron"],
)
async def test_a_loan_of_another_copy_or_patron_is_not_used(
    folio: FakeFolio, lending: FolioBackend, answer: dict[str, Any]
) -> None:
    folio.router.post(f"{OKAPI}/circulation/check-out-by-barcode").respond(201, json=answer)
    with pytest.raises(BackendProtocolError):
        await lending.checkout(PATRON, "B1")


async def test_a_checkin_answer_about_another_copy_is_not_used(
    folio: FakeFolio, lending: FolioBackend
) -> None:
    folio.router.post(f"{OKAPI}/circulation/check-in-by-barcode").respond(
        200, json={"item": {"id": "0b96a642-5e7f-452d-9cae-9cee66c9a892", "barcode": "B2"}}
    )
    with pytest.raises(BackendProtocolError):
        await lending.checkin("B1")


async def test_a_checkout_that_times_out_is_an_unknown_outcome(
    folio: FakeFolio, lending: FolioBackend
) -> None:
    folio.router.post(f"{OKAPI}/circulation/check-out-by-barcode").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(OutcomeUnknown):
        await lending.checkout(PATRON, "B1")


# -- a write whose answer is lost is read back, never sent twice -----------------------------


class _AnswerLost(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator, but the answer to ``path`` never arrives (a read timeout
    after sending); ``deliver=False``: the request is lost on the way too."""

    def __init__(self, path: str, *, deliver: bool) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._path, self._deliver = path, deliver
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != self._path:
            return await self._inner.handle_async_request(request)
        self.sent += 1
        if self._deliver:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            await response.aclose()
        raise httpx.ReadTimeout("the answer was lost", request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _resilient(sim: Sim, transport: httpx.AsyncBaseTransport) -> ResilientBackend:
    config = folio_config(
        okapi_url=sim.url,
        tenant=TENANT,
        username=USER,
        password=PASSWORD,
        service_point_id=CENTRAL,
    )
    inner = FolioBackend(config, transport=transport, now=sim.library.now)
    return ResilientBackend(inner, tenant_id="midori", sleep=_no_sleep)


async def _no_sleep(seconds: float) -> None:
    return None


async def test_a_checkout_whose_answer_is_lost_is_found_by_its_barcode(sim: Sim) -> None:
    """The loan is read back (listed by item UUID, found by the barcode asked) and returned;
    nothing is sent again."""
    lost = _AnswerLost("/circulation/check-out-by-barcode", deliver=True)
    backend = _resilient(sim, lost)
    try:
        patron = await backend.authenticate(HANAKO.card_number, HANAKO.password)
        barcode = _shelf_copy(sim.library)
        loan = await backend.checkout(patron, barcode)
    finally:
        await backend.close()
    assert loan.item.barcode == barcode
    assert lost.sent == 1 and backend.metrics["readback_happened"] == 1
    lent = [ln for ln in sim.library.loans(HANAKO.card_number) if ln.barcode == barcode]
    assert len(lent) == 1


async def test_a_checkout_lost_on_the_way_is_not_sent_again_at_once(sim: Sim) -> None:
    """Read back: no loan. A request that timed out may still land, so the outcome stays
    unknown (the patron tries again later) rather than a second check-out being sent."""
    lost = _AnswerLost("/circulation/check-out-by-barcode", deliver=False)
    backend = _resilient(sim, lost)
    try:
        patron = await backend.authenticate(HANAKO.card_number, HANAKO.password)
        barcode = _shelf_copy(sim.library)
        with pytest.raises(OutcomeUnknown):
            await backend.checkout(patron, barcode)
    finally:
        await backend.close()
    assert lost.sent == 1 and backend.metrics["readback_not_happened"] == 1
    assert barcode not in {ln.barcode for ln in sim.library.loans(HANAKO.card_number)}


async def test_a_checkin_whose_answer_is_lost_is_read_back_by_the_items_status(
    sim: Sim,
) -> None:
    """No patron to read: the copy was checked out before and is not now, so it happened."""
    barcode = _copy_with_status(sim.library, ItemStatus.CHECKED_OUT)
    lost = _AnswerLost("/circulation/check-in-by-barcode", deliver=True)
    backend = _resilient(sim, lost)
    try:
        item = await backend.checkin(barcode)
    finally:
        await backend.close()
    assert item.barcode == barcode and item.circulation_status != "Checked out"
    assert lost.sent == 1 and backend.metrics["readback_happened"] == 1


async def test_a_checkin_lost_on_the_way_stays_unknown_and_is_not_resent_at_once(
    sim: Sim,
) -> None:
    barcode = _copy_with_status(sim.library, ItemStatus.CHECKED_OUT)
    lost = _AnswerLost("/circulation/check-in-by-barcode", deliver=False)
    backend = _resilient(sim, lost)
    try:
        with pytest.raises(OutcomeUnknown):
            await backend.checkin(barcode)
    finally:
        await backend.close()
    assert lost.sent == 1 and backend.metrics["readback_not_happened"] == 1
    assert sim.library.item_info(barcode).status == ItemStatus.CHECKED_OUT.value
