"""``/openapi.json`` and a self-contained docs page (no CDN) rendered from the same document."""

from __future__ import annotations

import html

from aiohttp import web

from ils_gateway.api.bodies import json_response
from ils_gateway.api.openapi import build_openapi, problem_types


async def openapi_json(request: web.Request) -> web.Response:
    """GET /openapi.json."""
    return json_response(build_openapi())


async def docs_page(request: web.Request) -> web.Response:
    """GET /docs: every operation with its method, path and summary, and the problem types."""
    doc = build_openapi()
    rows = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td>{html.escape(op['summary'])}</td></tr>"
            )
    problems = "".join(f"<li><code>{html.escape(t)}</code></li>" for t in problem_types())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(doc["info"]["title"])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.2em .6em}}</style>
</head><body><h1>{html.escape(doc["info"]["title"])} {html.escape(doc["info"]["version"])}</h1>
<p>{html.escape(doc["info"]["description"])} Machine-readable:
<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table>{"".join(rows)}</table><h2>Problem types</h2><ul>{problems}</ul></body></html>"""
    return web.Response(text=page, content_type="text/html")
