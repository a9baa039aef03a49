"""Schemathesis over every operation of the served document (issue 15).

The demo gateway (``served_gateway``) runs on a real local port. Every operation gets a bounded,
seeded number of generated requests, valid and invalid (schemathesis' positive and negative
modes, its coverage phase's boundary values included), with the demo patron's session on the
routes that need one, from a portal and from a kiosk (its key sent) in turn. Each response must
be no 5xx, a status the document lists, the content type it lists, a body and headers matching
its schema; a request the document calls invalid must be refused.

The operations are parametrized from ``build_openapi()`` when the module is collected (one test
each); the first test checks that the app serves exactly that document at ``/openapi.json``.
A deeper local run: ``ILS_GATEWAY_SCHEMATHESIS_EXAMPLES=100``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from api_helpers import CARD, PASSWORD
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from served_gateway import BRIDGE_KEY, KIOSK_KEY, TENANT, ServedGateway

from ils_gateway.api.openapi import build_openapi

load_all_checks()

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# Generated requests per operation and mode (the coverage phase adds its boundary values).
MAX_EXAMPLES = int(os.environ.get("ILS_GATEWAY_SCHEMATHESIS_EXAMPLES", "5"))
SEED = 15
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "parameters": {
            "path.tenant": TENANT,
            "path.library": TENANT,
            # Half the ids are the demo library's own, so renewals, holds, lookups and lists
            # run through to the library systems, not only to their 404s.
            **{
                key: {"dictionary": "items", "probability": 0.5}
                for key in ("path.item_id", "body.item_id", "body.item_ids[*]")
            },
            "path.hold_id": {"dictionary": "holds", "probability": 0.5},
            **{
                key: {"dictionary": "titles", "probability": 0.5}
                for key in ("path.title_id", "body.title_id", "query.ids")
            },
            "body.pickup_library": {"dictionary": "libraries", "probability": 0.5},
        },
        "dictionaries": {
            # The demo patron's loans and two other copies; holds; e-books; pickup libraries.
            "items": {
                "values": ["2100000001", "2100000166", "2100000046", "2100000010", "2100000156"]
            },
            "holds": {"values": ["9", "10", "11", "12", "13", "27"]},
            "titles": {"values": ["KD000001", "KD000002", "KD000003", "KD000004"]},
            "libraries": {"values": ["CEN", "KITA"]},
        },
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            # The test sends the credentials itself (a real session, the kiosk and bridge keys):
            # generated ones would only be refused, and a removed one put back by the test.
            "with-security-parameters": False,
            # Unknown query parameters and headers are ignored, as HTTP APIs do; not negative.
            "allow-extra-parameters": False,
        },
        # Each operation is tried with one method it does not have (405), not with all seven.
        "phases": {"coverage": {"unexpected-methods": ["PUT"]}},
    }
)
DOCUMENT = build_openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
KEYS = itertools.count()
TURNS = itertools.count()
STATS: dict[str, Counter[int]] = {}


@dataclass(frozen=True)
class Patron:
    """The demo patron's sessions: one from a portal, one from a kiosk."""

    web: str
    kiosk: str


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGateway]:
    served = ServedGateway(Path(tmp_path_factory.mktemp("schemathesis")))
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _login(http: requests.Session, base_url: str, **headers: str) -> str:
    response = http.post(
        f"{base_url}/v1/tenants/{TENANT}/sessions",
        json={"card_number": CARD, "password": PASSWORD},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


@pytest.fixture(scope="module")
def patron(gateway: ServedGateway, http: requests.Session) -> Patron:
    web = _login(http, gateway.base_url)
    return Patron(web, _login(http, gateway.base_url, **{"X-Kiosk-Key": KIOSK_KEY}))


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    """The run's figures (shown with ``-s``): operations, requests, statuses per operation."""
    yield
    total = sum(sum(c.values()) for c in STATS.values())
    print(f"\nschemathesis: {len(STATS)} operations, {total} requests")
    for label, statuses in sorted(STATS.items()):
        print(f"  {label}: {dict(sorted(statuses.items()))}")


def test_the_served_document_is_the_one_tested(
    gateway: ServedGateway, http: requests.Session
) -> None:
    served = http.get(f"{gateway.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))
    operations = sum(len(methods) for methods in DOCUMENT["paths"].values())
    assert len(list(schema.get_all_operations())) == operations


def _credentials(
    case: schemathesis.Case, gateway: ServedGateway, http: requests.Session, patron: Patron
) -> dict[str, str]:
    operation = case.operation.definition.raw.get("operationId")
    if operation == "patron_check":
        return {"Authorization": f"Bearer {BRIDGE_KEY}"}  # the e-library bridge's own key
    kiosk = next(TURNS) % 2 == 1
    if operation == "create_session":
        return {"X-Kiosk-Key": KIOSK_KEY} if kiosk else {}
    if operation == "end_session":  # logging out would end the shared session: a new one
        token = _login(http, gateway.base_url, **({"X-Kiosk-Key": KIOSK_KEY} if kiosk else {}))
    else:
        token = patron.kiosk if kiosk else patron.web
    headers = {"Authorization": f"Bearer {token}"}
    if kiosk:
        headers["X-Kiosk-Key"] = KIOSK_KEY
    return headers


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(
    case: schemathesis.Case, gateway: ServedGateway, http: requests.Session, patron: Patron
) -> None:
    headers = _credentials(case, gateway, http, patron)
    # A generated key used again with another request is rightly a 409: each valid key is made
    # unique so the write itself is exercised (invalid keys are kept, to be refused).
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if key is not None and VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"schemathesis-{next(KEYS)}"
    response = case.call_and_validate(
        base_url=gateway.base_url, session=http, headers=headers, checks=CHECKS, timeout=30
    )
    STATS.setdefault(case.operation.label, Counter())[response.status_code] += 1
