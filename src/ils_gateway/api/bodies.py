"""Reading request bodies and writing JSON responses, the same way in every handler."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from ils_gateway.api import language
from ils_gateway.api.keys import FRESHNESS, RENDERED_KEY, TENANT
from ils_gateway.api.schemas.common import library_values
from ils_gateway.domain.errors import BadRequest
from ils_gateway.runtime.tenant import TenantRuntime
from ils_gateway.services.ebooks.merge import EbookPart
from ils_gateway.tenants.backends import Sip2Backend

M = TypeVar("M", bound=BaseModel)


# Limits of a JSON body (the size limit is the app's client_max_size: 413). Every body of the
# API is a flat object of a few members; these stop a parser being made to recurse, or to
# convert a number, without bound (issue 15: 1,000-deep nesting and a 5,000-digit integer
# were 500s). api/openapi.py states them.
MAX_JSON_DEPTH = 16
MAX_NUMBER_CHARS = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text) if len(text) <= MAX_NUMBER_CHARS else None
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            raise BadRequest(
                f"A number in the request body is longer than {MAX_NUMBER_CHARS} "
                "characters or not finite"
            )
        return value

    return parse


def _no_constant(name: str) -> Any:
    raise BadRequest(f"A number in the request body is not finite ({name})")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_body(request: web.Request, model: type[M], tenant: TenantRuntime | None = None) -> M:
    """The JSON body as ``model``; ``BadRequest`` naming the fields at fault otherwise, 415
    for a body that is not ``application/json``, 400 past the depth and number limits."""
    if not _is_json(request.content_type):
        raise web.HTTPUnsupportedMediaType(
            text=f"The request body must be application/json, not {request.content_type}"
        )
    raw = await request.read()
    try:
        text = raw.decode("utf-8") if raw else "null"
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid JSON (not UTF-8)") from None
    if _too_deep(text):
        raise BadRequest(f"The request body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(
            text,
            parse_int=_number(int),
            parse_float=_number(float),
            parse_constant=_no_constant,
        )
    except (json.JSONDecodeError, RecursionError):
        raise BadRequest("The request body is not valid JSON") from None
    try:
        # Strict, as the document states the types: no 0/1 for a boolean, no "5" for a number
        # (JSON's own forms stay: dates and enum values as strings, arrays for tuples).
        body = model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise BadRequest(f"Invalid request: {problems}") from None
    _check_encodable(tenant or request.get(TENANT), body)
    return body


def _check_encodable(tenant: TenantRuntime | None, body: BaseModel) -> None:
    """Each value sent to the library system must be writable in its wire encoding (a SIP2
    tenant's ``encoding``; UTF-8 for REST): 400 naming the field, before any I/O."""
    check_encodable(tenant, library_values(body))


def check_encodable(tenant: TenantRuntime | None, values: Iterable[tuple[str, str]]) -> None:
    """``BadRequest`` naming the first (name, value) of ``values`` that ``tenant``'s library
    system cannot be sent in its wire encoding (a SIP2 tenant's ``encoding``; UTF-8 for REST,
    and without a tenant)."""
    backend = tenant.config.backend if tenant is not None else None
    encoding = backend.encoding if isinstance(backend, Sip2Backend) else "utf-8"
    for name, value in values:
        try:
            value.encode(encoding)
        except UnicodeEncodeError as exc:
            raise BadRequest(
                f"Invalid request: {name}: character {exc.start + 1} cannot be sent to the "
                f"library system ({encoding})"
            ) from None


def json_response(body: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    """``body`` as a JSON response (pydantic models in their JSON mode, UTF-8)."""
    # pydantic-core writes the bytes directly (no second encoder); inside a tenant's request
    # each labelled value gets the tenant's words next to it (``api.language.labelled``).
    raw: bytes | str
    if isinstance(body, BaseModel):
        chosen = language.current()
        raw = to_json(body if chosen is None else language.labelled(body, chosen))
    else:
        raw = json.dumps(body, ensure_ascii=False)
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
    chosen = language.current()
    if chosen is not None:  # the labels differ by language: so do the bodies
        kind = f"{kind}:{chosen.lang}"
    raw = request.app[RENDERED_KEY].body(
        kind,
        entries,
        part,
        fields["stale"],
        fields["as_of"],
        lambda: build(fields) if chosen is None else language.labelled(build(fields), chosen),
    )
    return web.Response(body=raw, content_type="application/json")
