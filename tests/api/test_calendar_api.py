"""GET /v1/tenants/{tenant}/calendar (issue 18): public, cacheable, bounded, in ja and en; and a
loan due on a closed day shown due on the next opening day where the tenant says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api_helpers import login

T = "/v1/tenants/koha-demo"

CALENDAR = """
[tenants.calendar]
closed_weekdays = ["mon"]
holidays = "open_close_next_weekday"
holiday_hours = "10:00-17:00"
year_end = ["12-28", "01-04"]
[tenants.calendar.hours]
tue = "09:00-19:00"
wed = "09:00-19:00"
thu = "09:00-19:00"
fri = "09:00-19:00"
sat = "09:00-17:00"
sun = "09:00-17:00"
[[tenants.calendar.closures]]
start = 2025-06-10
end = 2025-06-12
reason = "蔵書点検"
reason_en = "Stocktaking"
"""


async def test_the_calendar_is_public_and_names_each_day(make_client) -> None:
    client = await make_client(CALENDAR)
    response = await client.get(f"{T}/calendar", params={"from": "2025-06-08", "to": "2025-06-13"})
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    body = await response.json()
    assert body["today"] == "2025-06-02"  # the sample clock: a Monday, closed
    assert body["next_opening_day"] == "2025-06-03"
    days = {d["date"]: d for d in body["days"]}
    assert list(days) == [f"2025-06-{n:02d}" for n in range(8, 14)]
    assert days["2025-06-08"] == {
        "date": "2025-06-08",
        "open": True,
        "hours": "09:00-17:00",
        "reason": None,
        "name": None,
        "next_opening_day": "2025-06-13",  # Monday closed, then the stocktaking
    }
    assert days["2025-06-09"]["reason"] == "regular_closed_day"
    assert days["2025-06-11"]["reason"] == "special_closure"
    assert days["2025-06-11"]["name"] == "蔵書点検"
    assert days["2025-06-13"]["open"] and days["2025-06-13"]["next_opening_day"] == "2025-06-14"


async def test_holiday_names_follow_accept_language(make_client) -> None:
    client = await make_client(CALENDAR)
    query = {"from": "2026-01-12", "to": "2026-01-13"}  # 成人の日 (Monday), then Tuesday
    for lang, name in (("ja", "成人の日"), ("en", "Coming of Age Day")):
        response = await client.get(
            f"{T}/calendar", params=query, headers={"Accept-Language": lang}
        )
        monday, tuesday = (await response.json())["days"]
        assert monday["open"] and monday["name"] == name and monday["hours"] == "10:00-17:00"
        assert not tuesday["open"] and tuesday["reason"] == "day_after_holiday"
        assert monday["next_opening_day"] == "2026-01-14"


async def test_the_year_end_across_the_new_year(make_client) -> None:
    client = await make_client(CALENDAR)
    response = await client.get(f"{T}/calendar", params={"from": "2025-12-27", "to": "2026-01-06"})
    days = (await response.json())["days"]
    closed = [d["date"] for d in days if not d["open"]]
    assert closed == [f"2025-12-{n}" for n in (28, 29, 30, 31)] + [
        f"2026-01-0{n}"
        for n in (1, 2, 3, 4, 5)  # the 5th is a Monday
    ]
    assert days[0]["next_opening_day"] == "2026-01-06"


async def test_default_range_is_a_month_from_today(make_client) -> None:
    client = await make_client(CALENDAR)
    days = (await (await client.get(f"{T}/calendar")).json())["days"]
    assert days[0]["date"] == "2025-06-02" and len(days) == 31


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-06-1"}, "to"),
        ({"from": "2025-06-10", "to": "2025-06-09"}, "to"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
        ({"from": "2025-W01-1"}, "from"),  # an ISO week date: not YYYY-MM-DD
        ({"from": "２０２５-０６-０２"}, "from"),
        ({"from": "1999-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
    ],
)
async def test_bad_ranges_are_400_naming_the_field(make_client, query, field) -> None:
    client = await make_client(CALENDAR)
    response = await client.get(f"{T}/calendar", params=query)
    assert response.status == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert f"（{field}: " in (await response.json())["detail"]


async def test_a_full_year_is_allowed(make_client) -> None:
    client = await make_client(CALENDAR)
    response = await client.get(f"{T}/calendar", params={"from": "2028-01-01", "to": "2028-12-31"})
    assert response.status == 200 and len((await response.json())["days"]) == 366
    last = await client.get(f"{T}/calendar", params={"from": "2099-12-31"})
    (day,) = (await last.json())["days"]
    assert (
        day["date"] == "2099-12-31" and day["next_opening_day"] == "2100-01-05"
    )  # after the year end


async def test_a_calendar_closed_for_longer_than_it_looks_has_no_next_day(make_client) -> None:
    closed = CALENDAR + "\n[[tenants.calendar.closures]]\nstart = 2025-07-01\nend = 2027-06-30\n"
    client = await make_client(closed)
    response = await client.get(f"{T}/calendar", params={"from": "2025-07-01", "to": "2025-07-01"})
    assert response.status == 200
    assert (await response.json())["days"][0]["next_opening_day"] is None


async def test_a_tenant_without_a_calendar_answers_404(client) -> None:
    response = await client.get(f"{T}/calendar")
    assert response.status == 404


async def test_a_loan_due_on_a_closed_day_is_due_the_next_opening_day(make_client) -> None:
    plain = await make_client()
    auth = await login(plain)
    loans = (await (await plain.get(f"{T}/loans", headers=auth)).json())["loans"]
    due = date.fromisoformat(loans[0]["due_date"])
    every_day = "\n".join(f'{d} = "09:00-19:00"' for d in ("mon", "tue", "wed", "thu", "fri"))
    closed = f"""
[tenants.calendar]
due_on_closed_day = "{{rule}}"
[tenants.calendar.hours]
{every_day}
sat = "09:00-17:00"
sun = "09:00-17:00"
[[tenants.calendar.closures]]
start = {due}
end = {due + timedelta(days=1)}
"""
    for rule, expected in (("next_opening_day", due + timedelta(days=2)), ("keep", due)):
        client = await make_client(closed.replace("{rule}", rule))
        auth = await login(client)
        body = await (await client.get(f"{T}/loans", headers=auth)).json()
        item = loans[0]["item"]["id"]
        (moved,) = [loan for loan in body["loans"] if loan["item"]["id"] == item]
        assert moved["due_date"] == expected.isoformat(), rule


async def test_a_ready_hold_says_the_next_opening_day(make_client) -> None:
    plain = await make_client()
    holds = (await (await plain.get(f"{T}/holds", headers=await login(plain))).json())["holds"]
    assert {h["status"] for h in holds} >= {"ready", "waiting"}
    assert all(h["next_opening_day"] is None for h in holds)  # no calendar, no day
    client = await make_client(CALENDAR)
    holds = (await (await client.get(f"{T}/holds", headers=await login(client))).json())["holds"]
    for hold in holds:
        # today (2025-06-02) is a Monday, closed: Tuesday for a ready hold, nothing for others
        expected = "2025-06-03" if hold["status"] == "ready" else None
        assert hold["next_opening_day"] == expected, hold["status"]
