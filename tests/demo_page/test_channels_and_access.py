"""The demo page on a kiosk, at phone width and from the keyboard alone (issue 20).

A session logged in through the kiosk channel (the page opened as ``#kiosk=<key>``, sending
``X-Kiosk-Key``) shows only the sections and parts the tenant's kiosk rules allow: the test
tenant switches the basket and the card barcode off on kiosks (demo_page_support), and the web
session of the same patron shows both.
"""

from __future__ import annotations

from pathlib import Path

from demo_page_support import KIOSK_KEY
from test_my_library import log_in, open_page, show


def nav_sections(page) -> list[str]:
    links = page.locator("#sections-nav a")
    return [
        links.nth(i).get_attribute("href")[1:]
        for i in range(links.count())
        if links.nth(i).is_visible()
    ]


def test_kiosk_session_sees_only_what_the_kiosk_rules_allow(page, gateway, screenshots) -> None:
    open_page(page, gateway, f"/demo/#kiosk={KIOSK_KEY}")
    assert page.get_by_text("館内端末").is_visible()
    assert "kiosk" not in page.url  # the key leaves the address bar
    log_in(page, "1000000006", "yui00006")
    sections = nav_sections(page)
    assert "basket" not in sections
    assert {"summary", "loans", "holds"} <= set(sections)
    assert page.locator("#section-basket").is_hidden()
    assert page.locator("#section-summary img").count() == 0  # no card barcode on a kiosk
    page.screenshot(path=screenshots / "kiosk.png", full_page=True)
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_selector("body[data-view=login][data-ready]")
    # the same patron on the web: the basket and the barcode are there
    page.goto("about:blank")  # (a new fragment alone would not load the page again)
    open_page(page, gateway, "/demo/#kiosk=")
    assert page.get_by_text("館内端末").is_hidden()
    log_in(page, "1000000006", "yui00006")
    assert "basket" in nav_sections(page)
    assert page.locator("#section-summary img").count() == 1


def test_phone_width_has_no_horizontal_scroll(browser, gateway, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="ja-JP")
    try:
        page = context.new_page()
        open_page(page, gateway)
        scroll = "document.documentElement.scrollWidth"
        assert page.evaluate(scroll) <= 375
        log_in(page, "1000000001", "hanako01")
        for section in ("summary", "loans", "holds", "basket"):
            show(page, section)
            assert page.evaluate(scroll) <= 375, section
        holds = show(page, "holds")
        holds.get_by_role("button", name="受取館を変更").first.click()
        assert page.evaluate(scroll) <= 375
        page.screenshot(path=screenshots / "phone-holds.png", full_page=True)
    finally:
        context.close()


def test_keyboard_only_login_and_navigation(page, gateway) -> None:
    open_page(page, gateway)
    # the card field has the focus; Tab, typing and Enter do the rest
    assert page.evaluate("document.activeElement.name") == "card_number"
    page.keyboard.type("1000000009")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type("naoki009")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-view=library][data-ready]")
    # the focus is on the first section's heading; the navigation is reached by Shift+Tab
    assert page.evaluate("document.activeElement.id") == "heading-summary"
    for _ in range(20):  # back over the links of the later sections
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "#loans":
            break
    else:
        raise AssertionError("the loans link cannot be reached from the keyboard")
    # the focus ring is visible where the keyboard is
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    page.locator("#section-loans").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "heading-loans"


def test_without_chromium_the_tests_skip_with_the_reason_and_fail_under_ci(
    monkeypatch, tmp_path: Path
) -> None:
    import demo_page_support
    import pytest

    monkeypatch.setattr(demo_page_support, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        demo_page_support.need_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI"):
        demo_page_support.need_chromium()


# WCAG's contrast ratio of each visible text's colour against the first opaque background
# behind it (the page uses no background images or transparency over text).
CONTRAST = """
() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ground = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('[hidden]')) continue;
    if (el.matches('button:disabled')) continue;
    const a = lum(rgb(style.color).slice(0, 3)), b = lum(ground(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([el.tagName, el.textContent.trim().slice(0, 20), ratio]);
  }
  return worst;
}
"""


def test_text_contrast_is_at_least_4_5_to_1(page, gateway) -> None:
    open_page(page, gateway)
    assert page.evaluate(CONTRAST) == []
    page.get_by_label("利用者カード番号").fill("1000000003")  # an expired card: an alert
    page.get_by_label("パスワード").fill("ichiro03")
    page.get_by_role("button", name="ログイン").click()
    page.locator("[role=alert]").wait_for()
    assert page.evaluate(CONTRAST) == []
    log_in(page, "1000000005", "makoto05")  # overdue loans: warnings in the summary
    for section in ("summary", "loans", "holds", "basket", "sequences"):
        show(page, section)
        assert page.evaluate(CONTRAST) == [], section
    # and the check finds a faint text when there is one
    page.evaluate("document.getElementById('page-title').style.color = '#2a7050'")
    assert [found[0] for found in page.evaluate(CONTRAST)] == ["H1"]


def test_an_idle_session_ends_on_the_login_form_with_the_reason(page, gateway) -> None:
    open_page(page, gateway)
    log_in(page, "1000000009", "naoki009")
    gateway.clock.advance(minutes=16)  # the demo's idle timeout is 15 minutes
    page.get_by_role("button", name="English").click()  # the sections are read again
    page.wait_for_selector("body[data-view=login][data-ready]")
    notice = page.locator(".login-form .notice")
    assert "logged out after a while without activity" in notice.inner_text()
    assert page.evaluate("sessionStorage.getItem('ils-demo-session')") is None
