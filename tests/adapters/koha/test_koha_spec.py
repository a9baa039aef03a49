"""The definition loader itself: it must load every shipped route and catch what is wrong."""

from __future__ import annotations

import pytest
from koha_spec import KohaSpec, SpecViolation

API = "http://koha.test/api/v1"
JSON = {"content-type": "application/json"}


def test_every_shipped_route_is_loaded(koha_spec: KohaSpec) -> None:
    # 35 shipped path files + GET /biblios/{biblio_id} + POST /patrons/{patron_id}/password
    assert len(koha_spec.templates) == 37
    assert {"/holds/{hold_id}/suspension", "/checkouts/{checkout_id}/allows_renewal"} <= (
        koha_spec.templates
    )


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [
        ("POST", "/holds", JSON, b'{"patron_id": 1}'),  # pickup_library_id is required
        ("POST", "/holds", JSON, b'{"patron_id": 1, "pickup_library_id": "A", "x": 1}'),
        ("GET", "/patrons?card_number=1", {}, b""),  # Koha spells it cardnumber
        ("GET", "/holds/abc/pickup_locations", {}, b""),  # hold_id is an integer
        ("PATCH", "/checkouts/1", JSON, b"{}"),  # no such method there
        ("GET", "/biblios/1", {"accept": "text/html"}, b""),  # a type it does not produce
        ("GET", "/biblios/x", {"accept": "application/json"}, b""),  # biblio_id is an integer
        ("DELETE", "/biblios/1", {}, b""),  # only GET is loaded from paths/biblios.yaml
        ("GET", "/public/biblios/1", {}, b""),  # not loaded (and it produces no JSON)
        ("DELETE", "/holds/1", {"x-koha-override": "cancellation-request-flow"}, b""),
        ("POST", "/holds/1/suspension", JSON, b'{"end_date": "2026-02-30"}'),
        ("POST", "/auth/password/validation", JSON, b'{"identifier": "1", "password": "p"}'),
    ],
)
def test_requests_outside_the_definition_are_caught(
    koha_spec: KohaSpec, method: str, url: str, headers: dict[str, str], body: bytes
) -> None:
    with pytest.raises(SpecViolation):
        koha_spec.check_request(method, API + url, headers, body)


@pytest.mark.parametrize(
    ("method", "url", "status", "body"),
    [
        ("DELETE", "/holds/1", 202, b""),  # only newer Koha answers 202
        ("DELETE", "/holds/1", 204, b'{"x": 1}'),  # 204 has no body
        ("GET", "/checkouts/1/allows_renewal", 200, b'{"allows_renewal": "yes"}'),
        ("GET", "/libraries", 200, b'[{"library_id": "A"}]'),  # name is required
        ("GET", "/patrons/1/holds", 200, b"[{"),
    ],
)
def test_answers_outside_the_definition_are_caught(
    koha_spec: KohaSpec, method: str, url: str, status: int, body: bytes
) -> None:
    with pytest.raises(SpecViolation):
        koha_spec.check_response(method, API + url, status, body)


def test_newer_koha_extensions_only_when_asked(koha_spec: KohaSpec) -> None:
    headers = {"x-koha-override": "cancellation-request-flow"}
    koha_spec.check_request("DELETE", API + "/holds/1", headers, b"", allow_newer=True)
    koha_spec.check_response("DELETE", API + "/holds/1", 202, b"", allow_newer=True)


def test_every_refusal_code_maps_to_a_canonical_reason() -> None:
    from ils_gateway.adapters.koha.errors import REFUSAL_CODES
    from ils_gateway.domain.vocab import RefusalReason

    assert {RefusalReason(v) for v in REFUSAL_CODES.values()}


def test_biblio_record_answers_are_held_against_koha_biblio_to_api(koha_spec: KohaSpec) -> None:
    koha_spec.check_request("GET", API + "/biblios/11", {"accept": "application/json"}, b"")
    ok = b'{"biblio_id": 11, "title": "\xe5\x9d\x8a", "author": null, "isbn": "4-00"}'
    koha_spec.check_response("GET", API + "/biblios/11", 200, ok)
    with pytest.raises(SpecViolation):
        koha_spec.check_response("GET", API + "/biblios/11", 200, b'{"title": "x"}')
    with pytest.raises(SpecViolation):
        koha_spec.check_response("GET", API + "/biblios/11", 406, b'{"error": "x"}')
    koha_spec.check_response("GET", API + "/biblios/11", 406, b'["application/json"]')
