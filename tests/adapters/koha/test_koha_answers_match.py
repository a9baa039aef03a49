"""Issue 12: every Koha answer belongs to its request, lists are read to the end, Koha's
refusal shapes are understood, titles are not looked up as items, summaries match lists.

The fake Koha here filters as real Koha does: *contains* unless ``_match=exact``
(Koha/REST/Plugin/Query.pm) and pages every list, 20 rows unless asked otherwise
(Koha/REST/Plugin/Objects.pm, RESTdefaultPageSize), with ``X-Total-Count`` and ``Link``
(Koha/REST/Plugin/Pagination.pm).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from koha_fake import API, Answer, FakeKoha, oauth_config
from test_koha_backend import (
    BIBLIO_ROW,
    PATRON,
    PATRON_ROW,
    TODAY,
    checkout_row,
    hold_row,
    item_row,
    serve_biblio,
)

from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.domain.errors import (
    BackendProtocolError,
    HoldRefused,
    NotFound,
    RenewalRefused,
)
from ils_gateway.domain.vocab import RefusalReason

DEFAULT_PAGE_SIZE = 20  # RESTdefaultPageSize as Koha installs it
RENEWABLE = {
    "allows_renewal": True,
    "max_renewals": 2,
    "current_renewals": 0,
    "unseen_renewals": 0,
    "error": None,
}


def koha_list(
    rows: list[dict[str, Any]], filters: tuple[str, ...], *, max_page_size: int | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """A Koha list endpoint: ``filters`` match as ``_match`` says (contains by default),
    pages of RESTdefaultPageSize unless ``_per_page`` is given, pagination headers.

    ``max_page_size``: newer Koha with patron disclosure auditing refuses an explicit page
    size above it, -1 included (Koha/REST/Plugin/PatronDisclosure.pm).
    """

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        match = params.get("_match", "contains")
        found = rows
        for name in filters:
            if name not in params:
                continue
            wanted = params[name]

            def keep(row: dict[str, Any], name: str = name, wanted: str = wanted) -> bool:
                value = str(row.get(name))
                if match == "exact":
                    return value == wanted
                if match == "starts_with":
                    return value.startswith(wanted)
                return wanted in value

            found = [r for r in found if keep(r)]
        per_page = int(params.get("_per_page", DEFAULT_PAGE_SIZE))
        page = int(params.get("_page", 1))
        if max_page_size is not None and "_per_page" in params:
            if per_page < 1 or per_page > max_page_size:
                return httpx.Response(
                    400,
                    json={
                        "error": f"Page size must be between 1 and {max_page_size} while "
                        "patron disclosure auditing is enabled",
                        "error_code": "patron_disclosure_page_size_exceeded",
                    },
                )
        total = len(found)
        if per_page == -1:
            shown, pages = found, 1
        else:
            shown = found[(page - 1) * per_page : page * per_page]
            pages = max(-(-total // per_page), 1)
        links = []
        if per_page != -1 and page < pages:
            links.append(
                f'<{API}{request.url.path[7:]}?_page={page + 1}&_per_page={per_page}>; rel="next"'
            )
        links.append(f'<{API}{request.url.path[7:]}?_page=1&_per_page={per_page}>; rel="first"')
        return httpx.Response(
            200,
            json=shown,
            headers=[("X-Total-Count", str(total)), *(("Link", link) for link in links)],
        )

    return answer


def route_list(
    fake_koha: FakeKoha,
    path: str,
    rows: list[dict[str, Any]],
    filters: tuple[str, ...] = (),
    **kwargs: Any,
) -> Any:
    """Serve a Koha list at ``path``, holding requests against the definition as usual."""
    lister = koha_list(rows, filters, **kwargs)
    route = fake_koha.on("GET", path, Answer())

    def effect(request: httpx.Request) -> httpx.Response:
        fake_koha.seen.append(request)
        fake_koha.spec.check_request(
            request.method, str(request.url), dict(request.headers), b"", allow_newer=True
        )
        response = lister(request)
        fake_koha.spec.check_response(
            request.method,
            str(request.url),
            response.status_code,
            response.content,
            allow_newer=True,
        )
        return response

    route.side_effect = effect
    return route


@pytest.fixture
async def backend(fake_koha: FakeKoha) -> AsyncIterator[KohaBackend]:
    fake_koha.token()
    serve_biblio(fake_koha)
    koha = KohaBackend(oauth_config(), today=lambda: TODAY)
    yield koha
    await koha.close()


# Patron 7's own rows and rows of patrons 17 and 70, which "contains 7" also finds.
OTHERS_CHECKOUTS = [
    checkout_row(),
    checkout_row(checkout_id=601, patron_id=17, item_id=201),
    checkout_row(checkout_id=602, patron_id=70, item_id=202, external_id="3010001"),
]


async def test_loans_list_only_the_patrons_own_checkouts(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    checkouts = route_list(fake_koha, "/checkouts", OTHERS_CHECKOUTS, ("patron_id",))
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    fake_koha.on("GET", "/checkouts/501/allows_renewal", Answer(json=RENEWABLE))
    loans = await backend.list_loans(PATRON)
    assert [loan.id for loan in loans] == ["501"]
    assert checkouts.calls.last.request.url.params["_match"] == "exact"


async def test_a_checkout_of_another_patron_is_a_protocol_error(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    """Second line of defence: even if Koha ignores the exact match, nothing is shown."""
    fake_koha.on("GET", "/checkouts", Answer(json=OTHERS_CHECKOUTS))
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    fake_koha.on("GET", "/checkouts/501/allows_renewal", Answer(json=RENEWABLE))
    with pytest.raises(BackendProtocolError):
        await backend.list_loans(PATRON)


async def test_renew_never_renews_another_patrons_loan(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    """Patron 70's checkout 602 of barcode 3010001 came back for patron 7: no renewal."""
    fake_koha.on("GET", "/checkouts", Answer(json=OTHERS_CHECKOUTS[1:]))
    fake_koha.on("GET", "/items", Answer(json=[item_row()]))
    renewal = fake_koha.on("POST", "/checkouts/602/renewal", Answer(201, OTHERS_CHECKOUTS[2]))
    with pytest.raises(BackendProtocolError):
        await backend.renew(PATRON, "3010001")
    assert renewal.call_count == 0


async def test_holds_of_another_patron_are_a_protocol_error(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=[hold_row(31), hold_row(32, patron_id=70)]))
    with pytest.raises(BackendProtocolError):
        await backend.list_holds(PATRON)


async def test_an_item_answer_must_be_the_item_asked_for(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/checkouts", Answer(json=[checkout_row()]))
    fake_koha.on("GET", "/items/101", Answer(json=item_row(102, "3010002")))
    fake_koha.on("GET", "/checkouts/501/allows_renewal", Answer(json=RENEWABLE))
    with pytest.raises(BackendProtocolError):
        await backend.list_loans(PATRON)


async def test_a_barcode_lookup_answered_with_another_barcode_is_a_protocol_error(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/items", Answer(json=[item_row(102, "3010002")]))
    with pytest.raises(BackendProtocolError):
        await backend.get_item("3010001")


async def test_set_aside_status_reads_only_holds_on_this_copy(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    """Item 1's lookup must not see the waiting hold on item 10 (``contains`` would)."""
    fake_koha.on("GET", "/items", Answer(json=[item_row(1, "3010001")]))
    holds = route_list(
        fake_koha,
        "/holds",
        [hold_row(40, status="W", item_level=True, item_id="10", patron_id=8)],
        ("item_id",),
    )
    item = await backend.get_item("3010001")
    assert item.circulation_status == "available"
    assert holds.calls.last.request.url.params["_match"] == "exact"


async def test_a_patron_lookup_finds_only_that_card(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    other = {**PATRON_ROW, "patron_id": 8, "cardnumber": "31000000010"}
    fake_koha.on("GET", "/patrons", Answer(json=[PATRON_ROW, other]))
    fake_koha.on("POST", "/auth/password/validation", Answer(204))
    with pytest.raises(BackendProtocolError):
        await backend.authenticate("1000000001", "pw")


async def test_lists_are_read_to_the_last_page(fake_koha: FakeKoha, backend: KohaBackend) -> None:
    rows = [checkout_row(checkout_id=700 + n, item_id=101) for n in range(45)]
    checkouts = route_list(fake_koha, "/checkouts", rows, ("patron_id",), max_page_size=30)
    fake_koha.on("GET", "/items/101", Answer(json=item_row()))
    fake_koha.router.route(method="GET", path__regex=r"/api/v1/checkouts/\d+/allows_renewal").mock(
        return_value=httpx.Response(200, json=RENEWABLE)
    )
    loans = await backend.list_loans(PATRON)
    assert sorted(int(loan.id) for loan in loans) == list(range(700, 745))
    pages = [dict(call.request.url.params) for call in checkouts.calls]
    assert [p.get("_page") for p in pages] == [None, "2", "3"]
    assert all(p.get("_per_page") in (None, "20") for p in pages)


async def test_pickup_libraries_beyond_the_first_page_are_offered(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    libraries = [
        {"library_id": f"B{n:02}", "name": f"分館{n}", "pickup_location": True} for n in range(26)
    ]
    route_list(fake_koha, "/libraries", libraries)
    fake_koha.on("GET", "/holds", Answer(json=[hold_row(31)]))
    route_list(fake_koha, "/holds/31/pickup_locations", libraries)
    assert len(await backend.list_pickup_libraries()) == 26
    assert len(await backend.hold_pickup_libraries(PATRON, "31")) == 26


async def test_a_list_longer_than_the_bound_is_refused(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on(
        "GET",
        "/patrons/7/holds",
        Answer(json=[hold_row(1)], headers={"X-Total-Count": "1000000"}),
    )
    with pytest.raises(BackendProtocolError):
        await backend.list_holds(PATRON)


async def test_a_renewal_refused_without_error_code_keeps_its_reason(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    """Koha/REST/V1/Checkouts.pm ``renew``: 403 {"error": "Renewal not authorized (<code>)"}."""
    fake_koha.on("GET", "/checkouts", Answer(json=[checkout_row()]))
    fake_koha.on(
        "POST",
        "/checkouts/501/renewal",
        Answer(403, {"error": "Renewal not authorized (too_soon)"}),
    )
    with pytest.raises(RenewalRefused) as info:
        await backend.renew(PATRON, "501")
    assert info.value.reason is RefusalReason.TOO_EARLY
    assert info.value.backend_message == "Renewal not authorized (too_soon)"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("debt_limit", RefusalReason.PATRON_BLOCKED),
        ("expired", RefusalReason.CARD_EXPIRED),
        ("hold_limit", RefusalReason.HOLD_LIMIT),
        ("card_lost", RefusalReason.PATRON_BLOCKED),
    ],
)
async def test_a_hold_refused_with_409_and_error_code(
    fake_koha: FakeKoha, backend: KohaBackend, code: str, reason: RefusalReason
) -> None:
    """Koha/REST/V1/Holds.pm ``add`` (can_place_holds): 409 with ``error_code``."""
    body = {"error": f"Hold cannot be placed. Reason: {code}", "error_code": code}
    fake_koha.on("POST", "/holds", Answer(409, body), allow_newer=True)
    with pytest.raises(HoldRefused) as info:
        await backend.place_hold(PATRON, "biblio:11", "CEN")
    assert info.value.reason is reason


async def test_cancellation_requests_are_asked_for_where_koha_has_them(
    fake_koha: FakeKoha,
) -> None:
    fake_koha.token()
    serve_biblio(fake_koha)
    listing = fake_koha.on(
        "GET",
        "/patrons/7/holds",
        Answer(json=[hold_row(35, status="W", priority=0, cancellation_requested=True)]),
        allow_newer=True,
    )
    koha = KohaBackend(oauth_config(cancellation_request_flow=True), today=lambda: TODAY)
    try:
        (hold,) = await koha.list_holds(PATRON)
    finally:
        await koha.close()
    assert listing.calls.last.request.headers["x-koha-embed"] == "cancellation_requested"
    assert hold.cancellation_requested


async def test_a_title_is_not_looked_up_as_an_item(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    items = fake_koha.on("GET", "/items", Answer(json=[]))
    fake_koha.on("POST", "/holds", Answer(201, hold_row(40)))
    item = await backend.get_item("biblio:11")
    assert item.id == "biblio:11" and item.title == BIBLIO_ROW["title"]
    hold = await backend.place_hold(PATRON, "biblio:11", "CEN")
    assert hold.item.id == "biblio:11"
    assert items.call_count == 0


async def test_login_and_summary_counts_come_from_the_lists(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    """Koha's own counts say 0 overdue and login gave no hold counts; the lists say
    otherwise, and the lists are what the patron sees."""
    row = {**PATRON_ROW, "checkouts_count": 3, "overdues_count": 0}
    fake_koha.on("GET", "/patrons", Answer(json=[row]))
    fake_koha.on("GET", "/patrons/7", Answer(json=row))
    fake_koha.on("POST", "/auth/password/validation", Answer(204))
    overdue = "2026-01-05T23:59:00+09:00"
    fake_koha.on(
        "GET",
        "/checkouts",
        Answer(json=[checkout_row(checkout_id=500 + n, due_date=overdue) for n in range(3)]),
    )
    holds = [hold_row(30 + n) for n in range(6)] + [hold_row(36, status="W", priority=0)]
    fake_koha.on("GET", "/patrons/7/holds", Answer(json=holds))
    login = await backend.authenticate("1000000001", "pw")
    summary = await backend.patron_summary(login)
    for patron in (login, summary):
        counts = (
            patron.loans_count,
            patron.overdue_count,
            patron.holds_count,
            patron.holds_ready_count,
        )
        assert counts == (3, 3, 7, 1)


async def test_a_pickup_change_answered_for_another_library_is_a_protocol_error(
    fake_koha: FakeKoha, backend: KohaBackend
) -> None:
    fake_koha.on("GET", "/holds", Answer(json=[hold_row(31)]))
    fake_koha.on("PUT", "/holds/31/pickup_location", Answer(json={"pickup_library_id": "CEN"}))
    with pytest.raises(BackendProtocolError):
        await backend.change_hold(PATRON, "31", pickup_library="NIS")


@pytest.mark.parametrize("hold_id", ["031", "３１"])
async def test_a_hold_id_is_read_as_the_number_it_is(
    fake_koha: FakeKoha, backend: KohaBackend, hold_id: str
) -> None:
    """ "031" is hold 31 (not a 502 for Koha answering hold 31); "３１" is no hold id."""
    lookup = fake_koha.on("GET", "/holds", Answer(json=[hold_row(31)]))
    if hold_id.isascii():
        assert (await backend.change_hold(PATRON, hold_id)).id == "31"
    else:
        with pytest.raises(NotFound):
            await backend.change_hold(PATRON, hold_id)
        assert lookup.call_count == 0
