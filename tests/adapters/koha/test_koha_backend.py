"""KohaBackend over a fake Koha: every operation, its mapping, and its refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from koha_fake import Answer, FakeKoha, oauth_config

from ils_gateway.adapters.base import CancelOutcome, Capability, ILSBackend, Support
from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    FeatureDisabled,
    HoldRefused,
    NotFound,
    OutcomeUnknown,
    RenewalRefused,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import (
    BlockReason,
    HoldAction,
    HoldStatus,
    LoanState,
    MaterialType,
    Outcome,
    RefusalReason,
)

TODAY = date(2026, 1, 10)
PATRON_ROW = {
    "patron_id": 7,
    "cardnumber": "1000000001",
    "userid": "yamada",
    "surname": "山田",
    "firstname": "花子",
    "library_id": "CEN",
    "category_id": "PT",
    "expiry_date": "2027-03-31",
    "restricted": False,
    "email": "hanako@example.jp",
    "checkouts_count": 1,
    "overdues_count": 0,
}
PATRON = Patron(id="7", card_number="1000000001", name="山田 花子")
BIBLIO_ROW = {"biblio_id": 11, "title": "吾輩は猫である", "subtitle": None, "author": "夏目漱石"}


def serve_biblio(fake_koha: FakeKoha) -> None:
    """Koha's record 11, the one every row here belongs to (titles come from it)."""
    fake_koha.on("GET", "/biblios/11", Answer(json=BIBLIO_ROW))


def item_row(item_id: int = 101, barcode: str = "3010001", **extra: Any) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "biblio_id": 11,
        "external_id": barcode,
        "home_library_id": "CEN",
        "holding_library_id": "CEN",
        "callnumber": "913.6/ナ",
        "item_type_id": "BK",
        "effective_item_type_id": "BK",
        **extra,
    }


def checkout_row(**extra: Any) -> dict[str, Any]:
    return {
        "checkout_id": 501,
        "patron_id": 7,
        "item_id": 101,
        "due_date": "2026-01-20T23:59:00+09:00",
        "checkout_date": "2026-01-06T10:00:00+09:00",
        "library_id": "CEN",
        "renewals_count": 0,
        "auto_renew": False,
        "onsite_checkout": False,
        **extra,
    }


def hold_row(hold_id: int = 31, **extra: Any) -> dict[str, Any]:
    return {
        "hold_id": hold_id,
        "patron_id": 7,
        "biblio_id": 11,
        "pickup_library_id": "CEN",
        "hold_date": "2026-01-05",
        "priority": 2,
        "status": None,
        "suspended": False,
        "suspended_until": None,
        "item_level": False,
        "item_id": None,
        "expiration_date": None,
        **extra,
    }


@pytest.fixture
async def backend(fake_koha: FakeKoha) -> AsyncIterator[KohaBackend]:
    fake_koha.token()
    serve_biblio(fake_koha)
    koha = KohaBackend(oauth_config(), today=lambda: TODAY)
    yield koha
    await koha.close()


def test_is_an_ils_backend_with_truthful_capabilities() -> None:
    koha = KohaBackend(oauth_config())
    assert isinstance(koha, ILSBackend)
    caps = koha.capabilities
    assert caps.of(Capability.RENEW_MANY).support is Support.EMULATED
    assert caps.option(Capability.PLACE_HOLD, "title_level") is True
    assert caps.option(Capability.PLACE_HOLD, "contact_method") is False
    assert caps.supports(Capability.CHANGE_PASSWORD)
    assert caps.supports(Capability.CHECKOUT)
    assert caps.option(Capability.CHECKOUT, "confirmations") is False
    for missing in (Capability.CHECKIN, Capability.HOLD_SEQUENCES):
        assert not caps.supports(missing)


async def test_authenticate_checks_the_password_with_koha(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    lookup = fake_koha.on("GET", "/patrons", Answer(json=[PATRON_ROW]))
    check = fake_koha.on("POST", "/auth/password/validation", Answer(204))
    fake_koha.on("GET", "/checkouts", Answer(json=[checkout_row()]))
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=[]))
    patron = await backend.authenticate("1000000001", "pw-1234")
    assert patron.id == "7" and patron.name == "山田 花子" and patron.loans_count == 1
    assert patron.blocks == ()
    assert lookup.calls.last.request.url.params["_match"] == "exact"
    assert check.calls.last.request.read() == b'{"userid":"yamada","password":"pw-1234"}'


@pytest.mark.parametrize(
    ("rows", "userid"),
    [([PATRON_ROW], "yamada"), ([], "ils-gateway-no-such-patron")],
    ids=["wrong-password", "unknown-card"],
)
async def test_bad_card_or_password_is_one_error_after_the_same_requests(
    fake_koha: FakeKoha, backend: KohaBackend, rows: list[Any], userid: str
) -> None:
    """An unknown card's password is checked too (against a user id no patron has), so both
    cost one lookup and one password check: card numbers cannot be probed by timing."""
    lookup = fake_koha.on("GET", "/patrons", Answer(json=rows))
    check = fake_koha.on(
        "POST", "/auth/password/validation", Answer(400, {"error": "Validation failed"})
    )
    with pytest.raises(AuthenticationFailed) as info:
        await backend.authenticate("1000000001", "nope")
    assert info.value.detail == AuthenticationFailed.title
    assert (lookup.call_count, check.call_count) == (1, 1)
    assert json.loads(check.calls.last.request.read()) == {"userid": userid, "password": "nope"}


async def test_an_unknown_card_is_refused_whatever_the_decoy_check_answers(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/patrons", Answer(json=[]))
    fake_koha.on("POST", "/auth/password/validation", Answer(204))
    with pytest.raises(AuthenticationFailed):
        await backend.authenticate("1000000001", "nope")


async def test_expired_and_restricted_patrons_carry_blocks(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    row = {**PATRON_ROW, "expiry_date": "2025-12-31", "restricted": True}
    fake_koha.on("GET", "/patrons/7", Answer(json=row))
    fake_koha.on("GET", "/checkouts", Answer(json=[]))
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=[hold_row(status="W")]))
    patron = await backend.patron_summary(PATRON)
    assert set(patron.blocks) == {BlockReason.CARD_EXPIRED, BlockReason.ADMINISTRATIVE}
    assert (patron.holds_count, patron.holds_ready_count) == (1, 1)


async def test_list_loans_with_renewability_and_reason(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on(
        "GET",
        "/checkouts",
        Answer(
            json=[
                checkout_row(),
                checkout_row(checkout_id=502, item_id=102, due_date="2026-01-08T23:59:00+09:00"),
            ]
        ),
    )
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    fake_koha.on(
        "GET",
        "/items/102",
        Answer(json=item_row(102, "3010002", item_type_id="MU", effective_item_type_id="MU")),
    )
    fake_koha.on(
        "GET",
        "/checkouts/501/allows_renewal",
        Answer(
            json={
                "allows_renewal": True,
                "max_renewals": 1,
                "current_renewals": 0,
                "unseen_renewals": 0,
                "error": None,
            }
        ),
    )
    fake_koha.on(
        "GET",
        "/checkouts/502/allows_renewal",
        Answer(
            json={
                "allows_renewal": False,
                "max_renewals": 1,
                "current_renewals": 0,
                "unseen_renewals": 0,
                "error": "on_reserve",
            }
        ),
    )
    loans = {loan.id: loan for loan in await backend.list_loans(PATRON)}
    assert loans["501"].renewable and loans["501"].due_date == date(2026, 1, 20)
    assert (
        loans["501"].item.id == "3010001" and loans["501"].item.material_type is MaterialType.BOOK
    )
    late = loans["502"]
    assert late.state is LoanState.OVERDUE and late.days_overdue == 2
    assert not late.renewable and late.refusal_reason is RefusalReason.HAS_HOLDS
    assert late.backend_message == "on_reserve" and late.item.material_type is MaterialType.CD
    assert {loan.item.title for loan in loans.values()} == {"吾輩は猫である"}
    assert late.item.author == "夏目漱石"


async def test_renew_by_barcode(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/checkouts", Answer(json=[checkout_row()]))
    fake_koha.on("GET", "/items", Answer(json=[item_row()]))
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    renewal = fake_koha.on(
        "POST",
        "/checkouts/501/renewal",
        Answer(201, checkout_row(due_date="2026-01-24T23:59:00+09:00", renewals_count=1)),
    )
    fake_koha.on(
        "GET",
        "/checkouts/501/allows_renewal",
        Answer(
            json={
                "allows_renewal": False,
                "max_renewals": 1,
                "current_renewals": 1,
                "unseen_renewals": 0,
                "error": "too_many",
            }
        ),
    )
    result = await backend.renew(PATRON, "3010001")
    assert result.ok and result.new_due_date == date(2026, 1, 24)
    assert result.loan is not None and result.loan.renewals_used == 1
    assert renewal.call_count == 1


async def test_renew_many_reports_per_item(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/checkouts", Answer(json=[checkout_row()]))
    fake_koha.on("GET", "/items", Answer(json=[]))
    fake_koha.on(
        "POST",
        "/checkouts/501/renewal",
        Answer(403, {"error": "Renewal not authorized (too_soon)", "error_code": "too_soon"}),
    )
    batch = await backend.renew_many(PATRON, ["501", "9999999"])
    refused, missing = batch.results
    assert refused.outcome is Outcome.REFUSED and refused.reason is RefusalReason.TOO_EARLY
    assert refused.backend_message == "Renewal not authorized (too_soon)"
    assert missing.outcome is Outcome.ERROR and missing.error_type == "not-found"
    with pytest.raises(RenewalRefused):
        await backend.renew(PATRON, "501")


async def test_list_holds_maps_koha_status_letters(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    rows = [
        hold_row(31),
        hold_row(32, suspended=True, suspended_until="2026-02-01T00:00:00+09:00"),
        hold_row(33, status="T", priority=0, item_level=True, item_id="101"),
        hold_row(34, status="P", priority=0),
        hold_row(
            35, status="W", priority=0, waiting_date="2026-01-09", expiration_date="2026-01-19"
        ),
        hold_row(36, status="W", priority=0, cancellation_requested=True),
    ]
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=rows))
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    holds = {h.id: h for h in await backend.list_holds(PATRON)}
    assert holds["31"].status is HoldStatus.WAITING and holds["31"].queue_position == 2
    assert holds["31"].allowed_actions >= {HoldAction.CANCEL, HoldAction.SUSPEND}
    assert holds["32"].status is HoldStatus.SUSPENDED
    assert holds["32"].suspended_until == date(2026, 2, 1)
    assert HoldAction.RESUME in holds["32"].allowed_actions
    assert holds["33"].status is HoldStatus.IN_TRANSIT and holds["33"].item.id == "3010001"
    assert not holds["33"].title_level and holds["33"].queue_position is None
    assert holds["34"].status is HoldStatus.PREPARING
    assert holds["35"].status is HoldStatus.READY
    assert holds["35"].pickup_deadline == date(2026, 1, 19)
    assert holds["31"].item.id == "biblio:11" and holds["31"].title_level
    assert holds["31"].item.title == holds["33"].item.title == "吾輩は猫である"
    assert HoldAction.CANCEL not in holds["36"].allowed_actions
    assert "cancellation requested" in (holds["36"].backend_status or "")


async def test_place_title_level_hold(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/items", Answer(json=[item_row()]))
    post = fake_koha.on("POST", "/holds", Answer(201, hold_row(40, priority=3)))
    hold = await backend.place_hold(PATRON, "3010001", "NIS")
    assert (
        post.calls.last.request.read()
        == b'{"patron_id":7,"pickup_library_id":"NIS","biblio_id":11}'
    )
    assert hold.id == "40" and hold.status is HoldStatus.WAITING and hold.queue_position == 3


async def test_place_item_level_hold(fake_koha: FakeKoha) -> None:
    fake_koha.token()
    fake_koha.on("GET", "/items", Answer(json=[item_row()]))
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    serve_biblio(fake_koha)
    post = fake_koha.on("POST", "/holds", Answer(201, hold_row(41, item_level=True, item_id="101")))
    with_backend = KohaBackend(oauth_config(hold_level="item"))
    hold = await with_backend.place_hold(PATRON, "3010001", "CEN")
    await with_backend.close()
    assert b'"item_id":101' in post.calls.last.request.read() and not hold.title_level
    assert hold.item.title == "吾輩は猫である"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            Answer(403, {"error": "Hold cannot be placed. Reason: tooManyReserves"}),
            RefusalReason.HOLD_LIMIT,
        ),
        (
            Answer(403, {"error": "Hold cannot be placed. Reason: itemAlreadyOnHold"}),
            RefusalReason.DUPLICATE_HOLD,
        ),
        (
            Answer(403, {"error": "Hold cannot be placed. Reason: ageRestricted"}),
            RefusalReason.AGE_RESTRICTION,
        ),
        (
            Answer(400, {"error": "The supplied pickup location is not valid"}),
            RefusalReason.UNKNOWN,
        ),
    ],
)
async def test_hold_refusals(
    fake_koha: FakeKoha, backend: KohaBackend, answer: Answer, reason: RefusalReason
) -> None:
    fake_koha.on("POST", "/holds", answer)
    with pytest.raises(HoldRefused) as info:
        await backend.place_hold(PATRON, "biblio:11", "CEN")
    assert info.value.reason is reason and info.value.backend_message == answer.json["error"]


async def test_place_hold_timeout_is_outcome_unknown(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    import httpx

    route = fake_koha.on("POST", "/holds", Answer(raises=httpx.ReadTimeout("slow")))
    with pytest.raises(OutcomeUnknown):
        await backend.place_hold(PATRON, "biblio:11", "CEN")
    assert route.call_count == 1


async def test_cancel_hold(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    lookup = fake_koha.on("GET", "/holds", Answer(json=[hold_row(31)]))
    delete = fake_koha.on("DELETE", "/holds/31", Answer(204))
    assert await backend.cancel_hold(PATRON, "31") is CancelOutcome.CANCELLED
    assert lookup.calls.last.request.url.params["patron_id"] == "7"
    assert "x-koha-override" not in delete.calls.last.request.headers


async def test_cancel_someone_elses_hold_is_not_found(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/holds", Answer(json=[]))
    delete = fake_koha.on("DELETE", "/holds/31", Answer(204))
    with pytest.raises(NotFound):
        await backend.cancel_hold(PATRON, "31")
    assert delete.call_count == 0


async def test_cancel_waiting_hold_files_a_cancellation_request(fake_koha: FakeKoha) -> None:
    """Newer Koha (beyond the shipped 23.05 definition) answers 202 for a hold on the shelf."""
    fake_koha.token()
    lookup = fake_koha.on(
        "GET", "/holds", Answer(json=[hold_row(35, status="W", priority=0)]), allow_newer=True
    )
    delete = fake_koha.on("DELETE", "/holds/35", Answer(202), allow_newer=True)
    koha = KohaBackend(oauth_config(cancellation_request_flow=True))
    try:
        assert await koha.cancel_hold(PATRON, "35") is CancelOutcome.CANCELLATION_REQUESTED
    finally:
        await koha.close()
    assert delete.calls.last.request.headers["x-koha-override"] == "cancellation-request-flow"
    assert lookup.calls.last.request.headers["x-koha-embed"] == "cancellation_requested"


async def test_change_pickup_library(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on(
        "GET",
        "/holds",
        Answer(json=[hold_row(31)]),
        Answer(json=[hold_row(31, pickup_library_id="NIS")]),
    )
    put = fake_koha.on(
        "PUT", "/holds/31/pickup_location", Answer(json={"pickup_library_id": "NIS"})
    )
    hold = await backend.change_hold(PATRON, "31", pickup_library="NIS")
    assert hold.pickup_library == "NIS"
    assert put.calls.last.request.read() == b'{"pickup_library_id":"NIS"}'


async def test_change_pickup_of_found_hold_is_refused(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/holds", Answer(json=[hold_row(33, status="T", priority=0)]))
    fake_koha.on(
        "PUT",
        "/holds/33/pickup_location",
        Answer(409, {"error": "Unable to perform action on hold"}),
    )
    with pytest.raises(HoldRefused) as info:
        await backend.change_hold(PATRON, "33", pickup_library="NIS")
    assert info.value.reason is RefusalReason.NOT_MODIFIABLE_IN_STATE


async def test_contact_method_per_hold_is_not_offered(backend: KohaBackend) -> None:
    from ils_gateway.domain.vocab import ContactMethod

    with pytest.raises(FeatureDisabled):
        await backend.change_hold(PATRON, "31", contact_method=ContactMethod.EMAIL)


async def test_suspend_and_resume(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on(
        "GET",
        "/holds",
        Answer(json=[hold_row(31)]),
        Answer(json=[hold_row(31, suspended=True, suspended_until="2026-02-01T00:00:00+09:00")]),
        Answer(json=[hold_row(31, suspended=True)]),
        Answer(json=[hold_row(31)]),
    )
    suspend = fake_koha.on("POST", "/holds/31/suspension", Answer(201, {"end_date": "2026-02-01"}))
    resume = fake_koha.on("DELETE", "/holds/31/suspension", Answer(204))
    hold = await backend.suspend_hold(PATRON, "31", date(2026, 2, 1))
    assert hold.status is HoldStatus.SUSPENDED
    assert suspend.calls.last.request.read() == b'{"end_date":"2026-02-01"}'
    hold = await backend.resume_hold(PATRON, "31")
    assert hold.status is HoldStatus.WAITING and resume.call_count == 1


async def test_suspend_found_hold_is_refused(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/holds", Answer(json=[hold_row(35, status="W", priority=0)]))
    fake_koha.on(
        "POST",
        "/holds/35/suspension",
        Answer(400, {"error": "Found hold cannot be suspended. Status=W"}),
    )
    with pytest.raises(HoldRefused):
        await backend.suspend_hold(PATRON, "35", None)


async def test_pickup_locations(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    libraries = [
        {"library_id": "CEN", "name": "中央図書館", "pickup_location": True},
        {"library_id": "NIS", "name": "西分館", "pickup_location": True},
        {"library_id": "STO", "name": "書庫", "pickup_location": False},
    ]
    fake_koha.on("GET", "/libraries", Answer(json=libraries))
    fake_koha.on("GET", "/holds", Answer(json=[hold_row(31)]))
    fake_koha.on("GET", "/holds/31/pickup_locations", Answer(json=libraries[:1]))
    fake_koha.on("GET", "/items", Answer(json=[item_row()]))
    fake_koha.on("GET", "/items/101/pickup_locations", Answer(json=libraries[1:2]))
    assert [lib.code for lib in await backend.list_pickup_libraries()] == ["CEN", "NIS"]
    assert [lib.code for lib in await backend.hold_pickup_libraries(PATRON, "31")] == ["CEN"]
    assert [lib.name for lib in await backend.item_pickup_libraries(PATRON, "3010001")] == [
        "西分館"
    ]


async def test_get_item(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    fake_koha.on("GET", "/items", Answer(json=[item_row(not_for_loan_status=1)]), Answer(json=[]))
    item = await backend.get_item("3010001")
    assert item.id == "3010001" and item.call_number == "913.6/ナ" and item.reference_only
    with pytest.raises(NotFound):
        await backend.get_item("0000000")


async def test_answer_of_the_wrong_shape_is_a_protocol_error(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=[{"hold_id": "x"}], check=False))
    with pytest.raises(BackendProtocolError):
        await backend.list_holds(PATRON)
