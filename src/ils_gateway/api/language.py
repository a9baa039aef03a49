"""The language of an answer: ``Accept-Language`` against the tenant's default.

The API's outermost middleware (``api.middleware``, through ``choose``/``enter``/``say``;
``language_middleware`` for another app) picks Japanese or English for the request: the first of
``ja``/``en`` in ``Accept-Language`` by quality (``ja-JP``, ``en-GB`` count; ``*`` and no header
mean the tenant's ``[tenants.language] default``, ``ja`` unless set; paths outside a tenant
default to English). It keeps the choice (and the tenant's labels) for the request in a context
variable that problem documents (``api.problems``) and labelled bodies (``labelled``) read, and
sets ``Content-Language`` and ``Vary: Accept-Language`` on every answer.

``labelled(model)`` is a body as JSON with the tenant's words next to every labelled value: a
field holding a hold status, refusal reason, block, material type or contact method gets a
``<field>_label`` sibling, a list of them ``<field>_labels``.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar, Token
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, get_args, get_origin

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.labels import LABELLED_VOCABULARIES, Labels, Language
from ils_gateway.runtime.keys import GATEWAY_KEY

if TYPE_CHECKING:
    from ils_gateway.runtime.tenant import TenantRuntime

__all__ = [
    "AnswerLanguage",
    "current",
    "labelled",
    "language_middleware",
    "negotiate",
]

_LABELLED_TYPES = frozenset(LABELLED_VOCABULARIES.values())
_SUPPORTED: tuple[Language, ...] = ("ja", "en")


@dataclass(frozen=True)
class AnswerLanguage:
    """The language chosen for one request, and the tenant's labels (None outside a tenant)."""

    lang: Language
    labels: Labels | None = None


_CURRENT: ContextVar[AnswerLanguage | None] = ContextVar("answer_language", default=None)


def current() -> AnswerLanguage | None:
    """The language of the request being answered (None outside a request)."""
    return _CURRENT.get()


def negotiate(header: str | None, default: Language) -> Language:
    """The language an ``Accept-Language`` header asks for among ``ja`` and ``en``."""
    if not header:
        return default
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary == "*":
            choice: Language | None = default
        else:
            choice = next((lang for lang in _SUPPORTED if lang == primary), None)
        if choice is None or quality <= 0:
            continue
        # higher quality first; on a tie, the earlier entry
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, choice)
    return best[2] if best is not None else default


# Choices by (Accept-Language, default): a portal sends the same few headers again and again.
# Bounded: past the limit a new header is negotiated and not remembered.
_NEGOTIATED: dict[tuple[str | None, Language], Language] = {}
_NEGOTIATED_MAX = 1024
# The answer languages by tenant labels and language: one object each, not one per request.
_ANSWERS: dict[tuple[int, Language], tuple[Labels | None, AnswerLanguage]] = {}


def _negotiated(header: str | None, default: Language) -> Language:
    key = (header, default)
    lang = _NEGOTIATED.get(key)
    if lang is None:
        lang = negotiate(header, default)
        if len(_NEGOTIATED) < _NEGOTIATED_MAX:
            _NEGOTIATED[key] = lang
    return lang


def answer_language(header: str | None, default: Language, labels: Labels | None) -> AnswerLanguage:
    """The ``AnswerLanguage`` for ``Accept-Language: header`` (``default`` when it names
    neither language) with ``labels`` (the tenant's; None outside a tenant)."""
    lang = _negotiated(header, default)
    key = (id(labels), lang)
    known = _ANSWERS.get(key)
    if known is not None and known[0] is labels:
        return known[1]
    chosen = AnswerLanguage(lang, labels)
    _ANSWERS[key] = (labels, chosen)  # keeps ``labels`` alive while its id is a key
    return chosen


def choose(request: web.Request, runtime: TenantRuntime | None) -> AnswerLanguage:
    """The request's answer language: outside a tenant English by default, for an unknown
    tenant Japanese, for ``runtime``'s tenant its default, with its labels."""
    header = request.headers.get("Accept-Language")
    if runtime is None:
        in_tenant = request.match_info.get("tenant") is not None
        return answer_language(header, "ja" if in_tenant else "en", None)
    key = (header, id(runtime))
    known = _CHOSEN.get(key)
    if known is not None and known[0] is runtime:
        return known[1]
    chosen = answer_language(header, runtime.config.language.default, runtime.context.labels)
    if len(_CHOSEN) < _NEGOTIATED_MAX:
        _CHOSEN[key] = (runtime, chosen)  # keeps ``runtime`` alive while its id is a key
    return chosen


# The choice by (header, tenant runtime): on every tenant request, one look-up.
_CHOSEN: dict[tuple[str | None, int], tuple[TenantRuntime, AnswerLanguage]] = {}


def enter(chosen: AnswerLanguage) -> Token[AnswerLanguage | None]:
    """Make ``chosen`` the current request's language (until ``leave``)."""
    return _CURRENT.set(chosen)


def leave(token: Token[AnswerLanguage | None]) -> None:
    """Undo ``enter``."""
    _CURRENT.reset(token)


def say(response: web.StreamResponse, chosen: AnswerLanguage) -> None:
    """``Content-Language`` and ``Vary: Accept-Language`` on ``response``."""
    headers = response.headers
    headers["Content-Language"] = chosen.lang
    vary = headers.get("Vary")
    if vary is None:
        headers["Vary"] = "Accept-Language"
    elif "accept-language" not in vary.lower():
        headers["Vary"] = vary + ", Accept-Language"


def _tenant_language(request: web.Request) -> AnswerLanguage:
    tenant_id = request.match_info.get("tenant")
    runtime = None
    if tenant_id is not None:
        with contextlib.suppress(GatewayError):
            runtime = request.app[GATEWAY_KEY].tenant(tenant_id)
    return choose(request, runtime)


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Choose the answer's language, keep it for the request, and say it on the answer.

    The API's app does this in ``api.middleware.gateway_middleware`` (one middleware, one
    tenant look-up per request); this one is for an app without it."""
    chosen = _tenant_language(request)
    token = enter(chosen)
    try:
        response = await handler(request)
    finally:
        leave(token)
    say(response, chosen)
    return response


def labelled(body: BaseModel, chosen: AnswerLanguage | None = None) -> dict[str, Any]:
    """``body`` as JSON-ready data with ``<field>_label`` next to each labelled value, in the
    request's language and the tenant's words."""
    chosen = chosen or current()
    data = body.model_dump(mode="json")
    if chosen is None:
        return data
    labels = chosen.labels or Labels()
    _add_labels(body, data, labels, chosen.lang)
    return data


def _add_labels(model: BaseModel, data: dict[str, Any], labels: Labels, lang: Language) -> None:
    for name, field in type(model).model_fields.items():
        if name not in data:
            continue
        value = getattr(model, name)
        if isinstance(value, (list, tuple)) and not value and _labelled_list(field.annotation):
            data.setdefault(f"{name}_labels", [])  # an empty list of blocks has no labels
            continue
        _label_value(name, value, data, data[name], labels, lang)


def _labelled_list(annotation: Any) -> bool:
    """Whether a field's type is a list (or tuple) of a labelled vocabulary."""
    return get_origin(annotation) in (list, tuple) and any(
        arg in _LABELLED_TYPES for arg in get_args(annotation)
    )


def _label_value(
    name: str, value: Any, parent: dict[str, Any], dumped: Any, labels: Labels, lang: Language
) -> None:
    if isinstance(value, StrEnum):
        if type(value) in _LABELLED_TYPES:
            parent.setdefault(f"{name}_label", labels.label(value, lang))
    elif isinstance(value, BaseModel):
        if isinstance(dumped, dict):
            _add_labels(value, dumped, labels, lang)
    elif isinstance(value, (list, tuple)) and isinstance(dumped, list):
        if value and all(isinstance(v, StrEnum) and type(v) in _LABELLED_TYPES for v in value):
            parent.setdefault(f"{name}_labels", [labels.label(v, lang) for v in value])
            return
        for item, item_dumped in zip(value, dumped, strict=False):
            if isinstance(item, BaseModel) and isinstance(item_dumped, dict):
                _add_labels(item, item_dumped, labels, lang)
    elif isinstance(value, dict) and isinstance(dumped, dict):
        for key, item in value.items():
            if isinstance(item, BaseModel) and isinstance(dumped.get(key), dict):
                _add_labels(item, dumped[key], labels, lang)
