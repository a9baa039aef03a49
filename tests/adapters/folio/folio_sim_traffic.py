"""Every body the FOLIO simulator received and every answer it gave, held against FOLIO's own
schemas in ``shared/reference/folio`` (loaded, never retyped: see ``folio_schemas``).

Modules whose schemas the reference snapshot does not hold (mod-users' user collection
wrapper, mod-inventory, mod-feesfines, mod-patron-blocks) are checked where a copy is there:
each user against mod-patron's copy of ``userdata.json``, each service point against
mod-circulation's ``service-point.json``.
"""

from __future__ import annotations

from collections.abc import Iterable

from folio_schemas import CIRCULATION, PATRON, violations

from ils_gateway.simulators.folio import Exchange

_BODIES = {
    ("POST", "/circulation/renew-by-id"): f"{CIRCULATION}/renew-by-id-request.json",
    ("POST", "/circulation/renew-by-barcode"): f"{CIRCULATION}/renew-by-barcode-request.json",
    ("POST", "/circulation/check-out-by-barcode"): (
        f"{CIRCULATION}/check-out-by-barcode-request.json"
    ),
    ("POST", "/circulation/check-in-by-barcode"): f"{CIRCULATION}/check-in-by-barcode-request.json",
    ("POST", "/circulation/requests"): f"{CIRCULATION}/request.json",
    ("POST", "/circulation/requests/instances"): f"{CIRCULATION}/request-by-instance-id.json",
    ("PUT", "/circulation/requests/{id}"): f"{CIRCULATION}/request.json",
}
_ANSWERS = {
    ("GET", "/circulation/loans"): f"{CIRCULATION}/loans.json",
    ("POST", "/circulation/renew-by-id"): f"{CIRCULATION}/loan.json",
    ("POST", "/circulation/renew-by-barcode"): f"{CIRCULATION}/loan.json",
    ("POST", "/circulation/check-out-by-barcode"): f"{CIRCULATION}/loan.json",
    ("POST", "/circulation/check-in-by-barcode"): (
        f"{CIRCULATION}/check-in-by-barcode-response.json"
    ),
    ("GET", "/circulation/requests"): f"{CIRCULATION}/requests.json",
    ("GET", "/circulation/requests/{id}"): f"{CIRCULATION}/request.json",
    ("POST", "/circulation/requests"): f"{CIRCULATION}/request.json",
    ("POST", "/circulation/requests/instances"): f"{CIRCULATION}/request.json",
    ("GET", "/circulation/requests/allowed-service-points"): (
        f"{CIRCULATION}/allowed-service-points-response.json"
    ),
}
_ROWS = {
    ("GET", "/users"): ("users", f"{PATRON}/userdata.json"),
    ("GET", "/service-points"): ("servicepoints", f"{CIRCULATION}/service-point.json"),
}
_ERRORS = f"{CIRCULATION}/extended-errors.json"


def schema_violations(traffic: Iterable[Exchange], *, bodies: bool = True) -> list[str]:
    """Every way the traffic breaks FOLIO's schemas (empty when it all conforms); the bodies
    sent are checked too unless ``bodies`` is False (a test sending bad ones on purpose)."""
    found: list[str] = []
    for x in traffic:
        key = (x.method, x.route)
        where = f"{x.method} {x.route} -> {x.status}"
        if bodies and key in _BODIES and isinstance(x.body, dict):
            found += [f"{where} body: {v}" for v in violations(_BODIES[key], x.body)]
        if x.status == 422 and isinstance(x.answer, dict):
            found += [f"{where}: {v}" for v in violations(_ERRORS, x.answer)]
        if x.status not in (200, 201):
            continue
        if key in _ANSWERS:
            found += [f"{where}: {v}" for v in violations(_ANSWERS[key], x.answer)]
        if key == ("GET", "/users/{id}"):
            found += [f"{where}: {v}" for v in violations(f"{PATRON}/userdata.json", x.answer)]
        if key in _ROWS:
            rows_key, schema = _ROWS[key]
            for row in x.answer[rows_key]:
                found += [f"{where}: {v}" for v in violations(schema, row)]
    return found


def checked_routes(traffic: Iterable[Exchange]) -> set[tuple[str, str]]:
    """The routes of the traffic whose answers a schema checked."""
    return {
        (x.method, x.route)
        for x in traffic
        if x.status in (200, 201)
        and ((x.method, x.route) in _ANSWERS or (x.method, x.route) in _ROWS)
    }
