"""Saitama: hyphenated cards; an overdue loan renews for 14 − days overdue, refused beyond 14."""

from __future__ import annotations

from datetime import date, timedelta

from ils_gateway.simulators.policy import OverdueRenewal

# The simulated ILS renews overdue loans the Saitama way too (the gateway explains, the ILS acts).
SAITAMA_ILS = {
    "overdue_renewal": OverdueRenewal.SHORTENED,
    "overdue_grace_days": 14,
    "earliest_renewal_days_before_due": 13,
}
OVERDUE_PATRON = ("1000-000-005", "makoto05")  # loans 5 and 20 days overdue


async def test_overdue_renewal_is_fourteen_minus_days_overdue(open_site, clock):
    site = await open_site("saitama", rules=SAITAMA_ILS)
    auth = await site.login(*OVERDUE_PATRON)
    loans = {loan["days_overdue"]: loan for loan in (await site.get("/loans", auth))["loans"]}
    assert set(loans) == {5, 20}
    # Saitama's ACS is plain SIP2 (no renewal count): the rules allow it, the ILS decides.
    assert loans[5]["renewable"] is None and loans[5]["refusal_reason"] is None
    assert loans[20]["renewable"] is False and loans[20]["refusal_reason"] == "too_overdue"
    item = loans[5]["item"]["id"]
    response = await site.client.post(f"{site.base}/loans/{item}/renewal", headers=auth)
    assert response.status == 200, await response.text()
    today = clock().date()
    renewed = await response.json()
    assert date.fromisoformat(renewed["loan"]["due_date"]) == today + timedelta(days=14 - 5)
    assert [ln.due for ln in site.library.loans("1000000005") if ln.barcode == item] == [
        today + timedelta(days=9)
    ]


async def test_renewal_more_than_fourteen_days_overdue_is_refused(open_site):
    site = await open_site("saitama", rules=SAITAMA_ILS)
    auth = await site.login(*OVERDUE_PATRON)
    loans = (await site.get("/loans", auth))["loans"]
    late = next(loan for loan in loans if loan["days_overdue"] == 20)
    response = await site.client.post(
        f"{site.base}/loans/{late['item']['id']}/renewal", headers=auth
    )
    problem = await response.json()
    assert response.status == 422
    assert problem["type"].endswith("/renewal-refused") and problem["reason"] == "too_overdue"
    assert [ln.renewals for ln in site.library.loans("1000000005")] == [0, 0]


async def test_card_with_hyphens_is_the_same_card_and_bad_cards_are_one_error(open_site):
    site = await open_site("saitama", rules=SAITAMA_ILS)
    await site.login("1000-000-001", "hanako01")
    await site.login("1000000001", "hanako01")
    short = await site.client.post(
        f"{site.base}/sessions", json={"card_number": "1000-001", "password": "hanako01"}
    )
    assert short.status == 401
