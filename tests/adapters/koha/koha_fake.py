"""A respx-backed fake Koha whose traffic is held against Koha's published definition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import respx
from koha_spec import KohaSpec, SpecViolation

from ils_gateway.adapters.koha.config import KohaBackendConfig

BASE_URL = "http://koha.test"
API = BASE_URL + "/api/v1"


@dataclass
class Answer:
    """One canned answer: a status and body, or a transport failure to raise."""

    status: int = 200
    json: Any = None
    content: bytes | None = None
    raises: Exception | None = None
    check: bool = True  # False only for deliberately broken answers (malformed JSON)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeKoha:
    """Routes on respx that check each request, then each answer, against the definition."""

    router: respx.MockRouter
    spec: KohaSpec
    violations: list[str] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)

    def on(
        self,
        method: str,
        path: str,
        *answers: Answer,
        allow_newer: bool = False,
        **params: Any,
    ) -> respx.Route:
        """Answer ``method path`` (relative to /api/v1) with ``answers`` in turn (last repeats)."""
        queue = list(answers) or [Answer()]

        def effect(request: httpx.Request) -> httpx.Response:
            self.seen.append(request)
            try:
                self.spec.check_request(
                    request.method,
                    str(request.url),
                    dict(request.headers),
                    request.content,
                    allow_newer=allow_newer,
                )
            except SpecViolation as exc:
                self.violations.append(str(exc))
                raise
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if answer.raises is not None:
                raise answer.raises
            if answer.content is not None:
                response = httpx.Response(
                    answer.status,
                    content=answer.content,
                    headers={"content-type": "application/json"},
                )
            elif answer.json is None:
                response = httpx.Response(answer.status, headers=answer.headers)
            else:
                response = httpx.Response(answer.status, json=answer.json, headers=answer.headers)
            if answer.check:
                try:
                    self.spec.check_response(
                        request.method,
                        str(request.url),
                        answer.status,
                        response.content,
                        allow_newer=allow_newer,
                    )
                except SpecViolation as exc:
                    self.violations.append(str(exc))
                    raise
            return response

        route = self.router.route(method=method, host="koha.test", path="/api/v1" + path, **params)
        route.side_effect = effect
        return route

    def token(self, *answers: Answer) -> respx.Route:
        default = Answer(json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600})
        return self.on("POST", "/oauth/token", *(answers or (default,)))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def oauth_config(**overrides: Any) -> KohaBackendConfig:
    values: dict[str, Any] = {
        "kind": "koha",
        "base_url": BASE_URL,
        "auth": "oauth2",
        "client_id": "gateway",
        "client_secret": "s3cret",
        "retry_backoff": 0,
    }
    values.update(overrides)
    return KohaBackendConfig(**values)
