"""The My Library page's remaining sections in a real browser (issue 20): search and a record's
copies with the hold button, bookshelves, reading history, e-books merged with the loans,
fees, notice settings and the e-mail change with its confirmation mail.

One browser page serves the whole module (the suite runs on two cores), so the tests run in
file order on one logged-in patron. Each flow is checked against what is behind the page: the
simulated library, the gateway's API read with a session of its own, or the mail outbox.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from demo_page_support import KIOSK_KEY, DemoGateway
from test_channels_and_access import CONTRAST

from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.simulators.library import SimulatedLibrary

CARD, PASSWORD = "1000000001", "hanako01"  # docs/simulator.md
SECTIONS = ("search", "ebooks", "shelves", "history", "fees", "notices", "account")


class PatronApi:
    """The public API with a session of its own: what the gateway holds, not what the page says."""

    def __init__(self, gateway: DemoGateway, card: str, password: str) -> None:
        self.base = f"{gateway.base_url}/v1/tenants/demo"
        self.token = ""
        self.token = self.call("POST", "/sessions", {"card_number": card, "password": password})[
            "token"
        ]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if method != "GET":
            request.add_header("Idempotency-Key", str(uuid.uuid4()))
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def get(self, path: str) -> Any:
        return self.call("GET", path)


@pytest.fixture(scope="module")
def tab(browser: Any, gateway: DemoGateway) -> Iterator[Any]:
    """One page for the module, logged in as 山田 花子; fails on any script error."""
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="ja-JP")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", console)
    open_page(page, gateway)
    log_in(page, CARD, PASSWORD)
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


@pytest.fixture(scope="module")
def patron_api(gateway: DemoGateway) -> PatronApi:
    return PatronApi(gateway, CARD, PASSWORD)


def open_page(page: Any, gateway: DemoGateway, fragment: str = "") -> None:
    page.goto(f"{gateway.base_url}/demo{fragment}")
    page.wait_for_selector("body[data-view=login][data-ready]")


def log_in(page: Any, card: str, password: str) -> None:
    page.get_by_label("利用者カード番号").fill(card)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_selector("body[data-view=library][data-ready]")


def reload(page: Any) -> None:
    """Read every section again (the session stays in this tab's sessionStorage)."""
    page.reload()
    page.wait_for_selector("body[data-view=library][data-ready]")


def show(page: Any, section: str) -> Any:
    page.locator(f"nav a[href='#{section}']").click()
    panel = page.locator(f"#section-{section}")
    panel.wait_for(state="visible")
    return panel


def waiting_title(library: SimulatedLibrary, card: str) -> Any:
    """A title whose every copy is lent to someone else and nobody waits for: a hold waits."""
    own = {loan.biblio_id for loan in library.loans(card)}
    held = {hold.biblio_id for hold in library.holds(card)}
    for biblio in library.biblios():
        copies = library.items_of(biblio.id)
        if biblio.id not in own | held and all(
            c.status == "checked_out" and c.holdable and not c.hold_queue_length for c in copies
        ):
            return biblio
    raise AssertionError("no lent title in the sample library")


def free_copy(library: SimulatedLibrary, card: str) -> tuple[str, str]:
    """A copy on the shelf nobody waits for, of a title the patron neither borrows nor holds."""
    own = {loan.biblio_id for loan in library.loans(card)}
    held = {hold.biblio_id for hold in library.holds(card)}
    for biblio in library.biblios():
        if biblio.id in own | held:
            continue
        for info in library.items_of(biblio.id):
            if info.status == "available" and info.holdable and not info.hold_queue_length:
                return info.barcode, info.title
    raise AssertionError("no free copy in the sample library")


def test_search_a_record_and_place_a_hold_from_its_copies(tab, gateway, screenshots) -> None:
    library = gateway.library
    biblio = gateway.in_loop(lambda: waiting_title(library, CARD))
    panel = show(tab, "search")
    panel.get_by_label("キーワード (書名・著者名・ISBN)").fill(biblio.title)
    panel.get_by_role("button", name="検索").click()
    row = panel.locator(f"li[data-record-id='{biblio.id}']")
    row.get_by_role("button", name=f"「{biblio.title}」の所蔵を見る").click()
    copies = row.locator(".copies li")
    copies.first.wait_for()
    assert copies.count() == len(gateway.in_loop(lambda: library.items_of(biblio.id)))
    assert "貸出中" in copies.first.inner_text()  # the copy status in the tenant's words
    tab.screenshot(path=str(screenshots / "search-record.png"), full_page=True)
    row.get_by_role("button", name=f"「{biblio.title}」を予約する").click()
    row.locator(".ok").wait_for()
    assert f"「{biblio.title}」を予約しました。" in row.locator(".ok").inner_text()
    held = gateway.in_loop(lambda: [h.biblio_id for h in library.holds(CARD)])
    assert biblio.id in held
    # the holds section was read again and lists it
    show(tab, "holds").get_by_text(biblio.title).wait_for()
    # the same hold again: the library's refusal, its reason and its own words
    panel = show(tab, "search")
    panel.get_by_role("button", name="検索").click()
    row = panel.locator(f"li[data-record-id='{biblio.id}']")
    row.get_by_role("button", name=f"「{biblio.title}」の所蔵を見る").click()
    row.get_by_role("button", name=f"「{biblio.title}」を予約する").click()
    refusal = row.locator(".refused")
    refusal.wait_for()
    assert "予約があります" in refusal.inner_text()
    assert (
        "図書館システムからのメッセージ: この資料はすでに予約されています" in refusal.inner_text()
    )
    assert gateway.in_loop(lambda: [h.biblio_id for h in library.holds(CARD)]).count(biblio.id) == 1


def test_search_results_turn_pages(tab, patron_api) -> None:
    first = patron_api.get("/catalog/search?keyword=%E3%81%AE&per_page=10")  # "の"
    assert first["total"] > 10
    second = patron_api.get("/catalog/search?keyword=%E3%81%AE&per_page=10&page=2")
    panel = show(tab, "search")
    panel.get_by_label("キーワード (書名・著者名・ISBN)").fill("の")
    panel.get_by_role("button", name="検索").click()
    pages = -(-first["total"] // 10)
    panel.get_by_text(f"1 / {pages} ページ").wait_for()
    panel.get_by_role("button", name="次のページ").click()
    panel.get_by_text(f"2 / {pages} ページ").wait_for()
    shown = panel.locator("li[data-record-id]").evaluate_all(
        "rows => rows.map((row) => row.dataset.recordId)"
    )
    assert shown == [record["id"] for record in second["records"]]
    assert tab.evaluate("document.activeElement.className") == "meta"  # focus on the new page


def test_bookshelf_created_an_entry_added_and_removed(tab, gateway, patron_api) -> None:
    barcode, title = gateway.in_loop(lambda: free_copy(gateway.library, CARD))
    panel = show(tab, "shelves")
    panel.get_by_label("新しい本棚の名前").fill("あとで読む")
    panel.get_by_role("button", name="本棚を作る").click()
    shelf = panel.locator("section.shelf", has_text="あとで読む")
    shelf.wait_for()
    [made] = [s for s in patron_api.get("/shelves")["shelves"] if s["name"] == "あとで読む"]
    shelf.get_by_label("「あとで読む」に入れる資料番号").fill(barcode)
    shelf.get_by_role("button", name="本棚に入れる").click()
    entry = panel.locator(f"li[data-item-id='{barcode}']")
    entry.wait_for()
    assert title in entry.inner_text()
    items = patron_api.get(f"/shelves/{made['shelf_id']}/items")["items"]
    assert [(i["item_id"], i["title"]) for i in items] == [(barcode, title)]
    # the same item twice: the gateway's refusal, in the patron's language
    panel.locator("section.shelf", has_text="あとで読む").get_by_label(
        "「あとで読む」に入れる資料番号"
    ).fill(barcode)
    panel.get_by_role("button", name="本棚に入れる").click()
    alert = panel.locator("[role=alert]")
    alert.wait_for()
    assert alert.get_attribute("data-problem") == "conflict"
    panel.get_by_role("button", name=f"「{title}」を本棚から出す").click()
    entry.wait_for(state="detached")
    assert patron_api.get(f"/shelves/{made['shelf_id']}/items")["items"] == []
    # deleting the shelf asks once more
    panel.get_by_role("button", name="本棚「あとで読む」を削除する").click()
    panel.get_by_role("button", name="削除する", exact=True).click()
    panel.get_by_text("本棚「あとで読む」を削除しました。").wait_for()
    assert patron_api.get("/shelves")["shelves"] == []


def test_reading_history_switched_on_records_a_returned_loan_then_off(
    tab, gateway, patron_api
) -> None:
    library = gateway.library
    panel = show(tab, "history")
    panel.get_by_label("パスワード (確認のため)").fill(PASSWORD)
    panel.get_by_role("button", name="読書記録を始める").click()
    panel.get_by_role("button", name="読書記録をやめる").wait_for()
    assert patron_api.get("/reading-history/status")["enabled"] is True
    # a loan made after switch-on, seen by the page, then returned at the desk
    barcode, title = gateway.in_loop(lambda: free_copy(library, CARD))
    gateway.in_loop(lambda: library.checkout(CARD, barcode))
    reload(tab)
    assert title in show(tab, "loans").inner_text()
    gateway.in_loop(lambda: library.checkin(barcode))
    reload(tab)
    assert title not in show(tab, "loans").inner_text()
    panel = show(tab, "history")
    assert panel.locator("li.row", has_text=title).count() == 1
    stored = tab.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert title not in stored  # the history is kept nowhere in the browser
    # what the gateway keeps, read by a new session (its login opens the patron's key)
    reader = PatronApi(gateway, CARD, PASSWORD)
    assert [e["title"] for e in reader.get("/reading-history")["entries"]] == [title]
    panel.get_by_role("button", name=f"「{title}」の記録を削除する").click()
    panel.get_by_text("記録を削除しました。").wait_for()
    assert reader.get("/reading-history")["entries"] == []
    panel.get_by_role("button", name="読書記録をやめる").click()
    panel.get_by_role("button", name="読書記録を始める").wait_for()
    assert patron_api.get("/reading-history/status")["enabled"] is False


def test_an_ebook_loan_is_listed_with_the_loans_marked_as_an_ebook(
    tab, gateway, patron_api
) -> None:
    panel = show(tab, "ebooks")
    panel.get_by_label("電子書籍の番号").fill("KD000003")  # 坊っちゃん: 3 copies
    panel.get_by_role("button", name="借りる", exact=True).click()
    panel.locator(".results .ok").wait_for()
    assert "「坊っちゃん」を借りました。" in panel.locator(".results").inner_text()
    assert [loan["title"]["id"] for loan in patron_api.get("/ebooks/loans")["loans"]] == [
        "KD000003"
    ]
    row = show(tab, "loans").locator("li[data-item-id='KD000003']")
    assert row.locator(".badge.ebook").inner_text() == "電子書籍"
    assert row.get_by_role("button").count() == 0  # not renewed here: it returns itself
    # one already out: the e-library's refusal, with its own words
    panel = show(tab, "ebooks")
    panel.get_by_label("電子書籍の番号").fill("KD000003")
    panel.get_by_role("button", name="借りる", exact=True).click()
    alert = panel.locator("[role=alert]")
    alert.wait_for()
    assert alert.locator(".alert-main").inner_text() == "貸出中の資料です"
    # returned early: gone at the e-library and from the loans
    panel.get_by_role("button", name="「坊っちゃん」を返却する").click()
    panel.get_by_text("「坊っちゃん」を返却しました。").wait_for()
    assert patron_api.get("/ebooks/loans")["loans"] == []
    assert show(tab, "loans").locator("li[data-item-id='KD000003']").count() == 0


def test_an_ebook_hold_is_listed_with_the_holds_and_cancelled_there(
    tab, gateway, patron_api
) -> None:
    # 吾輩は猫である has one e-book copy: another patron borrows it, so a hold waits
    PatronApi(gateway, "1000000014", "pass0014").call(
        "POST", "/ebooks/loans", {"title_id": "KD000002"}
    )
    panel = show(tab, "ebooks")
    panel.get_by_label("電子書籍の番号").fill("KD000002")
    panel.get_by_role("button", name="予約する", exact=True).click()
    panel.get_by_text("「吾輩は猫である」を予約しました。").wait_for()
    assert [h["title"]["id"] for h in patron_api.get("/ebooks/holds")["holds"]] == ["KD000002"]
    row = show(tab, "holds").locator("li[data-hold-id='KD000002']")
    assert row.locator(".badge.ebook").inner_text() == "電子書籍"
    row.get_by_role("button", name="予約を取り消す: 吾輩は猫である").click()
    row.get_by_role("button", name="取り消す", exact=True).click()
    tab.locator("#section-holds").get_by_text(
        "「吾輩は猫である」の予約を取り消しました。"
    ).wait_for()
    assert patron_api.get("/ebooks/holds")["holds"] == []  # cancelled at the e-library


def test_fees_are_listed_with_their_total(browser, gateway) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="ja-JP")
    try:
        page = context.new_page()
        open_page(page, gateway)
        log_in(page, "1000000011", "keiko011")  # an unpaid replacement fee
        owed = gateway.in_loop(lambda: gateway.library.patron_info("1000000011").fee_total)
        panel = show(page, "fees")
        text = panel.inner_text()
        assert "紛失資料の弁償金" in text
        assert f"合計 {owed:,} 円" in text
        assert "図書館のカウンターでお支払いください" in text
    finally:
        context.close()


def test_notice_settings_changed_and_read_back(tab, patron_api) -> None:
    before = patron_api.get("/patron/notices")
    assert before["due_reminder"] is False
    panel = show(tab, "notices")
    panel.get_by_label("返却期限が近づいたらメールで知らせる").check()
    panel.get_by_label(re.compile("返却期限の何日前に知らせるか")).fill("99")
    panel.get_by_role("button", name="お知らせの設定を保存する").click()
    alert = panel.locator("[role=alert]")
    alert.wait_for()
    # the gateway's 400 naming the field (the browser's own check is off: novalidate)
    assert "due_reminder_days" in alert.inner_text()
    assert patron_api.get("/patron/notices") == before
    panel.get_by_label(re.compile("返却期限の何日前に知らせるか")).fill("5")
    panel.get_by_label("電話").check()
    panel.get_by_role("button", name="お知らせの設定を保存する").click()
    panel.get_by_text("お知らせの設定を保存しました。").wait_for()
    after = patron_api.get("/patron/notices")
    assert (after["due_reminder"], after["due_reminder_days"], after["contact_method"]) == (
        True,
        5,
        "phone",
    )


def test_email_change_says_where_the_link_went_and_mails_it(tab, gateway, patron_api) -> None:
    address = "hanako.new@example.jp"
    panel = show(tab, "account")
    panel.get_by_label("メールアドレス", exact=True).fill(address)
    panel.get_by_role("button", name="メールアドレスを保存する").click()
    pending = panel.locator(".pending")
    pending.wait_for()
    assert "確認のリンクを h***@example.jp に送りました" in pending.inner_text()
    assert patron_api.get("/patron/settings")["email1"] is None  # not saved before the link

    async def mails() -> list[Any]:
        outbox = gateway.app[GATEWAY_KEY].outbox
        return list(await outbox.repository.list(tenant_id="demo"))

    sent = [m for m in gateway.in_loop(mails) if address in m.recipients]
    assert len(sent) == 1


def test_english_phone_width_contrast_and_kiosk(tab, gateway, screenshots) -> None:
    tab.get_by_role("button", name="English").click()
    panel = show(tab, "notices")
    panel.get_by_text("How we tell you a hold is ready").wait_for()
    tab.screenshot(path=str(screenshots / "notices-en.png"), full_page=True)
    tab.get_by_role("button", name="日本語").click()
    panel.get_by_text("予約の連絡方法").wait_for()
    tab.set_viewport_size({"width": 375, "height": 740})
    search = show(tab, "search")  # a record's copies open: the widest part
    search.get_by_label("キーワード (書名・著者名・ISBN)").fill("吾輩は猫である")
    search.get_by_role("button", name="検索").click()
    search.get_by_role("button", name="「吾輩は猫である」の所蔵を見る").click()
    search.locator(".copies li").first.wait_for()
    for section in SECTIONS:
        show(tab, section)
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375, section
        assert tab.evaluate(CONTRAST) == [], section
        tab.screenshot(path=str(screenshots / f"{section}-375.png"), full_page=True)
    tab.set_viewport_size({"width": 1024, "height": 900})
    # a kiosk session: the kiosk rules switch bookshelves and reading history off
    tab.get_by_role("button", name="ログアウト").click()
    tab.wait_for_selector("body[data-view=login][data-ready]")
    tab.goto("about:blank")
    open_page(tab, gateway, f"/#kiosk={KIOSK_KEY}")
    log_in(tab, CARD, PASSWORD)
    shown = [a.get_attribute("href")[1:] for a in tab.locator("#sections-nav a:visible").all()]
    assert "shelves" not in shown and "history" not in shown
    assert {"search", "ebooks", "fees", "notices", "account"} <= set(shown)
    assert tab.locator("#section-shelves").is_hidden()
