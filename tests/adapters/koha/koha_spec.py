"""Koha's published REST definition (Swagger 2.0), loaded from ``shared/reference/koha``.

Tests hold every request the Koha adapter sends and every answer the Koha simulator gives
against this definition, not against a copy typed into the tests. openapi-core reads OpenAPI
3 only, so this module does the Swagger 2.0 part itself: PyYAML loads the files, a small
resolver follows ``$ref`` across files (JSON pointers, relative paths), and ``jsonschema``
(draft 4, which Swagger 2.0 schemas are a dialect of) checks bodies and parameters.

Only the routes whose path file is shipped are loaded (the root names ~90 that are not; see
the MANIFEST there). Query parameters the definition does not declare are rejected: Koha's
Mojolicious plugin would ignore them, but for us an undeclared name is a typo.

One route comes from outside the shipped subset: ``GET /biblios/{biblio_id}``, which the
adapter uses for titles (checkout, hold and item objects carry none, and the only ``biblio``
embed the subset declares is on ``/items/{item_id}/bundled_items``). The shipped root declares
the path and its ``biblio_id_pp`` parameter; the operation itself is in ``paths/biblios.yaml``,
which the subset lacks. ``BIBLIO_ROUTE`` holds what that file says of the operation (read in
the search index's copy of Koha-Community/Koha ``api/v1/swagger/paths/biblios.yaml`` at commit
3fc1f27524a4a0f0dfc6385b289c252502e45fd6, the commit of the shipped root): the content types
it produces and its statuses. Its 200 has no schema; Koha's controller (Biblios#get) renders
``$c->objects->to_api($biblio)`` as JSON when asked for ``application/json``, so such answers
are held against ``BIBLIO_TO_API``, our reading of Koha::Biblio's API names (not Koha's text).

``NEWER_KOHA`` lists, separately and on purpose, what newer Koha servers answer beyond this
snapshot (DELETE /holds/{id} with ``x-koha-override: cancellation-request-flow`` answers 202
for a waiting hold); a check passes ``allow_newer=True`` to accept those.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
_SWAGGER = Path("shared") / "reference" / "koha" / "api" / "v1" / "swagger"


def _reference_dir() -> Path:
    """``shared/`` beside the repository, or beside a folder holding it (a git worktree)."""
    for folder in REPO_ROOT.parents:
        if (folder / _SWAGGER).is_dir():
            return folder / _SWAGGER
    return REPO_ROOT / ".." / _SWAGGER


KOHA_REFERENCE = _reference_dir()
ROOT_FILE = KOHA_REFERENCE / "swagger.yaml"

_HTTP_METHODS = ("get", "put", "post", "delete", "patch")

_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"not a full-date: {value!r}")
    return True


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        if not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", value
        ):
            raise ValueError(f"not a date-time: {value!r}")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


class SpecViolation(AssertionError):
    """A request or response that Koha's definition does not allow."""


@dataclass
class Operation:
    """One method on one path template, with its parameters and responses resolved."""

    method: str
    template: str
    pattern: re.Pattern[str]
    parameters: list[dict[str, Any]]
    responses: dict[str, dict[str, Any]]
    operation_id: str = ""
    literal_segments: int = 0
    produces: tuple[str, ...] = ()


@dataclass
class _Loader:
    """Loads YAML files once each and resolves ``$ref`` across them."""

    cache: dict[Path, Any] = field(default_factory=dict)

    def load(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self.cache:
            self.cache[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
        return self.cache[path]

    def resolve(self, node: Any, base: Path, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(x, base, seen) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target, target_base = self._follow(node["$ref"], base)
            key = f"{target_base}#{node['$ref']}"
            if key in seen:
                raise SpecViolation(f"recursive $ref {node['$ref']}")
            return self.resolve(copy.deepcopy(target), target_base, (*seen, key))
        return {k: self.resolve(v, base, seen) for k, v in node.items()}

    def _follow(self, ref: str, base: Path) -> tuple[Any, Path]:
        file_part, _, pointer = ref.partition("#")
        target_file = (base.parent / file_part).resolve() if file_part else base
        doc = self.load(target_file)
        for token in [t for t in pointer.split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            doc = doc[token]
        return doc, target_file


class KohaSpec:
    """The shipped subset of Koha's v1 REST definition, ready to check traffic against."""

    def __init__(self, root_file: Path = ROOT_FILE) -> None:
        loader = _Loader()
        root = loader.load(root_file)
        self.base_path: str = root["basePath"]
        self.error_schema: dict[str, Any] = loader.resolve(
            {"$ref": "#/definitions/error"}, root_file.resolve()
        )
        self.operations: list[Operation] = []
        for template, ref in root["paths"].items():
            file_part = ref["$ref"].partition("#")[0]
            if not (root_file.parent / file_part).exists():
                continue
            path_item = loader.resolve(ref, root_file.resolve())
            for method in _HTTP_METHODS:
                if method in path_item:
                    self.operations.append(self._operation(template, method, path_item[method]))
        self.operations.append(self._biblio_operation(root, loader, root_file.resolve()))
        self.operations.append(self._password_operation(root, loader, root_file.resolve()))
        # Literal segments beat templated ones (/checkouts/availability vs /checkouts/{id}).
        self.operations.sort(key=lambda op: -op.literal_segments)

    def _biblio_operation(self, root: dict[str, Any], loader: _Loader, base: Path) -> Operation:
        template = BIBLIO_ROUTE["template"]
        if template not in root["paths"]:
            raise SpecViolation(f"the shipped root no longer declares {template}")
        error = {"$ref": "#/definitions/error"}
        declared = {
            "parameters": [{"$ref": f"#/parameters/{BIBLIO_ROUTE['path_parameter']}"}],
            "produces": list(BIBLIO_ROUTE["produces"]),
            "responses": {
                str(status): (
                    {"description": "A biblio"}
                    if status == 200
                    else {"description": "", "schema": NOT_ACCEPTABLE}
                    if status == 406
                    else {"description": "", "schema": error}
                )
                for status in BIBLIO_ROUTE["statuses"]
            },
            "operationId": "getBiblio",
        }
        return self._operation(template, "get", loader.resolve(declared, base))

    def _password_operation(self, root: dict[str, Any], loader: _Loader, base: Path) -> Operation:
        template = PASSWORD_ROUTE["template"]
        if template not in root["paths"]:
            raise SpecViolation(f"the shipped root no longer declares {template}")
        error = {"$ref": "#/definitions/error"}
        declared = {
            "parameters": [
                {"$ref": f"#/parameters/{PASSWORD_ROUTE['path_parameter']}"},
                {"name": "body", "in": "body", "schema": PASSWORD_ROUTE["body"]},
            ],
            "produces": ["application/json"],
            "responses": {
                str(status): (
                    {"description": "Password changed"}
                    if status == 200
                    else {"description": "", "schema": error}
                )
                for status in PASSWORD_ROUTE["statuses"]
            },
            "operationId": "setPatronPassword",
        }
        return self._operation(template, "post", loader.resolve(declared, base))

    @staticmethod
    def _operation(template: str, method: str, op: dict[str, Any]) -> Operation:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        literal = sum(1 for s in template.split("/") if s and not s.startswith("{"))
        return Operation(
            method=method.upper(),
            template=template,
            pattern=re.compile(regex),
            parameters=op.get("parameters", []),
            responses={str(k): v for k, v in op.get("responses", {}).items()},
            operation_id=op.get("operationId", ""),
            literal_segments=literal,
            produces=tuple(op.get("produces", ())),
        )

    @property
    def templates(self) -> set[str]:
        return {op.template for op in self.operations}

    def find(self, method: str, url_path: str) -> tuple[Operation, dict[str, str]]:
        """The operation a request line addresses, with its path parameters."""
        if not url_path.startswith(self.base_path + "/"):
            raise SpecViolation(f"{url_path} is outside basePath {self.base_path}")
        path = url_path[len(self.base_path) :]
        path_matches = [(op, m) for op in self.operations if (m := op.pattern.match(path))]
        if not path_matches:
            raise SpecViolation(f"no path in Koha's definition matches {path}")
        for op, m in path_matches:
            if op.method == method.upper():
                return op, m.groupdict()
        raise SpecViolation(f"{method} is not defined on {path_matches[0][0].template}")

    # -- requests ---------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        *,
        allow_newer: bool = False,
    ) -> Operation:
        """Raise SpecViolation unless this request is one Koha's definition accepts."""
        parts = urlsplit(url)
        op, path_params = self.find(method, parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        lower_headers = {k.lower(): v for k, v in headers.items()}
        declared_query = {p["name"] for p in op.parameters if p["in"] == "query"}
        for name in query:
            if name not in declared_query:
                raise SpecViolation(f"{op.method} {op.template}: undeclared query parameter {name}")
        if len(op.produces) > 1:
            # Content negotiation matters here: without JSON in Accept Koha answers MARC.
            accept = lower_headers.get("accept", "")
            if not any(kind.strip() in op.produces for kind in accept.split(",")):
                raise SpecViolation(f"{op.method} {op.template}: Accept {accept!r} not produced")
        declared_headers = {p["name"].lower() for p in op.parameters if p["in"] == "header"}
        for name in lower_headers:
            newer = allow_newer and (op.method, op.template, name) in NEWER_KOHA_HEADERS
            if name.startswith("x-koha-") and name not in declared_headers and not newer:
                raise SpecViolation(f"{op.method} {op.template}: undeclared header {name}")
        for param in op.parameters:
            where, name = param["in"], param["name"]
            if where == "path":
                self._check_simple(op, param, path_params[name])
            elif where == "query":
                self._check_present(op, param, query.get(name))
            elif where == "header":
                value = lower_headers.get(name.lower())
                self._check_present(op, param, None if value is None else [value])
            elif where == "body":
                self._check_body(op, param, lower_headers, body)
            elif where == "formData":
                form = parse_qs(body.decode("ascii"), keep_blank_values=True) if body else {}
                self._check_present(op, param, form.get(name))
        return op

    def _check_present(
        self, op: Operation, param: dict[str, Any], values: list[str] | None
    ) -> None:
        if values is None:
            if param.get("required"):
                raise SpecViolation(f"{op.method} {op.template}: missing {param['name']}")
            return
        if param.get("type") == "array":
            items = param.get("items", {})
            fmt = param.get("collectionFormat", "csv")
            raw = values if fmt == "multi" else [v for s in values for v in s.split(",")]
            for v in raw:
                self._check_simple(op, {**items, "name": param["name"]}, v)
            return
        if len(values) != 1:
            raise SpecViolation(f"{op.method} {op.template}: {param['name']} given twice")
        self._check_simple(op, param, values[0])

    @staticmethod
    def _check_simple(op: Operation, param: dict[str, Any], raw: str) -> None:
        kind = param.get("type", "string")
        name = param["name"]
        value: Any = raw
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                raise SpecViolation(f"{op.method} {op.template}: {name}={raw!r} is not an integer")
            value = int(raw)
        elif kind == "boolean":
            if raw not in ("true", "false", "1", "0"):
                raise SpecViolation(f"{op.method} {op.template}: {name}={raw!r} is not a boolean")
            return
        if "enum" in param and value not in param["enum"]:
            raise SpecViolation(f"{op.method} {op.template}: {name}={raw!r} not in {param['enum']}")
        if param.get("format") in ("date", "date-time"):
            try:
                _FORMATS.check(value, param["format"])
            except jsonschema.FormatError as exc:
                raise SpecViolation(f"{op.method} {op.template}: {name}: {exc}") from exc

    @staticmethod
    def _check_body(
        op: Operation, param: dict[str, Any], headers: dict[str, str], body: bytes
    ) -> None:
        if not body:
            if param.get("required"):
                raise SpecViolation(f"{op.method} {op.template}: body is required")
            return
        if not headers.get("content-type", "").startswith("application/json"):
            raise SpecViolation(f"{op.method} {op.template}: body is not sent as JSON")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise SpecViolation(f"{op.method} {op.template}: body is not JSON") from exc
        _validate(param["schema"], document, f"{op.method} {op.template} request body")

    # -- responses --------------------------------------------------------------------------

    def check_response(
        self,
        method: str,
        url: str,
        status: int,
        body: bytes,
        *,
        allow_newer: bool = False,
    ) -> None:
        """Raise SpecViolation unless Koha's definition allows this answer to that request."""
        op, _ = self.find(method, urlsplit(url).path)
        declared = op.responses.get(str(status)) or op.responses.get("default")
        if declared is None:
            if allow_newer and (op.method, op.template, status) in NEWER_KOHA_STATUSES:
                if body.strip():
                    _validate(self.error_schema, json.loads(body), f"{op.template} {status}")
                return
            raise SpecViolation(f"{op.method} {op.template}: status {status} is not declared")
        schema = declared.get("schema")
        if schema is None and (op.method, op.template, status) in FREE_FORM_JSON:
            schema = FREE_FORM_JSON[(op.method, op.template, status)]
        if schema is None:
            if body.strip() not in (b"", b'""'):
                raise SpecViolation(
                    f"{op.method} {op.template} {status}: body where none is declared"
                )
            return
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise SpecViolation(f"{op.method} {op.template} {status}: body is not JSON") from exc
        _validate(schema, document, f"{op.method} {op.template} {status} response")


def _validate(schema: dict[str, Any], document: Any, where: str) -> None:
    validator = jsonschema.Draft4Validator(schema, format_checker=_FORMATS)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
        raise SpecViolation(f"{where}:\n  " + "\n  ".join(lines[:10]))


# GET /biblios/{biblio_id} as paths/biblios.yaml declares it (see the module docstring).
BIBLIO_ROUTE: dict[str, Any] = {
    "template": "/biblios/{biblio_id}",
    "path_parameter": "biblio_id_pp",
    "produces": (
        "application/json",
        "application/marcxml+xml",
        "application/marc-in-json",
        "application/marc",
        "text/plain",
    ),
    "statuses": (200, 401, 403, 404, 406, 500, 503),
}
NOT_ACCEPTABLE = {"type": "array", "items": {"type": "string"}}
# POST /patrons/{patron_id}/password (Patrons::Password#set, operationId setPatronPassword), as
# paths/patrons_password.yaml declares it: read in the search index's copy of
# Koha-Community/Koha at commit 9e50bcc1b534ec12c6468f57caac5422a42ab6b0 (the shipped root
# names the path; its file is not shipped). Staff permission borrowers; 200 has no schema.
PASSWORD_ROUTE: dict[str, Any] = {
    "template": "/patrons/{patron_id}/password",
    "path_parameter": "patron_id_pp",
    "body": {
        "type": "object",
        "properties": {"password": {"type": "string"}, "password_2": {"type": "string"}},
        "required": ["password", "password_2"],
        "additionalProperties": False,
    },
    "statuses": (200, 400, 401, 403, 404, 500, 503),
}
# Koha::Biblio->to_api (biblionumber -> biblio_id; title, subtitle, author keep their names).
BIBLIO_TO_API: dict[str, Any] = {
    "type": "object",
    "required": ["biblio_id", "title"],
    "properties": {
        "biblio_id": {"type": "integer"},
        "title": {"type": ["string", "null"]},
        "subtitle": {"type": ["string", "null"]},
        "author": {"type": ["string", "null"]},
    },
}
# POST /holds/{id}/suspension: the definition declares no body, Koha/REST/V1/Holds.pm
# ``suspend`` renders {"end_date": <date or null>} all the same.
SUSPENSION_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"end_date": {"type": ["string", "null"], "format": "date"}},
    "additionalProperties": False,
}
FREE_FORM_JSON = {
    ("GET", "/biblios/{biblio_id}", 200): BIBLIO_TO_API,
    ("POST", "/holds/{hold_id}/suspension", 201): SUSPENSION_BODY,
}

# What newer Koha servers do beyond the shipped snapshot (see the module docstring).
# GET /holds and /patrons/{id}/holds: x-koha-embed cancellation_requested (Koha::Hold->to_api,
# definitions/hold.yaml "(x-koha-embed)"); POST /holds: 409 with error_code when the patron may
# not place holds (Koha/REST/V1/Holds.pm, can_place_holds; t/db_dependent/api/v1/holds.t).
NEWER_KOHA_HEADERS = {
    ("DELETE", "/holds/{hold_id}", "x-koha-override"),
    ("GET", "/holds", "x-koha-embed"),
    ("GET", "/patrons/{patron_id}/holds", "x-koha-embed"),
}
NEWER_KOHA_STATUSES = {("DELETE", "/holds/{hold_id}", 202), ("POST", "/holds", 409)}


def load_spec_or_skip() -> KohaSpec:
    """Load the definition, or skip the calling test when shared/ is not beside the repo."""
    import pytest

    if not ROOT_FILE.exists():
        pytest.skip(f"Koha REST definition not found at {ROOT_FILE} (shared/ beside the repo)")
    return KohaSpec()


class SpecCheckingTransport(httpx.AsyncBaseTransport):
    """Sends for real, and holds each request and answer against Koha's definition."""

    def __init__(self, spec: KohaSpec, *, allow_newer: bool = False) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._spec = spec
        self._allow_newer = allow_newer
        self.exchanges = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self._spec.check_request(
            request.method,
            str(request.url),
            dict(request.headers),
            body,
            allow_newer=self._allow_newer,
        )
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        self._spec.check_response(
            request.method,
            str(request.url),
            response.status_code,
            content,
            allow_newer=self._allow_newer,
        )
        self.exchanges += 1
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
