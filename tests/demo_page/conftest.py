"""Fixtures of the demo page's browser tests: one gateway and one Chromium per test module
(module scope: session-scoped ones broke the pytest-asyncio tests of other directories), a
fresh browser context (its own sessionStorage) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_page_support import CHROMIUM, CHROMIUM_ARGS, DemoGateway, need_chromium

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a ``browser`` test (``-m "not browser"`` leaves them out)."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def gateway_class() -> type[DemoGateway]:
    """The gateway a module's tests run against (a module may override it)."""
    return DemoGateway


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, gateway_class: type[DemoGateway]
) -> Iterator[DemoGateway]:
    need_chromium()
    served = gateway_class(tmp_path_factory.mktemp("demo-page-store"))
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser(gateway: DemoGateway) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests' screenshots go (printed with -s; kept with pytest's temporary dirs)."""
    directory = tmp_path_factory.mktemp("demo-page-screenshots")
    print(f"demo page screenshots: {directory}")
    return directory


@pytest.fixture
def page(browser: Any, gateway: DemoGateway) -> Iterator[Any]:
    """A page in a context of its own, failing the test on any script error or CSP report."""
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="ja-JP")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: Any) -> None:
        # a refused API call is logged as a failed resource: the tests look at what it shows
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    tab.on("console", console)
    tab.errors = errors
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors
