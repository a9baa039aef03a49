"""The memos of the cached loans list (issue 17's hot path) never show an outdated list: the
annotated list is the same while nothing changed, a renewal shows at once, and a day that
ends while the cached list is still fresh moves its overdue days."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.simulators.sample_data import SAMPLE_NOW

HANAKO = {"card_number": "1000000001", "password": "hanako01"}
DEMO = "/v1/tenants/demo"
TOKYO = ZoneInfo("Asia/Tokyo")


async def _login(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = await client.post(f"{DEMO}/sessions", json=HANAKO)
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def _loans(client, auth) -> list[dict]:  # type: ignore[no-untyped-def]
    response = await client.get(f"{DEMO}/loans", headers=auth)
    assert response.status == 200, await response.text()
    return (await response.json())["loans"]


async def test_a_renewal_shows_in_the_next_list(aiohttp_client) -> None:
    settings, _acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW), elibrary=False)
    client = await aiohttp_client(create_app(settings))
    auth = await _login(client)
    first = await _loans(client, auth)
    assert await _loans(client, auth) == first  # from the memos: the same list
    renewable = next(loan for loan in first if loan["renewable"])
    item = renewable["item"]["id"]
    answer = await client.post(f"{DEMO}/loans/{item}/renewal", headers=auth)
    assert answer.status == 200, await answer.text()
    due = (await answer.json())["loan"]["due_date"]
    after = {loan["item"]["id"]: loan for loan in await _loans(client, auth)}
    # the renewed due date (moved to the next opening day where the calendar says so)
    assert after[item]["due_date"] >= due > renewable["due_date"]
    assert after[item]["renewals_used"] == renewable["renewals_used"] + 1


async def test_midnight_moves_the_overdue_days_of_a_list_still_cached(aiohttp_client) -> None:
    clock = ManualClock(SAMPLE_NOW)
    settings, _acs = await embedded_settings(clock=clock, elibrary=False)
    client = await aiohttp_client(create_app(settings))
    loans = await _loans(client, await _login(client))
    on_time = next(loan for loan in loans if loan["days_overdue"] == 0)
    due = datetime.fromisoformat(on_time["due_date"])
    # the last seconds of its due day (Tokyo): not overdue yet
    clock.now = datetime(due.year, due.month, due.day, 23, 59, 50, tzinfo=TOKYO)
    auth = await _login(client)
    before = {loan["item"]["id"]: loan for loan in await _loans(client, auth)}
    assert before[on_time["item"]["id"]]["days_overdue"] == 0
    clock.advance(timedelta(seconds=20))  # the next day; the cached list is still fresh
    after = {loan["item"]["id"]: loan for loan in await _loans(client, auth)}
    assert after[on_time["item"]["id"]]["days_overdue"] == 1
    assert after[on_time["item"]["id"]]["state"] == "overdue"
