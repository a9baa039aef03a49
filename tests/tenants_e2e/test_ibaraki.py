"""Ibaraki: writes paused 03:50–04:20 (reads still served); logged out after 15 idle minutes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
PATRON = ("1000000001", "hanako01")


async def _renewable(site, auth) -> str:
    loans = (await site.get("/loans", auth))["loans"]
    # Plain SIP2 gives no renewal count: "not refused" is what the gateway can say.
    return next(loan["item"]["id"] for loan in loans if loan["renewable"] is not False)


async def test_writes_are_refused_in_the_nightly_window(open_site, clock):
    site = await open_site("ibaraki")
    clock.now = datetime(2025, 6, 3, 3, 45, tzinfo=TOKYO)
    auth = await site.login(*PATRON)
    item = await _renewable(site, auth)
    clock.now = datetime(2025, 6, 3, 3, 50, tzinfo=TOKYO)
    paused = await site.client.post(f"{site.base}/loans/{item}/renewal", headers=auth)
    problem = await paused.json()
    assert paused.status == 503 and problem["type"].endswith("/maintenance")
    assert problem["detail"] == "メンテナンスのため 04:20 まで休止しています"
    assert paused.headers["Content-Language"] == "ja"
    assert paused.headers["Retry-After"] == str(30 * 60)
    holds = (await site.get("/holds", auth))["holds"]  # reads go on
    waiting = next(h for h in holds if "cancel" in h["allowed_actions"])
    cancel = await site.client.delete(f"{site.base}/holds/{waiting['id']}", headers=auth)
    assert cancel.status == 503
    assert [ln.renewals for ln in site.library.loans("1000000001") if ln.barcode == item] == [0]
    for minute in (4, 18):  # reads keep the 15-minute session alive
        clock.now = datetime(2025, 6, 3, 4, minute, tzinfo=TOKYO)
        await site.get("/loans", auth)
    clock.now = datetime(2025, 6, 3, 4, 19, 59, tzinfo=TOKYO)
    still = await site.client.post(f"{site.base}/loans/{item}/renewal", headers=auth)
    assert still.status == 503
    clock.now = datetime(2025, 6, 3, 4, 20, tzinfo=TOKYO)
    resumed = await site.client.post(f"{site.base}/loans/{item}/renewal", headers=auth)
    assert resumed.status == 200, await resumed.text()


async def test_idle_logout_after_fifteen_minutes(open_site, clock):
    site = await open_site("ibaraki")
    auth = await site.login(*PATRON)
    clock.advance(minutes=14, seconds=59)
    await site.get("/holds", auth)
    clock.advance(minutes=14, seconds=59)
    await site.get("/loans", auth)
    clock.advance(minutes=15)
    expired = await site.client.get(f"{site.base}/loans", headers=auth)
    assert expired.status == 401
    assert (await expired.json())["type"].endswith("/session-expired")


async def test_bookmobile_loans_are_not_renewable(open_site):
    # Issue 16: the SIP2 18 says where a loan was made (AP); the tenant file names the
    # bookmobile's codes, so "bookmobile loans are not renewable" applies before the ILS is asked.
    site = await open_site("ibaraki")
    auth = await site.login("1000000012", "daisuke2")
    (loan,) = (await site.get("/loans", auth))["loans"]
    assert (loan["loan_branch"], loan["bookmobile"]) == ("BM", "BM")
    assert loan["renewable"] is False and loan["refusal_reason"] == "excluded_item_type"
    refused = await site.client.post(
        f"{site.base}/loans/{loan['item']['id']}/renewal", headers=auth
    )
    assert refused.status == 422 and (await refused.json())["reason"] == "excluded_item_type"
    assert [v.renewals for v in site.library.loans("1000000012")] == [0]


async def test_a_temporary_password_is_sent_to_the_librarys_own_page(open_site):
    """SIP2 cannot change a password: the gate answers with the library's page, not for ever
    403 (issue 16)."""
    site = await open_site("ibaraki")
    page = "https://library.example.jp/ibaraki/mylibrary/password"
    created = await site.client.post(
        f"{site.base}/sessions", json={"card_number": "1000000004", "password": "4825170396"}
    )
    body = await created.json()
    assert created.status == 201, body
    assert body["password_change_required"] is True
    assert body["password_change_url"] == page
    auth = {"Authorization": f"Bearer {body['token']}"}
    gated = await site.client.get(f"{site.base}/loans", headers=auth)
    problem = await gated.json()
    assert gated.status == 403 and problem["type"].endswith("/password-change-required")
    assert problem["change_url"] == page
    assert problem["title"] == "仮パスワードを変更してください"  # ja: the tenant's default
    change = await site.client.post(
        f"{site.base}/patron/password",
        headers={**auth, "Accept-Language": "en"},
        json={"old_password": "4825170396", "new_password": "misaki2025"},
    )
    problem = await change.json()
    assert change.status == 403 and problem["type"].endswith("/password-change-elsewhere")
    assert problem["change_url"] == page and page in problem["detail"]
    assert problem["feature"] == "password_change"
    assert change.headers["Content-Language"] == "en"
    # Changed on the library's page (here: in the library system itself), the next login is
    # an ordinary one.
    site.library.change_password("1000000004", "4825170396", "misaki2025")
    again = await site.client.post(
        f"{site.base}/sessions", json={"card_number": "1000000004", "password": "misaki2025"}
    )
    assert (await again.json())["password_change_required"] is False
