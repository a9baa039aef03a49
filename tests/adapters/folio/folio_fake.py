"""A respx-backed fake FOLIO whose traffic is held against FOLIO's own JSON schemas.

A module of its own (not ``conftest``) so test files import it by a name no other test
directory uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import respx
from folio_schemas import violations

from ils_gateway.adapters.folio.config import FolioBackendConfig

OKAPI = "http://folio.test"
TENANT = "diku"
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
CANCEL_REASON = "75187e8d-e25a-47a7-89ad-23ba612338de"
# The requester of mod-circulation's examples/request.json, so its examples are this patron's.
PATRON_ID = "21932a85-bd00-446b-9565-46e0c1a5490b"
PATRON_CARD = "1234"


@dataclass
class Answer:
    """One canned answer: a status with a JSON or raw body (checked against ``schema``), or a
    transport failure to raise."""

    status: int = 200
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    schema: str | None = None
    raises: Exception | None = None


@dataclass
class FakeFolio:
    """Routes on respx that check each request body and each answer against FOLIO's schemas."""

    router: respx.MockRouter
    violations: list[str] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)
    logins: int = 0
    tenant: str = TENANT

    def on(
        self, method: str, path: str, *answers: Answer, body_schema: str | None = None
    ) -> respx.Route:
        """Answer ``method path`` with ``answers`` in turn (the last repeats); a request body
        is held against ``body_schema`` (a file under shared/reference/folio)."""
        queue = list(answers) or [Answer()]

        def effect(request: httpx.Request) -> httpx.Response:
            self.seen.append(request)
            if request.headers.get("x-okapi-tenant") != self.tenant:
                self.violations.append(f"{method} {path}: no X-Okapi-Tenant")
            if body_schema is not None:
                self.violations += violations(body_schema, json.loads(request.content))
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if answer.raises is not None:
                raise answer.raises
            if answer.schema is not None:
                self.violations += violations(answer.schema, answer.json)
            if answer.content is not None:
                return httpx.Response(answer.status, content=answer.content, headers=answer.headers)
            if answer.json is None:
                return httpx.Response(answer.status, headers=answer.headers)
            return httpx.Response(answer.status, json=answer.json, headers=answer.headers)

        return self.router.route(method=method, path=path).mock(side_effect=effect)

    def blocks(
        self,
        manual: list[dict[str, Any]] | None = None,
        automated: list[dict[str, Any]] | None = None,
    ) -> None:
        """The patron's manual blocks (mod-feesfines) and automated blocks (mod-patron-blocks)."""
        rows = manual or []
        self.on(
            "GET", "/manualblocks", Answer(json={"manualblocks": rows, "totalRecords": len(rows)})
        )
        self.on(
            "GET",
            f"/automated-patron-blocks/{PATRON_ID}",
            Answer(json={"automatedPatronBlocks": automated or []}),
        )

    def lists(
        self,
        loans: list[dict[str, Any]] | None = None,
        requests: list[dict[str, Any]] | None = None,
    ) -> None:
        """The patron's open loans and requests (the login answer counts them too)."""
        self.on(
            "GET",
            "/circulation/loans",
            Answer(json={"loans": loans or [], "totalRecords": len(loans or [])}),
        )
        self.on(
            "GET",
            "/circulation/requests",
            Answer(json={"requests": requests or [], "totalRecords": len(requests or [])}),
        )

    def login_ok(self) -> respx.Route:
        """``/authn/login-with-expiry`` issuing tok-1, tok-2, … valid for an hour."""

        def effect(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            assert body == {"username": "gateway", "password": "s3cret"}
            self.logins += 1
            return httpx.Response(
                201,
                json={
                    "accessTokenExpiration": "2026-03-10T02:00:00Z",
                    "refreshTokenExpiration": "2026-03-17T01:00:00Z",
                },
                headers=[
                    ("set-cookie", f"folioAccessToken=tok-{self.logins}; Max-Age=3600; HttpOnly"),
                    ("set-cookie", "folioRefreshToken=refresh; Max-Age=604800; HttpOnly"),
                ],
            )

        return self.router.post("/authn/login-with-expiry").mock(side_effect=effect)


def folio_config(**overrides: Any) -> FolioBackendConfig:
    """A tenant's FOLIO backend settings, as the tenant loader would build them."""
    values: dict[str, Any] = {
        "kind": "folio",
        "okapi_url": OKAPI,
        "tenant": TENANT,
        "username": "gateway",
        "password": "s3cret",
        "read_attempts": 3,
        "retry_backoff": 0.0,
        "cancellation_reason_id": CANCEL_REASON,
    }
    values.update(overrides)
    return FolioBackendConfig.model_validate(values)
