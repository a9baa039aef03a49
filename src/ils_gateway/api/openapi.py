"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ils_gateway import __version__
from ils_gateway.api.bodies import MAX_JSON_DEPTH, MAX_NUMBER_CHARS
from ils_gateway.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from ils_gateway.api.idempotency import KEY_MAX, KEY_PATTERN, WRITE_METHODS
from ils_gateway.api.middleware import STORABLE_ROUTE_NAMES
from ils_gateway.api.problems import BEARER_CHALLENGE, PROBLEM_CONTENT_TYPE
from ils_gateway.api.routes import ANONYMOUS_LOOKUP_NAMES, ROUTES
from ils_gateway.api.routing import Route
from ils_gateway.api.schemas.common import (
    LIBRARY_VALUE_MAX,
    LIBRARY_VALUE_PATTERN,
    Health,
    Problem,
)
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.labels import LABELLED_VOCABULARIES

_REF = "#/components/schemas/{model}"


def build_openapi() -> dict[str, Any]:
    """The whole document (a fresh dict each call)."""
    models: list[type[BaseModel]] = [Problem, Health]
    for route in ROUTES:
        models += [m for m in (route.body, route.response) if m is not None]
        models += [model for _, model, _ in route.also]
    unique = list(dict.fromkeys(models))
    refs, defs = models_json_schema(
        [(m, "validation" if _is_body(m) else "serialization") for m in unique],
        ref_template=_REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation = _operation(route, refs)
        paths.setdefault(route.prefix + route.path, {})[route.method.lower()] = operation
    paths["/healthz"] = {"get": _health_op("healthz", "Liveness", refs)}
    paths["/readyz"] = {"get": _health_op("readyz", "Readiness (backends reachable)", refs)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ils-gateway patron API",
            "version": __version__,
            "description": "One patron API over any library system. Errors are RFC 9457 "
            "problem documents; `type` is https://ils-gateway.dev/problems/<slug>.",
        },
        "paths": paths,
        "components": {
            "schemas": _with_labels(defs.get("$defs", {})),
            "securitySchemes": {
                "session": {"type": "http", "scheme": "bearer"},
                "kiosk": {"type": "apiKey", "in": "header", "name": "X-Kiosk-Key"},
                "operator": {"type": "http", "scheme": "bearer"},
            },
        },
    }


# The vocabularies whose values get the tenant's words beside them (api.language.labelled).
_LABELLED = frozenset(_REF.format(model=v.__name__) for v in LABELLED_VOCABULARIES.values())


def _with_labels(schemas: dict[str, Any]) -> dict[str, Any]:
    """``schemas`` with the ``<field>_label`` sibling of each property holding a labelled
    vocabulary value (``<field>_labels`` for a list of them), as every answer carries it."""
    for schema in schemas.values():
        properties = schema.get("properties", {})
        for name, prop in list(properties.items()):
            options = prop.get("anyOf", [prop])
            if any(o.get("$ref") in _LABELLED for o in options):
                properties.setdefault(
                    f"{name}_label",
                    {"type": "string", "description": f"`{name}` in the tenant's words"},
                )
            elif any(o.get("items", {}).get("$ref") in _LABELLED for o in options):
                properties.setdefault(
                    f"{name}_labels",
                    {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": f"`{name}` in the tenant's words",
                    },
                )
    return schemas


def problem_types() -> list[str]:
    """Every problem ``type`` slug the domain can produce (for the docs page)."""
    seen: list[str] = []
    stack = [GatewayError]
    while stack:
        cls = stack.pop()
        seen.append(cls.type_slug)
        stack.extend(cls.__subclasses__())
    return sorted(set(seen))


def _is_body(model: type[Any]) -> bool:
    return any(route.body is model for route in ROUTES)


# Every operation answers in the language Accept-Language chooses (api.language).
ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "Language of problem `title`/`detail` and of every `*_label`: `ja` or `en` "
    "(RFC 9110 quality values; `ja-JP`, `en-US` count). Neither, `*` or absent: the tenant's "
    "`[tenants.language] default` (`ja` unless set). The answer says `Content-Language` and "
    "`Vary: Accept-Language`. Labels are the tenant's words (`[tenants.labels.ja|en.…]`): "
    "each field holding a hold status, refusal reason, block, material type or contact "
    "method has a `<field>_label` sibling (a list of them `<field>_labels`).",
    "schema": {"type": "string", "examples": ["ja", "en-US,en;q=0.9"]},
}


def _operation(route: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    params = [_path_param(p) for p in _path_names(route.prefix + route.path)]
    params += [
        {"name": q.name, "in": "query", "required": q.required, "description": q.description,
         "schema": q.schema}
        for q in route.query
    ]  # fmt: skip
    params.append(dict(ACCEPT_LANGUAGE))
    op: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": params,
        "responses": {
            str(route.status): _success(route, refs),
            "default": {
                "description": "Problem",
                "content": {
                    PROBLEM_CONTENT_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}
                },
            },
        },
    }
    for status, model, description in route.also:
        schema = refs[(model, "serialization")]
        op["responses"][str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    if route.session:
        op["security"] = [{"session": []}, {"session": [], "kiosk": []}]
    elif route.name == "create_session":
        # A kiosk logs in with its key (a kiosk session); a portal without.
        op["security"] = [{}, {"kiosk": []}]
    elif route.tag == "operator":
        op["security"] = [{"operator": []}]
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "description": _BODY_LIMITS,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
        op["responses"]["400"] = _problem("The body is invalid (the problem names the field)")
        op["responses"]["413"] = _problem("The body is larger than the server's limit")
        op["responses"]["415"] = _problem("The body is not application/json")
    if route.name in ANONYMOUS_LOOKUP_NAMES:
        op["responses"]["429"] = _retry_later(
            "Too many lookups without a session from this client address (per tenant; the "
            "server's limit, default 300 a minute): `lookup-rate-limited`; retry after "
            "Retry-After seconds",
            "Seconds until the limit's window ends",
        )
    elif route.name in _TOO_MANY:
        op["responses"]["429"] = _retry_later(*_TOO_MANY[route.name])
    op["responses"]["503"] = _retry_later(
        "The library system (or the e-library) cannot be reached or its breaker is open "
        "(`backend-unavailable`), or writes are paused for the library's maintenance window "
        "(`maintenance`, with `until`): retry after Retry-After seconds",
        "Seconds until the library system is worth asking again, or until the maintenance "
        "window ends",
        minimum=0,
    )
    if route.session and route.method in WRITE_METHODS:
        # Only a patron's writes are keyed (api.idempotency): the login and the bridge ignore it.
        op["parameters"].append(
            {"name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
             "description": "Repeats of the same request get the first answer (kept 24 h)",
             "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX,
                        "pattern": KEY_PATTERN}}
        )  # fmt: skip
    unauthorized = _UNAUTHORIZED.get(
        route.name, _UNAUTHORIZED["session"] if route.session else None
    )
    if unauthorized is not None:
        op["responses"]["401"] = _problem(unauthorized)
        op["responses"]["401"]["headers"] = {"WWW-Authenticate": _CHALLENGE}
    _add_response_headers(op, storable=route.name in STORABLE_ROUTE_NAMES)
    return op


# The other 429 answers, each with Retry-After (api.problems sends it with every error that
# says when to retry): the login guard's (services.account) and the bridge's (its rate limits
# and the login guard's, as the bridge logs the patron in).
_TOO_MANY = {
    "create_session": (
        "Too many failed logins for this card or from this client address: `login-locked` "
        "(locked for the tenant's `lock_minutes`) or `login-throttled` (a growing delay before "
        "the lock); nothing reached the library system, the same for every card, known or "
        "not; retry after Retry-After seconds",
        "Seconds until the lock or the delay ends",
    ),
    "patron_check": (
        "Too many checks from this client or for this card (`rate-limited`), or too many "
        "failed logins for this card on any face: `login-locked` or `login-throttled`; "
        "nothing reached the library system; retry after Retry-After seconds",
        "Seconds until the limit's window, the lock or the delay ends",
    ),
}


def _retry_later(description: str, seconds: str, *, minimum: int = 1) -> dict[str, Any]:
    """A problem answer that always carries ``Retry-After`` (whole seconds)."""
    answer = _problem(description)
    answer["headers"] = {
        "Retry-After": {
            "description": seconds,
            "required": True,
            "schema": {"type": "integer", "minimum": minimum},
        }
    }
    return answer


# Who answers 401 and why (api.problems sends the Bearer challenge with every 401).
_UNAUTHORIZED = {
    "session": "No session, an expired one, or (from a kiosk) a wrong kiosk key",
    "create_session": "The card or password is wrong (one answer for both), or the kiosk key",
    "patron_check": "The bridge key is missing or wrong",
    "call_list": "The operator key is missing or wrong",
    "call_done": "The operator key is missing or wrong",
}
_CHALLENGE = {
    "description": "The Bearer challenge",
    "required": True,
    "schema": {"type": "string", "enum": [BEARER_CHALLENGE]},
}


def _add_response_headers(op: dict[str, Any], *, storable: bool) -> None:
    """The headers the middleware puts on every response of ``op`` (errors too)."""
    for response in op["responses"].values():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {
            "description": "The request's id (the one given, when well-formed)",
            "required": True,
            "schema": {"type": "string"},
        }
        if not storable:
            headers["Cache-Control"] = {
                "description": "A personal or error answer: never stored",
                "required": True,
                "schema": {"type": "string", "enum": ["no-store"]},
            }


def _success(route: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    if route.response is not None:
        mode = "validation" if _is_body(route.response) else "serialization"
        schema = refs[(route.response, mode)]
        return {"description": route.summary, "content": {route.media_type: {"schema": schema}}}
    if route.media_type != "application/json":
        return {
            "description": route.summary,
            "content": {route.media_type: {"schema": {"type": "string"}}},
        }
    return {"description": route.summary}


def _health_op(name: str, summary: str, refs: dict[Any, Any]) -> dict[str, Any]:
    schema = refs[(Health, "serialization")]
    op = {
        "operationId": name,
        "summary": summary,
        "tags": ["health"],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            "503": {
                "description": "Not ready",
                "content": {"application/json": {"schema": schema}},
            },
            "default": _problem("Problem"),
        },
    }
    _add_response_headers(op, storable=name in STORABLE_ROUTE_NAMES)
    return op


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _path_param(name: str) -> dict[str, Any]:
    # api.routes checks every path parameter as a LibraryValue (ids reach a SIP2 field).
    schema = {
        "type": "string",
        "minLength": 1,
        "maxLength": LIBRARY_VALUE_MAX,
        "pattern": LIBRARY_VALUE_PATTERN,
    }
    return {"name": name, "in": "path", "required": True, "schema": schema}


# What api.bodies.read_body refuses before the body's schema is looked at.
_BODY_LIMITS = (
    "JSON only (`application/json`, else 415); larger than the server's body limit (default "
    f"64 KiB): 413; nested deeper than {MAX_JSON_DEPTH} levels, or a number longer than "
    f"{MAX_NUMBER_CHARS} characters or not finite: 400."
)


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model="Problem")}
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}}}
