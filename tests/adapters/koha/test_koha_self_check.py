"""Self-check through Koha's REST API: ``GET /checkouts/availability`` then ``POST
/checkouts`` (no confirmation token: a machine has no staff to confirm), against the Koha
simulator over HTTP, and the answers a real Koha could send that the simulator does not
(the respx fake, which holds every request and answer against Koha's definition). Koha's
REST API has no check-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from aiohttp import web
from koha_fake import Answer, FakeKoha, oauth_config
from koha_spec import KohaSpec

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.adapters.koha.config import KohaBackendConfig
from ils_gateway.domain.errors import (
    BackendProtocolError,
    FeatureDisabled,
    NotFound,
    OutcomeUnknown,
    Refused,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import RefusalReason
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.records import ItemStatus
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library

HANAKO, KEN, ICHIRO = DEMO_PATRONS[0], DEMO_PATRONS[1], DEMO_PATRONS[2]


@dataclass
class Sim:
    library: SimulatedLibrary
    url: str
    koha: KohaBackend


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    library = sample_library()
    runner = web.AppRunner(create_koha_app(library, basic=("staff", "staffpw")))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    config = KohaBackendConfig(
        kind="koha", base_url=url, auth="basic", username="staff", password="staffpw",
        retry_backoff=0,
    )  # fmt: skip
    koha = KohaBackend(config, today=library.today)
    try:
        yield Sim(library, url, koha)
    finally:
        await koha.close()
        await runner.cleanup()


def _copy(library: SimulatedLibrary, status: ItemStatus, *, not_for_loan: bool = False) -> str:
    return next(
        i.barcode
        for i in library.data.items
        if i.status is status
        and i.not_for_loan is not_for_loan
        and library.item_info(i.barcode).hold_queue_length == 0
    )


async def test_a_checkout_is_the_patrons_new_loan(sim: Sim) -> None:
    patron = await sim.koha.authenticate(HANAKO.card_number, HANAKO.password)
    barcode = _copy(sim.library, ItemStatus.AVAILABLE)
    loan = await sim.koha.checkout(patron, barcode)
    assert loan.item.id == barcode and loan.item.title == sim.library.item_info(barcode).title
    assert loan.due_date > sim.library.today()
    assert barcode in {ln.barcode for ln in sim.library.loans(HANAKO.card_number)}
    assert barcode in {ln.item.id for ln in await sim.koha.list_loans(patron)}


@pytest.mark.parametrize(
    ("who", "pick", "reason", "words"),
    [
        (ICHIRO, "shelf", RefusalReason.CARD_EXPIRED, "Checkout not authorized (EXPIRED)"),
        (KEN, "shelf", RefusalReason.PATRON_BLOCKED, "Checkout not authorized (DEBARRED)"),
        (
            HANAKO,
            "reference",
            RefusalReason.NON_CIRCULATING,
            "Checkout not authorized (NOT_FOR_LOAN)",
        ),
        (HANAKO, "lost", RefusalReason.NON_CIRCULATING, "Checkout needs confirmation (ITEM_LOST)"),
        (
            HANAKO,
            "lent",
            RefusalReason.UNKNOWN,
            "Checkout needs confirmation (ISSUED_TO_ANOTHER)",
        ),
        (
            HANAKO,
            "held",
            RefusalReason.HAS_HOLDS,
            "Checkout needs confirmation (RESERVE_WAITING)",
        ),
        (
            HANAKO,
            "own",
            RefusalReason.ALREADY_ON_LOAN,
            "Checkout needs confirmation (RENEW_ISSUE)",
        ),
    ],
    ids=["expired", "debarred", "not-for-loan", "lost", "on-loan", "held", "already-hers"],
)
async def test_blockers_and_confirmations_are_refusals_in_kohas_codes(
    sim: Sim, who: Any, pick: str, reason: RefusalReason, words: str
) -> None:
    library = sim.library
    me = library.patron_info(who.card_number).patron_id
    barcode = {
        "shelf": lambda: _copy(library, ItemStatus.AVAILABLE),
        "reference": lambda: _copy(library, ItemStatus.AVAILABLE, not_for_loan=True),
        "lost": lambda: next(i.barcode for i in library.data.items if i.status is ItemStatus.LOST),
        "lent": lambda: next(
            ln.barcode for p in library.data.patrons if p.id != me
            for ln in library.loans(p.card_number)
        ),
        "held": lambda: next(
            i.barcode
            for i in library.data.items
            if i.status is ItemStatus.HOLD_SHELF
            and all(h.patron_id != me for h in library.data.holds if h.item_id == i.id)
        ),
        "own": lambda: library.loans(who.card_number)[0].barcode,
    }[pick]()  # fmt: skip
    patron = await sim.koha.find_patron(who.card_number)
    loans_before = len(library.loans(who.card_number))
    with pytest.raises(Refused) as refused:
        await sim.koha.checkout(patron, barcode)
    assert refused.value.reason is reason
    assert refused.value.backend_message == words
    assert len(library.loans(who.card_number)) == loans_before


async def test_an_unknown_barcode_is_not_found(sim: Sim) -> None:
    patron = await sim.koha.authenticate(HANAKO.card_number, HANAKO.password)
    with pytest.raises(NotFound):
        await sim.koha.checkout(patron, "9999999999")


async def test_checkin_is_refused_with_the_reason_and_nothing_sent(sim: Sim) -> None:
    assert not sim.koha.capabilities.supports(Capability.CHECKIN)
    with pytest.raises(FeatureDisabled) as off:
        await sim.koha.checkin(_copy(sim.library, ItemStatus.CHECKED_OUT))
    assert off.value.detail == (
        "Koha's REST API has no check-in; connect check-in machines to Koha's SIP server"
    )


# -- the simulator holds Koha's contract ------------------------------------------------------


async def _koha(sim: Sim, spec: KohaSpec, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One call to the simulator; every answer but Mojolicious's own 400 (a request the
    definition refuses) is held against Koha's definition of that route."""
    async with httpx.AsyncClient(base_url=sim.url, auth=("staff", "staffpw")) as client:
        answer = await client.request(method, "/api/v1" + path, **kwargs)
    if answer.status_code != 400:
        spec.check_response(method, str(answer.url), answer.status_code, answer.content)
    return answer


async def test_the_simulator_validates_the_checkout_body(sim: Sim, koha_spec: KohaSpec) -> None:
    stranger = await _koha(
        sim, koha_spec, "POST", "/checkouts", json={"patron_id": 1, "barcode": "x"}
    )
    assert stranger.status_code == 400
    assert stranger.json()["errors"] == [
        {"message": "Properties not allowed: barcode.", "path": "/body"}
    ]
    typed = await _koha(sim, koha_spec, "POST", "/checkouts", json={"patron_id": "1", "item_id": 1})
    assert typed.status_code == 400 and typed.json()["errors"][0]["path"] == "/body/patron_id"
    no_item = await _koha(
        sim, koha_spec, "POST", "/checkouts", json={"patron_id": 1, "item_id": 99999}
    )
    assert no_item.status_code == 409
    assert no_item.json() == {"error": "Item not found", "error_code": "ITEM_NOT_FOUND"}
    item = sim.library.item_info(_copy(sim.library, ItemStatus.AVAILABLE)).item_id
    no_patron = await _koha(
        sim, koha_spec, "POST", "/checkouts", json={"patron_id": 99999, "item_id": item}
    )
    assert no_patron.status_code == 409 and no_patron.json()["error_code"] == "PATRON_NOT_FOUND"
    broken = await _koha(sim, koha_spec, "GET", "/checkouts/availability", params={"item_id": item})
    assert broken.status_code == 500  # Koha dies on the missing patron


async def test_the_simulator_asks_for_confirmation_and_checks_the_token(
    sim: Sim, koha_spec: KohaSpec
) -> None:
    """A confirmation without the token is 412; the token from availability is accepted (the
    simulated library then cannot force the loan: Koha's own 500 for a failed AddIssue)."""
    library = sim.library
    hanako = library.patron_info(HANAKO.card_number).patron_id
    barcode = next(
        ln.barcode for p in library.data.patrons if p.id != hanako
        for ln in library.loans(p.card_number)
    )  # fmt: skip
    item = library.item_info(barcode).item_id
    body = {"patron_id": hanako, "item_id": item}
    verdict = await _koha(sim, koha_spec, "GET", "/checkouts/availability", params=body)
    assert verdict.status_code == 200
    answer = verdict.json()
    assert answer["blockers"] == {} and answer["confirms"]["ISSUED_TO_ANOTHER"] == 1
    asked = await _koha(sim, koha_spec, "POST", "/checkouts", json=body)
    assert asked.status_code == 412 and asked.json() == {"error": "Confirmation error"}
    forged = await _koha(
        sim, koha_spec, "POST", "/checkouts", json=body, params={"confirmation": "x"}
    )
    assert forged.status_code == 412
    confirmed = await _koha(
        sim,
        koha_spec,
        "POST",
        "/checkouts",
        json=body,
        params={"confirmation": answer["confirmation_token"]},
    )
    assert confirmed.status_code == 500


async def test_the_simulator_lends_with_a_location(sim: Sim, koha_spec: KohaSpec) -> None:
    hanako = sim.library.patron_info(HANAKO.card_number).patron_id
    item = sim.library.item_info(_copy(sim.library, ItemStatus.AVAILABLE)).item_id
    made = await _koha(
        sim, koha_spec, "POST", "/checkouts", json={"patron_id": hanako, "item_id": item}
    )
    assert made.status_code == 201
    checkout = made.json()
    assert checkout["patron_id"] == hanako and checkout["item_id"] == item
    assert made.headers["Location"] == f"/api/v1/checkouts/{checkout['checkout_id']}"


# -- answers a real Koha could send (the fake) -----------------------------------------------

TODAY = date(2026, 1, 10)
PATRON = Patron(id="7", card_number="1000000001", name="山田 花子")
ITEM = {
    "item_id": 101,
    "biblio_id": 11,
    "external_id": "3010001",
    "home_library_id": "CEN",
    "holding_library_id": "CEN",
    "item_type_id": "BK",
    "effective_item_type_id": "BK",
}
CLEAR = {"blockers": {}, "confirms": {}, "warnings": {}, "confirmation_token": "t"}


def _checkout(**extra: Any) -> dict[str, Any]:
    return {
        "checkout_id": 501,
        "patron_id": 7,
        "item_id": 101,
        "due_date": "2026-01-24T23:59:00+09:00",
        "checkout_date": "2026-01-10T10:00:00+09:00",
        "library_id": "CEN",
        "renewals_count": 0,
        "auto_renew": False,
        "onsite_checkout": False,
        **extra,
    }


@pytest.fixture
async def lending(fake_koha: FakeKoha) -> AsyncIterator[KohaBackend]:
    fake_koha.token()
    fake_koha.on("GET", "/items", Answer(json=[ITEM]))
    fake_koha.on("GET", "/items/101", Answer(json=ITEM))
    fake_koha.on("GET", "/biblios/11", Answer(json={"biblio_id": 11, "title": "吾輩は猫である"}))
    fake_koha.on("GET", "/checkouts/availability", Answer(json=CLEAR))
    koha = KohaBackend(oauth_config(), today=lambda: TODAY)
    yield koha
    await koha.close()


async def test_the_checkout_sent_is_patron_and_item_without_a_token(
    fake_koha: FakeKoha, lending: KohaBackend
) -> None:
    made = fake_koha.on("POST", "/checkouts", Answer(201, json=_checkout()))
    loan = await lending.checkout(PATRON, "3010001")
    assert loan.id == "501" and loan.item.id == "3010001"
    request = made.calls.last.request
    assert request.read() == b'{"patron_id":7,"item_id":101}'
    assert "confirmation" not in request.url.params
    asked = next(r for r in fake_koha.seen if r.url.path.endswith("/availability"))
    assert dict(asked.url.params) == {"patron_id": "7", "item_id": "101"}


@pytest.mark.parametrize(
    ("status", "body", "reason", "words"),
    [
        (412, {"error": "Confirmation error"}, RefusalReason.UNKNOWN, "Confirmation error"),
        (
            403,
            {"error": "Checkout not authorized (TOO_MANY)"},
            RefusalReason.LOAN_LIMIT,
            "Checkout not authorized (TOO_MANY)",
        ),
    ],
    ids=["confirmation-appeared", "blocker-appeared"],
)
async def test_a_refusal_after_a_clear_availability_is_still_a_refusal(
    fake_koha: FakeKoha,
    lending: KohaBackend,
    status: int,
    body: dict[str, Any],
    reason: RefusalReason,
    words: str,
) -> None:
    fake_koha.on("POST", "/checkouts", Answer(status, json=body))
    with pytest.raises(Refused) as refused:
        await lending.checkout(PATRON, "3010001")
    assert refused.value.reason is reason and refused.value.backend_message == words


async def test_an_item_gone_meanwhile_is_not_found(
    fake_koha: FakeKoha, lending: KohaBackend
) -> None:
    fake_koha.on(
        "POST",
        "/checkouts",
        Answer(409, json={"error": "Item not found", "error_code": "ITEM_NOT_FOUND"}),
    )
    with pytest.raises(NotFound):
        await lending.checkout(PATRON, "3010001")


@pytest.mark.parametrize(
    "answer", [_checkout(patron_id=8), _checkout(item_id=102)], ids=["patron", "item"]
)
async def test_a_checkout_of_another_patron_or_copy_is_not_used(
    fake_koha: FakeKoha, lending: KohaBackend, answer: dict[str, Any]
) -> None:
    fake_koha.on("POST", "/checkouts", Answer(201, json=answer))
    with pytest.raises(BackendProtocolError):
        await lending.checkout(PATRON, "3010001")


async def test_a_checkout_that_times_out_is_an_unknown_outcome(
    fake_koha: FakeKoha, lending: KohaBackend
) -> None:
    fake_koha.on("POST", "/checkouts", Answer(raises=httpx.ReadTimeout("slow")))
    with pytest.raises(OutcomeUnknown):
        await lending.checkout(PATRON, "3010001")
