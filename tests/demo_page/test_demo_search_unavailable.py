"""A library whose catalogue has no search source (a SIP2 library without SRU): the search
section says why, in the gateway's words and the patron's language, instead of a form that
cannot work (issue 20)."""

from __future__ import annotations

import pytest
from demo_page_support import DemoGateway

from ils_gateway.tenants.models import TenantConfig


class NoCatalogueGateway(DemoGateway):
    """The embedded demo with ``[tenants.catalog] source = "none"``."""

    def adjust(self, tenant: TenantConfig) -> TenantConfig:
        catalog = tenant.catalog.model_copy(update={"source": "none"})
        return tenant.model_copy(update={"catalog": catalog})


@pytest.fixture(scope="module")
def gateway_class() -> type[DemoGateway]:
    return NoCatalogueGateway


def test_search_section_says_why_there_is_no_search(page, gateway) -> None:
    page.goto(f"{gateway.base_url}/demo")
    page.wait_for_selector("body[data-view=login][data-ready]")
    page.get_by_label("利用者カード番号").fill("1000000001")
    page.get_by_label("パスワード").fill("hanako01")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_selector("body[data-view=library][data-ready]")
    page.locator("nav a[href='#search']").click()
    panel = page.locator("#section-search")
    panel.get_by_label("キーワード (書名・著者名・ISBN)").fill("猫")
    panel.get_by_role("button", name="検索").click()
    alert = panel.locator("[role=alert]")
    alert.wait_for()
    assert alert.get_attribute("data-problem") == "search-unavailable"
    assert alert.inner_text().strip()
    assert panel.get_by_role("search").count() == 0  # the form that cannot work is gone
