"""Reading request bodies and writing JSON responses, the same way in every handler."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from ils_gateway.api.keys import FRESHNESS, RENDERED_KEY
from ils_gateway.domain.errors import BadRequest
from ils_gateway.services.ebooks.merge import EbookPart

M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request, model: type[M]) -> M:
    """The JSON body as ``model``; ``BadRequest`` naming the fields at fault otherwise."""
    raw = await request.read()
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise BadRequest(f"Invalid request: {problems}") from None


def json_response(body: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    """``body`` as a JSON response (pydantic models in their JSON mode, UTF-8)."""
    # pydantic-core writes the bytes directly: no intermediate dict, no second encoder.
    raw = to_json(body) if isinstance(body, BaseModel) else json.dumps(body, ensure_ascii=False)
    return web.Response(
        status=status,
        body=raw if isinstance(raw, bytes) else raw.encode(),
        content_type="application/json",
    )


def freshness_fields(request: web.Request) -> dict[str, Any]:
    """``stale``/``as_of`` for the reads made so far in this request."""
    report = request.get(FRESHNESS)
    if report is None or not report.stale:
        return {"stale": False, "as_of": None}
    return {"stale": True, "as_of": report.as_of}


def list_response(
    request: web.Request,
    kind: str,
    entries: Sequence[object],
    part: EbookPart | None,
    build: Callable[[dict[str, Any]], BaseModel],
) -> web.Response:
    """A list body (``build(freshness fields)``), rendered once per set of frozen entries
    (``api.rendered``)."""
    fields = freshness_fields(request)
    raw = request.app[RENDERED_KEY].body(
        kind, entries, part, fields["stale"], fields["as_of"], lambda: build(fields)
    )
    return web.Response(body=raw, content_type="application/json")
