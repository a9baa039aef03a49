"""The demo My Library page (issue 20): static files served at ``/demo``, built on the public
API alone (the page's JavaScript calls ``/v1/tenants/{tenant}/…`` like any portal would).

- ``GET /demo`` (or ``/demo/``) — the one tenant's page (a redirect), or a list when several
  have it on;
- ``GET /demo/{library}/`` — the page for a tenant whose ``demo_page`` is on (the embedded demo's
  is; a configured tenant's is off unless its file says ``demo_page = true``);
- ``GET /demo/_static/{path}`` — the page's scripts, styles and dictionaries (``_`` cannot begin
  a tenant id, so no tenant's page is shadowed).

Everything else, and all of it when no tenant has the page on, is ``404``. Every answer carries
a Content-Security-Policy that allows only the gateway's own scripts, styles and API (no inline
script, no third-party resource), and may not be framed.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

from aiohttp import web

from ils_gateway.domain.errors import NotFound
from ils_gateway.runtime.keys import SETTINGS_KEY
from ils_gateway.tenants.models import TenantConfig

STATIC_DIR = Path(__file__).resolve().parent.parent / "demo_page" / "static"
PREFIX = "/demo"
STATIC_PREFIX = "/demo/_static/"
# blob: for the card barcode, fetched with the session's token and shown as an object URL.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",  # module scripts need a JavaScript type (strict MIME checking)
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@functools.cache
def files() -> dict[str, Path]:
    """The files the page may serve, by their path under ``_static/`` (nothing else is)."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): path
        for path in sorted(STATIC_DIR.rglob("*"))
        if path.is_file() and path.suffix in _TYPES and path.name != "index.html"
    }


@functools.cache
def _index() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def add_demo_page(app: web.Application) -> None:
    """Register the page's routes (each answers 404 unless a tenant has the page on)."""
    app.router.add_get(PREFIX, demo_index, name="demo_index")
    app.router.add_get(PREFIX + "/", demo_index, name="demo_index_slash")
    app.router.add_get(STATIC_PREFIX + "{path:.+}", demo_static, name="demo_static")
    app.router.add_get(PREFIX + "/{library}", demo_slash, name="demo_slash")
    app.router.add_get(PREFIX + "/{library}/", demo_library, name="demo_library")


def _enabled(request: web.Request) -> list[TenantConfig]:
    return [t for t in request.app[SETTINGS_KEY].tenants if t.demo_page]


def _answer(body: bytes | str, content_type: str) -> web.Response:
    data = body.encode() if isinstance(body, str) else body
    response = web.Response(body=data, content_type=content_type, charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


def _not_found() -> NotFound:
    return NotFound("No such page")


async def demo_index(request: web.Request) -> web.StreamResponse:
    """GET /demo: the page of the one tenant that has it, or a list of them."""
    enabled = _enabled(request)
    if not enabled:
        raise _not_found()
    if len(enabled) == 1:
        raise web.HTTPFound(f"{PREFIX}/{enabled[0].id}/")
    links = "".join(
        f'<li><a href="{PREFIX}/{html.escape(t.id)}/" lang="ja">{html.escape(t.name)}</a>'
        + (f' <span lang="en">{html.escape(t.name_en)}</span>' if t.name_en else "")
        + "</li>"
        for t in enabled
    )
    page = (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>My Library (demo)</title><link rel="stylesheet" href="{STATIC_PREFIX}page.css">'
        f'</head><body><main class="page"><h1>My Library (demo)</h1><ul>{links}</ul></main>'
        "</body></html>"
    )
    return _answer(page, "text/html")


async def demo_slash(request: web.Request) -> web.StreamResponse:
    """GET /demo/{library}: to the page's own address (relative links need the slash)."""
    _tenant(request)
    raise web.HTTPFound(f"{PREFIX}/{request.match_info['library']}/")


async def demo_library(request: web.Request) -> web.StreamResponse:
    """GET /demo/{library}/: the page, told its tenant in ``<meta>`` (no inline script)."""
    tenant = _tenant(request)
    page = _index()
    values = {
        "{{TENANT_ID}}": tenant.id,
        "{{TENANT_NAME}}": tenant.name,
        "{{TENANT_NAME_EN}}": tenant.name_en or tenant.name,
        "{{DEFAULT_LANGUAGE}}": tenant.language.default,
        "{{STATIC}}": STATIC_PREFIX,
    }
    for placeholder, value in values.items():
        page = page.replace(placeholder, html.escape(value))
    return _answer(page, "text/html")


def _tenant(request: web.Request) -> TenantConfig:
    library = request.match_info["library"]
    for tenant in _enabled(request):
        if tenant.id == library:
            return tenant
    raise _not_found()


async def demo_static(request: web.Request) -> web.StreamResponse:
    """GET /demo/_static/{path}: one of the page's files."""
    path = files().get(request.match_info["path"])
    if path is None or not _enabled(request):
        raise _not_found()
    return _answer(path.read_bytes(), _TYPES[path.suffix])
