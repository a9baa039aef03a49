"""The demo page on a configured tenant that turns it on (``demo_page = true``): the koha-demo
example on the Koha simulator, where hold sequences can be made (Koha suspends holds; the SIP2
demo cannot). A patron orders two waiting holds into a sequence and dissolves it again."""

from __future__ import annotations

import pytest
from demo_page_support import KohaGateway
from test_my_library import log_in, open_page, show


@pytest.fixture(scope="module")
def gateway_class() -> type[KohaGateway]:
    return KohaGateway


def test_hold_sequence_made_and_dissolved(page, gateway, screenshots) -> None:
    open_page(page, gateway)
    log_in(page, "1000000017", "pass0017")  # waits for volumes 1, 2 and 3 of a series
    panel = show(page, "sequences")
    orders = panel.locator("select[name=order]")
    wanted = ["星降る町の図書館 1", "星降る町の図書館 2", "星降る町の図書館 3"]
    for i in range(orders.count()):
        label = page.locator(f"label[for='{orders.nth(i).get_attribute('id')}']").inner_text()
        title = label.split("「", 1)[1].rsplit("」", 1)[0]
        orders.nth(i).select_option(str(wanted.index(title) + 1))
    titles = wanted
    panel.get_by_role("button", name="選んだ予約を順番予約にする").click()
    panel.locator("p.ok", has_text="順番予約を作りました").wait_for()
    members = panel.locator("ol.members li")
    assert [members.nth(i).inner_text().split(" — ")[0] for i in range(3)] == titles
    page.screenshot(path=screenshots / "sequence.png", full_page=True)
    holds = show(page, "holds")
    for position, title in enumerate(titles, start=1):
        row = holds.locator("li.row", has_text=title)
        assert f"順番予約 {position} / 3" in row.inner_text()
    panel = show(page, "sequences")
    panel.get_by_role("button", name="この順番予約を解除する").click()
    panel.locator("p.ok", has_text="順番予約を解除しました").wait_for()
    assert panel.locator("ol.members").count() == 0


def test_a_refused_sequence_shows_the_library_systems_words(page, gateway) -> None:
    open_page(page, gateway)
    log_in(page, "1000000001", "hanako01")
    panel = show(page, "sequences")
    orders = panel.locator("select[name=order]")
    positions = {}
    for i in range(orders.count()):
        label = page.locator(f"label[for='{orders.nth(i).get_attribute('id')}']").inner_text()
        positions[label] = orders.nth(i)
    first = next(select for label, select in positions.items() if "ことばの森" not in label)
    on_order = next(select for label, select in positions.items() if "ことばの森" in label)
    first.select_option("1")
    on_order.select_option("2")
    panel.get_by_role("button", name="選んだ予約を順番予約にする").click()
    alert = panel.locator("[role=alert]")
    alert.wait_for()
    assert "図書館システムからのメッセージ: この予約は現在変更できません" in alert.inner_text()


def test_temporary_password_changed_on_the_page(page, gateway) -> None:
    library = gateway.library
    open_page(page, gateway)
    log_in(page, "1000000004", "4825170396", view="password")
    assert page.get_by_role("link", name="図書館のパスワード変更ページを開く").count() == 0
    # the tenant's rules refuse a short one before anything reaches the library system
    page.get_by_label("現在の (仮) パスワード").fill("4825170396")
    page.get_by_label("新しいパスワード").fill("short")
    page.get_by_role("button", name="パスワードを変更する").click()
    alert = page.locator("[role=alert][data-problem=password-rejected]")
    alert.wait_for()
    assert alert.inner_text().strip()
    assert library.authenticate("1000000004", "4825170396").ok
    page.get_by_label("現在の (仮) パスワード").fill("4825170396")
    page.get_by_label("新しいパスワード").fill("midori-2025")
    page.get_by_role("button", name="パスワードを変更する").click()
    page.wait_for_selector("body[data-view=library][data-ready]")
    assert library.authenticate("1000000004", "midori-2025").ok
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_selector("body[data-view=login][data-ready]")
    log_in(page, "1000000004", "midori-2025")  # an ordinary login now
