"""How the gateway serves the demo My Library page (issue 20): on for a tenant whose file says
``demo_page = true`` (and the embedded demo), 404 otherwise; a strict Content-Security-Policy on
every answer; module scripts with a JavaScript type; every file the page loads is one of the
package's files (so it is in the wheel), none reaches outside the gateway, none is inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ils_gateway.api.demo_page import CSP, STATIC_DIR, files
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.loader import TenantConfigError, parse_tenants

ON = "demo_page = true"


def _csp(header: str) -> dict[str, str]:
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in header.split(";"))
        if part
    }


async def test_page_and_files_are_served_with_a_strict_policy(make_client) -> None:
    client = await make_client(fields=ON)
    index = await client.get("/demo", allow_redirects=False)
    assert index.status == 302 and index.headers["Location"] == "/demo/koha-demo/"
    page = await client.get("/demo/koha-demo/")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert '<meta name="ils-tenant" content="koha-demo">' in html
    assert "{{" not in html
    policy = _csp(page.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no hosts
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = await client.get("/demo/_static/js/main.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"  # module scripts need a JavaScript type
    assert script.headers["Content-Security-Policy"] == CSP
    style = await client.get("/demo/_static/page.css")
    assert style.content_type == "text/css"


async def test_off_unless_the_tenant_turns_it_on(make_client) -> None:
    client = await make_client()  # the koha-demo example: no demo_page
    for path in ("/demo", "/demo/", "/demo/koha-demo/", "/demo/_static/js/main.js"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404, path
        assert response.content_type == "application/problem+json"


async def test_only_the_packages_files_and_only_on_tenants_that_have_it(make_client) -> None:
    client = await make_client(fields=ON)
    for path in (
        "/demo/other-library/",
        "/demo/_static/../demo_page.py",
        "/demo/_static/js/nothing.js",
        "/demo/_static/index.html",  # only as a tenant's page, with its meta filled in
        "/demo/_static/%2e%2e/%2e%2e/api/demo_page.py",
    ):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 404, path


async def test_the_embedded_demo_has_it_on(aiohttp_client) -> None:
    from ils_gateway.api.app import create_app

    settings, _acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/demo", allow_redirects=False)
    assert response.headers["Location"] == "/demo/demo/"
    page = await client.get("/demo/demo/")
    assert page.status == 200
    assert 'content="デモ市立図書館"' in await page.text()


def test_the_setting_is_validated() -> None:
    text = (Path(__file__).resolve().parents[2] / "examples/tenants/koha-demo.toml").read_text(
        encoding="utf-8"
    )
    with pytest.raises(TenantConfigError) as refused:
        parse_tenants(text.replace('id = "koha-demo"\n', 'id = "koha-demo"\ndemo_page = "yes"\n'))
    assert "demo_page" in str(refused.value.problems)
    on = parse_tenants(text.replace('id = "koha-demo"\n', f'id = "koha-demo"\n{ON}\n'))
    assert on.tenants[0].demo_page is True
    assert parse_tenants(text).tenants[0].demo_page is False


_IMPORT = re.compile(r"""(?:import|from)\s+(?:[\w{}\s,*]+from\s+)?['"](\.{1,2}/[^'"]+)['"]""")


def test_every_module_the_page_imports_is_a_file_of_the_package() -> None:
    served = files()
    assert {"js/main.js", "page.css", "js/i18n/ja.js", "js/i18n/en.js"} <= set(served)
    for name, path in served.items():
        if not name.endswith(".js"):
            continue
        for target in _IMPORT.findall(path.read_text(encoding="utf-8")):
            resolved = (path.parent / target).resolve().relative_to(STATIC_DIR).as_posix()
            assert resolved in served, f"{name} imports {target}, which is not served"


def test_nothing_inline_and_nothing_from_elsewhere() -> None:
    index = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)", index) == []  # no inline script
    assert " style=" not in index and "<style" not in index
    assert re.findall(r"\bon[a-z]+=", index) == []  # no inline handlers
    for path in [STATIC_DIR / "index.html", *files().values()]:
        text = path.read_text(encoding="utf-8")
        # no third-party resource: the only absolute addresses are the SVG namespace
        urls = set(re.findall(r"https?://[^\s'\"<>)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert urls == set(), (path.name, urls)
        assert ".innerHTML" not in text and "eval(" not in text, path.name


def test_both_dictionaries_have_the_same_words() -> None:
    keys = {}
    for lang in ("ja", "en"):
        text = (STATIC_DIR / "js" / "i18n" / f"{lang}.js").read_text(encoding="utf-8")
        keys[lang] = set(re.findall(r"^\s+'?([\w.]+)'?:", text, re.MULTILINE))
    assert keys["ja"] == keys["en"]
    used = set()
    for path in files().values():
        if path.suffix == ".js":
            used |= set(re.findall(r"""\bt\(\s*'([\w.]+)'""", path.read_text(encoding="utf-8")))
    assert used <= keys["ja"], used - keys["ja"]


async def test_several_tenants_with_the_page_are_listed(aiohttp_client, koha_url, clock) -> None:
    from api_helpers import tenant_toml

    from ils_gateway.api.app import create_app
    from ils_gateway.runtime.settings import GatewaySettings
    from ils_gateway.tenants.loader import TenantRegistry

    first = parse_tenants(tenant_toml(koha_url, fields=ON)).tenants[0]
    second = first.model_copy(update={"id": "koha-two", "name": "第二<図書館>", "name_en": None})
    hidden = first.model_copy(update={"id": "koha-off", "demo_page": False})
    registry = TenantRegistry([first, second, hidden])
    client = await aiohttp_client(create_app(GatewaySettings(tenants=registry, clock=clock)))
    listing = await client.get("/demo", allow_redirects=False)
    assert listing.status == 200
    assert listing.headers["Content-Security-Policy"] == CSP
    text = await listing.text()
    assert '<a href="/demo/koha-demo/"' in text and '<a href="/demo/koha-two/"' in text
    assert "第二&lt;図書館&gt;" in text  # names are escaped
    assert "koha-off" not in text
    assert (await client.get("/demo/koha-off/")).status == 404
    assert (await client.get("/demo/koha-two/")).status == 200
