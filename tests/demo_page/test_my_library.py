"""The demo My Library page in a real browser (issue 20): a patron logs in, renews, places a hold
from the basket and cancels it, changes a pickup library, sees the tenant's status words and
switches to English; the temporary-password path; refusals show the gateway's reason.

The page talks only to the public API; what the tests read back is the simulated library's
state behind the gateway, not the page's own claims.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from demo_page_support import WAITING_EN, WAITING_JA, DemoGateway

from ils_gateway.simulators.library import SimulatedLibrary

README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "demo-page.png"


def open_page(page: Any, gateway: DemoGateway, fragment: str = "") -> None:
    page.goto(f"{gateway.base_url}/demo{fragment}")
    page.wait_for_selector("body[data-view=login][data-ready]")


def log_in(page: Any, card: str, password: str, view: str = "library") -> None:
    page.get_by_label("利用者カード番号").fill(card)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_selector(f"body[data-view={view}][data-ready]")


def show(page: Any, section: str) -> Any:
    page.locator(f"nav a[href='#{section}']").click()
    panel = page.locator(f"#section-{section}")
    panel.wait_for(state="visible")
    return panel


def free_copy(library: SimulatedLibrary) -> tuple[str, str]:
    """An item on the shelf that nobody waits for: (barcode, title)."""
    for biblio in library.biblios():
        for info in library.items_of(biblio.id):
            if info.status == "available" and info.holdable and not info.hold_queue_length:
                return info.barcode, info.title
    raise AssertionError("no free copy in the sample library")


def lent_copy(library: SimulatedLibrary, card: str) -> tuple[str, str]:
    """A copy of a title whose every copy is lent to someone else and that nobody waits for:
    a hold on it waits (cancellable); a title with a copy on the shelf is trapped at once."""
    own = {loan.biblio_id for loan in library.loans(card)}
    held = {hold.biblio_id for hold in library.holds(card)}
    for biblio in library.biblios():
        if biblio.id in own | held:
            continue
        copies = library.items_of(biblio.id)
        if all(
            c.status == "checked_out" and c.holdable and not c.hold_queue_length for c in copies
        ):
            return copies[0].barcode, copies[0].title
    raise AssertionError("no lent copy in the sample library")


def test_patron_logs_in_and_renews_a_loan(page, gateway, screenshots: Path) -> None:
    library = gateway.library
    open_page(page, gateway)
    log_in(page, "1000-000-001", "hanako01")
    summary = page.locator("#section-summary")
    assert "山田 花子" in summary.inner_text()
    assert summary.get_by_role("img", name=re.compile("バーコード")).is_visible()
    loans = show(page, "loans")
    before = {loan.barcode: loan for loan in library.loans("1000000001")}
    renewable = next(b for b, loan in before.items() if loan.title == "こころ")
    loans.get_by_role("button", name="「こころ」を延長する").click()
    message = loans.locator(".result-list .ok")
    message.wait_for()
    after = {loan.barcode: loan for loan in library.loans("1000000001")}
    assert after[renewable].renewals == before[renewable].renewals + 1
    due = after[renewable].due
    assert f"{due.year}年{due.month}月{due.day}日" in message.inner_text()
    # a loan that cannot be renewed says why, in the library's words, and offers no button
    row = loans.locator("li.row", has_text="星降る町の図書館 1")
    assert "予約があります" in row.inner_text()
    assert row.get_by_role("button").count() == 0
    page.screenshot(path=screenshots / "loans-renewed.png", full_page=True)


def test_renew_several_at_once(page, gateway) -> None:
    library = gateway.library
    card = "1000000014"
    open_page(page, gateway)
    log_in(page, card, "pass0014")
    loans = show(page, "loans")
    boxes = loans.get_by_role("checkbox")
    chosen = min(boxes.count(), 2)
    assert chosen >= 1
    ids = [boxes.nth(i).get_attribute("value") for i in range(chosen)]
    before = {loan.barcode: loan.renewals for loan in library.loans(card)}
    for i in range(chosen):
        boxes.nth(i).check()
    loans.get_by_role("button", name="選んだ資料を延長する").click()
    loans.locator(".result-list li").nth(chosen - 1).wait_for()
    lines = loans.locator(".result-list li")
    assert lines.count() == chosen
    after = {loan.barcode: loan.renewals for loan in library.loans(card)}
    for item_id, line in zip(ids, lines.all(), strict=True):
        renewed = after[item_id] == before[item_id] + 1
        assert ("延長しました" in line.inner_text()) is renewed, (item_id, line.inner_text())


def test_hold_from_the_basket_then_cancelled(page, gateway, screenshots: Path) -> None:
    library = gateway.library
    card = "1000000007"
    barcode, title = lent_copy(library, card)
    open_page(page, gateway)
    log_in(page, card, "tadashi7")
    basket = show(page, "basket")
    basket.get_by_label("資料番号 (バーコード)").fill(barcode)
    basket.get_by_role("button", name="予約かごに入れる").click()
    basket.locator("li.row", has_text=title).wait_for()
    basket.get_by_label("受取館").select_option(label="北図書館")
    page.screenshot(path=screenshots / "basket.png", full_page=True)
    holds_before = {h.hold_id for h in library.holds(card)}
    basket.get_by_role("button", name="選んだ資料を予約する").click()
    basket.locator(".result-list .ok", has_text=title).wait_for()
    placed = [h for h in library.holds(card) if h.hold_id not in holds_before]
    assert [(h.title, h.pickup) for h in placed] == [(title, "KITA")]
    assert basket.locator("li.row", has_text=title).count() == 0  # left the basket
    holds = show(page, "holds")
    row = holds.locator("li.row", has_text=title)
    assert row.locator(".status").inner_text() == WAITING_JA
    row.get_by_role("button", name=f"予約を取り消す: {title}").click()
    row.get_by_role("button", name="取り消す", exact=True).click()
    holds.locator("p.ok", has_text="取り消しました").wait_for()
    assert holds.locator("li.row", has_text=title).count() == 0
    assert {h.hold_id for h in library.holds(card)} == holds_before


def test_change_pickup_library_and_the_tenants_status_words(page, gateway, screenshots) -> None:
    library = gateway.library
    card = "1000000001"
    open_page(page, gateway)
    log_in(page, card, "hanako01")
    holds = show(page, "holds")
    # the tenant's own word for a waiting hold, not the built-in 予約中
    waiting = holds.locator(".status[data-status=waiting]")
    assert waiting.count() >= 1
    assert {waiting.nth(i).inner_text() for i in range(waiting.count())} == {WAITING_JA}
    assert holds.locator(".status[data-status=in_transit]").first.inner_text() == "回送中"
    row = holds.locator("li.row", has_text="京都 路地裏さんぽ")
    row.get_by_role("button", name="受取館を変更: 京都 路地裏さんぽ").click()
    row.get_by_label("「京都 路地裏さんぽ」の受取館").select_option(label="南図書館")
    row.get_by_role("button", name="変更する").click()
    holds.locator("p.ok", has_text="南図書館").wait_for()
    changed = [h for h in library.holds(card) if h.title == "京都 路地裏さんぽ"]
    assert [h.pickup for h in changed] == ["MINAMI"]
    # (SIP2 lists no pickup library for a waiting title hold: the library's state says it)
    # English: the page's words and the library's words (from the API) switch together
    page.get_by_role("button", name="Switch to English").click()
    page.get_by_role("heading", name="Holds").wait_for()
    holds.locator(".status[data-status=waiting]", has_text=WAITING_EN).first.wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Loans").is_visible()
    page.screenshot(path=screenshots / "holds-english.png", full_page=True)


def test_readme_screenshot(browser, gateway, screenshots: Path) -> None:
    """The README's picture: the holds at 900 px. Written to docs/images/ only when asked
    (ILS_GATEWAY_UPDATE_SCREENSHOTS=1), so that a test run leaves the tree as it was."""
    context = browser.new_context(viewport={"width": 900, "height": 640}, locale="ja-JP")
    try:
        page = context.new_page()
        open_page(page, gateway)
        log_in(page, "1000000001", "hanako01")
        show(page, "holds").locator(".status").first.wait_for()
        shot = screenshots / "demo-page.png"
        page.screenshot(path=shot)
        assert shot.stat().st_size > 10_000
        if os.environ.get("ILS_GATEWAY_UPDATE_SCREENSHOTS") == "1":
            shutil.copyfile(shot, README_SCREENSHOT)
    finally:
        context.close()


def test_temporary_password_login_allows_only_the_change(page, gateway) -> None:
    open_page(page, gateway)
    log_in(page, "1000000004", "4825170396", view="password")
    assert page.get_by_role("heading", name="パスワードの変更が必要です").is_visible()
    link = page.get_by_role("link", name="図書館のパスワード変更ページを開く")
    assert link.get_attribute("href") == "https://library.example.jp/midori/mypage/password"
    assert page.locator("#sections-nav").is_hidden()
    # SIP2 cannot change it here: the gateway's refusal (password-change-elsewhere) is shown
    page.get_by_label("現在の (仮) パスワード").fill("4825170396")
    page.get_by_label("新しいパスワード").fill("midori-2025")
    page.get_by_role("button", name="パスワードを変更する").click()
    alert = page.locator("[role=alert][data-problem=password-change-elsewhere]")
    alert.wait_for()
    assert alert.get_by_role("link").first.get_attribute("href").startswith("https://library.")
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_selector("body[data-view=login][data-ready]")


def test_refusals_show_the_reason_in_the_patrons_language(page, gateway) -> None:
    open_page(page, gateway)
    # an expired card: the gateway's detail names the block in the library's words
    log_in(page, "1000000003", "ichiro03", view="login")
    alert = page.locator("[role=alert][data-problem=patron-blocked]")
    alert.wait_for()
    assert alert.inner_text().strip()
    # a patron with a block logs in: the summary lists it in the library's words
    log_in(page, "1000000002", "ken00002")
    blocks = page.locator("#section-summary .blocks li")
    assert blocks.count() >= 1 and "延滞" in blocks.first.inner_text()
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_selector("body[data-view=login][data-ready]")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Library card number").fill("1000000001")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    refused = page.locator("[role=alert][data-problem=authentication-failed]")
    refused.wait_for()
    assert re.search(r"[A-Za-z]", refused.inner_text())
    assert not re.search(r"[\u3040-\u30ff]", refused.inner_text())  # English, no kana


def test_a_hold_the_library_refuses_shows_its_reason(page, gateway) -> None:
    open_page(page, gateway)
    log_in(page, "1000000005", "makoto05")  # overdue loans: holds refused
    # no loan can be renewed: each says why, and no renew button is offered
    loans = show(page, "loans")
    assert loans.locator(".refusal").count() == loans.locator("li.row").count() >= 1
    assert loans.get_by_role("button").count() == 0
    basket = show(page, "basket")
    barcode, title = free_copy(gateway.library)
    basket.get_by_label("資料番号 (バーコード)").fill(barcode)
    basket.get_by_role("button", name="予約かごに入れる").click()
    basket.locator("li.row", has_text=title).wait_for()
    basket.get_by_role("button", name="選んだ資料を予約する").click()
    refused = basket.locator(".result-list .refused, [role=alert]").first
    refused.wait_for()
    text = refused.inner_text()
    assert title in text or "予約" in text
    assert len(text) > len(title) + 5


def test_sequences_where_the_library_system_cannot_make_them(page, gateway) -> None:
    """The SIP2 demo cannot suspend holds: the gateway's refusal is shown and the form goes."""
    open_page(page, gateway)
    log_in(page, "1000000010", "sakura10")  # six waiting holds
    panel = show(page, "sequences")
    orders = panel.locator("select[name=order]")
    orders.nth(0).select_option("1")
    orders.nth(1).select_option("2")
    panel.get_by_role("button", name="選んだ予約を順番予約にする").click()
    alert = panel.locator("[role=alert][data-problem=feature-disabled]")
    alert.wait_for()
    assert alert.inner_text().strip()
    assert panel.locator("select[name=order]").count() == 0
